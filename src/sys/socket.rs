//! Stream sockets for the control socket and the HTTP endpoints: non-blocking
//! listeners, accept, the peer's uid, and the client's connect with a timeout.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A Unix socket address: a path, or `@name` for an abstract one (a leading NUL).
pub fn unix_address(address: &str) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    let bytes: Vec<u8> = match address.strip_prefix('@') {
        Some(name) => std::iter::once(0).chain(name.bytes()).collect(),
        None => Path::new(address).as_os_str().as_bytes().to_vec(),
    };
    let is_abstract = bytes.first() == Some(&0);
    // SAFETY: sockaddr_un is plain data; zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.is_empty()
        || bytes.len() >= addr.sun_path.len()
        || bytes[usize::from(is_abstract)..].contains(&0)
    {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, &byte) in addr.sun_path.iter_mut().zip(&bytes) {
        *slot = byte as libc::c_char;
    }
    // An abstract name is exactly its bytes long; a path is NUL-terminated.
    let len = if is_abstract {
        std::mem::size_of::<libc::sa_family_t>() + bytes.len()
    } else {
        std::mem::size_of::<libc::sockaddr_un>()
    };
    Ok((addr, len as libc::socklen_t))
}

fn socket(domain: libc::c_int, kind: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned at once.
    let raw = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh fd of ours.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A non-blocking listening Unix stream socket at `address`. A path gets mode 0600 (an
/// old socket file there is replaced; anything else there is an error).
pub fn listen_unix(address: &str, backlog: i32) -> io::Result<OwnedFd> {
    let (addr, len) = unix_address(address)?;
    let fd = socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK)?;
    if !address.starts_with('@') {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::symlink_metadata(address) {
            Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(address)?,
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::EEXIST)),
            Err(_) => {}
        }
    }
    // SAFETY: addr is a live sockaddr_un of `len` bytes.
    check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
    if !address.starts_with('@') {
        use std::os::unix::fs::PermissionsExt;
        // Until this chmod the file has the umask's mode; SO_PEERCRED guards that moment.
        std::fs::set_permissions(address, std::fs::Permissions::from_mode(0o600))?;
    }
    // SAFETY: plain listen(2) on our socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(fd)
}

/// A non-blocking listening TCP socket (SO_REUSEADDR, so a restarted rinit can bind the
/// port its predecessor's connections still linger on).
pub fn listen_tcp(addr: SocketAddr, backlog: i32) -> io::Result<OwnedFd> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let fd = OwnedFd::from(listener);
    // std's bind already sets SO_REUSEADDR on Unix; the backlog is raised here.
    // SAFETY: plain listen(2) on our socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(fd)
}

/// The next pending connection, non-blocking; None when there is none (or it went
/// away before it was accepted).
pub fn accept(listener: RawFd) -> io::Result<Option<OwnedFd>> {
    loop {
        // SAFETY: accept4 with null address pointers; the fd is owned at once.
        let raw = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if raw >= 0 {
            // SAFETY: raw is a fresh fd of ours.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(raw) }));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN | libc::ECONNABORTED | libc::EPROTO) => return Ok(None),
            _ => return Err(err),
        }
    }
}

/// The uid of the process at the other end of a Unix socket (SO_PEERCRED).
pub fn peer_uid(fd: RawFd) -> io::Result<u32> {
    // SAFETY: ucred is plain data; zero is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are live values of the sizes given.
    check(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &raw mut len,
        )
    })?;
    Ok(cred.uid)
}

/// The client's connection to a control socket, with `timeout` on connecting (a full
/// backlog), reading and writing.
pub fn connect_unix(address: &str, timeout: Duration) -> io::Result<UnixStream> {
    let (addr, len) = unix_address(address)?;
    let fd = socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
    let stream = UnixStream::from(fd);
    stream.set_read_timeout(Some(timeout))?;
    // A Unix socket's connect waits for room in the backlog as long as SO_SNDTIMEO says.
    stream.set_write_timeout(Some(timeout))?;
    loop {
        // SAFETY: addr is a live sockaddr_un of `len` bytes.
        let rc = unsafe { libc::connect(stream.as_raw_fd(), (&raw const addr).cast(), len) };
        match check(rc) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
            Ok(()) => return Ok(stream),
        }
    }
}

/// Writes as much of `bytes` as the socket takes now; how much was written.
pub fn write_some(fd: RawFd, bytes: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: writing from a live buffer; MSG_NOSIGNAL: a gone peer is EPIPE, not
        // SIGPIPE.
        let n = unsafe {
            libc::send(
                fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Reads what the socket has now into `buf`; Ok(0) is the end, WouldBlock is nothing yet.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: reading into a live buffer of that length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_paths_or_abstract_names() {
        let (_, len) = unix_address("@rinit").unwrap();
        assert_eq!(len as usize, 2 + 6);
        let (addr, len) = unix_address("/run/rinit.sock").unwrap();
        assert_eq!(len as usize, std::mem::size_of::<libc::sockaddr_un>());
        assert_eq!(addr.sun_path[0] as u8, b'/');
        assert!(unix_address("").is_err());
        assert!(unix_address(&"x".repeat(200)).is_err());
        assert!(unix_address("a\0b").is_err());
    }
}

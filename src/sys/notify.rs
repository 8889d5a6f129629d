//! The sd_notify protocol's receiving end: a datagram socket whose path a program gets
//! as `$NOTIFY_SOCKET`, read without blocking, each datagram with its sender's pid
//! (SO_PASSCRED), so that only the program's own process group is believed.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libc::pid_t;

/// One program's notify socket; the socket file (if any) goes with it.
pub struct NotifySocket {
    fd: OwnedFd,
    /// `$NOTIFY_SOCKET`: a path, or `@name` for an abstract socket.
    address: String,
    /// The socket file, for a path.
    file: Option<PathBuf>,
}

impl NotifySocket {
    /// Binds a fresh socket at `path` (an old file there is replaced), writable by every
    /// user, since the program may run as another one.
    pub fn bind(path: &Path) -> std::io::Result<NotifySocket> {
        let socket = Self::bind_address(path.as_os_str().as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        Ok(NotifySocket {
            fd: socket,
            address: path.to_string_lossy().into_owned(),
            file: Some(path.to_path_buf()),
        })
    }

    /// An abstract socket `@name`, for an image with no writable directory at all (no
    /// file, so nothing to remove; SO_PASSCRED still tells who sent what).
    pub fn bind_abstract(name: &str) -> std::io::Result<NotifySocket> {
        let mut address = vec![0u8];
        address.extend_from_slice(name.as_bytes());
        Ok(NotifySocket {
            fd: Self::bind_address(&address)?,
            address: format!("@{name}"),
            file: None,
        })
    }

    /// A non-blocking datagram socket bound to `bytes` (a leading NUL: abstract), with
    /// SO_PASSCRED on.
    fn bind_address(bytes: &[u8]) -> std::io::Result<OwnedFd> {
        let is_abstract = bytes.first() == Some(&0);
        // SAFETY: sockaddr_un is plain data; zero is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        if bytes.len() >= addr.sun_path.len() || bytes[usize::from(is_abstract)..].contains(&0) {
            return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (slot, &byte) in addr.sun_path.iter_mut().zip(bytes) {
            *slot = byte as libc::c_char;
        }
        let kind = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain socket(2); the fd is owned at once.
        let raw = unsafe { libc::socket(libc::AF_UNIX, kind, 0) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh fd of ours.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if !is_abstract {
            let _ = std::fs::remove_file(std::ffi::OsStr::from_bytes(bytes));
        }
        let on: libc::c_int = 1;
        // An abstract name is exactly its bytes long; a path is NUL-terminated.
        let len = if is_abstract {
            (std::mem::size_of::<libc::sa_family_t>() + bytes.len()) as libc::socklen_t
        } else {
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t
        };
        // SAFETY: addr and on are live values of the sizes given.
        let failed = unsafe {
            libc::bind(raw, (&raw const addr).cast(), len) != 0
                || libc::setsockopt(
                    raw,
                    libc::SOL_SOCKET,
                    libc::SO_PASSCRED,
                    (&raw const on).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                ) != 0
        };
        if failed {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd)
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// What the program gets as `$NOTIFY_SOCKET`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The next datagram waiting and its sender's pid (0 when the kernel gave none);
    /// None when nothing is waiting (or on an error, which the next wake-up retries).
    pub fn receive(&self, buf: &mut [u8]) -> Option<(usize, pid_t)> {
        // Room for one SCM_CREDENTIALS message, aligned as cmsg wants.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        loop {
            // SAFETY: msg points to live buffers of the sizes it says.
            let n = unsafe { libc::recvmsg(self.fd(), &raw mut msg, libc::MSG_DONTWAIT) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return None;
            }
            let mut sender = 0;
            // SAFETY: walking the control messages recvmsg filled in, as cmsg(3) says.
            unsafe {
                let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET
                        && (*cmsg).cmsg_type == libc::SCM_CREDENTIALS
                    {
                        let creds: libc::ucred =
                            std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                        sender = creds.pid;
                    }
                    cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
                }
            }
            return Some((n as usize, sender));
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// What a datagram says: `READY=1` among its newline-separated `KEY=VALUE` lines, and
/// the last `STATUS=` text, if any.
pub fn parse_datagram(datagram: &[u8]) -> (bool, Option<String>) {
    let mut ready = false;
    let mut status = None;
    for line in datagram.split(|&b| b == b'\n') {
        if line == b"READY=1" {
            ready = true;
        } else if let Some(text) = line.strip_prefix(b"STATUS=") {
            status = Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    (ready, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_are_newline_separated_assignments() {
        assert_eq!(parse_datagram(b"READY=1"), (true, None));
        assert_eq!(
            parse_datagram(b"STATUS=warming up\nMAINPID=4"),
            (false, Some("warming up".into()))
        );
        assert_eq!(
            parse_datagram(b"STATUS=a\nREADY=1\nSTATUS=b\n"),
            (true, Some("b".into()))
        );
        assert_eq!(parse_datagram(b"READY=10\nXREADY=1"), (false, None));
        assert_eq!(parse_datagram(b""), (false, None));
    }

    #[test]
    fn a_datagram_arrives_with_its_senders_pid() {
        let dir = std::env::temp_dir().join(format!("rinit-notify-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("n.sock");
        let socket = NotifySocket::bind(&path).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(socket.receive(&mut buf), None, "nothing waiting: no block");
        let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
        sender.send_to(b"READY=1", &path).unwrap();
        let (n, pid) = socket.receive(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        assert_eq!(pid, std::process::id() as pid_t);
        drop(socket);
        assert!(!path.exists(), "the socket file goes with it");
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn an_abstract_socket_needs_no_directory() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("rinit-notify-test-{}", std::process::id());
        let socket = NotifySocket::bind_abstract(&name).unwrap();
        assert_eq!(socket.address(), format!("@{name}"));
        let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let to = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        sender.send_to_addr(b"READY=1", &to).unwrap();
        let mut buf = [0u8; 16];
        let (n, pid) = socket.receive(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], pid),
            (&b"READY=1"[..], std::process::id() as pid_t)
        );
    }
}

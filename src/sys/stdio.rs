//! Makes sure fds 0, 1 and 2 are open before rinit creates any other descriptor.
//!
//! A container runtime may start PID 1 with a standard fd closed. A pipe created later
//! would then land on fd 1 and programs would write their output into rinit's pipe.

/// Opens `/dev/null` on every standard fd that is closed. Failures are ignored: there is
/// nowhere to report them, and rinit can run without them.
pub fn ensure_standard_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only queries the descriptor table.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
        if closed {
            let flags = if fd == 0 {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            // SAFETY: a constant C string; open returns the lowest free fd, which is `fd`.
            unsafe { libc::open(c"/dev/null".as_ptr(), flags) };
        }
    }
}

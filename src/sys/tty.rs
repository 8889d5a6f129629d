//! Controlling-terminal handoff for `docker run -it img rinit -- bash`.

use std::os::fd::RawFd;

use libc::pid_t;

/// The first of stdin, stdout and stderr that is a terminal whose foreground process
/// group is rinit's own. Only then is rinit entitled to hand the terminal to its child
/// (a backgrounded rinit must not steal it from the shell that started it). stdout and
/// stderr count too: a child writing to or configuring a terminal it does not own in
/// the foreground would be stopped by SIGTTOU (`docker run -t` without `-i`).
pub fn foreground_terminal() -> Option<RawFd> {
    // SAFETY: plain queries on the standard fds.
    (0..=2).find(|&fd| unsafe { libc::isatty(fd) == 1 && libc::tcgetpgrp(fd) == libc::getpgrp() })
}

/// In the child, after `setpgid(0, 0)`: make its group the terminal's foreground group.
/// Signals are blocked at this point, so SIGTTOU cannot stop the still-background child.
/// Async-signal-safe; failure only means no job control, so it is ignored.
pub fn give_terminal_in_child(fd: RawFd) {
    // SAFETY: async-signal-safe calls.
    unsafe { libc::tcsetpgrp(fd, libc::getpid()) };
}

/// Takes the terminal back for rinit's own group once the child is gone, so processes
/// still being stopped and rinit's last messages are not in a background group.
pub fn take_terminal_back(fd: RawFd) {
    // tcsetpgrp from a background group raises SIGTTOU unless it is blocked, and it is:
    // rinit blocks it from the start of main (see signals::block_routed).
    // SAFETY: plain call; failure (no terminal any more) is harmless.
    unsafe { libc::tcsetpgrp(fd, libc::getpgrp() as pid_t) };
}

//! Controlling-terminal handoff for `docker run -it img rinit -- bash`.

use libc::pid_t;

/// True when stdin is a terminal whose foreground process group is rinit's own: only then
/// is rinit entitled to hand the terminal to its child. (A backgrounded rinit must not
/// steal the terminal from the shell that started it.)
pub fn owns_foreground_terminal() -> bool {
    // SAFETY: plain queries on fd 0.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// In the child, after `setpgid(0, 0)`: make its group the terminal's foreground group.
/// Signals are blocked at this point, so SIGTTOU cannot stop the still-background child.
/// Async-signal-safe; failure only means no job control, so it is ignored.
pub fn give_terminal_in_child() {
    // SAFETY: async-signal-safe calls on fd 0.
    unsafe { libc::tcsetpgrp(0, libc::getpid()) };
}

/// Takes the terminal back for rinit's own group once the child is gone, so processes
/// still being stopped and rinit's last messages are not in a background group.
pub fn take_terminal_back() {
    let ttou = {
        let mut set = super::signals::empty_set();
        // SAFETY: set is a valid sigset_t.
        unsafe { libc::sigaddset(&mut set, libc::SIGTTOU) };
        set
    };
    // tcsetpgrp from a background group raises SIGTTOU unless it is blocked.
    let Ok(old) = super::signals::set_mask(libc::SIG_BLOCK, &ttou) else {
        return;
    };
    // SAFETY: plain call on fd 0; failure (no terminal any more) is harmless.
    unsafe { libc::tcsetpgrp(0, libc::getpgrp() as pid_t) };
    let _ = super::signals::set_mask(libc::SIG_SETMASK, &old);
}

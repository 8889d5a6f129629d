//! Signal intake.
//!
//! Every catchable signal gets a handler that writes the signal number as one byte to a
//! non-blocking self-pipe; the reactor polls the read end. Nothing else happens inside a
//! handler. Bytes keep both order and count (two quick SIGINTs are two bytes), which the
//! "second SIGTERM kills at once" rule needs. If the pipe is ever full, the signal is
//! recorded in a bitmask instead so it is still seen, just without its count.
//!
//! Outside the reactor's `ppoll` every caught signal is blocked (see [`install`]), so
//! handlers run only while rinit sleeps. A burst of 10,000 SIGCHLDs while rinit reaps
//! then costs one wakeup instead of 10,000 handler runs.
//!
//! The handlers are installed with `sigaction` directly rather than through
//! signal-hook's registry: the registry copies its table on every registration, which
//! for ~60 signals cost over a millisecond of start-up (measured: 185 mmap/munmap calls
//! under musl) and chains to Rust's own SIGSEGV/SIGBUS handler, which is wrong here.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use anyhow::{Context, Result};
use libc::c_int;
use nix::fcntl::OFlag;

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static OVERFLOW: AtomicU64 = AtomicU64::new(0);

/// Signals that the kernel raises synchronously on a fault in rinit itself. They are
/// never blocked (a blocked fault kills anyway) and their handler tells a real fault
/// from a stray `kill` (see [`on_signal`]).
const FAULT_SIGNALS: [c_int; 6] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The read end of the self-pipe. Keep it alive for as long as handlers may run.
pub struct SignalPipe {
    read: OwnedFd,
    _write: OwnedFd,
}

/// Every signal a process can catch: 1..=SIGRTMAX minus SIGKILL, SIGSTOP and the
/// real-time signals the C library reserves for itself (32..SIGRTMIN).
pub fn catchable() -> impl Iterator<Item = c_int> {
    let (rt_min, rt_max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    (1..=rt_max).filter(move |&sig| {
        sig != libc::SIGKILL && sig != libc::SIGSTOP && !(32..rt_min).contains(&sig)
    })
}

/// Installs the handlers, then blocks every caught signal except the fault signals.
/// The reactor unblocks them atomically while it sleeps ([`SignalPipe::wait_mask`]).
/// Whatever mask rinit inherited is dropped: a blocked SIGTERM would never be seen.
pub fn install() -> Result<SignalPipe> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .context("cannot create the signal pipe")?;
    WRITE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
    let mut blocked = empty_set();
    for sig in catchable() {
        install_handler(sig)?;
        if !FAULT_SIGNALS.contains(&sig) {
            // SAFETY: blocked is a valid sigset_t and sig a valid signal number.
            unsafe { libc::sigaddset(&mut blocked, sig) };
        }
    }
    set_mask(libc::SIG_SETMASK, &blocked).context("cannot set the signal mask")?;
    Ok(SignalPipe {
        read,
        _write: write,
    })
}

fn note(sig: c_int) {
    let byte = sig as u8;
    let fd = WRITE_FD.load(Ordering::Relaxed);
    // SAFETY: writing one byte from a live stack variable.
    let written = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    if written != 1 {
        OVERFLOW.fetch_or(1 << (sig - 1), Ordering::SeqCst);
    }
}

/// The one handler. A fault signal raised by the kernel for a real fault in rinit
/// (si_code > 0) cannot be survived: reset the default action and return, so the
/// faulting instruction runs again and rinit dies with the right signal instead of
/// looping. Any signal sent by a process (`kill -SEGV` included) is just noted.
extern "C" fn on_signal(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: errno is thread-local; saving and restoring it is async-signal-safe.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let kernel_fault =
        FAULT_SIGNALS.contains(&sig) && !info.is_null() && unsafe { (*info).si_code } > 0;
    if kernel_fault {
        // SAFETY: signal() is async-signal-safe.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    } else {
        note(sig);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn install_handler(sig: c_int) -> Result<()> {
    // SAFETY: a zeroed sigaction is valid; the fields we need are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: sa_mask is a valid sigset_t inside `action`.
    unsafe { libc::sigfillset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised; the old action is not needed.
    if unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot install a handler for {}", name(sig)));
    }
    Ok(())
}

impl SignalPipe {
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// The mask to sleep with: nothing blocked, so pending signals run their handlers.
    pub fn wait_mask(&self) -> libc::sigset_t {
        empty_set()
    }

    /// Appends every signal received since the last call, in arrival order.
    pub fn drain(&self, out: &mut Vec<c_int>) {
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: reading into a live buffer of the given length.
            let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                out.extend(buf[..n as usize].iter().map(|&b| c_int::from(b)));
                continue;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break; // EAGAIN: empty. Nothing else can fail on a pipe we own.
        }
        let overflow = OVERFLOW.swap(0, Ordering::SeqCst);
        out.extend((1..=64).filter(|sig| overflow & (1 << (sig - 1)) != 0));
    }
}

pub fn empty_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}

pub fn full_set() -> libc::sigset_t {
    // SAFETY: sigfillset initialises the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// `pthread_sigmask(how, set)`, returning the previous mask.
pub fn set_mask(how: c_int, set: &libc::sigset_t) -> std::io::Result<libc::sigset_t> {
    let mut old = empty_set();
    // SAFETY: both pointers refer to valid sigset_t values.
    let rc = unsafe { libc::pthread_sigmask(how, set, &mut old) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(old)
}

/// The kernel's `struct sigaction` for x86_64 and aarch64 `rt_sigaction`.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// In a freshly forked child, before exec: every signal back to its default action.
/// The raw syscall, because the C library refuses to touch the real-time signals it
/// reserves (32..SIGRTMIN), and an ignored one would be inherited by the program.
/// Async-signal-safe. Errors are ignored: nothing can fail for a valid signal number.
pub fn reset_dispositions_in_child() {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: a valid kernel sigaction; the old action is not requested.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &default as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    std::mem::size_of::<u64>(),
                )
            };
        }
    }
}

/// `SIGTERM` for 15, `SIGRTMIN+3` for real-time signals, the number otherwise.
pub fn name(sig: c_int) -> String {
    if let Some(name) = signal_hook::low_level::signal_name(sig) {
        return name.to_string();
    }
    let (rt_min, rt_max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if (rt_min..=rt_max).contains(&sig) {
        return format!("SIGRTMIN+{}", sig - rt_min);
    }
    format!("signal {sig}")
}

/// Signals rinit passes on to its child in single-command mode. SIGCHLD is rinit's own
/// business; SIGPIPE, SIGTTIN, SIGTTOU and the fault signals concern rinit only.
pub fn is_forwarded(sig: c_int) -> bool {
    matches!(
        sig,
        libc::SIGTERM
            | libc::SIGINT
            | libc::SIGHUP
            | libc::SIGQUIT
            | libc::SIGUSR1
            | libc::SIGUSR2
            | libc::SIGWINCH
            | libc::SIGALRM
            | libc::SIGCONT
            | libc::SIGTSTP
    ) || (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig)
}

/// The signals that ask rinit to stop.
pub fn is_stop_request(sig: c_int) -> bool {
    sig == libc::SIGTERM || sig == libc::SIGINT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catchable_excludes_uncatchable_and_reserved() {
        let all: Vec<c_int> = catchable().collect();
        assert!(!all.contains(&libc::SIGKILL));
        assert!(!all.contains(&libc::SIGSTOP));
        assert!(!all.contains(&32));
        assert!(all.contains(&libc::SIGTERM));
        assert!(all.contains(&libc::SIGPIPE));
        assert!(all.contains(&libc::SIGSEGV));
        assert!(all.contains(&libc::SIGRTMAX()));
    }

    #[test]
    fn forwarded_set_matches_the_documented_list() {
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
            libc::SIGALRM,
            libc::SIGCONT,
            libc::SIGTSTP,
            libc::SIGRTMIN(),
            libc::SIGRTMAX(),
        ] {
            assert!(is_forwarded(sig), "{} should be forwarded", name(sig));
        }
        for sig in [
            libc::SIGCHLD,
            libc::SIGPIPE,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGSEGV,
            libc::SIGBUS,
        ] {
            assert!(!is_forwarded(sig), "{} must not be forwarded", name(sig));
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
        assert_eq!(name(libc::SIGRTMIN() + 2), "SIGRTMIN+2");
    }
}

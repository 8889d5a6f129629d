//! Signal intake.
//!
//! Every catchable signal except the fault signals is blocked for rinit's whole life and
//! read from a `signalfd` that the reactor polls. No handler runs, so nothing can happen
//! at an awkward moment, and a burst of 10,000 SIGCHLDs costs one read per wakeup.
//!
//! Why not signal-hook's self-pipe, which the design first named: measured on this
//! machine, a handler plus self-pipe write made reaping 10,000 orphans cost 207 ms of CPU
//! against tini's 136 ms (tini waits with sigtimedwait, no handler either), and
//! signal-hook's registry cost 185 mmap/munmap calls at start-up under musl. signal-hook
//! is still used for signal names.
//!
//! The fault signals (SIGSEGV, SIGBUS, ...) cannot usefully be blocked: the kernel kills
//! a process that faults with them blocked. They get a handler that ignores a stray
//! `kill -SEGV` and lets a real fault kill rinit (see [`on_fault_signal`]).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use libc::c_int;

use crate::plain::signal::{MAX_SIGNAL, name};

/// Signals that the kernel raises synchronously on a fault in rinit itself.
const FAULT_SIGNALS: [c_int; 6] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The signalfd through which rinit receives every signal.
pub struct SignalFd {
    fd: OwnedFd,
}

/// Every signal a process can catch: 1..=64 minus SIGKILL and SIGSTOP. That includes
/// 32..=34, which C libraries reserve for themselves and hide from their signal-set
/// functions: left alone, their default action would kill rinit.
pub fn catchable() -> impl Iterator<Item = c_int> {
    (1..=MAX_SIGNAL).filter(|&sig| sig != libc::SIGKILL && sig != libc::SIGSTOP)
}

/// A signal mask as the kernel reads it: bit N-1 for signal N. Built by hand because
/// the C libraries' `sigaddset` refuses their reserved signals.
fn kernel_mask(signals: impl Iterator<Item = c_int>) -> u64 {
    signals.fold(0, |mask, sig| mask | 1 << (sig - 1))
}

/// `rt_sigprocmask(SIG_SETMASK, mask)`, bypassing the C library, which would drop its
/// reserved signals from the mask. Async-signal-safe.
pub fn set_kernel_mask(mask: u64) -> std::io::Result<()> {
    // SAFETY: the kernel reads 8 bytes of mask; no old mask is requested.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread's mask as the kernel has it, reserved signals included.
fn kernel_mask_now() -> Option<u64> {
    let mut mask: u64 = 0;
    // SAFETY: no new mask is set; the kernel writes 8 bytes of old mask.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            std::ptr::null::<u64>(),
            &mut mask as *mut u64,
            std::mem::size_of::<u64>(),
        )
    };
    (rc == 0).then_some(mask)
}

/// The mask rinit and each of its threads run with: every catchable signal but the fault
/// signals, which are read from the signalfd instead.
pub fn routed_mask() -> u64 {
    kernel_mask(catchable().filter(|sig| !FAULT_SIGNALS.contains(sig)))
}

/// The first thing `main` does. A thread inherits its creator's mask, and the kernel
/// delivers a process-directed signal to any thread that does not block it: a writer
/// thread started by an early warning would otherwise take SIGTERM's default action
/// (rinit dies) or swallow it (as PID 1). Errors are impossible for a valid mask.
pub fn block_routed() {
    let _ = set_kernel_mask(routed_mask());
}

/// Undoes [`block_routed`] for the calling thread only, for short commands (`rinit
/// check`) that should die of Ctrl-C as any tool does; their threads stay blocked, so
/// the signal reaches this thread and its default action.
pub fn unblock_this_thread() {
    let _ = set_kernel_mask(0);
}

/// Starts a thread of rinit's that blocks the routed signals itself, whatever the mask
/// of the thread that starts it (a thread started before `main` blocked them, or by a
/// test, would otherwise be a target for SIGTERM).
pub fn spawn_thread<F>(name: String, body: F) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let creator_mask = kernel_mask_now();
    let thread = std::thread::Builder::new().name(name).spawn(move || {
        block_routed();
        body()
    });
    // The C library's thread creation restores the creator's mask without its own
    // reserved signals (32 and 33 stay unblocked in the creator under glibc): set it again.
    if let Some(mask) = creator_mask {
        let _ = set_kernel_mask(mask);
    }
    thread
}

/// Blocks every catchable signal but the fault signals, routes them to a signalfd, and
/// installs the fault handlers. The mask replaces whatever rinit inherited. Then every
/// disposition goes back to default: an inherited SIG_IGN on SIGCHLD would make the
/// kernel reap children itself and lose their exit status. (Mask first, so no signal can
/// act on its default disposition in between.)
pub fn install() -> Result<SignalFd> {
    // Note for threads: with 32..=34 blocked, musl's __synccall (setuid and friends in a
    // multi-threaded process) would wait forever; call those only in children.
    let routed = routed_mask();
    set_kernel_mask(routed).context("cannot set the signal mask")?;
    reset_all_dispositions();
    for sig in FAULT_SIGNALS {
        install_fault_handler(sig)?;
    }
    // SAFETY: the kernel reads 8 bytes of mask; -1 asks for a new fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            -1,
            &routed as *const u64,
            std::mem::size_of::<u64>(),
            libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
        )
    } as c_int;
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create a signalfd");
    }
    // SAFETY: fd was just returned by signalfd and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(SignalFd { fd })
}

/// A fault signal raised by the kernel for a real fault in rinit (si_code > 0) cannot be
/// survived: reset the default action and return, so the faulting instruction runs again
/// and rinit dies with the right signal instead of looping. One sent by another process
/// (`kill -SEGV`, si_code <= 0) is a stray signal and is ignored.
extern "C" fn on_fault_signal(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let kernel_fault = !info.is_null() && unsafe { (*info).si_code } > 0;
    if kernel_fault {
        // SAFETY: errno is thread-local; signal() is async-signal-safe.
        unsafe {
            let errno = *libc::__errno_location();
            libc::signal(sig, libc::SIG_DFL);
            *libc::__errno_location() = errno;
        }
    }
}

fn install_fault_handler(sig: c_int) -> Result<()> {
    // SAFETY: a zeroed sigaction is valid; the fields we need are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_fault_signal as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `action` is fully initialised; the old action is not needed.
    if unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot install a handler for {}", name(sig)));
    }
    Ok(())
}

impl SignalFd {
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Appends every signal received since the last call, in arrival order.
    pub fn drain(&self, out: &mut Vec<c_int>) {
        const INFO_SIZE: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: signalfd_siginfo is plain data; zero is a valid value.
        let mut infos: [libc::signalfd_siginfo; 32] = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: reading into a live array of the given byte length.
            let n = unsafe {
                libc::read(
                    self.fd(),
                    infos.as_mut_ptr().cast(),
                    infos.len() * INFO_SIZE,
                )
            };
            if n > 0 {
                let count = n as usize / INFO_SIZE;
                out.extend(infos[..count].iter().map(|info| info.ssi_signo as c_int));
                continue;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break; // EAGAIN: nothing pending. Nothing else can fail on our own signalfd.
        }
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

/// Every signal back to its default action: in rinit at start-up, and in a freshly
/// forked child before exec. The raw syscall, because the C library refuses to touch the
/// real-time signals it reserves (32..=34), and an ignored one would be inherited.
/// Async-signal-safe. Errors are ignored: nothing can fail for a valid signal number.
pub fn reset_all_dispositions() {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in catchable() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catchable_excludes_uncatchable_and_reserved() {
        let all: Vec<c_int> = catchable().collect();
        assert!(!all.contains(&libc::SIGKILL));
        assert!(!all.contains(&libc::SIGSTOP));
        assert!(all.contains(&32) && all.contains(&33) && all.contains(&34));
        assert!(all.contains(&libc::SIGTERM));
        assert!(all.contains(&libc::SIGPIPE));
        assert!(all.contains(&libc::SIGSEGV));
        assert!(all.contains(&64));
        assert_eq!(all.len(), 62);
    }

    #[test]
    fn kernel_mask_sets_bit_n_minus_one() {
        assert_eq!(kernel_mask([1, 32, 64].into_iter()), 1 | 1 << 31 | 1 << 63);
    }
}

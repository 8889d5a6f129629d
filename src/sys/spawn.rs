//! Starting a child: its own process group, default signal state, optional terminal,
//! user, directory, umask and environment.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use libc::pid_t;

use super::signals;

/// The user a child runs as: uid, primary gid, supplementary groups.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
}

/// What to start and how.
pub struct SpawnRequest<'a> {
    pub argv: &'a [OsString],
    /// A terminal fd: make the child's process group its foreground group.
    pub terminal: Option<std::os::fd::RawFd>,
    /// A new session (setsid: no controlling terminal, as supervised programs get)
    /// rather than only a new process group in rinit's session.
    pub new_session: bool,
    /// Added to, or overriding, rinit's environment.
    pub env: &'a [(String, String)],
    pub directory: Option<&'a Path>,
    pub user: Option<Credentials<'a>>,
    pub umask: Option<u32>,
    /// The child's stdout and stderr; rinit's own when None.
    pub stdout: Option<BorrowedFd<'a>>,
    pub stderr: Option<BorrowedFd<'a>>,
    /// This fd, as fd number N (3 or more) in the child: a notification fd.
    pub extra_fd: Option<(BorrowedFd<'a>, i32)>,
}

impl<'a> SpawnRequest<'a> {
    /// Just a command: own process group, everything else inherited from rinit.
    pub fn command(argv: &'a [OsString]) -> Self {
        SpawnRequest {
            argv,
            terminal: None,
            new_session: false,
            env: &[],
            directory: None,
            user: None,
            umask: None,
            stdout: None,
            stderr: None,
            extra_fd: None,
        }
    }
}

/// Why a child could not be started, with the exit code the shell would use.
#[derive(Debug)]
pub struct SpawnError {
    pub program: String,
    pub error: std::io::Error,
    /// What failed, when it was not running the program itself.
    pub step: Option<String>,
}

impl SpawnError {
    /// 127 when the program does not exist, 126 when it exists but cannot be run: the
    /// codes sh, tini and Docker use.
    pub fn exit_code(&self) -> i32 {
        match self.error.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENOTDIR) => 127,
            _ => 126,
        }
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = match self.error.raw_os_error() {
            Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
            None => self.error.to_string(),
        };
        match &self.step {
            Some(step) => write!(f, "{step}: {reason}"),
            None => write!(f, "cannot run '{}': {}", self.program, reason),
        }
    }
}

/// The soft RLIMIT_NOFILE rinit started with, once [`raise_fd_limit`] has raised it
/// (`u64::MAX` until then: children keep whatever rinit has).
static INHERITED_FD_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Raises rinit's soft limit on open files to the hard limit. Supervising needs two
/// pipes per program, so 1,000 programs need over 2,000 fds, and containers often
/// start with a soft limit of 1024. rinit polls (no `select`), so any number is fine
/// for it; its children get the original soft limit back (see [`spawn`]), since some
/// programs still use `select` and break on fds above 1023.
pub fn raise_fd_limit() -> std::io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur >= limit.rlim_max {
            return Ok(());
        }
        let original = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        INHERITED_FD_LIMIT.store(original, Ordering::Relaxed);
    }
    Ok(())
}

/// Forks and execs `argv`. Returns the child's pid once exec has succeeded (std reports
/// exec failures through a close-on-exec pipe). The caller reaps; `Child::wait` is never
/// used, since a global `waitpid(-1)` would race with it.
pub fn spawn(request: &SpawnRequest<'_>) -> Result<pid_t, SpawnError> {
    let (program, args) = match request.argv.split_first() {
        Some(split) => split,
        None => {
            return Err(SpawnError {
                program: String::new(),
                error: std::io::Error::from_raw_os_error(libc::ENOENT),
                step: None,
            });
        }
    };
    let mut command = Command::new(program);
    command.args(args);
    command.envs(request.env.iter().map(|(k, v)| (k, v)));
    let as_stdio = |fd: BorrowedFd<'_>| fd.try_clone_to_owned().map(std::process::Stdio::from);
    let stdio_error = |error| SpawnError {
        program: program.to_string_lossy().into_owned(),
        error,
        // Copies of the pipes' write ends: new fds, as when the pipes were made.
        step: Some("cannot create the output pipes".into()),
    };
    if let Some(fd) = request.stdout {
        command.stdout(as_stdio(fd).map_err(stdio_error)?);
    }
    if let Some(fd) = request.stderr {
        command.stderr(as_stdio(fd).map_err(stdio_error)?);
    }
    if let Some(directory) = request.directory {
        command.current_dir(directory);
    }
    let terminal = request.terminal;
    let new_session = request.new_session;
    let umask = request.umask;
    let fd_limit = match INHERITED_FD_LIMIT.load(Ordering::Relaxed) {
        u64::MAX => None,
        soft => Some(soft),
    };
    // Prepared before fork: the child must not allocate.
    let usable = |dir: &Path| match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(std::io::Error::from_raw_os_error(libc::ENOTDIR)),
        Err(error) => Err(error),
    };
    if let Some(directory) = request.directory
        && let Err(error) = usable(directory)
    {
        // Checked here so the message names the directory, not the program.
        return Err(SpawnError {
            program: program.to_string_lossy().into_owned(),
            error,
            step: Some(format!("cannot use directory '{}'", directory.display())),
        });
    }
    // SAFETY: getuid and getgid cannot fail. Already that user (Kubernetes runAsUser):
    // no switch, which would need privileges rinit may not have.
    let already =
        |u: &Credentials<'_>| unsafe { libc::getuid() == u.uid && libc::getgid() == u.gid };
    let user = request.user.filter(|u| !already(u)).map(|u| {
        (
            u.uid,
            u.gid,
            u.groups
                .iter()
                .map(|&g| g as libc::gid_t)
                .collect::<Vec<_>>(),
        )
    });
    let extra_fd = request
        .extra_fd
        .map(|(fd, target)| (fd.as_raw_fd(), target));
    // The child's dup2 onto N must not hit a descriptor that exists only in the child:
    // std's exec-error pipe takes the lowest free number at fork. So N is kept busy
    // here (close-on-exec) until the fork is done.
    let _placeholder = match extra_fd {
        // SAFETY: F_GETFD only queries; dup3 makes a new close-on-exec fd at `target`.
        Some((fd, target)) if unsafe { libc::fcntl(target, libc::F_GETFD) } < 0 => {
            match unsafe { libc::dup3(fd, target, libc::O_CLOEXEC) } {
                // SAFETY: the fd was just made and is ours alone.
                n if n == target => Some(unsafe { OwnedFd::from_raw_fd(n) }),
                _ => None,
            }
        }
        _ => None,
    };
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // calls (sigprocmask, signal, setsid/setpgid, tcsetpgrp, umask, getrlimit/setrlimit,
    // setgroups, setgid, setuid, dup2, fcntl), no allocation.
    unsafe {
        command.pre_exec(move || {
            // std has already emptied the mask; block everything again until the
            // dispositions are reset and the terminal is handed over (tcsetpgrp from a
            // background group needs SIGTTOU blocked).
            let _ = signals::set_mask(libc::SIG_SETMASK, &signals::full_set());
            signals::reset_all_dispositions();
            let grouped = if new_session {
                libc::setsid() >= 0
            } else {
                libc::setpgid(0, 0) == 0
            };
            if !grouped {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(fd) = terminal {
                super::tty::give_terminal_in_child(fd);
            }
            if let Some(mask) = umask {
                libc::umask(mask as libc::mode_t);
            }
            if let Some(soft) = fd_limit {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // Best effort: if someone lowered the hard limit below the original
                // soft one since, the child keeps rinit's limit, which is no reason
                // not to start it.
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && soft <= limit.rlim_max {
                    limit.rlim_cur = limit.rlim_cur.min(soft);
                    let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                }
            }
            if let Some((uid, gid, groups)) = &user {
                // Groups first: after setuid the process may no longer change them.
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setgid(*gid) != 0
                    || libc::setuid(*uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some((fd, target)) = extra_fd {
                // dup2 leaves close-on-exec off on the copy; onto itself it is a no-op.
                let ok = if fd == target {
                    libc::fcntl(fd, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(fd, target) == target
                };
                if !ok {
                    return Err(std::io::Error::last_os_error());
                }
            }
            signals::set_kernel_mask(0)?;
            Ok(())
        });
    }
    match command.spawn() {
        Ok(child) => Ok(child.id() as pid_t),
        Err(error) => {
            let program = program.to_string_lossy().into_owned();
            // Out of processes (fork's EAGAIN: RLIMIT_NPROC, a pids cgroup; or exec's
            // after a user switch over RLIMIT_NPROC), of fds (the pipe std reports exec
            // errors through) or of memory: rinit could not start a process, which
            // says nothing about the program, so not "cannot run".
            let exhausted = [libc::EAGAIN, libc::EMFILE, libc::ENFILE, libc::ENOMEM];
            let step = error
                .raw_os_error()
                .is_some_and(|errno| exhausted.contains(&errno))
                .then(|| format!("cannot start a process for '{program}'"));
            Err(SpawnError {
                program,
                error,
                step,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(errno: i32) -> SpawnError {
        SpawnError {
            program: "foo".into(),
            error: std::io::Error::from_raw_os_error(errno),
            step: None,
        }
    }

    #[test]
    fn missing_is_127_and_unrunnable_is_126() {
        assert_eq!(error(libc::ENOENT).exit_code(), 127);
        assert_eq!(error(libc::EACCES).exit_code(), 126);
        assert_eq!(error(libc::ENOEXEC).exit_code(), 126);
    }

    #[test]
    fn message_names_the_failing_step() {
        let mut err = error(libc::ENOENT);
        err.step = Some("cannot use directory '/srv'".into());
        assert_eq!(
            err.to_string(),
            "cannot use directory '/srv': No such file or directory"
        );
        assert_eq!(err.exit_code(), 127);
    }

    #[test]
    fn message_names_the_program_and_the_reason() {
        assert_eq!(
            error(libc::ENOENT).to_string(),
            "cannot run 'foo': No such file or directory"
        );
        assert_eq!(
            error(libc::EACCES).to_string(),
            "cannot run 'foo': Permission denied"
        );
    }
}

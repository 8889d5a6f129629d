//! rinit's process tree: finding and signalling every descendant.
//!
//! As PID 1 of a PID namespace, everything else in the namespace is a descendant and
//! `kill(-1, sig)` reaches it all atomically. As a subreaper (not PID 1) `kill(-1)` would
//! hit every process the user may signal, outside the container too, so rinit walks
//! `/proc` and signals only processes whose parent chain leads to itself.

use std::collections::{HashMap, HashSet};

use libc::{c_int, pid_t};

/// True when rinit is the init of its PID namespace (not merely a subreaper).
pub fn is_namespace_init() -> bool {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() == 1 }
}

/// Asks the kernel to re-parent orphaned descendants to rinit even when it is not PID 1.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `sig` to an unreaped child: to its process group (whose id is the child's pid,
/// as rinit starts every child in its own group) when `group`, else to the pid. When the
/// child has moved to another group (setpgid), its own group is gone and the signal goes
/// to the child directly. The child is unreaped, so its pid cannot have been reused.
pub fn signal_child(pid: pid_t, sig: c_int, group: bool) -> std::io::Result<()> {
    // SAFETY: plain kill calls.
    let mut rc = if group {
        unsafe { libc::kill(-pid, sig) }
    } else {
        unsafe { libc::kill(pid, sig) }
    };
    if rc != 0 && group {
        // SAFETY: as above.
        rc = unsafe { libc::kill(pid, sig) };
    }
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The parent pid from the text of `/proc/PID/stat`, or None for a zombie: it has
/// already exited, only waits to be reaped, and must not be counted as a leftover. The
/// command name may contain spaces and parentheses, so fields count from the last `)`.
pub fn parse_ppid(stat: &str) -> Option<pid_t> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// Every pid below `root` in the parent relation given as `(pid, ppid)` pairs.
pub fn descendants_of(root: pid_t, processes: &[(pid_t, pid_t)]) -> Vec<pid_t> {
    let mut children: HashMap<pid_t, Vec<pid_t>> = HashMap::new();
    for &(pid, ppid) in processes {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    let mut seen = HashSet::from([root]);
    while let Some(parent) = stack.pop() {
        for &child in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(child) {
                found.push(child);
                stack.push(child);
            }
        }
    }
    found
}

fn read_ppid(pid: pid_t) -> Option<pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_ppid(&stat)
}

/// `(pid, ppid)` of every process visible in /proc.
fn process_table() -> std::io::Result<Vec<(pid_t, pid_t)>> {
    let mut table = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A process may exit between readdir and read, or be a zombie: skip it.
        if let Some(ppid) = read_ppid(pid) {
            table.push((pid, ppid));
        }
    }
    Ok(table)
}

/// The process group of a process, from `/proc/PID/stat` (None for a zombie).
pub fn read_pgrp(pid: pid_t) -> Option<pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

/// Whether a live descendant of rinit is in process group `pgid`. While one is, the
/// group id cannot be reused, so signalling `-pgid` reaches only rinit's own processes.
pub fn group_has_descendants(pgid: pid_t) -> bool {
    my_descendants()
        .unwrap_or_default()
        .into_iter()
        .any(|pid| read_pgrp(pid) == Some(pgid))
}

/// rinit's descendants right now. Errors when /proc cannot be read, or when it is not
/// this PID namespace's /proc (rinit's own pid is missing from it), since an empty
/// answer would then be a lie.
pub fn my_descendants() -> std::io::Result<Vec<pid_t>> {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let table = process_table()?;
    if !table.iter().any(|&(pid, _)| pid == me) {
        return Err(std::io::Error::other(
            "/proc does not list rinit itself (is it this PID namespace's /proc?)",
        ));
    }
    Ok(descendants_of(me, &table))
}

/// Sends `sig` to every descendant of rinit. Returns how many processes were signalled
/// (as PID 1: how many /proc shows, when it can be read), or an error when they cannot
/// be found.
pub fn signal_descendants(sig: c_int) -> std::io::Result<usize> {
    if is_namespace_init() {
        let count = my_descendants().map(|d| d.len()).unwrap_or(0);
        // SAFETY: plain kill; as namespace init, -1 means "every other process in it".
        let rc = unsafe { libc::kill(-1, sig) };
        return Ok(if rc == 0 { count } else { 0 });
    }
    let descendants = my_descendants()?;
    let family: HashSet<pid_t> = descendants.iter().copied().collect();
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    Ok(descendants
        .iter()
        .filter(|&&pid| signal_if_still_family(pid, sig, me, &family))
        .count())
}

/// Pins the process with a pidfd, then checks its parent is still rinit or one of its
/// descendants before signalling: a pid freed and reused between the /proc scan and the
/// signal cannot make rinit hit a stranger.
fn signal_if_still_family(pid: pid_t, sig: c_int, me: pid_t, family: &HashSet<pid_t>) -> bool {
    let is_family = |pid| read_ppid(pid).is_some_and(|ppid| ppid == me || family.contains(&ppid));
    // SAFETY: pidfd_open takes a pid and flags, returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as c_int;
    if pidfd < 0 {
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
            return false; // gone already
        }
        // Kernel older than 5.3: best effort with plain kill.
        // SAFETY: plain kill.
        return is_family(pid) && unsafe { libc::kill(pid, sig) } == 0;
    }
    let sent = is_family(pid)
        // SAFETY: pidfd is a valid pidfd we own; no siginfo.
        && unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        } == 0;
    // SAFETY: closing the fd we opened.
    unsafe { libc::close(pidfd) };
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_is_read_after_the_last_parenthesis() {
        assert_eq!(parse_ppid("42 (sleep) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("42 (we ird) (name) R 9 1 1"), Some(9));
        assert_eq!(parse_ppid("garbage"), None);
        assert_eq!(parse_ppid("42 (x) S notanumber"), None);
        assert_eq!(
            parse_ppid("42 (sleep) Z 7 42 42 0"),
            None,
            "zombies are not leftovers"
        );
    }

    #[test]
    fn descendants_include_grandchildren_but_not_strangers() {
        let table = [(10, 1), (11, 10), (12, 11), (20, 1), (21, 20), (13, 10)];
        let mut found = descendants_of(10, &table);
        found.sort();
        assert_eq!(found, vec![11, 12, 13]);
        assert!(descendants_of(12, &table).is_empty());
    }
}

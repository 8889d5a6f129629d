//! Signal numbers as plain values: names, parsing, and what rinit does with each.
//! Pure; every layer may use it.

use libc::c_int;

/// The highest signal number on Linux.
pub const MAX_SIGNAL: c_int = 64;

/// The first real-time signal as the kernel, glibc programs and Docker number it
/// (`docker kill -s RTMIN+3` is 37). musl says 35; names follow the common 34.
const RT_NAME_BASE: c_int = 34;

/// `SIGTERM` for 15, `SIGRTMIN+3` for real-time signals, the number otherwise.
pub fn name(sig: c_int) -> String {
    if let Some(name) = signal_hook::low_level::signal_name(sig) {
        return name.to_string();
    }
    if (RT_NAME_BASE..=MAX_SIGNAL).contains(&sig) {
        return format!("SIGRTMIN+{}", sig - RT_NAME_BASE);
    }
    format!("signal {sig}")
}

/// The signal `text` names: a name with or without `SIG`, in any case (`TERM`, `SIGTERM`,
/// `term`); a real-time signal as `RTMIN`, `RTMIN+N`, `RTMAX` or `RTMAX-N`, numbered
/// like [`name`] (RTMIN is 34, RTMAX 64); or a number from 1 to 64.
pub fn parse(text: &str) -> Option<c_int> {
    /// A plain decimal number: no sign, no spaces.
    fn number(text: &str) -> Option<c_int> {
        let valid = (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| text.parse().ok())?
    }
    let text = text.trim();
    if let Some(sig) = number(text) {
        return (1..=MAX_SIGNAL).contains(&sig).then_some(sig);
    }
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let sig = if let Some(offset) = bare.strip_prefix("RTMIN") {
        let offset = if offset.is_empty() {
            0
        } else {
            number(offset.strip_prefix('+')?)?
        };
        RT_NAME_BASE + offset
    } else if let Some(offset) = bare.strip_prefix("RTMAX") {
        let offset = if offset.is_empty() {
            0
        } else {
            number(offset.strip_prefix('-')?)?
        };
        MAX_SIGNAL - offset
    } else {
        // Linux names signal-hook does not list, and old aliases.
        let extra = [
            ("IOT", libc::SIGIOT),
            ("POLL", libc::SIGPOLL),
            ("PWR", libc::SIGPWR),
            ("STKFLT", libc::SIGSTKFLT),
            ("CLD", libc::SIGCHLD),
        ];
        if let Some(&(_, sig)) = extra.iter().find(|(name, _)| *name == bare) {
            return Some(sig);
        }
        return (1..32).find(|&sig| {
            signal_hook::low_level::signal_name(sig).and_then(|name| name.strip_prefix("SIG"))
                == Some(bare)
        });
    };
    (RT_NAME_BASE..=MAX_SIGNAL).contains(&sig).then_some(sig)
}

/// Signals rinit passes on to its child in single-command mode: the usual job-control
/// and user signals and every real-time signal (32..=64, the kernel's range; a C
/// library's reserved ones included, since whoever sent one meant it). SIGCHLD is
/// rinit's own business; SIGPIPE, SIGTTIN, SIGTTOU and the fault signals concern rinit.
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
    ) || (32..=MAX_SIGNAL).contains(&sig)
}

/// The signals that ask rinit to stop.
pub fn is_stop_request(sig: c_int) -> bool {
    sig == libc::SIGTERM || sig == libc::SIGINT
}

#[cfg(test)]
mod tests {
    use super::*;

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
            32,
            34,
            64,
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
        assert_eq!(name(36), "SIGRTMIN+2");
        assert_eq!(name(64), "SIGRTMIN+30");
        assert_eq!(name(32), "signal 32");
    }

    #[test]
    fn parse_names_and_numbers() {
        for text in ["TERM", "SIGTERM", "term", "SigTerm", " TERM ", "15"] {
            assert_eq!(parse(text), Some(libc::SIGTERM), "{text}");
        }
        assert_eq!(parse("KILL"), Some(libc::SIGKILL));
        assert_eq!(parse("hup"), Some(libc::SIGHUP));
        assert_eq!(parse("SIGUSR2"), Some(libc::SIGUSR2));
        assert_eq!(parse("WINCH"), Some(libc::SIGWINCH));
        assert_eq!(parse("PWR"), Some(libc::SIGPWR));
        assert_eq!(parse("SIGIOT"), Some(libc::SIGABRT));
        assert_eq!(parse("1"), Some(1));
        assert_eq!(parse("64"), Some(64));
        assert_eq!(parse("RTMIN"), Some(34));
        assert_eq!(parse("RTMIN+3"), Some(37));
        assert_eq!(parse("sigrtmin+30"), Some(64));
        assert_eq!(parse("RTMAX"), Some(64));
        assert_eq!(parse("SIGRTMAX-2"), Some(62));
        assert_eq!(parse("RTMAX-30"), Some(34));
        // Round trip with `name`, where it gives a name rather than "signal N".
        for sig in 1..=MAX_SIGNAL {
            let name = name(sig);
            if !name.starts_with("signal ") {
                assert_eq!(parse(&name), Some(sig), "{name}");
            }
        }
    }

    #[test]
    fn parse_rejects_unknown_signals() {
        for text in [
            "",
            "0",
            "65",
            "-1",
            "+15",
            "1000",
            "TREM",
            "SIG",
            "SIGSIGTERM",
            "RTMIN+31",
            "RTMIN-1",
            "RTMIN+",
            "RTMIN++3",
            "RTMAX-31",
            "RTMAX+1",
            "15s",
            "TERM2",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}

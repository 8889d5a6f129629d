//! What a supervised program starts with: user, groups, directory, umask, environment,
//! its own session, and no signal mask. The real binary, supervising one program.

mod common;

use common::Mode;

/// Writes the configuration into a fresh directory; returns both.
fn write_config(text: &str) -> (common::TempDir, String) {
    let dir = common::TempDir::new();
    let path = dir.config(text);
    (dir, path)
}

#[test]
fn program_runs_as_configured() {
    // SAFETY: geteuid cannot fail. Switching users needs root, which CI has.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    // `$$$$`: in the TOML file `$$` is a literal `$`, so the shell sees `$$`. The mask is
    // read by an exec'd grep: sh itself blocks signals for moments while it forks.
    let script = "id -u; id -g; id -G; pwd; umask; echo \"$GREETING $HOME_IS\"; \
                  ps -o sid= -p $$$$ | tr -d ' '; echo $$$$; exec grep SigBlk /proc/self/status";
    let config = format!(
        r#"
[rinit]
log_prefix = ""  # the program's lines exactly as it wrote them

[program.probe]
command = ["sh", "-c", '''{script}''']
user = "nobody"
directory = "/tmp"
umask = "027"
startsecs = 0
autorestart = false
environment = {{ GREETING = "hello", HOME_IS = "${{HOME:-unset}}" }}
"#
    );
    let (_dir, path) = write_config(&config);
    let out = common::run(Mode::Pid1, &["-c", &path]);
    assert_eq!(out.code, 0, "{out:?}");
    let home = std::env::var("HOME").unwrap_or_else(|_| "unset".into());
    let lines = &out.stdout;
    assert_eq!(lines.len(), 9, "{out:?}");
    assert_eq!(lines[0], "65534", "uid: {lines:?}");
    assert_eq!(lines[1], "65534", "gid");
    assert_eq!(lines[2], "65534", "supplementary groups from /etc/group");
    assert_eq!(lines[3], "/tmp");
    assert_eq!(lines[4], "0027");
    assert_eq!(lines[5], format!("hello {home}"));
    assert_eq!(
        lines[6], lines[7],
        "the program leads its own session: {out:?}"
    );
    assert_eq!(lines[8], "SigBlk:\t0000000000000000", "{out:?}");
}

#[test]
fn a_missing_directory_is_named_and_the_program_goes_fatal() {
    let config = r#"
[program.probe]
command = "true"
directory = "/nonexistent-rinit-dir"
startretries = 0
"#;
    let (_dir, path) = write_config(config);
    let out = common::run(Mode::Subreaper, &["-c", &path]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(
        out.stderr.iter().any(|l| l.ends_with(
            "| probe: cannot use directory '/nonexistent-rinit-dir': No such file or directory"
        )),
        "{out:?}"
    );
}

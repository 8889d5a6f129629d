//! supervisord configuration files, read unchanged: the same plan as the TOML twin, the
//! same behaviour at run time, and a warning for everything read but not acted on.

mod common;

use common::{Mode, TempDir};

fn repo_file(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `rinit check` output without its first line (which names the file).
fn plan_of(file: &str) -> Vec<String> {
    let out = common::run(Mode::Subreaper, &["check", "-c", file]);
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout[1..].to_vec()
}

#[test]
fn the_supervisord_example_reads_exactly_as_its_toml_twin() {
    let ini = plan_of(&repo_file("examples/supervisord.conf"));
    let toml = plan_of(&repo_file("examples/supervisord-twin.toml"));
    assert_eq!(ini, toml);
    assert!(
        ini.contains(&"  2. priority 20: worker_00, worker_01".to_string()),
        "{ini:#?}"
    );
}

#[test]
fn a_fatal_program_in_a_supervisord_file_ends_the_container_with_its_code() {
    let dir = TempDir::new();
    let conf = dir.write(
        "supervisord.conf",
        "[supervisord]
nodaemon=true

[program:web]
command=@TP@ sleep
startsecs=0

[program:flaky]
command=sh -c 'echo trying; exit 5'
startretries=1
",
    );
    for mode in common::BOTH_MODES {
        let out = common::run(mode, &["-c", &conf]);
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
        assert_eq!(
            out.stdout.iter().filter(|l| *l == "flaky | trying").count(),
            2,
            "two starts, prefixed: {out:?}"
        );
        assert!(
            out.stderr
                .iter()
                .any(|l| l == "rinit | flaky: gave up (FATAL)"),
            "{out:?}"
        );
        assert!(
            out.stderr
                .iter()
                .any(|l| l == "rinit | web: stopping with SIGTERM"),
            "{out:?}"
        );
    }
}

#[test]
fn what_rinit_does_not_act_on_is_listed_not_dropped() {
    let dir = TempDir::new();
    let conf = dir.write(
        "supervisord.conf",
        "[unix_http_server]
file=/run/supervisor.sock

[supervisord]
nodaemon=true

[program:web]
command=sleep 1
stdout_logfile=AUTO
",
    );
    let out = common::run(Mode::Subreaper, &["check", "-c", &conf]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.iter().any(|l| l.contains("unix_http_server")),
        "{out:?}"
    );
    assert!(
        out.stderr.iter().any(|l| l.contains("stdout_logfile")),
        "{out:?}"
    );
    assert!(
        out.stderr.iter().all(|l| l.starts_with("rinit: ")),
        "{out:?}"
    );
}

#[test]
fn supervisord_errors_are_refused_with_file_line_and_key() {
    let dir = TempDir::new();
    let conf = dir.write(
        "supervisord.conf",
        "[supervisord]\n[program:web]\ncommand=sleep 1\nautostart=maybe\n",
    );
    let out = common::run(Mode::Subreaper, &["-c", &conf]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty(), "nothing may start: {out:?}");
    assert!(
        out.stderr[0].starts_with(&format!("rinit: {conf}:4: ")),
        "{out:?}"
    );
    assert!(out.stderr[0].contains("autostart"), "{out:?}");
}

/// `rinit check --json` agrees with supervisord 4.3.0's own reading of the same file,
/// recorded with `integration/supervisord-reading.py` (repository root as `@ROOT@`).
#[test]
fn rinit_reads_supervisord_files_as_supervisord_does() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (file, reading) in [
        (
            "examples/supervisord.conf",
            "examples_supervisord.conf.json",
        ),
        (
            "tests/fixtures/supervisord/supervisord.conf",
            "tests_fixtures_supervisord_supervisord.conf.json",
        ),
        // Every rinit_* key: supervisord 4.3.0 reads the file as if they were not there.
        (
            "tests/fixtures/supervisord/checks.conf",
            "tests_fixtures_supervisord_checks.conf.json",
        ),
    ] {
        let recorded = std::fs::read_to_string(repo_file(&format!(
            "tests/fixtures/supervisord/readings/{reading}"
        )))
        .unwrap()
        .replace("@ROOT@", root);
        let theirs: serde_json::Value = serde_json::from_str(&recorded).unwrap();
        let out = common::run(
            Mode::Subreaper,
            &["check", "--json", "-c", &repo_file(file)],
        );
        assert_eq!(out.code, 0, "{out:?}");
        let ours: serde_json::Value = serde_json::from_str(&out.stdout.join("\n")).unwrap();
        let theirs = theirs["programs"].as_array().unwrap();
        let ours = ours["programs"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{file}");
        for (mine, sup) in ours.iter().zip(theirs) {
            // Every key supervisord reports, with the same value (rinit reports more).
            for (key, value) in sup.as_object().unwrap() {
                assert_eq!(&mine[key], value, "{file}: {} {key}", sup["name"]);
            }
        }
    }
}

#[test]
fn a_real_stdout_logfile_is_written_raw_and_rotated() {
    let dir = TempDir::new();
    let conf = dir.write(
        "supervisord.conf",
        "[supervisord]
nodaemon=true

[program:app]
command=sh -c 'for i in $(seq 1 100); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; echo to-stderr >&2'
startsecs=0
autorestart=false
stdout_logfile=@DIR@/app.log
stdout_logfile_maxbytes=2KB
stdout_logfile_backups=1
",
    );
    let out = common::run(Mode::Subreaper, &["-c", &conf]);
    assert_eq!(out.code, 0, "{out:?}");
    // stdout went to the file, not to rinit's stdout; stderr still to rinit's stderr.
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        out.stderr.iter().any(|l| l == "app   | to-stderr"),
        "{out:?}"
    );
    let read = |name: &str| std::fs::read_to_string(dir.file(name)).unwrap_or_default();
    let (current, backup) = (read("app.log"), read("app.log.1"));
    assert!(
        !std::path::Path::new(&dir.file("app.log.2")).exists(),
        "one backup only"
    );
    for file in [&current, &backup] {
        assert!(
            !file.is_empty() && file.len() <= 2048,
            "{} bytes",
            file.len()
        );
        assert!(
            file.lines().all(|l| l.starts_with("line-")),
            "raw lines: {file}"
        );
    }
    // Lines are never split across files, and the newest are in the current file.
    assert!(current.ends_with("line-100-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"));
}

#[test]
fn programs_sharing_a_log_file_share_one_writer_and_one_rotation() {
    let dir = TempDir::new();
    let conf = dir.write(
        "supervisord.conf",
        "[supervisord]
nodaemon=true

[program:a]
command=sh -c 'for i in $(seq 1 100); do echo a-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; sleep 1'
startsecs=0
autorestart=false
stdout_logfile=@DIR@/shared.log
stdout_logfile_maxbytes=4KB
stdout_logfile_backups=5

[program:b]
command=sh -c 'for i in $(seq 1 100); do echo b-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; exec sleep 30'
startsecs=0
autorestart=false
stdout_logfile=@DIR@/shared.log
stdout_logfile_maxbytes=4KB
stdout_logfile_backups=5
",
    );
    // a ends after 1 s (both have written everything by then) and ends the container.
    let out = common::run(Mode::Subreaper, &["-c", &conf]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = Vec::new();
    for name in ["shared.log", "shared.log.1", "shared.log.2", "shared.log.3"] {
        let text = std::fs::read_to_string(dir.file(name)).unwrap_or_default();
        assert!(text.len() <= 4096, "{name}: {} bytes", text.len());
        lines.extend(text.lines().map(str::to_string));
    }
    // Nothing lost or torn: one writer rotated the file for both programs.
    assert_eq!(lines.len(), 200, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"))
    );
}

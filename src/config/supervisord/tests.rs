//! The reader end to end: `parse` on whole files, each test for one part of the
//! dialect (section numbers are those of `specs/supervisord-dialect.md`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::expand::{Names, Value, percent_format};
use super::ini::Ini;
use super::*;
use crate::config::users::fake::FakeUsers;
use crate::config::{Autorestart, DEFAULT_GRACE, OutputSpec, ProgramSpec};
const MAIN: &str = "/etc/supervisor/supervisord.conf";
const HEAD: &str = "[supervisord]\nnodaemon=true\n";

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/app".into()),
        "NUMPROCS" => Some("2".into()),
        "QUEUE" => Some("default".into()),
        _ => None,
    }
}

/// Reads `text` as MAIN, with `files` (absolute path, text) as the file system.
/// [`read_with_reports`] without the report-only fields (group, log files), which
/// `groups_and_logfiles_are_kept_for_reports` checks on its own.
fn read_with(text: &str, files: &[(&str, &str)]) -> Result<(Plan, Vec<String>), ConfigError> {
    read_with_reports(text, files).map(|(mut plan, warnings)| {
        clear_reports(&mut plan);
        (plan, warnings)
    })
}

fn clear_reports(plan: &mut Plan) {
    for program in &mut plan.programs {
        program.group = None;
        program.stdout_logfile = None;
        program.stderr_logfile = None;
        program.stdout_log = None;
        program.stderr_log = None;
    }
}

#[test]
fn real_log_files_are_written_with_supervisords_rotation_settings() {
    use crate::config::LogFileSettings as LogFileSpec;
    let text = format!(
        "{HEAD}[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\n\
         stdout_logfile_maxbytes=1KB\nstdout_logfile_backups=2\nstderr_logfile=NONE\n\
         [program:b]\ncommand=y\nstdout_logfile=/var/log/b.log\n"
    );
    let (plan, warnings) = read_with_reports(&text, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let log = |path: &str, max_bytes, backups| {
        Some(LogFileSpec {
            path: path.into(),
            max_bytes,
            backups,
        })
    };
    assert_eq!(plan.programs[0].stdout_log, log("/var/log/a.log", 1024, 2));
    assert_eq!(plan.programs[0].stderr_log, log("/dev/null", 0, 0));
    // supervisord's defaults: 50MB, 10 backups.
    assert_eq!(
        plan.programs[1].stdout_log,
        log("/var/log/b.log", 52_428_800, 10)
    );
    assert_eq!(plan.programs[1].stderr_log, None);
}

fn read_with_reports(
    text: &str,
    files: &[(&str, &str)],
) -> Result<(Plan, Vec<String>), ConfigError> {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    let read_file = |path: &Path| {
        files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    let list_dir = |dir: &Path| {
        let children: Vec<PathBuf> = files
            .iter()
            .flat_map(|(p, _)| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
            .filter(|p| p.parent() == Some(dir))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if children.is_empty() {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        } else {
            Ok(children)
        }
    };
    parse(
        text,
        Path::new(MAIN),
        &env,
        &FakeUsers,
        &read_file,
        &list_dir,
    )
}

fn read(text: &str) -> (Plan, Vec<String>) {
    read_with(text, &[]).unwrap_or_else(|err| panic!("unexpected error: {err}"))
}

#[test]
fn groups_and_logfiles_are_kept_for_reports() {
    let text = format!(
        "{HEAD}[group:g]\nprograms=a\n[program:a]\ncommand=x\nstdout_logfile=/dev/stdout\n\
         [program:b]\ncommand=y\nstderr_logfile=/dev/fd/2\n"
    );
    let (plan, _) = read_with_reports(&text, &[]).unwrap_or_else(|err| panic!("{err}"));
    let a = plan.programs.iter().find(|p| p.name == "a").unwrap();
    assert_eq!(a.group.as_deref(), Some("g"));
    assert_eq!(a.stdout_logfile.as_deref(), Some("/dev/stdout"));
    let b = plan.programs.iter().find(|p| p.name == "b").unwrap();
    assert_eq!(b.group.as_deref(), Some("b"));
    assert_eq!(b.stderr_logfile.as_deref(), Some("/dev/fd/2"));
}

fn programs(text: &str) -> Vec<ProgramSpec> {
    read(text).0.programs
}

/// The single program of `[program:web]` + `body`.
fn program(body: &str) -> ProgramSpec {
    let mut programs = programs(&format!("{HEAD}[program:web]\n{body}\n"));
    assert_eq!(programs.len(), 1);
    programs.remove(0)
}

fn warnings(text: &str) -> Vec<String> {
    read(text).1
}

fn error(text: &str) -> String {
    match read_with(text, &[]) {
        Ok(plan) => panic!("expected an error, got {plan:?}"),
        Err(err) => err.to_string(),
    }
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

/// A program with supervisord's defaults.
fn sv(name: &str, command: &[&str]) -> ProgramSpec {
    let mut spec = ProgramSpec::with_defaults(name, argv(command));
    spec.stopasgroup = false;
    spec.killasgroup = false;
    spec
}

fn names(programs: &[ProgramSpec]) -> Vec<(&str, i32)> {
    programs
        .iter()
        .map(|p| (p.name.as_str(), p.priority))
        .collect()
}

#[test]
fn detects_the_format() {
    assert!(looks_like_supervisord("; x\n[program:web]\ncommand=x\n"));
    assert!(looks_like_supervisord("[supervisord]\r\nnodaemon=true\r\n"));
    assert!(looks_like_supervisord("[include]\nfiles=*.conf\n"));
    assert!(!looks_like_supervisord("[program.web]\ncommand = \"x\"\n"));
    assert!(!looks_like_supervisord("[rinit]\ngrace = 5\n"));
}

#[test]
fn defaults_are_supervisords() {
    let (plan, warnings) = read(&format!("{HEAD}[program:app]\ncommand=/bin/app\n"));
    assert_eq!(
        plan,
        Plan {
            source: MAIN.into(),
            grace: DEFAULT_GRACE,
            stop_delay: Duration::ZERO,
            programs: vec![sv("app", &["/bin/app"])],
            output: OutputSpec::default(),
            control: Default::default(),
        }
    );
    assert_eq!(warnings, Vec::<String>::new());
}

#[test]
fn every_program_key() {
    let spec = program(
        "command=/usr/bin/app --port 80 \"a b\" c\\ d\n\
         priority=-5\nautostart=no\nautorestart=true\nexitcodes=0, 2\nstartsecs=0\n\
         startretries=10\nstopsignal=quit\nstopwaitsecs=30\nstopasgroup=true\n\
         directory=/srv/app\nuser=www-data\numask=027\n\
         environment=A=\"1\",B=two\nredirect_stderr=true\n\
         stdout_logfile=/proc/self/fd/1\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0",
    );
    let mut expected = sv("web", &["/usr/bin/app", "--port", "80", "a b", "c d"]);
    expected.priority = -5;
    expected.autostart = false;
    expected.autorestart = Autorestart::Always;
    expected.exitcodes = vec![0, 2];
    expected.startsecs = Duration::ZERO;
    expected.startretries = 10;
    expected.stopsignal = libc::SIGQUIT;
    expected.stopwaitsecs = Duration::from_secs(30);
    expected.stopasgroup = true;
    expected.killasgroup = true; // implied by stopasgroup
    expected.directory = Some("/srv/app".into());
    expected.user = FakeUsers.user("www-data");
    expected.umask = Some(0o027);
    expected.environment = vec![("A".into(), "1".into()), ("B".into(), "two".into())];
    expected.redirect_stderr = true;
    assert_eq!(spec, expected);
}

#[test]
fn value_syntaxes() {
    assert_eq!(
        program("command=a\nautorestart=unexpected").autorestart,
        Autorestart::Unexpected
    );
    assert_eq!(
        program("command=a\nautorestart=OFF").autorestart,
        Autorestart::Never
    );
    assert!(program("command=a\nautostart=Yes").autostart);
    assert_eq!(
        program("command=a\nexitcodes=").exitcodes,
        Vec::<i32>::new()
    );
    assert_eq!(program("command=a\nstopsignal=9").stopsignal, libc::SIGKILL);
    assert_eq!(
        program("command=a\nstopsignal=SIGINT").stopsignal,
        libc::SIGINT
    );
    assert_eq!(program("command=a\npriority=+1_0").priority, 10);
    assert_eq!(program("command=a\numask=0o002").umask, Some(0o002));
    assert!(program("command=a\nkillasgroup=true").killasgroup);
    assert!(!program("command=a\nkillasgroup=true").stopasgroup);
    let e = |body: &str| error(&format!("{HEAD}[program:web]\ncommand=a\n{body}\n"));
    assert_eq!(
        e("autostart=maybe"),
        "/etc/supervisor/supervisord.conf:5: [program:web] autostart: not a valid boolean value: \"maybe\""
    );
    assert!(e("autorestart=sometimes").contains("invalid 'autorestart' value"));
    assert!(e("exitcodes=0,256").contains(":5: [program:web] exitcodes: expected exit codes"));
    assert!(e("exitcodes=-1").contains("exitcodes"));
    assert!(e("stopsignal=BOGUS").contains("value \"BOGUS\" is not a valid signal name"));
    assert!(e("startsecs=1.5").contains("expected an integer"));
    assert!(e("startsecs=-1").contains("non-negative"));
    assert!(e("stdout_logfile_maxbytes=5M").contains("expected a size"));
    assert!(e("user=nobody").contains("[program:web] user: Invalid user name nobody"));
    assert!(e("umask=8").contains("umask"));
    assert_eq!(
        e("stopasgroup=true\nkillasgroup=false"),
        "/etc/supervisor/supervisord.conf:6: [program:web] killasgroup: Cannot set stopasgroup=true and killasgroup=false"
    );
}

#[test]
fn errors_supervisord_rejects() {
    assert_eq!(
        error(&format!("{HEAD}[program:web]\nautostart=true\n")),
        "/etc/supervisor/supervisord.conf:3: [program:web]: program section program:web does not specify a command"
    );
    assert_eq!(
        error("[program:web]\ncommand=a\n"),
        "/etc/supervisor/supervisord.conf: .ini file does not include supervisord section"
    );
    assert_eq!(
        error(&format!("{HEAD}[program:web]\ncommand=a\nnumprocs=2\n")),
        "/etc/supervisor/supervisord.conf:5: [program:web] numprocs: %(process_num) must be present within process_name when numprocs > 1"
    );
    assert_eq!(
        error(&format!(
            "{HEAD}[program:web]\ncommand=a\n[group:g]\nprograms=web,db\n"
        )),
        "/etc/supervisor/supervisord.conf:6: [group:g] programs: [group:g] names unknown program or fcgi-program db"
    );
    assert_eq!(
        error(&format!("{HEAD}[include]\n")),
        "/etc/supervisor/supervisord.conf:3: [include]: .ini file has [include] section, but no files setting"
    );
    assert!(error(&format!("{HEAD}[program:web]\ncommand=\n")).contains("the command is empty"));
}

/// §1.1
#[test]
fn ini_lines_sections_and_keys() {
    let (plan, warnings) = read(
        "[supervisord]\r\nnodaemon = true\r\n\
         [program:a]\r\nCommand: /bin/a\r\nstartsecs\t= 0\r\nstartsecs=5\r\n\
         [Program:B]\ncommand=/bin/b\n\
         [DEFAULT]\nautorestart=false\n\
         [program:a]\npriority=7\n",
    );
    let mut a = sv("a", &["/bin/a"]);
    a.startsecs = Duration::from_secs(5);
    a.priority = 7;
    a.autorestart = Autorestart::Never;
    assert_eq!(plan.programs, vec![a]);
    assert_eq!(
        warnings,
        // [DEFAULT]'s autorestart is not reported as unknown in [supervisord].
        [
            "/etc/supervisor/supervisord.conf:7: [Program:B]: unknown section, ignored (section names are case-sensitive)"
        ]
    );
    assert_eq!(
        error("[supervisord]\nnodaemon\n"),
        "/etc/supervisor/supervisord.conf:2: expected KEY=VALUE or [SECTION], found \"nodaemon\""
    );
    assert!(
        error("command=x\n[supervisord]\n")
            .starts_with("/etc/supervisor/supervisord.conf:1: expected a section header")
    );
}

/// §1.2
#[test]
fn comments() {
    let command = |line: &str| program(&format!("command={line}")).command;
    assert_eq!(
        command("/usr/sbin/nginx -g \"daemon off;\" ; error_log x"),
        argv(&["/usr/sbin/nginx", "-g", "daemon off;"])
    );
    assert_eq!(
        command("/usr/sbin/nginx -g \"daemon off; error_log /dev/stderr;\""),
        argv(&[
            "/usr/sbin/nginx",
            "-g",
            "daemon off; error_log /dev/stderr;"
        ])
    );
    assert_eq!(
        command("bash -c 'if true; then x; fi'"),
        argv(&["bash", "-c", "if true; then x; fi"])
    );
    assert_eq!(command("x #c"), argv(&["x"]));
    assert_eq!(command("x#c"), argv(&["x#c"]));
    // Quotes do not protect: the value is cut, and the quote left open.
    assert!(
        error(&format!(
            "{HEAD}[program:web]\ncommand=bash -c 'foo ; bar'\n"
        ))
        .contains("balanced quotes, found \"bash -c 'foo\"")
    );
    assert_eq!(
        program("command=a\nuser=www-data\t\t ;").user,
        FakeUsers.user("www-data")
    );
    assert_eq!(
        programs(&format!(
            "{HEAD}  ; indented comment\n# other\n[program:web]\ncommand=a\n"
        ))
        .len(),
        1
    );
}

/// §1.3
#[test]
fn continuation_lines() {
    let spec = program(
        "command=%(ENV_HOME)s/wait_for_deps.sh\n    python3 -m uvicorn\n\n        --fd 0 ; comment\n; full comment\n  --x\nstartsecs=0",
    );
    assert_eq!(
        spec.command,
        argv(&[
            "/home/app/wait_for_deps.sh",
            "python3",
            "-m",
            "uvicorn",
            "--fd",
            "0",
            "--x"
        ])
    );
    assert_eq!(spec.startsecs, Duration::ZERO);
    let mut ini = Ini::default();
    ini.read("[s]\nk = a #x\n  b\n\n  c\n\n\nj=1\n", Path::new("/f"), "/")
        .unwrap();
    assert_eq!(ini.sections[0].keys[0].1.value, "a\nb\n\nc");
    assert_eq!(ini.sections[0].keys[1].1.value, "1");
}

/// §1.4
#[test]
fn expansions() {
    let host = hostname();
    let programs = programs(
        "[supervisord]\nenvironment=REGION=eu,PATH_X=%(here)s/bin\n\
         [program:worker]\nprocess_name=%(program_name)s-%(process_num)02d\nnumprocs=2\n\
         numprocs_start=1\npriority=%(ENV_NUMPROCS)s\n\
         command=run %(group_name)s %(process_num)d/%(numprocs)s %(host_node_name)s \
         %(ENV_REGION)s %(ENV_TOKEN)s %(ENV_PATH_X)s 100%%\n\
         environment=TOKEN=t%(process_num)03d\n\
         directory=/srv/%(ENV_TOKEN)s\n\
         [group:pool]\nprograms=worker\npriority=%(ENV_NUMPROCS)s\n",
    );
    let env = |n: i32| {
        vec![
            ("REGION".to_string(), "eu".to_string()),
            ("PATH_X".to_string(), "/etc/supervisor/bin".to_string()),
            ("TOKEN".to_string(), format!("t{n:03}")),
        ]
    };
    let expected: Vec<ProgramSpec> = (1..=2)
        .map(|n| {
            let mut spec = sv(
                &format!("worker-{n:02}"),
                &[
                    "run",
                    "pool",
                    &format!("{n}/2"),
                    &host,
                    "eu",
                    &format!("t{n:03}"),
                    "/etc/supervisor/bin",
                    "100%",
                ],
            );
            spec.priority = 2;
            spec.environment = env(n);
            spec.directory = Some(format!("/srv/t{n:03}").into());
            spec
        })
        .collect();
    assert_eq!(programs, expected);

    let e = |body: &str| error(&format!("{HEAD}[program:web]\n{body}\n"));
    assert_eq!(
        e("command=run %(nope)s"),
        "/etc/supervisor/supervisord.conf:4: [program:web] command: format string \"run %(nope)s\" contains names ('nope') which cannot be expanded. Available names: group_name, here, host_node_name, numprocs, process_num, program_name, ENV_*"
    );
    assert!(e("command=run %(ENV_UNSET)s").contains("names ('ENV_UNSET')"));
    assert!(
        e("command=a\npriority=%(process_num)s").contains("[program:web] priority: format string")
    );
    assert!(
        e("command=100%").contains("[program:web] command: format string \"100%\" badly formatted")
    );
    assert!(e("command=%(program_name)d").contains("needs a number"));
    // logfiles are expanded twice: %% must be written %%%%.
    let web = read_with_reports(
        &format!("{HEAD}[program:web]\ncommand=a\nstdout_logfile=/l/%%%%%(program_name)s"),
        &[],
    )
    .unwrap_or_else(|err| panic!("{err}"))
    .0
    .programs
    .remove(0);
    assert_eq!(web.stdout_logfile.as_deref(), Some("/l/%web"));
    let names = Names {
        fixed: [("n", Value::Int(7)), ("s", Value::Str("ab".into()))]
            .into_iter()
            .collect(),
        extra_env: Vec::new(),
        env: &env_none,
    };
    assert_eq!(
        percent_format("%(n)5d|%(n)-3d|%(n)+d|%(s).1s|%(s)4s", &names),
        Ok("    7|7  |+7|a|  ab".into())
    );
}

fn env_none(_: &str) -> Option<String> {
    None
}

/// §1.5
#[test]
fn includes() {
    let main = format!(
        "{HEAD}[include]\nfiles=conf.d/*.conf /opt/extra/[ab]?.ini\n  none/*.conf\n\
         [program:web]\ncommand=/bin/web\npriority=1\n"
    );
    let (plan, warnings) = read_with(
        &main,
        &[
            (
                "/etc/supervisor/conf.d/b.conf",
                "[program:b]\ncommand=%(here)s/b\n[program:web]\npriority=2\n",
            ),
            (
                "/etc/supervisor/conf.d/a.conf",
                "[program:a]\ncommand=%(here)s/a\n[include]\nfiles=/x/*\n",
            ),
            (
                "/etc/supervisor/conf.d/.hidden.conf",
                "[program:hidden]\ncommand=x\n",
            ),
            ("/etc/supervisor/conf.d/c.txt", "[program:c]\ncommand=x\n"),
            ("/opt/extra/a1.ini", "[program:extra]\ncommand=%(here)s/e\n"),
            ("/opt/extra/c1.ini", "[program:c1]\ncommand=x\n"),
            ("/x/y", "[program:y]\ncommand=x\n"),
        ],
    )
    .unwrap();
    let mut web = sv("web", &["/bin/web"]);
    web.priority = 2;
    assert_eq!(
        plan.programs,
        vec![
            web,
            sv("a", &["/etc/supervisor/conf.d/a"]),
            sv("b", &["/etc/supervisor/conf.d/b"]),
            sv("extra", &["/opt/extra/e"]),
        ]
    );
    assert_eq!(
        warnings,
        [
            "/etc/supervisor/supervisord.conf:4: [include] files: No file matches via include \"/etc/supervisor/none/*.conf\""
        ]
    );
    let err = read_with(
        &main,
        &[("/etc/supervisor/conf.d/a.conf", "[program:a]\nbroken\n")],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "/etc/supervisor/conf.d/a.conf:2: expected KEY=VALUE or [SECTION], found \"broken\""
    );
    // [supervisord] may come from an include.
    let (plan, _) = read_with(
        "[include]\nfiles=/etc/s.conf\n[program:p]\ncommand=p\n",
        &[("/etc/s.conf", "[supervisord]\n")],
    )
    .unwrap();
    assert_eq!(plan.programs.len(), 1);
}

#[test]
fn an_unreadable_include_is_skipped_with_a_warning() {
    let list_dir = |_: &Path| Ok(vec![PathBuf::from("/etc/supervisor/conf.d/a.conf")]);
    let read_file = |_: &Path| Err(std::io::Error::from_raw_os_error(libc::EACCES));
    let (plan, warnings) = parse(
        &format!("{HEAD}[include]\nfiles=conf.d/*.conf\n[program:p]\ncommand=p\n"),
        Path::new(MAIN),
        &env,
        &FakeUsers,
        &read_file,
        &list_dir,
    )
    .unwrap();
    assert_eq!(plan.programs.len(), 1);
    assert_eq!(
        warnings,
        [
            "/etc/supervisor/supervisord.conf:4: [include] files: cannot read /etc/supervisor/conf.d/a.conf: Permission denied, skipped (as supervisord does)"
        ]
    );
}

#[test]
fn search_paths_are_supervisords() {
    assert_eq!(
        search_paths(Path::new("/usr/bin"), Path::new("/app")),
        [
            "/usr/bin/../etc/supervisord.conf",
            "/usr/bin/../supervisord.conf",
            "/app/supervisord.conf",
            "/app/etc/supervisord.conf",
            "/etc/supervisord.conf",
            "/etc/supervisor/supervisord.conf",
        ]
        .map(PathBuf::from)
    );
}

/// §1.6
#[test]
fn names_are_validated() {
    assert!(
        error(&format!("{HEAD}[program:a b]\ncommand=x\n")).contains("[program:a b]: Invalid name")
    );
    assert!(
        error(&format!(
            "{HEAD}[program:a]\ncommand=x\nprocess_name=a/%(process_num)s\n"
        ))
        .contains("[program:a] process_name: Invalid name")
    );
    assert!(
        error(&format!(
            "{HEAD}[program:a]\ncommand=x\n[group:g:h]\nprograms=a\n"
        ))
        .contains("[group:g:h]: Invalid name")
    );
    let long = "n".repeat(256);
    assert!(
        error(&format!("{HEAD}[program:{long}]\ncommand=x\n")).ends_with(&format!(
            "[program:{long}]: a name of 256 characters (expected at most 255)"
        ))
    );
    let message = error(&format!(
        "{HEAD}[program:a]\ncommand=x\nprocess_name={long}%(process_num)s\nnumprocs=2\n"
    ));
    assert!(
        message
            .ends_with("[program:a] process_name: a name of 271 characters (expected at most 255)"),
        "{message}"
    );
    assert_eq!(program("command=x").name, "web");
    assert_eq!(
        programs(&format!("{HEAD}[program: padded ]\ncommand=x\n"))[0].name,
        "padded"
    );
}

#[test]
fn the_global_environment_comes_first_and_the_programs_own_wins() {
    let spec = programs(
        "[supervisord]\nenvironment=A=global,B=global\n[program:p]\ncommand=x\nenvironment=B=own,C=own\n",
    )
    .remove(0);
    assert_eq!(
        spec.environment,
        vec![
            ("A".to_string(), "global".to_string()),
            ("B".to_string(), "own".to_string()),
            ("C".to_string(), "own".to_string())
        ]
    );
}

/// §2.5 and §3.3: the order verified against supervisord (§4 C).
#[test]
fn groups_and_start_order() {
    let programs = programs(&format!(
        "{HEAD}[program:bbb]\ncommand=x\npriority=10\n[program:aaa]\ncommand=x\npriority=10\n\
         [program:ccc]\ncommand=x\npriority=10\n[program:first]\ncommand=x\npriority=5\n\
         [program:zero]\ncommand=x\n[program:exit2]\ncommand=x\n\
         [program:mid]\ncommand=x\npriority=10\n\
         [group:g]\nprograms=zz , aa\npriority=10\n\
         [program:aa]\ncommand=x\npriority=2\n[program:zz]\ncommand=x\npriority=1\n\
         [program:w]\ncommand=x\nnumprocs=11\nprocess_name=w%(process_num)d\npriority=20\n"
    ));
    let mut expected = vec![
        ("first", 5),
        ("aaa", 10),
        ("bbb", 10),
        ("ccc", 10),
        ("zz", 10),
        ("aa", 10),
        ("mid", 10),
    ];
    // numprocs: by process name, as strings.
    for n in [0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9] {
        expected.push((Box::leak(format!("w{n}").into_boxed_str()), 20));
    }
    expected.extend([("exit2", 999), ("zero", 999)]);
    assert_eq!(names(&programs), expected);
    // A member with numprocs: its processes by name, in the member's place.
    let programs = super::tests::programs(&format!(
        "{HEAD}[group:q]\nprograms=w,a\n[program:a]\ncommand=x\n\
         [program:w]\ncommand=x\nnumprocs=3\nnumprocs_start=9\nprocess_name=w%(process_num)d\n"
    ));
    assert_eq!(
        names(&programs),
        [("w10", 999), ("w11", 999), ("w9", 999), ("a", 999)]
    );
    // An empty group, and a group without programs.
    assert_eq!(
        names(&super::tests::programs(&format!(
            "{HEAD}[program:a]\ncommand=x\n[group:e]\nprograms=\n"
        ))),
        [("a", 999)]
    );
    assert!(
        error(&format!(
            "{HEAD}[program:a]\ncommand=x\n[group:e]\npriority=1\n"
        ))
        .contains("[group:e] requires a programs line")
    );
    assert!(
        error(&format!(
            "{HEAD}[program:a]\ncommand=x\n[group:e]\nprograms=a\n[group:f]\nprograms=a\n"
        ))
        .contains("process name 'a' is used twice")
    );
}

#[test]
fn supervisord_section() {
    let text = "[supervisord]\nnodaemon=true\nuser=www-data\numask=002\nminfds=10000\n\
                minprocs=200\nlogfile=/var/log/supervisord.log\npidfile=/run/s.pid\n\
                loglevel=INFO\ndirectory=/tmp\nusername=x\n\
                [program:a]\ncommand=x\n[program:b]\ncommand=x\numask=077\nuser=root\n";
    let (plan, warnings) = read(text);
    assert_eq!(plan.programs[0].user, FakeUsers.user("www-data"));
    assert_eq!(plan.programs[0].umask, Some(0o002));
    assert_eq!(plan.programs[1].user, FakeUsers.user("root"));
    assert_eq!(plan.programs[1].umask, Some(0o077));
    assert_eq!(
        warnings,
        [
            "/etc/supervisor/supervisord.conf:5: [supervisord] minfds: not applied by rinit (it does not raise resource limits; the container's limits apply)",
            "/etc/supervisor/supervisord.conf:7: [supervisord] logfile: ignored: rinit writes its own messages to its stderr",
            "/etc/supervisor/supervisord.conf:10: [supervisord] directory: ignored: rinit does not change its own directory",
            "/etc/supervisor/supervisord.conf:11: [supervisord] username: unknown key, ignored",
        ]
    );
    assert_eq!(program("command=x").user, None);
    assert!(
        error("[supervisord]\nnodaemon=perhaps\n[program:a]\ncommand=x\n")
            .contains("[supervisord] nodaemon: not a valid boolean value")
    );
    assert!(
        error("[supervisord]\nuser=nobody\n[program:a]\ncommand=x\n")
            .contains("[supervisord] user: Invalid user name nobody")
    );
}

#[test]
fn unsupported_keys_and_sections_warn() {
    let text = format!(
        "{HEAD}[program:a]\ncommand=x\nstdout_capture_maxbytes=1MB\nstdout_events_enabled=true\n\
         stderr_events_enabled=false\nserverurl=http://x\nauto_start=true\nstdout_logfile=AUTO\n\
         stderr_logfile=/var/log/a.err\nredirect_stderr=false\n\
         [eventlistener:stdout]\ncommand=supervisor_stdout\nevents=PROCESS_LOG\n\
         [fcgi-program:f]\ncommand=x\nsocket=tcp://localhost:9000\n[inet_http_server]\nport=9001\n"
    );
    let at = |line: usize| format!("/etc/supervisor/supervisord.conf:{line}");
    assert_eq!(
        warnings(&text),
        [
            format!(
                "{}: [program:a] stdout_capture_maxbytes: not supported by rinit, ignored",
                at(5)
            ),
            format!(
                "{}: [program:a] stdout_events_enabled: not supported by rinit, ignored",
                at(6)
            ),
            format!(
                "{}: [program:a] serverurl: not supported by rinit, ignored",
                at(8)
            ),
            format!("{}: [program:a] auto_start: unknown key, ignored", at(9)),
            format!(
                "{}: [program:a] stdout_logfile: stdout_logfile=AUTO: output goes to rinit's prefixed stdout",
                at(10)
            ),
            format!(
                "{}: [eventlistener:stdout]: recognised supervisor_stdout: rinit prefixes every program's output itself; section replaced by that",
                at(13)
            ),
            format!(
                "{}: [fcgi-program:f]: not supported by rinit, section ignored",
                at(16)
            ),
            format!(
                "{}: [inet_http_server]: not supported by rinit, section ignored",
                at(19)
            ),
        ]
    );
    assert_eq!(
        warnings(&format!(
            "{HEAD}[program:a]\ncommand=x\nredirect_stderr=true\nstderr_logfile=/dev/stderr\n"
        )),
        [
            "/etc/supervisor/supervisord.conf:6: [program:a] stderr_logfile: ignored: redirect_stderr=true sends stderr to stdout"
        ]
    );
}

#[test]
fn load_reports_an_unreadable_file() {
    let err = load(Path::new("/nonexistent/supervisord.conf")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read /nonexistent/supervisord.conf: No such file or directory"
    );
}

/// The realistic example in tests/fixtures/supervisord: nginx + php-fpm in a group,
/// a queue worker with numprocs=3 from an include directory.
#[test]
fn fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/supervisord");
    let main = dir.join("supervisord.conf");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(looks_like_supervisord(&text));
    let list_dir = |dir: &Path| {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<Vec<_>>>()
    };
    let read_file = |path: &Path| std::fs::read_to_string(path);
    let env = |name: &str| (name == "HOME").then(|| "/root".to_string());
    let (mut plan, warnings) = parse(&text, &main, &env, &FakeUsers, &read_file, &list_dir)
        .unwrap_or_else(|err| panic!("{err}"));
    clear_reports(&mut plan);
    let conf_d = dir.join("conf.d");
    let global = vec![
        ("APP_ENV".to_string(), "production".to_string()),
        ("QUEUE_CONNECTION".to_string(), "redis".to_string()),
    ];
    let mut php = sv("php-fpm", &["php-fpm8.2", "-F", "-R"]);
    php.priority = 10;
    php.autorestart = Autorestart::Always;
    php.environment = global.clone();
    let mut nginx = sv(
        "nginx",
        &[
            "/usr/sbin/nginx",
            "-g",
            "daemon off; error_log /dev/stderr info;",
        ],
    );
    nginx.priority = 10;
    nginx.autorestart = Autorestart::Always;
    nginx.stopsignal = libc::SIGQUIT;
    nginx.stopwaitsecs = Duration::from_secs(20);
    nginx.redirect_stderr = true;
    nginx.environment = global.clone();
    let workers = (0..3).map(|n| {
        let artisan = format!("{}/../artisan", conf_d.display());
        let mut w = sv(
            &format!("worker_{n:02}"),
            &[
                "php",
                &artisan,
                "queue:work",
                "redis",
                "--queue=emails,default",
                "--sleep=3",
                "--tries=3",
            ],
        );
        w.directory = Some("/var/www/html".into());
        w.user = FakeUsers.user("www-data");
        w.autorestart = Autorestart::Always;
        w.stopasgroup = true;
        w.killasgroup = true;
        w.stopwaitsecs = Duration::from_secs(3600);
        w.environment = global.clone();
        w.environment
            .push(("QUEUE".into(), "emails,default".into()));
        w.environment.push(("HOME".into(), "/var/www".into()));
        w
    });
    let mut expected = vec![php, nginx];
    expected.extend(workers);
    assert_eq!(plan.programs, expected);
    let main = main.display();
    let worker = conf_d.join("worker.conf");
    let worker = worker.display();
    assert_eq!(
        warnings,
        [
            format!(
                "{main}:22: [include] files: No file matches via include \"{}\"",
                dir.join("missing.d/*.ini").display()
            ),
            format!("{main}:3: [unix_http_server]: not supported by rinit, section ignored"),
            format!(
                "{main}:15: [rpcinterface:supervisor]: not supported by rinit, section ignored"
            ),
            format!("{main}:18: [supervisorctl]: not supported by rinit, section ignored"),
            format!(
                "{worker}:16: [program:worker] stdout_events_enabled: not supported by rinit, ignored"
            ),
        ]
    );
}

#[test]
fn hostile_sizes_are_refused_not_obeyed() {
    let err = |body: &str| {
        read_with_reports(&format!("{HEAD}[program:w]\n{body}\n"), &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        err("command=echo %(process_num)070000d").contains("width or precision over 4096"),
        "{}",
        err("command=echo %(process_num)070000d")
    );
    let many = err("command=x\nnumprocs=100000000\nprocess_name=w%(process_num)d");
    assert!(
        many.contains("100000000 is more than rinit runs (4096 at most)"),
        "{many}"
    );
}

#[test]
fn log_file_keywords_ignore_case_and_cross_stream_paths_map_to_rinits_streams() {
    let text = format!(
        "{HEAD}[program:a]\ncommand=x\nstdout_logfile=none\nstderr_logfile=/dev/stdout\n\
         [program:b]\ncommand=y\nstdout_logfile=Off\nstdout_logfile_backups=-3\n"
    );
    let (plan, warnings) = read_with_reports(&text, &[]).unwrap_or_else(|e| panic!("{e}"));
    let a = &plan.programs[0];
    assert_eq!(
        a.stdout_log.as_ref().map(|l| l.path.clone()),
        Some("/dev/null".into())
    );
    assert!(a.redirect_stderr, "stderr_logfile=/dev/stdout joins stdout");
    assert_eq!(a.stderr_log, None);
    let b = &plan.programs[1];
    assert_eq!(
        b.stdout_log.as_ref().map(|l| l.path.clone()),
        Some("/dev/null".into())
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.ends_with("stdout_logfile_backups: -3 is out of range: 0 backups are kept")),
        "{warnings:?}"
    );
}

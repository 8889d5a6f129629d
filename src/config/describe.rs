//! `rinit check`: the plan as rinit understood it, so users see how their file was read.

use std::fmt::Write;
use std::time::Duration;

use super::{
    Autorestart, Color, Kind, LogFormat, OnExit, Plan, ProgramOutput, ProgramSpec, ReadyKind,
};
use crate::output::format::json_string;
use crate::plain::signal;

fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A readable, stable rendering of the whole plan: start order, then every program
/// with every effective setting (defaults included).
pub fn describe(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: OK", plan.source.display());
    let _ = writeln!(
        out,
        "grace: {} (whole shutdown, then SIGKILL)",
        duration(plan.grace)
    );
    if !plan.stop_delay.is_zero() {
        let delay = duration(plan.stop_delay);
        let _ = writeln!(
            out,
            "stop_delay: {delay} (not ready, then stop; within grace)"
        );
    }
    let output = &plan.output;
    let format = match output.format {
        LogFormat::Json => "json lines".to_string(),
        LogFormat::Text => format!(
            "text, prefix {:?}{}, colour {}",
            output.prefix,
            if output.timestamps {
                ", timestamps"
            } else {
                ""
            },
            match output.color {
                Color::Auto => "auto (on a terminal, unless NO_COLOR)",
                Color::Always => "always",
                Color::Never => "never",
            }
        ),
    };
    let _ = writeln!(out, "output: {format}");
    let _ = writeln!(out, "start order:");
    let mut step = 0;
    let mut last_priority = None;
    for spec in &plan.programs {
        if last_priority != Some(spec.priority) {
            step += 1;
            last_priority = Some(spec.priority);
            let names: Vec<String> = plan
                .programs
                .iter()
                .filter(|p| p.priority == spec.priority)
                .map(|p| match (p.kind, p.autostart) {
                    (_, false) => format!("{} (not started: autostart = false)", p.name),
                    (Kind::Oneshot, _) => format!("{} (oneshot)", p.name),
                    _ => p.name.clone(),
                })
                .collect();
            let _ = writeln!(
                out,
                "  {step}. priority {}: {}",
                spec.priority,
                names.join(", ")
            );
        }
    }
    for spec in &plan.programs {
        out.push_str(&describe_program(spec));
    }
    out
}

fn describe_program(spec: &ProgramSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "[program.{}]", spec.name);
    let mut line = |key: &str, value: String| {
        let _ = writeln!(out, "  {key:<13} {value}");
    };
    line("command", format!("{:?}", spec.command));
    line(
        "type",
        match spec.kind {
            Kind::Service => "service".into(),
            Kind::Oneshot => "oneshot".into(),
        },
    );
    line("priority", spec.priority.to_string());
    line("autostart", spec.autostart.to_string());
    if spec.kind == Kind::Service {
        let restart = match spec.autorestart {
            Autorestart::Always => "true (always)",
            Autorestart::Never => "false (never)",
            Autorestart::Unexpected => "unexpected (exit code not in exitcodes)",
        };
        line("autorestart", restart.into());
        line("startsecs", duration(spec.startsecs));
        line("startretries", spec.startretries.to_string());
        line(
            "backoff",
            format!(
                "{} doubling to {}, reset after {} up",
                duration(spec.backoff.initial),
                duration(spec.backoff.max),
                duration(spec.backoff.reset_after)
            ),
        );
    }
    line("exitcodes", format!("{:?}", spec.exitcodes));
    let output = match (spec.output, spec.redirect_stderr) {
        (ProgramOutput::Inherit, _) => "inherit (rinit's stdout and stderr, no prefix)".to_string(),
        (ProgramOutput::Prefixed, false) => {
            "prefixed lines (stdout to stdout, stderr to stderr)".into()
        }
        (ProgramOutput::Prefixed, true) => "prefixed lines (stderr into stdout)".into(),
    };
    line("output", output);
    if let Some(prefix) = &spec.prefix {
        line("log_prefix", format!("{prefix:?}"));
    }
    line(
        "on_exit",
        match spec.on_exit {
            OnExit::Shutdown => "shutdown (stop everything, exit with its code)".into(),
            OnExit::Ignore => "ignore (leave it stopped)".into(),
        },
    );
    let ready = &spec.ready;
    line(
        "ready",
        match ready.kind {
            ReadyKind::Started | ReadyKind::Running => ready.describe(),
            ReadyKind::Probe(_) => format!(
                "{} (every {}, timeout {}, within {})",
                ready.describe(),
                duration(ready.interval),
                duration(ready.timeout),
                duration(ready.within)
            ),
            ReadyKind::Notify | ReadyKind::Fd(_) | ReadyKind::Log(_) => {
                format!("{} (within {})", ready.describe(), duration(ready.within))
            }
        },
    );
    if let Some(health) = &spec.health {
        line(
            "health",
            format!(
                "{} (every {}, timeout {}, restart after {} failures in a row)",
                health.probe.describe(),
                duration(health.interval),
                duration(health.timeout),
                health.failures
            ),
        );
    }
    let target = |group: bool| if group { "process group" } else { "process" };
    line(
        "stopsignal",
        format!(
            "{} to the {}",
            signal::name(spec.stopsignal),
            target(spec.stopasgroup)
        ),
    );
    line(
        "stopwaitsecs",
        format!(
            "{}, then SIGKILL to the {}",
            duration(spec.stopwaitsecs),
            target(spec.killasgroup)
        ),
    );
    if let Some(directory) = &spec.directory {
        line("directory", directory.display().to_string());
    }
    if let Some(user) = &spec.user {
        line(
            "user",
            format!(
                "{} (uid {}, gid {}, groups {:?})",
                user.name, user.uid, user.gid, user.groups
            ),
        );
    }
    if let Some(umask) = spec.umask {
        line("umask", format!("{umask:03o}"));
    }
    for (key, value) in &spec.environment {
        line("environment", format!("{key}={value}"));
    }
    out
}

/// `rinit check --json`: the plan as one JSON object, one entry per process in start
/// order, with supervisord's key names and units, so tools can compare it with
/// supervisord's own reading. `environment` holds only what the file adds.
pub fn describe_json(plan: &Plan, warnings: &[String]) -> String {
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"programs\":[");
    for (index, spec) in plan.programs.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        program_json(spec, &mut out);
    }
    out.extend_from_slice(b"],\"warnings\":[");
    for (index, warning) in warnings.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        json_string(warning.as_bytes(), &mut out);
    }
    out.extend_from_slice(b"]}\n");
    String::from_utf8_lossy(&out).into_owned()
}

fn program_json(spec: &ProgramSpec, out: &mut Vec<u8>) {
    let text = |out: &mut Vec<u8>, key: &str, value: &str| {
        let _ = write!(PushStr(out), ",\"{key}\":");
        json_string(value.as_bytes(), out);
    };
    let optional = |out: &mut Vec<u8>, key: &str, value: Option<&str>| match value {
        Some(value) => text(out, key, value),
        None => {
            let _ = write!(PushStr(out), ",\"{key}\":null");
        }
    };
    out.extend_from_slice(b"{\"name\":");
    json_string(spec.name.as_bytes(), out);
    optional(
        out,
        "group",
        Some(spec.group.as_deref().unwrap_or(&spec.name)),
    );
    out.extend_from_slice(b",\"command\":[");
    for (index, arg) in spec.command.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        json_string(arg.as_bytes(), out);
    }
    out.push(b']');
    let autorestart = match spec.autorestart {
        Autorestart::Always => "true",
        Autorestart::Never => "false",
        Autorestart::Unexpected => "unexpected",
    };
    let signal = signal::name(spec.stopsignal);
    let seconds = super::duration::format_seconds;
    let _ = write!(
        PushStr(out),
        ",\"priority\":{},\"autostart\":{},\"autorestart\":\"{autorestart}\",\"exitcodes\":{:?},\
         \"startsecs\":{},\"startretries\":{},\"stopsignal\":\"{}\",\"stopwaitsecs\":{},\
         \"stopasgroup\":{},\"killasgroup\":{}",
        spec.priority,
        spec.autostart,
        spec.exitcodes,
        seconds(spec.startsecs),
        spec.startretries,
        signal.strip_prefix("SIG").unwrap_or(&signal),
        seconds(spec.stopwaitsecs),
        spec.stopasgroup,
        spec.killasgroup,
    );
    optional(out, "user", spec.user.as_ref().map(|u| u.name.as_str()));
    let directory = spec.directory.as_ref().map(|d| d.display().to_string());
    optional(out, "directory", directory.as_deref());
    match spec.umask {
        Some(umask) => {
            let _ = write!(PushStr(out), ",\"umask\":{umask}");
        }
        None => out.extend_from_slice(b",\"umask\":null"),
    }
    out.extend_from_slice(b",\"ready\":");
    json_string(spec.ready.describe().as_bytes(), out);
    let health = spec.health.as_ref().map(|h| h.probe.describe());
    optional(out, "health", health.as_deref());
    out.extend_from_slice(b",\"environment\":{");
    for (index, (key, value)) in spec.environment.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        json_string(key.as_bytes(), out);
        out.push(b':');
        json_string(value.as_bytes(), out);
    }
    out.push(b'}');
    let _ = write!(
        PushStr(out),
        ",\"redirect_stderr\":{}",
        spec.redirect_stderr
    );
    optional(out, "stdout_logfile", spec.stdout_logfile.as_deref());
    optional(out, "stderr_logfile", spec.stderr_logfile.as_deref());
    out.push(b'}');
}

/// `write!` into a byte vector.
struct PushStr<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for PushStr<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn shows_start_order_and_effective_settings() {
        let mut migrate = ProgramSpec::with_defaults("migrate", vec!["migrate".into()]);
        migrate.kind = Kind::Oneshot;
        migrate.priority = 1;
        let mut web = ProgramSpec::with_defaults("web", vec!["nginx".into(), "-g".into()]);
        web.environment = vec![("A".into(), "1".into())];
        let plan = Plan {
            source: PathBuf::from("/etc/rinit.toml"),
            grace: Duration::from_secs(8),
            stop_delay: Duration::ZERO,
            programs: vec![migrate, web],
            output: Default::default(),
            control: Default::default(),
        };
        let text = describe(&plan);
        assert!(text.starts_with("/etc/rinit.toml: OK\ngrace: 8s"), "{text}");
        assert!(text.contains("  1. priority 1: migrate (oneshot)\n  2. priority 999: web\n"));
        assert!(text.contains("[program.web]\n  command       [\"nginx\", \"-g\"]\n"));
        assert!(text.contains("  stopsignal    SIGTERM to the process group\n"));
        assert!(text.contains("  environment   A=1\n"));
        assert!(text.contains("  ready         started\n"), "{text}");
        assert!(!text.contains("[program.migrate]\n  command       [\"migrate\"]\n  type          oneshot\n  priority      1\n  autostart     true\n  autorestart"));
    }

    #[test]
    fn json_has_supervisords_keys_and_units() {
        let mut web = ProgramSpec::with_defaults("web", vec!["nginx".into(), "-g".into()]);
        web.environment = vec![("A".into(), "1\"".into())];
        web.umask = Some(0o22);
        let plan = Plan {
            source: PathBuf::from("/etc/rinit.toml"),
            grace: Duration::from_secs(8),
            stop_delay: Duration::ZERO,
            programs: vec![web],
            output: Default::default(),
            control: Default::default(),
        };
        assert_eq!(
            describe_json(&plan, &["w1".into()]),
            "{\"programs\":[{\"name\":\"web\",\"group\":\"web\",\"command\":[\"nginx\",\"-g\"],\
             \"priority\":999,\"autostart\":true,\"autorestart\":\"unexpected\",\"exitcodes\":[0],\
             \"startsecs\":1,\"startretries\":3,\"stopsignal\":\"TERM\",\"stopwaitsecs\":10,\
             \"stopasgroup\":true,\"killasgroup\":true,\"user\":null,\"directory\":null,\
             \"umask\":18,\"ready\":\"started\",\"health\":null,\"environment\":{\"A\":\"1\\\"\"},\"redirect_stderr\":false,\
             \"stdout_logfile\":null,\"stderr_logfile\":null}],\"warnings\":[\"w1\"]}\n"
        );
    }

    #[test]
    fn checks_and_the_drain_delay_are_shown() {
        use crate::config::{HealthSpec, Probe, ReadySpec};
        let mut db = ProgramSpec::with_defaults("db", vec!["postgres".into()]);
        db.ready = ReadySpec {
            kind: ReadyKind::Probe(Probe::Tcp(([127, 0, 0, 1], 5432).into())),
            ..ReadySpec::default()
        };
        db.health = Some(HealthSpec {
            probe: Probe::Exec(vec!["pg_isready".into(), "-q".into()]),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            failures: 3,
        });
        let plan = Plan {
            source: PathBuf::from("/etc/rinit.toml"),
            grace: Duration::from_secs(8),
            stop_delay: Duration::from_secs(5),
            programs: vec![db],
            output: Default::default(),
            control: Default::default(),
        };
        let text = describe(&plan);
        assert!(
            text.contains("stop_delay: 5s (not ready, then stop; within grace)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  ready         tcp 127.0.0.1:5432 (every 200ms, timeout 1s, within 1m)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  health        exec pg_isready -q (every 10s, timeout 1s, restart after 3 failures in a row)\n"
            ),
            "{text}"
        );
        let json = describe_json(&plan, &[]);
        assert!(
            json.contains("\"ready\":\"tcp 127.0.0.1:5432\",\"health\":\"exec pg_isready -q\""),
            "{json}"
        );
    }
}

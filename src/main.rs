//! rinit: an init for containers. See README.md for the behaviour this implements.

#[macro_use]
mod log;
mod cli;
mod client;
mod config;
mod control;
mod driver;
#[cfg(test)]
mod fuzz;
mod output;
mod plain;
mod reactor;
mod supervisor;
mod sys;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything can start a thread (a warning starts the stderr writer).
    sys::signals::block_routed();
    let stderr = log::Stderr::default();
    let code = run(&stderr);
    // rinit's own last lines, bounded: a stalled stderr must not keep it alive.
    stderr.flush(std::time::Instant::now() + std::time::Duration::from_secs(2));
    ExitCode::from(exit_byte(code))
}

/// Exit statuses are one byte; codes come from `ExitStatus::code` (0..=255 or 128+N).
fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

fn run(log: &log::Stderr) -> i32 {
    // fds 0-2 are open: Rust's runtime opens /dev/null on any that a container runtime
    // left closed, before main (tests/single_command.rs checks it), so no pipe or
    // signalfd of rinit's can land on them and be inherited as a child's stdio.
    // The same binary, linked as supervisorctl, is a client with supervisorctl's ways.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let called = std::path::Path::new(&argv0).file_name();
    let invocation = if called.is_some_and(|name| name == "supervisorctl") {
        let args = std::env::args_os().skip(1);
        let args = args.map(|a| a.to_string_lossy().into_owned()).collect();
        match client::args::parse_supervisorctl(args) {
            Ok(args) => cli::Invocation::Client(args),
            Err(message) => {
                print_stdout(&format!("{message}\n"));
                return 1;
            }
        }
    } else {
        match cli::parse(std::env::args_os().skip(1), env()) {
            Ok(invocation) => invocation,
            Err(cli::UsageError(message)) => {
                warn!(log, "{message}");
                warn!(log, "{}  (see rinit --help)", cli::USAGE);
                return 2;
            }
        }
    };
    match invocation {
        cli::Invocation::Client(args) => {
            sys::signals::unblock_this_thread();
            client::run(args, std::env::var("RINIT_CONTROL_SOCKET").ok())
        }
        cli::Invocation::Help => print_stdout(cli::HELP),
        cli::Invocation::Version => print_stdout(&format!("rinit {}\n", env!("CARGO_PKG_VERSION"))),
        cli::Invocation::Check { config, json } => {
            sys::signals::unblock_this_thread();
            check(log, config, json)
        }
        cli::Invocation::Run(run) => {
            log::set_verbose(run.verbose);
            let Some(mut reactor) = start_as_init(log) else {
                return 1;
            };
            let options = driver::single::Options {
                argv: run.argv,
                grace: run.grace,
                stop_delay: run.stop_delay,
                single_child: run.single_child,
            };
            driver::single::run(options, &mut reactor, log)
        }
        cli::Invocation::Supervise(args) => {
            log::set_verbose(args.verbose);
            let Some((mut plan, warnings)) = load_plan(log, args.config) else {
                return 2;
            };
            // Nothing is ignored silently: every key or section read but not acted on.
            for warning in warnings {
                warn!(log, "{warning}");
            }
            if let Some(grace) = args.grace {
                plan.grace = grace;
            }
            if let Some(delay) = args.stop_delay {
                plan.stop_delay = delay;
            }
            // The environment overrides the file, as for grace.
            if let Ok(socket) = std::env::var("RINIT_CONTROL_SOCKET") {
                plan.control.socket = Some(socket);
            }
            match std::env::var("RINIT_HTTP").as_deref() {
                Ok("") => plan.control.http = None,
                Ok(text) => match config::parse_socket_addr(text) {
                    Ok(addr) => plan.control.http = Some(addr),
                    Err(message) => {
                        warn!(log, "RINIT_HTTP: {message}");
                        return 2;
                    }
                },
                Err(_) => {}
            }
            let Some(mut reactor) = start_as_init(log) else {
                return 1;
            };
            driver::supervise::run(plan, &mut reactor, log)
        }
    }
}

fn env() -> cli::Env {
    cli::Env {
        grace: std::env::var_os("RINIT_GRACE"),
        stop_delay: std::env::var_os("RINIT_STOP_DELAY"),
    }
}

/// Finds and reads the configuration; on error, says why (two lines when there is no
/// configuration at all) and returns None: nothing may start from a bad file.
fn load_plan(
    log: &log::Stderr,
    explicit: Option<std::path::PathBuf>,
) -> Option<(config::Plan, Vec<String>)> {
    let env = std::env::var_os("RINIT_CONFIG");
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_default();
    let supervisord = config::supervisord::search_paths(&exe_dir, &cwd);
    let path = match config::locate(explicit, env, |p| p.exists(), &supervisord) {
        Ok(path) => path,
        Err(message) => {
            warn!(log, "{message}");
            warn!(log, "{}  (see rinit --help)", cli::USAGE);
            return None;
        }
    };
    match config::load(&path) {
        Ok(loaded) => Some(loaded),
        Err(err) => {
            warn!(log, "{err}");
            None
        }
    }
}

/// `rinit check`: validate, print the plan (and the warnings), exit 0; or print the
/// error, exit 2. With `--json`, one JSON object on stdout, warnings included.
fn check(log: &log::Stderr, explicit: Option<std::path::PathBuf>, json: bool) -> i32 {
    let Some((plan, warnings)) = load_plan(log, explicit) else {
        return 2;
    };
    if json {
        return print_stdout(&config::describe::describe_json(&plan, &warnings));
    }
    for warning in &warnings {
        warn!(log, "{warning}");
    }
    print_stdout(&config::describe::describe(&plan))
}

/// The PID-1 duties common to both modes: subreaper when not PID 1, signal intake.
fn start_as_init(log: &log::Stderr) -> Option<reactor::Reactor> {
    if !sys::tree::is_namespace_init()
        && let Err(err) = sys::tree::become_subreaper()
    {
        warn!(
            log,
            "cannot become a child subreaper ({err}); orphans will go to the real init"
        );
    }
    match sys::signals::install() {
        Ok(signal_fd) => Some(reactor::Reactor::new(signal_fd)),
        Err(err) => {
            warn!(log, "{err:#}");
            None
        }
    }
}

fn print_stdout(text: &str) -> i32 {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

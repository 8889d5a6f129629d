//! rinit: an init for containers. See README.md for the behaviour this implements.

#[macro_use]
mod log;
mod cli;
mod reactor;
mod single;
mod sys;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(exit_byte(run()))
}

/// Exit statuses are one byte; codes come from `ExitStatus::code` (0..=255 or 128+N).
fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

fn run() -> i32 {
    // fds 0-2 are open: Rust's runtime opens /dev/null on any that a container runtime
    // left closed, before main (tests/single_command.rs checks it), so no pipe or
    // signalfd of rinit's can land on them and be inherited as a child's stdio.
    let invocation = match cli::parse(std::env::args_os().skip(1), std::env::var_os("RINIT_GRACE"))
    {
        Ok(invocation) => invocation,
        Err(cli::UsageError(message)) => {
            warn!("{message}");
            log::write_line(format_args!("{}  (see rinit --help)", cli::USAGE));
            return 2;
        }
    };
    let run = match invocation {
        cli::Invocation::Help => return print_stdout(cli::HELP),
        cli::Invocation::Version => {
            return print_stdout(&format!("rinit {}\n", env!("CARGO_PKG_VERSION")));
        }
        cli::Invocation::Nothing => {
            warn!("nothing to run: no command given after '--'");
            log::write_line(format_args!("{}  (see rinit --help)", cli::USAGE));
            return 2;
        }
        cli::Invocation::Run(run) => run,
    };
    log::set_verbose(run.verbose);

    if !sys::tree::is_namespace_init()
        && let Err(err) = sys::tree::become_subreaper()
    {
        warn!("cannot become a child subreaper ({err}); orphans will go to the real init");
    }
    let signal_fd = match sys::signals::install() {
        Ok(fd) => fd,
        Err(err) => {
            warn!("{err:#}");
            return 1;
        }
    };
    let mut reactor = reactor::Reactor::new(signal_fd);
    single::run(
        single::Options {
            argv: run.argv,
            grace: run.grace,
            single_child: run.single_child,
        },
        &mut reactor,
    )
}

fn print_stdout(text: &str) -> i32 {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

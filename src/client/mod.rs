//! The client side of the control socket: `rinit status|start|stop|restart|signal|wait|pid`
//! and `supervisorctl`. Each exchange connects with a timeout, sends one request and
//! reads one response; `start`, `stop`, `restart` and `wait` then poll until the
//! programs get where they were sent (rinit's own deadlines guarantee they do).

pub mod args;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::control::request::{self, Condition, Format, Request};
use crate::driver::control::{DEFAULT_SOCKET, FALLBACK_SOCKET};
use args::{Action, ClientArgs, View};

/// The longest one exchange may take: connect (a full backlog), send, read.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest response read (a status of thousands of programs fits).
const MAX_RESPONSE: u64 = 16 << 20;
/// Polling starts fast and slows down to this.
const POLL_MAX: Duration = Duration::from_millis(100);

/// Runs a client command; returns the exit code. `env_socket`: `$RINIT_CONTROL_SOCKET`.
pub fn run(args: ClientArgs, env_socket: Option<String>) -> i32 {
    let address = match address(&args, env_socket) {
        Ok(address) => address,
        Err((code, message)) => {
            eprintln!("{message}");
            return code;
        }
    };
    let client = Client {
        address,
        supervisorctl: args.supervisorctl,
    };
    match args.action {
        Action::Status { names, view } => client.status(names, view),
        Action::Start(names) => client.start(&names),
        Action::Stop(names) => client.stop(&names),
        Action::Restart(names) => {
            let stopped = client.stop(&names);
            // As supervisorctl: a program that was not running is simply started.
            let started = client.start(&names);
            match (stopped, started) {
                (0 | 7, code) => code,
                (code, _) => code,
            }
        }
        Action::Signal { sig, names } => client.simple(&Request::Signal { sig, names }),
        Action::Pid(names) => client.simple(&Request::Pid(names)),
        Action::Wait {
            ready,
            names,
            timeout,
        } => client.wait(ready, names, timeout),
    }
}

/// The socket to reach: `$RINIT_CONTROL_SOCKET`, else the file's (`-c`), else the default.
fn address(args: &ClientArgs, env_socket: Option<String>) -> Result<String, (i32, String)> {
    let from_file = match &args.config {
        Some(path) => match crate::config::load(path) {
            Ok((plan, _)) => plan.control.socket,
            Err(err) => return Err((2, err.to_string())),
        },
        None => None,
    };
    let address = env_socket
        .or(from_file)
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    if address.is_empty() {
        return Err((
            4,
            "rinit: the control socket is turned off (control_socket = \"\")".into(),
        ));
    }
    Ok(address)
}

struct Client {
    address: String,
    supervisorctl: bool,
}

impl Client {
    /// One exchange: (exit code, body). Err: rinit could not be reached (said already).
    fn exchange(&self, request: &Request) -> Result<(i32, Vec<u8>), String> {
        let line = request::encode(request);
        let mut last_error = None;
        let mut candidates = vec![self.address.as_str()];
        // The server falls back to the abstract socket when it cannot create its file.
        if !self.address.starts_with('@') {
            candidates.push(FALLBACK_SOCKET);
        }
        for address in candidates {
            let mut stream = match crate::sys::socket::connect_unix(address, EXCHANGE_TIMEOUT) {
                Ok(stream) => stream,
                Err(err) => {
                    last_error.get_or_insert(format!("{address}: {err}"));
                    continue;
                }
            };
            let mut response = Vec::new();
            let exchanged = stream.write_all(line.as_bytes()).and_then(|()| {
                let deadline = Instant::now() + EXCHANGE_TIMEOUT;
                let mut limited = (&mut stream).take(MAX_RESPONSE);
                read_until_end(&mut limited, &mut response, deadline)
            });
            if let Err(err) = exchanged {
                return Err(format!("{address}: {err}"));
            }
            return request::parse_response(&response)
                .map(|(code, body)| (code, body.to_vec()))
                .ok_or_else(|| format!("{address}: not an answer from rinit"));
        }
        Err(last_error.unwrap_or_default())
    }

    /// An exchange whose answer is printed as it is; the code is rinit's.
    fn simple(&self, request: &Request) -> i32 {
        match self.exchange(request) {
            Ok((code, body)) => {
                print(&body);
                code
            }
            Err(err) => unreachable_rinit(&err, 1),
        }
    }

    fn status(&self, names: Vec<String>, view: View) -> i32 {
        let request = match view {
            View::Text if self.supervisorctl => Request::Status {
                format: Format::Supervisorctl,
                names,
            },
            View::Text => Request::Status {
                format: Format::Text,
                names,
            },
            View::Json => Request::Status {
                format: Format::Json,
                names,
            },
            View::Ready => Request::Ready,
            View::Live => Request::Live,
        };
        match self.exchange(&request) {
            Ok((code, body)) => {
                print(&body);
                code
            }
            Err(err) => unreachable_rinit(&err, 4),
        }
    }

    /// Asks for a start or stop, then polls each program that accepted it until it is
    /// there; prints supervisorctl's lines (`NAME: started`, `NAME: ERROR (...)`).
    fn act_and_wait(&self, request: Request, condition: Condition, done: &str) -> i32 {
        let (mut code, body) = match self.exchange(&request) {
            Ok(answer) => answer,
            Err(err) => return unreachable_rinit(&err, 1),
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        let under_way = match condition {
            Condition::Stopped => ": stopping",
            Condition::Running | Condition::Ready => ": starting",
        };
        for line in body.lines() {
            let Some(name) = line.strip_suffix(under_way) else {
                println!("{line}");
                // As supervisorctl: stopping what is not running is not an error.
                if self.supervisorctl && line.ends_with(": ERROR (not running)") {
                    code = 0;
                }
                continue;
            };
            let names = vec![name.to_string()];
            let is = Request::Is { condition, names };
            match self.poll(&is, None) {
                Ok((0, _)) => println!("{name}: {done}"),
                Ok((failed, body)) => {
                    print(&body);
                    code = code.max(failed);
                }
                Err(err) => return unreachable_rinit(&err, 1),
            }
        }
        code
    }

    fn start(&self, names: &[String]) -> i32 {
        let request = Request::Start(names.to_vec());
        self.act_and_wait(request, Condition::Running, "started")
    }

    fn stop(&self, names: &[String]) -> i32 {
        let request = Request::Stop(names.to_vec());
        self.act_and_wait(request, Condition::Stopped, "stopped")
    }

    /// Repeats `request` while rinit answers 1 (not yet), until `deadline` if any.
    /// Ok((code, body)) of the last answer.
    fn poll(&self, request: &Request, deadline: Option<Instant>) -> Result<(i32, Vec<u8>), String> {
        let mut pause = Duration::from_millis(5);
        loop {
            let answer = self.exchange(request);
            let out_of_time = deadline.is_some_and(|d| Instant::now() >= d);
            match answer {
                Ok((1, body)) if out_of_time => return Ok((1, body)),
                Ok((1, _)) => {}
                Err(err) if out_of_time || deadline.is_none() => return Err(err),
                // rinit may not be listening yet (`rinit wait` in a start script).
                Err(_) => {}
                Ok(answer) => return Ok(answer),
            }
            let pause_until = Instant::now() + pause;
            std::thread::sleep(match deadline {
                Some(d) => pause_until.min(d).saturating_duration_since(Instant::now()),
                None => pause,
            });
            pause = (pause * 2).min(POLL_MAX);
        }
    }

    fn wait(&self, ready: bool, names: Vec<String>, timeout: Duration) -> i32 {
        let condition = if ready {
            Condition::Ready
        } else {
            Condition::Running
        };
        let request = Request::Is { condition, names };
        match self.poll(&request, Some(Instant::now() + timeout)) {
            Ok((0, _)) => 0,
            Ok((code, body)) => {
                print(&body);
                if code == 1 {
                    eprintln!("rinit: wait: timed out after {}", seconds(timeout));
                }
                code
            }
            Err(err) => {
                eprintln!("rinit: wait: timed out: cannot reach rinit ({err})");
                1
            }
        }
    }
}

/// Reads everything until the server closes, giving up at `deadline`.
fn read_until_end(
    reader: &mut impl Read,
    out: &mut Vec<u8>,
    deadline: Instant,
) -> std::io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        if Instant::now() >= deadline {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

fn print(body: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(body);
    let _ = stdout.flush();
}

fn unreachable_rinit(err: &str, code: i32) -> i32 {
    eprintln!("rinit: cannot reach rinit at {err}");
    code
}

fn seconds(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

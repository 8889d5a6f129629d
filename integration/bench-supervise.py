#!/usr/bin/env python3
"""Benchmarks rinit's supervisor mode against supervisord 4.3.0, side by side in one run.

Both supervise the same 10 programs (`testprog sleep`: prints `ready`, then sleeps with
default signal handling, so SIGTERM kills it), autorestart off: with startsecs=0, once
with one priority for all and once with ten distinct priorities; with ten priorities and
the default startsecs (1 s); and with ten priorities where each program is a TCP listener
(`testprog listen`) that rinit checks with `ready = { tcp = ... }` (supervisord has no
readiness: it runs the same listeners without a check). Both run as plain
processes (not PID 1), started by this script. Prints a Markdown table. Figures, not
pass/fail: nothing here asserts. integration/bench-supervise installs supervisord and
builds the static binary first.

  start         exec of the supervisor → all 10 programs exec'd (seen in /proc)
  reported      exec of the supervisor → its own 10th RUNNING line
  stop          SIGTERM to the supervisor → the supervisor has exited
  RSS           VmRSS of the supervisor process while the 10 programs run
  idle wakeups  context switches per second of the supervisor over 5 s, all running
"""
import ctypes
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release")
RINIT = os.path.join(TARGET, "rinit")
TESTPROG = os.path.join(TARGET, "examples/testprog")
PROGRAMS = 10
RUNS = 5
IDLE_WINDOW_S = 5.0
POLL_S = 0.001
TIMEOUT_S = 30.0
PR_SET_CHILD_SUBREAPER = 36

VARIANTS = {
    # name: (priority of program i, startsecs=0?, tcp listeners with a ready check?)
    "same priority": (lambda i: 100, True, False),
    "priorities p0..p9": (lambda i: 10 * (i + 1), True, False),
    "p0..p9, default startsecs": (lambda i: 10 * (i + 1), False, False),
    "p0..p9, tcp ready checks": (lambda i: 10 * (i + 1), True, True),
}
PORT_BASE = 23100


def program_argv(i, tcp):
    if tcp:
        return [TESTPROG, "listen", f"127.0.0.1:{PORT_BASE + i}", "0"]
    return [TESTPROG, "sleep"]


def rinit_setup(tmp, variant):
    priority, fast, tcp = variant
    lines = ['[rinit]', 'grace = "8s"', '']
    for i in range(PROGRAMS):
        argv = ", ".join(f'"{a}"' for a in program_argv(i, tcp))
        lines += [f"[program.p{i}]", f"command = [{argv}]",
                  "startsecs = 0" if fast else "", "autorestart = false",
                  f"priority = {priority(i)}", ""]
        if tcp:
            lines.insert(-1, f'ready = {{ tcp = "127.0.0.1:{PORT_BASE + i}" }}')
    path = os.path.join(tmp, "rinit.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    # Event lines (`rinit | p3: running`, in the programs' line format) go to stderr.
    return [RINIT, "-c", path], re.compile(r"^rinit +\| p\d+: running$", re.M)


def supervisord_setup(tmp, variant):
    priority, fast, tcp = variant
    lines = ["[supervisord]", "nodaemon=true", f"logfile={tmp}/supervisord.log",
             f"pidfile={tmp}/supervisord.pid", f"childlogdir={tmp}", "loglevel=info", ""]
    for i in range(PROGRAMS):
        lines += [f"[program:p{i}]", "command=" + " ".join(program_argv(i, tcp)),
                  "startsecs=0" if fast else "",
                  "autorestart=false", f"priority={priority(i)}",
                  f"stdout_logfile={tmp}/p{i}.log", "redirect_stderr=true", ""]
    path = os.path.join(tmp, "supervisord.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    # With nodaemon=true supervisord also writes its log lines to stdout. `-m` makes the
    # measured process the python interpreter itself (no pyenv shim, no wrapper script).
    return ([sys.executable, "-m", "supervisor.supervisord", "-c", path],
            re.compile(r"success: p\d+ entered RUNNING state", re.M))


SUPERVISORS = {"rinit": rinit_setup, "supervisord 4.3.0": supervisord_setup}


def status_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def ctxt_switches(pid):
    return status_field(pid, "voluntary_ctxt_switches") + \
        status_field(pid, "nonvoluntary_ctxt_switches")


def stat_of(pid):
    """(comm, ppid) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    return comm, int(text.rsplit(")", 1)[1].split()[1])


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def exited(pidfd, timeout_s=0.0):
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


class Run:
    """One supervisor with its programs. Every child it has is pinned with a pidfd as
    soon as it is seen, so cleanup can kill exactly those processes (never by name)."""

    def __init__(self, setup, priority):
        self.tmp = tempfile.mkdtemp(prefix="bench-supervise-")
        self.argv, self.running_line = setup(self.tmp, priority)
        self.out_path = os.path.join(self.tmp, "out")
        self.pins = {}  # pid -> pidfd of the supervisor's children
        self.proc = None
        self.proc_fd = None

    def start(self):
        out = open(self.out_path, "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.proc_fd = os.pidfd_open(self.proc.pid)
        return t0

    def pin_children(self):
        """Pins new children; returns how many children have exec'd testprog."""
        count = 0
        for pid in children(self.proc.pid):
            if pid not in self.pins:
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    continue
                # Still the supervisor's child, so the pidfd is for the process we saw.
                if (stat_of(pid) or ("", 0))[1] != self.proc.pid:
                    os.close(fd)
                    continue
                self.pins[pid] = fd
            if (stat_of(pid) or ("",))[0] == "testprog":
                count += 1
        return count

    def reported_running(self):
        with open(self.out_path) as f:
            return len(self.running_line.findall(f.read()))

    def wait_until(self, what, predicate):
        deadline = time.perf_counter() + TIMEOUT_S
        while not predicate():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited while waiting for {what}: "
                                   + open(self.out_path).read()[-2000:])
            if time.perf_counter() > deadline:
                raise TimeoutError(what)
            time.sleep(POLL_S)
        return time.perf_counter()

    def stop(self):
        t0 = time.perf_counter()
        os.kill(self.proc.pid, signal.SIGTERM)
        if not exited(self.proc_fd, TIMEOUT_S):
            raise TimeoutError("supervisor did not exit after SIGTERM")
        elapsed = time.perf_counter() - t0
        self.proc.wait()
        return elapsed

    def leftovers(self):
        return sum(1 for fd in self.pins.values() if not exited(fd))

    def cleanup(self):
        for fd in self.pins.values():
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        # Programs orphaned by a killed supervisor came to us (subreaper): reap them.
        for fd in self.pins.values():
            exited(fd, 5.0)
            os.close(fd)
        reap_orphans()
        if self.proc_fd is not None:
            os.close(self.proc_fd)
        shutil.rmtree(self.tmp, ignore_errors=True)


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def measure(setup, priority, idle):
    """One run: (start s, reported s, stop s, leftovers, rss KiB, wakeups/s)."""
    run = Run(setup, priority)
    try:
        t0 = run.start()
        started = run.wait_until("10 programs exec'd",
                                 lambda: run.pin_children() == PROGRAMS) - t0
        reported = run.wait_until("10 RUNNING lines",
                                  lambda: run.reported_running() == PROGRAMS) - t0
        rss = wakeups = None
        if idle:
            time.sleep(0.5)  # let the supervisor settle into its wait
            rss = status_field(run.proc.pid, "VmRSS")
            before = ctxt_switches(run.proc.pid)
            time.sleep(IDLE_WINDOW_S)
            wakeups = (ctxt_switches(run.proc.pid) - before) / IDLE_WINDOW_S
        else:
            time.sleep(0.05)
        stopped = run.stop()
        return started, reported, stopped, run.leftovers(), rss, wakeups
    finally:
        run.cleanup()


def main():
    for path in (RINIT, TESTPROG):
        if not os.path.exists(path):
            sys.exit(f"bench-supervise: {path} is missing (run integration/bench-supervise)")
    try:
        import supervisor.options
        version = supervisor.options.VERSION
    except ImportError:
        sys.exit("bench-supervise: supervisord is missing (pip install supervisor==4.3.0)")
    if version != "4.3.0":
        print(f"bench-supervise: note: supervisord is {version}, not 4.3.0", file=sys.stderr)
    # Anything a supervisor leaves behind when it dies comes back to us, not to PID 1.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    began = time.perf_counter()
    results = {}  # (variant, supervisor) -> list of runs
    for variant, priority in VARIANTS.items():
        for i in range(RUNS):
            for name, setup in SUPERVISORS.items():  # interleaved, so drift hits both
                results.setdefault((variant, name), []).append(
                    measure(setup, priority, idle=(i == 0)))

    print("| supervisor | programs | start → 10 exec'd | start → 10 reported RUNNING "
          "| SIGTERM → exit | RSS | idle wakeups/s |")
    print("|---|---|---|---|---|---|---|")
    leftovers = 0
    for (variant, name), runs in results.items():
        start = statistics.median(r[0] for r in runs) * 1000
        reported = statistics.median(r[1] for r in runs) * 1000
        stop = statistics.median(r[2] for r in runs) * 1000
        stops = ", ".join(f"{r[2] * 1000:.0f}" for r in runs)
        rss, wakeups = runs[0][4], runs[0][5]
        leftovers += sum(r[3] for r in runs)
        print(f"| {name} | 10, {variant} | {start:.1f} ms | {reported:.1f} ms "
              f"| {stop:.1f} ms ({stops}) | {rss} KiB | {wakeups:.1f} |")
    print()
    print(f"- Both run as plain processes started by this script (not PID 1); rinit is "
          f"the static musl build, supervisord runs as `{os.path.basename(sys.executable)} "
          f"-m supervisor.supervisord` (Python {sys.version.split()[0]}), so its figures are "
          "the interpreter's.")
    print("- start → 10 exec'd: from just before the supervisor is spawned until all 10 of "
          "its children have exec'd testprog, polled every 1 ms in "
          "/proc/PID/task/PID/children and /proc/CHILD/stat (the same method for both). "
          f"Median of {RUNS}.")
    print("- start → 10 reported RUNNING: the same start until the supervisor's own 10th "
          "RUNNING line (rinit: `rinit | pN: running` on stderr; supervisord: `success: pN "
          "entered RUNNING state` on stdout), polled every 1 ms. "
          f"Median of {RUNS}. SIGTERM is sent only after this.")
    print("- SIGTERM → exit: from SIGTERM to the supervisor until its pidfd reports its exit; "
          f"every program dies at once on SIGTERM. Median of {RUNS}, the runs in brackets "
          f"(ms). Processes still alive after the supervisor exited: {leftovers}.")
    print("- RSS: VmRSS of the supervisor process, 0.5 s after all 10 reported RUNNING "
          "(first run of each row).")
    print(f"- idle wakeups/s: voluntary + nonvoluntary context switches of the supervisor "
          f"over {IDLE_WINDOW_S:.0f} s while the 10 programs sleep (first run of each row).")
    print("- Priorities: rinit starts a priority once every program before it is ready "
          "(by default: spawned; with a tcp check: accepting connections); supervisord "
          "starts every program in one pass in priority order, without waiting. On shutdown both "
          "stop in reverse priority order; supervisord also stops equal priorities one "
          "program at a time (each [program:x] is its own group).")
    print("- supervisord's 1 s tick: its loop blocks in poll(timeout=1 s) before acting, "
          "so it spawns the programs only after its first poll times out, and a SIGTERM "
          "or SIGCHLD does not cut a poll short (Python retries it, PEP 475). On shutdown "
          "each program's stdout EOF wakes it, but when the program is not reapable yet "
          "it waits for the next tick, so its stop time moves in steps of 1 s.")
    print(f"\nTotal benchmark time: {time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmarks how fast rinit carries its programs' output, side by side in one run.

4 programs each write 250,000 lines of 100 bytes (`cat FILE`, the files generated once),
through rinit, through supervisord 4.3.0 (`stdout_logfile=/dev/stdout`), and, as the
floor, one `cat` of the 4 files. Each tool's stdout is one pipe read by this script in
large chunks (counting bytes and lines, keeping the bytes for the check afterwards), not
a file. Median of 3 runs each, interleaved. Prints a Markdown table. Figures, not
pass/fail: nothing here asserts. integration/bench-output installs supervisord and
builds the static binary first.

  lines     p1-000123-<81 filler bytes>-1000123 (100 bytes with the newline): program
            and index at both ends, so a line spliced from two lines never passes
  rinit     p0..p3 = `cat FILE` with startsecs=0, autorestart=false, on_exit="ignore",
            and a 5th program `gate` = `cat FIFO` (on_exit="shutdown", the default) that
            keeps rinit alive until this script opens and closes the FIFO. So rinit exits
            only after all 4 writers are done and all output is read, and its CPU can be
            read from /proc before it exits.
  time      spawn of the tool → the last expected line read from the pipe (the same end
            point for all three: cat's EOF, rinit's 1,000,000th line, supervisord's last
            byte). supervisord is then sent SIGTERM, rinit's gate is released.
  CPU       rinit: the sum over its threads (/proc/PID/task/*/schedstat, ns on CPU, user
            + system) read once all output is read, before the gate is released:
            rinit's own CPU, its programs not included (rusage from wait4 would add them).
            supervisord: the same for its single Python thread.
"""
import ctypes
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RINIT = os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release/rinit")
CAT = shutil.which("cat") or "/bin/cat"
PROGRAMS = 4
LINES = 250_000
TOTAL_LINES = PROGRAMS * LINES
FILLER = b"abcdefghijklmnopqrstuvwxyz" * 4
LINE_BYTES = 100
RUNS = 3
READ_CHUNK = 1 << 20
IDLE_S = 3.0       # no output for this long (and not all lines yet): lines were lost
TIMEOUT_S = 60.0
PR_SET_CHILD_SUBREAPER = 36


def make_line(n, i):
    head = b"p%d-%06d-" % (n, i)
    tail = b"-%d%06d\n" % (n, i)
    return head + FILLER[:LINE_BYTES - len(head) - len(tail)] + tail


def generate(tmp):
    paths = []
    for n in range(PROGRAMS):
        path = os.path.join(tmp, f"p{n}.txt")
        with open(path, "wb") as f:
            f.write(b"".join(make_line(n, i) for i in range(LINES)))
        paths.append(path)
    return paths


def cpu_ns(pid):
    """CPU time of every thread of `pid` so far, in ns (None if it is gone)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total
    except (OSError, ValueError):
        return None


def write_syscalls(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            return int(dict(l.split(":") for l in f.read().splitlines())["syscw"])
    except (OSError, KeyError, ValueError):
        return None


def read_output(fd, want_lines):
    """Reads until `want_lines` newlines, EOF, or IDLE_S without data.
    Returns (data, lines, end time)."""
    chunks = []
    lines = 0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.perf_counter() + TIMEOUT_S
    while lines < want_lines and time.perf_counter() < deadline:
        if not poller.poll(IDLE_S * 1000):
            break
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        lines += chunk.count(b"\n")
    return b"".join(chunks), lines, time.perf_counter()


def drain(fd):
    """Reads whatever else comes until EOF (nothing, when all went well)."""
    extra = []
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return b"".join(extra)
        extra.append(chunk)


def check(data, prefixed):
    """(lost, torn, duplicated) lines. `prefixed`: every line must be `pN    | LINE`
    with the LINE of program N."""
    seen = [bytearray(LINES) for _ in range(PROGRAMS)]
    torn = dup = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        if prefixed:
            name, sep, line = line.partition(b" | ")
            name = name.rstrip(b" ")
        try:
            n, i = int(line[1:2]), int(line[3:9])
        except ValueError:
            torn += 1
            continue
        if (n >= PROGRAMS or i >= LINES or line + b"\n" != make_line(n, i)
                or (prefixed and (not sep or name != b"p%d" % n))):
            torn += 1
        elif seen[n][i]:
            dup += 1
        else:
            seen[n][i] = 1
    lost = TOTAL_LINES - sum(sum(s) for s in seen)
    return lost, torn, dup


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def spawn(argv, tmp):
    read_fd, write_fd = os.pipe()
    err = open(os.path.join(tmp, "stderr"), "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=err,
                            start_new_session=True)
    os.close(write_fd)
    err.close()
    return proc, read_fd, t0


def run_cat(files, tmp):
    proc, fd, t0 = spawn([CAT] + files, tmp)
    try:
        data, lines, t_end = read_output(fd, TOTAL_LINES)
        data += drain(fd)
        proc.wait()
        return dict(data=data, seconds=t_end - t0, cpu_ns=None, prefixed=False)
    finally:
        os.close(fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_rinit(files, tmp):
    gate = os.path.join(tmp, "gate")
    os.mkfifo(gate)
    toml = ["[rinit]", 'grace = "8s"', ""]
    for n, path in enumerate(files):
        toml += [f"[program.p{n}]", f'command = ["{CAT}", "{path}"]', "startsecs = 0",
                 "autorestart = false", 'on_exit = "ignore"', ""]
    toml += ["[program.gate]", f'command = ["{CAT}", "{gate}"]', "startsecs = 0",
             "autorestart = false", ""]
    config = os.path.join(tmp, "rinit.toml")
    with open(config, "w") as f:
        f.write("\n".join(toml))
    proc, fd, t0 = spawn([RINIT, "-c", config], tmp)
    try:
        data, lines, t_end = read_output(fd, TOTAL_LINES)
        cpu = cpu_ns(proc.pid)
        writes = write_syscalls(proc.pid)
        released = time.perf_counter()
        os.close(os.open(gate, os.O_WRONLY))  # gate's cat sees EOF, exits 0: shutdown
        data += drain(fd)
        code = proc.wait(TIMEOUT_S)
        exit_s = time.perf_counter() - released
        if code != 0:
            print(f"bench-output: rinit exited with {code}: "
                  + open(os.path.join(tmp, "stderr")).read()[-2000:], file=sys.stderr)
        return dict(data=data, seconds=t_end - t0, cpu_ns=cpu, prefixed=True,
                    writes=writes, exit_s=exit_s)
    finally:
        os.close(fd)
        try:  # release a gate still waiting, so its cat does not linger
            os.close(os.open(gate, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_supervisord(files, tmp):
    conf = ["[supervisord]", "nodaemon=true", "silent=true", "loglevel=warn",
            f"logfile={tmp}/supervisord.log", f"pidfile={tmp}/supervisord.pid",
            f"childlogdir={tmp}", ""]
    for n, path in enumerate(files):
        conf += [f"[program:p{n}]", f"command={CAT} {path}", "startsecs=0",
                 "autorestart=false", "stdout_logfile=/dev/stdout",
                 "stdout_logfile_maxbytes=0", "stderr_logfile=/dev/stderr",
                 "stderr_logfile_maxbytes=0", ""]
    config = os.path.join(tmp, "supervisord.conf")
    with open(config, "w") as f:
        f.write("\n".join(conf))
    proc, fd, t0 = spawn([sys.executable, "-m", "supervisor.supervisord", "-c", config], tmp)
    try:
        # Without prefixes the output has exactly the files' bytes: stop at their count
        # of newlines (or when it stays idle, when lines were lost).
        data, lines, t_end = read_output(fd, TOTAL_LINES)
        cpu = cpu_ns(proc.pid)
        proc.send_signal(signal.SIGTERM)
        data += drain(fd)
        proc.wait(TIMEOUT_S)
        return dict(data=data, seconds=t_end - t0, cpu_ns=cpu, prefixed=False)
    finally:
        os.close(fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


TOOLS = {"cat (floor)": run_cat, "rinit": run_rinit, "supervisord 4.3.0": run_supervisord}


def measure(run, files):
    tmp = tempfile.mkdtemp(prefix="bench-output-run-")
    try:
        result = run(files, tmp)
    finally:
        reap_orphans()
        shutil.rmtree(tmp, ignore_errors=True)
    data = result.pop("data")
    result["out_bytes"] = len(data)
    result["lost"], result["torn"], result["dup"] = check(data, result["prefixed"])
    return result


def main():
    if not os.path.exists(RINIT):
        sys.exit(f"bench-output: {RINIT} is missing (run integration/bench-output)")
    try:
        import supervisor.options
        version = supervisor.options.VERSION
    except ImportError:
        sys.exit("bench-output: supervisord is missing (pip install supervisor==4.3.0)")
    if version != "4.3.0":
        print(f"bench-output: note: supervisord is {version}, not 4.3.0", file=sys.stderr)
    # Programs of a supervisor killed on a failure come back to us, not to PID 1.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    began = time.perf_counter()
    data_dir = tempfile.mkdtemp(prefix="bench-output-")
    try:
        files = generate(data_dir)
        payload = sum(os.path.getsize(f) for f in files)
        results = {}
        for _ in range(RUNS):
            for name, run in TOOLS.items():  # interleaved, so drift hits all three
                results.setdefault(name, []).append(measure(run, files))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    mb = payload / 1e6
    rates = {}
    print("| tool | MB/s | lines/s | lost | torn | CPU ms per MB |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rates[name] = mb / seconds
        each = ", ".join(f"{mb / r['seconds']:.0f}" for r in runs)
        lost = ", ".join(str(r["lost"]) for r in runs)
        torn = ", ".join(str(r["torn"] + r["dup"]) for r in runs)
        cpus = [r["cpu_ns"] for r in runs if r["cpu_ns"] is not None]
        cpu = f"{statistics.median(cpus) / 1e6 / mb:.2f}" if cpus else "—"
        print(f"| {name} | {mb / seconds:.0f} ({each}) | {TOTAL_LINES / seconds:,.0f} "
              f"| {lost} | {torn} | {cpu} |")
    print()
    ratio = rates["rinit"] / rates["cat (floor)"]
    print(f"goal: rinit at least half of cat's rate: {ratio:.2f} of cat's rate "
          f"({'met' if ratio >= 0.5 else 'NOT met'})")
    print()
    rinit = results["rinit"]
    out_bytes = statistics.median(r["out_bytes"] for r in rinit)
    writes = [r["writes"] for r in rinit if r.get("writes")]
    print(f"- {PROGRAMS} programs × {LINES:,} lines of {LINE_BYTES} bytes "
          f"({mb:.0f} MB, written by `cat FILE`), each tool's stdout one pipe (default size) "
          "read in chunks of up to 1 MiB by this script. MB = 10^6 bytes of the programs' "
          "own output (rinit also writes its prefixes: "
          f"{out_bytes / 1e6:.0f} MB in all). Median of {RUNS} runs; each run in "
          "brackets. lost: generated lines not found intact in the output; torn: output "
          "lines that are not a generated line (or repeat one); each run.")
    print("- Time: from spawning the tool until the last expected line is read. rinit: "
          "the 4 writers have on_exit=\"ignore\"; a 5th program (`cat FIFO`, "
          "on_exit=\"shutdown\") keeps it alive until everything is read, then this "
          "script closes the FIFO and rinit exits (in "
          f"{statistics.median(r['exit_s'] for r in rinit) * 1000:.0f} ms, not counted). "
          "supervisord: SIGTERM once everything is read.")
    print("- CPU: the sum of /proc/PID/task/*/schedstat (ns on CPU, user + system, all "
          "threads) of the supervisor process itself, read once all output is read, before "
          "it is released or stopped; its programs are not included. supervisord's is its "
          "one Python thread.")
    if writes:
        w = statistics.median(writes)
        print(f"- rinit made {w:,.0f} write syscalls per run ({out_bytes / w:,.0f} bytes "
              "each on average; /proc/PID/io syscw).")
    sup = results["supervisord 4.3.0"]
    print(f"- supervisord delivered {statistics.median(r['out_bytes'] for r in sup):,} "
          f"bytes of {payload:,}: its lost lines are mangled by the torn ones, not "
          "dropped.")
    print("- supervisord polls with a 1 s timeout and spawns its programs only after its "
          "first poll times out, so about 1 s of its time is start-up. It writes each "
          "chunk it reads from a program as it is, so lines of different programs can "
          "interleave mid-line (torn).")
    print(f"- {os.cpu_count()} CPUs. Total benchmark time: "
          f"{time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()

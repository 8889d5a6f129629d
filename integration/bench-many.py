#!/usr/bin/env python3
"""Measures rinit supervising 1,000 programs (`testprog sleep`, startsecs=0), from a
TOML file with 1,000 [program.X] tables and from a supervisord file with numprocs=1000,
as a plain process (a subreaper) and as PID 1 of a PID namespace (unshare). Prints a
Markdown table of medians. Figures, not pass/fail. integration/bench-many builds the
static binary first.

  exec'd     exec of rinit → all 1,000 programs have exec'd testprog (seen in /proc)
  running    exec of rinit → rinit's 1,000th `running` line
  stop       SIGTERM to rinit → rinit has exited (every program stopped by SIGTERM)
  RSS        VmRSS of rinit with the 1,000 programs running
"""
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
PROGRAMS = 1000
RUNS = int(os.environ.get("RUNS", "5"))
POLL_S = 0.001
TIMEOUT_S = 60.0
RUNNING = re.compile(rb"^rinit +\| [\w]+: running$", re.M)


def toml_config(tmp):
    lines = ['[rinit]', 'grace = "8s"', '']
    for i in range(PROGRAMS):
        lines += [f"[program.p{i:04}]", f'command = ["{TESTPROG}", "sleep"]',
                  "startsecs = 0", ""]
    path = os.path.join(tmp, "rinit.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def numprocs_config(tmp):
    path = os.path.join(tmp, "supervisord.conf")
    with open(path, "w") as f:
        f.write(f"""[supervisord]
nodaemon=true

[program:w]
command={TESTPROG} sleep
process_name=%(program_name)s_%(process_num)04d
numprocs={PROGRAMS}
startsecs=0
""")
    return path


FORMATS = {"TOML, 1,000 tables": toml_config, "supervisord, numprocs=1000": numprocs_config}
MODES = ["subreaper", "PID 1"]


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


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def exited(pidfd, timeout_s=0.0):
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


def wait_until(what, predicate, launcher):
    deadline = time.perf_counter() + TIMEOUT_S
    while not predicate():
        if launcher.poll() is not None:
            raise RuntimeError(f"rinit exited while waiting for {what}")
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        time.sleep(POLL_S)
    return time.perf_counter()


def one_run(config_of, mode):
    tmp = tempfile.mkdtemp(prefix="bench-many-")
    proc = None
    pins = []
    try:
        config = config_of(tmp)
        out_path = os.path.join(tmp, "stderr")
        argv = [RINIT, "-c", config]
        if mode == "PID 1":
            argv = ["unshare", "--pid", "--fork", "--mount-proc"] + argv
        with open(out_path, "wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=out, start_new_session=True)
        # As PID 1, rinit is unshare's one child; its exec is a little after t0 (unshare's
        # own start is included in the figures, as a container runtime's would be).
        if mode == "PID 1":
            wait_until("rinit under unshare", lambda: children(proc.pid), proc)
            rinit = children(proc.pid)[0]
        else:
            rinit = proc.pid
        rinit_fd = os.pidfd_open(rinit)
        pins.append(rinit_fd)

        def execd():
            kids = children(rinit)
            return len(kids) >= PROGRAMS and all(
                (stat_of(p) or ("",))[0] == "testprog" for p in kids)

        def running():
            with open(out_path, "rb") as f:
                return len(RUNNING.findall(f.read())) >= PROGRAMS

        t_execd = wait_until("every program exec'd", execd, proc)
        t_running = wait_until("every running line", running, proc)
        for pid in children(rinit):
            try:
                pins.append(os.pidfd_open(pid))
            except OSError:
                pass
        rss = vm_rss_kib(rinit)
        t_stop = time.perf_counter()
        os.kill(rinit, signal.SIGTERM)
        if not exited(rinit_fd, TIMEOUT_S):
            raise TimeoutError("rinit did not exit after SIGTERM")
        stop = time.perf_counter() - t_stop
        proc.wait()
        left = sum(1 for fd in pins[1:] if not exited(fd, 1.0))
        with open(out_path, "rb") as f:
            tail = f.read().rstrip().rsplit(b"\n", 1)[-1].decode(errors="replace")
        return {"execd": (t_execd - t0) * 1000, "running": (t_running - t0) * 1000,
                "stop": stop * 1000, "rss": rss, "code": proc.returncode, "left": left,
                "last": tail}
    finally:
        for fd in pins:
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
            os.close(fd)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.path.exists(RINIT) or not os.path.exists(TESTPROG):
        sys.exit("bench-many: build the static binary first (integration/bench-many does)")
    if os.geteuid() != 0 and MODES[-1] == "PID 1":
        MODES[-1:] = []  # unshare --pid needs root here; run the subreaper half only
        print("bench-many: not root: PID 1 runs skipped", file=sys.stderr)
    rows = []
    for name, config_of in FORMATS.items():
        for mode in MODES:
            runs = [one_run(config_of, mode) for _ in range(RUNS)]
            bad = [r for r in runs if r["code"] != 0 or r["left"] or
                   not re.fullmatch(r"rinit +\| exiting with code 0", r["last"])]
            if bad:
                print(f"bench-many: {name}, {mode}: unclean runs: {bad}", file=sys.stderr)
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("execd", "running", "stop", "rss")}
            rows.append((name, mode, med, min(r["running"] for r in runs),
                         max(r["running"] for r in runs)))
    print(f"| config | mode | exec → all {PROGRAMS} exec'd | exec → {PROGRAMS}th running "
          "(min–max) | SIGTERM → exit | RSS |")
    print("|---|---|---|---|---|---|")
    for name, mode, med, lo, hi in rows:
        print(f"| {name} | {mode} | {med['execd']:.0f} ms | {med['running']:.0f} ms "
              f"({lo:.0f}–{hi:.0f}) | {med['stop']:.0f} ms | {med['rss']:.0f} KiB |")
    print(f"\nmedians of {RUNS} runs; rinit {RINIT}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmarks rinit against tini and dumb-init (Debian packages), side by side in one run.

Prints a Markdown table for the README. Needs root (PID namespaces via unshare) and the
static build (integration/bench does both). Figures, not pass/fail: nothing here asserts.

  size          bytes of the binary on disk
  RSS           resident memory of the init while its child sleeps (VmRSS)
  `-- true`     median wall time of `INIT -- /bin/true` over 200 runs
  reap 10k      CPU time (schedstat) the init spends while 10,000 orphans are created
                and reaped, as PID 1 of a PID namespace
  idle wakeups  context switches per second of the init while its child sleeps
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release")
TESTPROG = os.path.join(TARGET, "examples/testprog")
IDLE_WINDOW_S = 5.0

INITS = {
    # name: (binary measured for size, argv prefix when not PID 1, argv prefix as PID 1)
    "rinit": (os.path.join(TARGET, "rinit"), [os.path.join(TARGET, "rinit"), "--"],
              [os.path.join(TARGET, "rinit"), "--"]),
    # tini warns and does not reap orphans unless it is PID 1 or a subreaper (-s).
    "tini (static)": ("/usr/bin/tini-static", ["/usr/bin/tini-static", "-s", "--"],
                      ["/usr/bin/tini-static", "--"]),
    "dumb-init": ("/usr/bin/dumb-init", ["/usr/bin/dumb-init", "--"], ["/usr/bin/dumb-init", "--"]),
}


def status_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append((int(entry), fields[0]))
    return found


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    raise TimeoutError("condition not reached")


def read_line(proc, want):
    for line in proc.stdout:
        if line.strip() == want:
            return
    raise RuntimeError(f"{want!r} never printed")


def rss_and_idle(prefix):
    proc = subprocess.Popen(prefix + [TESTPROG, "sleep"], stdout=subprocess.PIPE, text=True)
    try:
        read_line(proc, "ready")
        time.sleep(0.5)  # let the init settle into its wait
        rss = status_field(proc.pid, "VmRSS")
        before = status_field(proc.pid, "voluntary_ctxt_switches") + \
            status_field(proc.pid, "nonvoluntary_ctxt_switches")
        time.sleep(IDLE_WINDOW_S)
        after = status_field(proc.pid, "voluntary_ctxt_switches") + \
            status_field(proc.pid, "nonvoluntary_ctxt_switches")
        return rss, (after - before) / IDLE_WINDOW_S
    finally:
        proc.kill()
        proc.wait()
        subprocess.run(["pkill", "-KILL", "-f", f"{TESTPROG} sleep"], check=False)


def median_true(prefix, runs=200):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(prefix + ["/bin/true"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def reap_cpu(prefix_pid1, orphans=10000):
    unshare = ["unshare", "--pid", "--fork", "--mount-proc"]
    proc = subprocess.Popen(unshare + prefix_pid1 + [TESTPROG, "orphans", str(orphans)],
                            stdout=subprocess.PIPE, text=True)
    try:
        init = wait_for(lambda: (children(proc.pid) or [(None,)])[0][0])
        read_line(proc, "orphans done")
        # Done when the init's only child left is testprog (no zombies, no live orphans).
        wait_for(lambda: len(children(init)) == 1 and children(init)[0][1] != "Z")
        with open(f"/proc/{init}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    finally:
        proc.kill()
        subprocess.run(["pkill", "-KILL", "-f", f"{TESTPROG} orphans"], check=False)
        proc.wait()


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (PID namespaces)")
    rows = []
    for name, (binary, prefix, prefix_pid1) in INITS.items():
        if not os.path.exists(binary):
            sys.exit(f"bench: {binary} is missing (apt-get install tini dumb-init)")
        size = os.path.getsize(binary)
        rss, wakeups = rss_and_idle(prefix)
        true_ms = median_true(prefix) * 1000
        reap_s = statistics.median(reap_cpu(prefix_pid1) for _ in range(3))
        rows.append((name, size, rss, true_ms, reap_s * 1000, wakeups))
    baseline = median_true([]) * 1000
    print("| init | binary size | RSS, child sleeping | median `INIT -- true` | CPU to reap 10,000 orphans | idle wakeups/s |")
    print("|---|---|---|---|---|---|")
    for name, size, rss, true_ms, reap_ms, wakeups in rows:
        print(f"| {name} | {size / 1024:.0f} KiB | {rss} KiB | {true_ms:.2f} ms | {reap_ms:.0f} ms | {wakeups:.1f} |")
    print(f"\n`/bin/true` alone: {baseline:.2f} ms median. Linked: rinit static (musl), "
          "tini-static static (glibc), dumb-init dynamic (Debian build).")


if __name__ == "__main__":
    main()

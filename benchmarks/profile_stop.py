"""Where does a tracer stop go?  Profile `scribe run` on the getpid micro-benchmark.

    .venv/bin/python benchmarks/profile_stop.py [-n 200000] [--cpu N] [--py-spy]

Prints, per emulated getpid (one seccomp stop):
- wall, user and system time of the whole `scribe run` (getrusage of the
  tracer alone: the tracee is measured too, but its getpid loop costs
  nothing of its own), start-up subtracted with a second, 10x shorter run;
- the tracer's system calls per stop (`strace -c` on the tracer itself);
- with --py-spy, a sampled breakdown by what the tracer was doing: blocked in
  waitpid (the tracee running and the two context switches), each ptrace
  request, and Python dispatch (everything else).
--cpu N runs tracer and tracee bound to one CPU (taskset), to compare.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run as bench  # noqa: E402


def timed(argv: list[str]) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0
    return time.perf_counter() - t0, ru.ru_utime, ru.ru_stime


def _waitpid_line() -> int:
    """The line of virt/tracer.py where the event loop blocks in waitpid."""
    with open(os.path.join(bench.ROOT, "virt", "tracer.py")) as f:
        for i, line in enumerate(f, 1):
            if "= waitpid(-1" in line:
                return i
    return -1


def categorize(raw: str) -> collections.Counter[str]:
    """py-spy raw stacks -> samples by category (leaf-most known frame)."""
    cats: collections.Counter[str] = collections.Counter()
    wline = f"virt/tracer.py:{_waitpid_line()})"
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        if not any("Tracer.run" in f for f in frames):
            cats["start-up / other"] += int(n)
            continue
        leaf = frames[-1]
        cat = "python dispatch"
        for f in reversed(frames):
            m = re.match(r"(\w+) \(virt/ptrace_api.py", f)
            if m and m.group(1) != "_call":
                cat = f"ptrace {m.group(1)}"
                break
        if leaf.endswith(wline):
            cat = "waitpid (tracee runs, context switches)"
        cats[cat] += int(n)
    return cats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--cpu", type=int, default=None, help="bind tracer and tracee to this CPU")
    ap.add_argument("--py-spy", action="store_true", help="sample with py-spy (pip install py-spy)")
    a = ap.parse_args()
    guest = bench.build_guest()
    pre = ["taskset", "-c", str(a.cpu)] if a.cpu is not None else []
    sc = bench.scribe_cmd()
    cmd = [*pre, *sc, "run", "--", guest, "getpid"]
    small = max(1, a.n // 10)
    w1, u1, s1 = min((timed(cmd + [str(small)]) for _ in range(2)), key=lambda x: x[0])
    w2, u2, s2 = min((timed(cmd + [str(a.n)]) for _ in range(2)), key=lambda x: x[0])
    k = a.n - small
    print(f"scribe run getpid{' (bound to CPU %d)' % a.cpu if a.cpu is not None else ''}: "
          f"{(w2 - w1) / k * 1e6:.2f} µs wall, {(u2 - u1) / k * 1e6:.2f} µs user, "
          f"{(s2 - s1) / k * 1e6:.2f} µs system per call")
    strace = shutil.which("strace")
    if strace:
        sc_cmd = [*pre, strace, "-f", "-o", "/dev/null", guest, "getpid"]
        w1, _, _ = min((timed(sc_cmd + [str(small)]) for _ in range(2)), key=lambda x: x[0])
        w2, _, _ = min((timed(sc_cmd + [str(a.n)]) for _ in range(2)), key=lambda x: x[0])
        print(f"strace -f -o /dev/null getpid{' (bound to CPU %d)' % a.cpu if a.cpu is not None else ''}: "
              f"{(w2 - w1) / k * 1e6:.2f} µs wall per call")
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            subprocess.run([*pre, strace, "-c", "-o", out.name, *sc, "run", "--", guest, "getpid", str(small)],
                           stdout=subprocess.DEVNULL, check=False)
            text = out.read()
        print(f"tracer system calls per stop (strace -c of the tracer, {small} stops):")
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[-1] in ("ptrace", "wait4", "waitid", "process_vm_readv", "pread64",
                                                  "pwrite64"):
                calls = int(parts[3])
                print(f"  {parts[-1]:10s} {calls / small:5.2f}")
    if a.py_spy:
        spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
        if not os.path.exists(spy):
            print("py-spy is not installed")
            return 0
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            subprocess.run([*pre, spy, "record", "-r", "1000", "-f", "raw", "-o", out.name, "--", sys.executable,
                            "-m", "scribe", "run", "--", guest, "getpid", str(a.n)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            cats = categorize(out.read())
        traced = sum(v for c, v in cats.items() if c != "start-up / other")
        print(f"py-spy samples inside the event loop: {traced} (share of the loop's wall time)")
        for c, v in cats.most_common():
            if c != "start-up / other":
                print(f"  {c:45s} {v / traced * 100:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

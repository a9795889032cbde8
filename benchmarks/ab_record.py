"""Interleaved A/B timing of `scribe record` from two source trees.

    .venv/bin/python benchmarks/ab_record.py BASE_TREE NEW_TREE [-n 5] [--only NAME ...]

Each repetition runs every workload once with BASE and once with NEW (the
order alternates between repetitions), so both meet the same load on a
shared machine; the ratio new/base is taken within each repetition and
reported as median (min-max).

Measured per run: wall time, and the CPU time (user + system) of the scribe
process alone — getrusage(RUSAGE_SELF) read at its exit, because wait4()'s
rusage would fold in the tracees (scribe's children) and their work is the
same for both trees.  `--strace` adds a `strace -f -o /dev/null` run of each
workload to the rotation and prints record/strace wall ratios.

A tree is any directory holding scribe/, virt/ and traces/ (a `git archive`
of a commit will do); it is put first on sys.path of a wrapper process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

WRAPPER = r"""
import atexit, os, resource, sys
tree, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
me = os.getpid()
def report():
    if os.getpid() == me:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with open(out, "w") as f:
            f.write(f"{ru.ru_utime} {ru.ru_stime}")
atexit.register(report)
from scribe.cli import main
sys.exit(main(sys.argv[3:]))
"""


def micro_guest() -> str:
    sys.path.insert(0, HERE)
    import run as bench

    return bench.build_guest()


def workloads(root: str, quick: bool) -> dict[str, tuple[list[str], str, dict[str, str]]]:
    sys.path.insert(0, HERE)
    from workloads import make_workloads

    out: dict[str, tuple[list[str], str, dict[str, str]]] = {}
    for wl in make_workloads(root, quick=quick):
        if not wl.missing:
            out[wl.name] = (wl.argv, wl.cwd, wl.env)
    out["true"] = (["true"], root, {})
    out["exec100"] = (["sh", "-c", "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done"], root, {})
    out["pipeline60k"] = (["sh", "-c", "seq 1 60000 | sort -rn | md5sum"], root, {})
    guest = micro_guest()
    out["fork2000"] = ([guest, "fork", "2000"], root, {})
    out["read4k"] = ([guest, "read4k", "20000"], root, {})
    out["getpid"] = ([guest, "getpid", "50000"], root, {})
    return out


def record_once(tree: str, argv: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, scribe's own user+sys CPU s)."""
    with tempfile.TemporaryDirectory() as d:
        ru_file = os.path.join(d, "ru")
        trace = os.path.join(d, "t.scribe")
        full_env = dict(os.environ, **env)
        full_env.pop("PYTHONPATH", None)
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", WRAPPER, tree, ru_file, "record", "-q", "-o", trace, "--",
                            *argv], cwd=cwd, env=full_env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"record failed ({tree}, {argv}): {p.stderr.decode()[-500:]}")
        with open(ru_file) as f:
            u, s = map(float, f.read().split())
        return wall, u + s


def strace_once(argv: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    p = subprocess.Popen(["strace", "-f", "-o", "/dev/null", *argv], cwd=cwd, env=dict(os.environ, **env),
                         stdout=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--full", action="store_true", help="full-size macro workloads (default: --quick sizes)")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "scribe-ab"))
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    from run import compile_bytecode

    for tree in (a.base, a.new):
        compile_bytecode(tree)  # both as installed (see run.compile_bytecode)
    wls = workloads(a.root, quick=not a.full)
    names = a.only or list(wls)
    res: dict[str, dict[str, list[tuple[float, float]]]] = {n: {"base": [], "new": [], "strace": []} for n in names}
    for rep in range(a.n):
        order = [("base", a.base), ("new", a.new)]
        if rep % 2:
            order.reverse()
        for n in names:
            argv, cwd, env = wls[n]
            for label, tree in order:
                res[n][label].append(record_once(tree, argv, cwd, env))
            if a.strace and shutil.which("strace"):
                res[n]["strace"].append(strace_once(argv, cwd, env))
        print(f"repetition {rep + 1}/{a.n} done", file=sys.stderr)
    print(f"{'workload':12s} {'base cpu s':>20s} {'new cpu s':>20s} {'new/base cpu':>20s} {'new/base wall':>20s}"
          + ("  record(new)/strace wall" if a.strace else ""))
    for n in names:
        b, w = res[n]["base"], res[n]["new"]
        cpu_r = [nw[1] / bs[1] for bs, nw in zip(b, w)]
        wall_r = [nw[0] / bs[0] for bs, nw in zip(b, w)]
        line = (f"{n:12s} {fmt([x[1] for x in b]):>20s} {fmt([x[1] for x in w]):>20s} {fmt(cpu_r):>20s} "
                f"{fmt(wall_r):>20s}")
        if res[n]["strace"]:
            line += f"  {fmt([nw[0] / s[0] for nw, s in zip(w, res[n]['strace'])])}"
        print(line)
        print(f"{'':12s} wall base {fmt([x[0] for x in b])}  new {fmt([x[0] for x in w])}"
              + (f"  strace {fmt([x[0] for x in res[n]['strace']])}" if res[n]["strace"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of going back in a live replay: checkpoints against re-running.

Records (once per run, in a temporary directory) a single-process program
that makes N system calls, then opens live sessions over the trace with
checkpoints on and off, interleaved, and measures:

- forward: replay from the start to the last event (on: with the checkpoints
  it takes on the way, the cost of taking them),
- back one: reverse_step from there,
- back to the middle: run_to(N/2) from there,

and prints the ratios on/off per repetition, median (min-max).  This machine
is shared and noisy: compare ratios, not seconds.

Usage: .venv/bin/python benchmarks/bench_live.py [N] [REPS]   (default 100000, 5)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scribe.live import open_session  # noqa: E402

GUEST = r"""
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    unsigned long acc = 0;
    struct timespec ts;
    for (long i = 0; i < n; i++) {
        if (i & 1) { clock_gettime(CLOCK_REALTIME, &ts); acc += ts.tv_nsec & 0xff; }
        else acc += syscall(SYS_getppid);
    }
    return (int)(acc & 0x7f);
}
"""


def record(tmp: str, n: int) -> str:
    src, exe, trace = (os.path.join(tmp, x) for x in ("g.c", "g", "g.scribe"))
    Path(src).write_text(GUEST)
    subprocess.run(["gcc", "-O1", "-o", exe, src], check=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "scribe", "record", "-q", "-o", trace, "--", exe, str(n)],
                   env=env, check=False, stdout=subprocess.DEVNULL)
    return trace


def one(trace: str, checkpoints: bool) -> dict[str, float]:
    s = open_session(trace)
    s.checkpoints = checkpoints
    try:
        end = s._find_back(s.length)  # the last event a replay can stop in front of
        out = {}
        t0 = time.perf_counter()
        stop = s.run_to(end)
        out["forward"] = time.perf_counter() - t0
        assert stop.reason in ("event", "step"), stop
        t0 = time.perf_counter()
        stop = s.reverse_step()
        out["back one"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        stop = s.run_to(s.length // 2)
        out["back to the middle"] = time.perf_counter() - t0
        out["checkpoints"] = len(s.cps)
        return out
    finally:
        s.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        trace = record(tmp, n)
        rows: list[tuple[dict[str, float], dict[str, float]]] = []
        for _ in range(reps):
            on = one(trace, True)
            off = one(trace, False)
            rows.append((on, off))
    print(f"live replay of {n} syscalls, {reps} repetitions, checkpoints on vs off (interleaved)")
    print(f"checkpoints held at the end: {int(statistics.median(r[0]['checkpoints'] for r in rows))}")
    print("| move | on s (median) | off s (median) | on/off median (min-max) |")
    print("|---|---|---|---|")
    for key in ("forward", "back one", "back to the middle"):
        ratios = [a[key] / b[key] for a, b in rows]
        print(f"| {key} | {statistics.median(a[key] for a, _ in rows):.3f} | "
              f"{statistics.median(b[key] for _, b in rows):.3f} | "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |")


if __name__ == "__main__":
    main()

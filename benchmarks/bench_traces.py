"""Trace format speed and size (not a test: run it and read the figures).

    .venv/bin/python benchmarks/bench_traces.py [--events 1000000] [--dir DIR]

Targets (issue 2): write >= 200k syscall events/s, read >= 500k events/s
sequentially, open a 1M-event trace and read event 900,000 in < 50 ms,
<= 20 bytes per typical syscall event after compression (blob content
excluded).  The workload is traces.samples.syscall_events: clock_gettime with
a 16-byte timespec written back, short text reads, writes, openat with its
path captured, close, mmap, futex; 1-8 us apart; three threads.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from itertools import islice

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from traces import Syscall, TraceReader, TraceWriter  # noqa: E402
from traces.samples import HEADER, syscall_events  # noqa: E402


def bench_write(path: str, events: list[Syscall]) -> float:
    t0 = time.perf_counter()
    with TraceWriter(path, HEADER) as w:
        append = w.append
        for ev in events:
            append(ev)
    return time.perf_counter() - t0


def bench_seek_in_fresh_process(path: str, n: int) -> float:
    """Open + read event n in a new interpreter (imports included, interpreter start not)."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from traces import TraceReader\n"
        f"r = TraceReader({path!r}); ev = r[{n}]\n"
        "print(time.perf_counter() - t0)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None, help="where to write the traces (default: a temp dir)")
    args = ap.parse_args()
    total = args.events
    target = min(900_000, total - 1)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        # -- write speed: appends of pre-built events, open to close --------
        batch = list(syscall_events(200_000, seed=7))
        p_small = os.path.join(d, "write.scribe")
        dt = bench_write(p_small, batch)
        print(f"write:      {len(batch) / dt:>12,.0f} events/s   ({len(batch)} events in {dt:.3f} s, incl. close)")
        size = os.path.getsize(p_small)
        print(f"size:       {size / len(batch):>12.2f} bytes/event (typical mix with small writes; no blobs)")
        bare = [Syscall(e.tid, e.nr, e.args, e.result, (), (), 0, e.time_ns) for e in batch]
        p_bare = os.path.join(d, "bare.scribe")
        bench_write(p_bare, bare)
        print(f"size:       {os.path.getsize(p_bare) / len(bare):>12.2f} bytes/event (same calls, no memory data)")
        del bare

        # -- a big trace for reading ----------------------------------------
        p_big = os.path.join(d, "big.scribe")
        t0 = time.perf_counter()
        with TraceWriter(p_big, HEADER) as w:
            for ev in islice(syscall_events(total, seed=11), total):
                w.append(ev)
        dt = time.perf_counter() - t0
        print(f"write big:  {total / dt:>12,.0f} events/s   (incl. generating the events; {total} events,"
              f" {os.path.getsize(p_big) / 2**20:.1f} MiB, {os.path.getsize(p_big) / total:.2f} bytes/event)")

        with TraceReader(p_big) as r:
            t0 = time.perf_counter()
            n = 0
            for _ in r.events():
                n += 1
            dt = time.perf_counter() - t0
        assert n == total
        print(f"read:       {n / dt:>12,.0f} events/s   (sequential, {n} events in {dt:.3f} s)")

        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            with TraceReader(p_big) as r:
                ev = r[target]
            times.append(time.perf_counter() - t0)
        assert isinstance(ev, Syscall)
        print(f"seek:       {min(times) * 1e3:>12.2f} ms       (open + read event {target}, best of 5;"
              f" first {times[0] * 1e3:.2f} ms)")
        fresh = bench_seek_in_fresh_process(p_big, target)
        print(f"seek fresh: {fresh * 1e3:>12.2f} ms       (same in a new interpreter, imports included)")


if __name__ == "__main__":
    main()

"""Benchmark of the TUI event list on a big trace (not a test).

Builds (once, cached in $TMPDIR) a trace of N events with traces.TraceWriter,
then runs the real app headless (App.run_test) and measures:

- first screen: from opening the trace to the first page of decoded rows,
- jump to end (G) and to the middle (:N),
- paging: the mean time of a PgDn,
- `scribe tui` started in tmux: process start to first screen,
- a filter (status=failed) and a search that runs to the end, in workers,
- RSS after each step, for N and N/10 events: memory must not grow with N,
- the first screen of a footerless copy (cut at 90%, like a killed recorder).

"first screen" is when the event list renders the last line of its first
page (a hook on render_line); "app idle" is when Pilot finds nothing left
to do.

Usage: .venv/bin/python benchmarks/bench_tui.py [N]   (default 1,000,000)
Targets from the issue: first screen < 1 s, jump to end < 0.2 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.demo import build_big_trace  # noqa: E402

PAGES = 200


def tmux_first_screen(path: str) -> float | None:
    """Wall time from `scribe tui TRACE` in a 120x40 tmux to its first screen.

    This includes starting Python and importing Textual: what a person waits.
    """
    if shutil.which("tmux") is None:
        return None
    sock = f"scribe-bench-{os.getpid()}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    cmd = f"stty cols 120 rows 40; exec {sys.executable} -m scribe tui {path}"
    t0 = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", "-s", "b", cmd],
                   check=True, cwd=ROOT)
    try:
        while time.perf_counter() - t0 < 30:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "b"],
                                    capture_output=True, text=True).stdout
            if "event 0 of" in screen:
                return time.perf_counter() - t0
            time.sleep(0.01)
        return None
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def rss_mib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def trace_for(n: int) -> str:
    path = Path(tempfile.gettempdir()) / f"scribe-bench-tui-{n}.scribe"
    if not path.exists():
        t0 = time.perf_counter()
        build_big_trace(str(path) + ".tmp", n)
        os.rename(str(path) + ".tmp", path)
        print(f"  built {n:,}-event trace in {time.perf_counter() - t0:.1f} s "
              f"({path.stat().st_size / 2**20:.1f} MiB)")
    return str(path)


def watch_first_screen() -> dict[str, float]:
    """Note when the event list renders the last line of its first screen."""
    from tui.eventlist import EventList

    seen: dict[str, float] = {}
    original = EventList.render_line

    def render_line(self: EventList, y: int):  # type: ignore[no-untyped-def]
        if y == self.size.height - 1 and "t" not in seen:
            seen["t"] = time.perf_counter()
        return original(self, y)

    EventList.render_line = render_line  # type: ignore[method-assign]
    return seen


def cut_copy(path: str) -> str:
    """A copy of the trace cut at 90% of its size: footerless, like a killed recorder."""
    out = path.replace(".scribe", "-cut.scribe")
    if not os.path.exists(out):
        data = Path(path).read_bytes()
        Path(out).write_bytes(data[: len(data) * 9 // 10])
    return out


async def measure_incomplete(n: int) -> dict[str, float]:
    """First screen of a footerless trace (its process table is rebuilt in a worker)."""
    from tui.app import ScribeApp

    seen = watch_first_screen()
    path = cut_copy(trace_for(n))
    t0 = time.perf_counter()
    app = ScribeApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        out = {"inc_first_screen": seen["t"] - t0, "inc_events": app.model.count}
        await app.workers.wait_for_complete()
        out["inc_process_table"] = time.perf_counter() - t0
    return out


async def measure(n: int) -> dict[str, float]:
    from tui.app import ScribeApp

    path = trace_for(n)
    out: dict[str, float] = {"rss_before": rss_mib()}
    seen = watch_first_screen()
    t0 = time.perf_counter()
    app = ScribeApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        el = app.event_list
        first = el.text_of_line(0)
        out["first_screen"] = seen["t"] - t0
        out["first_idle"] = time.perf_counter() - t0
        assert "0" in first
        out["rss_first"] = rss_mib()

        t0 = time.perf_counter()
        el.action_last()  # what G does
        await pilot.pause()
        el.text_of_line(el.size.height - 1)
        out["jump_end"] = time.perf_counter() - t0
        assert el.event_no == n - 1
        await pilot.press("g")
        t0 = time.perf_counter()
        await pilot.press("G")  # the same through Pilot's key simulation (adds its own waits)
        await pilot.pause()
        out["jump_end_key"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        el.move_to_event(n // 2)
        await pilot.pause()
        out["jump_middle"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for _ in range(PAGES):
            el.action_page_down()
            await pilot.pause()
        out["page"] = (time.perf_counter() - t0) / PAGES
        out["rss_paged"] = rss_mib()

        await pilot.press("g")
        t0 = time.perf_counter()
        await pilot.press("f")
        await pilot.pause()
        for ch in "status=failed":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        out["filter"] = time.perf_counter() - t0
        out["filter_matches"] = el.row_count
        out["rss_filtered"] = rss_mib()
        await pilot.press("F")
        await pilot.pause()

        t0 = time.perf_counter()
        app.search_pattern = "no-such-text-anywhere"
        app.search_step = 1
        app._search(1)
        await pilot.pause()
        await app.workers.wait_for_complete()
        out["search_full"] = time.perf_counter() - t0
        out["rss_end"] = rss_mib()
        out["row_cache"] = app.model.cache_size()
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sizes = [n // 10, n] if "--child" not in sys.argv else [n]
    if "--child" in sys.argv:
        res = asyncio.run(measure(n))
        res.update(asyncio.run(measure_incomplete(n)))
        print(json.dumps(res))
        return
    for size in sizes:
        trace_for(size)
    results = {}
    for size in sizes:
        # a fresh interpreter per size, so RSS figures do not mix
        proc = subprocess.run([sys.executable, __file__, str(size), "--child"],
                              capture_output=True, text=True, check=True)
        results[size] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[size]["tmux"] = tmux_first_screen(trace_for(size))
    for size, r in results.items():
        print(f"\n{size:,} events")
        print(f"  first screen        {r['first_screen'] * 1000:8.1f} ms   (target < 1000; "
              f"app idle at {r['first_idle'] * 1000:.0f} ms)")
        print(f"  jump to end (G)     {r['jump_end'] * 1000:8.1f} ms   (target < 200)")
        print(f"  ... as a Pilot key  {r['jump_end_key'] * 1000:8.1f} ms   (incl. Pilot's own waits)")
        print(f"  jump to middle      {r['jump_middle'] * 1000:8.1f} ms")
        print(f"  PgDn (mean of {PAGES})   {r['page'] * 1000:8.1f} ms   (incl. Textual's refresh)")
        if r.get("tmux") is not None:
            print(f"  `scribe tui` in tmux {r['tmux'] * 1000:7.1f} ms   (process start to first screen)")
        print(f"  filter status=failed {r['filter']:7.2f} s   ({int(r['filter_matches']):,} matches)")
        print(f"  search to the end   {r['search_full']:8.2f} s")
        print(f"  RSS MiB: start {r['rss_before']:.0f}, first screen {r['rss_first']:.0f}, "
              f"after paging {r['rss_paged']:.0f}, filtered {r['rss_filtered']:.0f}, end {r['rss_end']:.0f}")
        print(f"  decoded-row cache: {int(r['row_cache'])} rows")
        print(f"  footerless copy ({int(r['inc_events']):,} events): first screen "
              f"{r['inc_first_screen'] * 1000:.1f} ms, process table rebuilt by "
              f"{r['inc_process_table']:.2f} s (worker)")


if __name__ == "__main__":
    main()

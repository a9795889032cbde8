"""The TUI's browsing part, driven through Textual's Pilot.

Each test opens a demo trace written by the real traces.TraceWriter
(tui/demo.py) and checks what the app selects and shows after keys.  No
timing assertions: speed is measured by benchmarks/bench_tui.py.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual")
try:  # the parts the TUI builds on are written concurrently; skip only if absent
    import virt.decode  # noqa: F401
    import virt.filter  # noqa: F401
    import virt.syscalls  # noqa: F401
    from traces import TraceReader, TraceWriter  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the checkout
    pytest.skip(f"traces/virt API not available yet: {exc}", allow_module_level=True)

from textual.worker import WorkerState

from scribe import exitcodes
from tui.app import ScribeApp
from tui.demo import Demo, build_demo_trace
from tui.live import Breakpoint, Frame, MapEntry, Stop, parse_breakpoints
from tui.livepanel import LivePanel
from tui.model import describe_status, hexdump

SIZE = (120, 40)


def sync(fn: Any) -> Any:
    """Run an async Pilot test without an asyncio pytest plugin."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo_trace(str(tmp_path_factory.mktemp("tui") / "demo.scribe"))


@pytest.fixture(scope="module")
def incomplete(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo_trace(str(tmp_path_factory.mktemp("tui") / "cut.scribe"), incomplete=True)


async def settle(app: ScribeApp, pilot: Any) -> None:
    """Let workers finish and their results reach the screen."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def answer(pilot: Any, key: str, text: str, *, typed: bool = False) -> None:
    """Press a key that opens a prompt, fill in the answer, press Enter.

    typed=True presses every character (slow: Pilot waits after each key).
    """
    await pilot.press(key)
    await pilot.pause()
    if typed:
        for ch in text:
            await pilot.press(ch if ch != " " else "space")
    else:
        from textual.widgets import Input

        pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


def screen_text(app: ScribeApp) -> list[str]:
    el = app.event_list
    return [el.text_of_line(y) for y in range(el.size.height)]


# -- navigation ---------------------------------------------------------------


@sync
async def test_first_screen_and_navigation(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        el = app.event_list
        assert el.event_no == 0
        lines = screen_text(app)
        assert "/etc/passwd" in lines[2]
        assert "ENOENT" in lines[4]
        await pilot.press("j", "j", "down")
        assert el.event_no == 3
        await pilot.press("k", "up")
        assert el.event_no == 1
        await pilot.press("G")
        assert el.event_no == demo.count - 1
        assert "[exit 0]" in str(app.query_one("#tree").root.children[0].label)
        await pilot.press("g")
        assert el.event_no == 0
        await pilot.press("pagedown")
        page = el.event_no
        assert page > 10
        await pilot.press("pageup")
        assert el.event_no == 0
        await pilot.press("end")
        assert el.event_no == demo.count - 1
        # the last line of the trace is on screen
        assert any(str(demo.count - 1) in line for line in screen_text(app))
        await pilot.press("home")
        assert el.event_no == 0
        await pilot.click("#events", offset=(10, 5))  # a click selects the row
        assert el.event_no == 5
        assert "tid" in str(app.query_one("#columns").render())


@sync
async def test_detail_panel_shows_args_result_bytes_and_fd_path(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    app.fd_delay = 0  # the fd path is asserted: resolve it at once, not on a timer
    async with app.run_test(size=SIZE) as pilot:
        app.event_list.move_to_event(demo.read_event)
        await settle(app, pilot)
        text = app.detail.text
        assert f"event {demo.read_event}" in text
        assert "root:x:0:0" in text  # bytes written, text column
        assert "72 6f 6f 74" in text  # ... and hex
        assert "/etc/passwd" in text  # the path behind fd 3
        assert "Timing" in text
        app.event_list.move_to_event(demo.failed[0])
        await settle(app, pilot)
        text = app.detail.text
        assert "ENOENT" in text and "No such file or directory" in text
        app.event_list.move_to_event(demo.blob_event)
        await settle(app, pilot)
        text = app.detail.text
        assert "5120 bytes (blob)" in text and "more bytes" in text


@sync
async def test_a_worker_that_finishes_after_quit_is_dropped(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    import tui.model

    app = ScribeApp(demo.path)
    app.fd_delay = 0
    started = threading.Event()
    real = tui.model.resolve_fds

    def resolve_after_quit(*args: Any, **kwargs: Any) -> dict[int, str]:
        started.set()
        for _ in range(5000):  # until the detail panel is taken down (at most 5 s)
            if panel and not panel[0].is_attached:
                break
            time.sleep(0.001)
        return real(*args, **kwargs)

    panel: list[Any] = []
    monkeypatch.setattr(tui.model, "resolve_fds", resolve_after_quit)
    # a worker can pass its last is_cancelled check just before the quit
    # cancels it; not cancelling at all makes that window certain
    monkeypatch.setattr(app.workers, "cancel_all", lambda: None)
    async with app.run_test(size=SIZE) as pilot:
        panel.append(app.detail)
        app.event_list.move_to_event(demo.read_event)
        await pilot.pause()
        assert await asyncio.to_thread(started.wait, 5)
        (worker,) = [w for w in app.workers if w.group == "fds"]
    for _ in range(500):  # the app has shut down; the worker ends after it
        if worker.is_finished:
            break
        await asyncio.sleep(0.01)
    assert worker.state == WorkerState.SUCCESS, worker.error


@sync
async def test_goto(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await answer(pilot, "colon", "150", typed=True)
        await pilot.pause()
        assert app.event_list.event_no == 150
        await answer(pilot, "colon", "$")
        await pilot.pause()
        assert app.event_list.event_no == demo.count - 1
        await answer(pilot, "colon", "99999999")  # out of range: stays, says so
        await pilot.pause()
        assert app.event_list.event_no == demo.count - 1
        await answer(pilot, "colon", "zork")
        await pilot.pause()
        assert app.event_list.event_no == demo.count - 1


# -- search ------------------------------------------------------------------


@sync
async def test_search_forward_backward_and_repeat(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await answer(pilot, "slash", "needle")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.needle
        await pilot.press("G")
        await answer(pilot, "question_mark", "/secret/")
        await settle(app, pilot)
        last_secret = max(n for n in demo.failed if n > 5)
        assert app.event_list.event_no == last_secret
        await pilot.press("n")  # same direction: backwards
        await settle(app, pilot)
        assert app.event_list.event_no < last_secret
        before = app.event_list.event_no
        await pilot.press("N")  # opposite direction
        await settle(app, pilot)
        assert app.event_list.event_no == last_secret
        assert before < last_secret
        # smart case: an upper-case pattern is case-sensitive
        await answer(pilot, "slash", "NEEDLE")
        await settle(app, pilot)
        assert app.event_list.event_no == last_secret
        # matches are marked in the visible rows
        await answer(pilot, "slash", "needle")
        await settle(app, pilot)
        el = app.event_list
        y = el.cursor - round(el.scroll_offset.y)
        strip = el.render_line(y)
        marked = [seg.text for seg in strip if seg.style and seg.style.bgcolor is not None
                  and "needle" in seg.text]
        assert marked and marked[0] == "needle"
        # ctrl+o goes back to where the last jump started
        await pilot.press("ctrl+o")
        assert el.event_no == last_secret


# -- filter ------------------------------------------------------------------


@sync
async def test_filter_failed_and_clear(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await answer(pilot, "f", "status=failed", typed=True)
        await settle(app, pilot)
        el = app.event_list
        assert el.row_count == len(demo.failed)
        assert list(el.index) == demo.failed
        for y in range(el.row_count):
            assert "= -1 E" in el.text_of_line(y)
        await pilot.press("j")
        assert el.event_no == demo.failed[1]
        # filter off: the cursor stays on the same event
        await pilot.press("F")
        await pilot.pause()
        assert el.index is None
        assert el.event_no == demo.failed[1]


@sync
async def test_filter_trace_class_and_bad_filter(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await answer(pilot, "f", "trace=openat")
        await settle(app, pilot)
        el = app.event_list
        assert 0 < el.row_count < demo.count
        assert all("openat(" in el.text_of_line(y) for y in range(min(el.row_count, 10)))
        # search stays within the filter
        await answer(pilot, "slash", "needle")
        await settle(app, pilot)
        assert el.event_no == demo.needle
        await answer(pilot, "f", "nonsense=%%%")
        await settle(app, pilot)
        assert app.filter_text == "trace=openat"  # unchanged
        # the prompt starts with the current filter: clear it and type a new one
        await answer(pilot, "f", "path=needle")  # replaces the prefilled filter
        await settle(app, pilot)
        assert list(el.index) == [demo.needle]


@sync
async def test_only_this_process_key(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        app.event_list.move_to_event(demo.child_events[1])
        await pilot.press("P")
        await settle(app, pilot)
        assert app.filter_text == "pid=2"
        assert list(app.event_list.index) == demo.child_events
        assert app.event_list.event_no == demo.child_events[1]


@sync
async def test_filter_by_virtual_pid_includes_threads(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await answer(pilot, "f", "pid=1")
        await settle(app, pilot)
        shown = set(app.event_list.index)
        assert shown == set(demo.parent_events)  # tid 1 and its thread, tid 3
        assert not shown & set(demo.child_events)


# -- jumps -------------------------------------------------------------------


@sync
async def test_next_error_and_previous_error(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.failed[0]
        await pilot.press("e")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.failed[1]
        await pilot.press("E")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.failed[0]


@sync
async def test_same_process_jumps(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        first_child = demo.child_events[1]  # [0] is its Spawn: tid 2
        app.event_list.move_to_event(demo.child_events[0])
        await pilot.pause()
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert app.event_list.event_no == first_child
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.child_events[2]
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert app.event_list.event_no == first_child
        # the parent's events include its thread's (tid 3 is in pid 1)
        app.event_list.move_to_event(demo.parent_events[-1])
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.parent_events[-2]


@sync
async def test_process_tree_selects_first_event(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        tree = app.query_one("#tree")
        labels = [str(n.label) for n in tree.root.children]
        assert labels and "demo --work" in labels[0] and "exit 0" in labels[0]
        child = tree.root.children[0].children
        assert any("thread 3" in str(n.label) for n in child)
        pid2 = next(n for n in child if str(n.label).startswith("2 "))
        tree.focus()
        tree.select_node(pid2)
        await settle(app, pilot)
        assert app.event_list.event_no == demo.child_events[0]


# -- incomplete banner, live seam, help ---------------------------------------


@sync
async def test_incomplete_banner(demo: Demo, incomplete: Demo) -> None:
    app = ScribeApp(incomplete.path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        banner = app.query("#banner")
        assert banner and "INCOMPLETE" in str(banner.first().render())
        await settle(app, pilot)
        assert "INCOMPLETE" in str(app.query_one("#status").render())
        # the process table of a footerless trace is rebuilt in a worker
        tree = app.query_one("#tree")
        assert tree.root.children and "demo --work" in str(tree.root.children[0].label)
        assert len(app.model.reader) == incomplete.count  # cut before process 1 exits
        assert "[no exit]" in str(tree.root.children[0].label)
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query("#banner")


@sync
async def test_live_panel_says_unavailable(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L")
        await pilot.pause()
        panel = app.query_one("#live", LivePanel)
        if panel.unavailable_reason is None:
            pytest.skip("a replay engine is installed: nothing to say")
        assert "not available" in panel.state_text
        await pilot.press("r")
        await settle(app, pilot)
        assert panel.last_stop is None  # nothing faked


class ScriptedSession:
    """A test double of the LiveSession protocol (checks the seam, not replay)."""

    available = True
    reason = ""
    checkpoints = True

    def __init__(self, path: str) -> None:
        import threading

        self.path = path
        self.threads: set[int] = {threading.get_ident()}
        self.at = 0

    def _stop(self, reason: str) -> Stop:
        import threading

        self.threads.add(threading.get_ident())
        return Stop(self.at, 1, reason)

    def run_to(self, event_no: int) -> Stop:
        self.at = event_no
        return self._stop("event")

    def step(self, tid: int | None = None) -> Stop:
        self.at += 1
        return self._stop("step")

    def cont(self, breakpoints: Any) -> Stop:
        self.at = breakpoints[0].event_no
        return self._stop("breakpoint")

    def reverse_step(self) -> Stop:
        self.at -= 1
        return self._stop("step")

    def reverse_cont(self, breakpoints: Any) -> Stop:
        self.at = breakpoints[0].event_no
        return self._stop("breakpoint")

    def registers(self, tid: int | None = None) -> dict[str, int]:
        return {"rax": 0x27, "rip": 0x401000}

    def memory(self, addr: int, size: int, tid: int | None = None) -> bytes:
        return b"A" * size

    def maps(self, pid: int | None = None) -> list[MapEntry]:
        return [MapEntry(0x400000, 0x401000, "r-xp", 0, "/usr/bin/demo")]

    def backtrace(self, tid: int | None = None) -> list[Frame]:
        return [Frame(0x401000, "main", 0x10, "demo")]

    def close(self) -> None:
        pass


@sync
async def test_live_seam_drives_a_session_on_one_thread(demo: Demo) -> None:
    sessions: list[ScriptedSession] = []

    def factory(path: str) -> ScriptedSession:
        sessions.append(ScriptedSession(path))
        return sessions[-1]

    app = ScribeApp(demo.path, live_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        app.event_list.move_to_event(42)
        await pilot.press("L")
        await pilot.press("r")
        await settle(app, pilot)
        panel = app.query_one("#live", LivePanel)
        assert panel.last_stop is not None and panel.last_stop.event_no == 42
        assert "stopped at event 42" in panel.state_text
        await pilot.press("s")
        await settle(app, pilot)
        assert app.event_list.event_no == 43  # the list follows the replay
        await pilot.press("R")
        await settle(app, pilot)
        assert app.event_list.event_no == 42
        await answer(pilot, "c", "event=50")
        await settle(app, pilot)
        assert panel.last_stop.event_no == 50 and app.event_list.event_no == 50
        await answer(pilot, "C", "event=44")
        await settle(app, pilot)
        assert panel.last_stop.event_no == 44 and panel.last_stop.reason == "breakpoint"
        assert len(sessions) == 1 and len(sessions[0].threads) == 1  # one live thread


@sync
async def test_help_lists_bindings_with_ids(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        rows = app.binding_rows()
        ids = {r[2] for r in rows}
        assert {"app.goto", "app.filter", "list.down", "app.next_error", "live.step"} <= ids
        assert all(r[2] for r in rows)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("q")


@sync
async def test_command_palette_has_the_common_actions(demo: Demo) -> None:
    app = ScribeApp(demo.path)
    async with app.run_test(size=SIZE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Go to event", "Search forward", "Filter events", "Next error",
                "Next event of this process", "Keys", "Step", "Reverse step", "Reverse continue"} <= titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "next error":
            await pilot.press(ch if ch != " " else "space")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.event_list.event_no == demo.failed[0]


# -- pure helpers ------------------------------------------------------------


def test_helpers() -> None:
    assert describe_status(0) == "exit 0"
    assert describe_status(9) == "killed by SIGKILL"
    assert describe_status(None) == "no exit recorded"
    assert hexdump(b"AB", 0x10)[0].startswith("0000000000000010  41 42")
    assert hexdump(b"x" * 40, 0, limit=16)[-1] == "... 24 more bytes"
    assert parse_breakpoints("openat 100 path=/etc,pid=3") == [
        Breakpoint(syscall="openat"),
        Breakpoint(event_no=100),
        Breakpoint(path="/etc", pid=3),
    ]
    with pytest.raises(ValueError):
        parse_breakpoints("colour=red")


def test_fd_paths_follow_dup_pipe_fork_and_close(tmp_path: Path) -> None:
    from traces import Spawn, Syscall
    from tui.demo import AT_FDCWD, NR, PATH_ADDR
    from tui.model import resolve_fds

    path = str(tmp_path / "fds.scribe")
    w = TraceWriter(path, {"argv": ["fds"], "env": {}, "cwd": "/"})

    def sc(tid: int, name: str, args: tuple[int, ...], result: int, **kw: Any) -> int:
        nr = {"pipe2": 293, "dup2": 33}.get(name) or NR[name]
        return w.append(Syscall(tid, nr, tuple(args) + (0,) * (6 - len(args)), result, **kw))

    w.append(Spawn(1, 0, 1, Spawn.FORK))
    sc(1, "openat", (AT_FDCWD, PATH_ADDR, 0), 3, reads=((PATH_ADDR, b"/var/log/app.log\0"),))
    sc(1, "dup2", (3, 7), 7)
    sc(1, "pipe2", (0x1000, 0), 0, writes=((0x1000, (4).to_bytes(4, "little") + (5).to_bytes(4, "little")),))
    sc(1, "clone", (0x1200011,), 2)
    w.append(Spawn(2, 1, 2, Spawn.FORK))
    sc(1, "close", (3,), 0)
    probe = sc(2, "write", (7, 0, 0), 0)  # the child: fd 7 was inherited
    parent = sc(1, "write", (3, 0, 0), -9)  # fd 3 closed in the parent
    w.close(0)

    with TraceReader(path) as r:
        tid_to_pid = {1: 1, 2: 2}
        parent_of = {2: 1, 1: 0}
        got = resolve_fds(r, probe, 2, {7, 4, 5, 1, 3}, tid_to_pid, parent_of)
        assert got[7] == "/var/log/app.log"  # dup2 of fd 3, opened before the fork
        assert got[4] == "(pipe)" and got[5] == "(pipe)"
        assert got[1] == "stdout (inherited)"
        assert got[3] == "/var/log/app.log"  # the child's fd 3 is still open
        assert resolve_fds(r, parent, 1, {3}, tid_to_pid, parent_of) == {3: "(closed)"}


@sync
async def test_empty_trace_opens_and_keys_do_not_fail(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.scribe")
    TraceWriter(path, {"argv": ["nothing"], "env": {}, "cwd": "/"}).close(0)
    app = ScribeApp(path)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("j", "k", "G", "g", "pagedown", "e", "right_square_bracket"):
            await pilot.press(key)
        await answer(pilot, "slash", "x")
        await settle(app, pilot)
        assert app.event_list.event_no is None
        assert "no events" in str(app.query_one("#status").render())


def test_find_row_directions_wrap_filter_and_cancel(demo: Demo) -> None:
    from array import array

    from tui.model import find_row, iter_rows

    with TraceReader(demo.path) as r:
        is_needle = lambda n, ev: n == demo.needle  # noqa: E731
        assert find_row(r, None, 0, 1, is_needle) == (demo.needle, False)
        assert find_row(r, None, demo.count - 1, -1, is_needle) == (demo.needle, False)
        assert find_row(r, None, demo.needle, 1, is_needle) == (None, False)
        assert find_row(r, None, demo.needle, 1, is_needle, wrap=True) == (demo.needle, True)
        index = array("I", demo.failed)
        rows = [row for row, _, _ in iter_rows(r, index, len(index) - 1, -1)]
        assert rows == list(range(len(index) - 1, -1, -1))
        back = [n for _, n, _ in iter_rows(r, None, demo.count - 1, -1)]
        assert back == list(range(demo.count - 1, -1, -1))  # backward blocks, reversed
        row, _ = find_row(r, index, 0, 1, lambda n, ev: n == demo.failed[-1])
        assert row == len(index) - 1
        busy = [0] * 5000  # a long scan notices cancellation
        assert find_row(r, busy, 0, 1, lambda n, ev: False, cancelled=lambda: True) == (None, False)


def test_live_factory_without_engine_refuses_every_operation() -> None:
    import importlib.util

    from tui.live import LiveRunner, LiveSession, LiveUnavailable, open_live_session

    if importlib.util.find_spec("scribe.live") is not None:
        pytest.skip("a replay engine is installed")
    session = open_live_session("/nonexistent.scribe")
    assert isinstance(session, LiveSession) and not session.available
    assert "replay engine" in session.reason
    for call in (lambda: session.run_to(3), lambda: session.step(), lambda: session.registers(),
                 lambda: session.memory(0, 1), lambda: session.maps(), lambda: session.backtrace(),
                 lambda: session.reverse_step(), lambda: session.cont([]),
                 lambda: session.reverse_cont([])):
        with pytest.raises(LiveUnavailable, match="replay engine"):
            call()

    async def through_runner() -> None:
        runner = LiveRunner("/nonexistent.scribe")
        try:
            with pytest.raises(LiveUnavailable):
                await runner.call(lambda s: s.step())
        finally:
            runner.close()

    asyncio.run(through_runner())


# -- the command ---------------------------------------------------------------


def _scribe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scribe", "tui", *args],
        capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_cli_without_trace_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "SCRIBE_TRACE_DIR": str(tmp_path / "none")}
    proc = _scribe(env=env)
    assert proc.returncode == exitcodes.USAGE
    assert "no TRACE given" in proc.stderr and "Traceback" not in proc.stderr
    env = {k: v for k, v in os.environ.items() if k != "SCRIBE_TRACE_DIR"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    proc = _scribe(env=env)
    assert proc.returncode == exitcodes.USAGE
    assert str(tmp_path / "xdg" / "scribe" / "traces") in proc.stderr
    proc = _scribe(str(tmp_path / "missing.scribe"))
    assert proc.returncode == exitcodes.USAGE
    bad = tmp_path / "bad.scribe"
    bad.write_bytes(b"not a trace at all")
    proc = _scribe(str(bad))
    assert proc.returncode == exitcodes.BAD_TRACE
    assert "Traceback" not in proc.stderr


def test_cli_finds_latest(tmp_path: Path, demo: Demo) -> None:
    from scribe.cmd_tui import default_trace

    os.symlink(demo.path, tmp_path / "latest")
    old = os.environ.get("SCRIBE_TRACE_DIR")
    os.environ["SCRIBE_TRACE_DIR"] = str(tmp_path)
    try:
        assert default_trace() == Path(demo.path).resolve()
    finally:
        if old is None:
            del os.environ["SCRIBE_TRACE_DIR"]
        else:
            os.environ["SCRIBE_TRACE_DIR"] = old

"""The real TUI driving a real live replay (scribe.live), through Pilot.

The app opens a recorded trace with the default session factory, so the
LiveRunner's dedicated thread starts the replay and does every ptrace
request; the test only presses keys and reads the live panel.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
from typing import Any

import pytest

pytest.importorskip("textual")

from rich.console import Console

from tests.conftest import ROOT, scribe_cmd
from traces import Syscall, TraceReader
from tui.app import ScribeApp
from tui.livepanel import LivePanel
from virt.syscalls import BY_NAME

pytestmark = pytest.mark.timeout(60)
SIZE = (120, 40)


@pytest.fixture(scope="module")
def trace(guest, tmp_path_factory) -> str:
    exe = str(guest("live_basic", ("-O0", "-fno-omit-frame-pointer")))
    out = str(tmp_path_factory.mktemp("tuilive") / "basic.scribe")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(scribe_cmd("record", "-q", "-o", out, "--", exe), env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert os.path.exists(out), proc.stderr
    return out


def body_text(panel: LivePanel) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(panel.query_one("#live-body").content)
    return console.export_text()


async def settle(app: ScribeApp, pilot: Any) -> None:
    await pilot.pause()
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    await pilot.pause()


def test_r_replays_to_the_selected_event_and_shows_registers(trace: str) -> None:
    with TraceReader(trace) as r:
        nr = BY_NAME["write"].nr
        n = next(i for i, ev in r.events() if isinstance(ev, Syscall) and ev.nr == nr)
        total = len(r)

    async def drive() -> None:
        app = ScribeApp(trace)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.query_one("#live", LivePanel)
            assert panel.unavailable_reason is None  # the engine is installed
            app.event_list.move_to_event(n)
            await pilot.press("L")
            await pilot.press("r")
            await settle(app, pilot)
            assert panel.last_stop is not None, panel.state_text
            assert panel.last_stop.event_no == n and panel.last_stop.reason == "event"
            assert f"stopped at event {n}, tid 1" in panel.state_text
            text = body_text(panel)
            assert "orig_rax" in text and f"{nr:#018x}" in text  # write's number, at its entry
            assert "rip" in text and "main" in text and "say" in text  # the backtrace
            assert "live_basic" in text  # the memory map
            await pilot.press("s")
            await settle(app, pilot)
            assert panel.last_stop.event_no > n
            assert app.event_list.event_no == panel.last_stop.event_no  # the list follows
            await pilot.press("R")
            await settle(app, pilot)
            assert panel.last_stop.event_no == n and "restored the checkpoint at event" in panel.state_text
            assert re.search(r"· \d+ checkpoints?, events \d+…\d+", panel.state_text), panel.state_text
            app.event_list.move_to_event(total - 1)
            await pilot.press("r")
            await settle(app, pilot)
            assert panel.last_stop.reason == "exit" and "exited with 3" in panel.state_text
            assert "no live process" in body_text(panel)

    asyncio.run(asyncio.wait_for(drive(), 50))

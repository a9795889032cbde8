"""Snapshot tests of the TUI's main screens at two terminal sizes.

Needs pytest-textual-snapshot (pip name: pytest-textual-snapshot); skipped
cleanly without it.  Update the SVGs with `pytest --snapshot-update` after a
deliberate change of the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_textual_snapshot")
try:
    import virt.decode  # noqa: F401
    import virt.filter  # noqa: F401
    from traces import TraceWriter  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.skip(f"traces/virt API not available yet: {exc}", allow_module_level=True)

from tui.app import ScribeApp
from tui.demo import Demo, build_demo_trace

SIZES = [(80, 24), (140, 44)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build_demo_trace(str(tmp_path_factory.mktemp("snap") / "demo.scribe"), filler=60)


def make_app(demo: Demo) -> ScribeApp:
    app = ScribeApp(demo.path)
    app.fd_delay = 0  # resolve fd paths at once: the screen must not depend on timing
    return app


async def settled(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, demo: Demo, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("j", "j", "j")  # the read of /etc/passwd: bytes and fd path
        await settled(pilot)

    assert snap_compare(make_app(demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_filtered_failed_calls(snap_compare: Any, demo: Demo, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f")
        await pilot.pause()
        for ch in "status=failed":
            await pilot.press(ch)
        await pilot.press("enter")
        await settled(pilot)
        await pilot.press("j")
        await settled(pilot)

    assert snap_compare(make_app(demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare: Any, demo: Demo, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(demo), terminal_size=size, press=["f1"])


def test_snapshots_dir_is_beside_this_file() -> None:
    assert Path(__file__).parent.name == "tests"

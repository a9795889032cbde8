"""The real `scribe tui` in a real terminal (tmux), read back from the screen.

Pilot tests drive the app in-process; this one checks what a person would
see: the command starts, draws the event list, answers keys, and quits.
Skipped where tmux is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

if shutil.which("tmux") is None:
    pytest.skip("tmux is not installed", allow_module_level=True)
try:
    import virt.decode  # noqa: F401
    import virt.filter  # noqa: F401
    from traces import TraceWriter  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.skip(f"traces/virt API not available yet: {exc}", allow_module_level=True)

from tui.demo import build_demo_trace

ROOT = Path(__file__).resolve().parent.parent


SOCKET = f"scribe-tui-test-{os.getpid()}"  # a private server: no user config, no other clients


def tmux(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=10, check=check)


def wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session).stdout
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


def test_scribe_tui_in_tmux(tmp_path: Path) -> None:
    demo = build_demo_trace(str(tmp_path / "demo.scribe"))
    session = f"scribe-tui-test-{os.getpid()}"
    # stty: the size is the pty's from the first byte (no race with a resize signal)
    cmd = (f"stty cols 120 rows 40; cd {ROOT} && TERM=xterm-256color "
           f"exec {sys.executable} -m scribe tui {demo.path}")
    tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", session, cmd, check=True)
    try:
        screen = wait_for(session, "event 0 of")
        lines = screen.splitlines()
        assert len(lines) == 40 and max(len(line) for line in lines) > 100, screen
        assert 'openat(AT_FDCWD, "/etc/passwd"' in screen  # decoded at display time
        assert "demo --work" in screen and "[exit 0]" in screen  # the process tree
        tmux("send-keys", "-t", session, "G")
        wait_for(session, f"event {demo.count - 1:,} of")
        tmux("send-keys", "-t", session, "g", "e")
        screen = wait_for(session, f"event {demo.failed[0]:,} of")
        assert "ENOENT" in screen
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if tmux("has-session", "-t", session).returncode != 0:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("q did not quit")
    finally:
        tmux("kill-server")

"""Bad command lines: an argparse usage message, exit 2, never a traceback."""

from __future__ import annotations

import pytest

from scribe import exitcodes

BAD = [
    ["run"],
    ["run", "--"],
    ["record"],
    ["record", "-o"],
    ["record", "--frobnicate", "true"],
    ["replay", "a", "b"],
    ["replay", "--nope"],
    ["info"],
    ["info", "--repair"],
    ["ps"],
    ["dump"],
    ["dump", "-e", "trace=%nonsense", "x.scribe"],
    ["dump", "-e", "status=maybe", "x.scribe"],
    ["tui", "a", "b"],
    ["frobnicate"],
    [],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) or "(none)" for a in BAD])
def test_usage_errors(scribe, argv):
    proc = scribe(*argv)
    assert proc.returncode == exitcodes.USAGE, proc.stderr
    assert "usage:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("cmd", ["run", "record", "replay", "info", "ps", "dump", "tui"])
def test_help(scribe, cmd):
    proc = scribe(cmd, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout

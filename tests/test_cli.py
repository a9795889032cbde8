from __future__ import annotations

import subprocess
import sys

import pytest

from scribe import exitcodes
from scribe.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "scribe" in capsys.readouterr().out


def test_no_command_is_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "scribe"], capture_output=True, text=True)
    assert proc.returncode == exitcodes.USAGE
    assert "usage:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_command_is_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "scribe", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == exitcodes.USAGE
    assert "Traceback" not in proc.stderr

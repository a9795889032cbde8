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


@pytest.mark.parametrize("columns", ["50", "120"])
def test_help_is_wrapped_to_the_terminal_width(columns: str) -> None:
    import os

    env = dict(os.environ, COLUMNS=columns)
    proc = subprocess.run([sys.executable, "-m", "scribe", "record", "--help"], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= int(columns) - 2
    # The description is one paragraph: wrapped once at 50 columns, not at 120.
    assert ("nondeterministic" in lines[2]) == (columns == "120"), proc.stdout


def test_the_parser_does_not_import_shutil() -> None:
    """(argparse's help formatter would, at every add_argument: cli._Parser)"""
    code = "import sys; from scribe import cli; cli._build_parser(); print('shutil' in sys.modules)"
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert proc.stdout == "False\n", proc.stderr


def test_exit_status_and_output_survive_the_fast_exit(tmp_path) -> None:
    """`python -m scribe` leaves through os._exit (cli.run): the program's
    status, our own output and a reader gone away still come out right."""
    trace = tmp_path / "t.scribe"
    rec = subprocess.run([sys.executable, "-m", "scribe", "record", "-o", str(trace), "--",
                          "sh", "-c", "echo hi; exit 3"], capture_output=True, text=True)
    assert (rec.returncode, rec.stdout) == (3, "hi\n") and "trace written to" in rec.stderr, rec.stderr
    dump = subprocess.run(f"{sys.executable} -m scribe dump {trace} | head -1", shell=True,
                          capture_output=True, text=True)
    assert dump.stdout.count("\n") == 1 and dump.stderr == "", dump.stderr
    info = subprocess.run([sys.executable, "-m", "scribe", "info", str(trace)], capture_output=True, text=True)
    assert info.returncode == 0 and "exit:       3" in info.stdout, info.stdout


def test_python_ptrace_is_loaded_without_its_error_writing_helpers() -> None:
    """python-ptrace's package imports ptrace.error for PtraceError, and that
    module logging, traceback and datetime (virt/ptrace_api.py: _LightError).
    The rest of the module still comes when asked for, with one PtraceError."""
    code = ("import sys; import virt.ptrace_api; print(sorted({'logging', 'traceback'} & set(sys.modules)))\n"
            "import ptrace; from ptrace.error import PTRACE_ERRORS, PtraceError, writeError\n"
            "from ptrace.binding import func; import ptrace.debugger\n"
            "print(PtraceError is ptrace.PtraceError is ptrace.error.PtraceError, callable(writeError))\n"
            "try:\n func.ptrace(999, 1)\nexcept PtraceError as e: print('caught', e.errno)")
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert proc.stdout == "[]\nTrue True\ncaught 3\n", proc.stderr

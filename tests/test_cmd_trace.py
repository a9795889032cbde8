"""`scribe info [--repair]` and `scribe ps`, run as a user would (subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scribe import exitcodes
from traces.samples import write_sample


def scribe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scribe", *args], capture_output=True, text=True,
                          timeout=60)


def test_info_complete_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 200, exit_status=3)
    proc = scribe("info", str(path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "status:     complete" in out and "incomplete" not in out
    assert "./sample --flag" in out and "cwd:        /tmp" in out
    assert f"events:     {len(events)} in" in out
    assert "exit:       3" in out
    assert "PID\tPPID\tEXIT\tCMD" in out
    assert "1\t--\t3\t./sample --flag" in out and "4\t1\t0\ttrue" in out
    # syscall names come from virt.syscalls when present, raw numbers otherwise
    assert ("clock_gettime" in out) or ("syscall_228" in out)


def test_info_incomplete_trace_and_repair(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    write_sample(path, 200, close=False, chunk_events=20)
    proc = scribe("info", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "incomplete" in proc.stdout and "--repair" in proc.stdout
    assert "1\t--\t0\t./sample --flag" in proc.stdout

    proc = scribe("info", "--repair", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "footer written" in proc.stdout and "status:     complete" in proc.stdout
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)

    proc = scribe("info", "--repair", str(path))
    assert proc.returncode == 0 and "already complete" in proc.stdout


def test_ps(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    write_sample(path, 50)
    proc = scribe("ps", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "PID\tPPID\tEXIT\tCMD",
        "1\t--\t0\t./sample --flag",
        "4\t1\t0\ttrue",
    ]


def test_ps_incomplete_notes_it(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    write_sample(path, 50, close=False)
    proc = scribe("ps", str(path))
    assert proc.returncode == 0 and "incomplete" in proc.stderr
    assert proc.stdout.splitlines()[0] == "PID\tPPID\tEXIT\tCMD"


def test_bad_files_exit_3_with_one_line(tmp_path: Path) -> None:
    cases = {
        "empty.scribe": b"",
        "text.scribe": b"hello world\n",
        "random.scribe": os.urandom(3000),
    }
    good = tmp_path / "good.scribe"
    write_sample(good, 20)
    data = bytearray(good.read_bytes())
    data[8] = 99  # format major 99
    cases["newer.scribe"] = bytes(data)
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        for cmd in (("info", str(p)), ("ps", str(p)), ("info", "--repair", str(p))):
            proc = scribe(*cmd)
            assert proc.returncode == exitcodes.BAD_TRACE, (name, cmd, proc.stderr)
            lines = proc.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("scribe: "), (name, proc.stderr)
            assert "Traceback" not in proc.stderr
    proc = scribe("info", str(tmp_path / "newer.scribe"))
    assert "trace format version 99 is newer than this scribe supports (1)" in proc.stderr
    proc = scribe("info", str(tmp_path / "missing.scribe"))
    assert proc.returncode == exitcodes.BAD_TRACE and "cannot open" in proc.stderr

"""scribe dump: strace-like lines (and JSON) from a trace written with TraceWriter."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

traces = pytest.importorskip("traces")
from traces import Exec, Exit, Input, Signal, Spawn, Syscall, TraceWriter  # noqa: E402

from scribe import exitcodes  # noqa: E402
from scribe.cmd_dump import main  # noqa: E402
from virt.syscalls import NR  # noqa: E402

AT_FDCWD = 2**64 - 100


def _trace(path: Path, complete: bool = True) -> Path:
    big = b"x" * 5000      # stored as a blob by the writer
    chld = struct.pack("<iii4xiIiiqq", 17, 0, 1, 2, 0, 0, 0, 0, 0) + bytes(80)
    w = TraceWriter(path, {"argv": ["demo"], "env": {}, "cwd": "/"})
    w.append(Spawn(1, 0, 1, Spawn.FORK))
    w.append(Exec(1, "/bin/demo", ["demo", "-v"]))
    w.append(Syscall(1, NR["openat"], (AT_FDCWD, 0x1000, 0o2000000, 0, 0, 0), 3,
                     reads=((0x1000, b"/etc/passwd\0"),)))
    w.append(Syscall(1, NR["read"], (3, 0x2000, 5000, 0, 0, 0), 5000, writes=((0x2000, big),)))
    w.append(Syscall(1, NR["openat"], (AT_FDCWD, 0x1000, 0, 0, 0, 0), -2,
                     reads=((0x1000, b"/nonexistent\0"),)))
    w.append(Syscall(1, NR["clone"], (0x1200011, 0, 0, 0x3000, 0, 0), 2, flags=Syscall.EXECUTED))
    w.append(Spawn(2, 1, 2, Spawn.FORK))
    w.append(Syscall(2, NR["getpid"], (0,) * 6, 2))
    w.append(Input(2, "rdtsc", 123456))
    w.append(Syscall(2, NR["exit_group"], (7, 0, 0, 0, 0, 0), 0, flags=Syscall.NO_EXIT | Syscall.EXECUTED))
    w.append(Exit(2, 7 << 8))
    w.append(Signal(1, 17, chld))
    w.append(Syscall(1, NR["wait4"], (2**64 - 1, 0x4000, 0, 0, 0, 0), 2,
                     writes=((0x4000, struct.pack("<i", 7 << 8)),), flags=Syscall.EXECUTED))
    w.append(Exit(1, 0))
    if complete:
        w.close(0)
    else:
        w.flush()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dump_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(_trace(tmp_path / "t.scribe")))
    assert code == 0, err
    lines = out.splitlines()
    assert '[pid     1] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3' in lines
    assert f'[pid     1] read(3, "{"x" * 32}"..., 5000) = 5000' in lines
    assert ('[pid     1] openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT '
            "(No such file or directory)") in lines
    assert "[pid     2] getpid() = 2" in lines
    assert "[pid     2] exit_group(7) = ?" in lines
    assert "[pid     2] +++ exited with 7 +++" in lines
    assert any(line.startswith("[pid     1] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2") for line in lines)
    assert "[pid     1] wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 7}], 0, NULL) = 2" in lines
    assert "[pid     1] +++ exited with 0 +++" in lines
    assert '[pid     1] --- exec "/bin/demo" ["demo", "-v"] ---' in lines
    assert len(lines) == 14


def test_no_pids_and_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = str(_trace(tmp_path / "t.scribe"))
    code, out, _ = run(capsys, t, "--no-pids", "-e", "trace=%file", "-e", "status=failed")
    assert code == 0
    sys_lines = [x for x in out.splitlines() if not x.startswith(("---", "+++"))]
    assert sys_lines == ['openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)']
    code, out, _ = run(capsys, t, "-e", "pid=2")
    assert all(x.startswith("[pid     2]") for x in out.splitlines()) and out
    code, out, _ = run(capsys, t, "-e", "trace=read,getpid", "--no-pids")
    assert [x for x in out.splitlines() if "(" in x and not x.startswith(("---", "+++"))] == [
        f'read(3, "{"x" * 32}"..., 5000) = 5000', "getpid() = 2"]
    code, out, _ = run(capsys, t, "-e", "path=passwd", "--no-pids")
    assert out.splitlines() == ['openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3']


def test_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(_trace(tmp_path / "t.scribe")), "--json")
    assert code == 0
    objs = [json.loads(x) for x in out.splitlines()]
    opened = objs[2]
    assert opened["kind"] == "syscall" and opened["name"] == "openat" and opened["result"] == 3
    assert opened["args"][0] == AT_FDCWD
    assert opened["decoded_args"][1] == {"name": "pathname", "value": '"/etc/passwd"'}
    assert opened["text"].startswith("openat(")
    assert objs[3]["writes"] == [{"addr": 0x2000, "size": 5000}]
    ex = next(o for o in objs if o.get("name") == "exit_group")
    assert ex["unfinished"] and ex["result"] is None and ex["executed"]
    sig = next(o for o in objs if o["kind"] == "signal")
    assert sig["signo"] == 17 and "hex" in sig["siginfo"]
    assert next(o for o in objs if o["kind"] == "input")["value"] == 123456


def test_bad_filter_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(_trace(tmp_path / "t.scribe")), "-e", "trace=nosuchcall")
    assert code == exitcodes.USAGE
    assert "nosuchcall" in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_trace_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.scribe"
    bad.write_bytes(b"this is not a trace at all" * 10)
    code, _, err = run(capsys, str(bad))
    assert code == exitcodes.BAD_TRACE and err.startswith("scribe: ")
    code, _, err = run(capsys, str(tmp_path / "missing.scribe"))
    assert code == exitcodes.BAD_TRACE


def test_incomplete_trace_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(_trace(tmp_path / "t.scribe", complete=False)))
    assert code == 0
    assert "incomplete" in out.splitlines()[-1]


def test_registered_with_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scribe import cli
    if "scribe.cmd_dump" not in cli.COMMAND_MODULES:
        pytest.skip("scribe.cmd_dump is not in scribe.cli.COMMAND_MODULES yet")
    t = str(_trace(tmp_path / "t.scribe"))
    assert cli.main(["dump", t, "--no-pids", "-e", "trace=getpid"]) == 0
    assert "getpid() = 2" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["dump"])
    with pytest.raises(SystemExit) as exc:
        cli.main(["dump", t, "-e", "status=bogus"])
    assert exc.value.code == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "usage:" in err and "bogus" in err

"""virt.filter: strace -e expressions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from virt.filter import parse_filter, selected_syscalls
from virt.memory import RecordedMemory
from virt.syscalls import NR


@dataclass
class Syscall:
    tid: int
    nr: int
    args: tuple
    result: int
    writes: tuple = ()
    reads: tuple = ()
    flags: int = 0
    time_ns: int = 0


@dataclass
class Signal:
    tid: int
    signo: int
    siginfo: bytes = b""
    time_ns: int = 0


@dataclass
class Exit:
    tid: int
    status: int
    time_ns: int = 0


@dataclass
class Exec:
    tid: int
    path: str
    argv: list
    binary: object = None
    time_ns: int = 0


def sc(name: str, result: int = 0, tid: int = 1, args: tuple = (0,) * 6, **kw: object) -> Syscall:
    return Syscall(tid, NR[name], args, result, **kw)  # type: ignore[arg-type]


def test_names_and_negation() -> None:
    f = parse_filter(["trace=open,read"])
    assert f.matches(sc("read"), None) and f.matches(sc("open"), None)
    assert not f.matches(sc("write"), None)
    f = parse_filter(["trace=!read,write"])
    assert not f.matches(sc("read"), None) and f.matches(sc("openat"), None)
    f = parse_filter(["read"])        # bare set means trace=
    assert f.matches(sc("read"), None) and not f.matches(sc("close"), None)
    assert parse_filter(["trace=all"]).matches(sc("close"), None)
    assert not parse_filter(["trace=none"]).matches(sc("close"), None)
    f = parse_filter(["trace=open", "trace=close"])   # several: union
    assert f.matches(sc("open"), None) and f.matches(sc("close"), None)


def test_classes() -> None:
    f = parse_filter(["trace=%file"])
    assert f.matches(sc("openat"), None) and f.matches(sc("stat"), None) and f.matches(sc("execve"), None)
    assert not f.matches(sc("read"), None)
    f = parse_filter(["trace=%process,%signal"])
    assert f.matches(sc("clone"), None) and f.matches(sc("rt_sigaction"), None) and f.matches(sc("wait4"), None)
    for cls, yes, no in [("%network", "socket", "read"), ("%net", "connect", "open"), ("%ipc", "msgget", "read"),
                         ("%desc", "read", "getpid"), ("%memory", "mmap", "read"), ("%creds", "getuid", "read"),
                         ("%clock", "clock_gettime", "read"), ("%stat", "stat", "fstat"), ("%lstat", "lstat", "stat"),
                         ("%fstat", "fstat", "stat"), ("%%stat", "statx", "read"), ("%statfs", "statfs", "fstatfs"),
                         ("%fstatfs", "fstatfs", "statfs"), ("%%statfs", "ustat", "stat"), ("%pure", "getpid", "getpgid")]:
        f = parse_filter([f"trace={cls}"])
        assert f.matches(sc(yes), None), (cls, yes)
        assert not f.matches(sc(no), None), (cls, no)
    f = parse_filter(["trace=!%file"])
    assert not f.matches(sc("open"), None) and f.matches(sc("read"), None)
    f = parse_filter(["trace=/^get.*id$"])
    assert f.matches(sc("getpid"), None) and not f.matches(sc("getcwd"), None)


def test_unknown_syscalls() -> None:
    f = parse_filter(["trace=syscall_999"])
    assert f.matches(Syscall(1, 999, (0,) * 6, -38), None)
    assert parse_filter(["trace=?nosuchcall"]).matches(sc("read"), None) is False


def test_status() -> None:
    f = parse_filter(["status=failed"])
    assert f.matches(sc("open", -2), None) and not f.matches(sc("open", 3), None)
    assert not f.matches(sc("exit_group", 0, flags=2), None)
    f = parse_filter(["status=successful"])
    assert f.matches(sc("open", 3), None) and not f.matches(sc("open", -2), None)
    f = parse_filter(["status=unfinished"])
    assert f.matches(sc("exit_group", 0, flags=2), None) and not f.matches(sc("read", 0), None)
    f = parse_filter(["status=!failed"])
    assert f.matches(sc("read", 1), None) and not f.matches(sc("read", -9), None)
    # trace= and status= select calls: other events are hidden, unless kept
    # (scribe dump keeps them, like strace's output).
    f = parse_filter(["trace=open", "status=failed"])
    assert not f.matches(Signal(1, 17), None) and not f.matches(Exit(1, 0), None)
    f = parse_filter(["trace=open", "status=failed"], keep_other_events=True)
    assert f.matches(Signal(1, 17), None) and f.matches(Exit(1, 0), None)
    f = parse_filter(["trace=open", "signal=CHLD"])
    assert f.matches(Signal(1, 17), None) and not f.matches(Signal(1, 2), None)
    assert parse_filter(["pid=1"]).matches(Exit(1, 0), None)


def test_pid_and_signal() -> None:
    f = parse_filter(["pid=2,3"])
    assert f.matches(sc("read", tid=2), None) and not f.matches(sc("read", tid=1), None)
    assert f.matches(Exit(3, 0), None) and not f.matches(Signal(1, 2), None)
    assert f.matches(sc("read", tid=7), None, pid_of=lambda t: 2)
    f = parse_filter(["signal=SIGCHLD,int"])
    assert f.matches(Signal(1, 17), None) and f.matches(Signal(1, 2), None)
    assert not f.matches(Signal(1, 15), None) and f.matches(sc("read"), None)
    assert not parse_filter(["signal=!CHLD"]).matches(Signal(1, 17), None)


def test_path() -> None:
    f = parse_filter(["path=passwd"])
    ev = sc("openat", 3, args=(2**64 - 100, 0x1000, 0, 0, 0, 0), reads=((0x1000, b"/etc/passwd\0"),))
    assert f.matches(ev, None)
    assert f.matches(ev, RecordedMemory([(0x1000, b"/etc/passwd\0")]))
    other = sc("openat", 3, args=(2**64 - 100, 0x1000, 0, 0, 0, 0), reads=((0x1000, b"/etc/group\0"),))
    assert not f.matches(other, None)
    assert not f.matches(sc("read"), None)
    rename = sc("rename", 0, args=(0x1000, 0x2000, 0, 0, 0, 0), reads=((0x1000, b"a\0"), (0x2000, b"/x/passwd.new\0")))
    assert f.matches(rename, None)
    assert f.matches(Exec(1, "/usr/bin/passwd", []), None) and not f.matches(Signal(1, 2), None)


@pytest.mark.parametrize("bad", ["trace=nosuchcall", "trace=%nosuchclass", "status=weird", "pid=abc",
                                 "frob=1", "trace=", "trace=read,,write", "signal=SIGNOPE", "path=",
                                 "trace=/(unclosed", ""])
def test_bad_expressions(bad: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_filter([bad])
    assert "\n" not in str(exc.value) and str(exc.value)


def test_selected_syscalls() -> None:
    nrs = selected_syscalls(parse_filter(["trace=%ipc"]))
    assert NR["msgget"] in nrs and NR["read"] not in nrs
    assert parse_filter([]).empty

"""A synthetic trace for the TUI's tests, benchmark and screenshots.

Written with the real traces.TraceWriter (nothing here reads traces): two
processes and a thread, opens that succeed and fail, reads with data, a
signal, and as many filler events as asked, so a test can say "event N is
the needle" without recording a program.  Event numbers of the landmarks
are returned so tests do not hard-code them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from traces import Exec, Exit, Signal, Spawn, Syscall

AT_FDCWD = 0xFFFFFFFFFFFFFF9C  # -100 as an unsigned word
NR = {
    "read": 0, "write": 1, "close": 3, "getpid": 39, "clone": 56, "execve": 59,
    "wait4": 61, "exit_group": 231, "openat": 257, "gettid": 186, "dup2": 33,
}
ENOENT = 2
EACCES = 13
PATH_ADDR = 0x7FFF_F000
BUF_ADDR = 0x5555_6000


@dataclass
class Demo:
    """Where the landmarks of a demo trace are (event numbers)."""

    path: str
    count: int = 0
    failed: list[int] = field(default_factory=list)
    needle: int = -1
    signal: int = -1
    child_events: list[int] = field(default_factory=list)
    parent_events: list[int] = field(default_factory=list)
    read_event: int = -1  # read(3, ...) of /etc/passwd
    blob_event: int = -1  # a read whose data is a blob (>= 4096 bytes)


def _path(p: str) -> tuple[tuple[int, bytes], ...]:
    return ((PATH_ADDR, p.encode() + b"\0"),)


def build_demo_trace(path: str, filler: int = 200, *, incomplete: bool = False) -> Demo:
    """Write a demo trace at path; incomplete=True leaves it without footer."""
    from traces import TraceWriter

    demo = Demo(path)
    header = {
        "argv": ["demo", "--work"],
        "env": {"PATH": "/usr/bin"},
        "cwd": "/home/demo",
        "hostname": "demo-host",
        "kernel": "6.1.0-demo",
        "cpu_model": "demo cpu",
        "cpu_flags": [],
        "start_time": 1_700_000_000.0,
    }
    target = path + ".writing" if incomplete else path
    w = TraceWriter(target, header)
    t = 0

    def add(ev) -> int:  # type: ignore[no-untyped-def]
        nonlocal t
        t += 1500
        ev.time_ns = t
        n = w.append(ev)
        tid = getattr(ev, "tid", 0)
        (demo.child_events if tid == 2 else demo.parent_events).append(n)
        return n

    def sc(tid: int, name: str, args: tuple[int, ...], result: int, **kw) -> int:  # type: ignore[no-untyped-def]
        args = tuple(args) + (0,) * (6 - len(args))
        n = add(Syscall(tid, NR[name], args, result, **kw))
        if -4096 < result < 0:
            demo.failed.append(n)
        return n

    add(Spawn(1, 0, 1, Spawn.FORK))
    add(Exec(1, "/usr/bin/demo", ["demo", "--work"]))
    sc(1, "openat", (AT_FDCWD, PATH_ADDR, 0x80000), 3, reads=_path("/etc/passwd"))
    demo.read_event = sc(1, "read", (3, BUF_ADDR, 64), 11, writes=((BUF_ADDR, b"root:x:0:0\n"),))
    sc(1, "openat", (AT_FDCWD, PATH_ADDR, 0), -ENOENT, reads=_path("/nonexistent/config"))
    sc(1, "write", (1, BUF_ADDR, 6), 6, reads=((BUF_ADDR, b"hello\n"),))
    sc(1, "clone", (0x1200011, 0, 0, 0, 0), 2)
    add(Spawn(2, 1, 2, Spawn.FORK))
    sc(1, "clone", (0x3D0F00, 0, 0, 0, 0), 3)
    add(Spawn(3, 1, 1, Spawn.THREAD))
    for i in range(filler):
        who = (1, 2, 3)[i % 3]
        if i % 37 == 36:
            sc(who, "openat", (AT_FDCWD, PATH_ADDR, 0), -EACCES, reads=_path(f"/secret/{i}"))
        elif who == 2:
            sc(2, "getpid", (), 2)
        elif who == 3:
            sc(3, "gettid", (), 3)
        else:
            sc(1, "read", (3, BUF_ADDR, 16), 0)
    demo.needle = sc(2, "openat", (AT_FDCWD, PATH_ADDR, 0), 4, reads=_path("/tmp/needle.txt"))
    sc(2, "exit_group", (0,), 0, flags=Syscall.NO_EXIT)
    add(Exit(2, 0))
    demo.signal = add(Signal(1, 17, b"\x11" + b"\0" * 127))
    cut = demo.signal + 1
    if incomplete:
        # a copy taken now, without footer, before process 1 exits: a recorder
        # killed here would leave the same file
        w.flush()
        shutil.copyfile(target, path)
    sc(1, "wait4", (2, BUF_ADDR, 0, 0), 2, writes=((BUF_ADDR, b"\0\0\0\0"),))
    big = bytes(range(256)) * 20  # 5120 bytes: stored as a blob by the writer
    demo.blob_event = sc(1, "read", (3, BUF_ADDR, len(big)), len(big), writes=((BUF_ADDR, big),))
    sc(1, "close", (3,), 0)
    sc(1, "exit_group", (0,), 0, flags=Syscall.NO_EXIT)
    add(Exit(3, 0))
    last = add(Exit(1, 0))
    demo.count = last + 1
    w.close(0)
    if incomplete:
        os.unlink(target)
        demo.count = cut
    return demo


def build_big_trace(path: str, count: int) -> None:
    """count events of a few shapes (benchmark): reads, writes, failed opens."""
    from traces import TraceWriter

    w = TraceWriter(path, {"argv": ["big"], "env": {}, "cwd": "/"})
    w.append(Spawn(1, 0, 1, Spawn.FORK, time_ns=0))
    for i in range(1, count - 1):
        k = i % 4
        if k == 0:
            ev = Syscall(1, NR["read"], (3, BUF_ADDR, 32, 0, 0, 0), 5,
                         writes=((BUF_ADDR, b"hello"),), time_ns=i * 1000)
        elif k == 1:
            ev = Syscall(1, NR["write"], (1, BUF_ADDR, 6, 0, 0, 0), 6,
                         reads=((BUF_ADDR, b"world\n"),), time_ns=i * 1000)
        elif k == 2:
            ev = Syscall(1, NR["openat"], (AT_FDCWD, PATH_ADDR, 0, 0, 0, 0), -ENOENT,
                         reads=_path(f"/no/such/{i}"), time_ns=i * 1000)
        else:
            ev = Syscall(1, NR["getpid"], (0,) * 6, 1, time_ns=i * 1000)
        w.append(ev)
    w.append(Exit(1, 0, time_ns=count * 1000))
    w.close(0)

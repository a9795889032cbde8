"""Synthetic but realistic traces, for tests and benchmarks (here and elsewhere).

A real recording needs ptrace and a compiler; tests of the reader, the CLI and
the TUI only need a plausible trace.  The syscall mix imitates a small
program: clock_gettime with a 16-byte timespec written back, short reads of
text, writes, openat with a path captured, close, mmap, futex; a few
microseconds between events; one process with two threads and a child.
Deterministic for a given seed.
"""

from __future__ import annotations

import os
import random
import struct
from typing import Any, Iterator

from traces.events import Exec, Exit, Input, Signal, Spawn, Syscall

AT_FDCWD = 0xFFFFFFFFFFFFFF9C
STACK = 0x7FFFFFFFE3B0
HEAP = 0x5555555592A0
LIBC = 0x7FFFF7DD1000
TEXT = b"the quick brown fox jumps over the lazy dog\n"

HEADER: dict[str, Any] = {
    "argv": ["./sample", "--flag"],
    "env": {"PATH": "/usr/bin:/bin", "HOME": "/root"},
    "cwd": "/tmp",
}


def syscall_events(n: int, seed: int = 1, tids: tuple[int, ...] = (1, 1, 1, 2, 3),
                   t0: int = 0) -> Iterator[Syscall]:
    """n typical syscall events (see the module docstring)."""
    r = random.Random(seed)
    t = t0
    rand, randint, choice = r.random, r.randint, r.choice
    for _ in range(n):
        t += randint(1000, 8000)
        tid = choice(tids)
        k = rand()
        if k < 0.25:  # clock_gettime(CLOCK_MONOTONIC, &ts)
            ts = struct.pack("<qq", 1000 + t // 10**9, r.randrange(10**9))
            yield Syscall(tid, 228, (1, STACK, 0, 0, 0, 0), 0, ((STACK, ts),), (), 0, t)
        elif k < 0.45:  # read(3, buf, 4096)
            got = randint(0, 48)
            writes = ((HEAP, TEXT[:got]),) if got else ()
            yield Syscall(tid, 0, (3, HEAP, 4096, 0, 0, 0), got, writes, (), 0, t)
        elif k < 0.60:  # write(1, buf, n)
            cnt = randint(1, 80)
            yield Syscall(tid, 1, (1, HEAP + 0x800, cnt, 0, 0, 0), cnt, (), (), 0, t)
        elif k < 0.70:  # openat(AT_FDCWD, path, O_RDONLY|O_CLOEXEC)
            path = LIBC + r.randrange(0, 0x400, 8)
            reads = ((path, b"/etc/ld.so.cache\0"),)
            yield Syscall(tid, 257, (AT_FDCWD, path, 0x80000, 0, 0, 0), choice((3, 4, -2)), (), reads, 0, t)
        elif k < 0.80:  # close(fd)
            yield Syscall(tid, 3, (randint(3, 5), 0, 0, 0, 0, 0), 0, (), (), 0, t)
        elif k < 0.90:  # mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
            ln = 8192 * randint(1, 4)
            res = 0x7FFFF7FBD000 - 0x2000 * randint(0, 50)
            yield Syscall(tid, 9, (0, ln, 3, 0x22, 0xFFFFFFFFFFFFFFFF, 0), res, (), (), Syscall.EXECUTED, t)
        else:  # futex(addr, FUTEX_WAKE_PRIVATE, 1)
            yield Syscall(tid, 202, (LIBC + 0x9C0, 0x81, 1, 0, 0, 0), randint(0, 1), (), (), 0, t)


def write_sample(path: str | os.PathLike[str], n: int = 1000, *, seed: int = 1,
                 close: bool = True, chunk_events: int | None = None,
                 exit_status: int = 0) -> list[Any]:
    """Write a complete sample trace of about n+12 events; returns the events.

    With close=False the writer is flushed and abandoned without a footer,
    like a recorder that was killed.
    """
    from traces.writer import TraceWriter

    kwargs = {} if chunk_events is None else {"chunk_events": chunk_events}
    w = TraceWriter(path, HEADER, **kwargs)
    events: list[Any] = []

    def add(ev: Any) -> None:
        w.append(ev)
        events.append(ev)

    exe = w.blob(bytes(range(256)) * 64)  # a 16 KiB "executable"
    add(Spawn(1, 0, 1, Spawn.FORK, 0))
    add(Exec(1, "/tmp/sample", ["./sample", "--flag"], exe, 500))
    add(Input(1, "at_random", bytes(range(16)), 600))
    add(Spawn(2, 1, 1, Spawn.THREAD, 700))
    add(Spawn(3, 1, 1, Spawn.THREAD, 800))
    t = 1000
    half = n // 2
    for ev in syscall_events(half, seed, t0=t):
        add(ev)
        t = ev.time_ns
    add(Syscall(1, 0, (3, HEAP, 8192, 0, 0, 0), 8192, ((HEAP, (TEXT * 187)[:8192]),), (), 0, t + 1))  # a blob
    add(Spawn(4, 1, 4, Spawn.FORK, t + 2))
    add(Exec(4, "/bin/true", ["true"], None, t + 3))
    add(Input(1, "rdtsc", 123456789, t + 4))
    add(Signal(1, 17, bytes(128), t + 5))
    add(Exit(4, 0, t + 6))
    t += 7
    for ev in syscall_events(n - half, seed + 1, t0=t):
        add(ev)
        t = ev.time_ns
    add(Exit(3, 0, t + 1))
    add(Exit(2, 0, t + 2))
    add(Exit(1, exit_status << 8, t + 3))
    if close:
        w.close(exit_status << 8)
    else:
        w.abandon()  # no footer, as if the recorder was killed
    return events

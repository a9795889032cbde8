"""What a process's fds stand for, followed through the calls that make,
copy and close them.

Replay prints what the program writes to the fds that stand for scribe's own
stdout and stderr: 1 and 2 of the first process, and every copy a dup, a
fork or an exec made of them (scribe/replayer.py, `_echo`). It prints them
in the order of the trace, so the recorder makes those writes one at a time
(scribe/recorder.py, `_echo_turn`): two processes writing to the terminal
side by side reach it in one order, and their exit stops may come to the
tracer in the other.
"""

from __future__ import annotations

import struct
from typing import Any, Iterable

from virt import syscalls as S


def nr(name: str) -> int:
    return S.BY_NAME[name].nr


#: the calls whose bytes replay prints, and where they are: a buffer or an iovec
WRITE_CALLS = {nr("write"): "buf", nr("pwrite64"): "buf", nr("writev"): "iov", nr("pwritev"): "iov",
               nr("pwritev2"): "iov"}
CLOSE, CLOSE_RANGE, DUP, DUP2, DUP3, FCNTL = (nr(n) for n in ("close", "close_range", "dup", "dup2",
                                                               "dup3", "fcntl"))
PAIRS = frozenset({nr("pipe"), nr("pipe2"), nr("socketpair")})  # their new fds: written, as two ints
NEW_FD = frozenset(i.nr for i in S.SYSCALLS.values() if i.ret == "fd")
#: the calls `follow` looks at
CHANGES = frozenset({CLOSE, CLOSE_RANGE, DUP, DUP2, DUP3, FCNTL}) | PAIRS | NEW_FD


def follow(table: dict[int, Any], nr_: int, args: tuple[int, ...], res: int, written: Iterable[bytes]) -> None:
    """Keep `table` (fd -> what it stands for) in step with call nr_, which
    returned res >= 0; written: the bytes it wrote (a pipe's two fds). A new
    fd stands for nothing known; a dup for what its original stands for."""
    old = args[0] & 0xFFFFFFFF
    if nr_ == CLOSE:
        table.pop(old, None)
    elif nr_ == CLOSE_RANGE:
        if not args[2] & 4:  # CLOSE_RANGE_CLOEXEC: closed at exec only
            for fd in [f for f in table if old <= f <= args[1] & 0xFFFFFFFF]:
                del table[fd]
    elif nr_ == DUP:
        _dup(table, old, res)
    elif nr_ in (DUP2, DUP3):
        _dup(table, old, args[1] & 0xFFFFFFFF)
    elif nr_ == FCNTL:
        if args[1] in (0, 1030):  # F_DUPFD, F_DUPFD_CLOEXEC
            _dup(table, old, res)
    elif nr_ in PAIRS:
        for raw in written:
            for (fd,) in struct.iter_unpack("<i", raw[: len(raw) // 4 * 4]):
                table.pop(fd, None)
    elif nr_ in NEW_FD:
        table.pop(res, None)


def _dup(table: dict[int, Any], old: int, new: int) -> None:
    origin = table.get(old)
    if origin is None:
        table.pop(new, None)
    else:
        table[new] = origin

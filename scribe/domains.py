"""Which tracees may run user code at the same time.

Recording keeps the order in which tracees go back to user code; replay
follows it. Tasks that can touch the same memory must not run user code at
once, or their accesses would interleave in a way no trace shows. So each
task belongs to a *domain*, and one task of a domain runs user code at a
time; tasks of different domains run side by side (two compilers of
make -j2, the ends of a pipeline), because everything one process can see
of another passes through system calls, which are recorded.

A domain is:
- a process with its threads, and a child made with CLONE_VM (vfork) until
  it execs;
- or the one shared domain, for every process that has shared memory: it
  mapped something MAP_SHARED or attached SysV shared memory, or was forked
  from such a process (the child keeps those mappings).

A file mapped MAP_SHARED without PROT_WRITE is not shared memory here: glibc
maps its gconv cache so in every gcc and make, and that put every process
of make -j2 in the shared domain, one at a time. Replay maps such a file as a
private copy of the bytes recorded at mmap, so what another process writes
to the file meanwhile replays the same with or without the token. (mprotect
is not traced: a process that makes such a mapping writable later stays
out too, which for the same reason changes nothing replay shows.)

An exec starts a new domain: the new image shares nothing.

Replay keeps the same domains (scribe/replayer.py): it carries out the
events in the recorded order, and lets a task go back to user code while
tasks of other domains run theirs, as they did when recording. A task of
another domain never waits for memory a runner writes, only for its system
calls, and those are in the trace in the order they happened; so replay of
tar and its gzip, or of make -j2's compilers, computes on both sides at
once instead of taking turns.

Bound to one CPU (the default, virt/cpus.py) domains share that CPU: the
kernel, not the token, then decides who runs (2-4% less wall time for make
-j2, a pipeline, fork loops here); unbound they run on as many CPUs.

Not covered: a process that writes another's memory directly
(process_vm_writev, ptrace, /proc/<pid>/mem) while that one runs.
"""

from __future__ import annotations

import collections
from typing import Any

from virt.syscalls import BY_NAME

CLONE_VM = 0x00000100
MAP_TYPE = 0x03  # MAP_SHARED 1, MAP_PRIVATE 2, MAP_SHARED_VALIDATE 3
MAP_ANONYMOUS = 0x20
PROT_WRITE = 0x2
MMAP, SHMAT = BY_NAME["mmap"].nr, BY_NAME["shmat"].nr
SHARING = frozenset({MMAP, SHMAT})  # the calls that can give a process shared memory


class Domain:
    """Tasks that may touch the same memory; `runner` runs user code."""

    __slots__ = ("runner", "granted", "waiters", "shared")

    def __init__(self, shared: bool = False) -> None:
        self.runner: Any = None    # the Tracee in user code, if any
        self.granted = 0           # when it got its turn (coarse clock, ns)
        # (tracee, its release event, how to let it go: None = plain resume)
        self.waiters: collections.deque[tuple[Any, Any, Any]] = collections.deque()
        self.shared = shared

    def __repr__(self) -> str:
        who = getattr(self.runner, "vtid", None)
        return f"<Domain {'shared ' if self.shared else ''}runner={who} waiting={len(self.waiters)}>"


def of_child(parent: Domain, kind: int, flags: int) -> Domain:
    """The domain of a new task (kind: 0 fork, 1 vfork, 2 thread)."""
    if kind == 2 or flags & CLONE_VM or parent.shared:
        return parent
    return Domain()


def maps_shared(nr: int, args: tuple[int, ...], result: int) -> bool:
    """Whether a finished call (mmap, shmat: SHARING) gave its process shared memory."""
    if result < 0:
        return False
    if nr == MMAP:
        if (args[3] & MAP_TYPE) not in (1, 3):
            return False
        return bool(args[3] & MAP_ANONYMOUS or args[2] & PROT_WRITE)  # a file to read: no
    return nr == SHMAT

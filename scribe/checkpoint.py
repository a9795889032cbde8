"""Fork checkpoints of a live replay, for going back without re-running it all.

A checkpoint is two things taken at the same instant, while the replay is
paused in front of an event:

- a copy of every replayed process, made by making the stopped process
  itself call clone() (no CLONE_* flags, no exit signal): the copy has the
  same memory, registers, signal state, seccomp filter, process group and
  session, and stays stopped under ptrace;
- a deep copy of the replay's own state (the Replayer with its namespaces,
  the Tracer and its Tracee records, the parked continuations).

Restoring clones each copy once more (the checkpoint stays for the next
time), puts every new process back at the syscall entry where its original
stood, and swaps them in under the same virtual ids: the program cannot
tell, because every id it sees is virtual (the Zap idea).  Only the real
ids change, and `Vee.moved` renames them in the copied state.  A process
group or session led by a process keeps its real id: the copies are members
and keep it alive.

Why copies made this way replay correctly: the real parent of a copy is
the process it was made from (or a checkpoint's copy), not the copy of its
parent; that does not matter because replay emulates what depends on it
(wait4, waitid, kill and the other signal-sending calls, getppid) and
delivers every signal from the trace, and because every file descriptor
the program reads from is emulated too, so shared file offsets between
copy and original do not matter either.

What can be checkpointed: every process single-threaded (fork copies one
thread), every task held at a seccomp syscall-entry stop, no shared memory
mapped (a copy would share it with its original), no file mapped shared
earlier in the replay (replay's own file for it holds its latest state), no
SysV shared memory segment in the VEE, no task starting or ending, no signal of the replay's
own under way (one it sent and waits for).  A signal pending in the kernel
is no obstacle: a copy does not inherit it, and replay drops every real
signal anyway (deliveries come from the trace).  Anything else answers with the reason, and going back there
re-runs from the nearest earlier checkpoint or from the start.
"""

from __future__ import annotations

import contextlib
import copy
import os
import select
import signal
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from virt import ptrace_api as P
from virt.inject import InjectError, back_to_entry, expect_stop, getregs, inject, wait_stop
from virt.tracer import Tracer

WALL = 0x40000000
SYS_CLONE = 56
# Policy entries that mean the tracee is in the middle of something the
# copy would not carry on with (a signal sent and awaited, single-stepping).
_IN_FLIGHT = ("expect_signal", "deliver", "stepping", "singlestep", "skip_result", "restore", "killed")


class CheckpointError(Exception):
    """A checkpoint could not be taken or restored; str() is one line.

    fatal: the replayed task could not be put back where it stood, so the
    replay cannot go on."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


# What taking or restoring a checkpoint may raise (besides a fatal CheckpointError).
FAILURES = (CheckpointError, InjectError, OSError)


@dataclass
class Copy:
    orig_tid: int  # the real tid of the process in the checkpoint's state
    pid: int       # real pid of its stopped copy (our tracee, in no Tracer)
    regs: bytes    # its registers at the syscall-entry stop


@dataclass
class Checkpoint:
    event_no: int        # the replay was paused in front of this event
    copies: list[Copy]
    groups: set[int]     # real process group and session ids of the processes
    state: Any           # a deep copy of the Replayer (its .tracer comes along)

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in self.copies]


# -- copying the replay's state ---------------------------------------------------

_copy_lock = threading.Lock()


def _copy_function(f: types.FunctionType, memo: dict[int, Any]) -> types.FunctionType:
    """A closure bound to the copies of what it captured (a parked continuation)."""
    if not f.__closure__:
        return f
    cells = tuple(types.CellType() for _ in f.__closure__)
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, cells)
    g.__kwdefaults__ = f.__kwdefaults__
    g.__qualname__ = f.__qualname__
    memo[id(f)] = g
    for old, new in zip(f.__closure__, cells):
        try:
            value = old.cell_contents
        except ValueError:  # an empty cell
            continue
        new.cell_contents = copy.deepcopy(value, memo)
    return g


@contextlib.contextmanager
def _closures_copied() -> Iterator[None]:
    """copy.deepcopy treats functions as atomic; here closures are copied too."""
    with _copy_lock:
        dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
        old = dispatch[types.FunctionType]
        dispatch[types.FunctionType] = _copy_function
        try:
            yield
        finally:
            dispatch[types.FunctionType] = old


def copy_state(rep: Any, shared: list[Any]) -> Any:
    """A deep copy of the replayer `rep`, sharing the objects in `shared` and
    the recorded events it holds (events are never changed by replay)."""
    memo: dict[int, Any] = {id(o): o for o in shared}
    for item in rep.buf:
        memo[id(item)] = item
    memo[id(rep.it)] = None  # a generator: the copy opens its own (Replayer.rewind_stream)
    with _closures_copied():
        return copy.deepcopy(rep, memo)


def _new_copy(tid: int, regs: P.Regs, *, at_seccomp_stop: bool) -> int:
    """Clone task `tid` (no flags, no exit signal) and return the copy,
    stopped at its first stop."""
    res, child = inject(tid, regs, SYS_CLONE, (0,), at_seccomp_stop=at_seccomp_stop)
    if res < 0 or child is None:
        raise CheckpointError(f"the copy could not be made: {os.strerror(-res) if res < 0 else 'no new task'}")
    try:
        expect_stop(child, wait_stop(child), "it started")  # auto-attached
    except BaseException:
        discard(child)
        raise
    return child


def discard(pid: int) -> None:
    """Kill a stopped copy and reap it (it is our tracee, not in any Tracer)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    while True:
        try:
            _, status = os.waitpid(pid, WALL)
        except ChildProcessError:
            return
        except InterruptedError:  # pragma: no cover
            continue
        if not os.WIFSTOPPED(status):
            return
        try:
            P.cont(pid, 0)
        except P.PtraceFailure:
            pass


# -- taking and restoring ------------------------------------------------------------


def why_not(rep: Any, tracer: Tracer) -> str | None:
    """Why the paused replay cannot be checkpointed now; None if it can."""
    tasks = list(tracer.tracees.values())
    if not tasks:
        return "no process was alive"
    by_process: dict[int, int] = {}
    for t in tasks:
        by_process[t.tgid] = by_process.get(t.tgid, 0) + 1
    threaded = [(tgid, n) for tgid, n in by_process.items() if n > 1]
    if threaded:
        return f"process {rep.pids.to_virtual(threaded[0][0])} had {threaded[0][1]} threads"
    if tracer.unknown_stops or tracer.expected or rep.dying or rep.held_exits or rep.held_creators:
        return "a task was starting or ending"
    if not tracer.use_seccomp or not _exec_done(tracer):
        return "the program had not started yet"
    if rep.ipc.has_shared_memory():
        return "SysV shared memory existed"
    if rep.shared_files:
        # Replay's file for it holds the latest state, not this moment's:
        # a copy restored here that maps the file again would see the future.
        return "a file had been mapped shared"
    for t in tasks:
        if not (t.held and t.stopped and t.in_syscall and not t.want_exit) or t.exiting \
                or t.regs_dirty or t.vtid not in rep.parked and t.vtid not in rep.far_entry:
            return f"process {t.vpid} was not stopped at a syscall entry"
        if any(k in t.policy for k in _IN_FLIGHT):
            return f"a signal or a single step of process {t.vpid} was under way"
        try:
            shared = _shared_mappings(t.tid)
        except OSError as exc:
            return f"process {t.vpid} could not be inspected ({exc.strerror})"
        if shared:
            return f"process {t.vpid} had shared memory mapped ({shared})"
    return None


def take(rep: Any, tracer: Tracer, event_no: int, shared: list[Any]) -> Checkpoint:
    """Checkpoint the paused replay (why_not() said it can be done)."""
    copies: list[Copy] = []
    groups: set[int] = set()
    try:
        for t in list(tracer.tracees.values()):
            regs = getregs(t.tid)
            groups |= {os.getpgid(t.tid), os.getsid(t.tid)}
            try:
                pid = _new_copy(t.tid, regs, at_seccomp_stop=True)
            except FAILURES as exc:
                _put_back(t.tid, regs, exc)
                raise
            copies.append(Copy(t.tid, pid, bytes(regs)))
            try:
                back_to_entry(t.tid, regs)
            except FAILURES as exc:
                raise CheckpointError(f"process {t.vpid} could not go back into its syscall: {exc}",
                                      fatal=True) from None
        state = copy_state(rep, shared)
    except BaseException:
        for c in copies:
            discard(c.pid)
        raise
    return Checkpoint(event_no, copies, groups, state)


def _put_back(tid: int, regs: P.Regs, exc: BaseException) -> None:
    """After a failed copy: the task back at its syscall entry, or fatal."""
    try:
        back_to_entry(tid, regs)
    except FAILURES as exc2:
        raise CheckpointError(f"{exc}; the process could not go back into its syscall: {exc2}",
                              fatal=True) from None


def restore(cp: Checkpoint, shared: list[Any]) -> tuple[Any, Tracer]:
    """A new replay, paused where `cp` was taken: (replayer, tracer)."""
    moved: dict[int, int] = {}
    try:
        for c in cp.copies:
            regs = P.Regs.from_buffer_copy(c.regs)
            new = _new_copy(c.pid, regs, at_seccomp_stop=False)
            moved[c.orig_tid] = new
            back_to_entry(new, regs)
        rep = copy_state(cp.state, shared)
        rep.rewind_stream()
        rep.moved(moved, cp.groups)
        rep.tracer._err_fd = -1  # the first exec had succeeded (see why_not)
    except BaseException:
        for new in moved.values():
            discard(new)
        raise
    return rep, rep.tracer


def discard_checkpoint(cp: Checkpoint) -> None:
    for c in cp.copies:
        discard(c.pid)


def _exec_done(tracer: Tracer) -> bool:
    """The first program is running: its exec-error pipe (CLOEXEC) is closed."""
    fd = getattr(tracer, "_err_fd", -1)
    if fd < 0:
        return True
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)  # readable without a writer: EOF, or an error report


def _shared_mappings(pid: int) -> str:
    """The name of the first shared mapping of the process ('' if none)."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) >= 2 and parts[1][3:4] == "s":
                name = parts[5].strip() if len(parts) > 5 else "anonymous"
                return name or "anonymous"
    return ""


__all__ = ["FAILURES", "Checkpoint", "CheckpointError", "Copy", "discard", "discard_checkpoint",
           "restore", "take", "why_not"]

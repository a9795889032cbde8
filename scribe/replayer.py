"""The replayer: re-execute a program and feed it its recorded inputs.

Replay is generic (rr's rule): for most calls it only puts back what the trace
says — the result and the bytes the kernel wrote — and skips the call.
Calls that must change real kernel state (the table's "execute" policy:
memory maps, brk, clone/fork, execve, exit, signal state, arch_prctl, ...)
really run; the new real ids are bound to the recorded virtual ones.

Order: every event that lets a tracee return to user code (a syscall's
completion, a new task's first instruction, a signal delivery) is carried
out only when it is the next event of the trace. A tracee that reaches such a
point early is *parked* with a callback; `pump` runs the callbacks in trace
order. Executed calls run at once at their entry (the recorder ran them
there too) and park at their exit. As when recording, one task of a domain
(scribe/domains.py) runs user code at a time, and tasks of different
domains run side by side: the next event waits only for a runner of its
own task's domain to stop.

Divergence: at the first point where the live program does something the
trace does not say, replay stops with `Divergence` (event number, virtual
tid, expected vs actual).

Host independence: recorded executables (and their ELF interpreter) are run
from private copies when this machine's files differ or are gone; the copy's
path has the same length as the original so the new stack has exactly the
recorded layout. A file mapping maps this machine's file where its bytes
in the mapped range are the recorded ones (the SHA-256 of the blob says so);
otherwise it maps a private file of the recorded bytes, or anonymous memory
they are written into.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import os
import signal as _signal
import string
import struct
import sys
from typing import IO, Any, Callable, Iterable, Iterator

from scribe import determinism as D
from scribe import domains, fdtable
from scribe.domains import Domain
from scribe.hostcache import DigestCache
from scribe.recorder import (ERESTART, EXECUTED_NRS, NONBLOCKING_NRS, PREEMPT_REGS, REMADE, Recorder, file_version,
                             is_sync_fault)
from traces import BLOB_THRESHOLD, BlobRef, Exec, Exit, Input, Signal, Spawn, Syscall, TraceReader, Unknown
from virt import ptrace_api as P
from virt import syscalls as S
from virt import timepage as TP
from virt.inject import InjectError, back_to_entry, inject
from virt.memory import MemoryReadError
from virt.tracer import HOLD, RUN, RUN_EXIT, SKIP, Tracee
from virt.vee import Vee, nr

EXECVE = nr("execve")
EXECVEAT = nr("execveat")
MMAP = nr("mmap")
MAP_ANONYMOUS = 0x20
OPENAT, CLOSE = nr("openat"), nr("close")
OPENS = frozenset({nr("open"), nr("openat"), nr("openat2"), nr("creat")})
AT_FDCWD = (1 << 64) - 100
O_RDONLY_CLOEXEC = 0o2000000
# A file mapping this large is mapped from a file opened in the tracee for
# the call: this machine's file at the absolute path the program opened, if
# it holds the recorded bytes in that range; else, for bytes mapped before in
# this replay, a private file of them. The first time, or when smaller, the
# bytes are written in: that costs less than the file and two more calls.
MAP_FILE_MIN = 64 * 1024
MAP_FIXED = 0x10
MAP_PRIVATE = 0x02
MAP_FIXED_NOREPLACE = 0x100000
MAP_SHARED, MAP_SYNC = 0x01, 0x80000
O_RDWR_CLOEXEC = 0o2 | 0o2000000
# Calls that give a file another name or take one away: (the argument
# indexes of) the old name and the new one (None: it just goes).
RENAMES = {nr("link"): (0, 1), nr("rename"): (0, 1), nr("linkat"): (1, 3), nr("renameat"): (1, 3),
           nr("renameat2"): (1, 3), nr("unlink"): (0, None), nr("unlinkat"): (1, None)}
MOVES = frozenset({nr("rename"), nr("renameat"), nr("renameat2"), nr("unlink"), nr("unlinkat")})
ADDRESS_CALLS = frozenset({nr("mmap"), nr("brk"), nr("mremap"), nr("shmat")})
CLONES = frozenset({nr("clone"), nr("clone3"), nr("fork"), nr("vfork")})
NOT_TRACED = frozenset({nr("rt_sigreturn")})
# Executed by the recorder's host but emulated here: their effects (reaping,
# signals) come from the trace; running them would act twice.
EMULATE_HERE = frozenset(nr(n) for n in (
    "wait4", "waitid", "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "rt_sigsuspend", "pidfd_send_signal"))
NO_COMPARE = frozenset({EXECVE, EXECVEAT, nr("rt_sigreturn")})
SHMGET, SHMAT, SHMCTL = nr("shmget"), nr("shmat"), nr("shmctl")
CLONE3 = nr("clone3")
SET_ROBUST_LIST = nr("set_robust_list")
# Their input is a word other threads change by design (a lock's state): the
# value seen at entry is display, not something replay must find again.
SHARED_WORD_CALLS = frozenset({nr("futex"), nr("futex_waitv")} if "futex_waitv" in S.BY_NAME else {nr("futex")})
RT_SIGSUSPEND = nr("rt_sigsuspend")
EINTR = -errno.EINTR
# Calls that swap in the program's temporary signal mask while they wait:
# where the mask's address and size are (argument indexes; one index: a
# pointer to a {sigset_t *, size_t} pair, as pselect6 and io_pgetevents take).
TEMP_MASK_CALLS: dict[int, tuple[int, ...]] = {
    RT_SIGSUSPEND: (0, 1), nr("ppoll"): (3, 4), nr("epoll_pwait"): (4, 5), nr("pselect6"): (5,),
    nr("io_pgetevents"): (5,),
    **({nr("epoll_pwait2"): (4, 5)} if "epoll_pwait2" in S.BY_NAME else {}),
}


# Events read ahead of the head of the trace to find a thread's next one
# (about 600 bytes each in memory), and the long byte strings they hold
# themselves (what a pipe delivered stays in its event, not in a blob:
# traces.Inline). A thread whose next event is further away (it
# sat in a blocking call while others made many calls) waits at its syscall
# stop until that event comes within reach: memory stays bounded.
LOOKAHEAD_LIMIT = 100_000
LOOKAHEAD_BYTES = 64 << 20
BLOB_CACHE = 128 << 20
# A thread whose next event the trace's index (its footer's `far_next`)
# puts more than FAR_READ events beyond what is read, as a call made with a
# stop, is not read ahead for: no signal, preemption or buffered call comes
# before it, and the thread waits at that call's entry until its event
# comes within reach. A parent waiting for its child would have the whole
# of the child's life read ahead (tar's gzip: the whole trace) before
# the child could run on. Executed calls whose entry others' events depend
# on (a fork's child starts inside it, an execve ends the other threads,
# a kill signals) are read ahead for as before; wait4 and waitid only wait.
FAR_READ = 512
FAR_EXECUTED_OK = frozenset({nr("wait4"), nr("waitid")})


def _thread_of(ev: Any) -> int | None:
    """The thread whose next event `ev` can be (Exit events: none)."""
    return None if isinstance(ev, Exit) else getattr(ev, "tid", None)


def _buffered(item: tuple[int, Any] | None) -> bool:
    """A call recorded without a stop (the time page: a clock read, an I/O call)."""
    return item is not None and type(item[1]) is Syscall and bool(item[1].flags & Syscall.BUFFERED)


def _kept_bytes(ev: Any) -> int:
    """The bytes a call's event holds itself that a blob would have held
    before (what a pipe delivered: one range, written)."""
    if type(ev) is Syscall and ev.writes:
        d = ev.writes[0][1]
        if type(d) is bytes and len(d) >= BLOB_THRESHOLD:
            return len(d)
    return 0


def _stat_path(ev: Syscall) -> bool:
    """A buffered newfstatat of a path (not of an fd: its path "")."""
    return ev.nr == TP.NEWFSTATAT and bool(ev.reads) and ev.reads[0][1] != b"\0"


class _Live:
    """The live call as text, made only if a report needs it."""

    __slots__ = ("nr", "args")

    def __init__(self, t: Tracee) -> None:
        self.nr = t.nr
        self.args = t.args

    def __str__(self) -> str:
        return syscall_text(self.nr, self.args, 0).rsplit(" = ", 1)[0]

    def __add__(self, other: str) -> str:
        return str(self) + other


class ReplayError(Exception):
    """Replay cannot go on; str() is one line; `code` is the exit code."""

    code = 4


class Divergence(ReplayError):
    def __init__(self, n: int | None, vtid: int, expected: str, actual: str) -> None:
        where = f"event {n}" if n is not None else "end of trace"
        super().__init__(f"replay diverged at {where}, thread {vtid}: expected {expected}; "
                         f"the program did {actual}")
        self.n = n
        self.vtid = vtid
        self.expected = expected
        self.actual = actual


class EndOfTrace(ReplayError):
    code = 7


def syscall_text(nr: int, args: Any, result: int) -> str:
    """strace-like text of a call, for messages. virt.decode (ipaddress, the
    flag tables: ~2 ms) is imported when a message needs it, not at each start."""
    from virt import decode

    return decode.format_syscall(nr, args, result)


def describe(ev: Any) -> str:
    if isinstance(ev, Syscall):
        return syscall_text(ev.nr, ev.args, ev.result)
    try:
        from virt import decode

        return decode.format_event(ev)
    except Exception:
        return type(ev).__name__


class Replayer(Vee):
    traps_rdtsc = True  # determinism.child_setup; fed from the trace in signal()
    # File mappings from files of the recorded bytes (see _open_recorded_bytes).
    map_files = True
    # Clock reads recorded without a stop are put in the time page before the
    # thread runs on (virt/timepage.py); if not, they stop like other calls.
    prefill = True

    def __init__(self, reader: TraceReader, *, echo: bool = True, host_binaries: bool = False,
                 stdout: IO[bytes] | None = None, stderr: IO[bytes] | None = None) -> None:
        super().__init__()
        self.host_binaries = host_binaries
        self.r = reader
        self.it: Iterator[tuple[int, Any]] = reader.events()
        self.buf: collections.deque[tuple[int, Any]] = collections.deque()
        self.buf_bytes = 0  # _kept_bytes of the events in buf
        self.exits: dict[int, int] = {}  # vtid -> the number of its Exit event in buf
        # The same events by thread, in order (Exit events and events of no
        # thread left out): a thread's next event without a walk of `buf`.
        self.own: dict[int, collections.deque[tuple[int, Any]]] = {}
        self.last_own: dict[int, int] = {}  # vtid -> the number of its last event taken
        self.far_next: dict[int, tuple[int, int]] = getattr(reader, "far_next", None) or {}
        self.exhausted = False
        self.by_vtid: dict[int, Tracee] = {}
        self.parked: dict[int, Callable[[int, Any], None]] = {}
        # Threads held at a syscall entry whose next event lies beyond the lookahead.
        self.far_entry: dict[int, Tracee] = {}
        self.started = False
        self.echo = echo
        self.out = stdout if stdout is not None else sys.stdout.buffer
        self.err = stderr if stderr is not None else sys.stderr.buffer
        # per process, fd -> what it stands for: 1 or 2 (our stdout or stderr,
        # for echo), or the absolute path it was opened by (file mappings)
        self.fds: dict[int, dict[int, int | str]] = {}
        self.tempfiles: list[str] = []
        self.notes: list[str] = []
        self.consumed = 0
        hdr = reader.header
        self.signal_marks = bool(hdr.get("signal_marks")) if hasattr(hdr, "get") else False
        # The recording gave every exec'd image the time page: replay does too.
        page = hdr.get("time_page") if hasattr(hdr, "get") else None
        # 2: the clock calls alone; 3: no stat of a path; 4: data areas of 256 KiB
        self.time_page = page in (2, 3, 4, TP.VERSION)
        self.page_size = TP.SIZE_V2 if page == 2 else TP.SIZE
        self.slots = TP.Slots()  # the processes with the page, and which threads hold a slot (replay's own)
        self.prefilled: set[int] = set()  # event numbers put in a page, not yet passed in buf
        self._blobs: dict[bytes, bytes] = {}
        self._blob_files: dict[bytes, str | None] = {}  # digest -> a private file of those bytes
        # The path a file mapped shared and writable was opened by -> replay's
        # own file for it, which every process that maps that file shares.
        self.shared_files: dict[str, str] = {}
        self._host_ranges: DigestCache | None = None  # file version, range -> digest (loaded when needed)
        self._blob_bytes = 0
        self.dying: set[Tracee] = set()
        # One task of a domain runs user code at a time, as when recording
        # (scribe/domains.py): Tracee.state is its Domain, whose runner is
        # the task the last event of the domain let go, until it stops.
        # `running`: those runners.
        self.shared_domain = Domain(shared=True)
        self.running: set[Tracee] = set()
        # Live debugging: do not carry out this event (or any later) yet.
        self.stop_before: int | None = None
        self.on_event: Callable[[int, Any], None] | None = None  # for live debugging
        # Live debugging: offered a checkpoint in front of events >= checkpoint_from.
        self.on_checkpoint: Callable[[int], None] | None = None
        self.checkpoint_from = sys.maxsize

    # -- the trace stream --------------------------------------------------
    def _fill(self) -> bool:
        if self.exhausted:
            return False
        try:
            item = next(self.it)
        except StopIteration:
            self.exhausted = True
            return False
        self.buf.append(item)
        ev = item[1]
        if type(ev) is Syscall and ev.writes:  # (tested here: every event passes)
            self.buf_bytes += _kept_bytes(ev)
        tid = _thread_of(ev)
        if tid is None and type(ev) is Exit:
            self.exits[ev.tid] = item[0]
        elif tid is not None:
            own = self.own.get(tid)
            if own is None:
                own = self.own[tid] = collections.deque()
            own.append(item)
        return True

    def rewind_stream(self) -> None:
        """A copy of this replayer (a checkpoint) reads on from where it was."""
        nxt = self.buf[-1][0] + 1 if self.buf else self.consumed
        self.it = self.r.events(nxt)

    def head(self) -> tuple[int, Any] | None:
        if not self.buf and not self._fill():
            return None
        return self.buf[0]

    def next_of(self, vtid: int) -> tuple[int, Any] | None:
        """Thread vtid's next event (not an Exit), reading on as far as the
        lookahead allows; None if it lies beyond."""
        own = self.own.get(vtid)
        if own:
            return own[0]
        if self.far_next and self._far(vtid):
            return None
        while len(self.buf) < LOOKAHEAD_LIMIT and self.buf_bytes < LOOKAHEAD_BYTES and self._fill():
            item = self.buf[-1]
            if _thread_of(item[1]) == vtid:
                return item
        return None

    def _far(self, vtid: int) -> bool:
        """The trace's index puts thread vtid's next event far beyond what
        is read, as a call read ahead for no longer (FAR_READ)."""
        got = self.far_next.get(self.last_own.get(vtid, -1))
        if got is None:
            return False
        m, what = got
        if m < 0:
            return True  # its last event: none comes
        if what < 0 or (what in EXECUTED_NRS and what not in FAR_EXECUTED_OK):
            return False
        read = self.buf[-1][0] + 1 if self.buf else self.consumed
        return m - read > FAR_READ

    def _take(self, item: tuple[int, Any]) -> None:
        """`item` leaves the buffer: it is its thread's next event."""
        tid = _thread_of(item[1])
        if tid is not None:
            own = self.own[tid]
            assert own[0] is item
            own.popleft()
            if not own:
                del self.own[tid]
            self.last_own[tid] = item[0]

    def consume(self) -> tuple[int, Any]:
        item = self.buf.popleft()
        if self.buf_bytes:
            self.buf_bytes -= _kept_bytes(item[1])
        if type(item[1]) is Exit:
            self.exits.pop(item[1].tid, None)
        self._take(item)
        self.consumed = item[0] + 1
        if self.on_event is not None:
            self.on_event(*item)
        return item

    def end_of_trace(self, t: Tracee, what: str) -> ReplayError:
        if not self.r.complete:
            return EndOfTrace(f"replay reached the end of the incomplete trace "
                              f"({len(self.r)} events; the recording stopped there)")
        return Divergence(None, t.vtid, "nothing more (the recorded program had finished)", what)

    # -- parking -------------------------------------------------------------
    def park(self, t: Tracee, cb: Callable[[int, Any], None]) -> None:
        t.held = True
        self.parked[t.vtid] = cb
        self._unrun(t)

    # -- domains -------------------------------------------------------------
    def _run(self, t: Tracee | None) -> None:
        """t goes back to user code: its domain's runner."""
        if t is None:
            return
        d: Domain | None = t.state  # type: ignore[assignment]
        if d is None:  # (a task no fork event announced)
            d = t.state = Domain()
        elif d.runner is not None and d.runner is not t:
            self.running.discard(d.runner)
        d.runner = t
        self.running.add(t)

    def _unrun(self, t: Tracee) -> None:
        """t stopped (or blocks in the kernel, or is gone): others of its domain may run."""
        d: Domain | None = t.state  # type: ignore[assignment]
        if d is not None and d.runner is t:
            d.runner = None
        self.running.discard(t)

    def _join_shared(self, t: Tracee) -> None:
        """t's process mapped shared memory (at the exit stop, as the
        recorder saw it): every task of its domain joins the shared one, and
        t's next event waits for that domain's runner as t's did then."""
        old: Domain = t.state  # type: ignore[assignment]
        if old is self.shared_domain:
            return
        self._unrun(t)
        for o in self.tracer.tracees.values():
            if o.state is old:
                o.state = self.shared_domain

    def _dying_done(self) -> bool:
        """Tasks told to exit must be gone before anything else happens: their
        death writes memory (CLONE_CHILD_CLEARTID) and wakes futex waiters."""
        live = self.tracer.tracees
        for t in list(self.dying):
            if t.tid not in live or t.exit_status is not None:
                self.dying.discard(t)
                continue
            if t.tid == t.tgid and t.exiting and any(
                    o.tgid == t.tgid and o is not t for o in live.values()):
                self.dying.discard(t)  # a leader's zombie waits for its threads
                continue
            return False
        return True

    def pump(self) -> None:
        while True:
            if self.dying and not self._dying_done():
                return
            h = self.head()
            if h is None:
                break
            n, ev = h
            if n in self.prefilled:  # its thread takes it from its time page
                self.prefilled.discard(n)
                self.buf.popleft()
                if self.buf_bytes:
                    self.buf_bytes -= _kept_bytes(ev)
                self.consumed = n + 1
                continue
            if isinstance(ev, Exit):
                # The recorder saw this task gone here: later events may depend
                # on it (CLONE_CHILD_CLEARTID, a reaped zombie), so wait for it.
                if not self._exit_event(ev):
                    break
                self.consume()
                continue
            if isinstance(ev, Unknown):
                self.consume()
                continue
            if self.stop_before is not None and n >= self.stop_before:
                break  # live debugging: stop in front of this event
            task = self.by_vtid.get(ev.tid)
            d: Domain | None = task.state if task is not None else None  # type: ignore[assignment]
            runner = d.runner if d is not None else None
            if runner is not None and runner.vtid != ev.tid:
                if not self._doomed(runner):
                    break  # one task of a domain in user code at a time, as when recording
                self._stop_doomed(runner)
            if n >= self.checkpoint_from and self.on_checkpoint is not None and ev.tid in self.parked:
                self.on_checkpoint(n)  # live debugging: its task waits in front of n
            cb = self.parked.pop(ev.tid, None)
            if cb is None:
                far = self.far_entry.pop(ev.tid, None)
                if far is None:
                    break
                # Its next event is the head now: handle the entry it waits at.
                self._run(far)
                action = self.syscall_entry(far)
                if action != HOLD:
                    self.tracer.finish_entry(far, action)
                continue
            self.consume()
            self._run(task)
            cb(n, ev)
        self._check_stuck()

    def at_stop(self) -> bool:
        """Live debugging: every tracee is stopped in front of event stop_before."""
        if self.stop_before is None:
            return False
        h = self.head()
        if h is None or h[0] < self.stop_before:
            return False
        tr = self.tracer
        return not tr.unknown_stops and all(t.held for t in tr.tracees.values())

    def _check_stuck(self) -> None:
        if any(not r.held for r in self.running):
            return  # one is running: nothing is stuck
        if self.stop_before is not None:
            h = self.head()
            if h is not None and h[0] >= self.stop_before:
                return
        tr = self.tracer
        if not tr.tracees or tr.unknown_stops:
            return
        if not all(t.held and not t.policy.get("killed") for t in tr.tracees.values()):
            return  # (a task killed at its Exit dies next)
        h = self.head()
        if h is None:
            t = next(iter(tr.tracees.values()))
            raise self.end_of_trace(t, "more work after the last recorded event")
        n, ev = h
        waiting = ", ".join(f"thread {v}" for v in sorted(self.parked)) or "none"
        raise Divergence(n, getattr(ev, "tid", 0), describe(ev),
                         f"not reach it (threads waiting elsewhere: {waiting})")

    def _doomed(self, t: Tracee) -> bool:
        """t runs user code and has no event left before its Exit: another
        process killed it there (SIGKILL; its own domain, so nobody waited
        for it to stop). It may never stop by itself (a loop without calls)."""
        return t.vtid in self.exits and not self.own.get(t.vtid) and not t.held

    def _stop_doomed(self, t: Tracee) -> None:
        """Let the others go on: t stops where it is (PTRACE_INTERRUPT) and
        waits there for its Exit, which kills it (_exit_event)."""
        self._unrun(t)
        if not t.policy.get("doomed"):
            t.policy["doomed"] = True
            try:
                P.interrupt(t.tid)
            except OSError:
                pass

    def interrupted(self, t: Tracee) -> bool:
        if t.policy.get("doomed"):
            t.held = True
            return True
        return super().interrupted(t)

    def _exit_event(self, ev: Exit) -> bool:
        """True once the task of an Exit event is gone."""
        t = self.by_vtid.get(ev.tid)
        if t is None or t.tid not in self.tracer.tracees or t.exit_status is not None:
            return True
        if os.WIFSIGNALED(ev.status) and os.WTERMSIG(ev.status) == _signal.SIGKILL \
                and not t.policy.get("killed"):
            t.policy["killed"] = True
            try:
                os.kill(t.tid, _signal.SIGKILL)
            except OSError:
                pass
        return False

    # -- the seccomp filter: the recorder's ------------------------------------
    def trace_set(self) -> set[int]:
        out = {i.nr for i in S.SYSCALLS.values() if i.replay != S.ALLOW}
        return (out | super().trace_set()) - NOT_TRACED

    errno_set = Recorder.errno_set  # the same calls fail the same way

    def allow_at(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        # The time page's code asks for its thread's id without a stop.
        return ((TP.GETTID_IP, (TP.GETTID,)), (TP.IO_GETTID_IP, (TP.GETTID,))) if self.time_page else ()

    # -- lifecycle -------------------------------------------------------------
    def first_process(self, t: Tracee) -> None:
        h = self.head()
        if h is None or not isinstance(h[1], Spawn):
            raise Divergence(h[0] if h else None, 1, "the first process to start",
                             "start (the trace does not begin with one)")
        self.consume()
        ev = h[1]
        t.vtid = ev.tid
        t.vpid = ev.pid
        self.pids.allocate(t.tid, ev.pid)
        self.by_vtid[t.vtid] = t
        self.fds[t.vpid] = {0: 0, 1: 1, 2: 2}
        t.state = Domain()
        self._run(t)

    def prepare_first(self) -> tuple[str, list[str], dict[str, str], str | None]:
        """Path, argv, env and cwd to start the recorded program with."""
        hdr = self.r.header
        exe = hdr.get("exe") if hasattr(hdr, "get") else None
        argv = list(hdr.argv)
        env = dict(hdr.env)
        exec_ev, files = self._first_exec()
        orig = exe or (exec_ev.path if exec_ev else argv[0])
        path = self.exec_target(len(orig.encode()), exec_ev, files, orig) or orig
        cwd = hdr.cwd if hdr.cwd and os.path.isdir(hdr.cwd) else None
        if cwd is None:
            self.notes.append(f"the recorded working directory {hdr.cwd!r} does not exist here")
        return path, argv, env, cwd

    def _first_exec(self) -> tuple[Exec | None, dict[str, Any]]:
        exec_ev = None
        files: dict[str, Any] = {}
        for i in range(min(len(self.r), 16)):
            ev = self.r[i]
            if isinstance(ev, Exec) and exec_ev is None:
                exec_ev = ev
            elif isinstance(ev, Input) and ev.what == "exec_files" and exec_ev is not None:
                files = dict(ev.value)
                break
            elif isinstance(ev, Syscall) and exec_ev is not None:
                break
        return exec_ev, files

    def spawned(self, parent: Tracee, child: Tracee, kind: int, flags: int) -> None:
        item = self.next_of(parent.vtid)
        if item is None or not isinstance(item[1], Syscall) or item[1].nr not in CLONES:
            raise Divergence(item[0] if item else None, parent.vtid,
                             describe(item[1]) if item else "no new task",
                             "create a new task")
        vid = item[1].result
        self.pids.allocate(child.tid, vid)
        child.vtid = vid
        if kind == 2:
            child.vpid = parent.vpid
        else:
            child.vpid = vid
            self.vppid[vid] = parent.vpid
            self.fds[vid] = dict(self.fds.get(parent.vpid, {}))
            if self.slots.has_page(parent.tgid) and not flags & 0x100:  # CLONE_VM
                self.slots.copy(child, parent.tgid)
        self.by_vtid[vid] = child
        child.state = domains.of_child(parent.state, kind, flags)  # type: ignore[arg-type]
        self._settid(parent, child, flags, parent_side=True)

    def child_started(self, child: Tracee) -> None:
        super().child_started(child)

        def go(n: int, ev: Any) -> None:
            if not isinstance(ev, Spawn):
                raise Divergence(n, child.vtid, describe(ev), "start a new task")
            self._release(child)
        self.park(child, go)

    def execed(self, t: Tracee, former_tid: int) -> None:
        super().execed(t, former_tid)
        if former_tid != t.tid:
            self.by_vtid[t.vtid] = t
        self._unrun(t)
        t.state = Domain()  # the new image shares memory with nobody

        def go(n: int, ev: Any) -> None:
            if not isinstance(ev, Exec):
                raise Divergence(n, t.vtid, describe(ev), "an exec")
            self.started = True
            self.slots.forget(t.tgid)
            t.policy.pop("page", None)
            rnd, where = D.patch_auxv(t, self.time_page)
            if where is not None:
                t.policy["time_page"] = where  # put in at the exit stop
            while True:
                h = self.head()
                if h is None or not isinstance(h[1], Input) or h[1].tid != t.vtid \
                        or h[1].what not in ("exec_files", "at_random"):
                    break
                self.consume()
                if h[1].what == "at_random" and rnd:
                    t.write(rnd, self.data(h[1].value))
            self.tracer.resume(t)
        self.park(t, go)

    def exiting(self, t: Tracee, status: int) -> bool:
        self.slots.take_back(t)  # (a thread of a process that lives on)
        self._unrun(t)
        return super().exiting(t, status)

    def exited(self, t: Tracee, status: int) -> None:
        super().exited(t, status)
        self.parked.pop(t.vtid, None)
        self.far_entry.pop(t.vtid, None)
        self._unrun(t)
        self.slots.take_back(t, in_memory=False)
        if t.tid == t.tgid:  # its pid may be handed out again
            self.slots.forget(t.tgid)

    # -- syscalls ----------------------------------------------------------------
    def data(self, x: bytes | BlobRef) -> bytes:
        """Bytes of an event field; blobs (mapped libraries...) decoded once."""
        if not isinstance(x, BlobRef):
            return x
        got = self._blobs.get(x.digest)
        if got is None:
            got = self.r.data(x)
            if self._blob_bytes + len(got) <= BLOB_CACHE:
                self._blobs[x.digest] = got
                self._blob_bytes += len(got)
        return got

    def syscall_entry(self, t: Tracee) -> int:
        live = _Live(t)
        if "page" in t.policy:
            self._page_taken(t, live)
        item = self.next_of(t.vtid)
        if item is None and (not self.exhausted or t.vtid in self.exits):
            # Beyond the lookahead: wait here until the trace comes that far.
            # (Or killed before this call: SIGKILL when its Exit comes.)
            self.far_entry[t.vtid] = t
            self._unrun(t)
            return HOLD
        if item is None:
            raise self.end_of_trace(t, live)
        n, ev = item
        if isinstance(ev, Signal):
            self.park(t, lambda n2, ev2: self._signal_at_entry(t, ev2))
            return HOLD
        if isinstance(ev, Input) and ev.what == "signal_at_entry":
            self.park(t, lambda n2, ev2: self._signal_at_entry(t, None, int(ev2.value)))
            return HOLD
        if isinstance(ev, Exec) and t.nr in (EXECVE, EXECVEAT):
            self._prepare_exec(t, ev)
            return RUN_EXIT
        if not isinstance(ev, Syscall) or ev.nr != t.nr:
            raise Divergence(n, t.vtid, describe(ev), live)
        self._check_args(n, t, ev, live)
        if ev.flags & Syscall.PATCHED:
            self._patch_site(n, t, ev)
        info = S.info(t.nr)
        if info.replay == S.EXECUTE and t.nr not in EMULATE_HERE:
            if ev.flags & Syscall.NO_EXIT:
                self.park(t, lambda n2, ev2: self._exit_call(t))
                return HOLD
            if not self._translate_executed(t, ev):
                self.park(t, lambda n2, ev2: self._emulate(t, ev2))
                return HOLD
            if t.nr not in NONBLOCKING_NRS or self._vfork_like(t):
                self._unrun(t)  # the recorder let others of its domain run meanwhile, too
            return RUN_EXIT
        self.park(t, lambda n2, ev2: self._emulate(t, ev2))
        return HOLD

    _vfork_like = Recorder._vfork_like

    def _exit_call(self, t: Tracee) -> None:
        if t.nr == nr("exit_group"):
            self.dying.update(o for o in self.tracer.tracees.values() if o.tgid == t.tgid)
        else:
            self.dying.add(t)
        self.tracer.finish_entry(t, RUN)

    def _check_inputs(self, n: int, t: Tracee, ev: Syscall, how: str = "") -> None:
        """The memory the call reads (paths, data written...) must be what it was."""
        if not ev.reads or t.nr in SHARED_WORD_CALLS:
            return
        try:
            live = S.entry_inputs(t.nr, t.args, t)
        except Exception:
            return
        recorded = [(a, d) for a, d in ev.reads if isinstance(d, bytes)]
        mine = [(a, d) for a, d in live if len(d) < 4096]
        if recorded != mine[:len(recorded)] and len(recorded) == len(mine):
            for (a, d), (a2, d2) in zip(recorded, mine):
                if (a, d) != (a2, d2):
                    raise Divergence(n, t.vtid, f"{describe(ev)}{how} reading {d[:40]!r} at {a:#x}",
                                     f"the same call with {d2[:40]!r} there")

    def _check_args(self, n: int, t: Tracee, ev: Syscall, live: str) -> None:
        if t.nr in NO_COMPARE or not self.started:
            return
        count = len(S.info(t.nr).args)
        if tuple(t.args[:count]) != tuple(ev.args[:count]):
            diff = [f"arg {i}: {t.args[i]:#x} (recorded {ev.args[i]:#x})"
                    for i in range(count) if t.args[i] != ev.args[i]]
            raise Divergence(n, t.vtid, describe(ev).rsplit(" = ", 1)[0], f"{live} [{'; '.join(diff)}]")
        self._check_inputs(n, t, ev)

    def _translate_executed(self, t: Tracee, ev: Syscall) -> bool:
        """Prepare an executed call; False: emulate it after all."""
        if t.nr == MMAP and not (t.args[3] & MAP_ANONYMOUS) and ev.result >= 0:
            if domains.maps_shared(t.nr, t.args, ev.result):
                # Shared and writable (a semaphore in /dev/shm): replay's own
                # file for it, mapped shared, so that every process that maps
                # it, and the children forked from those, share it as they did
                # when recording, where they ran one at a time in the order
                # replay follows. (No path known: shared anonymous memory the
                # recorded bytes are written into, which the children share.)
                opened = self._open_shared_file(t, ev)
                flags = (t.args[3] & ~(0x03 | MAP_FIXED_NOREPLACE | MAP_SYNC)) | MAP_SHARED | MAP_FIXED
                t.set_arg(0, ev.result)
                t.set_arg(3, flags if opened is not None else flags | MAP_ANONYMOUS)
                t.set_arg(4, opened[0] if opened is not None else (1 << 64) - 1)
                t.set_arg(5, opened[1] if opened is not None else 0)
                return True
            # A file mapping: the same range, private, of the recorded bytes:
            # a file that holds them, or anonymous memory they are written into.
            opened = self._open_recorded_bytes(t, ev)
            t.set_arg(0, ev.result)
            flags = (t.args[3] & ~(0x03 | MAP_FIXED_NOREPLACE)) | MAP_PRIVATE | MAP_FIXED
            t.set_arg(3, flags if opened is not None else flags | MAP_ANONYMOUS)
            t.set_arg(4, opened[0] if opened is not None else (1 << 64) - 1)
            t.set_arg(5, opened[1] if opened is not None else 0)
            return True
        if t.nr == MMAP and ev.result < 0:
            return False
        if t.nr in CLONES and ev.result < 0:
            return False  # it failed (or was refused in the VEE): nothing to create
        if t.nr == CLONE3 and t.args[0] and t.args[1] >= 80:
            # set_tid was handled in virtual space when recording: the
            # kernel picks any real pid now too; the recorded one is bound.
            try:
                raw = t.read(t.args[0] + 64, 16)
            except MemoryReadError:
                raw = b""
            if raw and raw != b"\0" * 16:
                t.write(t.args[0] + 64, b"\0" * 16)
                t.policy["restore"] = [(t.args[0] + 64, raw)]
        if t.nr in (SHMAT, SHMCTL):
            real = self.ipc["shm"].to_real(t.args[0] & 0xFFFFFFFF)
            if real is None:
                return False
            t.set_arg(0, real)
        return True

    def _open_recorded_bytes(self, t: Tracee, ev: Syscall) -> tuple[int, int] | None:
        """At a file mmap's entry: an fd, open in the tracee, on a file that
        holds the recorded bytes of the mapping, and the offset to map them
        from (None: fill them in)."""
        content = next((data for addr, data in ev.writes if addr == ev.result), None)
        if not self.map_files or not isinstance(content, BlobRef) or content.size < MAP_FILE_MIN:
            return None
        offset = ev.args[5]
        path = self._host_file(t.vpid, ev.args[4] & 0xFFFFFFFF, offset, ev.args[1], content)
        if path is None:
            offset, path = 0, self._private_copy(content)
            if path is None:
                return None
        return self._open_for_mapping(t, ev, path, O_RDONLY_CLOEXEC, offset, "the recorded bytes of a file mapping")

    def _open_for_mapping(self, t: Tracee, ev: Syscall, path: str, flags: int, offset: int,
                          what: str) -> tuple[int, int] | None:
        """Open path in the tracee (at its mmap's entry) for the mmap to map:
        (fd, offset), the fd closed at the exit; None if it cannot be opened."""
        try:
            name = t.scratch(path.encode() + b"\0")
            fd, _ = inject(t.tid, t.regs, OPENAT, (AT_FDCWD, name, flags), at_seccomp_stop=True)
            back_to_entry(t.tid, t.regs)
        except (InjectError, OSError) as exc:
            raise ReplayError(f"thread {t.vtid} could not open {what}: {exc}") from None
        if fd < 0:
            return None
        t.policy["mapped"] = (ev.result, fd)
        return fd, offset

    def _open_shared_file(self, t: Tracee, ev: Syscall) -> tuple[int, int] | None:
        """At a shared, writable file mmap's entry: an fd, open read-write in
        the tracee, on replay's own file standing for the one mapped (known
        by the absolute path it was opened by, followed through link and
        rename), and the offset. The recorded bytes are put in where that
        file does not reach yet; what it holds already is the shared state
        the recording's processes saw too. None: the path is not known."""
        path = self.fds.get(t.vpid, {}).get(ev.args[4] & 0xFFFFFFFF)
        if not isinstance(path, str):
            return None
        content = next((data for addr, data in ev.writes if addr == ev.result), b"")
        data, offset = self.data(content), ev.args[5]
        own = self.shared_files.get(path)
        try:
            if own is None:
                own = self.shared_files[path] = self._private_file(b"")
            size = os.path.getsize(own)
            if offset + len(data) > size:
                with open(own, "r+b") as f:
                    start = max(size, offset)
                    f.seek(start)
                    f.write(data[start - offset:])
        except OSError as exc:
            raise ReplayError(f"thread {t.vtid} could not make the file of a shared mapping: {exc}") from None
        return self._open_for_mapping(t, ev, own, O_RDWR_CLOEXEC, offset, "the file of a shared mapping")

    def _follow_names(self, t: Tracee, ev: Syscall) -> None:
        """link, rename, unlink of a file mapped shared: its new name stands
        for the same file of replay's; a name taken away stands for none."""
        old_at, new_at = RENAMES[t.nr]
        names = {addr: data for addr, data in ev.reads if isinstance(data, bytes)}

        def name(i: int | None) -> str | None:
            raw = names.get(t.args[i]) if i is not None else None
            return os.fsdecode(raw.rstrip(b"\0")) if raw and raw[:1] == b"/" else None

        old, new = name(old_at), name(new_at)
        own = self.shared_files.get(old) if old is not None else None
        if new is not None:
            if own is not None:
                self.shared_files[new] = own
            else:
                self.shared_files.pop(new, None)  # replaced by another file
        if old is not None and t.nr in MOVES:
            self.shared_files.pop(old, None)

    def _private_copy(self, content: BlobRef) -> str | None:
        """A private file of the blob's bytes, made the second time they are
        mapped in this replay (None the first time: they are written in)."""
        path = self._blob_files.get(content.digest)
        if path is None:
            if content.digest not in self._blob_files:
                self._blob_files[content.digest] = None  # seen once
                return None
            path = self._private_file(self.data(content))
            self._blob_files[content.digest] = path
        return path

    def _host_file(self, vpid: int, fd: int, offset: int, length: int, content: BlobRef) -> str | None:
        """The path the program opened fd by, if this machine's file there
        holds the recorded bytes of the mapping: mapping it needs neither
        the blob nor a copy of it."""
        path = self.fds.get(vpid, {}).get(fd)
        if not isinstance(path, str):
            return None
        return path if host_file_holds(path, offset, length, content, self._host_digests()) else None

    def _host_digests(self) -> DigestCache:
        """The digests of this machine's files and file ranges (the
        recorder's too: scribe/hostcache.py), loaded at the first use."""
        if self._host_ranges is None:
            self._host_ranges = DigestCache()
        return self._host_ranges

    def _close_in(self, t: Tracee, fd: int) -> None:
        """At an exit stop: close fd in the tracee; its registers stay as they are."""
        try:
            inject(t.tid, t.regs, CLOSE, (fd,), at_seccomp_stop=False)
            P.setregs(t.tid, t.regs)
        except (InjectError, OSError) as exc:
            raise ReplayError(f"thread {t.vtid} could not close the file of a mapping: {exc}") from None

    def syscall_exit(self, t: Tracee) -> None:
        where = t.policy.pop("time_page", None)
        if where is not None and t.nr in (EXECVE, EXECVEAT):
            if D.install_time_page(t, TP.MODE_REPLAY, where, size=self.page_size):  # type: ignore[arg-type]
                self.slots.new_image(t.tgid)
        for addr, raw in t.policy.pop("restore", ()):  # type: ignore[union-attr]
            t.write(addr, raw)
        if t.nr in domains.SHARING and domains.maps_shared(t.nr, t.args, t.result):
            self._join_shared(t)
        mapped = t.policy.pop("mapped", None)
        if mapped is not None:
            self._close_in(t, mapped[1])  # type: ignore[index]
            t.policy["mapped_at"] = mapped[0]  # type: ignore[index]  # no bytes to fill in
        interrupted = t.policy.pop("sigsuspend", None)
        if interrupted is not None:
            # It ran as rt_sigsuspend: the program sees its own call, cut
            # short as recorded (the kernel restarts that call if the handler
            # asks for it); its recorded signal comes next (expect_signal).
            t.regs.orig_rax = t.nr
            t.set_result(interrupted)  # type: ignore[arg-type]
            return
        restart = t.policy.pop("restart", None)
        if restart is not None:
            # An emulated call the recorded signal interrupted: let the kernel
            # see the restart code with the call number, as it did then.
            t.regs.orig_rax = restart
            t.regs_dirty = True
            self._after_release(t)
            return
        item = self.next_of(t.vtid)
        if t.result in REMADE and item is not None \
                and not (isinstance(item[1], Syscall) and item[1].result in ERESTART):
            # A signal the recording did not have here cut the call short (a
            # child's SIGCHLD, its process running beside this one): the
            # signal is dropped, as the trace says when signals come, and
            # the kernel makes the call again. Its entry stops again, for
            # the same event (still read: its entry found it).
            return
        if item is None and not self.exhausted:
            # Beyond the lookahead: check the exit when its event comes.
            def far(n2: int, ev2: Any) -> None:
                self._exit_checked(t, n2, ev2)
                self._apply_writes(t, ev2)
                self._release(t)
            self.park(t, far)
            return
        if item is None:
            raise self.end_of_trace(t, syscall_text(t.nr, t.args, t.result))
        self._exit_checked(t, *item)

        def go(n2: int, ev2: Any) -> None:
            self._apply_writes(t, ev2)
            self._release(t)
        self.park(t, go)

    def _exit_checked(self, t: Tracee, n: int, ev: Any) -> None:
        """The live exit matches the recorded one: take its result."""
        if not isinstance(ev, Syscall) or ev.nr != t.nr:
            raise Divergence(n, t.vtid, describe(ev), syscall_text(t.nr, t.args, t.result))
        res = t.result
        if t.nr in ADDRESS_CALLS and res != ev.result and not (t.nr == MMAP and ev.result < 0):
            raise Divergence(n, t.vtid, describe(ev),
                             f"{S.info(t.nr).name}(...) = {res:#x} (the memory layout differs)")
        if t.nr == SET_ROBUST_LIST and res == 0:
            self.robust_heads[t.tid] = t.args[0]  # owner words get real tids at exit
        if t.nr == SHMGET and res >= 0 and ev.result >= 0:
            self.ipc["shm"].bind_as(res, ev.result)
        t.set_result(ev.result)

    def _emulate(self, t: Tracee, ev: Syscall) -> None:
        if not isinstance(ev, Syscall) or ev.nr != t.nr:
            raise Divergence(None, t.vtid, describe(ev), S.info(t.nr).name)
        self._echo(t, ev)
        self._track_fds(t, ev)
        if t.nr in RENAMES and ev.result == 0 and self.shared_files:
            self._follow_names(t, ev)
        self._apply_writes(t, ev)
        if ev.result in ERESTART and self._next_signal(t) is None:
            # Interrupted without a signal (a ptrace stop): the kernel ran
            # it again. Rewind it; its rerun is the next recorded call.
            t.skip(t.nr)
            t.regs.rip -= 2
            self.tracer.finish_entry(t, SKIP)
            return
        if (ev.result in ERESTART or ev.result == EINTR) and self._under_temporary_mask(t, ev.result):
            return
        if ev.result in ERESTART:
            t.skip(ev.result)
            t.policy["restart"] = t.nr
            self.tracer.finish_entry(t, RUN_EXIT)
            return
        t.skip(ev.result)
        self._boundary_signals(t)
        self.tracer.finish_entry(t, SKIP)

    def _under_temporary_mask(self, t: Tracee, result: int) -> bool:
        """A call cut short by its recorded signal while its temporary signal
        mask was in place (rt_sigsuspend, pselect6, ppoll, epoll_pwait...):
        the kernel delivered the signal under that mask. Skipped, the call
        would never swap the mask in, and a signal the program's own mask
        blocks would stay pending: make -j blocks SIGCHLD and unblocks it
        only in pselect, and got pselect's restart code back instead of its
        handler. Run it as rt_sigsuspend with that mask and the signal
        queued: it returns at once, the kernel delivers the signal and puts
        the program's own mask back after the handler. False: no such mask
        (none given, or no signal follows); the caller goes on as usual."""
        where = TEMP_MASK_CALLS.get(t.nr)
        if where is None or self._next_signal(t) is None:
            return False
        if len(where) == 1:
            if not t.args[where[0]]:
                return False
            try:
                mask, size = struct.unpack("<QQ", t.read(t.args[where[0]], 16))
            except MemoryReadError:
                return False
        else:
            mask, size = t.args[where[0]], t.args[where[1]]
        if not mask:
            return False
        self._chain_signals(t)
        t.regs.orig_rax = RT_SIGSUSPEND
        t.regs_dirty = True
        t.set_arg(0, mask)
        t.set_arg(1, size)
        t.policy["sigsuspend"] = result
        self.tracer.finish_entry(t, RUN_EXIT)
        return True

    def _apply_writes(self, t: Tracee, ev: Syscall) -> None:
        skip = t.policy.pop("mapped_at", None) if t.policy else None
        for addr, data in ev.writes:
            if addr == skip:
                continue
            try:
                t.write(addr, self.data(data))
            except OSError as exc:
                raise Divergence(None, t.vtid, f"memory at {addr:#x} to be writable",
                                 f"not have it mapped ({exc.strerror})") from None

    def _release(self, t: Tracee, sig: int = 0) -> None:
        self._boundary_signals(t)
        self.tracer.resume(t, sig)

    def _after_release(self, t: Tracee) -> None:
        self._boundary_signals(t)

    # -- preemption points ---------------------------------------------------------
    def resuming(self, t: Tracee) -> None:
        """Before the runner goes on: its clock reads made without a stop go
        in its time page; if the recorder preempted it next, set a breakpoint
        where it was stopped."""
        if self.prefill and "page" not in t.policy and self.slots.has_page(t.tgid):
            self._fill_page(t)
        if t not in self.running or "bp" in t.policy or not self.started:
            return
        item = self.next_of(t.vtid)
        if item is None or not isinstance(item[1], Input) or item[1].what != "preempt":
            return
        regs = list(item[1].value)
        addr = int(regs[0])
        try:
            orig = t.read(addr, 1)
            t.write(addr, b"\xcc")
        except OSError as exc:
            raise Divergence(item[0], t.vtid, f"to be preempted at {addr:#x}",
                             f"not have that code mapped ({exc})") from None
        t.policy["bp"] = (addr, orig, regs)

    def _at_breakpoint(self, t: Tracee) -> bool:
        """A SIGTRAP: is it our preemption breakpoint? Handle it if so."""
        bp = t.policy.get("bp")
        if bp is None:
            return False
        addr, orig, regs = bp  # type: ignore[misc]
        t.load_regs()
        if t.regs.rip - 1 != addr:
            return False
        t.write(addr, orig)
        t.regs.rip = addr
        t.regs_dirty = True
        if t.regs.rsp == int(regs[1]) and t.regs.rbp == int(regs[2]):
            # Same instruction, same frame. Without a branch counter the
            # iteration cannot be told apart: take the recorded registers (a
            # loop counter in a register becomes what it was). If the code
            # also wrote memory per iteration, later checks report it.
            for name, value in zip(PREEMPT_REGS, regs):
                setattr(t.regs, name, int(value))
            t.regs_dirty = True
            del t.policy["bp"]

            def preempted(n: int, ev: Any) -> None:
                if not isinstance(ev, Input) or ev.what != "preempt":
                    raise Divergence(n, t.vtid, describe(ev), "a preemption point")
                self.park(t, after_preemption)

            def after_preemption(n: int, ev: Any) -> None:
                if isinstance(ev, Signal):
                    # The recorder stopped it here for a signal kept for it.
                    t.policy["deliver"] = ev
                    P.tgkill(t.tgid, t.tid, ev.signo)
                    self.tracer.resume(t)
                else:  # its turn came again
                    self._release(t)
            self.park(t, preempted)
            return True
        # The same instruction in another state (an earlier loop iteration):
        # step over it and put the breakpoint back.
        t.policy["stepping"] = True
        t.policy["singlestep"] = True
        return True

    # -- the time page ---------------------------------------------------------------
    def _fill_page(self, t: Tracee) -> None:
        """Put t's next events, while they are calls made without a stop
        (clock reads, file I/O), in its time page (virt/timepage.py): its
        code takes them from there, and pump() passes them by."""
        item = self.next_of(t.vtid)
        if not _buffered(item):
            return
        slot = self.slots.of.get(t.tid)
        if slot is None:
            slot = self.slots.give(t)
            if slot is None:
                return  # every slot taken: these reads stop
        taken: list[tuple[int, Syscall]] = []
        data: list[bytes] = []
        used = 0
        while len(taken) < TP.CAP and _buffered(item):
            ev = item[1]  # type: ignore[index]
            kept = ev.reads if ev.nr == TP.WRITE else ev.writes  # what it wrote: its first bytes
            if ev.nr == TP.READLINK or _stat_path(ev):  # its path, then what it wrote
                kept = ((0, b"".join(self.data(d) for _, d in ev.reads[:1] + ev.writes[:1])),)
            if kept and ev.nr not in TP.NRS:  # an I/O call's bytes, for the data area
                raw = self.data(kept[0][1])
                if used + len(raw) > TP.DSIZE:
                    break  # the next fill takes it
                data.append(raw)
                used += len(raw)
            self._take(item)  # type: ignore[arg-type]  (pump() passes it by in buf)
            self.prefilled.add(item[0])  # type: ignore[index]
            taken.append(item)  # type: ignore[arg-type]
            item = self.next_of(t.vtid)
        out = [struct.pack("<II", len(taken), 0), bytes(TP.ENTRIES - TP.COUNT - 8)]  # count, head
        for _n, ev in taken:
            if ev.nr not in TP.NRS:  # an I/O call: its argument words (its bytes: the data area)
                a = ev.args
                a3 = a[0] if ev.nr == TP.READLINK else a[3]  # readlink: its path's address in r10's place
                out.append(TP.ENTRY.pack(TP.STAT_PATH if _stat_path(ev) else ev.nr, a[0] & 0xFFFFFFFF, a[1],
                                         ev.result, a[2], a3))
                continue
            w0 = w1 = 0
            if ev.nr == TP.TIME:
                w0 = ev.result
            elif ev.writes:
                w0, w1 = struct.unpack("<QQ", self.data(ev.writes[0][1])[:16].ljust(16, b"\0"))
            clock, ptr = (ev.args[0], ev.args[1]) if ev.nr == TP.CLOCK_GETTIME else (0, ev.args[0])
            out.append(TP.ENTRY.pack(ev.nr, clock & 0xFFFFFFFF, ptr, ev.result, w0, w1))
        try:
            if data:
                t.write(TP.slot_data(slot), b"".join(data))
            t.write(TP.slot_page(slot) + TP.COUNT, b"".join(out))
        except OSError as exc:
            raise ReplayError(f"thread {t.vtid} could not take the calls it makes without a stop: {exc}") from None
        t.policy["page"] = taken

    def moved(self, moved: dict[int, int], groups: set[int]) -> None:
        super().moved(moved, groups)
        self.slots.moved(moved)

    def _patch_site(self, n: int, t: Tracee, ev: Syscall) -> None:
        """The recorder rewrote this call's site to go through the time page
        here: so does replay, with the same stub (each process uses its
        stubs in the same order in both)."""
        try:
            found = self.slots.rewrite(t)
        except OSError as exc:
            raise ReplayError(f"thread {t.vtid} could not have its call site rewritten: {exc}") from None
        if found is not None:
            raise Divergence(n, t.vtid, describe(ev) + " from a call site to rewrite",
                             f"a call at {t.regs.rip:#x} with {found.hex() or 'no code'} before it")
        t.flush_regs()  # now: a checkpoint here copies the task as it will go on

    def _page_taken(self, t: Tracee, live: _Live) -> None:
        """At t's next syscall: it made every clock read put in its page.
        (Not at a signal: replay drops real signals wherever they come, and a
        task killed at its Exit event may be killed before it read them.)"""
        taken: list[tuple[int, Syscall]] = t.policy.pop("page")  # type: ignore[assignment]
        slot = self.slots.of.get(t.tid)
        if slot is None:
            return
        try:
            head = TP.SLOT_HEAD.unpack(t.read(TP.slot_page(slot), TP.SLOT_HEAD.size))[2]
        except (OSError, MemoryReadError):
            return  # gone meanwhile: its exit says the rest
        if head < len(taken):
            n, ev = taken[head]
            if t.nr == ev.nr:  # the same call: what differs may be a path or the bytes written
                self._check_inputs(n, t, ev, " (made without a stop)")
            raise Divergence(n, t.vtid, describe(ev) + " (made without a stop)", str(live))

    # -- signals -----------------------------------------------------------------
    def _boundary_signals(self, t: Tracee) -> None:
        """If the trace delivers a signal right here, raise it before t runs."""
        self._chain_signals(t)

    def _signal_at_entry(self, t: Tracee, ev: Signal | None, signo: int = 0) -> None:
        """The recorder delivered this signal by rewinding the call: do the
        same. Marked (ev None): its Signal event is t's next one, maybe after
        other domains' events."""
        t.skip(t.nr)
        t.regs.rip -= 2
        t.regs_dirty = True
        if ev is not None:
            t.policy["deliver"] = ev
            signo = ev.signo
        else:
            t.policy["expect_signal"] = signo
        P.tgkill(t.tgid, t.tid, signo)
        self.tracer.finish_entry(t, SKIP)

    def signal(self, t: Tracee, signo: int, siginfo: bytes) -> int:
        if signo == _signal.SIGTRAP:
            if t.policy.pop("stepping", None):
                bp = t.policy.get("bp")
                if bp is not None:
                    t.write(bp[0], b"\xcc")  # type: ignore[index]
                return 0
            if self._at_breakpoint(t):
                return 0
        ev = t.policy.pop("deliver", None)
        if isinstance(ev, Signal) and ev.signo == signo:
            P.setsiginfo(t.tid, ev.siginfo)
            self._chain_signals(t)
            return signo
        expected = t.policy.get("expect_signal")
        if expected == signo:
            t.policy.pop("expect_signal", None)
            item = self._next_signal(t)
            if item is not None:
                n, sev = item
                self.buf.remove(item)
                self._take(item)
                self.consumed = max(self.consumed, n + 1)
                if self.on_event is not None:
                    self.on_event(n, sev)
                P.setsiginfo(t.tid, sev.siginfo)
                self._chain_signals(t)
                return signo
        length = D.decode_tsc(t, siginfo)
        if length:
            if not self.started:
                D.apply_tsc(t, length, 0)
                return 0

            def tsc(n: int, iev: Any) -> None:
                if not isinstance(iev, Input) or iev.what not in ("rdtsc", "rdtscp"):
                    raise Divergence(n, t.vtid, describe(iev), "rdtsc")
                D.apply_tsc(t, length, int(iev.value))
                self._release(t)  # a signal may come right here too
            self.park(t, tsc)
            return 0
        if is_sync_fault(signo, siginfo):
            def fault(n: int, sev: Any) -> None:
                if not isinstance(sev, Signal) or sev.signo != signo:
                    raise Divergence(n, t.vtid, describe(sev), f"a fault ({_signal.Signals(signo).name})")
                self.tracer.resume(t, signo)
            self.park(t, fault)
            return 0
        return 0  # a real asynchronous signal: the trace says when signals come

    def _next_signal(self, t: Tracee) -> tuple[int, Signal] | None:
        """The Signal for t that comes next, if any.

        It came right after t's last event. Events of other domains, recorded
        meanwhile, may lie between (they do not see t's signal), so a trace
        that marks signals delivered at a syscall entry ("signal_marks")
        takes t's own next event; an older one, recorded one tracee at a
        time, the next event of all (past Exit events)."""
        vtid = t.vtid
        if self.signal_marks:
            item = self.next_of(vtid)
        else:
            item = next((it for it in self.buf if not isinstance(it[1], Exit)), None)
            while item is None and len(self.buf) < LOOKAHEAD_LIMIT and self.buf_bytes < LOOKAHEAD_BYTES \
                    and self._fill():
                if not isinstance(self.buf[-1][1], Exit):
                    item = self.buf[-1]
        if item is not None and isinstance(item[1], Signal) and item[1].tid == vtid:
            return item
        return None

    def _chain_signals(self, t: Tracee) -> None:
        item = self._next_signal(t)
        # (A fault the program raises itself, at its own instruction: its
        # Signal event waits for it there, signal(). Sent from here, it came
        # at the end of the call before, on another frame of the stack.)
        if item is not None and not is_sync_fault(item[1].signo, item[1].siginfo):
            signo = item[1].signo
            t.policy["expect_signal"] = signo
            P.tgkill(t.tgid, t.tid, signo)

    # -- output and fds ------------------------------------------------------------
    def _echo(self, t: Tracee, ev: Syscall) -> None:
        kind = fdtable.WRITE_CALLS.get(t.nr)
        if kind is None or not self.echo or ev.result <= 0:
            return
        origin = self.fds.get(t.vpid, {}).get(t.args[0] & 0xFFFFFFFF)
        if origin not in (1, 2):
            return
        try:
            if kind == "buf":
                data = t.read(t.args[1], ev.result)
            else:
                data = b""
                iov, cnt = t.args[1], t.args[2]
                for i in range(min(cnt, 1024)):
                    base, ln = struct.unpack("<QQ", t.read(iov + 16 * i, 16))
                    data += t.read(base, ln)
                    if len(data) >= ev.result:
                        break
                data = data[:ev.result]
        except MemoryReadError:
            return
        stream = self.out if origin == 1 else self.err
        stream.write(data)
        stream.flush()

    def _track_fds(self, t: Tracee, ev: Syscall) -> None:
        res = ev.result
        if res < 0 or t.nr not in fdtable.CHANGES:
            return
        table = self.fds.setdefault(t.vpid, {})
        if t.nr in OPENS and ev.reads and isinstance(ev.reads[0][1], bytes) and ev.reads[0][1][:1] == b"/":
            table[res] = os.fsdecode(ev.reads[0][1].rstrip(b"\0"))  # (file mappings)
        else:
            fdtable.follow(table, t.nr, t.args, res, (self.data(d) for _, d in ev.writes))

    # -- exec ------------------------------------------------------------------------
    def _prepare_exec(self, t: Tracee, ev: Exec) -> None:
        if not self.started:
            return  # the first exec: prepare_first chose the path already
        files: dict[str, Any] = {}
        for item in list(self.buf):
            e = item[1]
            if isinstance(e, Input) and e.tid == t.vtid and e.what == "exec_files":
                files = dict(e.value)
                break
            if getattr(e, "tid", None) == t.vtid and item[1] is not ev and not isinstance(e, Input):
                break
        arg = 1 if t.nr == EXECVEAT else 0
        try:
            orig = t.read_cstring(t.args[arg], 4096)
        except MemoryReadError:
            return
        path = self.exec_target(len(orig), ev, files, orig.decode(errors="surrogateescape"))
        if path is None:
            return
        # Build the new path and argv below the stack and point execve at them.
        strings = [path.encode()] + [a.encode(errors="surrogateescape") for a in ev.argv]
        blob = b"".join(s + b"\0" for s in strings)
        base = (t.regs.rsp - 128 - 8192 - len(blob) - 8 * (len(ev.argv) + 1) - 64) & ~15
        ptrs = []
        off = base + len(strings[0]) + 1
        for s in strings[1:]:
            ptrs.append(off)
            off += len(s) + 1
        arr_addr = (base + len(blob) + 15) & ~15
        t.write(base, blob)
        t.write(arr_addr, b"".join(struct.pack("<Q", p) for p in ptrs) + b"\0" * 8)
        if t.nr == EXECVEAT:
            t.set_arg(0, (1 << 64) - 100)  # AT_FDCWD
        t.set_arg(arg, base)
        t.set_arg(arg + 1, arr_addr)

    def exec_target(self, length: int, ev: Exec | None, files: dict[str, Any], orig: str) -> str | None:
        """Path to exec for a recorded exec: None keeps the program's own path."""
        if ev is None or ev.binary is None or self.host_binaries:
            return None
        binary = ev.binary
        digest = binary.digest if isinstance(binary, BlobRef) else hashlib.sha256(binary).digest()
        interp_ref = files.get("interp_blob")
        interp_path = files.get("interp")
        host_path = ev.path.removesuffix(" (deleted)")
        cache = self._host_digests()
        same_binary = host_digest(host_path, cache) == digest
        script_ref = files.get("script_blob")
        if isinstance(script_ref, BlobRef):
            # A #! script: the kernel runs the interpreter; both must be unchanged.
            same_binary = same_binary and host_digest(orig, cache) == script_ref.digest
        else:
            same_binary = same_binary and os.path.realpath(orig) == os.path.realpath(host_path)
        same_interp = True
        if interp_path and isinstance(interp_ref, BlobRef):
            same_interp = host_digest(interp_path, cache) == interp_ref.digest
        if same_binary and same_interp:
            return None
        data = self.data(binary)
        if not same_interp and isinstance(interp_ref, BlobRef):
            ld = self._private_file(self.data(interp_ref), max_len=len(interp_path or "") or 27)
            data = D.with_interp(data, ld)
        target = self._private_file(data, exact_len=length)
        self.notes.append(f"running the recorded copy of {host_path} "
                          f"({'it differs here' if os.path.exists(host_path) else 'missing here'})")
        return target

    def _private_file(self, data: bytes, *, exact_len: int | None = None, max_len: int | None = None) -> str:
        alphabet = string.ascii_letters + string.digits
        for base in ("/tmp", "/dev/shm", "/var/tmp"):
            if not os.path.isdir(base):
                continue
            want = exact_len if exact_len is not None else min(max_len or 40, len(base) + 1 + 16)
            room = want - len(base) - 1
            if room < 1:
                continue
            import secrets  # (rare: ~3 ms of every replay's start otherwise)

            for _ in range(20):
                name = "".join(secrets.choice(alphabet) for _ in range(room))
                path = f"{base}/{name}"
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o700)
                except FileExistsError:
                    continue
                except OSError:
                    break
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                self.tempfiles.append(path)
                return path
        import tempfile

        fd, path = tempfile.mkstemp(prefix="scribe-exe-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, 0o700)
        self.tempfiles.append(path)
        self.notes.append("could not give a recorded executable a path of the original length: "
                          "stack addresses may differ")
        return path

    def cleanup(self) -> None:
        remove_files(self.tempfiles)
        self.tempfiles.clear()
        if self._host_ranges is not None:
            self._host_ranges.save()  # for the next replay

    def remaining(self) -> int:
        """Events not yet consumed (Exit events excepted)."""
        while self._fill():
            pass
        return sum(1 for _n, ev in self.buf if not isinstance(ev, Exit))

    def recorded_status(self) -> int | None:
        return self.r.exit_status


def remove_files(paths: Iterable[str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def host_file_holds(path: str, offset: int, length: int, content: BlobRef, cache: DigestCache) -> bool:
    """Whether reading [offset, offset + length) of the file at path gives
    the content of the blob (a file ending early gives fewer bytes, as the
    recorder's read did). cache maps a file version and range to its digest
    (scribe/hostcache.py: kept from one replay to the next)."""
    return host_digest(path, cache, offset, length) == content.digest


def _digest_of_range(fd: int, offset: int, length: int) -> bytes:
    """blob_digest of pread(fd, length, offset), read a MiB at a time."""
    h = hashlib.sha256()
    end = offset + length
    while offset < end:
        block = os.pread(fd, min(1 << 20, end - offset), offset)
        if not block:
            break
        h.update(block)
        offset += len(block)
    return h.digest()


def host_digest(path: str, cache: DigestCache, offset: int = 0, length: int = -1) -> bytes | None:
    """The digest of [offset, offset + length) of the file at path, kept in
    cache under its file version and range (None if it cannot be read).
    length -1: the whole file, under the key the recorder gives a binary it
    stores (file_version(st, 0, -1)): cc1's 33 MB are not hashed at every
    replay of a compiler, nor after the recording that stored it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        key = file_version(st, offset, length)
        got = cache.get(key)
        if got is None:
            got = _digest_of_range(fd, offset, st.st_size - offset if length < 0 else length)
            cache.keep(key, got, st.st_ctime_ns)
        return got
    except OSError:
        return None
    finally:
        os.close(fd)

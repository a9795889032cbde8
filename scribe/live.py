"""Live debugging: a real replay, driven event by event for the TUI.

`open_session(trace_path)` returns a `ReplaySession`, the implementation of
`tui.live.LiveSession` over scribe's replay engine.  The session replays the
trace with a `Replayer` and a `Tracer` and pauses the replay in front of an
event (`Replayer.stop_before`, `Tracer.pause_when`): every tracee is then
stopped at a ptrace stop, so its registers, memory and map can be read.

Why no terminal and no signals: the TUI owns the terminal, so the replayed
program runs with fds 0/1/2 on /dev/null (its output is emulated anyway) in
the background, and nothing the user types reaches it.

Why everything runs on one thread: ptrace requests must come from the
thread that seized the tracees; `tui.live.LiveRunner` calls every method of
a session on one dedicated thread, including `open_session`.

Going back: fork checkpoints (scribe.checkpoint).  While the replay runs
forward, the session takes a checkpoint in front of an event every
CHECKPOINT_EVENTS events and CHECKPOINT_SECONDS of replay at the most, and at
every stop the user sees, where one can be taken (single-threaded processes,
each at a syscall entry; see scribe.checkpoint for the rules).  A move
backwards (or a long jump forwards) restores the nearest checkpoint at or
before the target and replays forward from there; the Stop says "restored
the checkpoint at event N".  Where no checkpoint lies before the target, the
replay is started afresh and run forward, and the Stop says "re-ran from the
start" and why there was no checkpoint.  Replay is deterministic, so the
processes are in exactly the same state (addresses, registers) either way.

Where a replay can stop: in front of any event that a tracee waits for
(a syscall entry, a new task, an exec, an rdtsc, a signal).  Events carried
out as part of another (the exit of a task, the inputs of an exec) cannot be
stopped at: a stop requested there lands on the next event.

Backtraces: rip, then the caller of a leaf that keeps no frame pointer
(found by scanning the words between rsp and rbp for a return address right
after a call instruction), then the frame-pointer (rbp) chain.  Each pc is
named from the ELF symbol table (.symtab, else .dynsym) of the file mapped
there, read from the path in /proc/<pid>/maps (a recorded private copy of
the executable has symbols too).  File mappings the replay recreated as
anonymous memory (shared libraries) are named from the ELF image in memory:
its dynamic symbol table.
"""

from __future__ import annotations

import bisect
import errno
import io
import os
import signal
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scribe import checkpoint as CP
from scribe import determinism as D
from scribe.replayer import Divergence, EndOfTrace, Replayer, ReplayError, remove_files
from traces import Exec, Exit, Input, Spawn, Syscall, TraceReader, Unknown
from scribe.live_api import Breakpoint, Frame, LiveUnavailable, MapEntry, Stop
from virt import syscalls as S
from virt.filter import EventFilter
from virt.memory import MemoryReadError, RecordedMemory
from virt.notsc import monotonic_ns
from virt.tracer import Tracee, Tracer

WALL = 0x40000000
MAX_MEMORY = 1 << 20  # one read; the panel shows far less
MAX_FRAMES = 64
SCAN_WORDS = 256  # words between rsp and rbp searched for a leaf's caller
RERAN = "re-ran from the start"
RESTORED = "restored the checkpoint at event"
CHECKPOINT_EVENTS = 200  # at least this many events between two checkpoints of a run
CHECKPOINT_SECONDS = 0.25  # and at least this much replay time
CHECKPOINT_RETRY = 10  # events to the next try when one could not be taken
MAX_CHECKPOINTS = 32  # each is a stopped copy of every process (copy-on-write memory)
MAX_COPIES = 512  # stopped copies in all, so that checkpoints never exhaust pids
BLOCKED_GRACE = 1.0  # seconds a task entering a blocking call may take to sleep

# The registers in the order a person reads them.
REGISTER_ORDER = (
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "eflags", "orig_rax", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base",
)

# Inputs an exec's callback consumes with it: no stop in front of them.
_EXEC_INPUTS = ("exec_files", "at_random")


class LiveError(Exception):
    """A request failed; str() is one line; the session remains usable."""


def open_session(trace_path: str) -> ReplaySession:
    """A live session over the trace at trace_path (the replay starts on first use)."""
    return ReplaySession(trace_path)


def stoppable(n: int, ev: Any) -> bool:
    """Whether the replay can pause in front of event n."""
    if n < 1 or isinstance(ev, (Exit, Unknown)):
        return False
    if isinstance(ev, Input) and ev.what in _EXEC_INPUTS:
        return False
    return True


def _live_setup() -> None:
    """In the first tracee before exec: scribe's determinism, and no terminal."""
    D.child_setup()
    fd = os.open("/dev/null", os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


class LiveReplayer(Replayer):
    """A Replayer that remembers which private copies stand for which files."""

    # Recreated mappings stay anonymous: the backtrace names them from the
    # ELF image in memory (a file of one segment's bytes has no ELF header).
    map_files = False
    # Every clock read stops, so that stepping can stop at each one.
    prefill = False

    def __init__(self, reader: TraceReader) -> None:
        # echo=False: nothing is written; the streams are given so sys.stdout
        # (Textual's capture, which has no .buffer) is never touched.
        super().__init__(reader, echo=False, stdout=io.BytesIO(), stderr=io.BytesIO())
        self.copies: dict[str, str] = {}  # private copy -> recorded path

    def exec_target(self, length: int, ev: Exec | None, files: dict[str, Any], orig: str) -> str | None:
        before = set(self.tempfiles)
        target = super().exec_target(length, ev, files, orig)
        if target is not None and ev is not None:
            self.copies[target] = ev.path.removesuffix(" (deleted)")
            for extra in set(self.tempfiles) - before - {target}:
                self.copies[extra] = str(files.get("interp") or "ELF interpreter")
        return target


@dataclass
class _Map:
    start: int
    end: int
    perms: str
    offset: int
    path: str  # the real path on this machine ("" for anonymous memory)


class ReplaySession:
    """tui.live.LiveSession over a real replay (see the module docstring)."""

    available = True
    reason = ""
    checkpoints = True  # set False on a session: no checkpoints, going back re-runs

    def __init__(self, trace_path: str, *, timeout: float | None = None) -> None:
        self.path = str(trace_path)
        self.timeout = timeout  # seconds one move may take (None: no limit)
        self.index = TraceReader(self.path)  # for looking ahead, apart from the replay's
        self.length = len(self.index)
        self.reader: TraceReader | None = None
        self.rep: LiveReplayer | None = None
        self.tracer: Tracer | None = None
        self.at: int | None = None  # event the replay is stopped in front of
        self.tid = 1  # virtual tid of the last stop
        self.done = False  # the replay cannot go on (finished, ended, diverged)
        self.last: Stop | None = None
        self._pid_of: dict[int, int] | None = None
        self._timed_out = False
        self._syms: dict[Any, _Symbols | None] = {}
        self.cps: list[CP.Checkpoint] = []  # by event number
        self.cp_events = CHECKPOINT_EVENTS
        self.cp_seconds = CHECKPOINT_SECONDS
        self.cp_why: list[tuple[int, str]] = []  # (event, why no checkpoint there), latest last
        self._cp_time = 0
        self._files: set[str] = set()  # private copies of every replay run (checkpoints map them)
        self._made: set[int] = set()  # real pids of every copy made: reaped at close()

    # -- the protocol: moving ------------------------------------------------

    def run_to(self, event_no: int) -> Stop:
        target = max(0, min(int(event_no), self.length))
        if self.rep is not None and self.at is not None and target == self.at and self.last is not None:
            return self.last if self.done else Stop(self.at, self.tid, "event")
        message = ""
        if self.rep is None and not self.cps:
            self._start()
        elif self.rep is None or self.done or (self.at is not None and target < self.at):
            message = self._rewind(target)
        else:
            cp = self._checkpoint_before(target)
            if cp is not None and self.at is not None and cp.event_no > self.at + self.cp_events:
                message = self._rewind(target)  # nearer than replaying from here
        return self._go(target if target < self.length else None, "event", message)

    def step(self, tid: int | None = None) -> Stop:
        if self.rep is None:
            self._start()
            if tid is None:
                return self._go(0, "step")
        self._can_go_on()
        assert self.at is not None
        if tid is None:
            return self._go(self.at + 1, "step")
        target = self._find(self.at + 1, lambda n, ev: getattr(ev, "tid", None) == tid)
        if target is None:
            raise LiveError(f"thread {tid} has no event after event {self.at}")
        return self._go(target, "step")

    def cont(self, breakpoints: Sequence[Breakpoint]) -> Stop:
        match, hit = self._matcher(breakpoints)
        if self.rep is None:
            self._start()
            start = 0
        else:
            self._can_go_on()
            assert self.at is not None
            start = self.at + 1
        target = self._find(start, match)
        if target is None:
            return self._go(None, "breakpoint")
        return self._go(target, "breakpoint", f"breakpoint {_describe_bp(breakpoints[hit[0]])}")

    def reverse_cont(self, breakpoints: Sequence[Breakpoint]) -> Stop:
        """Back to the last event before this stop that matches a breakpoint."""
        match, hit = self._matcher(breakpoints)
        if self.rep is None or self.at is None:
            raise LiveError("the replay has not started: nothing to go back to")
        target = self._find_back(self.at, match)
        if target is None:
            raise LiveError(f"no event before event {self.at} matches")
        message = f"breakpoint {_describe_bp(breakpoints[hit[0]])}; {self._rewind(target)}"
        return self._go(target, "breakpoint", message)

    def _matcher(self, breakpoints: Sequence[Breakpoint]) -> tuple[Callable[[int, Any], bool], list[int]]:
        """A predicate for any of the breakpoints, and the list it puts the hit's index in."""
        preds = [self._breakpoint(bp) for bp in breakpoints]
        if not preds:
            raise LiveError("no breakpoint given")
        hit: list[int] = []

        def match(n: int, ev: Any) -> bool:
            for i, p in enumerate(preds):
                if p(n, ev):
                    hit.append(i)
                    return True
            return False
        return match, hit

    def reverse_step(self) -> Stop:
        if self.rep is None or self.at is None:
            raise LiveError("the replay has not started: nothing to step back to")
        here = before = self.at
        for _attempt in range(4):
            target = self._find_back(before)
            if target is None:
                raise LiveError(f"event {here} is the first stop of the replay: nothing before it")
            stop = self._go(target, "step", self._rewind(target))
            if stop.event_no < here or stop.reason != "step":
                return stop
            before = target  # carried out with an earlier event: try the one before
        return stop

    # -- the protocol: looking -----------------------------------------------

    def checkpoint_events(self) -> list[int]:
        """The events a checkpoint is held at, in order."""
        return [cp.event_no for cp in self.cps]

    def registers(self, tid: int | None = None) -> dict[str, int]:
        t = self._tracee(tid, stopped=True)
        regs = t.regs if t.regs_dirty else t.load_regs()  # dirty: what the thread will see
        names = [f[0] for f in regs._fields_]
        order = [n for n in REGISTER_ORDER if n in names] + [n for n in names if n not in REGISTER_ORDER]
        return {n: int(getattr(regs, n)) for n in order}

    def memory(self, addr: int, size: int, tid: int | None = None) -> bytes:
        if size < 0 or size > MAX_MEMORY:
            raise LiveError(f"read between 0 and {MAX_MEMORY} bytes, not {size}")
        if addr < 0 or addr >= 1 << 64:
            raise LiveError(f"address {addr:#x} is outside the address space")
        t = self._tracee(tid, stopped=False)
        try:
            return t.read(addr, size)
        except MemoryReadError:
            pass
        try:
            maps = self._read_maps(t)
        except OSError:
            maps = []
        where = f"in process {t.vpid}"
        if not any(m.start <= addr < m.end for m in maps):
            raise LiveError(f"cannot read {size} bytes at {addr:#x} {where}: not mapped") from None
        raise LiveError(f"cannot read {size} bytes at {addr:#x} {where}: "
                        "not readable (past the end of its mapping, or no access)") from None

    def maps(self, pid: int | None = None) -> list[MapEntry]:
        t = self._process(pid)
        try:
            maps = self._read_maps(t)
        except OSError as exc:
            raise LiveError(f"cannot read the memory map of process {t.vpid}: {exc.strerror}") from None
        return [MapEntry(m.start, m.end, m.perms, m.offset, self._shown_path(m.path)) for m in maps]

    def backtrace(self, tid: int | None = None) -> list[Frame]:
        t = self._tracee(tid, stopped=True)
        regs = t.regs if t.regs_dirty else t.load_regs()
        try:
            maps = self._read_maps(t)
        except OSError as exc:
            raise LiveError(f"cannot read the memory map of thread {t.vtid}: {exc.strerror}") from None
        pcs = _unwind(t, regs.rip, regs.rsp, regs.rbp, maps)
        return [self._frame(t, maps, pc, i > 0) for i, pc in enumerate(pcs)]

    def close(self) -> None:
        self._stop_replay()
        for cp in self.cps:
            CP.discard_checkpoint(cp)
        self.cps.clear()
        for pid in self._made:  # dead copies handed to us when their parents died
            try:
                os.waitpid(pid, os.WNOHANG | WALL)
            except ChildProcessError:
                pass
        self._made.clear()
        remove_files(self._files)
        self._files.clear()
        for r in (self.reader, self.index):
            try:
                if r is not None:
                    r.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
        self.reader = None

    # -- starting and stopping the replay -------------------------------------

    def _start(self) -> None:
        """Kill the current replay (if any) and start a fresh one at event 0."""
        self._stop_replay()
        from scribe.launch import become_subreaper, ptrace_refused

        if self.reader is None:  # one for every replay of the session: checkpoints share it
            self.reader = TraceReader(self.path)
        rep = LiveReplayer(self.reader)
        tracer = Tracer(rep, bind_cpu=True)
        tracer.on_idle = rep.pump
        tracer.pause_when = self._should_pause
        self._adopt(rep, tracer, None)
        try:
            path, argv, env, cwd = rep.prepare_first()
            become_subreaper()
            first = tracer.start(path, argv, env, cwd=cwd, setup=_live_setup, foreground=False)
        except OSError as exc:
            self._stop_replay()
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise LiveUnavailable(str(ptrace_refused(exc))) from None
            raise LiveError(f"cannot start the replay: {exc}") from None
        except ReplayError as exc:
            self._stop_replay()
            raise LiveError(str(exc)) from None
        try:
            rep.first_process(first)
        except ReplayError as exc:
            self._stop_replay()
            raise LiveError(str(exc)) from None

    def _adopt(self, rep: LiveReplayer, tracer: Tracer, at: int | None) -> None:
        self.rep, self.tracer = rep, tracer
        self.at = at
        self.done = False
        self.last = None
        rep.on_checkpoint = self._checkpoint_chance
        rep.checkpoint_from = at + self.cp_events if at is not None else 1
        self._cp_time = monotonic_ns()

    def _stop_replay(self) -> None:
        tracer, rep = self.tracer, self.rep
        self.tracer = self.rep = None
        if tracer is not None:
            _kill_and_reap(tracer)
            tracer.unbind_cpu()
            for t in list(tracer.tracees.values()):
                t.close_mem()
        if rep is not None:
            self._files.update(rep.tempfiles)  # removed at close(): checkpoints map them

    # -- checkpoints -------------------------------------------------------------

    def _checkpoint_chance(self, n: int) -> None:
        """Replayer.on_checkpoint: the run is in front of event n; checkpoint
        if enough events and time have passed since the last one."""
        if monotonic_ns() - self._cp_time < self.cp_seconds * 1e9:  # the tracer thread: no vDSO
            return  # asked again at the next event
        assert self.rep is not None
        if self._checkpoint_here(n):
            self.rep.checkpoint_from = n + self.cp_events
            self._cp_time = monotonic_ns()
        else:
            self.rep.checkpoint_from = n + CHECKPOINT_RETRY

    def _checkpoint_here(self, n: int) -> bool:
        """Take a checkpoint in front of event n; False if none could be taken."""
        rep, tracer = self.rep, self.tracer
        if not self.checkpoints or rep is None or tracer is None:
            return False
        if any(cp.event_no == n for cp in self.cps):
            return True
        why = CP.why_not(rep, tracer)
        if why is None and len(tracer.tracees) > MAX_COPIES // 8:
            why = f"{len(tracer.tracees)} processes were alive (at most {MAX_COPIES // 8} are copied)"
        if why is not None:
            self._no_checkpoint(n, why)
            return False
        try:
            cp = CP.take(rep, tracer, n, self._shared(rep))
        except CP.FAILURES as exc:
            if getattr(exc, "fatal", False):
                self.done = True
                self._stop_replay()
                raise LiveError(f"a checkpoint at event {n} failed: {exc}") from None
            self._no_checkpoint(n, f"it failed: {exc}")
            return False
        self._made.update(cp.pids)
        bisect.insort(self.cps, cp, key=lambda c: c.event_no)
        while len(self.cps) > 2 and (len(self.cps) > MAX_CHECKPOINTS
                                     or sum(len(c.copies) for c in self.cps) > MAX_COPIES):
            # Keep them spread: drop the one closest to its predecessor.
            i = min(range(1, len(self.cps) - 1),
                    key=lambda j: self.cps[j].event_no - self.cps[j - 1].event_no)
            CP.discard_checkpoint(self.cps.pop(i))
        return True

    def _no_checkpoint(self, n: int, why: str) -> None:
        self.cp_why = [w for w in self.cp_why if w[0] != n][-63:] + [(n, why)]

    def _shared(self, rep: LiveReplayer) -> list[Any]:
        """What a checkpoint's copy of the replay shares with the replay."""
        return [self, self.reader, rep.out, rep.err, rep._blobs]

    def _checkpoint_before(self, target: int) -> CP.Checkpoint | None:
        i = bisect.bisect_right([cp.event_no for cp in self.cps], target)
        return self.cps[i - 1] if i else None

    def _rewind(self, target: int) -> str:
        """Put the replay at the nearest checkpoint at or before target, or at
        the start; return what the Stop should say about it."""
        while (cp := self._checkpoint_before(target)) is not None:
            self._stop_replay()
            try:
                rep, tracer = CP.restore(cp, self._shared(cp.state))
            except CP.FAILURES as exc:
                self.cps.remove(cp)
                CP.discard_checkpoint(cp)
                self._no_checkpoint(cp.event_no, f"its checkpoint failed: {exc}")
                continue
            self._made.update(tracer.tracees)
            self._adopt(rep, tracer, cp.event_no)
            return f"{RESTORED} {cp.event_no}"
        self._start()
        why = [w for w in self.cp_why if w[0] <= target]
        detail = f"; at event {why[-1][0]}, {why[-1][1]}" if why else ""
        return f"{RERAN} (no checkpoint before event {target}{detail})"

    def _can_go_on(self) -> None:
        if self.done:
            what = self.last.reason if self.last is not None else "stopped"
            raise LiveError(f"the replay has {'finished' if what in ('exit', 'end') else what}: "
                            "replay to an event (r) to start again")

    def _go(self, target: int | None, reason: str, message: str = "") -> Stop:
        """Run the replay until it is stopped in front of target (None: the end)."""
        rep, tracer = self.rep, self.tracer
        assert rep is not None and tracer is not None
        rep.stop_before = target
        self._timed_out = False
        timer = None
        if self.timeout is not None:
            timer = threading.Timer(self.timeout, self._on_timeout)
            timer.daemon = True
            timer.start()
        try:
            status = tracer.run()
        except EndOfTrace as exc:
            return self._finished("end", str(exc))
        except Divergence as exc:
            return self._finished("diverged", str(exc), exc.vtid, exc.n)
        except ReplayError as exc:
            return self._finished("diverged", str(exc))
        except Exception as exc:  # noqa: BLE001 - ptrace or OS failure: start again next time
            self.done = True
            self._stop_replay()
            self.rep = None
            raise LiveError(f"the replay failed: {exc}") from None
        finally:
            if timer is not None:
                timer.cancel()
        if self._timed_out:
            self._stop_replay()
            self.done = True
            where = f"event {target}" if target is not None else "the end"
            raise LiveError(f"the replay did not reach {where} within {self.timeout:g} s: stopped it")
        if status is None:  # paused in front of the target
            h = rep.head()
            assert h is not None
            n, ev = h
            self.at = n
            self.tid = getattr(ev, "tid", self.tid) or self.tid
            if target is not None and n > target and not message:
                message = f"event {target} is carried out with an earlier one: stopped at the next"
            self.last = Stop(n, self.tid, reason, message)
            self._checkpoint_here(n)  # for coming back here later
            return self.last
        err = tracer.exec_error()
        if err is not None:
            return self._finished("diverged", f"the program could not be started: {err[1] or os.strerror(err[0])}")
        left = rep.remaining()
        if left:
            exc2 = Divergence(rep.consumed, 0, f"{left} more recorded events", "finish")
            return self._finished("diverged", str(exc2))
        recorded = rep.recorded_status()
        text = _status_text(status)
        if recorded is not None and recorded != status:
            return self._finished("diverged", f"the program {text}; recorded: {_status_text(recorded)}")
        return self._finished("exit", f"the program {text}" + (f"; {message}" if message else ""))

    def _finished(self, reason: str, message: str, tid: int | None = None, n: int | None = None) -> Stop:
        """The replay cannot go on; a divergence leaves the tracees for a look."""
        self.done = True
        if reason != "diverged" and self.tracer is not None:
            _kill_and_reap(self.tracer)
        self.at = n if n is not None else self.length
        if tid:
            self.tid = tid
        self.last = Stop(self.at, self.tid, reason, message)
        return self.last

    def _on_timeout(self) -> None:
        """The watchdog (another thread): kill the tracees so the loop returns."""
        self._timed_out = True
        tracer = self.tracer
        if tracer is None:
            return
        try:
            tids = list(tracer.tracees) + list(tracer.unknown_stops)
        except RuntimeError:
            tids = []
        for tid in tids:
            try:
                os.kill(tid, signal.SIGKILL)
            except OSError:
                pass

    def _should_pause(self) -> bool:
        """Tracer.pause_when: stopped in front of stop_before, nothing else to wait for.

        Every tracee must be held, except those blocked in the kernel in a
        call the replay really runs (a vfork parent waiting for its child):
        they would not come back before a later event.
        """
        rep, tracer = self.rep, self.tracer
        if rep is None or tracer is None:
            return False
        if rep.at_stop():
            return True
        if rep.stop_before is None or tracer.unknown_stops:
            return False
        h = rep.head()
        if h is None or h[0] < rep.stop_before or isinstance(h[1], Exit):
            return False
        t = rep.by_vtid.get(getattr(h[1], "tid", -1))
        if t is not None and t.tid in tracer.tracees and not t.held:
            return False
        inside = [o for o in tracer.tracees.values() if not o.held]
        if any(o.stopped or not (o.in_syscall and o.want_exit) for o in inside):
            return False  # running user code: its next stop comes soon
        # Inside a call the replay runs: wait until each sleeps in the kernel
        # or a stop is due (a one-shot look could see one still on its way in).
        deadline = time.monotonic() + BLOCKED_GRACE
        while True:
            if _stop_pending():
                return False
            if all(_blocked(o.tid) for o in inside):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)

    # -- looking ahead in the trace -----------------------------------------

    def _find(self, start: int, pred: Callable[[int, Any], bool]) -> int | None:
        """The first stoppable event >= start that pred accepts."""
        for n, ev in self.index.events(max(0, start)):
            if stoppable(n, ev) and pred(n, ev):
                return n
        return None

    def _find_back(self, before: int, pred: Callable[[int, Any], bool] | None = None) -> int | None:
        """The last stoppable event < before (that pred accepts)."""
        for n in range(min(before, self.length) - 1, 0, -1):
            ev = self.index[n]
            if stoppable(n, ev) and (pred is None or pred(n, ev)):
                return n
        return None

    def _breakpoint(self, bp: Breakpoint) -> Callable[[int, Any], bool]:
        nr = None
        if bp.syscall is not None:
            info = S.BY_NAME.get(bp.syscall)
            if info is None:
                raise LiveError(f"unknown syscall name {bp.syscall!r}")
            nr = info.nr
        flt = EventFilter(paths=[bp.path]) if bp.path else None
        data = self.index.data

        def pred(n: int, ev: Any) -> bool:
            if bp.event_no is not None and n != bp.event_no:
                return False
            if nr is not None and not (isinstance(ev, Syscall) and ev.nr == nr):
                return False
            if bp.pid is not None and self._pid(ev) != bp.pid:
                return False
            if flt is not None and not flt.matches(ev, RecordedMemory.from_event(ev, data)):
                return False
            return True
        return pred

    def _pid(self, ev: Any) -> int | None:
        if isinstance(ev, Spawn):
            return ev.pid
        if self._pid_of is None:
            self._pid_of = {tid: p.vpid for p in self.index.processes for tid in p.threads}
        tid = getattr(ev, "tid", None)
        return self._pid_of.get(tid, tid) if tid is not None else None

    # -- live tracees --------------------------------------------------------

    def _live(self) -> tuple[LiveReplayer, Tracer]:
        if self.rep is None or self.tracer is None:
            raise LiveError("no live replay: replay to an event first (r)")
        if not self.tracer.tracees:
            raise LiveError("the program has finished: no live process to look at")
        return self.rep, self.tracer

    def _tracee(self, tid: int | None, *, stopped: bool) -> Tracee:
        rep, tracer = self._live()
        vtid = self.tid if tid is None else int(tid)
        t = rep.by_vtid.get(vtid)
        if t is None or tracer.tracees.get(t.tid) is not t:
            alive = ", ".join(str(v) for v in sorted(o.vtid for o in tracer.tracees.values() if o.vtid))
            raise LiveError(f"no live thread {vtid} at this stop (live threads: {alive or 'none'})")
        if stopped and not t.stopped:
            raise LiveError(f"thread {vtid} is blocked in the kernel at this stop: "
                            "its registers cannot be read")
        return t

    def _process(self, pid: int | None) -> Tracee:
        rep, tracer = self._live()
        if pid is None:
            t = rep.by_vtid.get(self.tid)
            if t is not None and tracer.tracees.get(t.tid) is t:
                return t
            pid = t.vpid if t is not None else None
        for o in tracer.tracees.values():
            if pid is None or o.vpid == pid:
                return o
        alive = ", ".join(str(v) for v in sorted({o.vpid for o in tracer.tracees.values()}))
        raise LiveError(f"no live process {pid} at this stop (live processes: {alive or 'none'})")

    def _read_maps(self, t: Tracee) -> list[_Map]:
        with open(f"/proc/{t.tid}/maps") as f:
            return [m for m in map(_parse_map_line, f) if m is not None]

    def _shown_path(self, path: str) -> str:
        rep = self.rep
        if rep is not None and path in rep.copies:
            return rep.copies[path]
        return path

    # -- symbols ---------------------------------------------------------------

    def _frame(self, t: Tracee, maps: list[_Map], pc: int, is_return: bool) -> Frame:
        look = pc - 1 if is_return else pc
        i = bisect.bisect_right([m.start for m in maps], look) - 1
        if i < 0 or look >= maps[i].end:
            return Frame(pc)
        m = maps[i]
        if m.path.startswith("/"):
            syms = self._file_symbols(m.path)
            module: str | None = self._shown_path(m.path)
            vaddr = syms.vaddr_of_offset(look - m.start + m.offset) if syms is not None else None
        else:
            base = _image_base(t, maps, i)
            syms = self._memory_symbols(t, base) if base is not None else None
            module = (syms.name if syms is not None and syms.name else None) or m.path or None
            vaddr = None
            if syms is not None and base is not None:
                vaddr = look - base if syms.dynamic else look
        if syms is None or vaddr is None:
            return Frame(pc, None, 0, module)
        hit = syms.lookup(vaddr)
        if hit is None:
            return Frame(pc, None, 0, module)
        name, start = hit
        return Frame(pc, name, vaddr + (pc - look) - start, module)

    def _file_symbols(self, path: str) -> _Symbols | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
        if key not in self._syms:
            try:
                with open(path, "rb") as f:
                    self._syms[key] = _Symbols.from_file(f)
            except (OSError, ValueError, struct.error):
                self._syms[key] = None
        return self._syms[key]

    def _memory_symbols(self, t: Tracee, base: int) -> _Symbols | None:
        key = ("mem", self.reader and id(self.reader), t.vpid, base)
        if key not in self._syms:
            try:
                self._syms[key] = _Symbols.from_memory(t, base)
            except (OSError, ValueError, MemoryReadError, struct.error):
                self._syms[key] = None
        return self._syms[key]


# -- helpers: processes ------------------------------------------------------------


def _stop_pending() -> bool:
    """A child or tracee has a stop or death to report (nothing is consumed)."""
    try:
        return os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOHANG | os.WNOWAIT | WALL) is not None
    except ChildProcessError:
        return False


def _blocked(tid: int) -> bool:
    """The task sleeps in the kernel (not at a ptrace stop, not running)."""
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    state = data[data.rfind(b")") + 2: data.rfind(b")") + 3]
    return state in (b"S", b"D")


def _kill_and_reap(tracer: Tracer, wait: float = 5.0) -> None:
    """SIGKILL every tracee and wait for all of them (threads before leaders)."""
    tids = set(tracer.tracees) | set(tracer.unknown_stops) | set(tracer.expected)
    leaders = {t.tid for t in tracer.tracees.values() if t.tid == t.tgid}
    for tid in tids:
        try:
            os.kill(tid, signal.SIGKILL)
        except OSError:
            pass
    from virt import ptrace_api as P

    deadline = time.monotonic() + wait
    pending = set(tids)
    while pending and time.monotonic() < deadline:
        for tid in sorted(pending, key=lambda x: x in leaders):
            try:
                pid, status = os.waitpid(tid, os.WNOHANG | WALL)
            except ChildProcessError:
                pending.discard(tid)
                continue
            if pid and os.WIFSTOPPED(status):
                try:
                    P.cont(tid, 0)
                except Exception:  # noqa: BLE001 - dying anyway
                    pass
        if pending:
            time.sleep(0.002)
    tracer.tracees.clear()
    tracer.unknown_stops.clear()


def _status_text(status: int) -> str:
    if os.WIFEXITED(status):
        return f"exited with {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        try:
            name = signal.Signals(os.WTERMSIG(status)).name
        except ValueError:
            name = f"signal {os.WTERMSIG(status)}"
        return f"was killed by {name}"
    return f"ended with status {status:#x}"


def _describe_bp(bp: Breakpoint) -> str:
    parts = [f"{k}={v}" for k, v in (("syscall", bp.syscall), ("path", bp.path), ("pid", bp.pid),
                                     ("event", bp.event_no)) if v is not None]
    return ",".join(parts) or "any event"


def _parse_map_line(line: str) -> _Map | None:
    parts = line.split(None, 5)
    if len(parts) < 5:
        return None
    try:
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        offset = int(parts[2], 16)
    except ValueError:
        return None
    path = parts[5].rstrip("\n") if len(parts) > 5 else ""
    return _Map(lo, hi, parts[1], offset, path)


# -- helpers: unwinding ------------------------------------------------------------


def _executable(maps: list[_Map], addr: int) -> bool:
    i = bisect.bisect_right([m.start for m in maps], addr) - 1
    return i >= 0 and addr < maps[i].end and "x" in maps[i].perms


def _after_call(t: Tracee, addr: int) -> bool:
    """Whether the bytes before addr end with a call instruction."""
    try:
        b = t.read(addr - 7, 7)
    except MemoryReadError:
        return False
    if b[2] == 0xE8:  # call rel32
        return True
    # call r/m64 (ff /2) of 2, 3, 6 or 7 bytes
    for at in (5, 4, 1, 0):
        if b[at] == 0xFF and (b[at + 1] & 0x38) == 0x10:
            return True
    return False


def _unwind(t: Tracee, rip: int, rsp: int, rbp: int, maps: list[_Map]) -> list[int]:
    pcs = [rip]
    # A leaf without a frame pointer (a libc syscall wrapper): its caller's
    # return address is the first code address after a call between rsp and rbp.
    top = rbp if rsp < rbp <= rsp + 8 * SCAN_WORDS else rsp + 8 * 64
    try:
        words = t.read(rsp, max(0, top - rsp) // 8 * 8)
    except MemoryReadError:
        words = b""
    for (w,) in struct.iter_unpack("<Q", words):
        if _executable(maps, w) and _after_call(t, w):
            pcs.append(w)
            break
    fp = rbp
    while len(pcs) < MAX_FRAMES and fp and fp % 8 == 0:
        try:
            next_fp, ret = struct.unpack("<QQ", t.read(fp, 16))
        except MemoryReadError:
            break
        if not ret or not _executable(maps, ret):
            break
        if ret != pcs[-1]:
            pcs.append(ret)
        if next_fp <= fp:
            break
        fp = next_fp
    return pcs


def _image_base(t: Tracee, maps: list[_Map], i: int) -> int | None:
    """The start of the ELF image an anonymous mapping belongs to (replayed file maps)."""
    j = i
    while j >= 0 and i - j < 16:
        m = maps[j]
        if m.path and not m.path.startswith("["):
            return None
        try:
            if t.read(m.start, 4) == b"\x7fELF":
                return m.start
        except MemoryReadError:
            pass
        if j == 0 or maps[j - 1].end != m.start:
            return None
        j -= 1
    return None


# -- helpers: ELF symbol tables ------------------------------------------------------

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
PT_LOAD, PT_DYNAMIC = 1, 2
SHT_SYMTAB, SHT_DYNSYM = 2, 11
ET_DYN = 3
STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE = 2, 10, 0
DT_NULL, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SONAME = 0, 4, 5, 6, 10, 14
DT_GNU_HASH = 0x6FFFFEF5
MAX_SYMBOLS = 2_000_000


class _Symbols:
    """Function symbols of one ELF image, by virtual address."""

    def __init__(self, syms: list[tuple[int, int, str, bool]], loads: list[tuple[int, int, int]],
                 dynamic: bool, name: str = "") -> None:
        syms.sort(key=lambda s: (s[0], not s[3]))  # globals first at one address
        self.starts: list[int] = []
        self.items: list[tuple[int, int, str]] = []
        for value, size, sym, _glob in syms:
            if self.starts and self.starts[-1] == value:
                continue
            self.starts.append(value)
            self.items.append((value, size, sym))
        self.loads = loads  # (p_offset, p_vaddr, p_filesz)
        self.dynamic = dynamic
        self.name = name

    def vaddr_of_offset(self, off: int) -> int | None:
        for p_off, p_vaddr, p_filesz in self.loads:
            if p_off <= off < p_off + p_filesz:
                return off - p_off + p_vaddr
        return None

    def lookup(self, vaddr: int) -> tuple[str, int] | None:
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i < 0:
            return None
        value, size, name = self.items[i]
        if size and vaddr >= value + size:
            return None
        return name, value

    @staticmethod
    def _keep(info: int, shndx: int, value: int) -> bool:
        return shndx != 0 and value != 0 and (info & 0xF) in (STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE)

    @classmethod
    def from_file(cls, f: Any) -> _Symbols | None:
        def at(off: int, size: int) -> bytes:
            f.seek(off)
            data = f.read(size)
            if len(data) != size:
                raise ValueError("truncated ELF file")
            return data

        eh = _EHDR.unpack(at(0, _EHDR.size))
        ident, e_type, phoff, shoff, phnum, shentsize, shnum = eh[0], eh[1], eh[5], eh[6], eh[9], eh[11], eh[12]
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            return None
        loads = []
        for k in range(phnum):
            ph = _PHDR.unpack(at(phoff + k * _PHDR.size, _PHDR.size))
            if ph[0] == PT_LOAD:
                loads.append((ph[2], ph[3], ph[5]))
        shdrs = [_SHDR.unpack(at(shoff + k * shentsize, _SHDR.size)) for k in range(shnum)] if shoff else []
        table = next((s for s in shdrs if s[1] == SHT_SYMTAB), None) \
            or next((s for s in shdrs if s[1] == SHT_DYNSYM), None)
        syms: list[tuple[int, int, str, bool]] = []
        if table is not None and table[6] < len(shdrs):
            strs = shdrs[table[6]]
            strtab = at(strs[4], strs[5])
            count = min(table[5] // _SYM.size, MAX_SYMBOLS)
            raw = at(table[4], count * _SYM.size)
            for st_name, info, _other, shndx, value, size in _SYM.iter_unpack(raw):
                if cls._keep(info, shndx, value):
                    end = strtab.find(b"\0", st_name)
                    name = strtab[st_name:end if end >= 0 else None].decode(errors="replace")
                    if name:
                        syms.append((value, size, name, info >> 4 == 1))
        return cls(syms, loads, e_type == ET_DYN)

    @classmethod
    def from_memory(cls, t: Tracee, base: int) -> _Symbols | None:
        """The dynamic symbol table of an ELF image loaded at base (ld.so layout)."""
        eh = _EHDR.unpack(t.read(base, _EHDR.size))
        if eh[0][:4] != b"\x7fELF" or eh[0][4] != 2:
            return None
        e_type, phoff, phnum = eh[1], eh[5], eh[9]
        dynamic = e_type == ET_DYN
        bias = base if dynamic else 0
        dyn_addr = None
        loads = []
        for k in range(min(phnum, 64)):
            ph = _PHDR.unpack(t.read(base + phoff + k * _PHDR.size, _PHDR.size))
            if ph[0] == PT_DYNAMIC:
                dyn_addr = bias + ph[3]
            elif ph[0] == PT_LOAD:
                loads.append((ph[2], ph[3], ph[5]))
        if dyn_addr is None:
            return None
        tags: dict[int, int] = {}
        for k in range(512):
            tag, val = struct.unpack("<qQ", t.read(dyn_addr + 16 * k, 16))
            if tag == DT_NULL:
                break
            tags.setdefault(tag, val)

        def addr(v: int) -> int:  # ld.so relocates these in place; the file has them relative
            return v if v >= bias else v + bias

        if DT_SYMTAB not in tags or DT_STRTAB not in tags:
            return None
        symtab, strtab_addr = addr(tags[DT_SYMTAB]), addr(tags[DT_STRTAB])
        strsz = min(tags.get(DT_STRSZ, 0), 16 << 20)
        count = _dynsym_count(t, tags, addr, symtab, strtab_addr)
        if not count or not strsz:
            return None
        strtab = t.read(strtab_addr, strsz)
        raw = t.read(symtab, count * _SYM.size)
        syms = []
        for st_name, info, _other, shndx, value, size in _SYM.iter_unpack(raw):
            if cls._keep(info, shndx, value) and st_name < len(strtab):
                end = strtab.find(b"\0", st_name)
                name = strtab[st_name:end if end >= 0 else None].decode(errors="replace")
                if name:
                    syms.append((value, size, name, info >> 4 == 1))
        soname = ""
        if DT_SONAME in tags and tags[DT_SONAME] < len(strtab):
            end = strtab.find(b"\0", tags[DT_SONAME])
            soname = strtab[tags[DT_SONAME]:end].decode(errors="replace")
        return cls(syms, loads, dynamic, soname)


def _dynsym_count(t: Tracee, tags: dict[int, int], addr: Callable[[int], int],
                  symtab: int, strtab: int) -> int:
    if DT_HASH in tags:
        return min(struct.unpack("<II", t.read(addr(tags[DT_HASH]), 8))[1], MAX_SYMBOLS)
    if DT_GNU_HASH in tags:
        h = addr(tags[DT_GNU_HASH])
        nbuckets, symoffset, bloom_size, _shift = struct.unpack("<IIII", t.read(h, 16))
        if nbuckets > 1 << 20 or bloom_size > 1 << 20:
            return 0
        buckets_at = h + 16 + 8 * bloom_size
        buckets = struct.unpack(f"<{nbuckets}I", t.read(buckets_at, 4 * nbuckets))
        last = max(buckets, default=0)
        if last < symoffset:
            return symoffset
        chains_at = buckets_at + 4 * nbuckets
        while last - symoffset < MAX_SYMBOLS:
            (v,) = struct.unpack("<I", t.read(chains_at + 4 * (last - symoffset), 4))
            if v & 1:
                return last + 1
            last += 1
        return 0
    if strtab > symtab:
        return min((strtab - symtab) // _SYM.size, MAX_SYMBOLS)
    return 0

"""The recorder: a VEE policy that writes every nondeterministic input to a trace.

Record is specific (rr's rule): this module knows what to capture; replay is
generic and puts it back.

Scheduling: of the tasks that may touch the same memory (a *domain*: a
process and its threads, or every process with shared memory, see
scribe/domains.py) one runs user code at a time (the domain's *runner*), so
the order in which tracees pass from the kernel back to user code — recorded
as the global event order — is everything replay needs to reproduce the
interleaving; tasks of different domains run side by side. A tracee gives
its domain's token up when it enters a call that may block (another task
runs meanwhile) and asks for it back at the call's exit stop; at each exit
the runner yields to waiting tracees, so nobody starves while a process
loops on non-blocking calls, and a runner that computes for a whole slice
while others wait is preempted. Every event that lets a tracee go back to
user code — a syscall's completion, a new task's first instruction, a
signal handler — is appended at the moment the token is granted.

Signals: an asynchronous signal that arrives while its target runs user code
is not delivered there (replay could not find that instruction again): it is
kept and delivered at the target's next syscall entry, by rewinding that call
so it runs again after the handler (as the kernel restarts calls; the trace
marks it, since other domains' events may come between). A loop that makes
no syscall is interrupted after a slice and gets the signal there, at a
point replay finds like a preemption. Signals that arrive at a syscall
boundary, and synchronous faults, are delivered where they arrive. Each
delivery is a Signal event.
"""

from __future__ import annotations

import collections
import errno as _errno
import functools
import os
import signal as _signal
import stat as _stat
import struct
import time
from typing import Any

from scribe import determinism as D
from scribe import domains, fdtable
from scribe.domains import Domain
from scribe.hostcache import DigestCache
from traces import BlobRef, Exec, Exit, Inline, Input, Signal, Spawn, Syscall, TraceWriter
from virt import ptrace_api as P
from virt import syscalls as S
from virt import timepage as TP
from virt.memory import MemoryReadError
from virt.notsc import clock_ns, coarse_ns, monotonic_ns
from virt.tracer import HOLD, RUN_EXIT, SKIP, Tracee
from virt.vee import Vee, nr

SYNC_FAULTS = frozenset({_signal.SIGSEGV, _signal.SIGBUS, _signal.SIGILL, _signal.SIGFPE,
                         _signal.SIGTRAP, _signal.SIGSYS})

NO_RETURN = frozenset({nr("exit"), nr("exit_group")})
EXECVE = frozenset({nr("execve"), nr("execveat")})
MMAP = nr("mmap")
# rt_sigreturn restores registers from the stack: deterministic, not traced.
NOT_TRACED = frozenset({nr("rt_sigreturn")})
NO_KERNEL_COPIES = frozenset({nr("copy_file_range"), nr("sendfile")})
MAP_ANONYMOUS = 0x20
CLONE, CLONE3 = nr("clone"), nr("clone3")
PARTIAL_ON_ERROR = frozenset({nr("read"), nr("recvmsg")})  # may have written before failing
ERESTART = frozenset({-512, -513, -514, -516})
# The restart codes after which the kernel makes the same call again
# (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND; ERESTART_RESTARTBLOCK, -516,
# comes back as restart_syscall instead).
REMADE = frozenset({-512, -513, -514})
RESTART_SYSCALL = S.BY_NAME["restart_syscall"].nr
TIME_SLICE_NS = 50_000_000  # user code before a waiting tracee gets its turn
PREEMPT_REGS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
_NO_SYSCALL = (1 << 64) - 1  # orig_rax of a task the kernel entered by an interrupt
CLONE_VFORK = 0x4000
CLONE_VM = 0x100
CLONE_NEWTIME = 0x80

# A time page slot read empty at this many stops of its thread in a row is
# taken back until the thread's next clock call (a read costs ~2 us a stop).
IDLE_READS = 16

# Time calls that stop (a thread's first through the time page, and those of
# programs without the page or of threads beyond its slots): the clocks below
# read the same in every process
# of the machine, so the recorder answers at the seccomp stop from its own
# clock, as the kernel would a moment later, and saves the exit stop. The
# event is the one the exit stop would have made. Per-process and per-thread
# CPU clocks, and anything after a time namespace may have changed, run.
CLOCK_GETTIME, GETTIMEOFDAY, TIME = nr("clock_gettime"), nr("gettimeofday"), nr("time")
TIME_NRS = frozenset({CLOCK_GETTIME, GETTIMEOFDAY, TIME})
IO_NRS = frozenset(TP.IO_NRS)
CLOSE, DUP, DUP2, DUP3, FCNTL, CLOSE_RANGE = (nr(n) for n in ("close", "dup", "dup2", "dup3", "fcntl",
                                                              "close_range"))
OPENS = frozenset(nr(n) for n in ("open", "openat", "openat2", "creat"))
PIPES = frozenset({nr("pipe"), nr("pipe2")})
FD_CALLS = frozenset({CLOSE, DUP, DUP2, DUP3, FCNTL, CLOSE_RANGE} | OPENS | PIPES)
CLONE_FILES = 0x400
SHARED_CLOCKS = frozenset({0, 1, 4, 5, 6, 7, 11})  # REALTIME MONOTONIC MONOTONIC_RAW *_COARSE BOOTTIME TAI
UNSHARE, SETNS = nr("unshare"), nr("setns")
_TIMESPEC = struct.Struct("<qq")
_U64 = struct.Struct("<q")

NONBLOCKING_NRS = frozenset(S.BY_NAME[n].nr for n in D.NONBLOCKING if n in S.BY_NAME)
# Calls replay must really run: their Syscall events carry EXECUTED.
EXECUTED_NRS = frozenset(i.nr for i in S.SYSCALLS.values() if i.replay == S.EXECUTE)


def is_sync_fault(signo: int, siginfo: bytes) -> bool:
    """A fault raised by the instruction itself: replay meets it again by itself."""
    if signo not in SYNC_FAULTS or len(siginfo) < 12:
        return False
    code = struct.unpack_from("<i", siginfo, 8)[0]
    return 0 < code < 0x80


def file_version(st: os.stat_result, offset: int, length: int) -> tuple[int, ...]:
    """What says a file range holds the bytes it held before: the file's
    identity (device, inode), its modification and change times, its size,
    and the range. Keys the recorder's and the replayer's caches of file bytes."""
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, offset, length)


@functools.cache
def _pseudo_devs() -> frozenset[int]:
    """The devices of /proc and /sys: their files are not buffered."""
    out = set()
    for d in ("/proc", "/sys"):
        try:
            out.add(os.stat(d).st_dev)
        except OSError:
            pass
    return frozenset(out)


def _signal_pending(tid: int) -> bool:
    """A signal waits for the thread (or its process): the call was cut short
    by it, not only by our own PTRACE_INTERRUPT."""
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            for line in f:
                if line.startswith((b"SigPnd:", b"ShdPnd:")) and int(line.split()[1], 16):
                    return True
    except (OSError, ValueError, IndexError):
        return True  # unknown: keep the event (replay handles a restart too)
    return False


class Recorder(Vee):
    traps_rdtsc = True  # determinism.child_setup; recorded in signal()

    def __init__(self, writer: TraceWriter) -> None:
        super().__init__()
        self.w = writer
        self.t0 = monotonic_ns()
        # One runner per domain (scribe/domains.py): Tracee.state is its domain.
        self.shared_domain = Domain(shared=True)
        self.contended: set[Domain] = set()  # domains whose waiters wait for the runner
        self.deferred: dict[int, list[tuple[int, bytes]]] = {}  # tid -> [(signo, siginfo)]
        # Runners whose signal waits while they run user code (since when):
        # a loop that makes no syscall is interrupted and gets it there.
        self.spinning: dict[Tracee, int] = {}
        self.tsc_base = monotonic_ns()
        self.started = False  # before the first exec, the tracee is scribe's own launcher
        # Every write stops here anyway: pids written into files get translated.
        self.traps_writes = True
        self.handlers[nr("write")] = self._write
        self._file_cache: dict[tuple[int, ...], BlobRef] = {}
        self._digests: DigestCache | None = None  # loaded at the first file blob
        self._append = writer.append  # the hot path: no Recorder.append frame
        self._finish_skip = lambda tt: self.tracer.finish_entry(tt, SKIP)  # made once, not per call
        self._interp_cache: dict[bytes, str | None] = {}
        self.shared_clocks = True  # no tracee can have left scribe's time namespace
        # Time pages (virt/timepage.py): the processes that have one, and
        # which of their threads holds a buffer slot. A stop of a thread with a
        # slot reads its buffer first (a read of tracee memory, ~2 us), so a
        # thread gets a slot at its first clock call through the page (that
        # call stops), and gives it back after IDLE_READS stops that found it
        # empty: threads that do not read the clock pay nothing.
        self.time_page = writer.header.get("time_page") == TP.VERSION  # what the trace header promises
        self.slots = TP.Slots()
        self.idle_reads: dict[int, int] = {}  # tid -> reads of its buffer in a row that found it empty
        self.own_files: set[tuple[int, int]] = set()  # scribe's stdin, stdout, stderr: not buffered
        # The fds replay prints the writes to (scribe/fdtable.py), per process;
        # the task in such a write, and those waiting at the entry of one.
        self.echo_fds: dict[int, dict[int, int]] = {}
        self.echoing: Tracee | None = None
        self.echo_waiters: collections.deque[Tracee] = collections.deque()
        for fd in (0, 1, 2):
            try:
                st = os.fstat(fd)
            except OSError:
                continue
            self.own_files.add((st.st_dev, st.st_ino))

    # -- filter: everything the table does not allow ---------------------------
    def trace_set(self) -> set[int]:
        out = {i.nr for i in S.SYSCALLS.values() if i.replay != S.ALLOW}
        return (out | super().trace_set()) - NOT_TRACED

    def allow_at(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        if not self.time_page:
            return ()
        return ((TP.UNTRACED_IP, TP.NRS), (TP.GETTID_IP, (TP.GETTID,)),
                (TP.IO_UNTRACED_IP, TP.IO_NRS), (TP.IO_GETTID_IP, (TP.GETTID,)))

    def errno_set(self) -> set[int]:
        # In-kernel copies move data that never passes through the program's
        # memory, so the trace could not show it again (cat's output to a
        # file, say). They fail with ENOSYS, as on older kernels, and
        # programs fall back to read and write.
        return Vee.errno_set(self) | NO_KERNEL_COPIES

    def finish(self) -> None:
        """The recording is over: keep the new file digests for next time."""
        if self._digests is not None:
            self._digests.save()

    def now(self) -> int:
        return monotonic_ns() - self.t0

    def append(self, ev: Any) -> None:
        self.w.append(ev)

    # -- the runner token ------------------------------------------------------
    def want_run(self, t: Tracee, ev: Any, go: Any = None) -> bool:
        """t is stopped and would go back to user code after `ev`.

        Returns True if it may go now; otherwise it is queued (t.held) and
        `go(t)` (default: a plain resume) lets it go when its turn comes.
        """
        d: Domain = t.state  # type: ignore[assignment]
        runner = d.runner
        if runner is None or runner is t:
            if runner is t and d.waiters:
                d.runner = None
                self._wait(d, t, ev, go)
                self._grant_next(d)
                return False
            d.runner = t
            t.policy["boundary"] = True
            d.granted = coarse_ns()
            if ev is not None:
                self._append(ev)
            return True
        self._wait(d, t, ev, go)
        return False

    def _wait(self, d: Domain, t: Tracee, ev: Any, go: Any) -> None:
        d.waiters.append((t, ev, go))
        self.contended.add(d)
        t.held = True

    # -- preemption ------------------------------------------------------------
    def tick_wanted(self) -> bool:
        return bool(self.contended) or bool(self.spinning)

    def tick(self) -> None:
        """A runner has run user code for a whole slice while others of its
        domain wait, or while its signal waits for a syscall."""
        now = coarse_ns()
        for t, since in list(self.spinning.items()):
            if now - since >= TIME_SLICE_NS:
                self._interrupt(t, "signal")
        for d in list(self.contended):
            t = d.runner
            if t is not None and d.waiters and now - d.granted >= TIME_SLICE_NS:
                self._interrupt(t, True)

    @staticmethod
    def _interrupt(t: Tracee, why: object) -> None:
        """Stop a runner in user code; interrupted() takes it from there."""
        if t.policy.get("preempt"):
            return  # asked already
        t.policy["preempt"] = why
        try:
            P.interrupt(t.tid)
        except OSError:
            t.policy.pop("preempt", None)

    def interrupted(self, t: Tracee) -> bool:
        d: Domain = t.state  # type: ignore[assignment]
        why = t.policy.pop("preempt", None)
        if not why or d.runner is not t:
            return False
        # Where it stopped, without performance counters: the instruction
        # pointer and every general register. Replay stops it where they match.
        t.load_regs()
        if TP.holds(t.regs.rip):
            return False  # inside the time page's code: at the next tick, elsewhere
        if t.tid in self.slots.of:
            self._page_calls(t)
        if why == "signal":
            return self._signal_here(t)
        self.append(Input(t.vtid, "preempt", [getattr(t.regs, r) for r in PREEMPT_REGS], self.now()))
        d.runner = None
        self._wait(d, t, Input(t.vtid, "resume", 0, 0), None)
        self._grant_next(d)
        return True

    def give_up(self, t: Tracee) -> None:
        d: Domain = t.state  # type: ignore[assignment]
        if d.runner is t:
            d.runner = None
            self._grant_next(d)

    def _grant_next(self, d: Domain) -> None:
        waiters = d.waiters
        while d.runner is None and waiters:
            t, ev, go = waiters.popleft()
            if not waiters:
                self.contended.discard(d)
            if t.tid not in self.tracer.tracees or t.exiting:
                continue
            d.runner = t
            t.policy["boundary"] = True
            d.granted = coarse_ns()
            if ev is not None:
                if isinstance(ev, Input):
                    ev.time_ns = self.now()
                self._append(ev)
            if go is not None:
                t.held = False
                go(t)
            elif t.held:
                self.tracer.release(t)

    # -- lifecycle ---------------------------------------------------------------
    def first_process(self, t: Tracee) -> None:
        super().first_process(t)
        d = t.state = Domain()
        d.runner = t  # no grant time: its slice counts as spent
        self.echo_fds[t.tgid] = {1: 1, 2: 2}  # (as replay starts)
        self.append(Spawn(t.vtid, 0, t.vpid, Spawn.FORK, self.now()))

    def spawned(self, parent: Tracee, child: Tracee, kind: int, flags: int) -> None:
        super().spawned(parent, child, kind, flags)
        child.state = domains.of_child(parent.state, kind, flags)  # type: ignore[arg-type]
        child.policy["spawn"] = Spawn(child.vtid, parent.vtid, child.vpid,
                                      {0: Spawn.FORK, 1: Spawn.VFORK, 2: Spawn.THREAD}[kind], 0)
        if kind != 2:
            self.echo_fds[child.tgid] = dict(self.echo_fds.get(parent.tgid, {}))
        if self.slots.has_page(parent.tgid) and not flags & CLONE_VM:
            self.slots.copy(child, parent.tgid)  # a copy of the page; threads and a vfork child share it
            if flags & CLONE_FILES:
                # One fd table, two pages: neither could keep the other's
                # marks, so neither buffers I/O calls from now on.
                for o in (parent, child):
                    self._io_off(o)
        elif kind == 2 and parent.tgid in self.slots.io:
            self._io_not_alone(parent)

    def child_started(self, child: Tracee) -> None:
        super().child_started(child)
        ev = child.policy.pop("spawn")
        ev.time_ns = self.now()  # type: ignore[attr-defined]
        self.want_run(child, ev)

    def execed(self, t: Tracee, former_tid: int) -> None:
        super().execed(t, former_tid)
        self.started = True
        self._new_domain(t)
        path = D.proc_exe(t.tid)
        binary = self._file_blob(f"/proc/{t.tid}/exe")
        if isinstance(binary, bytes):
            binary = self.w.blob(binary)
        self.append(Exec(t.vtid, path, D.proc_cmdline(t.tid), binary, self.now()))
        files: dict[str, Any] = {}
        script = t.policy.pop("exec_path", None)
        if isinstance(script, str):
            head = D.read_file(script, 2)
            if head == b"#!":
                sdata = D.read_file(script)
                if sdata is not None:
                    files.update(script=script, script_blob=self.w.blob(sdata))
        interp = self._interp_of(path, binary)
        if interp is not None:
            iref = self._file_blob(interp)
            if isinstance(iref, bytes):
                iref = self.w.blob(iref)
            if iref is not None:
                files.update(interp=interp, interp_blob=iref)
        if files:
            self.append(Input(t.vtid, "exec_files", files, self.now()))
        rnd, where = D.patch_auxv(t, self.time_page and self.tracer.use_seccomp)
        self._forget_page(t)
        if where is not None:
            t.policy["time_page"] = where  # put in at the exit stop
        if rnd:
            self.append(Input(t.vtid, "at_random", t.read(rnd, 16), self.now()))

    def _interp_of(self, path: str, binary: BlobRef | None) -> str | None:
        if binary is None:
            return None
        got = self._interp_cache.get(binary.digest, False)
        if got is False:
            head = D.read_file(path.removesuffix(" (deleted)"), 1 << 16) or b""
            info = D.elf_interp(head)
            got = info[0] if info else None
            self._interp_cache[binary.digest] = got
        return got  # type: ignore[return-value]

    def exiting(self, t: Tracee, status: int) -> bool:
        if t.tid in self.slots.of:
            self._page_calls(t)
            self.slots.take_back(t)
        # A dying task keeps the token until it is gone: its death still
        # writes memory (CLONE_CHILD_CLEARTID) and wakes futex waiters, and
        # nobody may observe the half-dead state (replay waits the same way).
        # A leader whose threads live on stays a zombie until they die: let go.
        if t.tid == t.tgid and any(o.tgid == t.tgid and o is not t
                                   for o in self.tracer.tracees.values()):
            self.give_up(t)
        return super().exiting(t, status)

    def exited(self, t: Tracee, status: int) -> None:
        super().exited(t, status)
        if self.echoing is t:  # killed in its write
            self._echo_next()
        if not any(o.tgid == t.tgid for o in self.tracer.tracees.values()):
            self.echo_fds.pop(t.tgid, None)
        self.deferred.pop(t.tid, None)
        self.spinning.pop(t, None)
        self.slots.take_back(t, in_memory=False)
        self.idle_reads.pop(t.tid, None)
        if t.tid == t.tgid:  # its pid may be handed out again
            self._forget_page(t)
        d: Domain = t.state  # type: ignore[assignment]
        if d.runner is t:
            d.runner = None
        self.append(Exit(t.vtid, status, self.now()))
        self._grant_next(d)

    # -- domains -------------------------------------------------------------------
    def _new_domain(self, t: Tracee) -> None:
        """An exec: the new image shares memory with nobody (t keeps running)."""
        old: Domain = t.state  # type: ignore[assignment]
        new = t.state = Domain()
        if old.runner is t:
            old.runner = None
            self._grant_next(old)
            new.runner = t
            new.granted = old.granted

    def _join_shared(self, t: Tracee) -> None:
        """t's process mapped shared memory: every task of its domain joins
        the shared one (t, at its exit stop, asks for its turn there next)."""
        old: Domain = t.state  # type: ignore[assignment]
        shared = self.shared_domain
        if old is shared:
            return
        for o in self.tracer.tracees.values():
            if o.state is old:
                o.state = shared
                if o.tgid in self.slots.io:
                    self._io_not_alone(o)  # (a vfork child's parent too)
        if old.runner is t:
            old.runner = None
        self.contended.discard(old)
        if old.waiters:
            shared.waiters.extend(old.waiters)
            old.waiters.clear()
            self.contended.add(shared)

    def group_stop(self, t: Tracee, signo: int) -> None:
        self.give_up(t)

    # -- syscalls ------------------------------------------------------------------
    def syscall_entry(self, t: Tracee) -> int:
        if t.tid in self.slots.of:
            self._page_calls(t)
        policy = t.policy
        policy["boundary"] = False
        restarted = policy.pop("restart_of", None)
        if restarted is not None and t.nr == RESTART_SYSCALL:
            # The kernel resumes a call our interrupt cut short: the program
            # (and replay) made one call, so it is recorded as that call.
            t.nr, t.args = restarted  # type: ignore[misc]
        pending = self.deferred.get(t.tid)
        if pending:
            self.spinning.pop(t, None)
            return self._deliver_deferred(t, pending)
        try:
            inputs = S.entry_inputs(t.nr, t.args, t)
        except Exception:
            inputs = []
        if t.nr in IO_NRS and t.tgid in self.slots.io:
            self._io_site(t)
        if t.nr in TIME_NRS and t.tid not in self.slots.of and TP.holds(t.regs.rip) \
                and self.slots.has_page(t.tgid):
            # A clock call through the page without a slot: the next need no stop.
            self.slots.give(t)
            self.idle_reads[t.tid] = 0
        if t.nr in TIME_NRS and self.shared_clocks:
            writes = self._clock(t)
            if writes is not None:
                ev = Syscall(t.vtid, t.nr, t.args, t.result, writes, tuple(inputs), 0, monotonic_ns() - self.t0)
                if self.want_run(t, ev, self._finish_skip):
                    return SKIP
                return HOLD
        elif t.nr in (UNSHARE, SETNS, CLONE3):
            self._note_namespaces(t)
        action = super().syscall_entry(t)
        if action == SKIP:
            # Emulated by the VEE at entry (getpid & co): done already.
            ev = Syscall(t.vtid, t.nr, t.args, t.result, (), tuple(inputs),
                         Syscall.PATCHED if policy.pop("patched", None) else 0, monotonic_ns() - self.t0)
            if self.want_run(t, ev, self._finish_skip):
                return SKIP
            return HOLD
        if action == HOLD:
            self.give_up(t)
            t.policy["rec_inputs"] = inputs
            return HOLD
        if t.nr in NO_RETURN:
            self.append(Syscall(t.vtid, t.nr, t.args, 0, (), tuple(inputs),
                                Syscall.EXECUTED | Syscall.NO_EXIT, self.now()))
            return action
        t.policy["rec_inputs"] = inputs
        if t.nr in EXECVE:
            try:
                raw = t.read_cstring(t.args[1 if t.nr == nr("execveat") else 0])
                t.policy["exec_path"] = os.path.abspath(raw.decode(errors="surrogateescape"))
            except MemoryReadError:
                pass
        if t.nr not in NONBLOCKING_NRS or self._vfork_like(t):
            self.give_up(t)
        if t.nr in fdtable.WRITE_CALLS and self.echo_fds.get(t.tgid, {}).get(t.args[0] & 0xFFFFFFFF) \
                and not self._echo_turn(t):
            return HOLD
        return RUN_EXIT

    # -- writes replay prints: one at a time ----------------------------------------
    def _echo_turn(self, t: Tracee) -> bool:
        """t is at the entry of a write replay will print: it may go on if
        no other task is in one; else it waits (held) for its turn. Its event
        is in the trace before the next such write starts, so the trace has
        them in the order they reached the file."""
        if self.echoing is None or self.echoing is t:
            self.echoing = t
            return True
        self.echo_waiters.append(t)
        return False

    def _echo_next(self) -> None:
        """The write in progress is in the trace (or its task gone): the next one's turn."""
        self.echoing = None
        while self.echo_waiters:
            t = self.echo_waiters.popleft()
            if t.tid in self.tracer.tracees and not t.exiting:
                self.echoing = t
                self.tracer.finish_entry(t, RUN_EXIT)
                return

    def _echo_go(self, t: Tracee) -> None:
        """The write's task got its turn to run on: its event is in the trace."""
        self._echo_next()
        self.tracer.resume(t)

    def _clock(self, t: Tracee) -> tuple[tuple[int, bytes], ...] | None:
        """Answer a time call now (t is skipped with its result) and return the
        memory it wrote; None to let the kernel run it (other clocks, NULL or
        unwritable pointers, a timezone asked for)."""
        a = t.args
        if t.nr == CLOCK_GETTIME:
            clock = a[0] & 0xFFFFFFFF
            if clock not in SHARED_CLOCKS or not a[1]:
                return None
            ns = clock_ns(clock)
            data = _TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000)
            addr, result = a[1], 0
        elif t.nr == GETTIMEOFDAY:
            if a[1]:  # struct timezone: the kernel's sys_tz, not ours to know
                return None
            if not a[0]:
                t.skip(0)
                return ()
            ns = clock_ns(time.CLOCK_REALTIME)
            data = _TIMESPEC.pack(ns // 1_000_000_000, ns % 1_000_000_000 // 1000)
            addr, result = a[0], 0
        else:  # time(tloc)
            result = clock_ns(time.CLOCK_REALTIME) // 1_000_000_000
            if not a[0]:
                t.skip(result)
                return ()
            data, addr = _U64.pack(result), a[0]
        if not t.store(addr, data):
            return None  # EFAULT and the like: the kernel says it
        t.skip(result)
        return ((addr, data),)

    def _note_namespaces(self, t: Tracee) -> None:
        """A tracee may enter another time namespace: stop answering clocks."""
        if t.nr == SETNS:
            self.shared_clocks = False
        elif t.nr == UNSHARE:
            if t.args[0] & CLONE_NEWTIME:
                self.shared_clocks = False
        else:
            try:
                if t.read_u64(t.args[0]) & CLONE_NEWTIME:
                    self.shared_clocks = False
            except MemoryReadError:
                pass

    def _vfork_like(self, t: Tracee) -> bool:
        """clone with CLONE_VFORK blocks until the child execs or exits."""
        if t.nr == CLONE:
            return bool(t.args[0] & CLONE_VFORK)
        if t.nr == CLONE3:
            try:
                return bool(t.read_u64(t.args[0]) & CLONE_VFORK)
            except MemoryReadError:
                return True
        return False

    def syscall_exit(self, t: Tracee) -> None:
        super().syscall_exit(t)
        res = t.result
        nr_ = t.nr
        if nr_ in EXECVE and "time_page" in t.policy:
            self._put_time_page(t)
        if res in ERESTART and t.policy.get("preempt") and not _signal_pending(t.tid):
            # Our own PTRACE_INTERRUPT reached a blocked call: the kernel
            # restarts it by itself; the program sees nothing, nor does the trace.
            # (ERESTART_RESTARTBLOCK comes back as restart_syscall: see syscall_entry.)
            t.policy.pop("rec_inputs", None)
            if res == -516:
                t.policy["restart_of"] = (nr_, t.args)
            return
        writes: list[tuple[int, bytes | BlobRef]] = []
        if res >= 0 or res < -4095 or nr_ in PARTIAL_ON_ERROR:
            try:
                ranges = S.written_ranges(nr_, t.args, res, t)
            except Exception:
                ranges = []
            for addr, size in ranges:
                if size <= 0:
                    continue
                try:
                    writes.append((addr, t.read(addr, size)))
                except MemoryReadError:
                    continue
        if nr_ == MMAP and res >= 0 and res < (1 << 63) and not (t.args[3] & MAP_ANONYMOUS):
            content = self._mapped_file(t)
            if content is not None:
                writes.append((res, content))
        flags = Syscall.EXECUTED if nr_ in EXECUTED_NRS else 0
        if t.policy.pop("patched", None):
            flags |= Syscall.PATCHED
        if nr_ in FD_CALLS and t.tgid in self.slots.io:
            self._io_fds(t, nr_, res, writes)
        if nr_ in fdtable.CHANGES and res >= 0:
            fdtable.follow(self.echo_fds.setdefault(t.tgid, {}), nr_, t.args, res,
                           (d for _, d in writes if isinstance(d, bytes)))
        if nr_ in domains.SHARING and domains.maps_shared(nr_, t.args, res):
            self._join_shared(t)
        inputs = t.policy.pop("rec_inputs", ())
        ev = Syscall(t.vtid, nr_, t.args, res, tuple(writes), tuple(inputs), flags, monotonic_ns() - self.t0)
        if self.echoing is t:  # its write is in the trace when its turn comes: then the next one's
            if self.want_run(t, ev, self._echo_go):
                self._echo_next()
            return
        self.want_run(t, ev)

    def _mapped_file(self, t: Tracee) -> BlobRef | bytes | None:
        """The bytes a file mapping shows (host independence: replay maps them)."""
        fd = t.args[4] & 0xFFFFFFFF
        length, offset = t.args[1], t.args[5]
        return self._file_blob(f"/proc/{t.tid}/fd/{fd}", offset, length)

    def _file_blob(self, path: str, offset: int = 0, length: int = -1) -> BlobRef | bytes | None:
        """File content as a blob, read and hashed once per file version.

        Every process maps the same libraries: the identity of the file
        (device, inode, change time, size) and the range say it is the same
        content as last time, without reading it again. Its digest is kept
        for the next recording and replay too (scribe/hostcache.py): a
        library is read into every trace, but hashed once.
        """
        try:
            fdn = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fdn)
            key = file_version(st, offset, length)
            ref = self._file_cache.get(key)
            if ref is not None:
                return ref
            if length < 0:
                length = st.st_size
            data = os.pread(fdn, length, offset)
        except OSError:
            return None
        finally:
            os.close(fdn)
        if len(data) < 4096:
            return data
        if self._digests is None:
            self._digests = DigestCache()
        known = self._digests.get(key)
        ref = self.w.blob(data, known)
        if known is None:
            self._digests.keep(key, ref.digest, st.st_ctime_ns)
        self._file_cache[key] = ref
        return ref

    # -- signals -------------------------------------------------------------
    def signal(self, t: Tracee, signo: int, siginfo: bytes) -> int:
        if t.tid in self.slots.of:
            self._page_calls(t)
        injected = t.policy.pop("inject", None)
        if injected is not None:
            # Our own tgkill for a deferred signal: deliver the saved one.
            isig, info = injected  # type: ignore[misc]
            P.setsiginfo(t.tid, info)
            self.append(Signal(t.vtid, isig, info, self.now()))
            return isig
        length = D.decode_tsc(t, siginfo)
        if length:
            value = (monotonic_ns() - self.tsc_base) * 3 + 1_000_000_000
            D.apply_tsc(t, length, value)
            if not self.started:
                return 0
            self.append(Input(t.vtid, "rdtscp" if length == 3 else "rdtsc", value, self.now()))
            return 0
        info = self.translate_siginfo(siginfo)
        if info != siginfo:
            P.setsiginfo(t.tid, info)
        if is_sync_fault(signo, info) or t.state.runner is not t:  # type: ignore[attr-defined]
            self.append(Signal(t.vtid, signo, info, self.now()))
            return signo
        regs = t.load_regs()
        # An interrupt took it into the kernel, or it is in the time page's
        # code (its record path's call is not a boundary replay knows).
        in_user_code = regs.orig_rax == _NO_SYSCALL or TP.in_code(regs.rip)
        if regs.rip == TP.IO_UNTRACED_IP and self._io_again(t, regs, signo):
            return 0  # a failed pipe write, made again with a stop: it raises its SIGPIPE again
        if t.policy.get("boundary") and not in_user_code:
            self.append(Signal(t.vtid, signo, info, self.now()))  # at a syscall's return
            return signo
        # Asynchronous, in user code (replay could not find the instruction)
        # or inside a call that keeps the token: delivered at its next
        # syscall; a loop that makes none is interrupted for it (tick). One
        # of a standard signal kept already: the kernel keeps one pending too.
        kept = self.deferred.setdefault(t.tid, [])
        if signo < _signal.SIGRTMIN and any(k == signo for k, _ in kept):
            return 0
        kept.append((signo, info))
        if in_user_code:
            self.spinning.setdefault(t, coarse_ns())
        if t.tid in self.slots.of:
            # Its clock reads stop again meanwhile: a loop that reads the
            # clock gets the signal at its next read, not after a slice.
            self.slots.close(t)
        return 0

    # -- the time page -------------------------------------------------------------
    def _put_time_page(self, t: Tracee) -> None:
        where = t.policy.pop("time_page")
        kept: list[tuple[int, bytes]] = []
        if D.install_time_page(t, TP.MODE_RECORD, where, kept):  # type: ignore[arg-type]
            self.slots.new_image(t.tgid)
            self._io_inherited(t)
        for signo, info in kept:  # came while it was put in: at its next syscall
            self.deferred.setdefault(t.tid, []).append((signo, self.translate_siginfo(info)))

    def _forget_page(self, t: Tracee) -> None:
        """The process's image is gone (exec or exit): so is its page."""
        self.slots.forget(t.tgid)

    def _page_calls(self, t: Tracee) -> None:
        """The calls t made without a stop since its last one (its slot of
        the time page: clock reads, I/O calls), appended as the events those
        stops would have made."""
        slot = self.slots.of[t.tid]
        page = TP.slot_page(slot)
        try:
            raw = t.read(page, TP.ENTRIES + 16 * TP.ESIZE)  # as fast as 8 bytes
            _, count, _, used, _ = TP.SLOT_HEAD.unpack_from(raw)
            count = min(count, TP.CAP)
            if count > 16:
                raw = t.read(page, TP.ENTRIES + count * TP.ESIZE)
            data = t.read(TP.slot_data(slot), min(used, TP.DSIZE)) if used else b""
            if count:
                t.write(page + TP.COUNT, bytes(12))  # count, head, data used
        except (OSError, MemoryReadError):
            return
        if t.tid in self.slots.closing:
            if not TP.in_code(t.load_regs().rip):
                # Out of the code (or at its syscall made with a stop, past
                # any use of the slot), read once more: free.
                self.slots.take_back(t, in_memory=False)
        elif count:
            self.idle_reads[t.tid] = 0
        else:
            idle = self.idle_reads.get(t.tid, 0) + 1
            self.idle_reads[t.tid] = idle
            if idle >= IDLE_READS:
                self.slots.close(t)  # not making such calls now: until its next one
            return
        now = self.now()
        at = 0
        fds = self.slots.io.get(t.tgid, {})
        view = memoryview(data)
        for nr_, a0, a1, res, w0, w1 in TP.entries(raw[TP.ENTRIES:], count):
            if nr_ in TIME_NRS:
                args = (a0, a1, 0, 0, 0, 0) if nr_ == TP.CLOCK_GETTIME else (a1, 0, 0, 0, 0, 0)
                self._append(Syscall(t.vtid, nr_, args, res, TP.written(nr_, a1, res, w0, w1), (),
                                     Syscall.BUFFERED, now))
                continue
            if nr_ == TP.READLINK or nr_ == TP.STAT_PATH:  # its path, then its bytes
                path, got = TP.path_parts(data, at, nr_, res)
                at += len(path) + len(got)
                if nr_ == TP.READLINK:  # its path's address in r10's place
                    args, buf, at_path = (w1, a1, w0, 0, 0, 0), a1, w1
                else:
                    nr_, args, buf, at_path = TP.NEWFSTATAT, (a0, a1, w0, w1, 0, 0), w0, a1
                self._append(Syscall(t.vtid, nr_, args, res, ((buf, got),) if got else (),
                                     ((at_path, path),), Syscall.BUFFERED, now))
                continue
            addr, n = TP.io_span(nr_, a1, w0, res)
            if not n:
                kept: tuple[tuple[int, bytes], ...] = ()
            elif nr_ == TP.READ and fds.get(a0) == TP.PIPE:
                kept = ((addr, Inline(view[at:at + n])),)
            else:
                kept = ((addr, data[at:at + n]),)
            at += n
            if nr_ == CLOSE:
                fds.pop(a0, None)  # the page cleared its byte
            if nr_ == TP.WRITE:  # what it wrote: the first bytes, as a write with a stop shows them
                writes, reads = (), kept
            else:
                writes, reads = kept, ((a1, b"\0"),) if nr_ == TP.NEWFSTATAT else ()
            self._append(Syscall(t.vtid, nr_, (a0, a1, w0, w1, 0, 0), res, writes, reads,
                                 Syscall.BUFFERED, now))

    # -- I/O calls through the page ----------------------------------------------------
    def _io_site(self, t: Tracee) -> None:
        """An I/O call that stopped. Made from a call site of the program:
        rewrite the site to go through the page, once, if it is glibc's
        `syscall; cmp $-4096,%rax` (TP.SITES) and t's process has one thread (another
        could be stopped right after the syscall instruction). Made from
        the page with no slot, on a marked fd: give t a slot."""
        rip = t.regs.rip
        if TP.holds(rip):
            if t.tid not in self.slots.of and (t.nr == TP.READLINK or self._stat_path(t)
                                               or self.slots.io[t.tgid].get(t.args[0] & 0xFFFFFFFF)):
                self.slots.give(t)
                self.idle_reads[t.tid] = 0
            return
        site = rip - 2
        seen = self.slots.no_site[t.tgid]
        if site in seen:
            return
        seen.add(site)  # looked at once: rewritten now, or never
        if self._other_threads(t):
            return
        try:
            if self.slots.rewrite(t) is None:
                t.policy["patched"] = True
        except OSError:
            pass

    @staticmethod
    def _stat_path(t: Tracee) -> bool:
        """t's call is a newfstatat of a path that the page makes without a stop."""
        if t.nr != TP.NEWFSTATAT:
            return False
        try:
            return TP.page_path(t.read_cstring(t.args[1], TP.LINKPATH))
        except MemoryReadError:
            return False

    def _io_fds(self, t: Tracee, nr_: int, res: int, writes: list[tuple[int, bytes | BlobRef]]) -> None:
        """Keep the page's fd table (which fds its I/O calls may be made
        without a stop on) in step with the process's fds. `writes`: what
        the call wrote (a pipe's two fds)."""
        a = t.args
        fds = self.slots.io[t.tgid]
        old = a[0] & 0xFFFFFFFF
        if nr_ == CLOSE:
            self.slots.mark(t, old, 0)
        elif nr_ == CLOSE_RANGE:
            if not a[2] & 4:  # CLOSE_RANGE_CLOEXEC: closed at exec only
                for fd in [f for f in fds if old <= f <= a[1] & 0xFFFFFFFF]:
                    self.slots.mark(t, fd, 0)
        elif res < 0:
            return
        elif nr_ in OPENS:
            self.slots.mark(t, res, self._io_kind(t, res))
        elif nr_ in (DUP2, DUP3):
            self.slots.mark(t, a[1] & 0xFFFFFFFF, fds.get(old, 0))
        elif nr_ == DUP or (nr_ == FCNTL and a[1] in (0, 1030)):  # F_DUPFD, F_DUPFD_CLOEXEC
            self.slots.mark(t, res, fds.get(old, 0))
        elif nr_ in PIPES and writes and isinstance(writes[0][1], bytes) and len(writes[0][1]) == 8:
            for fd in struct.unpack("<ii", writes[0][1]):
                self.slots.mark(t, fd, TP.PIPE if self._alone(t) else 0)

    def _io_kind(self, t: Tracee, fd: int) -> int:
        """Whether calls on fd may be made without a stop: TP.FILE, a
        regular file not of /proc or /sys (whose content the VEE translates
        or the trace must show as read) and none the VEE answers itself;
        TP.PIPE, a pipe or FIFO, while t's process may block alone; 0 for
        anything else, and for the files scribe was started with (replay
        prints what the program writes to its stdout and stderr at each stop)."""
        if not 0 <= fd < TP.FDMAX or (t.tgid, fd) in self.procfds or (t.tgid, fd) in self.idfiles:
            return 0
        try:
            st = os.stat(f"/proc/{t.tid}/fd/{fd}")
        except OSError:
            return 0
        if (st.st_dev, st.st_ino) in self.own_files:
            return 0
        if _stat.S_ISREG(st.st_mode):
            return TP.FILE if st.st_dev not in _pseudo_devs() else 0
        return TP.PIPE if _stat.S_ISFIFO(st.st_mode) and self._alone(t) else 0

    def _alone(self, t: Tracee) -> bool:
        """t's process has one thread and memory of its own: a call of its
        that blocks in the page keeps no other task from running."""
        d: Domain = t.state  # type: ignore[assignment]
        return not d.shared and not self._other_threads(t)

    def _other_threads(self, t: Tracee) -> bool:
        return any(o.tgid == t.tgid and o is not t for o in self.tracer.tracees.values())

    def _io_not_alone(self, t: Tracee) -> None:
        """t's process got a second thread or shared memory: its pipes'
        calls stop from now on."""
        fds = self.slots.io.get(t.tgid)
        for fd in [f for f, kind in (fds or {}).items() if kind == TP.PIPE]:
            self.slots.mark(t, fd, 0)

    def _io_inherited(self, t: Tracee) -> None:
        """A new image: mark the fds it was given (its page's table is empty)."""
        try:
            fds = [int(f) for f in os.listdir(f"/proc/{t.tid}/fd")]
        except (OSError, ValueError):
            return
        for fd in fds:
            self.slots.mark(t, fd, self._io_kind(t, fd))  # (0 for fds past the table, unlooked at)

    def _io_again(self, t: Tracee, regs: P.Regs, signo: int) -> bool:
        """A signal came while t was in the syscall of a call the page makes
        without a stop. If the kernel cut it short (a restart code; a pipe
        read can wait for ever), it is made again with a stop, from the
        page, so that it takes the signal at its entry. If it was a write to
        a pipe no one reads (EPIPE), it is made again with a stop too: its
        SIGPIPE then comes at that call's return, as it would. True in that
        case (this SIGPIPE is dropped)."""
        rax = regs.rax - (1 << 64) if regs.rax >> 63 else regs.rax
        epipe = rax == -_errno.EPIPE and regs.orig_rax == TP.WRITE and signo == _signal.SIGPIPE
        if rax not in REMADE and not epipe:
            return False  # done (its entry is in the slot): the signal waits for the next stop
        try:
            saved = struct.unpack("<6Q", t.read(regs.rsp, 48))
        except MemoryReadError:
            return False
        # Out of the page's code as its path with a stop leaves it: the
        # registers its entry pushed, popped; at that path's syscall.
        regs.rdi, regs.rsi, regs.r14, regs.r13, regs.r12, regs.rbx = saved
        regs.rsp += 48
        if epipe:
            regs.rip, regs.rax = TP.TRACED_IPS[1] - 2, regs.orig_rax
        else:
            regs.rip = TP.TRACED_IPS[1]  # the kernel's restart backs up to the syscall instruction
        t.regs_dirty = True
        return epipe

    def _io_off(self, t: Tracee) -> None:
        """No I/O call of t's process is buffered from now on."""
        if self.slots.io.pop(t.tgid, None) is not None:
            try:
                t.write(TP.HEADER + TP.FDTAB, bytes(TP.FDMAX))
            except OSError:
                pass

    def _signal_here(self, t: Tracee) -> bool:
        """Interrupted with a signal kept for it: in user code still, it gets
        the signal here, at a point replay finds as it finds a preemption (by
        the instruction, the frame and the registers)."""
        self.spinning.pop(t, None)
        pending = self.deferred.get(t.tid)
        if not pending or t.regs.orig_rax != _NO_SYSCALL:
            return False  # it reached a syscall meanwhile: delivered there
        self.append(Input(t.vtid, "preempt", [getattr(t.regs, r) for r in PREEMPT_REGS], self.now()))
        signo, info = pending.pop(0)
        if not pending:
            del self.deferred[t.tid]
        t.policy["inject"] = (signo, info)
        P.tgkill(t.tgid, t.tid, signo)  # comes as it goes on; signal() delivers it
        return False

    def _deliver_deferred(self, t: Tracee, pending: list[tuple[int, bytes]]) -> int:
        """Rewind this syscall, raise the kept signal; the call reruns after the handler."""
        signo, info = pending.pop(0)
        if not pending:
            self.deferred.pop(t.tid, None)
        # Says where it goes: its Signal event may come after other domains'
        # events, which a signal at the previous boundary would come after too.
        self.append(Input(t.vtid, "signal_at_entry", signo, self.now()))
        t.skip(t.nr)
        t.regs.rip -= 2
        t.regs_dirty = True
        t.policy["inject"] = (signo, info)
        t.policy["boundary"] = True
        P.tgkill(t.tgid, t.tid, signo)
        return SKIP

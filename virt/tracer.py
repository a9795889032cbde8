"""The tracer: our own ptrace event loop over every tracee of one VEE.

The tracer owns the mechanics (which stop is which, how to resume, when a
process is new or gone); policy (plain VEE, record, replay) plugs in as an
`Interceptor` and sees a narrow handle on the stopped tracee (`Tracee`):
registers, memory, skip-with-result, change arguments.

Why our own loop: python-ptrace's debugger wraps every stop in objects and
polls per process; one `waitpid(-1, WALL)` loop that dispatches on the
status word is what keeps the per-stop cost low with many processes.

Stops, as decoded here (PTRACE_SEIZE semantics, TRACESYSGOOD):
- seccomp stop (event 7): syscall entry chosen by the BPF filter;
- syscall stop (SIGTRAP|0x80): an exit after we asked for one with
  PTRACE_SYSCALL (or, without seccomp, alternately entry and exit);
- fork/vfork/clone/exec/exit events (SIGTRAP | event << 8);
- PTRACE_EVENT_STOP: group-stop (a stop signal; resumed with LISTEN so job
  control works) or an interrupt / new-child stop (SIGTRAP/SIGSTOP);
- anything else: a signal-delivery stop; the policy decides what to deliver.

A child's first stop may arrive before its parent's fork event (the PID init
race): such a stop is parked, untouched, until the event names the child.
"""

from __future__ import annotations

import copy
import errno
import os
import signal
import struct
from contextlib import nullcontext
from typing import Any, Callable, Iterable, NewType

from virt import ptrace_api as P
from virt.cpus import CpuBinding, Placement
from virt.memory import MemoryReadError
from virt.notsc import TscOff, coarse_ns, sigtimedwait

RealPid = NewType("RealPid", int)

WALL = 0x40000000
PLACE_EVERY = 32  # stops between looks at the clock for Placement.check

STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})

# Actions an interceptor returns from syscall_entry.
RUN = 0          # run the call; no exit stop needed
RUN_EXIT = 1     # run the call and stop at its exit (syscall_exit is called)
SKIP = 2         # the call was skipped with t.skip(result): no exit stop
HOLD = 3         # leave the tracee stopped; the policy resumes it later

OPTIONS = (
    P.O_TRACESYSGOOD | P.O_TRACEFORK | P.O_TRACEVFORK | P.O_TRACECLONE
    | P.O_TRACEEXEC | P.O_TRACEEXIT | P.O_TRACESECCOMP | P.O_EXITKILL
)

_U64 = (1 << 64) - 1
_2_64 = 1 << 64
_SIGN = 1 << 63
_EVENT_STOP = P.EVENT_STOP
_EVENT_SECCOMP = P.EVENT_SECCOMP
_SYSCALL_TRAP = P.SYSCALL_TRAP
_SIGSTOP = int(signal.SIGSTOP)


def signed(v: int) -> int:
    """A register word as a signed 64-bit value (syscall results)."""
    return v - (1 << 64) if v & (1 << 63) else v


class Tracee:
    """One traced thread: the narrow handle policies work through."""

    __slots__ = (
        "tid", "tgid", "vtid", "vpid", "regs", "regs_dirty", "in_syscall",
        "nr", "args", "want_exit", "stopped", "held", "memfd", "parent",
        "pending_sig", "exiting", "exit_status", "state", "policy",
        "initial", "resume_sig", "after_exec", "args_changed", "regs_ref", "cstrings",
    )

    def __init__(self, tid: int, tgid: int) -> None:
        self.tid = tid
        self.tgid = tgid
        self.vtid = 0
        self.vpid = 0
        self.regs = P.new_regs()
        self.regs_ref = P.regs_ref(self.regs)  # reused pointer argument for GET/SETREGS
        self.regs_dirty = False
        self.in_syscall = False
        self.nr = -1
        self.args: tuple[int, ...] = ()
        self.want_exit = False
        self.stopped = True
        self.held = False
        self.memfd = -1
        self.parent: Tracee | None = None
        self.pending_sig = 0
        self.exiting = False
        self.exit_status: int | None = None
        self.state: object = None  # per-policy scratch
        self.policy: dict[str, object] = {}
        self.initial = True
        self.resume_sig = 0
        self.after_exec = False
        self.args_changed = False
        # Strings read at this stop (addr -> (limit, bytes)): a path is read
        # by the recorder and again by the VEE; dropped at the next stop and
        # by our own writes.
        self.cstrings: dict[int, tuple[int, bytes]] | None = None

    def __repr__(self) -> str:
        return f"<Tracee tid={self.tid} vtid={self.vtid}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> Tracee:
        """A copy for a checkpoint of the replay: the same record with its own
        registers buffer and no /proc/<tid>/mem fd (it stands for another task)."""
        new = Tracee.__new__(Tracee)
        memo[id(self)] = new
        for name in Tracee.__slots__:
            if name not in ("regs", "regs_ref", "memfd", "cstrings"):
                setattr(new, name, copy.deepcopy(getattr(self, name), memo))
        new.regs = type(self.regs).from_buffer_copy(bytes(self.regs))
        new.regs_ref = P.regs_ref(new.regs)
        new.memfd = -1
        new.cstrings = None
        return new

    # -- registers --------------------------------------------------------
    def load_regs(self) -> P.Regs:
        P.getregs_ref(self.tid, self.regs_ref)
        self.regs_dirty = False
        return self.regs

    def flush_regs(self) -> None:
        if self.regs_dirty:
            P.setregs_ref(self.tid, self.regs_ref)
            self.regs_dirty = False

    def set_arg(self, i: int, value: int) -> None:
        r = self.regs
        value &= _U64
        if i == 0:
            r.rdi = value
        elif i == 1:
            r.rsi = value
        elif i == 2:
            r.rdx = value
        elif i == 3:
            r.r10 = value
        elif i == 4:
            r.r8 = value
        elif i == 5:
            r.r9 = value
        else:
            raise IndexError(i)
        self.regs_dirty = True
        self.args_changed = True

    def restore_args(self) -> None:
        """Put the program's own argument registers back (policies change them
        for the kernel only; the program must not see the difference)."""
        if self.args_changed and len(self.args) == 6:
            r = self.regs
            r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 = self.args
            self.regs_dirty = True
        self.args_changed = False

    def set_result(self, value: int) -> None:
        self.regs.rax = value & _U64
        self.regs_dirty = True

    @property
    def result(self) -> int:
        return signed(self.regs.rax)

    def skip(self, result: int) -> int:
        """Skip the syscall at a seccomp/entry stop; it returns `result`."""
        self.regs.orig_rax = _U64  # -1: the kernel runs no syscall
        self.regs.rax = result & _U64
        self.regs_dirty = True
        return SKIP

    # -- memory -------------------------------------------------------------
    def _mem(self) -> int:
        if self.memfd < 0:
            self.memfd = os.open(f"/proc/{self.tid}/mem", os.O_RDWR | os.O_CLOEXEC)
        return self.memfd

    def close_mem(self) -> None:
        if self.memfd >= 0:
            os.close(self.memfd)
            self.memfd = -1

    def read(self, addr: int, size: int) -> bytes:
        if size <= 0:
            return b""
        fd = self.memfd
        try:
            data = os.pread(fd if fd >= 0 else self._mem(), size, addr)
        except (OSError, OverflowError) as exc:
            raise MemoryReadError(addr, size, f"in {self.tid}: {exc}") from None
        if len(data) != size:
            raise MemoryReadError(addr, size, f"short read in {self.tid}")
        return data

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        cache = self.cstrings
        if cache is not None:
            got = cache.get(addr)
            if got is not None and got[0] >= limit:
                return got[1][:limit]
        else:
            cache = self.cstrings = {}
        out = self._read_cstring(addr, limit)
        cache[addr] = (limit, out)
        return out

    def _read_cstring(self, addr: int, limit: int) -> bytes:
        out = b""
        while len(out) < limit:
            # Read up to the end of the page so an unmapped next page is no error.
            n = min(4096 - (addr + len(out)) % 4096, limit - len(out))
            try:
                chunk = os.pread(self._mem(), n, addr + len(out))
            except (OSError, OverflowError) as exc:
                raise MemoryReadError(addr + len(out), n, f"string in {self.tid}: {exc}") from None
            if not chunk:
                raise MemoryReadError(addr + len(out), n, f"string in {self.tid}")
            z = chunk.find(b"\0")
            if z >= 0:
                return out + chunk[:z]
            out += chunk
        return out

    def write(self, addr: int, data: bytes) -> None:
        if not data:
            return
        self.cstrings = None
        n = os.pwrite(self._mem(), data, addr)
        if n != len(data):
            raise OSError(errno.EFAULT, f"short write at {addr:#x} in {self.tid}")

    def store(self, addr: int, data: bytes) -> bool:
        """Write memory as the program's own store would: False where it may
        not write (a read-only or unmapped page), where write() would force it."""
        self.cstrings = None
        return P.vm_write(self.tid, addr & _U64, data)

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def read_i32(self, addr: int) -> int:
        return struct.unpack("<i", self.read(addr, 4))[0]

    def write_i32(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<i", value))

    def read_u64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def scratch(self, data: bytes) -> int:
        """Put `data` below the stack's red zone and return its address.

        At a syscall stop the memory under rsp-128 is free (a signal handler
        would overwrite it too), so it can carry a rewritten argument, such as
        a /proc/<real pid> path, for the duration of the call.
        """
        addr = (self.regs.rsp - 128 - 4096 - len(data)) & ~15
        self.write(addr, data)
        return addr


class Interceptor:
    """Policy hooks; the default implementation lets everything run as is."""

    tracer: "Tracer"
    # The program runs with rdtsc trapped (its setup did PR_SET_TSC) and the
    # policy emulates it; the tracer then traps it as well while bound.
    traps_rdtsc = False

    def trace_set(self) -> Iterable[int]:
        """Syscall numbers the seccomp filter must stop on."""
        return ()

    def errno_set(self) -> Iterable[int]:
        return ()

    def allow_at(self) -> Iterable[tuple[int, Iterable[int]]]:
        """(instruction pointer, syscall numbers): run without a stop from there."""
        return ()

    def syscall_entry(self, t: Tracee) -> int:
        return RUN

    def syscall_exit(self, t: Tracee) -> None:
        pass

    def spawned(self, parent: Tracee, child: Tracee, kind: int, flags: int) -> None:
        """A new tracee; called at the parent's fork/clone event with both stopped."""

    def child_started(self, child: Tracee) -> None:
        """The child's first stop (after `spawned`): kernel writes to it are done."""

    def execed(self, t: Tracee, former_tid: int) -> None:
        pass

    def exiting(self, t: Tracee, status: int) -> bool:
        """PTRACE_EVENT_EXIT. Return True to hold the tracee there."""
        return False

    def exited(self, t: Tracee, status: int) -> None:
        pass

    def signal(self, t: Tracee, signo: int, siginfo: bytes) -> int:
        """A signal-delivery stop: return the signal to deliver (0 = none)."""
        return signo

    def group_stop(self, t: Tracee, signo: int) -> None:
        pass

    def interrupted(self, t: Tracee) -> bool:
        """A PTRACE_INTERRUPT stop. Return True if the policy holds the tracee."""
        return False

    def resuming(self, t: Tracee) -> None:
        """The tracee is about to run (registers not yet written back)."""


class Tracer:
    """Runs one program and all its descendants under one interceptor."""

    def __init__(self, interceptor: Interceptor, *, use_seccomp: bool = True,
                 bind_cpu: bool = False) -> None:
        self.ic = interceptor
        interceptor.tracer = self
        self.use_seccomp = use_seccomp
        # Tracer and tracees on one CPU hand over without waking another CPU
        # (virt/cpus.py); where the tracees trap rdtsc, the tracer thread
        # traps it too, so a hand-over writes no CR4 either (virt/notsc.py).
        self.binding: CpuBinding | None = CpuBinding() if bind_cpu else None
        self.tracees: dict[int, Tracee] = {}
        self.unknown_stops: dict[int, int] = {}   # new tids whose parent event has not come
        self.expected: dict[int, tuple[Tracee, int, int]] = {}  # child tid -> (parent, kind, flags)
        self.first: Tracee | None = None
        self.first_status: int | None = None
        self.on_idle: Callable[[], None] | None = None
        # Live debugging: when this says so (between stops), run() returns
        # None with every tracee stopped; calling run() again goes on.
        self.pause_when: Callable[[], bool] | None = None
        # Preemption: while tick_wanted() says so, waiting for a stop gives
        # up after tick_interval seconds and calls on_tick() (the recorder
        # then interrupts a tracee that has run user code too long).
        self.on_tick: Callable[[], None] | None = None
        self.tick_wanted: Callable[[], bool] | None = None
        self.tick_interval = 0.05
        # Most policies do nothing in resuming(): skip the call on every stop.
        self._resuming: Callable[[Tracee], None] | None = (
            None if type(interceptor).resuming is Interceptor.resuming else interceptor.resuming)

    # -- starting ----------------------------------------------------------
    def filter_program(self) -> bytes | None:
        if not self.use_seccomp:
            return None
        from virt import seccomp

        return seccomp.build_filter(self.ic.trace_set(), self.ic.errno_set(), self.ic.allow_at())

    def start(self, path: str, argv: list[str], env: dict[str, str], *,
              cwd: str | None = None, setup: Callable[[], None] | None = None,
              foreground: bool = True) -> Tracee:
        """Fork, seize and exec the first process of the VEE.

        The child blocks on a pipe until it is seized, so every instruction
        after that is traced; exec failures come back through a CLOEXEC pipe.
        """
        prog = self.filter_program()
        if self.binding is not None:
            self.binding.bind()  # the child inherits the mask at fork
        go_r, go_w = os.pipe()
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        tty_fd = -1
        if foreground:
            tty_fd = _controlling_tty()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(go_w)
                os.close(err_r)
                # Own process group so kill(0) stays inside the VEE; take the
                # terminal's foreground so Ctrl-C and job control reach it.
                os.setpgid(0, 0)
                if tty_fd >= 0:
                    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                    try:
                        os.tcsetpgrp(tty_fd, os.getpid())
                    except OSError:
                        pass
                    signal.signal(signal.SIGTTOU, old)
                    os.close(tty_fd)
                for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP,
                          signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGPIPE,
                          signal.SIGXFSZ, signal.SIGCHLD):
                    signal.signal(s, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                os.read(go_r, 1)
                os.close(go_r)
                if cwd is not None:
                    os.chdir(cwd)
                if setup is not None:
                    setup()
                if prog is not None:
                    from virt import seccomp

                    if os.geteuid() != 0:
                        P.prctl(P.PR_SET_NO_NEW_PRIVS, 1)
                    seccomp.install(prog)
                os.execve(path, argv, env)
            except BaseException as exc:  # report and die without Python cleanup
                e = getattr(exc, "errno", None) or errno.EINVAL
                try:
                    os.write(err_w, struct.pack("<i", e) + str(exc).encode()[:200])
                finally:
                    os._exit(127)
        os.close(go_r)
        os.close(err_w)
        if tty_fd >= 0:
            os.close(tty_fd)
        try:
            P.seize(pid, OPTIONS if self.use_seccomp else OPTIONS & ~P.O_TRACESECCOMP)
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(go_w)
            os.close(err_r)
            raise
        t = Tracee(pid, pid)
        t.initial = False
        t.stopped = False
        self.tracees[pid] = t
        self.first = t
        os.write(go_w, b"x")
        os.close(go_w)
        self._err_fd = err_r
        return t

    def exec_error(self) -> tuple[int, str] | None:
        """After the first exec event or death: the child's exec failure, if any."""
        fd = getattr(self, "_err_fd", -1)
        if fd < 0:
            return None
        data = os.read(fd, 256)
        os.close(fd)
        self._err_fd = -1
        if len(data) >= 4:
            return struct.unpack("<i", data[:4])[0], data[4:].decode(errors="replace")
        return None

    # -- resuming -----------------------------------------------------------
    def resume(self, t: Tracee, sig: int = 0) -> None:
        """Let a stopped tracee go on, with an exit stop if one is wanted."""
        t.stopped = False
        t.held = False
        try:
            if self._resuming is not None:
                self._resuming(t)
            if t.regs_dirty:
                P.setregs_ref(t.tid, t.regs_ref)
                t.regs_dirty = False
            policy = t.policy
            if policy and policy.pop("singlestep", False):
                P.singlestep(t.tid, sig)
            elif t.want_exit or not self.use_seccomp:
                P.syscall(t.tid, sig)
            else:
                P.cont(t.tid, sig)
        except P.PtraceFailure as exc:
            if exc.errno != errno.ESRCH:  # killed meanwhile: its death comes
                raise

    # -- the loop -----------------------------------------------------------
    def run(self) -> int:
        """Trace until every tracee is gone; return the first process's status."""
        bound = self.binding is not None and self.binding.bound
        tsc = TscOff() if bound and self.ic.traps_rdtsc else nullcontext()
        with tsc:
            if self.on_tick is None:
                return self._loop()
            # sigtimedwait needs SIGCHLD pending, not discarded: block it here
            # (tracees start with an empty mask: Tracer.start resets it).
            old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
            try:
                return self._loop()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _loop(self) -> int:
        waitpid = os.waitpid
        tracees = self.tracees
        tick_at: int | None = None  # the next on_tick() (coarse_ns), while ticks are wanted
        # Where computing tracees run (virt/cpus.py): looked at every
        # PLACE_EVERY stops, when its interval has passed.
        placement = self._placement()
        stops = 0
        while tracees or self.unknown_stops:
            if self.on_idle is not None:
                try:
                    self.on_idle()
                except P.PtraceFailure as exc:
                    if exc.errno != errno.ESRCH:
                        raise  # else: a tracee was killed under the policy's feet
            if self.pause_when is not None and self.pause_when():
                return None  # type: ignore[return-value]  # paused: run() again to go on
            try:
                if self.on_tick is not None and self.tick_wanted is not None and self.tick_wanted():
                    # The ticks come every tick_interval however many stops
                    # come between (a program whose timer signal stops it
                    # every few ms while it spins waiting for it).
                    now = coarse_ns()
                    if tick_at is None:
                        tick_at = now + int(self.tick_interval * 1e9)
                    got = self._timed_wait(tick_at) if now < tick_at else None
                    if got is None:
                        tick_at = None
                        self.on_tick()
                        continue
                    pid, status = got
                else:
                    tick_at = None
                    pid, status = waitpid(-1, WALL)
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue
            if placement is not None:
                stops += 1
                if stops >= PLACE_EVERY:
                    stops = 0
                    now = coarse_ns()
                    if now >= placement.next_ns:
                        placement.check(now, list(tracees))
            t = tracees.get(pid)
            if t is None:
                self._unknown(pid, status)
                continue
            try:
                self._dispatch(t, status)
            except P.PtraceFailure as exc:
                if exc.errno != errno.ESRCH:
                    raise
                # Killed while we handled its stop (SIGKILL, its group's
                # exit): its death notification comes next.
        return self.first_status if self.first_status is not None else 0

    def _timed_wait(self, deadline: int) -> tuple[int, int] | None:
        """waitpid that gives up at deadline (coarse_ns; SIGCHLD is blocked in run)."""
        while True:
            pid, status = os.waitpid(-1, WALL | os.WNOHANG)
            if pid:
                return pid, status
            left = deadline - coarse_ns()
            if left <= 0 or not sigtimedwait(signal.SIGCHLD, left / 1e9):
                if coarse_ns() >= deadline:
                    return None

    def _dispatch(self, t: Tracee, status: int) -> None:
        t.cstrings = None  # it ran: strings read at its last stop may be stale
        if status & 0xFF == 0x7F:  # WIFSTOPPED
            t.stopped = True
            sig = (status >> 8) & 0xFF
            event = status >> 16
            if t.initial:
                t.initial = False
                if event == _EVENT_STOP or sig == _SIGSTOP:
                    self.ic.child_started(t)
                    if not t.held:
                        self.resume(t)
                    return
            # The two stops of nearly every syscall first (a seccomp stop
            # is SIGTRAP with event 7; a syscall stop has event 0).
            if event == _EVENT_SECCOMP:
                self._syscall_entry(t)
            elif sig == _SYSCALL_TRAP:
                if self.use_seccomp or t.in_syscall:
                    self._syscall_exit(t)
                else:
                    self._syscall_entry(t)
            elif event == 0:
                self._signal_stop(t, sig)
            elif event == P.EVENT_STOP:
                if sig in STOP_SIGNALS:
                    self.ic.group_stop(t, sig)
                    try:
                        P.listen(t.tid)
                    except P.PtraceFailure:
                        pass
                    t.stopped = False
                elif not self.ic.interrupted(t):
                    self.resume(t)
            elif event in (P.EVENT_FORK, P.EVENT_VFORK, P.EVENT_CLONE):
                self._fork_event(t, event)
            elif event == P.EVENT_EXEC:
                self._exec_event(t)
            elif event == P.EVENT_EXIT:
                self._exit_event(t)
            else:  # VFORK_DONE and anything new
                self.resume(t)
        else:
            self._gone(t, status)

    def _syscall_entry(self, t: Tracee) -> None:
        P.getregs_ref(t.tid, t.regs_ref)
        t.regs_dirty = False
        r = t.regs
        nr = r.orig_rax
        t.nr = nr - _2_64 if nr & _SIGN else nr
        t.args = (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9)
        t.in_syscall = True
        if not self.use_seccomp and self._refused(t):
            self.finish_entry(t, t.skip(-errno.ENOSYS))
            return
        action = self.ic.syscall_entry(t)
        if action == HOLD:
            t.held = True
            return
        self.finish_entry(t, action)

    def _refused(self, t: Tracee) -> bool:
        """Without seccomp, do what the filter would: ENOSYS for foreign-ABI
        calls (int 0x80 from a 64-bit program, x32) whose numbers mean other
        syscalls, and for the policy's errno_set (io_uring_setup, rseq)."""
        refused: frozenset[int] | None = getattr(self, "_refused_nrs", None)
        if refused is None:
            refused = frozenset(self.ic.errno_set())
            self._refused_nrs = refused
        if t.nr in refused or t.nr >= 0x40000000:
            return True
        return P.syscall_arch(t.tid, t.regs.rip, t._mem) != P.AUDIT_ARCH_X86_64

    def finish_entry(self, t: Tracee, action: int) -> None:
        """Carry out an entry decision (also later, for a tracee held at entry)."""
        if t.args_changed:
            if action == SKIP:
                t.restore_args()
            elif action == RUN:
                action = RUN_EXIT  # the exit stop puts the registers back
        if self.use_seccomp:
            if action == SKIP or action == RUN:
                t.in_syscall = False
                t.want_exit = False
            else:
                t.want_exit = action == RUN_EXIT
        else:
            t.want_exit = True
            if action == SKIP:
                # Without seccomp the skip still passes an exit stop, where the
                # kernel put -ENOSYS: restore the chosen result there.
                t.policy["skip_result"] = t.regs.rax
        self.resume(t)

    def _syscall_exit(self, t: Tracee) -> None:
        P.getregs_ref(t.tid, t.regs_ref)
        t.regs_dirty = False
        t.in_syscall = False
        t.want_exit = False
        policy = t.policy
        skipped = policy.pop("skip_result", None) if policy else None
        if skipped is not None:
            t.regs.rax = skipped
            t.regs_dirty = True
        else:
            self.ic.syscall_exit(t)
        if t.args_changed:
            if t.after_exec:
                t.args_changed = False  # a new program image: nothing to restore
            else:
                t.restore_args()
        t.after_exec = False
        if not t.held:
            self.resume(t)

    def _signal_stop(self, t: Tracee, sig: int) -> None:
        info = P.getsiginfo(t.tid)
        if info is None:  # a group-stop reported without EVENT_STOP
            self.resume(t)
            return
        deliver = self.ic.signal(t, sig, info)
        if not t.held:
            self.resume(t, deliver)

    def _fork_event(self, parent: Tracee, event: int) -> None:
        tid = P.geteventmsg(parent.tid)
        parent.load_regs()
        # Only clone and clone3 have flags; fork's and vfork's argument
        # registers hold leftovers.
        if parent.nr == 56 and parent.args:
            flags = parent.args[0]
        elif parent.nr == 58:
            flags = 0x4000 | 0x100  # CLONE_VFORK | CLONE_VM
        else:
            flags = 0
        if parent.nr == 435 and parent.args:  # clone3: flags live in struct clone_args
            try:
                flags = parent.read_u64(parent.args[0])
            except Exception:
                flags = 0
        is_thread = event == P.EVENT_CLONE and bool(flags & 0x00010000)  # CLONE_THREAD
        child = Tracee(tid, parent.tgid if is_thread else tid)
        self.tracees[tid] = child
        child.parent = parent
        placement = self._placement()
        if placement is not None:
            placement.spawned(parent.tid, tid, coarse_ns())
        self.ic.spawned(parent, child, 2 if is_thread else (1 if event == P.EVENT_VFORK else 0), flags)
        early = self.unknown_stops.pop(tid, None)
        if early is not None:
            self._dispatch(child, early)
        if not parent.held:
            self.resume(parent)

    def _unknown(self, pid: int, status: int) -> None:
        if os.WIFSTOPPED(status):
            # The PID init race: the child stopped before its parent's event.
            self.unknown_stops[pid] = status
        else:
            self.unknown_stops.pop(pid, None)

    def _exec_event(self, t: Tracee) -> None:
        former = P.geteventmsg(t.tid)
        if former != t.tid:
            # A non-leader thread exec'd: it now has the leader's tid.
            old = self.tracees.pop(former, None)
            leader = self.tracees.get(t.tid)
            if old is not None:
                if leader is not None and leader is not old:
                    leader.close_mem()
                old.tid = t.tid
                old.tgid = t.tid
                self.tracees[t.tid] = old
                t = old
        t.close_mem()
        t.after_exec = True
        if not self.use_seccomp and not t.in_syscall:
            # The first exec of the VEE was not seen entering (the tracee ran
            # free until this event); the next syscall stop is execve's exit.
            t.in_syscall = True
            t.nr = 59
        self.ic.execed(t, former)
        if not t.held:
            self.resume(t)

    def _exit_event(self, t: Tracee) -> None:
        try:
            status = P.geteventmsg(t.tid)
        except P.PtraceFailure:
            status = 0
        t.exiting = True
        if self.ic.exiting(t, status):
            t.held = True
            return
        self.resume(t)

    def release(self, t: Tracee) -> None:
        """Resume a tracee the policy held (HOLD or a held exit)."""
        if t.held and t.tid in self.tracees:
            self.resume(t)

    def _gone(self, t: Tracee, status: int) -> None:
        self.tracees.pop(t.tid, None)
        placement = self._placement()
        if placement is not None:
            placement.gone(t.tid)
        t.close_mem()
        t.exit_status = status
        if t is self.first or (self.first is not None and t.tid == self.first.tid):
            self.first_status = status
        self.ic.exited(t, status)

    def _placement(self) -> Placement | None:
        return self.binding.placement if self.binding is not None else None

    def unbind_cpu(self) -> None:
        """The tracing thread may run anywhere again (the tracees are gone)."""
        if self.binding is not None:
            self.binding.unbind()

    def kill_all(self) -> None:
        for tid in list(self.tracees):
            try:
                os.kill(tid, signal.SIGKILL)
            except OSError:
                pass


def _controlling_tty() -> int:
    """An fd on our controlling terminal if we are in its foreground, else -1."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return -1
    try:
        if os.tcgetpgrp(fd) != os.getpgrp():
            os.close(fd)
            return -1
    except OSError:
        os.close(fd)
        return -1
    return fd

"""Making a stopped tracee run a system call of our choosing.

The tracee must be at a ptrace stop.  At a seccomp stop its pending call is
replaced; from any other stop its registers are pointed back at the
`syscall` instruction it last ran (rip - 2), with our call in rax.  We wait
for that one task only (waitpid on its tid), so other tracees' stops stay
queued for the tracer's loop.  Signals that arrive meanwhile are dropped, as
replay drops every real signal (the trace says which signals come).

Used by live checkpoints (clone a process) and by replay (open a file in the
tracee to map it).
"""

from __future__ import annotations

import os

from virt import ptrace_api as P

WALL = 0x40000000
_U64 = (1 << 64) - 1
_RESTART = (512, 513, 514)  # ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND


class InjectError(Exception):
    """The task did not do what was asked (it died, or stopped elsewhere)."""


def wait_stop(tid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(tid, WALL)
            return status
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            continue


def expect_stop(tid: int, status: int, what: str) -> tuple[int, int]:
    if not os.WIFSTOPPED(status):
        raise InjectError(f"task {tid} ended while {what} (status {status:#x})")
    return (status >> 8) & 0xFF, status >> 16


def inject(tid: int, regs: P.Regs, nr: int, args: tuple[int, ...] = (), *,
           at_seccomp_stop: bool,
           kept: list[tuple[int, bytes]] | None = None) -> tuple[int, int | None]:
    """Make the stopped task `tid` run syscall nr(args) and stop at its exit.

    `regs` are the task's registers to start from; rip must point just past
    a `syscall` instruction.  At a seccomp stop the pending call is replaced;
    from any other ptrace stop the task is sent back onto the instruction.
    Returns (result, tid of a new task the call created or None); the task
    is left at the call's exit stop, with its registers changed.  Signals
    that arrive meanwhile go to `kept` as (signo, siginfo) when it is given
    (recording must not lose them), and are dropped otherwise.
    """
    r = P.Regs.from_buffer_copy(bytes(regs))
    a = tuple(args) + (0,) * (6 - len(args))
    r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 = (x & _U64 for x in a)
    r.orig_rax = nr
    if not at_seccomp_stop:
        r.rip = (r.rip - 2) & _U64
        r.rax = nr
    P.setregs(tid, r)
    P.syscall(tid, 0)
    child = None
    entered = at_seccomp_stop
    restarts = 0
    while True:
        sig, event = expect_stop(tid, wait_stop(tid), f"it made syscall {nr}")
        if event in (P.EVENT_CLONE, P.EVENT_FORK, P.EVENT_VFORK):
            child = P.geteventmsg(tid)
        elif event == P.EVENT_SECCOMP:
            entered = True
        elif sig == P.SYSCALL_TRAP and event == 0:
            if entered:
                res = _signed(getregs(tid).rax)
                if -res not in _RESTART or restarts >= 8:
                    return res, child
                # Cut short by a pending signal (clone gives ERESTARTNOINTR):
                # the signal is dropped below and the kernel restarts the call.
                restarts += 1
                entered = False
            else:
                entered = True  # the syscall-entry stop; the exit stop is next
        elif event == 0 and kept is not None:
            info = P.getsiginfo(tid)
            if info is not None:
                kept.append((sig, info))
        # else: a signal or group stop; dropped, as replay drops every real signal
        P.syscall(tid, 0)


def back_to_entry(tid: int, regs: P.Regs) -> None:
    """Send a task stopped at an exit stop (or a fresh copy) back into the
    syscall of `regs` (a seccomp-stop register set), up to its seccomp stop."""
    r = P.Regs.from_buffer_copy(bytes(regs))
    r.rip = (r.rip - 2) & _U64
    r.rax = r.orig_rax
    P.setregs(tid, r)
    P.syscall(tid, 0)
    entered = False
    while True:
        sig, event = expect_stop(tid, wait_stop(tid), "it went back into its syscall")
        if event == P.EVENT_SECCOMP:
            break
        if sig == P.SYSCALL_TRAP and event == 0:
            if entered:
                raise InjectError(f"task {tid} ran syscall {regs.orig_rax} without a seccomp stop")
            entered = True
        # else: a signal or group stop; dropped, as replay drops every real signal
        P.syscall(tid, 0)
    got = getregs(tid)
    if got.orig_rax != regs.orig_rax or got.rip != regs.rip:
        raise InjectError(f"task {tid} came back to syscall {got.orig_rax} at {got.rip:#x}, "
                              f"not {regs.orig_rax} at {regs.rip:#x}")




def getregs(tid: int) -> P.Regs:
    r = P.new_regs()
    P.getregs(tid, r)
    return r


def _signed(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v

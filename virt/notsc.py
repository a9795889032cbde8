"""The tracer thread runs with rdtsc trapped, like its tracees.

Why: the tracees run with the time-stamp counter disabled (PR_SET_TSC, so
that rdtsc traps and its value can be recorded). Linux rewrites CR4 whenever
it switches between a task with the counter disabled and one without, and
under a hypervisor that write is a VM exit. Bound to one CPU, the tracer and
a tracee switch twice per stop: measured here, a C tracer loop of
GETREGS/SETREGS/CONT took 19 µs per stop against a tracee with the counter
off, 9 µs with the counter off in the tracer as well.

The tracer's own reads of the counter then fault: the vDSO's clock_gettime,
which CPython calls for time.monotonic(), lock timeouts and GIL waits. A
SIGSEGV handler of a few instructions (ASM below, assembled into CODE)
turns the counter on, runs the instruction, turns it off again and goes on
after it; any other fault goes to the handler that was there before. An
emulated read costs two prctl calls, so the tracer's hot path reads the
clock with the plain syscall instead (`clock_ns`).

Only the thread inside `TscOff` has the counter off; threads, children and
the handler's page stay as they are outside it. A thread started inside it
inherits the trap: its clock reads fault into the handler as well, which
must not be blocked in it (the trace writer's thread blocks every other
signal, traces/writer.py).
"""

from __future__ import annotations

import ctypes
import errno
import os
import time
from types import TracebackType

# The handler, as assembled by `as` (GNU binutils; tests/test_notsc.py checks
# CODE against it where `as` is installed). Data page: count, previous action.
ASM = r"""
    .intel_syntax noprefix
    .text
# handler(int sig, siginfo_t *info, ucontext_t *uc): rdx = uc, whose
# uc_mcontext.gregs[] hold RDX at +136, RAX at +144, RCX at +152, RIP at +168.
handler:
    mov r10, rdx
    mov r8, [r10+168]              # the faulting instruction
    movzx eax, word ptr [r8]
    mov r9d, 2
    cmp eax, 0x310f                # 0f 31: rdtsc
    je 1f
    cmp eax, 0x010f                # 0f 01 f9: rdtscp
    jne 3f
    cmp byte ptr [r8+2], 0xf9
    jne 3f
    mov r9d, 3
1:  mov eax, 157                   # prctl(PR_SET_TSC, PR_TSC_ENABLE)
    mov edi, 26
    mov esi, 1
    syscall
    cmp r9d, 3
    je 2f
    rdtsc
    jmp 4f
2:  rdtscp
    mov [r10+152], rcx
4:  mov [r10+144], rax
    mov [r10+136], rdx
    add [r10+168], r9              # go on after the instruction
    lock inc qword ptr [rip+count]
    mov eax, 157                   # prctl(PR_SET_TSC, PR_TSC_SIGSEGV)
    mov edi, 26
    mov esi, 2
    syscall
    ret
3:  mov eax, 13                    # not ours: rt_sigaction(SIGSEGV, &previous, NULL, 8)
    mov edi, 11
    lea rsi, [rip+previous]
    xor edx, edx
    mov r10d, 8
    syscall
    ret                            # the instruction faults again, for that handler
restorer:
    mov eax, 15                    # rt_sigreturn
    syscall
    .org 4096
count:
    .quad 0
previous:
    .quad 0, 0, 0, 0
"""
CODE = bytes.fromhex(
    "4989d24d8b82a8000000410fb70041b9020000003d0f31000074143d0f0100007561418078"
    "02f9755a41b903000000b89d000000bf1a000000be010000000f054183f90374040f31eb0a"
    "0f01f949898a9800000049898290000000498992880000004d018aa8000000f048ff058f0f"
    "0000b89d000000bf1a000000be020000000f05c3b80d000000bf0b000000488d35740f0000"
    "31d241ba080000000f05c3b80f0000000f05"
)
RESTORER = 0x9F  # offset of `restorer` in CODE
PAGE = 4096
COUNT, PREVIOUS = PAGE, PAGE + 8  # offsets of the data

SIGSEGV = 11
SA_SIGINFO = 0x4
SA_RESTORER = 0x04000000
PR_SET_TSC, PR_TSC_ENABLE, PR_TSC_SIGSEGV = 26, 1, 2
SYS_RT_SIGACTION, SYS_CLOCK_GETTIME, SYS_RT_SIGTIMEDWAIT = 13, 228, 128
CLOCK_MONOTONIC_COARSE = 6

# PyDLL keeps the GIL across the call: these calls are short, and the shared
# buffer below stays consistent between threads. A wait lets the GIL go.
_libc = ctypes.PyDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_blocking_syscall = ctypes.CDLL(None, use_errno=True).syscall
_blocking_syscall.restype = ctypes.c_long
_L = ctypes.c_long


class _KernelSigaction(ctypes.Structure):
    """struct sigaction as rt_sigaction(2) takes it on x86-64."""

    _fields_ = (("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_ulong))


class _Timespec(ctypes.Structure):
    _fields_ = (("sec", ctypes.c_long), ("nsec", ctypes.c_long))


_ts = _Timespec()
_ts_ref = ctypes.byref(_ts)


def _failed(what: str) -> OSError:
    e = ctypes.get_errno()
    return OSError(e, f"{what}: {os.strerror(e)}")


def clock_ns(clock: int) -> int:
    """clock_gettime(clock) by the syscall itself, not the vDSO (which reads
    the counter). 0.5 µs here against 0.05 for time.monotonic_ns()."""
    if _syscall(_L(SYS_CLOCK_GETTIME), _L(clock), _ts_ref) != 0:
        raise _failed("clock_gettime")
    return _ts.sec * 1_000_000_000 + _ts.nsec


def monotonic_ns() -> int:
    return clock_ns(1)  # CLOCK_MONOTONIC


def coarse_ns() -> int:
    """CLOCK_MONOTONIC_COARSE: read from the vDSO's data alone, no counter,
    so no fault either; a tick's resolution (1-4 ms), for time slices."""
    return time.clock_gettime_ns(CLOCK_MONOTONIC_COARSE)


def sigtimedwait(signo: int, timeout: float) -> bool:
    """Wait up to `timeout` s for the blocked signal `signo` (consumed); False
    on timeout or when another signal came. Python's signal.sigtimedwait
    reads the clock first (for EINTR retries), this does not."""
    ts = _Timespec(int(timeout), int((timeout % 1) * 1_000_000_000))
    mask = ctypes.c_ulong(1 << (signo - 1))
    r = _blocking_syscall(_L(SYS_RT_SIGTIMEDWAIT), ctypes.byref(mask), None, ctypes.byref(ts), _L(8))
    if r < 0 and ctypes.get_errno() not in (errno.EAGAIN, errno.EINTR):
        raise _failed("rt_sigtimedwait")
    return r == signo


def _rt_sigaction(new: _KernelSigaction | None, old: _KernelSigaction | None) -> None:
    r = _syscall(_L(SYS_RT_SIGACTION), _L(SIGSEGV), ctypes.byref(new) if new is not None else None,
                 ctypes.byref(old) if old is not None else None, _L(8))
    if r != 0:
        raise _failed("rt_sigaction")


class _Handler:
    """The handler's two pages: code (read + execute), then data (read + write)."""

    def __init__(self) -> None:
        mmap = _libc.mmap
        mmap.restype = ctypes.c_void_p
        mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                         ctypes.c_long)
        addr = mmap(None, 2 * PAGE, 0x1 | 0x2, 0x02 | 0x20, -1, 0)  # RW, PRIVATE|ANONYMOUS
        if not addr or addr == ctypes.c_void_p(-1).value:
            raise _failed("mmap for the rdtsc handler")
        ctypes.memmove(addr, CODE, len(CODE))
        mprotect = _libc.mprotect
        mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        if mprotect(addr, PAGE, 0x1 | 0x4) != 0:  # READ|EXEC
            raise _failed("mprotect for the rdtsc handler")
        self.addr = addr
        self.action = _KernelSigaction(addr, SA_SIGINFO | SA_RESTORER, addr + RESTORER, 0)
        self.previous = _KernelSigaction.from_address(addr + PREVIOUS)

    def install(self) -> None:
        """Make it the SIGSEGV handler, unless it is already (someone may have
        put theirs in meanwhile: it becomes the one faults go on to)."""
        current = _KernelSigaction()
        _rt_sigaction(None, current)
        if current.handler == self.addr:
            return
        ctypes.memmove(ctypes.addressof(self.previous), ctypes.addressof(current), ctypes.sizeof(current))
        _rt_sigaction(self.action, None)

    @property
    def count(self) -> int:
        return ctypes.c_uint64.from_address(self.addr + COUNT).value


_handler: _Handler | None = None


def _prctl_tsc(mode: int) -> int:
    return int(_syscall(_L(157), _L(PR_SET_TSC), _L(mode), _L(0), _L(0), _L(0)))  # prctl


def emulated() -> int:
    """How many counter reads of this process the handler has emulated."""
    return _handler.count if _handler is not None else 0


class TscOff:
    """`with TscOff():` the calling thread runs with rdtsc trapped."""

    def __init__(self) -> None:
        self.on = False

    def __enter__(self) -> TscOff:
        global _handler
        try:
            if _handler is None:
                _handler = _Handler()
            _handler.install()
            if _prctl_tsc(PR_TSC_SIGSEGV) == 0:
                self.on = True
        except OSError:
            pass  # no counter trap for the tracer: slower hand-overs, nothing else
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.on:
            _prctl_tsc(PR_TSC_ENABLE)
            self.on = False

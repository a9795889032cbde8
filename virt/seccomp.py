"""Build and install the seccomp-bpf filter that decides which syscalls stop.

Why a filter: one seccomp stop (plus an exit stop only where needed) costs
about half of the two PTRACE_SYSCALL stops a plain tracer pays on every call.
The filter is generated from a set of syscall numbers chosen by the policy
(derived from the syscall table), and also:

- refuses foreign ABIs (int 0x80 i386 calls, x32 calls) with ENOSYS: their
  numbers mean other syscalls, so they would bypass translation;
- makes the calls in `errno_set` (rseq, io_uring_setup: both bypass
  interposition or introduce nondeterminism) fail with ENOSYS without a stop;
- lets some calls through from one instruction address (`allow_at`): the
  time page's record path (virt/timepage.py), whose results it records itself.

Each check is `jeq nr, 0, 1; ret` so no jump offset ever exceeds one
instruction: the 8-bit BPF jump fields cannot reach across hundreds of checks.
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import Iterable

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# BPF opcodes
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JA = 0x05
BPF_JGE_K = 0x35
BPF_RET_K = 0x06

RET_ALLOW = 0x7FFF0000
RET_TRACE = 0x7FF00000
RET_ERRNO = 0x00050000

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_IP = 8  # seccomp_data.instruction_pointer: the address after the syscall instruction


def _ins(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(trace_set: Iterable[int], errno_set: Iterable[int] = (),
                 allow_at: Iterable[tuple[int, Iterable[int]]] = ()) -> bytes:
    """Return the raw BPF program (array of struct sock_filter).

    allow_at: (instruction pointer, syscall numbers) pairs that run without
    a stop when made from that address."""
    prog = [
        _ins(BPF_LD_W_ABS, 0, 0, _OFF_ARCH),
        _ins(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        _ins(BPF_RET_K, 0, 0, RET_ERRNO | errno.ENOSYS),
        _ins(BPF_LD_W_ABS, 0, 0, _OFF_NR),
        _ins(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        _ins(BPF_RET_K, 0, 0, RET_ERRNO | errno.ENOSYS),
    ]
    for ip, nrs in allow_at:
        prog += _allow_at(ip, sorted(set(nrs)))
    for nr in sorted(set(errno_set)):
        prog.append(_ins(BPF_JEQ_K, 0, 1, nr))
        prog.append(_ins(BPF_RET_K, 0, 0, RET_ERRNO | errno.ENOSYS))
    for nr in sorted(set(trace_set) - set(errno_set)):
        prog.append(_ins(BPF_JEQ_K, 0, 1, nr))
        prog.append(_ins(BPF_RET_K, 0, 0, RET_TRACE))
    prog.append(_ins(BPF_RET_K, 0, 0, RET_ALLOW))
    return b"".join(prog)


def _allow_at(ip: int, nrs: list[int]) -> list[bytes]:
    """ALLOW for `nrs` made at `ip`; falls through with the number loaded."""
    n = len(nrs)
    reload = 7 + n  # index of the final load of the number
    out = [
        _ins(BPF_LD_W_ABS, 0, 0, _OFF_IP),
        _ins(BPF_JEQ_K, 0, reload - 2, ip & 0xFFFFFFFF),
        _ins(BPF_LD_W_ABS, 0, 0, _OFF_IP + 4),
        _ins(BPF_JEQ_K, 0, reload - 4, ip >> 32),
        _ins(BPF_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    for i, nr in enumerate(nrs):
        out.append(_ins(BPF_JEQ_K, n - i, 0, nr))  # to the ALLOW after the jump
    out.append(_ins(BPF_JA, 0, 0, 1))
    out.append(_ins(BPF_RET_K, 0, 0, RET_ALLOW))
    out.append(_ins(BPF_LD_W_ABS, 0, 0, _OFF_NR))
    assert len(out) == reload + 1
    return out


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def install(program: bytes) -> None:
    """Install `program` in the calling process (the tracee-to-be, before exec)."""
    from virt import ptrace_api as P

    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
    P.prctl(P.PR_SET_SECCOMP, P.SECCOMP_MODE_FILTER, ctypes.addressof(fprog))

"""Thin, fast wrappers over python-ptrace's ctypes bindings.

The tracer loop calls these on every stop, so they avoid allocation: register
sets are read into a caller-owned ctypes structure, and constants that
python-ptrace does not define (SEIZE, LISTEN, INTERRUPT, seccomp and exit-kill
options) are defined here from <linux/ptrace.h>.

Errors come out as `PtraceFailure(op, pid, errno)`: scribe's own failure,
never to be confused with an errno a tracee's syscall returned.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import sys
import types
from typing import Callable


def _seed_libc() -> None:
    """python-ptrace's ptrace.ctypes_libc finds the C library with
    ctypes.util.find_library, which imports subprocess and tempfile and runs
    ldconfig: ~10 ms of every scribe start. glibc's soname is libc.so.6;
    loaded by that name, python-ptrace gets the module it would have built."""
    if "ptrace.ctypes_libc" in sys.modules:
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return  # not glibc: python-ptrace looks for it itself
    mod = types.ModuleType("ptrace.ctypes_libc")
    mod.LIBC_FILENAME = "libc.so.6"  # type: ignore[attr-defined]
    mod.libc = libc  # type: ignore[attr-defined]
    sys.modules["ptrace.ctypes_libc"] = mod


class _LightError(types.ModuleType):
    """ptrace.error with PtraceError alone, until more of it is asked for.

    python-ptrace's package imports ptrace.error for PtraceError, and that
    module imports logging, traceback and datetime for its error-writing
    helpers: 10 modules at every scribe start (-X importtime: ~11 ms; the
    imports as a whole took 0.89 of their time without), for nothing scribe uses. The
    class here is python-ptrace's own definition; anything else of the
    module (writeError, PTRACE_ERRORS...) loads the real one into this
    module first, keeping this class, so there is one PtraceError either way."""

    def __init__(self) -> None:
        super().__init__("ptrace.error")

        class PtraceError(Exception):
            """Ptrace error: have the optional attributes errno and pid."""

            def __init__(self, message: str, errno: int | None = None, pid: int | None = None) -> None:
                Exception.__init__(self, message)
                self.errno = errno
                self.pid = pid

        PtraceError.__module__, PtraceError.__qualname__ = "ptrace.error", "PtraceError"
        self.PtraceError = PtraceError

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec("ptrace.error", sys.modules["ptrace"].__path__)
        if spec is None or spec.loader is None:
            raise AttributeError(name)
        cls = self.PtraceError
        self.__class__ = types.ModuleType  # (no __getattr__ from here on)
        self.__spec__, self.__file__, self.__loader__ = spec, spec.origin, spec.loader
        exec(spec.loader.get_code("ptrace.error"), self.__dict__)  # type: ignore[attr-defined]
        self.PtraceError = cls
        return getattr(self, name)


def _seed_error() -> None:
    if "ptrace" not in sys.modules and "ptrace.error" not in sys.modules:
        sys.modules["ptrace.error"] = _LightError()


_seed_libc()
_seed_error()

from ptrace.binding import func as _pf  # noqa: E402
from ptrace.binding.linux_struct import user_regs_struct as Regs  # noqa: E402

sys.modules["ptrace"].error = sys.modules["ptrace.error"]  # (as importing it would have set)

__all__ = ["Regs", "PtraceFailure"]

PTRACE_PEEKUSER = 3
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_SINGLESTEP = 9
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SETSIGINFO = 0x4203
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_DETACH = 17

O_TRACESYSGOOD = 0x01
O_TRACEFORK = 0x02
O_TRACEVFORK = 0x04
O_TRACECLONE = 0x08
O_TRACEEXEC = 0x10
O_TRACEVFORKDONE = 0x20
O_TRACEEXIT = 0x40
O_TRACESECCOMP = 0x80
O_EXITKILL = 0x100000

EVENT_FORK = 1
EVENT_VFORK = 2
EVENT_CLONE = 3
EVENT_EXEC = 4
EVENT_VFORK_DONE = 5
EVENT_EXIT = 6
EVENT_SECCOMP = 7
EVENT_STOP = 128

SYSCALL_TRAP = 0x80 | 5  # SIGTRAP | 0x80 with TRACESYSGOOD

SIGINFO_SIZE = 128


class PtraceFailure(OSError):
    """A ptrace request failed (scribe's failure, not the tracee's errno)."""

    def __init__(self, op: str, pid: int, err: int) -> None:
        super().__init__(err, f"ptrace {op} on {pid}: {os.strerror(err)}")
        self.op = op
        self.pid = pid


_libc = ctypes.CDLL(None, use_errno=True)
# No argtypes: with them every call converts each argument through
# c_long/c_void_p (~0.4 µs a call, three calls a stop). Without, ctypes
# passes a Python int as a C int (libffi sign-extends it to the 64-bit
# register glibc's variadic ptrace reads) and a ctypes pointer object as is;
# so requests, pids, signals and options go as ints, and addresses only as
# preallocated pointer objects (`ref`, `_msg_ref`) or None (NULL).
_raw = _libc.ptrace
_raw.restype = ctypes.c_long
_get_errno = ctypes.get_errno
_byref = ctypes.byref

# python-ptrace's binding is the reference; we keep a direct handle to the same
# libc entry point for the hot path (its wrapper formats a message string on
# every failure and converts results through c_long).
assert _pf.PTRACE_GETREGS == PTRACE_GETREGS


def _failed(op: str, pid: int, r: int) -> int:
    """A call returned -1: raise its errno (PTRACE_PEEK* may return -1 with errno 0)."""
    err = _get_errno()
    if err:
        raise PtraceFailure(op, pid, err)
    return r


def _call(req: int, pid: int, addr: int | None, data: int | None, op: str) -> int:
    """Any request; addr and data as ints of any size (converted here)."""
    r = _raw(req, pid, None if not addr else ctypes.c_void_p(addr),
             None if not data else ctypes.c_void_p(data))
    if r == -1:
        return _failed(op, pid, r)
    return r


# The hot requests call _raw directly (one Python frame less); their
# int arguments all fit a C int.

def seize(pid: int, options: int) -> None:
    _call(PTRACE_SEIZE, pid, 0, options, "SEIZE")


def setoptions(pid: int, options: int) -> None:
    _call(PTRACE_SETOPTIONS, pid, 0, options, "SETOPTIONS")


def cont(pid: int, sig: int = 0) -> None:
    if _raw(PTRACE_CONT, pid, None, sig) == -1:
        _failed("CONT", pid, -1)


def syscall(pid: int, sig: int = 0) -> None:
    if _raw(PTRACE_SYSCALL, pid, None, sig) == -1:
        _failed("SYSCALL", pid, -1)


def singlestep(pid: int, sig: int = 0) -> None:
    if _raw(PTRACE_SINGLESTEP, pid, None, sig) == -1:
        _failed("SINGLESTEP", pid, -1)


def listen(pid: int) -> None:
    if _raw(PTRACE_LISTEN, pid, None, 0) == -1:
        _failed("LISTEN", pid, -1)


def interrupt(pid: int) -> None:
    if _raw(PTRACE_INTERRUPT, pid, None, 0) == -1:
        _failed("INTERRUPT", pid, -1)


def detach(pid: int, sig: int = 0) -> None:
    if _raw(PTRACE_DETACH, pid, None, sig) == -1:
        _failed("DETACH", pid, -1)


def regs_ref(regs: Regs) -> object:
    """A reusable pointer argument to `regs` for getregs_ref/setregs_ref."""
    return _byref(regs)


def getregs(pid: int, regs: Regs) -> Regs:
    if _raw(PTRACE_GETREGS, pid, None, _byref(regs)) == -1:
        _failed("GETREGS", pid, -1)
    return regs


def setregs(pid: int, regs: Regs) -> None:
    if _raw(PTRACE_SETREGS, pid, None, _byref(regs)) == -1:
        _failed("SETREGS", pid, -1)


def getregs_ref(pid: int, ref: object) -> None:
    """getregs into the structure `ref` (from regs_ref) points to."""
    if _raw(PTRACE_GETREGS, pid, None, ref) == -1:
        _failed("GETREGS", pid, -1)


def setregs_ref(pid: int, ref: object) -> None:
    if _raw(PTRACE_SETREGS, pid, None, ref) == -1:
        _failed("SETREGS", pid, -1)


_msg = ctypes.c_ulong()
_msg_ref = _byref(_msg)


def geteventmsg(pid: int) -> int:
    if _raw(PTRACE_GETEVENTMSG, pid, None, _msg_ref) == -1:
        _failed("GETEVENTMSG", pid, -1)
    return _msg.value


def getsiginfo(pid: int) -> bytes | None:
    """The raw 128-byte siginfo, or None for a group-stop (EINVAL)."""
    buf = ctypes.create_string_buffer(SIGINFO_SIZE)
    r = _raw(PTRACE_GETSIGINFO, pid, None, buf)
    if r == -1:
        err = _get_errno()
        if err == _errno.EINVAL:
            return None
        raise PtraceFailure("GETSIGINFO", pid, err)
    return buf.raw


def setsiginfo(pid: int, info: bytes) -> None:
    buf = ctypes.create_string_buffer(info[:SIGINFO_SIZE].ljust(SIGINFO_SIZE, b"\0"), SIGINFO_SIZE)
    if _raw(PTRACE_SETSIGINFO, pid, None, buf) == -1:
        _failed("SETSIGINFO", pid, -1)


PTRACE_GET_SYSCALL_INFO = 0x420E
AUDIT_ARCH_X86_64 = 0xC000003E
_sysinfo = ctypes.create_string_buffer(8)


def syscall_arch(pid: int, rip: int, mem_fd: Callable[[], int]) -> int:
    """The AUDIT_ARCH of the syscall a tracee is stopped in.

    An `int 0x80` from a 64-bit program enters the i386 table with the same
    registers: only this tells it from a native call (the seccomp filter sees
    it too; without seccomp the tracer must ask). Old kernels lack
    PTRACE_GET_SYSCALL_INFO (5.3): then look at the instruction before rip.
    """
    r = _raw(PTRACE_GET_SYSCALL_INFO, pid, 8, _sysinfo)
    if r >= 8:
        return int.from_bytes(_sysinfo.raw[4:8], "little")
    try:
        insn = os.pread(mem_fd(), 2, rip - 2)
    except OSError:
        return AUDIT_ARCH_X86_64
    return 0x40000003 if insn == b"\xcd\x80" else AUDIT_ARCH_X86_64  # AUDIT_ARCH_I386


def new_regs() -> Regs:
    return Regs()


# --- other libc entry points the tracer needs -------------------------------

_prctl = _libc.prctl
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_prctl.restype = ctypes.c_int


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    r = _prctl(option, a2, a3, a4, a5)
    if r == -1:
        err = _get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")
    return r


_personality = _libc.personality
_personality.argtypes = (ctypes.c_ulong,)
_personality.restype = ctypes.c_int


def personality(persona: int) -> int:
    return _personality(persona)


class _Iovec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("len", ctypes.c_size_t))


_pvm_writev = _libc.process_vm_writev
_pvm_writev.restype = ctypes.c_ssize_t
_pvm_writev.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                        ctypes.c_ulong)
_local_iov = _Iovec()
_remote_iov = _Iovec()
_local_iov_ref = _byref(_local_iov)
_remote_iov_ref = _byref(_remote_iov)


def vm_write(pid: int, addr: int, data: bytes) -> bool:
    """Write tracee memory as the tracee's own store would (process_vm_writev:
    page protections apply, unlike /proc/<pid>/mem). False if it could not
    (EFAULT on memory the program may not write, ESRCH...)."""
    buf = ctypes.create_string_buffer(data, len(data))
    _local_iov.base = ctypes.addressof(buf)
    _local_iov.len = len(data)
    _remote_iov.base = addr
    _remote_iov.len = len(data)
    return _pvm_writev(pid, _local_iov_ref, 1, _remote_iov_ref, 1, 0) == len(data)


def tgkill(tgid: int, tid: int, sig: int) -> None:
    r = _libc.syscall(234, ctypes.c_long(tgid), ctypes.c_long(tid), ctypes.c_long(sig))
    if r == -1:
        err = _get_errno()
        raise OSError(err, f"tgkill({tgid}, {tid}, {sig}): {os.strerror(err)}")


PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_TSC = 26
PR_TSC_SIGSEGV = 2
SECCOMP_MODE_FILTER = 2
ADDR_NO_RANDOMIZE = 0x0040000

"""The x86-64 system calls, as scribe needs to know them.

Everything about a syscall is derived from one table (virt/syscall_table.py),
like rr's ``syscalls.py``: names and numbers, argument kinds (for display
and id translation), strace classes (for ``-e trace=%file``), whether the
call carries ids (the seccomp filter of ``scribe run`` traps only those),
which memory the kernel writes (recording), and the replay policy.

Replay policy — the rule
========================

Replay re-executes the program and feeds it recorded results.  A syscall is

``"emulate"``
    the default.  Recording captures its result and every byte the kernel
    wrote into memory (``written_ranges``); replay skips the call and injects
    both.  This covers all I/O and every fd-creating call (open, socket,
    pipe, eventfd, ...): no real fd needs to exist in replay because every
    read from it is injected.  Time, random, identity, uname, futex waits,
    sleeps, timers, IPC message queues and semaphores are emulated too.
    (The replayer may still echo emulated writes to the terminal.)

``"execute"``
    replay really runs it, ids translated through the namespaces, because it
    changes real kernel state that the program depends on and that cannot
    be injected: the address space (mmap family, brk, mremap, shmget/shmat/
    shmdt/shmctl — shared memory needs a real segment, map_shadow_stack,
    mseal, remap_file_pages), tasks (clone, clone3, fork, vfork, execve,
    execveat, exit, exit_group, wait4, waitid), signal state and delivery
    (rt_sigaction, rt_sigprocmask, rt_sigreturn, rt_sigsuspend, sigaltstack,
    kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo), thread state (arch_prctl,
    set_tid_address, set_robust_list, set/get_thread_area, modify_ldt,
    rseq is the exception: made to fail with ENOSYS by the filter), and
    process attributes the kernel acts on (prctl, seccomp, personality,
    pkey_alloc/pkey_free).  An executed call's recorded result and writes
    remain in the trace for divergence checks.  A file mapping (mmap with an
    fd) is executed by the replayer specially, from the recorded content.
    pidfd_send_signal is emulated: its pidfd came from an emulated call and
    does not exist in replay; the delivery is replayed from the Signal event.
    The replayer itself (scribe/replayer.py, EMULATE_HERE) emulates the
    waits and the signal-sending calls of this list too: wait4 and waitid
    get their recorded results (what a WNOHANG poll saw must not depend on
    timing), and every delivery comes from the trace's Signal events.

``"allow"``
    deterministic given an identical memory layout, touching no ids and
    writing nothing nondeterministic: the seccomp filter lets it run without
    a stop in record and replay alike, and it is not in the trace.  Kept
    short on purpose: mprotect, pkey_mprotect, munmap, madvise, sched_yield.

Unknown numbers are emulated (they fail with ENOSYS on the recording host
and the recorded result is what the program saw).

Why ``ids``: true when the call carries a pid/tid/pgid/sid or SysV IPC id in
an argument, its result, or memory it reads or writes, or takes a path
(which may name /proc/<pid>).  ``fd_ids``: ids may arrive through the data
read from an fd (signalfd, /proc, netlink), so translation needs fd types.

This module must stay pure (no ptrace): the TUI imports it.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterable

from virt.memory import Memory, MemoryReadError
from virt.structs import STRUCT_SIZES
from virt.syscall_table import FD_IDS, IDS_EXTRA, ROWS

EMULATE = "emulate"
EXECUTE = "execute"
ALLOW = "allow"

# Argument kinds that make a call carry ids by themselves.
ID_ARG_KINDS = frozenset({"path", "pid", "tid", "pgid", "who", "msqid", "semid", "shmid", "clockid"})
ID_RET_KINDS = frozenset({"pid", "msqid", "semid", "shmid"})

ALL_CLASSES = frozenset({
    "file", "process", "network", "signal", "ipc", "desc", "memory", "creds",
    "clock", "stat", "lstat", "fstat", "stat_like", "statfs", "fstatfs",
    "statfs_like", "pure",
})

MASK64 = 0xFFFFFFFFFFFFFFFF


class _Frozen:
    """Immutable, compared and hashed by its fields (`__slots__`): what a
    frozen dataclass gives, written out, as `dataclasses` costs every scribe
    start ~10 ms of imports (inspect) and ~0.7 ms a class (traces/events.py)."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name}")

    def __copy__(self) -> Any:
        return self  # immutable all the way down: a copy may be the same object

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self  # (a checkpoint deep-copies the replay, which holds these)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


class Arg(_Frozen):
    """One syscall argument: its name and kind (see syscall_table's doc).

    ``param`` is the flag set (``kind == "flags"`` / ``"enum"``) or struct
    name (``kind in ("in", "out", "inout")``).
    """

    __slots__ = ("name", "kind", "param")
    name: str
    kind: str
    param: str

    def __init__(self, name: str, kind: str, param: str = "") -> None:
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "kind", kind)
        set_(self, "param", param)


class SyscallInfo(_Frozen):
    """Everything the table says about one syscall number."""

    __slots__ = ("nr", "name", "args", "ret", "classes", "ids", "replay", "fd_ids", "known")
    nr: int
    name: str
    args: tuple[Arg, ...]
    ret: str
    classes: frozenset[str]
    ids: bool
    replay: str
    fd_ids: bool
    known: bool

    def __init__(self, nr: int, name: str, args: tuple[Arg, ...], ret: str, classes: frozenset[str],
                 ids: bool, replay: str, fd_ids: bool = False, known: bool = True) -> None:
        set_ = object.__setattr__
        set_(self, "nr", nr)
        set_(self, "name", name)
        set_(self, "args", args)
        set_(self, "ret", ret)
        set_(self, "classes", classes)
        set_(self, "ids", ids)
        set_(self, "replay", replay)
        set_(self, "fd_ids", fd_ids)
        set_(self, "known", known)

    def arg_index(self, name: str) -> int:
        """Position of the argument called ``name``, or -1."""
        for i, a in enumerate(self.args):
            if a.name == name:
                return i
        return -1


def _parse_args(spec: str) -> tuple[Arg, ...]:
    out = []
    for tok in spec.split():
        name, _, kind = tok.partition(":")
        base, _, param = kind.partition("=")
        out.append(Arg(name, base, param))
    return tuple(out)


def _build() -> dict[int, SyscallInfo]:
    table: dict[int, SyscallInfo] = {}
    for nr, name, argspec, ret, classes, replay in ROWS:
        args = _parse_args(argspec)
        ids = (
            any(a.kind in ID_ARG_KINDS for a in args)
            or ret in ID_RET_KINDS
            or name in IDS_EXTRA
        )
        cls = frozenset(classes.split())
        if "network" in cls:
            cls = cls | {"net"}
        table[nr] = SyscallInfo(nr, name, args, ret, cls, ids, replay, name in FD_IDS)
    return table


SYSCALLS: dict[int, SyscallInfo] = _build()
BY_NAME: dict[str, SyscallInfo] = {i.name: i for i in SYSCALLS.values()}
NR: dict[str, int] = {i.name: i.nr for i in SYSCALLS.values()}

_UNKNOWN_ARGS = tuple(Arg(f"arg{i}", "hex") for i in range(6))


def info(nr: int) -> SyscallInfo:
    """The description of ``nr``; never fails (unknown -> ``syscall_<nr>``)."""
    try:
        return SYSCALLS[nr]
    except (KeyError, TypeError):
        pass
    try:
        n = int(nr)
    except Exception:
        n = -1
    return SyscallInfo(n, f"syscall_{n}", _UNKNOWN_ARGS, "hex", frozenset(), False, EMULATE, False, False)


def by_name(name: str) -> SyscallInfo | None:
    """The description of the syscall called ``name``, or None."""
    return BY_NAME.get(name)


# ---------------------------------------------------------------------------
# Memory the kernel writes


def signed(value: int) -> int:
    """A raw 64-bit register value as the signed number the kernel meant."""
    value &= MASK64
    return value - (1 << 64) if value >= (1 << 63) else value


def failed(result: int) -> bool:
    """True when ``result`` is a negative errno (-4095..-1)."""
    r = signed(result)
    return -4096 < r < 0


# -EINTR and the kernel-internal restart codes seen at a syscall-exit stop.
INTERRUPTED = frozenset({-4, -512, -513, -514, -516})

Ranges = list[tuple[int, int]]


def _u32(mem: Memory, addr: int) -> int:
    return int.from_bytes(mem.read(addr, 4), "little")


def _u64(mem: Memory, addr: int) -> int:
    return int.from_bytes(mem.read(addr, 8), "little")


def _add(out: Ranges, addr: int, size: int) -> None:
    addr &= MASK64
    if addr and size > 0:
        out.append((addr, size))


def _scatter(mem: Memory, iov: int, count: int, nbytes: int) -> Ranges:
    """The ranges ``nbytes`` fill when scattered over an iovec array."""
    out: Ranges = []
    if not iov or nbytes <= 0:
        return out
    for i in range(max(0, min(count, 1024))):
        if nbytes <= 0:
            break
        try:
            base = _u64(mem, iov + 16 * i)
            length = _u64(mem, iov + 16 * i + 8)
        except MemoryReadError:
            break
        n = min(length, nbytes)
        _add(out, base, n)
        nbytes -= n
    return out


def _sockaddr_out(mem: Memory, addr: int, lenp: int) -> Ranges:
    out: Ranges = []
    if not lenp:
        return out
    _add(out, lenp, 4)
    if addr:
        try:
            n = _u32(mem, lenp)
        except MemoryReadError:
            return out
        _add(out, addr, min(n, 128))
    return out


def _msghdr_out(mem: Memory, msg: int, nbytes: int) -> Ranges:
    """What recvmsg writes for one struct msghdr that received ``nbytes``."""
    out: Ranges = []
    try:
        hdr = mem.read(msg, 56)
    except MemoryReadError:
        return out
    name, namelen, iov, iovlen, control, controllen = struct.unpack_from("<QI4xQQQQ", hdr)
    _add(out, msg + 8, 4)       # msg_namelen
    _add(out, msg + 40, 8)      # msg_controllen
    _add(out, msg + 48, 4)      # msg_flags
    if name:
        _add(out, name, min(namelen, 128))
    if control:
        _add(out, control, min(controllen, 65536))
    out.extend(_scatter(mem, iov, iovlen, nbytes))
    return out


def _fdset_bytes(nfds: int) -> int:
    nfds = max(0, min(signed(nfds), 1 << 20))
    return (nfds + 63) // 64 * 8


def _ioc_read_size(req: int) -> int:
    """The size encoded in an ioctl request with the _IOC_READ direction."""
    direction = (req >> 30) & 3
    if direction & 2:
        return (req >> 16) & 0x3FFF
    return 0


# ioctls that predate _IOC encoding (or lie in it) and write memory.
IOCTL_WRITES: dict[int, int] = {
    0x5401: 36,   # TCGETS: kernel struct termios
    0x5405: 18,   # TCGETA: struct termio
    0x540F: 4,    # TIOCGPGRP
    0x5411: 4,    # TIOCOUTQ
    0x5413: 8,    # TIOCGWINSZ
    0x5415: 4,    # TIOCMGET
    0x5419: 4,    # TIOCGSOFTCAR
    0x541B: 4,    # FIONREAD / TIOCINQ
    0x541E: 72,   # TIOCGSERIAL
    0x5424: 4,    # TIOCGETD
    0x5429: 4,    # TIOCGSID
    0x5456: 36,   # TIOCGLCKTRMIOS
    0x545D: 80,   # TIOCGICOUNT
    0x5460: 8,    # FIOQSIZE
    0x8903: 4,    # FIOGETOWN
    0x8904: 4,    # SIOCGPGRP
    0x8905: 4,    # SIOCATMARK
    0x8906: 16,   # SIOCGSTAMP (timeval)
    0x8907: 16,   # SIOCGSTAMPNS (timespec)
    0x1260: 8,    # BLKGETSIZE
    0x1268: 4,    # BLKSSZGET
    0x125E: 4,    # BLKROGET
    0x0002: 4,    # FIGETBSZ
    0x0001: 4,    # FIBMAP
}
# SIOCGIF*: struct ifreq (40 bytes), 0x8910..0x8950 that start with "get".
for _req in (0x8911, 0x8913, 0x8915, 0x8917, 0x8919, 0x891B, 0x891D, 0x8921,
             0x8927, 0x8933, 0x8935, 0x8938, 0x8942):
    IOCTL_WRITES[_req] = 40


def ioctl_writes(req: int) -> int:
    """Bytes an ioctl request writes at its argument (0 if none known)."""
    req &= 0xFFFFFFFF
    if req in IOCTL_WRITES:
        return IOCTL_WRITES[req]
    return _ioc_read_size(req)


def _r_ioctl(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    req = a[1] & 0xFFFFFFFF
    if req == 0x8912:  # SIOCGIFCONF: struct ifconf { int len; char *buf; }
        _add(out, a[2], 16)
        try:
            n = _u32(mem, a[2])
            buf = _u64(mem, a[2] + 8)
        except MemoryReadError:
            return out
        _add(out, buf, min(n, 1 << 16))
        return out
    _add(out, a[2], ioctl_writes(req))
    return out


def _r_poll(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[0], 8 * min(a[1] & 0xFFFFFFFF, 1 << 20))
    return out


def _r_ppoll(a: list[int], res: int, mem: Memory) -> Ranges:
    out = _r_poll(a, res, mem)
    if not failed(res) or signed(res) in INTERRUPTED:
        _add(out, a[2], 16)
    return out


def _select_like(tsize: int) -> Callable[[list[int], int, Memory], Ranges]:
    def rule(a: list[int], res: int, mem: Memory) -> Ranges:
        out: Ranges = []
        if not failed(res):
            n = _fdset_bytes(a[0])
            for i in (1, 2, 3):
                _add(out, a[i], n)
        if not failed(res) or signed(res) in INTERRUPTED:
            _add(out, a[4], tsize)
        return out
    return rule


def _sleep_rem(idx: int, flags_idx: int = -1) -> Callable[[list[int], int, Memory], Ranges]:
    def rule(a: list[int], res: int, mem: Memory) -> Ranges:
        out: Ranges = []
        if signed(res) in INTERRUPTED and not (flags_idx >= 0 and a[flags_idx] & 1):
            _add(out, a[idx], 16)   # TIMER_ABSTIME leaves rem alone
        return out
    return rule


def _sigset_size(n: int) -> int:
    n = signed(n)
    return n if 0 < n <= 128 else 8


def _r_rt_sigaction(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[2], 24 + _sigset_size(a[3]))
    return out


def _r_rt_sigprocmask(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[2], _sigset_size(a[3]))
    return out


def _r_rt_sigpending(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[0], _sigset_size(a[1]))
    return out


def _r_rt_sigtimedwait(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if signed(res) > 0:
        _add(out, a[1], 128)
    return out


def _r_wait4(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if signed(res) > 0:
        _add(out, a[1], 4)
        _add(out, a[3], 144)
    return out


def _r_waitid(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[2], 128)
        _add(out, a[4], 144)
    return out


def _r_sockaddr(addr_idx: int, len_idx: int) -> Callable[[list[int], int, Memory], Ranges]:
    def rule(a: list[int], res: int, mem: Memory) -> Ranges:
        if failed(res):
            return []
        return _sockaddr_out(mem, a[addr_idx], a[len_idx])
    return rule


def _r_recvfrom(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    r = signed(res)
    if failed(res):
        return out
    if r > 0:
        _add(out, a[1], min(r, a[2]))
    out.extend(_sockaddr_out(mem, a[4], a[5]))
    return out


def _r_recvmsg(a: list[int], res: int, mem: Memory) -> Ranges:
    if failed(res) or not a[1]:
        return []
    return _msghdr_out(mem, a[1], signed(res))


def _r_recvmmsg(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    r = signed(res)
    if failed(res):
        return out
    for i in range(min(r, a[2] & 0xFFFFFFFF, 1024)):
        m = a[1] + 64 * i
        _add(out, m + 56, 4)
        try:
            n = _u32(mem, m + 56)
        except MemoryReadError:
            continue
        out.extend(_msghdr_out(mem, m, n))
    _add(out, a[4], 16)
    return out


def _r_sendmmsg(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    for i in range(min(signed(res), a[2] & 0xFFFFFFFF, 1024)):
        _add(out, a[1] + 64 * i + 56, 4)
    return out


def _r_getsockopt(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res) or not a[4]:
        return out
    _add(out, a[4], 4)
    try:
        n = _u32(mem, a[4])
    except MemoryReadError:
        return out
    _add(out, a[3], min(n, 4096))
    return out


def _ipc_ctl(stat_cmds: dict[int, int]) -> Callable[[list[int], int, Memory], Ranges]:
    def rule(a: list[int], res: int, mem: Memory, _cmd_idx: int = 1, _buf_idx: int = 2) -> Ranges:
        out: Ranges = []
        if failed(res):
            return out
        cmd = a[_cmd_idx] & ~0x100 & 0xFFFFFFFF   # IPC_64
        size = stat_cmds.get(cmd, 0)
        _add(out, a[_buf_idx], size)
        return out
    return rule


_MSGCTL = _ipc_ctl({2: 120, 11: 120, 13: 120, 3: 32, 12: 32})
_SHMCTL = _ipc_ctl({2: 112, 13: 112, 15: 112, 3: 72, 14: 48})
_SEMCTL_SIZES = {2: 104, 18: 104, 20: 104, 3: 40, 19: 40}


def _r_semctl(a: list[int], res: int, mem: Memory) -> Ranges:
    # semctl(semid, semnum, cmd, arg): arg is the pointer itself.
    # GETALL (13) writes nsems shorts; nsems is not knowable from memory
    # here, so it is not covered (see UNCOVERED).
    out: Ranges = []
    if failed(res):
        return out
    cmd = a[2] & ~0x100 & 0xFFFFFFFF
    _add(out, a[3], _SEMCTL_SIZES.get(cmd, 0))
    return out


def _r_msgrcv(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[1], 8 + min(signed(res), a[2]))
    return out


def _r_fcntl(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    cmd = a[1] & 0xFFFFFFFF
    if cmd in (5, 36):          # F_GETLK, F_OFD_GETLK
        _add(out, a[2], 32)
    elif cmd in (16, 17):       # F_GETOWN_EX, F_GETOWNER_UIDS
        _add(out, a[2], 8)
    return out


def _r_times(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[0], 32)
    return out


def _r_capget(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    _add(out, a[0], 8)   # the kernel writes its preferred version on EINVAL
    if failed(res) or not a[1]:
        return out
    try:
        version = _u32(mem, a[0])
    except MemoryReadError:
        version = 0
    _add(out, a[1], 12 if version == 0x19980330 else 24)
    return out


def _r_mincore(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[2], min((a[1] + 4095) // 4096, 1 << 24))
    return out


def _r_move_pages(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[4], 4 * min(a[1] & 0xFFFFFFFF, 1 << 20))
    return out


def _r_ptrace(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    req, data = a[0] & 0xFFFFFFFF, a[3]
    fixed = {1: 8, 2: 8, 3: 8, 12: 216, 14: 512, 0x4201: 8, 0x4202: 128, 25: 16}
    if req in fixed:
        _add(out, data, fixed[req])
    elif req == 0x420A:         # PTRACE_GETSIGMASK
        _add(out, data, min(a[2], 128))
    elif req == 0x4209:         # PTRACE_PEEKSIGINFO
        _add(out, data, 128 * min(signed(res), 4096))
    elif req == 0x420C:         # PTRACE_SECCOMP_GET_FILTER
        _add(out, data, 8 * min(signed(res), 4096))
    elif req == 0x420E:         # PTRACE_GET_SYSCALL_INFO
        _add(out, data, min(a[2], signed(res), 4096))
    elif req == 0x4204:         # PTRACE_GETREGSET: iovec, iov_len updated
        _add(out, data + 8, 8)
        try:
            _add(out, _u64(mem, data), min(_u64(mem, data + 8), 1 << 16))
        except MemoryReadError:
            pass
    return out


def _r_keyctl(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    op = a[0] & 0xFFFFFFFF
    if failed(res) or op not in (6, 11, 17, 23):  # DESCRIBE READ GET_SECURITY DH_COMPUTE
        return out
    _add(out, a[2], min(signed(res), a[3]))
    return out


def _r_syslog(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res) and (a[0] & 0xFFFFFFFF) in (2, 3, 4):
        _add(out, a[1], min(signed(res), a[2] & 0xFFFFFFFF))
    return out


def _r_sysfs(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res) and (a[0] & 0xFFFFFFFF) == 2 and a[2]:
        try:
            _add(out, a[2], len(mem.read_cstring(a[2], 256)) + 1)
        except MemoryReadError:
            pass
    return out


def _r_arch_prctl(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res) and (a[0] & 0xFFFFFFFF) in (0x1003, 0x1004, 0x1021, 0x1022, 0x1024, 0x5005):
        _add(out, a[1], 8)
    return out


PRCTL_WRITES = {2: 4, 5: 4, 9: 4, 11: 4, 16: 16, 19: 4, 37: 4, 40: 8}


def _r_prctl(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    opt = a[0] & 0xFFFFFFFF
    if opt in PRCTL_WRITES:
        _add(out, a[1], PRCTL_WRITES[opt])
    elif opt == 0x41555856:     # PR_GET_AUXV
        _add(out, a[1], min(signed(res), a[2]))
    elif opt == 35 and a[1] == 14:  # PR_SET_MM, PR_SET_MM_MAP_SIZE
        _add(out, a[2], 4)
    return out


CLONE_VM = 0x100
CLONE_PIDFD = 0x1000
CLONE_PARENT_SETTID = 0x100000
CLONE_CHILD_SETTID = 0x1000000


def _r_clone(a: list[int], res: int, mem: Memory) -> Ranges:
    # Only what lands in the caller's memory: CLONE_CHILD_SETTID writes the
    # child's memory, which is the caller's only with CLONE_VM.
    out: Ranges = []
    if failed(res) or signed(res) == 0:
        return out
    flags = a[0]
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD):
        _add(out, a[2], 4)
    if flags & CLONE_CHILD_SETTID and flags & CLONE_VM:
        _add(out, a[3], 4)
    return out


def _r_clone3(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res) or signed(res) == 0 or not a[0]:
        return out
    try:
        flags, pidfd, child_tid, parent_tid = struct.unpack("<QQQQ", mem.read(a[0], 32))
    except MemoryReadError:
        return out
    if flags & CLONE_PIDFD:
        _add(out, pidfd, 4)
    if flags & CLONE_PARENT_SETTID:
        _add(out, parent_tid, 4)
    if flags & CLONE_CHILD_SETTID and flags & CLONE_VM:
        _add(out, child_tid, 4)
    return out


def _r_futex(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    op = a[1] & 127
    if op == 5:                 # FUTEX_WAKE_OP modifies *uaddr2
        _add(out, a[4], 4)
    elif op in (6, 7, 8, 13):   # LOCK_PI UNLOCK_PI TRYLOCK_PI LOCK_PI2: owner word
        _add(out, a[0], 4)
    elif op in (11, 12):        # WAIT_REQUEUE_PI / CMP_REQUEUE_PI
        _add(out, a[4] if op == 12 else a[0], 4)
    return out


def _r_get_mempolicy(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    _add(out, a[0], 4)
    maxnode = a[2]
    if maxnode:
        _add(out, a[1], min(((maxnode - 1) + 63) // 64 * 8, 1 << 16))
    return out


def _r_name_to_handle_at(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    r = signed(res)
    if r == -75:                # EOVERFLOW: handle_bytes says what is needed
        _add(out, a[2], 4)
    elif not failed(res):
        try:
            n = _u32(mem, a[2])
        except MemoryReadError:
            n = 0
        _add(out, a[2], 8 + min(n, 128))
        _add(out, a[3], 8 if a[4] & 1 else 4)   # AT_HANDLE_MNT_ID_UNIQUE
    return out


def _quota(cmd_idx: int, addr_idx: int) -> Callable[[list[int], int, Memory], Ranges]:
    sizes = {0x800004: 4, 0x800005: 24, 0x800007: 72, 0x800009: 72}

    def rule(a: list[int], res: int, mem: Memory) -> Ranges:
        out: Ranges = []
        if not failed(res):
            _add(out, a[addr_idx], sizes.get((a[cmd_idx] & 0xFFFFFFFF) >> 8, 0))
        return out
    return rule


def _r_sched_getattr(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[1], min(a[2] & 0xFFFFFFFF, 56))
    return out


def _r_perf_event_open(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if signed(res) == -7:       # E2BIG: the kernel writes its attr size
        _add(out, a[0] + 4, 4)
    return out


def _r_bpf(a: list[int], res: int, mem: Memory) -> Ranges:
    # Several commands write fields back into attr; buffers that attr points
    # to (BPF_OBJ_GET_INFO_BY_FD's info) are not covered (see UNCOVERED).
    out: Ranges = []
    if not failed(res):
        _add(out, a[1], min(a[2] & 0xFFFFFFFF, 4096))
    return out


def _r_statmount(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    try:
        n = _u32(mem, a[1])     # struct statmount starts with its size
    except MemoryReadError:
        n = a[2]
    _add(out, a[1], min(n, a[2]))
    return out


def _r_lsm_get_self_attr(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    _add(out, a[2], 4)          # the size is written back, also on E2BIG
    if not failed(res):
        try:
            _add(out, a[1], min(_u32(mem, a[2]), 1 << 16))
        except MemoryReadError:
            pass
    return out


def _r_lsm_list_modules(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    _add(out, a[1], 4)
    if not failed(res):
        _add(out, a[0], 8 * min(signed(res), 4096))
    return out


def _r_getxattrat(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res) or not a[4]:
        return out
    try:
        value, size = struct.unpack("<QI", mem.read(a[4], 12))
    except MemoryReadError:
        return out
    if size:
        _add(out, value, min(signed(res), size))
    return out


def _r_file_getattr(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if not failed(res):
        _add(out, a[2], min(a[3], 64))
    return out


def _r_io_cancel(a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if signed(res) == 0:
        _add(out, a[2], 32)
    return out


_RULES: dict[str, Callable[[list[int], int, Memory], Ranges]] = {
    "ioctl": _r_ioctl,
    "poll": _r_poll,
    "ppoll": _r_ppoll,
    "select": _select_like(16),
    "pselect6": _select_like(16),
    "nanosleep": _sleep_rem(1),
    "clock_nanosleep": _sleep_rem(3, 1),
    "rt_sigaction": _r_rt_sigaction,
    "rt_sigprocmask": _r_rt_sigprocmask,
    "rt_sigpending": _r_rt_sigpending,
    "rt_sigtimedwait": _r_rt_sigtimedwait,
    "wait4": _r_wait4,
    "waitid": _r_waitid,
    "accept": _r_sockaddr(1, 2),
    "accept4": _r_sockaddr(1, 2),
    "getsockname": _r_sockaddr(1, 2),
    "getpeername": _r_sockaddr(1, 2),
    "recvfrom": _r_recvfrom,
    "recvmsg": _r_recvmsg,
    "recvmmsg": _r_recvmmsg,
    "sendmmsg": _r_sendmmsg,
    "getsockopt": _r_getsockopt,
    "msgctl": _MSGCTL,
    "shmctl": _SHMCTL,
    "semctl": _r_semctl,
    "msgrcv": _r_msgrcv,
    "fcntl": _r_fcntl,
    "times": _r_times,
    "capget": _r_capget,
    "mincore": _r_mincore,
    "move_pages": _r_move_pages,
    "ptrace": _r_ptrace,
    "keyctl": _r_keyctl,
    "syslog": _r_syslog,
    "sysfs": _r_sysfs,
    "arch_prctl": _r_arch_prctl,
    "prctl": _r_prctl,
    "clone": _r_clone,
    "clone3": _r_clone3,
    "futex": _r_futex,
    "get_mempolicy": _r_get_mempolicy,
    "name_to_handle_at": _r_name_to_handle_at,
    "quotactl": _quota(0, 3),
    "quotactl_fd": _quota(1, 3),
    "sched_getattr": _r_sched_getattr,
    "perf_event_open": _r_perf_event_open,
    "bpf": _r_bpf,
    "statmount": _r_statmount,
    "lsm_get_self_attr": _r_lsm_get_self_attr,
    "lsm_list_modules": _r_lsm_list_modules,
    "getxattrat": _r_getxattrat,
    "file_getattr": _r_file_getattr,
    "io_cancel": _r_io_cancel,
}

# obuf: units per result and the argument bounding the buffer (in units).
_OBUF: dict[str, tuple[int, int]] = {
    "read": (1, 2), "pread64": (1, 2), "getdents": (1, 2), "getdents64": (1, 2),
    "readlink": (1, 2), "readlinkat": (1, 3), "getrandom": (1, 1), "getcwd": (1, 1),
    "getxattr": (1, 3), "lgetxattr": (1, 3), "fgetxattr": (1, 3),
    "listxattr": (1, 2), "llistxattr": (1, 2), "flistxattr": (1, 2), "listxattrat": (1, 4),
    "lookup_dcookie": (1, 2), "mq_timedreceive": (1, 2), "sched_getaffinity": (1, 1),
    "getgroups": (4, 0), "epoll_wait": (12, 2), "epoll_pwait": (12, 2), "epoll_pwait2": (12, 2),
    "io_getevents": (32, 2), "io_pgetevents": (32, 2), "listmount": (8, 2),
}

# Syscalls known to write memory in cases no rule covers (documented gaps).
UNCOVERED: dict[str, str] = {
    "semctl": "GETALL writes nsems shorts; nsems is not in the arguments",
    "bpf": "buffers that attr points to (BPF_OBJ_GET_INFO_BY_FD info, map lookups)",
    "keyctl": "PKEY_QUERY / PKEY_ENCRYPT / DECRYPT / SIGN outputs",
    "io_uring_enter": "io_uring is refused (ENOSYS); its rings are shared memory",
    "ioctl": "requests without _IOC size encoding beyond IOCTL_WRITES",
    "_sysctl": "removed from the kernel (ENOSYS)",
    "query_module": "removed from the kernel (ENOSYS)",
    "get_kernel_syms": "removed from the kernel (ENOSYS)",
    "nfsservctl": "removed from the kernel (ENOSYS)",
    "getpmsg": "not implemented by the kernel (ENOSYS)",
    "epoll_wait_old": "not implemented by the kernel (ENOSYS)",
}

_GENERIC_KINDS = frozenset({"out", "inout", "obuf", "oiov"})


def _generic(si: SyscallInfo, a: list[int], res: int, mem: Memory) -> Ranges:
    out: Ranges = []
    if failed(res):
        return out
    r = signed(res)
    for i, arg in enumerate(si.args):
        ptr = a[i]
        if not ptr:
            continue
        if arg.kind in ("out", "inout"):
            size = STRUCT_SIZES.get(arg.param)
            if size:
                _add(out, ptr, size)
        elif arg.kind == "obuf":
            unit, cap_idx = _OBUF.get(si.name, (1, -1))
            if r > 0:
                n = r * unit
                if cap_idx >= 0:
                    n = min(n, (a[cap_idx] & MASK64) * unit)
                _add(out, ptr, n)
        elif arg.kind == "oiov":
            count = a[i + 1] & 0xFFFFFFFF if i + 1 < len(a) else 0
            out.extend(_scatter(mem, ptr, count, r))
    return out


def writes_memory(nr: int) -> bool:
    """Whether the table knows a way for ``nr`` to write tracee memory."""
    si = info(nr)
    if si.name in _RULES:
        return True
    return any(arg.kind in _GENERIC_KINDS for arg in si.args)


def written_ranges(nr: int, args: Iterable[int], result: int, mem: Memory) -> list[tuple[int, int]]:
    """``(addr, size)`` of what the kernel wrote into memory at this exit.

    Computed at the syscall-exit stop (``mem`` shows memory after the call:
    lengths the kernel wrote back, like addrlen, are read from it).  A range
    whose computation needs unreadable memory is skipped.  Recording a few
    bytes more than the kernel wrote is harmless (replay puts back the same
    bytes); recording fewer is a divergence, so rules err on the wide side.
    """
    if nr in _NO_WRITES:
        return []
    plan = _WRITE_PLANS.get(nr)
    if plan is not None and type(args) is tuple and len(args) == 6:
        return plan(args, result)
    a = [int(x) & MASK64 for x in args]
    a += [0] * (6 - len(a))
    res = signed(int(result))
    si = info(nr)
    rule = _RULES.get(si.name)
    try:
        ranges = rule(a, res, mem) if rule is not None else _generic(si, a, res, mem)
    except MemoryReadError:
        ranges = []
    # Sizes are bounded so a corrupt argument cannot ask for gigabytes.
    return [(addr, min(size, 1 << 26)) for addr, size in ranges if size > 0 and addr]


# ---------------------------------------------------------------------------
# Inputs worth keeping for display and divergence checks

PATH_LIMIT = 4096
BUF_PREVIEW = 32          # strace's default -s
ARGV_LIMIT = 64


def _grab(out: list[tuple[int, bytes]], mem: Memory, addr: int, size: int) -> None:
    addr &= MASK64
    if not addr or size <= 0:
        return
    try:
        out.append((addr, mem.read(addr, min(size, 1 << 16))))
    except MemoryReadError:
        pass


def _grab_str(out: list[tuple[int, bytes]], mem: Memory, addr: int) -> None:
    addr &= MASK64
    if not addr:
        return
    try:
        s = mem.read_cstring(addr, PATH_LIMIT)
    except MemoryReadError:
        return
    out.append((addr, s + b"\0" if len(s) < PATH_LIMIT else s))


def _grab_iov(out: list[tuple[int, bytes]], mem: Memory, iov: int, count: int, preview: bool) -> None:
    count = max(0, min(count, 64))
    if not iov or not count:
        return
    try:
        raw = mem.read(iov, 16 * count)
    except MemoryReadError:
        return
    out.append((iov, raw))
    if preview:
        for i in range(min(count, 8)):
            base, length = struct.unpack_from("<QQ", raw, 16 * i)
            _grab(out, mem, base, min(length, BUF_PREVIEW))


def _pointer_array(mem: Memory, addr: int, limit: int = 256) -> list[int]:
    """The words of a NULL-terminated pointer array (its 0 included), at most
    `limit`, up to the first unreadable word.

    Read a page at a time (an execve's environment is dozens of pointers,
    one read each before); the words are those one-by-one reads would give:
    a page is readable or not as a whole, a word across two pages is read
    alone, and a chunk that fails is read word by word.
    """
    ptrs: list[int] = []
    while len(ptrs) < limit:
        room = 4096 - addr % 4096
        k = min(room // 8, limit - len(ptrs)) if room >= 8 else 1
        try:
            words = [w for (w,) in struct.iter_unpack("<Q", mem.read(addr, 8 * k))]
        except MemoryReadError:
            words = []
            for i in range(k):
                try:
                    words.append(_u64(mem, addr + 8 * i))
                except MemoryReadError:
                    break
        for w in words:
            ptrs.append(w)
            if not w:
                return ptrs
        if len(words) < k:
            return ptrs
        addr = (addr + 8 * k) & MASK64
    return ptrs


def _grab_strv(out: list[tuple[int, bytes]], mem: Memory, addr: int, strings: bool) -> None:
    addr &= MASK64
    if not addr:
        return
    ptrs = _pointer_array(mem, addr)
    if not ptrs:
        return
    out.append((addr, b"".join(p.to_bytes(8, "little") for p in ptrs)))
    if strings:
        for p in ptrs[:ARGV_LIMIT]:
            if p:
                _grab_str(out, mem, p)


def _in_struct_size(si: SyscallInfo, i: int, arg: Arg, a: list[int], mem: Memory) -> int:
    fixed = STRUCT_SIZES.get(arg.param)
    if fixed:
        return fixed
    p = arg.param
    if p == "sigset":
        j = next((k for k, x in enumerate(si.args) if x.name in ("sigsetsize", "sizemask")), -1)
        return _sigset_size(a[j]) if j >= 0 else 8
    if p == "sockaddr":
        return min(a[i + 1] & 0xFFFFFFFF, 128) if i + 1 < 6 else 0
    if p == "sembuf":
        return 6 * min(a[i + 1], 682)
    if p == "pollfd":
        return 8 * min(a[i + 1] & 0xFFFFFFFF, 512)
    if p == "fdset":
        return _fdset_bytes(a[0])
    if p == "cap_data":
        return 24
    if p == "file_handle":
        try:
            return 8 + min(_u32(mem, a[i]), 128)
        except MemoryReadError:
            return 8
    if p == "perf_event_attr":
        try:
            return min(max(_u32(mem, a[i] + 4), 64), 512)
        except MemoryReadError:
            return 64
    if p == "bpf_attr":
        return min(a[i + 1] & 0xFFFFFFFF, 256)
    return 0


def entry_inputs(nr: int, args: Iterable[int], mem: Memory) -> list[tuple[int, bytes]]:
    """Input memory worth keeping, read at syscall entry.

    Path and string arguments (up to 4096 bytes, NUL included when it fits),
    small input structs, a 32-byte preview of written data, iovec arrays,
    msghdrs, argv (pointers and strings; envp pointers only).  Unreadable
    memory is skipped; this never raises.
    """
    if nr in _NO_INPUTS:
        return []
    plan = _INPUT_PLANS.get(nr)
    if plan is not None and type(args) is tuple and len(args) == 6:
        out: list[tuple[int, bytes]] = []
        for i, preview in plan:
            if preview:  # a buffer the call reads: its first bytes
                _grab(out, mem, args[i], min(args[i + 1] & MASK64 if i < 5 else BUF_PREVIEW, BUF_PREVIEW))
            else:
                _grab_str(out, mem, args[i])
        return out
    a = [int(x) & MASK64 for x in args]
    a += [0] * (6 - len(a))
    si = info(nr)
    out: list[tuple[int, bytes]] = []
    try:
        _entry(si, a, mem, out)
    except MemoryReadError:
        pass
    return out


def _entry(si: SyscallInfo, a: list[int], mem: Memory, out: list[tuple[int, bytes]]) -> None:
    name = si.name
    strv_seen = False
    for i, arg in enumerate(si.args):
        v = a[i]
        k = arg.kind
        if not v:
            continue
        if k in ("path", "str"):
            _grab_str(out, mem, v)
        elif k in ("in", "inout"):
            if arg.param == "msghdr":
                _grab_msghdr(out, mem, v, preview=(k == "in"))
            elif arg.param == "mmsghdr":
                for j in range(min(a[i + 1] & 0xFFFFFFFF, 8)):
                    _grab(out, mem, v + 64 * j, 64)
                    _grab_msghdr(out, mem, v + 64 * j, preview=(name == "sendmmsg"))
            elif arg.param == "sigset6":
                _grab(out, mem, v, 16)
                try:
                    _grab(out, mem, _u64(mem, v), _sigset_size(_u64(mem, v + 8)))
                except MemoryReadError:
                    pass
            elif arg.param == "clone_args":
                _grab(out, mem, v, min(a[i + 1], 88) or 64)
            elif arg.param == "sched_attr":
                try:
                    _grab(out, mem, v, min(max(_u32(mem, v), 48), 56))
                except MemoryReadError:
                    pass
            else:
                _grab(out, mem, v, _in_struct_size(si, i, arg, a, mem))
        elif k == "ibuf":
            n = a[i + 1] if i + 1 < 6 else BUF_PREVIEW
            extra = 8 if name == "msgsnd" else 0
            _grab(out, mem, v, min(n + extra, BUF_PREVIEW + extra))
        elif k == "iov":
            _grab_iov(out, mem, v, a[i + 1] & 0xFFFFFFFF, preview=True)
        elif k == "oiov":
            _grab_iov(out, mem, v, a[i + 1] & 0xFFFFFFFF, preview=False)
        elif k == "strv":
            _grab_strv(out, mem, v, strings=not strv_seen)
            strv_seen = True
    # Inputs hidden behind untyped arguments.
    if name == "ioctl":
        req = a[1] & 0xFFFFFFFF
        size = {0x5402: 36, 0x5403: 36, 0x5404: 36, 0x5414: 8, 0x5410: 4, 0x5421: 4,
                0x5452: 4, 0x8902: 4, 0x8901: 4}.get(req, 0)
        if not size and ((req >> 30) & 3) & 1:
            size = (req >> 16) & 0x3FFF
        _grab(out, mem, a[2], min(size, 4096))
    elif name == "fcntl":
        cmd = a[1] & 0xFFFFFFFF
        if cmd in (5, 6, 7, 36, 37, 38):
            _grab(out, mem, a[2], 32)
        elif cmd == 15:
            _grab(out, mem, a[2], 8)
    elif name == "futex":
        op = a[1] & 127
        _grab(out, mem, a[0], 4)
        if op in (0, 6, 9, 11, 13) and a[3]:
            _grab(out, mem, a[3], 16)
    elif name in ("semctl",):
        cmd = a[2] & ~0x100 & 0xFFFFFFFF
        if cmd == 1:            # IPC_SET
            _grab(out, mem, a[3], 104)
    elif name in ("msgctl", "shmctl"):
        cmd = a[1] & ~0x100 & 0xFFFFFFFF
        if cmd == 1:
            _grab(out, mem, a[2], 120 if name == "msgctl" else 112)


def _grab_msghdr(out: list[tuple[int, bytes]], mem: Memory, msg: int, preview: bool) -> None:
    try:
        hdr = mem.read(msg, 56)
    except MemoryReadError:
        return
    out.append((msg, hdr))
    name, namelen, iov, iovlen, control, controllen = struct.unpack_from("<QI4xQQQQ", hdr)
    if preview:
        _grab(out, mem, name, min(namelen, 128))
        _grab(out, mem, control, min(controllen, 256))
    _grab_iov(out, mem, iov, iovlen, preview=preview)


# Calls for which the two functions above have nothing to look at (no rule,
# no argument kind they read, no special case by name): answered at once,
# the hot path of every recorded stop. Derived from the table, so the answer
# is the one the full computation would give.
_ENTRY_KINDS = frozenset({"path", "str", "in", "inout", "ibuf", "iov", "oiov", "strv"})
_ENTRY_NAMES = frozenset({"ioctl", "fcntl", "futex", "semctl", "msgctl", "shmctl"})
_NO_INPUTS = frozenset(
    si.nr for si in SYSCALLS.values()
    if si.name not in _ENTRY_NAMES and not any(arg.kind in _ENTRY_KINDS for arg in si.args))
_NO_WRITES = frozenset(
    si.nr for si in SYSCALLS.values()
    if si.name not in _RULES and not any(arg.kind in _GENERIC_KINDS for arg in si.args))


# The hot path, precompiled from the table: calls whose only inputs are
# strings and buffers (readlink, openat, newfstatat, write...) read just those, and calls
# that write one fixed struct (the stat family) or one result-sized buffer
# (read, readlink, getdents64...) get their range without the interpreter.
# tests/test_syscalls.py checks them against the general rules on every call
# they cover.
_INPUT_PLANS: dict[int, tuple[tuple[int, bool], ...]] = {
    si.nr: tuple((i, arg.kind == "ibuf") for i, arg in enumerate(si.args) if arg.kind in ("path", "str", "ibuf"))
    for si in SYSCALLS.values()
    if si.nr not in _NO_INPUTS and si.name not in _ENTRY_NAMES and si.name != "msgsnd"
    and all(arg.kind in ("path", "str", "ibuf") or arg.kind not in _ENTRY_KINDS for arg in si.args)
}


def _struct_plan(i: int, size: int) -> Callable[[Iterable[int], int], list[tuple[int, int]]]:
    def plan(args: Any, result: int) -> list[tuple[int, int]]:
        addr = args[i] & MASK64
        if not addr or -4096 < signed(result) < 0:
            return []
        return [(addr, size)]
    return plan


def _obuf_plan(i: int, unit: int, cap: int) -> Callable[[Iterable[int], int], list[tuple[int, int]]]:
    def plan(args: Any, result: int) -> list[tuple[int, int]]:
        addr = args[i] & MASK64
        r = signed(result)
        if not addr or r <= 0:
            return []
        n = r * unit
        if cap >= 0:
            n = min(n, (args[cap] & MASK64) * unit)
        n = min(n, 1 << 26)
        return [(addr, n)] if n > 0 else []
    return plan


def _write_plans() -> dict[int, Callable[[Iterable[int], int], list[tuple[int, int]]]]:
    plans = {}
    for si in SYSCALLS.values():
        if si.name in _RULES or si.nr in _NO_WRITES:
            continue
        writing = [(i, arg) for i, arg in enumerate(si.args) if arg.kind in _GENERIC_KINDS]
        if len(writing) != 1:
            continue
        i, arg = writing[0]
        if arg.kind in ("out", "inout") and STRUCT_SIZES.get(arg.param):
            plans[si.nr] = _struct_plan(i, min(STRUCT_SIZES[arg.param], 1 << 26))
        elif arg.kind == "obuf":
            unit, cap = _OBUF.get(si.name, (1, -1))
            plans[si.nr] = _obuf_plan(i, unit, cap)
    return plans


_WRITE_PLANS = _write_plans()


__all__ = [
    "Arg", "SyscallInfo", "SYSCALLS", "BY_NAME", "NR", "info", "by_name",
    "written_ranges", "entry_inputs", "writes_memory", "failed", "signed",
    "EMULATE", "EXECUTE", "ALLOW", "ALL_CLASSES", "UNCOVERED", "IOCTL_WRITES",
    "ioctl_writes",
]

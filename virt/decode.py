"""strace-like text from raw syscall words and recorded memory.

Why at display time: a trace stores raw words and bytes, a lossless view; a
newer decoder shows an old trace better.  Why it never fails: a trace may
hold anything (a newer kernel's syscall, a corrupt pointer), and one bad
event must not break ``dump`` or the TUI — every decoder is wrapped, and
falls back to the raw words in hex.

Memory is read only through ``virt.memory.Memory`` (recorded or live), so
``dump``, the TUI and live stepping share this code.  This module imports
nothing from ``traces``: events are duck-typed by class name.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any, Callable, Iterable, Mapping

from virt import flags as F
from virt.memory import Memory, MemoryReadError
from virt.syscalls import Arg, SyscallInfo, failed, info, signed

STRING_LIMIT = 32          # like strace -s 32
ARRAY_LIMIT = 16
MASK64 = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------- primitives

def quote(data: bytes, limit: int | None = STRING_LIMIT, more: bool = False) -> str:
    """A C-escaped, double-quoted string; ``...`` when cut at ``limit``."""
    cut = limit is not None and len(data) > limit
    if cut:
        data = data[:limit]  # type: ignore[index]
    out = ['"']
    for i, b in enumerate(data):
        if b == 0x22:
            out.append('\\"')
        elif b == 0x5C:
            out.append("\\\\")
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x09:
            out.append("\\t")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x0C:
            out.append("\\f")
        elif b == 0x0B:
            out.append("\\v")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            nxt = data[i + 1] if i + 1 < len(data) else None
            if nxt is not None and 0x30 <= nxt <= 0x37:
                out.append(f"\\{b:03o}")
            else:
                out.append(f"\\{b:o}")
    out.append('"')
    if cut or more:
        out.append("...")
    return "".join(out)


def ptr(value: int) -> str:
    """A pointer as strace shows it: NULL or hex."""
    value &= MASK64
    return "NULL" if value == 0 else hex(value)


def s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


def errno_result(result: int) -> str:
    """``-1 ENOENT (No such file or directory)`` for a negative errno."""
    n = -signed(result)
    return f"-1 {F.errno_name(n)} ({F.errno_text(n)})"


def _sig(n: int) -> str:
    n = s32(n)
    return F.SIGNALS.get(n, str(n))


def _mode(value: int) -> str:
    return "0" + format(value & 0o7777777, "o") if value else "000"


def _file_type(mode: int) -> str:
    kinds = {0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o60000: "S_IFBLK",
             0o40000: "S_IFDIR", 0o20000: "S_IFCHR", 0o10000: "S_IFIFO"}
    t = kinds.get(mode & 0o170000)
    perm = "0" + format(mode & 0o7777, "o") if mode & 0o7777 else "0"
    return f"{t}|{perm}" if t else _mode(mode)


def clockid(value: int) -> str:
    """A clock id; negative ones encode a process or thread CPU clock."""
    v = s32(value)
    if v >= 0:
        return F.ENUMS["clock"].get(v, str(v))
    pid = ~(v >> 3)
    kind = ("CPUCLOCK_PROF", "CPUCLOCK_VIRT", "CPUCLOCK_SCHED", "3")[v & 3]
    maker = "MAKE_THREAD_CPUCLOCK" if v & 4 else "MAKE_PROCESS_CPUCLOCK"
    return f"{maker}({pid}, {kind})"


def format_flags(set_name: str, value: int) -> str:
    """A flag argument of the named set (see virt.flags)."""
    if set_name == "open":
        acc = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}[value & 3]
        rest = F.format_bits(value & ~3 & MASK64, F.BITS["open"], "")
        return acc + ("|" + rest if rest else "")
    if set_name == "mmap":
        kind = {0: "", 1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}[value & 3]
        rest = F.format_bits(value & ~3 & MASK64, F.BITS["mmap"], "")
        return "|".join(p for p in (kind, rest) if p) or "0"
    if set_name == "prot":
        return F.format_bits(value, F.BITS["prot"], "PROT_NONE")
    if set_name == "socktype":
        t = F.ENUMS["socktype"].get(value & 0xF, str(value & 0xF))
        rest = F.format_bits(value & ~0xF & 0xFFFFFFFF, F.BITS["socktype_flags"], "")
        return t + ("|" + rest if rest else "")
    if set_name == "clone":
        sig = value & 0xFF
        rest = F.format_bits(value & ~0xFF & MASK64, F.BITS["clone"], "")
        parts = [p for p in (rest, _sig(sig) if sig else "") if p]
        return "|".join(parts) or "0"
    if set_name == "access":
        return F.format_bits(value, F.BITS["access"], "F_OK")
    if set_name == "ipcget":
        rest = F.format_bits(value & ~0o777, F.BITS["ipcget"], "")
        perm = _mode(value & 0o777)
        return f"{rest}|{perm}" if rest else perm
    table = F.BITS.get(set_name)
    if table is not None:
        return F.format_bits(value, table)
    return hex(value)


def format_enum(set_name: str, value: int) -> str:
    """An enumerated argument (a command, a mode) of the named set."""
    if set_name == "ioctl":
        return ioctl_name(value)
    if set_name == "futex":
        return futex_op(value)
    if set_name in ("msgctl", "shmctl", "semctl"):
        v = value & 0xFFFFFFFF
        name = F.ENUMS[set_name].get(v & ~0x100, str(v & ~0x100))
        return "IPC_64|" + name if v & 0x100 else name
    if set_name == "sched":
        v = s32(value)
        reset = v & 0x40000000
        name = F.ENUMS["sched"].get(v & ~0x40000000, str(v & ~0x40000000))
        return name + "|SCHED_RESET_ON_FORK" if reset else name
    table = F.ENUMS.get(set_name, {})
    v = s32(value) if set_name in ("rusage",) else value & 0xFFFFFFFF
    return table.get(v, str(s32(value)) if set_name == "rusage" else (hex(v) if v > 0xFFFF else str(v)))


def ioctl_name(req: int) -> str:
    """The request's name, or ``_IOC(dir, type, nr, size)`` like strace."""
    req &= 0xFFFFFFFF
    name = F.ENUMS["ioctl"].get(req)
    if name:
        return name
    size = (req >> 16) & 0x3FFF
    if size or req >> 30:
        d = {0: "_IOC_NONE", 1: "_IOC_WRITE", 2: "_IOC_READ", 3: "_IOC_READ|_IOC_WRITE"}[req >> 30]
        return f"_IOC({d}, {(req >> 8) & 0xFF:#x}, {req & 0xFF:#x}, {size:#x})"
    return hex(req)


def futex_op(op: int) -> str:
    op &= 0xFFFFFFFF
    cmd = op & 0x7F
    name = F.ENUMS["futex"].get(cmd, str(cmd))
    if op & 128:
        name += "_PRIVATE"
    if op & 256:
        name += "|FUTEX_CLOCK_REALTIME"
    rest = op & ~0x1FF
    if rest:
        name += f"|{rest:#x}"
    return name


# ---------------------------------------------------------------- structs

def _read(mem: Memory | None, addr: int, size: int) -> bytes | None:
    if mem is None or not addr:
        return None
    try:
        return mem.read(addr & MASK64, size)
    except MemoryReadError:
        return None


def _timespec(b: bytes, usec: bool = False) -> str:
    sec, frac = struct.unpack_from("<qq", b)
    return f"{{tv_sec={sec}, tv_{'usec' if usec else 'nsec'}={frac}}}"


def sigset(b: bytes) -> str:
    """``[INT TERM]``; a mostly full set as ``~[...]`` of what is missing."""
    bits = int.from_bytes(b, "little")
    total = len(b) * 8
    present = [n for n in range(1, total + 1) if bits >> (n - 1) & 1]
    if len(present) > total // 2:
        missing = [n for n in range(1, min(total, 64) + 1) if not bits >> (n - 1) & 1]
        names = " ".join(F.signal_name(n)[3:] if n in F.SIGNALS else str(n) for n in missing)
        return f"~[{names}]"
    return "[" + " ".join(F.signal_name(n)[3:] if n in F.SIGNALS else str(n) for n in present) + "]"


def sockaddr(b: bytes) -> str:
    """A socket address, like strace."""
    if len(b) < 2:
        return "{}"
    fam = struct.unpack_from("<H", b)[0]
    fname = F.ENUMS["af"].get(fam, str(fam))
    if fam == 1:
        path = b[2:]
        nul = b"\0"
        if path[:1] == nul and len(path) > 1:
            abstract = quote(path[1:].rstrip(nul), None)
            return f"{{sa_family=AF_UNIX, sun_path=@{abstract}}}"
        named = quote(path.split(nul)[0], None)
        return f"{{sa_family=AF_UNIX, sun_path={named}}}"
    if fam == 2 and len(b) >= 8:
        port = struct.unpack_from(">H", b, 2)[0]
        return f"{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"{ipaddress.IPv4Address(b[4:8])}\")}}"
    if fam == 10 and len(b) >= 24:
        port = struct.unpack_from(">H", b, 2)[0]
        flow = struct.unpack_from(">I", b, 4)[0]
        addr = ipaddress.IPv6Address(b[8:24])
        scope = struct.unpack_from("<I", b, 24)[0] if len(b) >= 28 else 0
        return (f"{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), "
                f"inet_pton(AF_INET6, \"{addr}\", &sin6_addr), sin6_scope_id={scope}}}")
    if fam == 16 and len(b) >= 12:
        pid, groups = struct.unpack_from("<II", b, 4)
        return f"{{sa_family=AF_NETLINK, nl_pid={pid}, nl_groups={groups:08x}}}"
    return f"{{sa_family={fname}, sa_data={quote(b[2:], None)}}}"


def stat_struct(b: bytes) -> str:
    (dev, ino, nlink, mode, uid, gid, rdev, size, blksize, blocks) = struct.unpack_from("<QQQIII4xQqqq", b)
    if mode & 0o170000 in (0o20000, 0o60000):
        return f"{{st_mode={_file_type(mode)}, st_rdev=makedev({rdev >> 8 & 0xFFF:#x}, {rdev & 0xFF:#x}), ...}}"
    return f"{{st_mode={_file_type(mode)}, st_size={size}, ...}}"


def statx_struct(b: bytes) -> str:
    mask, blksize = struct.unpack_from("<II", b)
    mode = struct.unpack_from("<H", b, 28)[0]
    size = struct.unpack_from("<Q", b, 40)[0]
    return f"{{stx_mask={mask:#x}, stx_blksize={blksize}, stx_mode={_file_type(mode)}, stx_size={size}, ...}}"


def siginfo(b: bytes) -> str:
    """A siginfo_t, the fields that matter for its signal and code."""
    if len(b) < 12:
        return "{}"
    signo, err, code = struct.unpack_from("<iii", b)
    sname = F.signal_name(signo)
    codes = F.SI_CODES_BY_SIGNAL.get(signo, {}) if code > 0 and code != 0x80 else {}
    cname = codes.get(code) or F.SI_CODES.get(code, str(code))
    parts = [f"si_signo={sname}", f"si_code={cname}"]
    if err:
        parts.insert(1, f"si_errno={err}")
    if len(b) >= 48:
        if signo == 17 and code > 0:
            pid, uid, status = struct.unpack_from("<iIi", b, 16)
            utime, stime = struct.unpack_from("<qq", b, 32)
            st = F.signal_name(status) if code in (2, 3, 4, 5) else str(status)
            parts += [f"si_pid={pid}", f"si_uid={uid}", f"si_status={st}", f"si_utime={utime}", f"si_stime={stime}"]
        elif code in (0, -1, -6) or code <= 0 and code not in (-2,):
            pid, uid = struct.unpack_from("<iI", b, 16)
            parts += [f"si_pid={pid}", f"si_uid={uid}"]
            if code == -1:
                parts.append(f"si_int={struct.unpack_from('<i', b, 24)[0]}")
        elif code == -2:
            tid, overrun = struct.unpack_from("<ii", b, 16)
            parts += [f"si_timerid={tid:#x}", f"si_overrun={overrun}"]
        elif signo in (4, 7, 8, 11, 5):
            parts.append(f"si_addr={ptr(struct.unpack_from('<Q', b, 16)[0])}")
        elif signo == 31:
            addr, sysno, arch = struct.unpack_from("<QiI", b, 16)
            parts += [f"si_call_addr={ptr(addr)}", f"si_syscall={info(sysno).name}", f"si_arch={arch:#x}"]
        elif signo == 29:
            band, fd = struct.unpack_from("<qi", b, 16)
            parts += [f"si_band={band}", f"si_fd={fd}"]
    return "{" + ", ".join(parts) + "}"


def sigaction(b: bytes) -> str:
    handler, fl, restorer = struct.unpack_from("<QQQ", b)
    h = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, hex(handler))
    parts = [f"sa_handler={h}", f"sa_mask={sigset(b[24:32])}", f"sa_flags={F.format_bits(fl, F.BITS['sa_flags'])}"]
    if fl & 0x04000000:
        parts.append(f"sa_restorer={ptr(restorer)}")
    return "{" + ", ".join(parts) + "}"


def _rlim(v: int) -> str:
    return "RLIM64_INFINITY" if v == MASK64 else str(v)


def _utsname(b: bytes) -> str:
    names = ("sysname", "nodename", "release", "version", "machine", "domainname")
    parts = []
    for i, n in enumerate(names):
        field = b[65 * i: 65 * (i + 1)].split(b"\0")[0]
        parts.append(f"{n}={quote(field, None)}")
        if i == 1:
            break
    return "{" + ", ".join(parts) + ", ...}"


def _sysinfo(b: bytes) -> str:
    uptime = struct.unpack_from("<q", b)[0]
    totalram, freeram = struct.unpack_from("<QQ", b, 32)
    procs = struct.unpack_from("<H", b, 80)[0]
    return f"{{uptime={uptime}, totalram={totalram}, freeram={freeram}, procs={procs}, ...}}"


STRUCT_FORMATTERS: dict[str, tuple[int, Callable[[bytes], str]]] = {
    "timespec": (16, _timespec),
    "timeval": (16, lambda b: _timespec(b, usec=True)),
    "timespec2": (32, lambda b: f"[{_timespec(b[:16])}, {_timespec(b[16:])}]"),
    "timeval2": (32, lambda b: f"[{_timespec(b[:16], True)}, {_timespec(b[16:], True)}]"),
    "itimerspec": (32, lambda b: f"{{it_interval={_timespec(b[:16])}, it_value={_timespec(b[16:])}}}"),
    "itimerval": (32, lambda b: f"{{it_interval={_timespec(b[:16], True)}, it_value={_timespec(b[16:], True)}}}"),
    "timezone": (8, lambda b: "{tz_minuteswest=%d, tz_dsttime=%d}" % struct.unpack_from("<ii", b)),
    "stat": (144, stat_struct),
    "statx": (256, statx_struct),
    "siginfo": (128, siginfo),
    "sigaction": (32, sigaction),
    "rlimit": (16, lambda b: "{rlim_cur=%s, rlim_max=%s}" % tuple(_rlim(x) for x in struct.unpack_from("<QQ", b))),
    "int": (4, lambda b: f"[{struct.unpack_from('<i', b)[0]}]"),
    "int2": (8, lambda b: "[%d, %d]" % struct.unpack_from("<ii", b)),
    "u64": (8, lambda b: f"[{struct.unpack_from('<Q', b)[0]}]"),
    "utsname": (390, _utsname),
    "sysinfo": (112, _sysinfo),
    "tms": (32, lambda b: "{tms_utime=%d, tms_stime=%d, tms_cutime=%d, tms_cstime=%d}" % struct.unpack_from("<qqqq", b)),
    "stack": (24, lambda b: "{ss_sp=%s, ss_flags=%d, ss_size=%d}" % (
        ptr(struct.unpack_from("<Q", b)[0]), struct.unpack_from("<i", b, 8)[0], struct.unpack_from("<Q", b, 16)[0])),
    "sched_param": (4, lambda b: f"[{struct.unpack_from('<i', b)[0]}]"),
    "epoll_event": (12, lambda b: "{events=%s, data=%#x}" % (
        F.format_bits(struct.unpack_from("<I", b)[0], F.BITS["epoll"]), struct.unpack_from("<Q", b, 4)[0])),
    "open_how": (24, lambda b: "{flags=%s, mode=%s, resolve=%#x}" % (
        format_flags("open", struct.unpack_from("<Q", b)[0]), _mode(struct.unpack_from("<Q", b, 8)[0]),
        struct.unpack_from("<Q", b, 16)[0])),
    "clone_args": (64, lambda b: "{flags=%s, pidfd=%s, child_tid=%s, parent_tid=%s, exit_signal=%s, stack=%s, stack_size=%#x, tls=%#x}" % (
        format_flags("clone", struct.unpack_from("<Q", b)[0]), *(ptr(x) for x in struct.unpack_from("<QQQ", b, 8)),
        _sig(struct.unpack_from("<Q", b, 32)[0]), ptr(struct.unpack_from("<Q", b, 40)[0]),
        *struct.unpack_from("<QQ", b, 48))),
    "rusage": (144, lambda b: "{ru_utime=%s, ru_stime=%s, ...}" % (_timespec(b[:16], True), _timespec(b[16:32], True))),
    "cap_header": (8, lambda b: "{version=%#x, pid=%d}" % struct.unpack_from("<Ii", b)),
    "user_desc": (16, lambda b: "{entry_number=%d, base_addr=%#x, limit=%#x, ...}" % struct.unpack_from("<iII", b)),
    "sigevent": (16, lambda b: "{sigev_value=%#x, sigev_signo=%s, sigev_notify=%d}" % (
        struct.unpack_from("<Q", b)[0], _sig(struct.unpack_from("<i", b, 8)[0]), struct.unpack_from("<i", b, 12)[0])),
    "mq_attr": (32, lambda b: "{mq_flags=%d, mq_maxmsg=%d, mq_msgsize=%d, mq_curmsgs=%d}" % struct.unpack_from("<qqqq", b)),
}


def format_struct(name: str, addr: int, mem: Memory | None, size: int | None = None) -> str:
    """A struct at ``addr`` decoded, or the pointer when unavailable."""
    if not addr:
        return "NULL"
    if name == "sockaddr":
        b = _read(mem, addr, size or 0) if size else None
        if b is None and size:
            for n in (16, 8, 2):  # a partial record still shows the family
                b = _read(mem, addr, min(n, size))
                if b is not None:
                    break
        return sockaddr(b) if b else ptr(addr)
    if name == "sigset":
        b = _read(mem, addr, size or 8)
        return sigset(b) if b is not None else ptr(addr)
    fmt = STRUCT_FORMATTERS.get(name)
    if fmt is None:
        return ptr(addr)
    n, fn = fmt
    b = _read(mem, addr, n)
    if b is None:
        return ptr(addr)
    return fn(b)


# ---------------------------------------------------------------- arguments

def _fd(value: int, fds: Mapping[int, str] | None) -> str:
    v = s32(value)
    if fds and v in fds:
        return f"{v}<{fds[v]}>"
    return str(v)


def _cstring(addr: int, mem: Memory | None, limit: int | None = None) -> str:
    if not addr:
        return "NULL"
    if mem is None:
        return ptr(addr)
    try:
        s = mem.read_cstring(addr & MASK64, 4096)
    except MemoryReadError:
        return ptr(addr)
    return quote(s, limit)


def _buffer(addr: int, length: int, mem: Memory | None) -> str:
    if not addr:
        return "NULL"
    length = max(0, length)
    n = min(length, STRING_LIMIT)
    b = _read(mem, addr, n) if n else b""
    if b is None:
        # Recorded previews may be shorter than asked: take what exists.
        for k in range(n - 1, 0, -1):
            b = _read(mem, addr, k)
            if b is not None:
                break
        if not b:
            return ptr(addr)
    return quote(b, None, more=length > len(b))


def _iovec(addr: int, count: int, mem: Memory | None, total: int | None) -> str:
    if not addr:
        return "NULL"
    count = max(0, min(count, 1024))
    raw = _read(mem, addr, 16 * min(count, ARRAY_LIMIT))
    if raw is None:
        return ptr(addr)
    items = []
    left = total
    for i in range(min(count, ARRAY_LIMIT)):
        base, length = struct.unpack_from("<QQ", raw, 16 * i)
        shown = length if left is None else max(0, min(length, left))
        if left is not None:
            left -= shown
        items.append(f"{{iov_base={_buffer(base, shown, mem)}, iov_len={length}}}")
    if count > ARRAY_LIMIT:
        items.append("...")
    return "[" + ", ".join(items) + "]"


def _strv(addr: int, mem: Memory | None, strings: bool) -> str:
    if not addr:
        return "NULL"
    ptrs: list[int] = []
    for i in range(256):
        b = _read(mem, addr + 8 * i, 8)
        if b is None:
            if not ptrs:
                return ptr(addr)
            break
        p = int.from_bytes(b, "little")
        if not p:
            break
        ptrs.append(p)
    if not strings:
        return f"{ptr(addr)} /* {len(ptrs)} var{'s' if len(ptrs) != 1 else ''} */"
    shown = [_cstring(p, mem, None) for p in ptrs[:32]]
    if len(ptrs) > 32:
        shown.append("...")
    return "[" + ", ".join(shown) + "]"


def _fdset(addr: int, nfds: int, mem: Memory | None) -> str:
    if not addr:
        return "NULL"
    nfds = max(0, min(s32(nfds), 1 << 16))
    b = _read(mem, addr, (nfds + 63) // 64 * 8)
    if b is None:
        return ptr(addr)
    bits = int.from_bytes(b, "little")
    return "[" + " ".join(str(i) for i in range(nfds) if bits >> i & 1) + "]"


def _pollfds(addr: int, n: int, mem: Memory | None, after: bool) -> str:
    if not addr:
        return "NULL"
    n = max(0, min(n & 0xFFFFFFFF, 1024))
    b = _read(mem, addr, 8 * min(n, ARRAY_LIMIT))
    if b is None:
        return ptr(addr)
    items = []
    for i in range(min(n, ARRAY_LIMIT)):
        fd, ev, rev = struct.unpack_from("<ihh", b, 8 * i)
        if after:
            if rev:
                items.append(f"{{fd={fd}, revents={F.format_bits(rev & 0xFFFF, F.BITS['poll'])}}}")
        else:
            items.append(f"{{fd={fd}, events={F.format_bits(ev & 0xFFFF, F.BITS['poll'])}}}")
    if n > ARRAY_LIMIT and not after:
        items.append("...")
    return "[" + ", ".join(items) + "]"


def _epoll_events(addr: int, n: int, mem: Memory | None) -> str:
    b = _read(mem, addr, 12 * min(n, ARRAY_LIMIT))
    if b is None:
        return ptr(addr)
    items = []
    for i in range(min(n, ARRAY_LIMIT)):
        ev, data = struct.unpack_from("<IQ", b, 12 * i)
        items.append(f"{{events={F.format_bits(ev, F.BITS['epoll'])}, data={data:#x}}}")
    return "[" + ", ".join(items) + "]"


def _ok(result: int | None) -> bool:
    return result is not None and not failed(result)


def _arg_value(si: SyscallInfo, i: int, arg: Arg, a: list[int], result: int | None,
               mem: Memory | None, fds: Mapping[int, str] | None) -> str:
    v = a[i]
    k = arg.kind
    r = signed(result) if result is not None else None
    if k == "fd":
        return _fd(v, fds)
    if k == "dirfd":
        return "AT_FDCWD" if s32(v) == -100 else _fd(v, fds)
    if k == "path":
        return _cstring(v, mem, None)
    if k == "str":
        return _cstring(v, mem, None)
    if k in ("int", "pid", "tid", "pgid", "who", "msqid", "semid", "shmid", "uid", "gid"):
        return str(s32(v))
    if k in ("uint", "timerid"):
        return str(v & 0xFFFFFFFF)
    if k == "size":
        return str(v)
    if k == "off":
        return str(signed(v))
    if k == "hex":
        return hex(v)
    if k == "ptr":
        return ptr(v)
    if k == "mode":
        return _mode(v)
    if k == "sig":
        return _sig(v)
    if k == "clockid":
        return clockid(v)
    if k == "ipckey":
        return "IPC_PRIVATE" if v & 0xFFFFFFFF == 0 else f"{v & 0xFFFFFFFF:#x}"
    if k == "flags":
        return format_flags(arg.param, v)
    if k == "enum":
        return format_enum(arg.param, v)
    if k == "ibuf":
        n = a[i + 1] if i + 1 < 6 else STRING_LIMIT
        if si.name == "msgsnd":
            b = _read(mem, v, 8)
            if b is None:
                return ptr(v)
            return f"{{mtype={struct.unpack('<q', b)[0]}, mtext={_buffer(v + 8, n, mem)}}}"
        if si.name == "setsockopt" and n == 4:
            b = _read(mem, v, 4)
            if b is not None:
                return f"[{struct.unpack('<i', b)[0]}]"
        return _buffer(v, n, mem)
    if k == "obuf":
        if not _ok(result) or not v:
            return ptr(v)
        if si.name in ("epoll_wait", "epoll_pwait", "epoll_pwait2"):
            return _epoll_events(v, r or 0, mem)
        if si.name in ("getdents", "getdents64", "io_getevents", "io_pgetevents", "getgroups",
                       "sched_getaffinity", "mincore", "move_pages", "listmount", "lsm_list_modules",
                       "get_mempolicy", "statmount", "lsm_get_self_attr", "getsockopt"):
            return ptr(v)
        if si.name == "msgrcv":
            b = _read(mem, v, 8)
            if b is None:
                return ptr(v)
            return f"{{mtype={struct.unpack('<q', b)[0]}, mtext={_buffer(v + 8, r or 0, mem)}}}"
        return _buffer(v, r or 0, mem)
    if k in ("iov", "oiov"):
        cnt = a[i + 1] & 0xFFFFFFFF if i + 1 < 6 else 0
        if k == "oiov":
            if not _ok(result):
                return ptr(v)
            return _iovec(v, cnt, mem, r)
        return _iovec(v, cnt, mem, None)
    if k == "strv":
        first = next(j for j, x in enumerate(si.args) if x.kind == "strv")
        return _strv(v, mem, strings=(i == first))
    if k in ("in", "out", "inout"):
        return _struct_arg(si, i, arg, a, result, mem)
    return hex(v)


def _struct_arg(si: SyscallInfo, i: int, arg: Arg, a: list[int], result: int | None,
                mem: Memory | None) -> str:
    v = a[i]
    p = arg.param
    if not v:
        return "NULL"
    if arg.kind == "out" and not _ok(result):
        # rem of an interrupted sleep is still worth showing
        if not (p == "timespec" and result is not None and signed(result) in (-4, -516)):
            return ptr(v)
    if p == "sigset":
        j = next((k for k, x in enumerate(si.args) if x.name in ("sigsetsize", "sizemask")), -1)
        size = a[j] if j >= 0 and 0 < a[j] <= 128 else 8
        return format_struct("sigset", v, mem, size)
    if p == "sockaddr":
        if arg.kind == "in":
            return format_struct("sockaddr", v, mem, min(a[i + 1] & 0xFFFFFFFF, 128))
        lb = _read(mem, a[i + 1], 4) if i + 1 < 6 else None
        n = int.from_bytes(lb, "little") if lb else 16
        return format_struct("sockaddr", v, mem, min(n, 128))
    if p == "pollfd":
        return _pollfds(v, a[i + 1], mem, after=_ok(result) and result is not None)
    if p == "fdset":
        return _fdset(v, a[0], mem)
    if p == "int" and si.name in ("accept", "accept4", "getsockname", "getpeername", "recvfrom", "getsockopt"):
        b = _read(mem, v, 4)
        return f"[{struct.unpack('<I', b)[0]}]" if b else ptr(v)
    return format_struct(p, v, mem)


def _visible_args(si: SyscallInfo, a: list[int]) -> int:
    """How many arguments strace prints (it hides unused trailing ones)."""
    n = len(si.args)
    name = si.name
    if name in ("open", "openat") and not a[si.arg_index("flags")] & 0o20000100:
        return n - 1
    if name == "futex":
        op = a[1] & 0x7F
        return {0: 4, 1: 3, 2: 3, 7: 2, 8: 2, 9: 6, 10: 6, 6: 4, 13: 4}.get(op, 6)
    if name == "fcntl" and (a[1] & 0xFFFFFFFF) in (1, 3, 9, 11, 1025, 1032, 1034):
        return 2
    if name == "prctl":
        return min(n, 2) if (a[0] & 0xFFFFFFFF) in (3, 7, 21, 25, 39, 42, 46) else n
    return n


def format_args(nr: int, args: Iterable[int], result: int | None = None, mem: Memory | None = None,
                fds: Mapping[int, str] | None = None) -> list[tuple[str, str]]:
    """``(name, text)`` for every argument the table knows, in order.

    Never raises: an argument whose decoding fails shows its raw word.
    """
    a = [int(x) & MASK64 for x in list(args)[:6]]
    a += [0] * (6 - len(a))
    si = info(nr)
    out = []
    for i, arg in enumerate(si.args):
        try:
            text = _special_arg(si, i, a, result, mem, fds)
            if text is None:
                text = _arg_value(si, i, arg, a, result, mem, fds)
        except Exception:  # noqa: BLE001 - decoding never fails
            text = hex(a[i])
        out.append((arg.name, text))
    return out


def _special_arg(si: SyscallInfo, i: int, a: list[int], result: int | None, mem: Memory | None,
                 fds: Mapping[int, str] | None) -> str | None:
    """Arguments whose meaning depends on another argument."""
    name = si.name
    if name == "ioctl" and i == 2:
        req = a[1] & 0xFFFFFFFF
        if req in (0x5413, 0x5414):  # TIOCGWINSZ / TIOCSWINSZ
            if req == 0x5413 and not _ok(result):
                return ptr(a[2])
            b = _read(mem, a[2], 8)
            if b:
                return "{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}" % struct.unpack("<HHHH", b)
        if req in (0x540F, 0x5410, 0x5429, 0x541B, 0x5421):
            b = _read(mem, a[2], 4)
            if b and (req not in (0x540F, 0x5429, 0x541B) or _ok(result)):
                return f"[{struct.unpack('<i', b)[0]}]"
        if req in (0x5401, 0x5402, 0x5403, 0x5404):
            b = _read(mem, a[2], 36)
            if b and (req != 0x5401 or _ok(result)):
                iflag, oflag, cflag, lflag = struct.unpack_from("<IIII", b)
                return f"{{c_iflag={iflag:#o}, c_oflag={oflag:#o}, c_cflag={cflag:#o}, c_lflag={lflag:#o}, ...}}"
        if req in (0x5409, 0x540A, 0x540B, 0x5425):   # TCSBRK TCXONC TCFLSH TCSBRKP take an int
            return str(s32(a[2]))
        return ptr(a[2])
    if name == "fcntl" and i == 2:
        cmd = a[1] & 0xFFFFFFFF
        if cmd in (2,):
            return "FD_CLOEXEC" if a[2] == 1 else str(a[2])
        if cmd in (4,):
            return format_flags("open", a[2])
        if cmd in (0, 1030, 8, 10, 1031, 1024, 1026, 1033):
            return str(s32(a[2]))
        if cmd in (5, 6, 7, 36, 37, 38):
            b = _read(mem, a[2], 32)
            if b:
                t, w, start, ln, pid = struct.unpack_from("<hhqqi", b)
                tn = {0: "F_RDLCK", 1: "F_WRLCK", 2: "F_UNLCK"}.get(t, str(t))
                wn = F.ENUMS["whence"].get(w, str(w))
                return f"{{l_type={tn}, l_whence={wn}, l_start={start}, l_len={ln}, l_pid={pid}}}"
        return ptr(a[2])
    if name == "futex":
        op = a[1] & 0x7F
        if i == 3:
            if op in (0, 9, 11):
                return format_struct("timespec", a[3], mem)
            return str(s32(a[3]))
        if i == 5 and op in (9, 10):
            return "FUTEX_BITSET_MATCH_ANY" if a[5] & 0xFFFFFFFF == 0xFFFFFFFF else hex(a[5])
    if name == "prctl" and i == 1:
        opt = a[0] & 0xFFFFFFFF
        if opt == 15:
            return _cstring(a[1], mem, 16)
        if opt == 16 and _ok(result):
            return _cstring(a[1], mem, 16)
        if opt in (1,):
            return _sig(a[1])
        if opt in (4, 8, 36, 38, 26):
            return str(a[1])
    if name in ("kill", "tkill", "tgkill") and si.args[i].kind == "sig":
        return _sig(a[i]) if a[i] else "0"
    if name == "arch_prctl" and i == 1:
        code = a[0] & 0xFFFFFFFF
        if code in (0x1003, 0x1004):
            if _ok(result):
                b = _read(mem, a[1], 8)
                if b:
                    return f"[{int.from_bytes(b, 'little'):#x}]"
            return ptr(a[1])
        return hex(a[1])
    if name in ("socket", "socketpair") and i == 2:
        return str(s32(a[2]))
    if name == "lseek" and i == 1:
        return str(signed(a[1]))
    if name == "brk" and i == 0:
        return ptr(a[0])
    if name in ("shmget",) and i == 0:
        return "IPC_PRIVATE" if a[0] & 0xFFFFFFFF == 0 else f"{a[0] & 0xFFFFFFFF:#x}"
    if name == "wait4" and i == 1:
        if signed(result or 0) > 0 and a[1]:
            b = _read(mem, a[1], 4)
            if b:
                return f"[{wait_status(struct.unpack('<i', b)[0])}]"
        return ptr(a[1])
    if name == "clone" and i in (2, 3):
        return ptr(a[i])
    return None


def wait_status(status: int) -> str:
    """``{WIFEXITED(s) && WEXITSTATUS(s) == 0}`` like strace."""
    status &= 0xFFFFFFFF
    sig = status & 0x7F
    if sig == 0:
        return f"{{WIFEXITED(s) && WEXITSTATUS(s) == {(status >> 8) & 0xFF}}}"
    if sig == 0x7F:
        return f"{{WIFSTOPPED(s) && WSTOPSIG(s) == {F.signal_name((status >> 8) & 0xFF)}}}"
    if status == 0xFFFF:
        return "{WIFCONTINUED(s)}"
    core = " && WCOREDUMP(s)" if status & 0x80 else ""
    return f"{{WIFSIGNALED(s) && WTERMSIG(s) == {F.signal_name(sig)}{core}}}"


def format_result(nr: int, result: int, fds: Mapping[int, str] | None = None) -> str:
    """The ``= ...`` part (without ``= ``), as strace shows it."""
    si = info(nr)
    r = signed(result)
    if si.ret == "noreturn":
        return "?"
    if failed(r) and si.ret not in ("hex",) or (si.ret == "hex" and failed(r) and si.name != "times"):
        if si.name == "ptrace" and r < 0 and not failed(r):
            return hex(r & MASK64)
        return errno_result(r)
    ret = si.ret
    if ret in ("ptr",):
        return hex(r & MASK64) if r else "0"
    if ret == "hex":
        return hex(r & MASK64) if r else "0"
    if ret == "mode":
        return "0" + format(r, "o") if r else "000"
    if ret == "sig":
        return F.signal_name(r) if r > 0 else str(r)
    if ret == "fd" and fds and r in fds:
        return f"{r}<{fds[r]}>"
    return str(r)


def format_syscall(nr: int, args: Iterable[int], result: int | None, mem: Memory | None = None,
                   fds: Mapping[int, str] | None = None, no_exit: bool = False) -> str:
    """``openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3``.

    ``result`` None (or ``no_exit``) prints ``= ?`` like strace for calls
    that never returned.  Never raises.
    """
    a = [int(x) & MASK64 for x in list(args)[:6]]
    a += [0] * (6 - len(a))
    si = info(nr)
    try:
        pairs = format_args(nr, a, None if no_exit else result, mem, fds)
        shown = pairs[: _visible_args(si, a)]
        body = ", ".join(t for _, t in shown)
    except Exception:  # noqa: BLE001
        body = ", ".join(hex(x) for x in a[: len(si.args)])
    if no_exit or result is None:
        return f"{si.name}({body}) = ?"
    try:
        res = format_result(nr, result, fds)
    except Exception:  # noqa: BLE001
        res = str(result)
    return f"{si.name}({body}) = {res}"


# ---------------------------------------------------------------- events

def _exit_line(status: int) -> str:
    status &= 0xFFFFFFFF
    sig = status & 0x7F
    if sig == 0:
        return f"+++ exited with {(status >> 8) & 0xFF} +++"
    if sig == 0x7F:
        return f"+++ stopped by {F.signal_name((status >> 8) & 0xFF)} +++"
    core = " (core dumped)" if status & 0x80 else ""
    return f"+++ killed by {F.signal_name(sig)}{core} +++"


def _value(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return quote(bytes(v), STRING_LIMIT)
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v} ({v & MASK64:#x})" if v >= 0 else str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_value(x)}" for k, x in list(v.items())[:ARRAY_LIMIT]) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in list(v)[:ARRAY_LIMIT]) + ("..." if len(v) > ARRAY_LIMIT else "") + "]"
    return repr(v)


def format_event(event: Any, mem: Memory | None = None, fds: Mapping[int, str] | None = None) -> str:
    """One line for any event kind (duck-typed: virt does not import traces)."""
    try:
        return _format_event(event, mem, fds)
    except Exception:  # noqa: BLE001 - decoding never fails
        try:
            return f"<{type(event).__name__} {event!r}>"
        except Exception:  # noqa: BLE001
            return "<event>"


def _format_event(event: Any, mem: Memory | None, fds: Mapping[int, str] | None) -> str:
    kind = type(event).__name__
    if kind == "Syscall":
        no_exit = bool(getattr(event, "flags", 0) & 2)
        return format_syscall(event.nr, event.args, event.result, mem, fds, no_exit=no_exit)
    if kind == "Spawn":
        what = {0: "fork", 1: "vfork", 2: "thread"}.get(event.kind, str(event.kind))
        if event.kind == 2:
            return f"+++ new thread {event.tid} in process {event.pid} (by {event.parent_tid}) +++"
        if not event.parent_tid:
            return f"+++ started process {event.pid} +++"
        return f"+++ new process {event.pid} ({what} of {event.parent_tid}) +++"
    if kind == "Exec":
        argv = "[" + ", ".join(quote(str(x).encode("utf-8", "surrogateescape"), None) for x in list(event.argv)[:32]) + "]"
        return f"--- exec {quote(str(event.path).encode('utf-8', 'surrogateescape'), None)} {argv} ---"
    if kind == "Exit":
        return _exit_line(int(event.status))
    if kind == "Signal":
        name = F.signal_name(int(event.signo))
        si = bytes(event.siginfo or b"")
        return f"--- {name} {siginfo(si) if si else '{}'} ---"
    if kind == "Input":
        return f"--- input {event.what} = {_value(event.value)} ---"
    if kind == "Unknown":
        fields = ", ".join(_value(x) for x in list(getattr(event, "fields", ()))[:ARRAY_LIMIT])
        return f"--- unknown event kind {event.kind} ({fields}) ---"
    return f"--- {kind} ---"


__all__ = [
    "format_syscall", "format_args", "format_result", "format_event", "format_flags", "format_enum",
    "format_struct", "quote", "sigset", "sockaddr", "siginfo", "wait_status", "errno_result",
    "ioctl_name", "futex_op", "clockid",
]

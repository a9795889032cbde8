"""virt.decode: strace-like text, and decoding never fails."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virt import decode
from virt.memory import MemoryReadError, RecordedMemory
from virt.syscalls import NR, SYSCALLS

AT_FDCWD = 2**64 - 100


def M(*ranges: tuple[int, bytes]) -> RecordedMemory:
    return RecordedMemory(list(ranges))


def fmt(name: str, args: list[int], result: int | None, mem: Any = None, **kw: Any) -> str:
    return decode.format_syscall(NR[name], args, result, mem, **kw)


def test_openat() -> None:
    mem = M((0x1000, b"/etc/passwd\0"))
    assert fmt("openat", [AT_FDCWD, 0x1000, 0o2000000, 0], 3, mem) == \
        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3'
    assert fmt("openat", [AT_FDCWD, 0x1000, 0o101, 0o644], -2, mem) == \
        'openat(AT_FDCWD, "/etc/passwd", O_WRONLY|O_CREAT, 0644) = -1 ENOENT (No such file or directory)'
    # Without memory the path is a pointer.
    assert fmt("openat", [AT_FDCWD, 0x1000, 0, 0], 3) == "openat(AT_FDCWD, 0x1000, O_RDONLY) = 3"


def test_strings_escaped_and_truncated() -> None:
    data = b"a" * 40
    mem = M((0x2000, data))
    assert fmt("write", [1, 0x2000, 40], 40, mem) == f'write(1, "{"a" * 32}"..., 40) = 40'
    assert decode.quote(b'x"\\\n\t\x00\x01\x7f\xff') == '"x\\"\\\\\\n\\t\\0\\1\\177\\377"'
    assert decode.quote(b"\x001") == '"\\0001"'
    # A recorded 32-byte preview of a longer write still shows with "...".
    mem = M((0x2000, b"b" * 32))
    assert fmt("write", [1, 0x2000, 100], 100, mem) == f'write(1, "{"b" * 32}"..., 100) = 100'


def test_read_shows_result_bytes() -> None:
    mem = M((0x2000, b"hi\n"))
    assert fmt("read", [0, 0x2000, 100], 3, mem) == 'read(0, "hi\\n", 100) = 3'
    assert fmt("read", [0, 0x2000, 100], -11, mem) == \
        "read(0, 0x2000, 100) = -1 EAGAIN (Resource temporarily unavailable)"


def test_fds_mapping() -> None:
    assert fmt("read", [3, 0, 10], -14, fds={3: "/etc/hosts"}).startswith("read(3</etc/hosts>, NULL")
    assert fmt("dup", [3], 4, fds={4: "/x"}) == "dup(3) = 4</x>"


def test_flags() -> None:
    assert fmt("mmap", [0, 4096, 3, 0x22, 2**64 - 1, 0], 0x7F0000001000) == \
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000"
    assert fmt("mprotect", [0x1000, 4096, 0], 0) == "mprotect(0x1000, 4096, PROT_NONE) = 0"
    assert "CLONE_VM|CLONE_FS" in fmt("clone", [0x300 | 17, 0, 0, 0, 0], 5)
    assert fmt("clone", [0x1200011, 0, 0, 0, 0], 5).startswith("clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD")
    assert fmt("wait4", [2**64 - 1, 0, 0x40000001, 0], 0) == "wait4(-1, NULL, WNOHANG|__WALL, NULL) = 0"
    assert fmt("kill", [5, 15], 0) == "kill(5, SIGTERM) = 0"
    assert fmt("lseek", [3, 0, 2], 10) == "lseek(3, 0, SEEK_END) = 10"
    assert fmt("access", [0, 4 | 1], 0) == "access(NULL, R_OK|X_OK) = 0"
    assert fmt("access", [0, 0], 0) == "access(NULL, F_OK) = 0"
    assert fmt("socket", [2, 1 | 0o2000000, 0], 3) == "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3"
    assert fmt("fcntl", [3, 1], 1) == "fcntl(3, F_GETFD) = 1"
    assert fmt("fcntl", [3, 4, 0o4000], 0) == "fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0"
    assert fmt("futex", [0x1000, 0x81, 1, 0, 0, 0], 0) == "futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 0"
    assert "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME" in fmt("futex", [0x1000, 0x189, 0, 0, 0, 2**32 - 1], 0)
    assert fmt("prctl", [15, 0x1000, 0, 0, 0], 0, M((0x1000, b"worker\0"))) == \
        'prctl(PR_SET_NAME, "worker", 0x0, 0x0, 0x0) = 0'
    assert fmt("unlinkat", [AT_FDCWD, 0, 0x200], 0) == "unlinkat(AT_FDCWD, NULL, AT_REMOVEDIR) = 0"
    assert fmt("rt_sigprocmask", [0, 0, 0, 8], 0) == "rt_sigprocmask(SIG_BLOCK, NULL, NULL, 8) = 0"
    assert fmt("madvise", [0x1000, 4096, 4], 0) == "madvise(0x1000, 4096, MADV_DONTNEED) = 0"
    assert fmt("arch_prctl", [0x1002, 0x7F00], 0) == "arch_prctl(ARCH_SET_FS, 0x7f00) = 0"
    assert fmt("clock_gettime", [0, 0], -14).startswith("clock_gettime(CLOCK_REALTIME, NULL)")
    assert decode.clockid(((~5) << 3) | 2) == "MAKE_PROCESS_CPUCLOCK(5, CPUCLOCK_SCHED)"
    assert fmt("msgctl", [1, 0x102, 0], 0) == "msgctl(1, IPC_64|IPC_STAT, NULL) = 0"
    assert fmt("msgget", [0, 0o1600], 3) == "msgget(IPC_PRIVATE, IPC_CREAT|0600) = 3"


def test_ioctl() -> None:
    assert fmt("ioctl", [1, 0x5401, 0x3000], -25) == "ioctl(1, TCGETS, 0x3000) = -1 ENOTTY (Inappropriate ioctl for device)"
    mem = M((0x3000, struct.pack("<HHHH", 24, 80, 0, 0)))
    assert fmt("ioctl", [1, 0x5413, 0x3000], 0, mem) == \
        "ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0"
    assert decode.ioctl_name(0xC0105500) == "_IOC(_IOC_READ|_IOC_WRITE, 0x55, 0, 0x10)".replace(", 0,", ", 0x0,")


def test_structs() -> None:
    ts = struct.pack("<qq", 5, 6)
    assert fmt("clock_gettime", [1, 0x3000], 0, M((0x3000, ts))) == \
        "clock_gettime(CLOCK_MONOTONIC, {tv_sec=5, tv_nsec=6}) = 0"
    assert fmt("nanosleep", [0x3000, 0], 0, M((0x3000, ts))) == "nanosleep({tv_sec=5, tv_nsec=6}, NULL) = 0"
    st_ = struct.pack("<QQQIII4xQqqq", 1, 2, 1, 0o100644, 0, 0, 0, 3286, 4096, 8) + bytes(72)
    assert fmt("fstat", [3, 0x3000], 0, M((0x3000, st_))) == \
        "fstat(3, {st_mode=S_IFREG|0644, st_size=3286, ...}) = 0"
    sin = struct.pack("<H", 2) + struct.pack(">H", 80) + bytes([127, 0, 0, 1]) + bytes(8)
    assert fmt("connect", [3, 0x3000, 16], 0, M((0x3000, sin))) == \
        'connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0'
    sun = struct.pack("<H", 1) + b"/run/sock\0"
    assert 'sun_path="/run/sock"' in fmt("connect", [3, 0x3000, len(sun)], 0, M((0x3000, sun)))
    sin6 = struct.pack("<H", 10) + struct.pack(">HI", 443, 0) + bytes(15) + b"\x01" + bytes(4)
    assert '"::1"' in fmt("connect", [3, 0x3000, 28], 0, M((0x3000, sin6)))
    sa = struct.pack("<QQQ", 0x4000, 0x04000000 | 0x10000000, 0x5000) + struct.pack("<Q", (1 << 1) | (1 << 14))
    got = fmt("rt_sigaction", [2, 0x3000, 0, 8], 0, M((0x3000, sa)))
    assert got == ("rt_sigaction(SIGINT, {sa_handler=0x4000, sa_mask=[INT TERM], "
                   "sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x5000}, NULL, 8) = 0")
    assert decode.sigset(b"\xff" * 8).startswith("~[")
    assert fmt("pipe2", [0x3000, 0o2000000], 0, M((0x3000, struct.pack("<ii", 3, 4)))) == \
        "pipe2([3, 4], O_RDONLY|O_CLOEXEC) = 0"
    assert fmt("wait4", [2**64 - 1, 0x3000, 0, 0], 2, M((0x3000, struct.pack("<i", 9)))) == \
        "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 2"


def test_execve_argv() -> None:
    ptrs = struct.pack("<QQQ", 0x1100, 0x1200, 0)
    mem = M((0x1000, b"/bin/ls\0"), (0x1100, b"ls\0"), (0x1200, b"-l\0"), (0x1300, ptrs),
            (0x1400, struct.pack("<QQQ", 0x1500, 0x1500, 0)))
    assert fmt("execve", [0x1000, 0x1300, 0x1400], 0, mem) == \
        'execve("/bin/ls", ["ls", "-l"], 0x1400 /* 2 vars */) = 0'
    assert fmt("execve", [0x1000, 0x1300, 0x1400], 0, mem, no_exit=True).endswith(" = ?")


def test_results() -> None:
    assert fmt("exit_group", [0], 0) == "exit_group(0) = ?"
    assert fmt("brk", [0], 0x555555559000) == "brk(NULL) = 0x555555559000"
    assert fmt("umask", [0o22], 0o22) == "umask(022) = 022"
    assert fmt("read", [0, 0, 1], -512) == "read(0, NULL, 1) = -1 ERESTARTSYS (To be restarted if SA_RESTART is set)"
    assert fmt("getpid", [], 1) == "getpid() = 1"
    assert fmt("rt_sigtimedwait", [0, 0, 0, 8], 17) == "rt_sigtimedwait(NULL, NULL, NULL, 8) = SIGCHLD"
    assert decode.format_syscall(999, [1, 2, 3, 4, 5, 6], 0) == "syscall_999(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = 0"
    assert decode.format_syscall(999, [1, 2, 3, 4, 5, 6], -38).endswith("= -1 ENOSYS (Function not implemented)")


def test_socket_calls() -> None:
    assert fmt("setsockopt", [3, 1, 2, 0x1000, 4], 0, M((0x1000, struct.pack("<i", 1)))) == \
        "setsockopt(3, SOL_SOCKET, 2, [1], 4) = 0"
    assert fmt("sendto", [3, 0x2000, 3, 0x4000, 0, 0], 3, M((0x2000, b"abc"))) == \
        'sendto(3, "abc", 3, MSG_NOSIGNAL, NULL, 0) = 3'
    iov = M((0x1000, struct.pack("<QQQQ", 0x2000, 2, 0x3000, 3)), (0x2000, b"ab"), (0x3000, b"cd\n"))
    assert fmt("writev", [1, 0x1000, 2], 5, iov) == \
        'writev(1, [{iov_base="ab", iov_len=2}, {iov_base="cd\\n", iov_len=3}], 2) = 5'
    assert fmt("poll", [0x1000, 2, 1000], 1, M((0x1000, struct.pack("<ihhihh", 3, 1, 1, 4, 4, 0))))\
        == "poll([{fd=3, revents=POLLIN}], 2, 1000) = 1"
    assert fmt("select", [5, 0x1000, 0, 0, 0], 1, M((0x1000, struct.pack("<Q", 0b11000))))\
        == "select(5, [3 4], NULL, NULL, NULL) = 1"


def test_format_args_aligned() -> None:
    pairs = decode.format_args(NR["openat"], [AT_FDCWD, 0x1000, 0, 0], 3, M((0x1000, b"/x\0")))
    assert [n for n, _ in pairs] == ["dirfd", "pathname", "flags", "mode"]
    assert pairs[1][1] == '"/x"'


# --------------------------------------------------------------- events

@dataclass
class Syscall:
    tid: int
    nr: int
    args: tuple[int, ...]
    result: int
    writes: tuple = ()
    reads: tuple = ()
    flags: int = 0
    time_ns: int = 0


@dataclass
class Spawn:
    tid: int
    parent_tid: int
    pid: int
    kind: int
    time_ns: int = 0


@dataclass
class Exec:
    tid: int
    path: str
    argv: list[str]
    binary: Any = None
    time_ns: int = 0


@dataclass
class Exit:
    tid: int
    status: int
    time_ns: int = 0


@dataclass
class Signal:
    tid: int
    signo: int
    siginfo: bytes = b""
    time_ns: int = 0


@dataclass
class Input:
    tid: int
    what: str
    value: Any
    time_ns: int = 0


@dataclass
class Unknown:
    kind: int
    fields: tuple = field(default_factory=tuple)
    tid: int = 0
    time_ns: int = 0


def test_format_event_kinds() -> None:
    assert decode.format_event(Syscall(1, NR["getpid"], (0,) * 6, 1)) == "getpid() = 1"
    assert decode.format_event(Syscall(1, NR["exit_group"], (3, 0, 0, 0, 0, 0), 0, flags=2)) == "exit_group(3) = ?"
    assert decode.format_event(Exit(1, 0)) == "+++ exited with 0 +++"
    assert decode.format_event(Exit(1, 3 << 8)) == "+++ exited with 3 +++"
    assert decode.format_event(Exit(1, 9)) == "+++ killed by SIGKILL +++"
    assert decode.format_event(Exit(1, 11 | 0x80)) == "+++ killed by SIGSEGV (core dumped) +++"
    info = struct.pack("<iii4xiIiiqq", 17, 0, 1, 2, 1000, 0, 0, 0, 0) + bytes(80)
    assert decode.format_event(Signal(1, 17, info)) == (
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2, si_uid=1000, si_status=0, "
        "si_utime=0, si_stime=0} ---")
    assert decode.format_event(Signal(1, 2)) == "--- SIGINT {} ---"
    segv = struct.pack("<iii4xQ", 11, 0, 1, 0xDEAD) + bytes(104)
    assert decode.format_event(Signal(1, 11, segv)) == "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0xdead} ---"
    assert decode.format_event(Exec(1, "/bin/ls", ["ls", "-l"])) == '--- exec "/bin/ls" ["ls", "-l"] ---'
    assert "new process 2 (fork of 1)" in decode.format_event(Spawn(2, 1, 2, 0))
    assert "new thread 3" in decode.format_event(Spawn(3, 1, 1, 2))
    assert "started process 1" in decode.format_event(Spawn(1, 0, 1, 0))
    assert decode.format_event(Input(1, "rdtsc", 1234)) == "--- input rdtsc = 1234 (0x4d2) ---"
    assert decode.format_event(Input(1, "at_random", b"\x01\x02")) == '--- input at_random = "\\1\\2" ---'
    assert decode.format_event(Unknown(42, (1, "x"))) == "--- unknown event kind 42 (1 (0x1), 'x') ---"
    assert decode.format_event(object()).startswith("---") or decode.format_event(object())


# --------------------------------------------------------------- never fails

class FuzzMemory:
    """Memory that answers arbitrary bytes, or fails, as hypothesis decides."""

    def __init__(self, data: bytes, fail: bool) -> None:
        self.data = data or b"\0"
        self.fail = fail

    def read(self, addr: int, size: int) -> bytes:
        if self.fail and addr % 3 == 0:
            raise MemoryReadError(addr, size)
        if size > 1 << 20:
            raise MemoryReadError(addr, size)
        reps = size // len(self.data) + 1
        return (self.data * reps)[:size]

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        if self.fail and addr % 3 == 0:
            raise MemoryReadError(addr, 1)
        return self.data.split(b"\0")[0][:limit]


NRS = st.one_of(st.sampled_from(sorted(SYSCALLS)), st.integers(-5, 1000))
WORDS = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2, 3, 2**64 - 1, 2**64 - 100, 0x1000, 2**31]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nr=NRS, args=st.lists(WORDS, min_size=0, max_size=7),
       result=st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-4095, 10)),
       data=st.binary(max_size=300), fail=st.booleans(), use_mem=st.booleans())
def test_decoding_never_fails(nr: int, args: list[int], result: int, data: bytes, fail: bool,
                              use_mem: bool) -> None:
    mem = FuzzMemory(data, fail) if use_mem else None
    line = decode.format_syscall(nr, args, result, mem, fds={3: "/x"})
    assert isinstance(line, str) and "(" in line
    pairs = decode.format_args(nr, args, result, mem)
    assert all(isinstance(t, str) for _, t in pairs)
    ev = Syscall(1, nr, tuple(args), result, flags=result & 3)
    assert isinstance(decode.format_event(ev, mem), str)
    assert isinstance(decode.format_event(Signal(1, result % 70, data)), str)
    assert isinstance(decode.format_event(Exit(1, result)), str)


@settings(max_examples=300, deadline=None)
@given(nr=NRS, args=st.lists(WORDS, min_size=6, max_size=6), result=st.integers(-2**63, 2**63 - 1),
       data=st.binary(max_size=200), fail=st.booleans())
def test_memory_rules_never_fail(nr: int, args: list[int], result: int, data: bytes, fail: bool) -> None:
    from virt.syscalls import entry_inputs, written_ranges
    mem = FuzzMemory(data, fail)
    for addr, size in written_ranges(nr, args, result, mem):
        assert addr > 0 and 0 < size <= 1 << 26
    for addr, blob in entry_inputs(nr, args, mem):
        assert isinstance(blob, bytes)

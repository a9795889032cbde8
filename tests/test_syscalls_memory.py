"""written_ranges / entry_inputs rules and RecordedMemory."""

from __future__ import annotations

import struct

import pytest

from virt.memory import Memory, MemoryReadError, RecordedMemory
from virt.syscalls import (NR, SYSCALLS, UNCOVERED, entry_inputs, writes_memory,
                           written_ranges)


def W(name: str, args: list[int], result: int, mem: Memory | None = None) -> list[tuple[int, int]]:
    return written_ranges(NR[name], args, result, mem or RecordedMemory())


# ------------------------------------------------------------------ memory

def test_recorded_memory_basic() -> None:
    m = RecordedMemory([(0x1000, b"hello\0world"), (0x2000, b"abc")])
    assert isinstance(m, Memory)
    assert m.read(0x1000, 5) == b"hello"
    assert m.read_cstring(0x1000) == b"hello"
    assert m.read_cstring(0x1006) == b"world"
    assert m.read_cstring(0x1006, 3) == b"wor"
    with pytest.raises(MemoryReadError):
        m.read(0x1000, 100)
    with pytest.raises(MemoryReadError):
        m.read(0xFFF, 2)
    with pytest.raises(MemoryReadError):
        m.read_cstring(0x3000)
    assert m.read(0x5000, 0) == b""


def test_recorded_memory_later_wins_and_merges() -> None:
    m = RecordedMemory([(0x100, b"AAAAAAAA"), (0x104, b"BBBBBBBB"), (0x102, b"C")])
    assert m.read(0x100, 12) == b"AACABBBBBBBB"
    m2 = RecordedMemory([(0x10, b"xyz"), (0x0C, b"0123456789")])
    assert m2.read(0x0C, 10) == b"0123456789"
    m3 = RecordedMemory([(0x10, b"ab"), (0x12, b"cd")])
    assert m3.read(0x10, 4) == b"abcd"  # adjacent ranges read as one


def test_from_event() -> None:
    class Ev:
        reads = ((0x10, b"old!"), (0x40, "not bytes"))
        writes = ((0x10, b"new"),)
    m = RecordedMemory.from_event(Ev())
    assert m.read(0x10, 4) == b"new!"


# ------------------------------------------------------------------ rules

def test_read_family() -> None:
    assert W("read", [3, 0x1000, 100], 10) == [(0x1000, 10)]
    assert W("read", [3, 0x1000, 100], 0) == []
    assert W("read", [3, 0x1000, 100], -11) == []
    assert W("read", [3, 0x1000, 100], 2**64 - 11) == []   # raw unsigned -EAGAIN
    assert W("pread64", [3, 0x1000, 8, 0], 8) == [(0x1000, 8)]
    assert W("getdents64", [3, 0x1000, 4096], 200) == [(0x1000, 200)]
    assert W("readlink", [0x10, 0x1000, 64], 5) == [(0x1000, 5)]
    assert W("getrandom", [0x1000, 16, 0], 16) == [(0x1000, 16)]
    assert W("getcwd", [0x1000, 4096], 6) == [(0x1000, 6)]
    assert W("getxattr", [1, 2, 0x1000, 0], 30) == []        # size 0: a query
    assert W("getgroups", [10, 0x1000], 3) == [(0x1000, 12)]
    assert W("epoll_wait", [4, 0x1000, 8, -1], 2) == [(0x1000, 24)]


def _iov_mem(base: int, iovs: list[tuple[int, int]]) -> RecordedMemory:
    raw = b"".join(struct.pack("<QQ", b, n) for b, n in iovs)
    return RecordedMemory([(base, raw)])


def test_readv_scatter() -> None:
    mem = _iov_mem(0x500, [(0x1000, 4), (0x2000, 10), (0x3000, 10)])
    assert W("readv", [3, 0x500, 3], 9, mem) == [(0x1000, 4), (0x2000, 5)]
    assert W("preadv", [3, 0x500, 3, 0, 0], 30, mem) == [(0x1000, 4), (0x2000, 10), (0x3000, 10)]
    # Unreadable iovec array: nothing, no exception.
    assert W("readv", [3, 0x900, 3], 9, mem) == []


def test_recvmsg() -> None:
    msg = 0x700
    hdr = struct.pack("<QI4xQQQQI4x", 0x800, 16, 0x500, 2, 0x900, 24, 0)
    mem = _iov_mem(0x500, [(0x1000, 4), (0x2000, 100)])
    mem = RecordedMemory(mem.ranges() + [(msg, hdr)])
    got = W("recvmsg", [3, msg, 0], 10, mem)
    assert (msg + 8, 4) in got and (msg + 40, 8) in got and (msg + 48, 4) in got
    assert (0x800, 16) in got and (0x900, 24) in got
    assert (0x1000, 4) in got and (0x2000, 6) in got


def test_sockaddr_out() -> None:
    mem = RecordedMemory([(0x600, struct.pack("<I", 16))])
    assert sorted(W("accept4", [3, 0x800, 0x600, 0], 5, mem)) == [(0x600, 4), (0x800, 16)]
    assert sorted(W("getsockname", [3, 0x800, 0x600], 0, mem)) == [(0x600, 4), (0x800, 16)]
    assert W("accept", [3, 0, 0], 5, mem) == []
    assert sorted(W("recvfrom", [3, 0x1000, 50, 0, 0x800, 0x600], 7, mem)) == [
        (0x600, 4), (0x800, 16), (0x1000, 7)]


def test_getsockopt() -> None:
    mem = RecordedMemory([(0x600, struct.pack("<I", 12))])
    assert sorted(W("getsockopt", [3, 1, 17, 0x800, 0x600], 0, mem)) == [(0x600, 4), (0x800, 12)]


def test_fixed_structs() -> None:
    assert W("stat", [0x10, 0x2000], 0) == [(0x2000, 144)]
    assert W("fstat", [1, 0x2000], 0) == [(0x2000, 144)]
    assert W("newfstatat", [1, 0x10, 0x2000, 0], 0) == [(0x2000, 144)]
    assert W("statx", [1, 0x10, 0, 0xFFF, 0x2000], 0) == [(0x2000, 256)]
    assert W("statfs", [0x10, 0x2000], 0) == [(0x2000, 120)]
    assert W("uname", [0x2000], 0) == [(0x2000, 390)]
    assert W("sysinfo", [0x2000], 0) == [(0x2000, 112)]
    assert W("clock_gettime", [1, 0x2000], 0) == [(0x2000, 16)]
    assert W("clock_getres", [1, 0], 0) == []
    assert sorted(W("gettimeofday", [0x2000, 0x3000], 0)) == [(0x2000, 16), (0x3000, 8)]
    assert W("time", [0x2000], 1700000000) == [(0x2000, 8)]
    assert W("times", [0x2000], 12345) == [(0x2000, 32)]
    assert W("getrusage", [0, 0x2000], 0) == [(0x2000, 144)]
    assert W("getrlimit", [7, 0x2000], 0) == [(0x2000, 16)]
    assert W("prlimit64", [0, 7, 0, 0x2000], 0) == [(0x2000, 16)]
    assert W("pipe2", [0x2000, 0], 0) == [(0x2000, 8)]
    assert W("socketpair", [1, 1, 0, 0x2000], 0) == [(0x2000, 8)]
    assert sorted(W("getresuid", [0x10, 0x20, 0x30], 0)) == [(0x10, 4), (0x20, 4), (0x30, 4)]
    assert W("sigaltstack", [0, 0x2000], 0) == [(0x2000, 24)]
    assert W("sched_getaffinity", [0, 128, 0x2000], 8) == [(0x2000, 8)]
    assert W("timer_gettime", [0, 0x2000], 0) == [(0x2000, 32)]
    assert W("timerfd_gettime", [3, 0x2000], 0) == [(0x2000, 32)]
    assert W("getitimer", [0, 0x2000], 0) == [(0x2000, 32)]
    assert W("setitimer", [0, 0x1000, 0x2000], 0) == [(0x2000, 32)]
    assert W("stat", [0x10, 0x2000], -2) == []


def test_signals() -> None:
    assert W("rt_sigaction", [17, 0x1000, 0x2000, 8], 0) == [(0x2000, 32)]
    assert W("rt_sigprocmask", [0, 0x1000, 0x2000, 8], 0) == [(0x2000, 8)]
    assert W("rt_sigpending", [0x2000, 8], 0) == [(0x2000, 8)]
    assert W("rt_sigtimedwait", [0x1000, 0x2000, 0, 8], 17) == [(0x2000, 128)]
    assert W("rt_sigtimedwait", [0x1000, 0x2000, 0, 8], -11) == []


def test_wait() -> None:
    assert sorted(W("wait4", [2**64 - 1, 0x2000, 0, 0x3000], 5)) == [(0x2000, 4), (0x3000, 144)]
    assert W("wait4", [2**64 - 1, 0x2000, 1, 0], 0) == []     # WNOHANG, nothing
    assert W("waitid", [0, 0, 0x2000, 4, 0], 0) == [(0x2000, 128)]


def test_sleep_rem() -> None:
    assert W("nanosleep", [0x1000, 0x2000], 0) == []
    assert W("nanosleep", [0x1000, 0x2000], -4) == [(0x2000, 16)]
    assert W("nanosleep", [0x1000, 0x2000], -516) == [(0x2000, 16)]
    assert W("clock_nanosleep", [1, 0, 0x1000, 0x2000], -4) == [(0x2000, 16)]
    assert W("clock_nanosleep", [1, 1, 0x1000, 0x2000], -4) == []


def test_poll_select() -> None:
    assert W("poll", [0x1000, 3, -1], 1) == [(0x1000, 24)]
    assert sorted(W("ppoll", [0x1000, 2, 0x2000, 0, 8], 0)) == [(0x1000, 16), (0x2000, 16)]
    assert sorted(W("select", [65, 0x1000, 0, 0x3000, 0x4000], 1)) == [
        (0x1000, 16), (0x3000, 16), (0x4000, 16)]
    assert W("pselect6", [3, 0x1000, 0, 0, 0x4000, 0], -4) == [(0x4000, 16)]


def test_ioctl() -> None:
    assert W("ioctl", [0, 0x5401, 0x2000], 0) == [(0x2000, 36)]      # TCGETS
    assert W("ioctl", [0, 0x5413, 0x2000], 0) == [(0x2000, 8)]       # TIOCGWINSZ
    assert W("ioctl", [0, 0x541B, 0x2000], 0) == [(0x2000, 4)]       # FIONREAD
    assert W("ioctl", [0, 0x540F, 0x2000], 0) == [(0x2000, 4)]       # TIOCGPGRP
    assert W("ioctl", [0, 0x5429, 0x2000], 0) == [(0x2000, 4)]       # TIOCGSID
    assert W("ioctl", [0, 0x80045430, 0x2000], 0) == [(0x2000, 4)]   # TIOCGPTN = _IOR('T',0x30,int)
    assert W("ioctl", [0, 0xC0105500, 0x2000], 0) == [(0x2000, 16)]  # _IOWR size 16
    assert W("ioctl", [0, 0x40045431, 0x2000], 0) == []              # TIOCSPTLCK = _IOW
    assert W("ioctl", [0, 0x5402, 0x2000], 0) == []                  # TCSETS
    assert W("ioctl", [0, 0x5401, 0x2000], -25) == []                # ENOTTY


def test_ipc() -> None:
    assert W("msgrcv", [1, 0x2000, 100, 0, 0], 10) == [(0x2000, 18)]
    assert W("msgctl", [1, 2, 0x2000], 0) == [(0x2000, 120)]          # IPC_STAT
    assert W("msgctl", [1, 0x102, 0x2000], 0) == [(0x2000, 120)]      # IPC_STAT|IPC_64
    assert W("msgctl", [1, 0, 0x2000], 0) == []                       # IPC_RMID
    assert W("shmctl", [1, 2, 0x2000], 0) == [(0x2000, 112)]
    assert W("semctl", [1, 0, 2, 0x2000], 0) == [(0x2000, 104)]
    assert W("semctl", [1, 0, 12, 0], 5) == []                        # GETVAL


def test_fcntl_prctl_arch_prctl() -> None:
    assert W("fcntl", [3, 5, 0x2000], 0) == [(0x2000, 32)]
    assert W("fcntl", [3, 16, 0x2000], 0) == [(0x2000, 8)]
    assert W("fcntl", [3, 1, 0], 1) == []
    assert W("prctl", [16, 0x2000, 0, 0, 0], 0) == [(0x2000, 16)]
    assert W("prctl", [15, 0x2000, 0, 0, 0], 0) == []                 # PR_SET_NAME
    assert W("arch_prctl", [0x1003, 0x2000], 0) == [(0x2000, 8)]
    assert W("arch_prctl", [0x1002, 0x2000], 0) == []


def test_clone() -> None:
    flags = 0x100 | 0x100000 | 0x1000000 | 0x200000
    assert sorted(W("clone", [flags, 0, 0x2000, 0x3000, 0], 42)) == [(0x2000, 4), (0x3000, 4)]
    assert W("clone", [flags, 0, 0x2000, 0x3000, 0], 0) == []          # in the child
    assert W("clone", [0x1000000 | 17, 0, 0, 0x3000, 0], 42) == []     # fork: child's memory
    args = struct.pack("<QQQQ", 0x100 | 0x100000 | 0x1000, 0x4000, 0x3000, 0x2000)
    mem = RecordedMemory([(0x900, args)])
    assert sorted(W("clone3", [0x900, 88], 42, mem)) == [(0x2000, 4), (0x4000, 4)]


def test_misc() -> None:
    assert W("capget", [0x100, 0x200], 0, RecordedMemory([(0x100, struct.pack("<Ii", 0x20080522, 0))])) == [
        (0x100, 8), (0x200, 24)]
    assert W("mincore", [0x10000, 8192 + 1, 0x2000], 0) == [(0x2000, 3)]
    assert W("futex", [0x1000, 5, 1, 1, 0x2000, 0], 1) == [(0x2000, 4)]
    assert W("futex", [0x1000, 0, 1, 0, 0, 0], 0) == []
    assert W("io_getevents", [1, 1, 4, 0x2000, 0], 2) == [(0x2000, 64)]
    assert sorted(W("mq_timedreceive", [3, 0x2000, 100, 0x3000, 0], 5)) == [(0x2000, 5), (0x3000, 4)]
    assert sorted(W("get_robust_list", [0, 0x2000, 0x3000], 0)) == [(0x2000, 8), (0x3000, 8)]
    assert W("sched_getattr", [0, 0x2000, 56, 0], 0) == [(0x2000, 56)]
    assert W("sendfile", [1, 3, 0x2000, 10], 10) == [(0x2000, 8)]
    assert W("write", [1, 0x2000, 10], 10) == []
    assert W("set_tid_address", [0x2000], 5) == []


# Every syscall that can write tracee memory, by hand.  The test below checks
# that each has a rule, and that nothing outside this list claims to write.
WRITERS = """
read poll pread64 readv pipe select mincore shmctl nanosleep getitimer setitimer
sendfile accept recvfrom recvmsg getsockname getpeername socketpair getsockopt clone wait4
uname semctl msgrcv msgctl fcntl getdents getcwd readlink gettimeofday getrlimit getrusage
sysinfo times ptrace syslog getgroups getresuid getresgid capget rt_sigpending rt_sigtimedwait
rt_sigaction rt_sigprocmask sigaltstack ustat statfs fstatfs sysfs sched_getparam
sched_rr_get_interval arch_prctl prctl adjtimex getxattr lgetxattr fgetxattr listxattr
llistxattr flistxattr time futex sched_getaffinity set_thread_area io_setup io_getevents
io_cancel get_thread_area lookup_dcookie getdents64 timer_create timer_settime timer_gettime
clock_gettime clock_getres clock_nanosleep epoll_wait get_mempolicy mq_timedreceive
mq_getsetattr waitid newfstatat readlinkat pselect6 ppoll get_robust_list splice vmsplice
move_pages epoll_pwait timerfd_settime timerfd_gettime accept4 pipe2 preadv recvmmsg
prlimit64 name_to_handle_at clock_adjtime sendmmsg getcpu process_vm_readv sched_getattr
getrandom bpf copy_file_range preadv2 statx io_pgetevents clone3 epoll_pwait2 cachestat
statmount listmount lsm_get_self_attr lsm_list_modules getxattrat listxattrat file_getattr
stat fstat lstat ioctl perf_event_open quotactl quotactl_fd keyctl keyctl
""".split()


def test_every_writer_has_a_rule() -> None:
    writers = set(WRITERS)
    for name in writers:
        assert name in NR, name
        assert writes_memory(NR[name]), f"{name} has no write rule"
    claimed = {si.name for si in SYSCALLS.values() if writes_memory(si.nr)}
    # Input-only "inout" structs the kernel may touch are allowed extras.
    assert claimed - writers == set(), sorted(claimed - writers)
    assert set(UNCOVERED) <= set(NR)


def test_entry_inputs() -> None:
    mem = RecordedMemory([(0x1000, b"/etc/passwd\0"), (0x2000, b"hello world, this is a long buffer" * 3),
                          (0x3000, struct.pack("<qq", 1, 500))])
    got = dict(entry_inputs(NR["openat"], [2**64 - 100, 0x1000, 0x80000, 0], mem))
    assert got == {0x1000: b"/etc/passwd\0"}
    got = dict(entry_inputs(NR["write"], [1, 0x2000, 100], mem))
    assert len(got[0x2000]) == 32
    got = dict(entry_inputs(NR["nanosleep"], [0x3000, 0], mem))
    assert got[0x3000] == struct.pack("<qq", 1, 500)
    # Unreadable memory is skipped, never an error.
    assert entry_inputs(NR["openat"], [0, 0x9999, 0, 0], mem) == []


def test_entry_inputs_execve() -> None:
    ptrs = struct.pack("<QQQ", 0x1100, 0x1200, 0)
    mem = RecordedMemory([(0x1000, b"/bin/ls\0"), (0x1100, b"ls\0"), (0x1200, b"-l\0"), (0x1300, ptrs),
                          (0x1400, struct.pack("<QQ", 0x1500, 0)), (0x1500, b"A=1\0")])
    got = dict(entry_inputs(NR["execve"], [0x1000, 0x1300, 0x1400], mem))
    assert got[0x1000] == b"/bin/ls\0" and got[0x1100] == b"ls\0" and got[0x1200] == b"-l\0"
    assert got[0x1300] == ptrs and 0x1400 in got and 0x1500 not in got


def test_pointer_arrays_read_a_page_at_a_time_give_the_word_by_word_answer() -> None:
    """argv/envp are read in page-sized chunks: the same words, the same stop
    at a NULL, at the limit or at the first unreadable word (also across a
    page edge, unaligned, and where only some words were recorded)."""
    import random

    from virt.syscalls import _pointer_array

    def one_by_one(mem: Memory, addr: int, limit: int = 256) -> list[int]:
        out: list[int] = []
        for i in range(limit):
            try:
                w = int.from_bytes(mem.read(addr + 8 * i, 8), "little")
            except MemoryReadError:
                break
            out.append(w)
            if not w:
                break
        return out

    rng = random.Random(11)
    for _ in range(300):
        base = 0x10000 + rng.choice([0, 8, 3, 4096 - 16, 4096 - 5, 2 * 4096 - 40])
        n = rng.randint(0, 700)
        words = [rng.choice([0, 1, 0x7FFF0000 + rng.randint(0, 99)]) if rng.random() < 0.02
                 else 0x7FFF0000 + rng.randint(1, 1 << 20) for _ in range(n)]
        raw = b"".join(struct.pack("<Q", w) for w in words)
        ranges = [(base, raw)]
        if rng.random() < 0.3 and raw:  # a hole: words recorded in pieces
            cut = rng.randint(0, len(raw))
            ranges = [(base, raw[:cut]), (base + cut + rng.randint(1, 20), raw[cut:])]
        mem = RecordedMemory(ranges)
        limit = rng.choice([256, 1, 3, 600])
        assert _pointer_array(mem, base, limit) == one_by_one(mem, base, limit)

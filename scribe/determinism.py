"""Mechanics shared by record and replay that make a run repeatable.

- `child_setup`: runs in the first tracee before exec: no ASLR (personality),
  rdtsc/rdtscp trap with SIGSEGV (PR_SET_TSC) so they can be emulated.
- `patch_auxv`: at the exec stop, puts the time page in the vDSO's place
  (AT_SYSINFO_EHDR points at it: clock reads are recorded without a stop),
  or hides the vDSO (AT_IGNORE: time calls become syscalls), and finds the
  16 AT_RANDOM bytes.
- `decode_tsc`: recognises a trapped rdtsc/rdtscp at the faulting ip.
- ELF helpers: the PT_INTERP of an executable, and a copy of it with the
  interpreter path replaced (replay runs recorded binaries, not the host's).
- `NONBLOCKING`: calls during which the recorder keeps the one-runner token
  (they return at once); every other traced call may block and lets another
  tracee run meanwhile.
"""

from __future__ import annotations

import os
import struct

from virt import ptrace_api as P
from virt import timepage
from virt.tracer import Tracee

AT_NULL = 0
AT_IGNORE = 1
AT_RANDOM = 25
AT_SYSINFO_EHDR = 33

SIGSEGV = 11
SI_KERNEL = 0x80

# Tell libraries not to use what cannot be trapped (OpenSSL: RDRAND, RDSEED),
# as other record-replay tools do. Bit 62 of the first word is RDRAND.
MASK_ENV = {"OPENSSL_ia32cap": "~0x4000000000000000:~0x40000"}

NONBLOCKING = frozenset("""
    getpid gettid getppid getpgrp getpgid getsid getuid geteuid getgid getegid getresuid
    getresgid getgroups setpgid setsid umask uname sysinfo times getrusage getrlimit setrlimit
    prlimit64 getcwd chdir fchdir time gettimeofday clock_gettime clock_getres getrandom
    mmap munmap mremap mprotect madvise brk msync mlock munlock mincore
    rt_sigaction rt_sigprocmask sigaltstack rt_sigpending arch_prctl set_tid_address
    set_robust_list get_robust_list prctl personality sched_getaffinity sched_setaffinity
    sched_getparam sched_getscheduler sched_get_priority_max sched_get_priority_min
    clone clone3 fork execve execveat exit exit_group kill tkill tgkill
    close close_range dup dup2 dup3 lseek fstat stat lstat newfstatat statx access faccessat
    faccessat2 readlink readlinkat getdents64 getdents statfs fstatfs pipe pipe2 socket
    socketpair eventfd eventfd2 epoll_create epoll_create1 epoll_ctl timerfd_create
    timerfd_settime timerfd_gettime signalfd signalfd4 inotify_init inotify_init1
    inotify_add_watch inotify_rm_watch memfd_create mkdir mkdirat rmdir unlink unlinkat
    rename renameat renameat2 link linkat symlink symlinkat chmod fchmod fchmodat chown
    fchown lchown fchownat utime utimes utimensat futimesat truncate ftruncate fallocate
    getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr setxattr fsetxattr
    lsetxattr removexattr fremovexattr capget capset getpriority setpriority
    setitimer getitimer alarm timer_create timer_settime timer_gettime timer_delete
    timer_getoverrun shmget shmat shmdt shmctl msgget semget msgctl semctl bind listen
    getsockname getpeername getsockopt setsockopt shutdown ioprio_get ioprio_set
    set_mempolicy get_mempolicy mbind membarrier sched_setscheduler sched_setparam
    pidfd_open setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid
    setgroups sethostname setdomainname sync syncfs fadvise64 readahead
    name_to_handle_at rseq
""".split())


def child_setup() -> None:
    """In the first tracee, before exec (inherited by all its descendants).

    no_new_privs: a set-id exec would otherwise clear ADDR_NO_RANDOMIZE
    (PER_CLEAR_ON_SETID) and give that program a random layout. Under ptrace
    a set-id exec gains nothing for an unprivileged user anyway; as root, the
    program runs with root's ids, which it had already.
    """
    P.prctl(P.PR_SET_NO_NEW_PRIVS, 1)
    P.personality(P.ADDR_NO_RANDOMIZE)
    try:
        P.prctl(P.PR_SET_TSC, P.PR_TSC_SIGSEGV)
    except OSError:
        pass


class _StackWords:
    """8-byte words of tracee memory, read a page at a time and kept: an exec
    stop walks argc, argv, envp and the auxv (a hundred words, one read each
    before). A failed read raises MemoryReadError for the word asked, as a
    one-word read would (a page is readable or not as a whole)."""

    def __init__(self, t: Tracee) -> None:
        self.t = t
        self.base = 0
        self.words: tuple[int, ...] = ()

    def __call__(self, addr: int) -> int:
        i, r = divmod(addr - self.base, 8)
        if r == 0 and 0 <= i < len(self.words):
            return self.words[i]
        room = 4096 - addr % 4096
        if room < 8:
            return self.t.read_u64(addr)
        self.base = addr
        self.words = struct.unpack(f"<{room // 8}Q", self.t.read(addr, room // 8 * 8))
        return self.words[0]


def auxv_entries(t: Tracee) -> tuple[int, list[tuple[int, int, int]]]:
    """(stack pointer, [(address of the entry, type, value)]) at an exec stop."""
    t.load_regs()
    sp = t.regs.rsp
    word = _StackWords(t)
    argc = word(sp)
    p = sp + 8 * (argc + 2)           # past argc, argv[], NULL
    while word(p) != 0:               # envp[]
        p += 8
    p += 8
    out = []
    for _ in range(64):
        typ, val = word(p), word(p + 8)
        out.append((p, typ, val))
        if typ == AT_NULL:
            break
        p += 16
    return sp, out


def patch_auxv(t: Tracee, time_page: bool = False) -> tuple[int, tuple[int, int] | None]:
    """Take the kernel's vDSO from the new image, at its exec stop: point
    AT_SYSINFO_EHDR at the time page (virt/timepage.py) if `time_page`, or
    hide it (AT_IGNORE). Returns the address of the AT_RANDOM bytes, and
    (the auxv entry, the vDSO) when it points at the time page: the page
    is put in at the execve's exit stop (`install_time_page`), where the
    tracee can make calls."""
    _sp, entries = auxv_entries(t)
    rnd = 0
    where = None
    for addr, typ, val in entries:
        if typ == AT_SYSINFO_EHDR:
            if time_page:
                t.write(addr + 8, struct.pack("<Q", timepage.BASE))
                where = (addr, val)
            else:
                t.write(addr, struct.pack("<Q", AT_IGNORE))
        elif typ == AT_RANDOM:
            rnd = val
    return rnd, where


def install_time_page(t: Tracee, mode: int, where: tuple[int, int],
                      kept: list[tuple[int, bytes]] | None = None, size: int = timepage.SIZE) -> bool:
    """At the execve's exit stop: map the time page in `mode` (`size`: its
    layout's); if it cannot be, hide the vDSO after all (the program has not
    run yet)."""
    entry, vdso = where
    if timepage.install(t, mode, vdso, kept, size):
        return True
    t.write(entry, struct.pack("<QQ", AT_IGNORE, 0))
    return False


def decode_tsc(t: Tracee, siginfo: bytes) -> int:
    """Length of the trapped rdtsc (2) / rdtscp (3) instruction at ip, or 0."""
    if len(siginfo) < 12:
        return 0
    signo, _e, code = struct.unpack_from("<iii", siginfo, 0)
    if signo != SIGSEGV or code != SI_KERNEL:
        return 0
    t.load_regs()
    try:
        insn = t.read(t.regs.rip, 3)
    except Exception:
        return 0
    if insn[:2] == b"\x0f\x31":
        return 2
    if insn == b"\x0f\x01\xf9":
        return 3
    return 0


def apply_tsc(t: Tracee, length: int, value: int) -> None:
    r = t.regs
    r.rax = value & 0xFFFFFFFF
    r.rdx = (value >> 32) & 0xFFFFFFFF
    if length == 3:
        r.rcx = 0  # TSC_AUX: processor id, fixed at 0
    r.rip += length
    t.regs_dirty = True


# --- ELF -----------------------------------------------------------------

def elf_interp(data: bytes) -> tuple[str, int, int] | None:
    """(interpreter path, file offset, size) of PT_INTERP, or None."""
    if data[:4] != b"\x7fELF" or len(data) < 64 or data[4] != 2:
        return None
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(data):
            break
        p_type, = struct.unpack_from("<I", data, off)
        if p_type == 3:  # PT_INTERP
            p_offset, = struct.unpack_from("<Q", data, off + 8)
            p_filesz, = struct.unpack_from("<Q", data, off + 32)
            raw = data[p_offset:p_offset + p_filesz]
            return raw.split(b"\0", 1)[0].decode(errors="replace"), p_offset, p_filesz
    return None


def with_interp(data: bytes, new_interp: str) -> bytes:
    """A copy of an executable whose PT_INTERP names `new_interp` (must fit)."""
    info = elf_interp(data)
    if info is None:
        return data
    _old, off, size = info
    raw = new_interp.encode()
    if len(raw) + 1 > size:
        raise ValueError(f"interpreter path {new_interp!r} does not fit in PT_INTERP ({size} bytes)")
    b = bytearray(data)
    b[off:off + size] = raw.ljust(size, b"\0")
    return bytes(b)


def read_file(path: str, limit: int = 1 << 31) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


def proc_cmdline(tid: int) -> list[str]:
    raw = read_file(f"/proc/{tid}/cmdline") or b""
    return [a.decode(errors="surrogateescape") for a in raw.split(b"\0")[:-1]]


def proc_exe(tid: int) -> str:
    try:
        return os.readlink(f"/proc/{tid}/exe")
    except OSError:
        return ""

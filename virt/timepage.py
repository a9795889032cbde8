"""The time page: a vDSO of our own, so that reading the clock needs no stop.

Why: the kernel's vDSO reads the time stamp counter, which recording traps,
and hiding it makes every clock read a syscall the tracer stops on: Python's
start-up makes two thousand of them (it reads the clock at every lock
acquire), an event loop or a test harness many more. Like rr's syscall
buffer, but for the clock calls alone: the program reads the clock, and the
tracer takes the results at its next stop.

At every exec the tracer maps the page at BASE in the new image and points
AT_SYSINFO_EHDR at it. Its first 4 KiB are a minimal ELF shared object that
exports __vdso_clock_gettime, __vdso_gettimeofday and __vdso_time (the
names C libraries look up; the symbol and dynamic tables are at their
absolute addresses, so the load bias is 0); its code is virt/timepage.S.
Then a header page (the mode, and a table of NSLOTS thread ids), and a
buffer page for each slot (`COUNT`, `HEAD`, then `CAP` entries). A thread
finds its slot by its id (a gettid made at `GETTID_IP`, which the seccomp
filter lets through); the tracer gives a thread a slot when it first reads
the clock through the page (that call stops), and takes it back when the
thread exits, execs, or leaves it empty for a while. Each slot has one
writer, its thread, so threads and a vfork child need no lock.

- Record (mode 1): the call is made at `UNTRACED_IP`, which the seccomp
  filter lets through for these three calls only, and its result appended
  to the thread's slot. The recorder takes the entries at the thread's next
  stop, before that stop's own event, as the events the stops would have
  made.
- Replay (mode 2): the replayer puts the thread's next recorded entries in
  a slot of its own before it runs on; the code takes each if it is the same
  call (number, clock, pointer) and writes the recorded bytes where the
  kernel wrote them. Anything else (no slot, an empty buffer, another call)
  is made as a syscall the tracer stops on, and is checked against the
  trace as usual.
- Any other mode: every call is such a syscall.

File I/O (version 3): the recorder rewrites a call site of read, write,
pread64, lseek, fstat, close or readlink (glibc's `syscall; cmp $-4096,%rax`, SITES) at the
first call made there, while its process has one thread, into a jump to a
stub of its own (STUBS) that calls the page's I/O code and jumps back; the
call that was stopped at returns into the stub, and replay rewrites the
site at the same event (PATCHED). That code makes the call without a stop
when its fd is marked in the header's fd table, which the recorder keeps:
a regular file not of /proc or /sys (FILE), or a pipe while its process has
one thread and no shared memory (PIPE: the call may block, and nothing else
waits for that process's turn), set at open, pipe and exec, copied at dup,
cleared at close (the page's own close clears it too). The bytes the call
wrote (a write's first PREVIEW bytes) go in the slot's data area; replay
puts them there, and the code takes an entry if it is the same call (number
and argument words, a write's first bytes). A signal that cuts a call short
in the page has the recorder make it again with a stop (Recorder._io_again).
readlink has no fd: it is made without a stop when its path is absolute
and does not start with /proc (the VEE answers /proc/self and translates
/proc/<pid>); its path goes in the data area before the bytes it wrote, and
replay compares it. From version 4, newfstatat of a path (stat, lstat,
fstatat) is made without a stop too when the path does not start with
/proc: the VEE does nothing else with any other path (a relative one
included), so the call gives what it would give with a stop. Its path, then
its struct stat, go in the data area, its entry's number has bit 31 set
(STAT_PATH: the form taken, for the recorder and replay), and replay
compares the path. A call on any other fd
is made with a stop from the page, at `TRACED_IPS`, where the thread is at
a syscall like any other (`in_code`).

Only clocks 0-11 are buffered: a negative clock id names a process or a
file. Every way out of the code leaves the same registers (the result in
rax, the other call-clobbered registers zero), so a preemption point after
the call finds the same registers in record and replay.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virt.tracer import Tracee

BASE = 0x70000000
VERSION = 5  # the trace header's `time_page` (2: the clock calls alone; 3: no newfstatat of a path;
# 4: data areas of 256 KiB)
NSLOTS = 8
# The image, the header page, a buffer page per slot; from version 3 a data
# area per slot after them (1 MiB from version 5: a run of reads of a file
# or a pipe without a stop stops once a MiB, for the call that does not fit).
DATA, DSIZE = 0x10000, 0x100000
SIZE = DATA + NSLOTS * DSIZE
SIZE_V2 = 4096 * (2 + NSLOTS)
HEADER = BASE + 4096
CODE_OFF = 512
# Layout (virt/timepage.S): the header page holds the mode and the slot table
# (the thread id each slot is given to); a slot's page its count, head, entries.
MODE, TABLE, FDTAB, CELLS = 0, 64, 1024, 2048
FDMAX = 1024  # the fd table's bytes: fds at or above it are not buffered
COUNT, HEAD, DUSED, DHEAD, ENTRIES = 4, 8, 12, 16, 64
ESIZE, CAP = 40, 100
MODE_RECORD, MODE_REPLAY = 1, 2  # any other mode: every call stops
ENTRY = struct.Struct("<IIQqQQ")  # nr, clock, pointer, result, w0, w1
SLOT_HEAD = struct.Struct("<IIIII")  # (unused), count, head, data used, data taken

CLOCK_GETTIME, GETTIMEOFDAY, TIME, GETTID = 228, 96, 201, 186
NRS = (CLOCK_GETTIME, GETTIMEOFDAY, TIME)
READ, WRITE, CLOSE, FSTAT, LSEEK, PREAD64, READLINK, NEWFSTATAT = 0, 1, 3, 5, 8, 17, 89, 262
STAT_PATH = NEWFSTATAT | 0x80000000  # an entry's number: newfstatat of a path (its path kept before its bytes)
IO_NRS = (READ, WRITE, CLOSE, FSTAT, LSEEK, PREAD64, READLINK, NEWFSTATAT)
STAT_SIZE = 144
FILE, PIPE = 1, 2  # the fd kinds the recorder marks (Slots.io)
LINKPATH = 256  # the longest path (NUL included) a buffered readlink or newfstatat takes
PREVIEW = 32  # the first bytes of a buffered write that the trace keeps (as for a write with a stop)

# gcc -c virt/timepage.S && objcopy -O binary -j .text (tests/test_timepage.py)
CODE = bytes.fromhex(
    "89ffb8e400000089fa4989f283ff0b0f875a010000eb49660f1f840000000000b86000000031"
    "d24989fa4885f60f853c010000eb2b66662e0f1f840000000000b8c900000031d24989faeb14"
    "66662e0f1f840000000000660f1f840000000000448b05990d00004183f801740a4183f8020f"
    "85f80000004189c1b8ba0000000f05488d0db80d00004531db42390499741141ffc34183fb08"
    "72f14489c8e9cd00000049c1e30c4c8d05531d00004d01d84489c8833d460d00000175564183"
    "7804640f83a80000000f05418b48044c6bd9284b8d4c18404489098951044c89510848894110"
    "4181f9c9000000741b4885c0751a4d85d274154d8b1a4c8959184d8b5a084c895920eb044889"
    "411841ff4004eb65418b4808413b480473534c6bd9284f8d5c1840413903754541395304753f"
    "4d395308753941ff4008498b43104d85d2743441813bc900000074164885c07526498b4b1849"
    "890a498b4b2049894a08eb15483d01f0ffff730d498902eb084531c04531c90f0531c931d231"
    "f631ff4531c04531c94531d24531dbc353415441554156565789c3448b25620c00004183fc01"
    "740a4183fc020f85e80300004531f683fb5975384885ff0f84d7030000803f2f0f85ce030000"
    "4989fbe83803000085c90f84be0300004881fa000010000f87b10300004c8d340ae9c4000000"
    "81fb0601000075434885f60f8497030000803e0074204989f3e8fc02000085c90f8482030000"
    "4c8db1900000000fbaeb1fe98e00000041f7c2001000000f846503000041be90000000eb4e83"
    "fb110f875403000041bc2b010200410fa3dc0f834403000083fb05750641be9000000083fb03"
    "742583fb08742083fb05741b41be2000000083fb0174104989d64981fe000010000f870f0300"
    "0081ff000400000f8303030000833d660b00000175164189fc4c8d2d5a0f000043807c250000"
    "0f84e4020000b8ba0000000f05488d0d800b00004531db42390499740e41ffc34183fb0872f1"
    "e9bf0200004d89dd49c1e514488d0d1bfb00004901cd49c1e30c4c8d250d1b00004d01dc833d"
    "030b0000010f859500000041837c2404640f8387020000418b4c240c4c01f14881f900001000"
    "0f877202000083fb03750e89f94c8d1dce0e000041c6040b0089d80fbaf01f0f05418b4c2404"
    "4c6bd9284f8d5c1c4041891b41897b044989730849894310498953184d89532041ff44240483"
    "fb590f84c50000000fbae31f0f82e1000000e8c1010000418b7c240c41014c240c4c01ef4c89"
    "def3a4e9ef010000418b4c2408413b4c24040f83ee0100004c6bd9284f8d5c1c4041391b0f85"
    "dc01000041397b040f85d2010000493973080f85c8010000493953180f85be0100004c89d183"
    "fb5975034889f949394b200f85a901000083fb590f84a40000000fbae31f0f82c0000000498b"
    "4310e8390100004989ce418b7424104c01ee4c89df83fb01750af3a60f8572010000eb02f3a4"
    "450174241041ff442408e95001000049897b204889fe4c89f14829d14989c6e83f0000004d85"
    "f67e0a4c89f1488b742408f3a4eb1e498d8e70ffffff4989c6e81f0000004d85f6750ab99000"
    "00004889d6f3a44c29ef41897c240c4c89f0e9fc000000418b7c240c4c01eff3a4c647ff00c3"
    "4c89f14829d14d8b7310e8540000000f85e70000004d85f67e0a4c89f1488b7c2408f3a4eb28"
    "498d8e70ffffff4d8b73104889f7e82a0000000f85bd0000004d85f6750ab9900000004889d7"
    "f3a44c29ee418974241041ff4424084c89f0e98a000000418b7424104c01eef3a6c331c94180"
    "3b2f751c41807b0170751541807b0272750e41807b036f750741807b0463741341803c0b0048"
    "8d4901740a81f90001000072ed31c9c331c94989f381fb0601000075054989d3eb2883fb0574"
    "2383fb03742883fb0874234885c07e1e4889c183fb0175164883f9207610b920000000c34885"
    "c07505b990000000c35f5e415e415d415c5b31c94531dbc389d80fbaf01f5f5e415e415d415c"
    "5b0f0531c94531dbc3")
SYMBOLS = (("__vdso_clock_gettime", 0x00), ("__vdso_gettimeofday", 0x20), ("__vdso_time", 0x40))
GETTID_END = 0x81    # the instruction after the gettid that finds the thread's slot
UNTRACED_END = 0xC9  # the instruction after the record path's syscall
TRACED_END = 0x177   # after the syscall made when the call is not buffered
IO_ENTRY = 0x18C     # the I/O calls' code (from a call site's stub)
IO_GETTID_END, IO_UNTRACED_END, IO_TRACED_END = 0x2B9, 0x33F, 0x5A7
# What seccomp sees as the instruction pointer of those calls.
GETTID_IP = BASE + CODE_OFF + GETTID_END
UNTRACED_IP = BASE + CODE_OFF + UNTRACED_END
IO_GETTID_IP = BASE + CODE_OFF + IO_GETTID_END
IO_UNTRACED_IP = BASE + CODE_OFF + IO_UNTRACED_END
TRACED_IPS = (BASE + CODE_OFF + TRACED_END, BASE + CODE_OFF + IO_TRACED_END)

# Call sites: `syscall; cmp $-4096,%rax` (glibc's wrappers of the I/O calls;
# `cmp $-4095,%rax` in readlink's, `cmp $-4096,%eax` where they return an int) becomes `jmp *cell`, a nop
# after it if there is room; the cell holds the address of the site's stub
# (STUBS in the first page), which makes the same cmp and jumps back
# through a second cell.
SITES = (bytes.fromhex("0f05483d00f0ffff"), bytes.fromhex("0f05483d01f0ffff"), bytes.fromhex("0f053d00f0ffff"))
STUBS, STUB_SIZE, NSTUBS = 2048, 64, 32
STUB_RESUME = 22  # the stub's `cmp`: where the call that rewrote the site returns


def holds(addr: int) -> bool:
    """addr lies in the time page (a thread whose rip does is inside its code)."""
    return BASE <= addr < BASE + SIZE


def in_code(addr: int) -> bool:
    """A thread at addr is inside the page's code, not at one of its
    syscalls that the tracer stops on (which is a syscall like any other)."""
    return BASE <= addr < BASE + SIZE and addr not in TRACED_IPS


def slot_page(slot: int) -> int:
    """The address of a slot's buffer page."""
    return HEADER + 4096 * (1 + slot)


def slot_data(slot: int) -> int:
    """The address of a slot's data area (the bytes its I/O calls read)."""
    return BASE + DATA + slot * DSIZE


def io_span(nr: int, a1: int, a2: int, result: int) -> tuple[int, int]:
    """(address, length) of the bytes a buffered I/O call keeps in the data
    area: read's and pread64's result bytes, fstat's and newfstatat's
    struct stat, the first PREVIEW bytes write wrote."""
    if nr in (READ, PREAD64):
        return a1, max(result, 0)
    if nr == WRITE:
        return a1, min(max(result, 0), PREVIEW)
    if nr == FSTAT:
        return a1, STAT_SIZE if result == 0 else 0
    if nr == NEWFSTATAT:
        return a2, STAT_SIZE if result == 0 else 0
    return 0, 0


def site_kind(code: bytes) -> bytes | None:
    """The call site pattern the bytes at a syscall instruction start with."""
    for pattern in SITES:
        if code.startswith(pattern):
            return pattern
    return None


def path_parts(data: bytes, at: int, nr: int, result: int) -> tuple[bytes, bytes]:
    """A buffered readlink's or newfstatat-of-a-path's bytes in a data area
    from `at`: its path (NUL included), then what it wrote."""
    end = data.index(b"\0", at) + 1
    n = max(result, 0) if nr == READLINK else (STAT_SIZE if result == 0 else 0)
    return data[at:end], data[end:end + n]


def page_path(path: bytes) -> bool:
    """Whether the page's code takes a call on `path` (the bytes before its
    NUL) without a stop: not of /proc, and shorter than LINKPATH."""
    return bool(path) and not path.startswith(b"/proc") and len(path) < LINKPATH


def stub(k: int, site: int, pattern: bytes) -> bytes:
    """The code of stub k, for a call site at `site` (virt/timepage.S)."""
    at = BASE + STUBS + k * STUB_SIZE
    call = BASE + CODE_OFF + IO_ENTRY - (at + 10)
    code = (b"\x48\x8d\x64\x24\x80" + b"\xe8" + struct.pack("<i", call)  # lea -128(%rsp),%rsp; call
            + b"\x48\x8d\xa4\x24\x80\x00\x00\x00" + b"\xeb\x02" + b"\x0f\x05"  # lea 128(%rsp),%rsp; jmp; syscall
            + pattern[2:] + b"\xff\x24\x25" + struct.pack("<I", HEADER + CELLS + 16 * k + 8))  # cmp; jmp *back
    return code.ljust(STUB_SIZE, b"\xcc")


def patch(t: Tracee, k: int, site: int, pattern: bytes) -> int:
    """Rewrite the call site at `site` (t stopped at the entry of a call
    made there, rip = site + 2) to go through stub k. Returns where that
    call must return to: the stub's cmp, since the bytes after the syscall
    instruction are now the middle of a jump."""
    cell = HEADER + CELLS + 16 * k
    t.write(BASE + STUBS + k * STUB_SIZE, stub(k, site, pattern))
    t.write(cell, struct.pack("<QQ", BASE + STUBS + k * STUB_SIZE, site + len(pattern)))
    t.write(site, (b"\xff\x24\x25" + struct.pack("<I", cell)).ljust(len(pattern), b"\x90"))
    return BASE + STUBS + k * STUB_SIZE + STUB_RESUME


SONAME = "linux-vdso.so.1"

# ELF constants
_PT_LOAD, _PT_DYNAMIC = 1, 2
_PF_X, _PF_R = 1, 4
_DT = {"NULL": 0, "HASH": 4, "STRTAB": 5, "SYMTAB": 6, "STRSZ": 10, "SYMENT": 11, "SONAME": 14}
_SHN_ABS = 0xFFF1
_STB_GLOBAL_FUNC = 0x12
# Offsets within the first page
_PHOFF, _DYNOFF, _HASHOFF, _SYMOFF, _STROFF = 64, 176, 288, 320, 416


def image() -> bytes:
    """The first page: ELF header, program headers, dynamic section, hash,
    symbols, strings, code; every address absolute (the page sits at BASE)."""
    strtab = b"\0"
    names = []
    for name, _ in SYMBOLS:
        names.append(len(strtab))
        strtab += name.encode() + b"\0"
    soname = len(strtab)
    strtab += SONAME.encode() + b"\0"
    nsyms = len(SYMBOLS) + 1
    syms = bytes(24) + b"".join(
        struct.pack("<IBBHQQ", names[i], _STB_GLOBAL_FUNC, 0, _SHN_ABS, BASE + CODE_OFF + off, 16)
        for i, (_, off) in enumerate(SYMBOLS))
    # SysV hash with one bucket: the chain walks every symbol.
    chain = [0] + [i + 1 for i in range(1, nsyms - 1)] + [0]
    hashtab = struct.pack(f"<III{nsyms}I", 1, nsyms, 1, *chain)
    dyn = b"".join(struct.pack("<qQ", _DT[k], v) for k, v in (
        ("HASH", BASE + _HASHOFF), ("STRTAB", BASE + _STROFF), ("SYMTAB", BASE + _SYMOFF),
        ("STRSZ", len(strtab)), ("SYMENT", 24), ("SONAME", soname), ("NULL", 0)))
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, current
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, _PHOFF, 0, 0, 64, 56, 2, 64, 0, 0)
    phdrs = (struct.pack("<IIQQQQQQ", _PT_LOAD, _PF_R | _PF_X, 0, BASE, BASE, 4096, 4096, 4096)
             + struct.pack("<IIQQQQQQ", _PT_DYNAMIC, _PF_R, _DYNOFF, BASE + _DYNOFF,
                           BASE + _DYNOFF, len(dyn), len(dyn), 8))
    page = bytearray(4096)
    for off, part, room in ((0, ehdr, _PHOFF), (_PHOFF, phdrs, _DYNOFF), (_DYNOFF, dyn, _HASHOFF),
                            (_HASHOFF, hashtab, _SYMOFF), (_SYMOFF, syms, _STROFF),
                            (_STROFF, strtab, CODE_OFF), (CODE_OFF, CODE, 4096)):
        assert off + len(part) <= room, "time page layout overflow"
        page[off:off + len(part)] = part
    return bytes(page)


IMAGE = image()


def entries(raw: bytes, count: int) -> list[tuple[int, int, int, int, int, int]]:
    """The first `count` entries of the buffer bytes `raw` (from ENTRIES on)."""
    return [ENTRY.unpack_from(raw, i * ESIZE) for i in range(count)]


def written(nr: int, pointer: int, result: int, w0: int, w1: int) -> tuple[tuple[int, bytes], ...]:
    """The memory the call wrote: a timespec or timeval, or time's value."""
    if not pointer:
        return ()
    if nr == TIME:
        return ((pointer, struct.pack("<q", result)),) if not -4096 < result < 0 else ()
    return ((pointer, struct.pack("<QQ", w0, w1)),) if result == 0 else ()


# -- putting the page in a new image -------------------------------------------------
_MMAP, _MPROTECT = 9, 10
_PROT_R, _PROT_W, _PROT_X = 1, 2, 4
_MAP_PRIVATE_ANON_FIXED_NOREPLACE = 0x02 | 0x20 | 0x100000
_syscall_at: dict[int, int] = {}  # address of the hidden vDSO -> a syscall instruction in it


def install(t: Tracee, mode: int, vdso: int,
            kept: list[tuple[int, bytes]] | None = None, size: int = SIZE) -> bool:
    """Map the page in `t`, stopped at its execve's exit stop, in `mode`.

    The calls are made from a `syscall` instruction of the kernel's vDSO
    (mapped still, though hidden from the program); `t`'s registers are put
    back after. False if the page could not be mapped (the program has
    something at BASE, or no vDSO to borrow an instruction from): the
    caller hides the vDSO instead. Signals that arrive meanwhile go to `kept`.
    """
    from virt import inject as I
    from virt import ptrace_api as P

    sysc = _syscall_at.get(vdso)
    if sysc is None:
        try:
            code = t.read(vdso, 8192)
        except OSError:
            return False
        at = code.find(b"\x0f\x05")
        if at < 0:
            return False
        sysc = _syscall_at[vdso] = vdso + at
    saved = P.Regs.from_buffer_copy(bytes(t.load_regs()))
    r = P.Regs.from_buffer_copy(bytes(saved))
    r.rip = sysc + 2  # inject() runs the instruction before rip
    try:
        got, _ = I.inject(t.tid, r, _MMAP, (BASE, size, _PROT_R | _PROT_W,
                                            _MAP_PRIVATE_ANON_FIXED_NOREPLACE, -1, 0),
                          at_seccomp_stop=False, kept=kept)
        if got != BASE:
            return False
        t.write(BASE, IMAGE)
        t.write(HEADER + MODE, struct.pack("<I", mode))  # the rest is zero: no slot given
        got, _ = I.inject(t.tid, r, _MPROTECT, (BASE, 4096, _PROT_R | _PROT_X),
                          at_seccomp_stop=False, kept=kept)
        return got == 0
    finally:
        P.setregs(t.tid, saved)


class Slots:
    """Which processes have a page, and which thread holds which buffer slot
    of it: the tracer's copy of each page's slot table, kept in step with
    the page.

    A slot is given at a stop of the thread (the page's code finds it from
    the thread's next call on) and taken back at its stops, at its exit, or
    with its image (exec, exit of the process). Record and replay each keep
    their own: replay's slots need not be the recording's.
    """

    def __init__(self) -> None:
        self.tables: dict[int, list[int]] = {}     # tgid -> NSLOTS tids (0: free)
        self.of: dict[int, int] = {}               # tid -> its slot
        # Slots out of the page's table but not yet read once more: the
        # thread may have been inside the page's code, past the table.
        self.closing: set[int] = set()
        # Call sites: tgid -> stubs used; the sites found not to be rewritable.
        self.stubs: dict[int, int] = {}
        self.no_site: dict[int, set[int]] = {}
        # tgid -> the fds its page's fd table marks, and their kind
        # (recording keeps it): FILE, or PIPE (which may block).
        self.io: dict[int, dict[int, int]] = {}

    def has_page(self, tgid: int) -> bool:
        return tgid in self.tables

    def new_image(self, tgid: int) -> None:
        """A page just put in (all slots free)."""
        self.forget(tgid)
        self.tables[tgid] = [0] * NSLOTS
        self.stubs[tgid] = 0
        self.no_site[tgid] = set()
        self.io[tgid] = {}

    def forget(self, tgid: int) -> None:
        table = self.tables.pop(tgid, None)
        for tid in table or ():
            self.of.pop(tid, None)
        self.stubs.pop(tgid, None)
        self.no_site.pop(tgid, None)
        self.io.pop(tgid, None)

    def copy(self, child: Tracee, parent: int) -> None:
        """A forked child has a copy of the page: none of its slots is its;
        its stubs, and its fd table, are copies of the parent's."""
        self.new_image(child.tgid)
        self.stubs[child.tgid] = self.stubs.get(parent, 0)
        self.no_site[child.tgid] = set(self.no_site.get(parent, ()))
        self.io[child.tgid] = dict(self.io.get(parent, {}))
        try:
            child.write(HEADER + TABLE, bytes(4 * NSLOTS))
        except OSError:
            self.forget(child.tgid)

    def moved(self, moved: dict[int, int]) -> None:
        """Live replay restored a checkpoint: the same tasks under new real ids."""
        def m(x: int) -> int:
            return moved.get(x, x)
        self.tables = {m(g): [m(tid) if tid else 0 for tid in v] for g, v in self.tables.items()}
        self.of = {m(tid): v for tid, v in self.of.items()}
        self.closing = {m(tid) for tid in self.closing}
        self.stubs = {m(g): v for g, v in self.stubs.items()}
        self.no_site = {m(g): v for g, v in self.no_site.items()}
        self.io = {m(g): v for g, v in self.io.items()}

    def rewrite(self, t: Tracee) -> bytes | None:
        """Rewrite the call site t is stopped at (rip = site + 2) to go
        through its process's next stub, and set t's rip to where the call
        returns (patch). None once done; else the site is left as it is, and
        the bytes found there are returned (not a known pattern, or no stub
        left; b"": unreadable). OSError if they could not be written."""
        from virt.memory import MemoryReadError

        site = t.regs.rip - 2
        k = self.stubs.get(t.tgid)
        try:
            code = t.read(site, len(SITES[0]))
        except (OSError, MemoryReadError):
            return b""
        pattern = site_kind(code)
        if k is None or k >= NSTUBS or pattern is None:
            return code
        t.regs.rip = patch(t, k, site, pattern)
        t.regs_dirty = True
        self.stubs[t.tgid] = k + 1
        return None

    def mark(self, t: Tracee, fd: int, kind: int) -> None:
        """Set (kind FILE or PIPE) or clear (0) fd's byte in the fd table of
        t's page (recording)."""
        fds = self.io.get(t.tgid)
        if fds is None or not 0 <= fd < FDMAX or fds.get(fd, 0) == kind:
            return
        try:
            t.write(HEADER + FDTAB + fd, b"\1" if kind else b"\0")
        except OSError:
            return
        if kind:
            fds[fd] = kind
        else:
            fds.pop(fd, None)

    def give(self, t: Tracee) -> int | None:
        """A free slot of t's page for t, emptied; None if all are taken."""
        table = self.tables.get(t.tgid)
        if table is None or 0 not in table:
            return None
        slot = table.index(0)
        try:
            t.write(slot_page(slot) + COUNT, bytes(8))
            t.write(HEADER + TABLE + 4 * slot, struct.pack("<I", t.tid))
        except OSError:
            return None
        table[slot] = t.tid
        self.of[t.tid] = slot
        return slot

    def close(self, t: Tracee) -> None:
        """Out of the table, so t's next call stops; the slot stays t's
        until the tracer has read it once more (then take_back)."""
        slot = self.of.get(t.tid)
        if slot is None:
            return
        self.closing.add(t.tid)
        try:
            t.write(HEADER + TABLE + 4 * slot, bytes(4))
        except OSError:
            pass

    def take_back(self, t: Tracee, *, in_memory: bool = True) -> None:
        self.closing.discard(t.tid)
        slot = self.of.pop(t.tid, None)
        table = self.tables.get(t.tgid)
        if slot is None or table is None:
            return
        table[slot] = 0
        if in_memory:
            try:
                t.write(HEADER + TABLE + 4 * slot, bytes(4))
            except OSError:
                pass  # its process is gone

"""The time page: a vDSO of our own, so that reading the clock needs no stop.

Why: the kernel's vDSO reads the time stamp counter, which recording traps,
and hiding it makes every clock read a syscall the tracer stops on: Python's
start-up makes two thousand of them (it reads the clock at every lock
acquire), an event loop or a test harness many more. Like rr's syscall
buffer, but for the clock calls alone: the program reads the clock, and the
tracer takes the results at its next stop.

At every exec the tracer maps two pages at BASE in the new image and points
AT_SYSINFO_EHDR at them. The first is a minimal ELF shared object that
exports __vdso_clock_gettime, __vdso_gettimeofday and __vdso_time (the
names C libraries look up; the symbol and dynamic tables are at their
absolute addresses, so the load bias is 0); its code is virt/timepage.S.
The second is the buffer (`MODE`, `COUNT`, `HEAD`, then `CAP` entries).

- Record (mode 1): the call is made at `UNTRACED_IP`, which the seccomp
  filter lets through for these three calls only, and its result appended.
  The recorder takes the entries at the thread's next stop, before that
  stop's own event, as the events the stops would have made.
- Replay (mode 2): the replayer puts the thread's next recorded entries in
  the buffer before it runs on; the code takes each if it is the same call
  (number, clock, pointer) and writes the recorded bytes where the kernel
  wrote them. Anything else (an empty buffer, another call) is made as a
  syscall the tracer stops on, and is checked against the trace as usual.
- Any other mode: every call is such a syscall.

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
SIZE = 8192
DATA = BASE + 4096
CODE_OFF = 512
# Data page layout (virt/timepage.S).
MODE, COUNT, HEAD, ENTRIES = 0, 4, 8, 64
ESIZE, CAP = 40, 100
MODE_OFF, MODE_RECORD, MODE_REPLAY = 0, 1, 2
ENTRY = struct.Struct("<IIQqQQ")  # nr, clock, pointer, result, w0, w1
HEADER = struct.Struct("<III")     # mode, count, head

CLOCK_GETTIME, GETTIMEOFDAY, TIME = 228, 96, 201
NRS = (CLOCK_GETTIME, GETTIMEOFDAY, TIME)

# gcc -c virt/timepage.S && objcopy -O binary -j .text (tests/test_timepage.py)
CODE = bytes.fromhex(
    "89ffb8e400000089fa4989f283ff0b0f872f010000eb49660f1f840000000000b86000000031"
    "d24989fa4885f60f8511010000eb2b66662e0f1f840000000000b8c900000031d24989faeb14"
    "66662e0f1f840000000000660f1f840000000000448b05990d00004183f8017566448b05900d"
    "00004183f8640f83c60000004189c10f05496bc8284c8d1db20d00004c01d94489098951044c"
    "895108488941104181f9c9000000741b4885c0751a4d85d274154d8b1a4c8959184d8b5a084c"
    "895920eb044889411841ffc0448905330d0000eb794183f802756b448b05280d0000443b051d"
    "0d0000735b496bc8284c8d1d4c0d00004c01d93901754939510475444c395108753e41ffc044"
    "8905f80c0000488b41104d85d274338139c900000074164885c075264c8b59184d891a4c8b59"
    "204d895a08eb15483d01f0ffff730d498902eb084531c04531c90f0531c931d231f631ff4531"
    "c04531c94531d24531dbc3")
SYMBOLS = (("__vdso_clock_gettime", 0x00), ("__vdso_gettimeofday", 0x20), ("__vdso_time", 0x40))
UNTRACED_END = 0x83  # the instruction after the record path's syscall
UNTRACED_IP = BASE + CODE_OFF + UNTRACED_END  # what seccomp sees as its instruction pointer
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
            kept: list[tuple[int, bytes]] | None = None) -> bool:
    """Map the page in `t`, stopped at its exec event, in `mode`.

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
        got, _ = I.inject(t.tid, r, _MMAP, (BASE, SIZE, _PROT_R | _PROT_W,
                                            _MAP_PRIVATE_ANON_FIXED_NOREPLACE, -1, 0),
                          at_seccomp_stop=False, kept=kept)
        if got != BASE:
            return False
        t.write(BASE, IMAGE)
        t.write(DATA, HEADER.pack(mode, 0, 0))
        got, _ = I.inject(t.tid, r, _MPROTECT, (BASE, 4096, _PROT_R | _PROT_X),
                          at_seccomp_stop=False, kept=kept)
        return got == 0
    finally:
        P.setregs(t.tid, saved)

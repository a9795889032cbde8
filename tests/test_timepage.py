"""The time page (virt/timepage.py): clock reads recorded without a stop.

The page's code and image are checked against their source and the ELF
rules the C libraries follow; the seccomp filter is run on sample calls.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from virt import seccomp
from virt import timepage as TP

pytestmark = pytest.mark.timeout(120)
CLOCKS = {TP.CLOCK_GETTIME: "clock_gettime", TP.GETTIMEOFDAY: "gettimeofday", TP.TIME: "time"}


# -- the page itself -------------------------------------------------------------------


@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("objcopy") and shutil.which("nm")),
                    reason="gcc and binutils are not installed")
def test_the_code_is_what_its_source_assembles_to(tmp_path: Path) -> None:
    obj = tmp_path / "timepage.o"
    subprocess.run(["gcc", "-c", "-o", str(obj), str(ROOT / "virt" / "timepage.S")], check=True)
    raw = tmp_path / "timepage.bin"
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    assert raw.read_bytes() == TP.CODE
    syms = dict((line.split()[2], int(line.split()[0], 16)) for line in
                subprocess.run(["nm", str(obj)], check=True, capture_output=True, text=True).stdout.splitlines())
    assert [(name, syms[name.removeprefix("__vdso_") + "_entry"]) for name, _ in TP.SYMBOLS] == list(TP.SYMBOLS)
    assert syms["untraced_end"] == TP.UNTRACED_END
    assert syms["data"] == 4096 - TP.CODE_OFF  # the data page follows the code page
    assert TP.CODE[TP.UNTRACED_END - 2:TP.UNTRACED_END] == b"\x0f\x05"


def test_the_image_is_a_shared_object_that_exports_the_clock_calls() -> None:
    img = TP.IMAGE
    assert len(img) == 4096 and img[:4] == b"\x7fELF" and img[4:6] == b"\x02\x01"
    e_type, machine = struct.unpack_from("<HH", img, 16)
    phoff, = struct.unpack_from("<Q", img, 32)
    phentsize, phnum = struct.unpack_from("<HH", img, 54)
    assert (e_type, machine, phentsize, phnum) == (3, 62, 56, 2)
    phdrs = [struct.unpack_from("<IIQQQQQQ", img, phoff + i * 56) for i in range(phnum)]
    load = next(p for p in phdrs if p[0] == 1)
    dyn = next(p for p in phdrs if p[0] == 2)
    assert load[3] == TP.BASE and load[2] == 0  # vaddr == where it sits: a load bias of 0
    tags = {}
    for i in range(dyn[5] // 16):
        tag, val = struct.unpack_from("<qQ", img, dyn[2] + i * 16)
        if tag == 0:
            break
        tags[tag] = val
    strtab, symtab, hashtab = (tags[k] - TP.BASE for k in (5, 6, 4))
    nbucket, nchain = struct.unpack_from("<II", img, hashtab)
    bucket = struct.unpack_from(f"<{nbucket}I", img, hashtab + 8)
    chain = struct.unpack_from(f"<{nchain}I", img, hashtab + 8 + 4 * nbucket)

    def name(off: int) -> str:
        return img[strtab + off:img.index(b"\0", strtab + off)].decode()

    found = {}
    i = bucket[0]
    while i:  # the walk a lookup does
        st_name, info, _other, shndx, value, _size = struct.unpack_from("<IBBHQQ", img, symtab + 24 * i)
        assert info == 0x12 and shndx != 0  # global functions, defined
        found[name(st_name)] = value
        i = chain[i]
    assert found == {n: TP.BASE + TP.CODE_OFF + off for n, off in TP.SYMBOLS}
    assert name(tags[14]) == TP.SONAME
    assert img[TP.CODE_OFF:TP.CODE_OFF + len(TP.CODE)] == TP.CODE


def _run_bpf(prog: bytes, nr: int, ip: int) -> int:
    """The classic-BPF subset build_filter emits, on one seccomp_data."""
    data = struct.pack("<iIQ", nr, seccomp.AUDIT_ARCH_X86_64, ip) + bytes(48)
    ins = [struct.unpack_from("=HBBI", prog, i) for i in range(0, len(prog), 8)]
    pc = a = 0
    while True:
        code, jt, jf, k = ins[pc]
        if code == seccomp.BPF_LD_W_ABS:
            a = struct.unpack_from("<I", data, k)[0]
        elif code == seccomp.BPF_JEQ_K:
            pc += jt if a == k else jf
        elif code == seccomp.BPF_JGE_K:
            pc += jt if a >= k else jf
        elif code == seccomp.BPF_JA:
            pc += k
        elif code == seccomp.BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")
        pc += 1


def test_the_filter_lets_the_clock_calls_through_only_from_the_record_path() -> None:
    prog = seccomp.build_filter({1, TP.CLOCK_GETTIME, TP.GETTIMEOFDAY, TP.TIME, 39}, {334},
                                [(TP.UNTRACED_IP, TP.NRS)])
    for nr in TP.NRS:
        assert _run_bpf(prog, nr, TP.UNTRACED_IP) == seccomp.RET_ALLOW
        assert _run_bpf(prog, nr, TP.UNTRACED_IP + 2) == seccomp.RET_TRACE  # its traced path
        assert _run_bpf(prog, nr, TP.UNTRACED_IP + (1 << 32)) == seccomp.RET_TRACE  # same low word
        assert _run_bpf(prog, nr, 0x7FFFF7DE0000) == seccomp.RET_TRACE  # libc's own syscall
    assert _run_bpf(prog, 39, TP.UNTRACED_IP) == seccomp.RET_TRACE  # another call from there
    assert _run_bpf(prog, 1, TP.UNTRACED_IP) == seccomp.RET_TRACE
    assert _run_bpf(prog, 334, TP.UNTRACED_IP) == seccomp.RET_ERRNO | 38
    assert _run_bpf(prog, 0, TP.UNTRACED_IP) == seccomp.RET_ALLOW  # not traced at all
    assert seccomp.build_filter({1}, (), ()) == seccomp.build_filter({1})

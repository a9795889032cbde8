"""The time page (virt/timepage.py): clock reads recorded without a stop.

The page's code and image are checked against their source and the ELF
rules the C libraries follow; the seccomp filter is run on sample calls; then
real programs read the clock through it under record and replay: every kind
of call, a burst longer than a slot's buffer, a fork, a vfork, a thread, more
threads than slots, a signal awaited in a loop of clock reads, programs that
read the clock more or less often than the trace says, a live replay that
stops at such a read, and the TUI's word for it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scribe import exitcodes
from scribe.recorder import Recorder
from tests.conftest import ROOT, scribe_cmd
from traces import Input, Signal, Spawn, Syscall, TraceReader
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
    assert (syms["untraced_end"], syms["gettid_end"]) == (TP.UNTRACED_END, TP.GETTID_END)
    assert syms["header"] == TP.HEADER - TP.BASE - TP.CODE_OFF  # the header page follows the code page
    assert syms["slots"] == TP.slot_page(0) - TP.BASE - TP.CODE_OFF
    assert (syms["done"], syms["io_entry"], syms["io_gettid_end"], syms["io_untraced_end"], syms["io_traced_end"]) \
        == (TP.TRACED_END, TP.IO_ENTRY, TP.IO_GETTID_END, TP.IO_UNTRACED_END, TP.IO_TRACED_END)
    assert syms["fdtab"] == TP.HEADER + TP.FDTAB - TP.BASE - TP.CODE_OFF
    assert syms["data"] == TP.slot_data(0) - TP.BASE - TP.CODE_OFF
    assert TP.CODE_OFF + len(TP.CODE) <= TP.STUBS  # the stubs' room in the first page is free
    for end in (TP.UNTRACED_END, TP.GETTID_END, TP.TRACED_END, TP.IO_GETTID_END, TP.IO_UNTRACED_END,
                TP.IO_TRACED_END):
        assert TP.CODE[end - 2:end] == b"\x0f\x05"


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


def test_the_filter_lets_the_io_calls_through_only_from_the_io_record_path() -> None:
    rec = Recorder.allow_at.__get__(type("R", (), {"time_page": True})())  # the recorder's list
    prog = seccomp.build_filter({1, 39, 186, *TP.NRS, *TP.IO_NRS}, (), rec())
    for nr in TP.IO_NRS:
        assert _run_bpf(prog, nr, TP.IO_UNTRACED_IP) == seccomp.RET_ALLOW
        assert _run_bpf(prog, nr, TP.UNTRACED_IP) == seccomp.RET_TRACE  # the clock calls' address
        assert _run_bpf(prog, nr, TP.TRACED_IPS[1]) == seccomp.RET_TRACE  # its path with a stop
    for nr in (39, *TP.NRS):
        assert _run_bpf(prog, nr, TP.IO_UNTRACED_IP) == seccomp.RET_TRACE  # getpid, the clock calls
    assert _run_bpf(prog, 186, TP.IO_GETTID_IP) == seccomp.RET_ALLOW


# -- programs reading the clock ----------------------------------------------------------


def _scribe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(scribe_cmd(*args), capture_output=True, text=True, env=env,
                          timeout=90, cwd=cwd)


def _record_and_replay(exe: str, tmp: Path, *argv: str) -> tuple[Path, str]:
    trace = tmp / "t.scribe"
    rec = _scribe("record", "-q", "-o", str(trace), "--", exe, *argv)
    assert rec.returncode == 0, rec.stderr
    for _ in range(2):
        rep = _scribe("replay", str(trace))
        assert rep.returncode == 0, rep.stderr
        assert rep.stdout == rec.stdout
    return trace, rec.stdout


# `scribe replay -s TRACE`, printing how many clock calls stopped
SPY_STOPS = """
import sys
from scribe import cli, replayer
stops = 0
real = replayer.Replayer.syscall_entry
def entry(self, t):
    global stops
    stops += t.nr in (228, 96, 201)
    return real(self, t)
replayer.Replayer.syscall_entry = entry
code = cli.main(["replay", "-s", sys.argv[1]])
print("stops", stops)
sys.exit(code)
"""


# `scribe record -o TRACE -- CMD...`, printing how many stops read a page's buffer
SPY_DRAINS = """
import sys
from scribe import cli, recorder
drains = 0
real = recorder.Recorder._page_calls
def reads(self, t):
    global drains
    drains += 1
    return real(self, t)
recorder.Recorder._page_calls = reads
code = cli.main(["record", "-q", "-o", *sys.argv[1:]])
print("drains", drains)
sys.exit(code)
"""


_QUIET = """#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = atoi(argv[1]); i > 0; i--) getppid();
    return 0;
}
"""


def test_a_slot_is_read_only_while_its_thread_makes_calls_through_the_page(guest, tmp_path: Path) -> None:
    def drains(*cmd: str) -> int:
        spy = subprocess.run([sys.executable, "-c", SPY_DRAINS, str(tmp_path / "t.scribe"), "--", *cmd],
                             capture_output=True, text=True, timeout=90,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert spy.returncode == 0, spy.stderr
        return int(spy.stdout.split()[-1])

    exe = str(guest("timepage", ("-pthread",)))
    assert drains(exe, "reads") > 20
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    (tmp_path / "q.c").write_text(_QUIET)
    subprocess.run(["gcc", "-o", str(tmp_path / "q"), str(tmp_path / "q.c")], check=True)
    # The loader's file reads hold a slot; once its thread stops making
    # such calls, its stops read the slot IDLE_READS times more, not 200.
    few, many = drains(str(tmp_path / "q"), "200"), drains(str(tmp_path / "q"), "400")
    assert few == many and 0 < few < 100


def _clock_runs(trace: Path) -> list[tuple[Any, int]]:
    """The trace as runs of (tid, call, clock or tz given, B(uffered)/T(raced)),
    with spawns and the other calls of interest between them."""
    seq: list[Any] = []
    with TraceReader(trace) as r:
        for _, ev in r.events():
            if isinstance(ev, Syscall) and ev.nr in CLOCKS:
                what = ev.args[0] if ev.nr == TP.CLOCK_GETTIME else int(bool(ev.args[1]))
                seq.append((ev.tid, CLOCKS[ev.nr], what, "B" if ev.flags & Syscall.BUFFERED else "T"))
            elif isinstance(ev, Spawn):
                seq.append(("spawn", ev.tid, ev.kind))
    return [(k, len(list(g))) for k, g in itertools.groupby(seq)]


def test_page_calls_are_recorded_without_stops_and_replayed(guest, tmp_path: Path) -> None:
    trace, out = _record_and_replay(str(guest("timepage", ("-pthread",))), tmp_path, "reads")
    assert "clock 10 = -1 Invalid argument\nclock 99 = -1 Invalid argument\n" in out
    assert "own cpu clock = 0\n" in out and "posix_spawn = 0\n" in out
    runs = _clock_runs(trace)
    CPU_CLOCK = (1 << 32) - 6  # clock_getcpuclockid(0): a negative id naming the process

    # The page is turned on at the first read (it stops); the next ones do not.
    start = runs.index(((1, "clock_gettime", 1, "T"), 1)) + 1
    assert runs[start:start + 8] == [
        ((1, "clock_gettime", 1, "B"), 2), ((1, "clock_gettime", 0, "B"), 1),
        ((1, "clock_gettime", 3, "B"), 1), ((1, "gettimeofday", 0, "B"), 1),
        ((1, "gettimeofday", 1, "T"), 1),  # a timezone: the kernel's, asked with a stop
        ((1, "gettimeofday", 0, "B"), 1), ((1, "time", 0, "B"), 2),
        ((1, "clock_gettime", 10, "B"), 1)]  # a bad clock in range: its error, recorded
    assert runs[start + 8:start + 10] == [((1, "clock_gettime", 99, "T"), 1),
                                          ((1, "clock_gettime", CPU_CLOCK, "T"), 1)]
    # The burst: the buffer holds CAP reads; the next one stops and empties it.
    burst = runs[start + 10:start + 10 + 19]
    assert burst == [((1, "clock_gettime", 1, "B"), TP.CAP), ((1, "clock_gettime", 1, "T"), 1)] * 9 \
        + [((1, "clock_gettime", 1, "B"), 1000 - 9 * (TP.CAP + 1))]
    # A forked child has a page of its own (a copy with no slot taken); a
    # vfork child and a thread share the parent's, each thread with its slot.
    fork_at = runs.index((("spawn", 2, Spawn.FORK), 1))
    assert runs[fork_at + 1:fork_at + 4] == [((2, "clock_gettime", 1, "T"), 1), ((2, "clock_gettime", 1, "B"), 9),
                                             ((1, "clock_gettime", 1, "B"), 2)]
    vfork_at = runs.index((("spawn", 3, Spawn.VFORK), 1))
    assert runs[vfork_at + 1] == ((1, "clock_gettime", 1, "B"), 4)
    thread_at = runs.index((("spawn", 4, Spawn.THREAD), 1))
    assert runs[thread_at + 1:] == [((4, "clock_gettime", 1, "T"), 1), ((4, "clock_gettime", 1, "B"), 4),
                                    ((1, "clock_gettime", 1, "B"), 3)]
    assert runs[:start] == [(("spawn", 1, Spawn.FORK), 1), ((1, "clock_gettime", 1, "T"), 1)]
    # Replay took the buffered reads from the page: only the others stopped.
    spy = subprocess.run([sys.executable, "-c", SPY_STOPS, str(trace)], capture_output=True, text=True,
                         timeout=90, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert spy.returncode == 0, spy.stderr
    traced = sum(n for k, n in runs if len(k) == 4 and k[3] == "T")
    assert spy.stdout.split()[-2:] == ["stops", str(traced)]


def test_threads_read_the_clock_through_slots_of_their_own(guest, tmp_path: Path) -> None:
    trace, out = _record_and_replay(str(guest("timepage", ("-pthread",))), tmp_path, "threads")
    assert out.count("digest") == 12
    reads: dict[int, str] = {}
    with TraceReader(trace) as r:
        for _, ev in r.events():
            if isinstance(ev, Syscall) and ev.nr == TP.CLOCK_GETTIME:
                reads[ev.tid] = reads.get(ev.tid, "") + ("B" if ev.flags & Syscall.BUFFERED else "T")
    assert len(reads) == 12 and all(len(k) == 200 for k in reads.values())
    assert all("B" in k for k in reads.values())
    # Twelve threads at once, eight slots: eight read without a stop from
    # their second read on; the others stop until a slot is given back.
    stopped_first = sorted(k.index("B") for k in reads.values())
    assert stopped_first[:TP.NSLOTS] == [1] * TP.NSLOTS
    assert min(stopped_first[TP.NSLOTS:]) > 1


def test_a_signal_reaches_a_loop_that_only_reads_the_clock(guest, tmp_path: Path) -> None:
    trace, out = _record_and_replay(str(guest("timepage", ("-pthread",))), tmp_path, "signal")
    assert "signal after some reads: yes\n" in out
    with TraceReader(trace) as r:
        evs = [ev for _, ev in r.events()]
    at = next(i for i, ev in enumerate(evs) if isinstance(ev, Signal) and ev.signo == 14)
    before = [ev for ev in evs[:at] if isinstance(ev, Syscall) and ev.nr == TP.CLOCK_GETTIME]
    after = [ev for ev in evs[at:] if isinstance(ev, Syscall) and ev.nr == TP.CLOCK_GETTIME]
    # The loop's reads ran without stops until the signal came; then the
    # thread's page slot was closed, its next read stopped, and the signal
    # was delivered at that read's entry (the read runs again after the handler).
    assert sum(bool(ev.flags & Syscall.BUFFERED) for ev in before) > len(before) // 2
    assert isinstance(evs[at - 1], Input) and evs[at - 1].what == "signal_at_entry"
    assert not after[0].flags & Syscall.BUFFERED


_IDLE = """#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec ts;
    for (int i = 0; i < 20; i++) getppid();  /* the loader's reads held a slot: given back */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
        for (int i = 0; i < 40; i++) getppid();
    }
    puts("done");
    return 0;
}
"""


def test_a_slot_found_empty_for_a_while_is_given_back_until_the_next_read(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    (tmp_path / "p.c").write_text(_IDLE)
    subprocess.run(["gcc", "-o", str(tmp_path / "p"), str(tmp_path / "p.c")], check=True)
    trace, out = _record_and_replay(str(tmp_path / "p"), tmp_path)
    assert out == "done\n"
    reads = [(k[3], n) for k, n in _clock_runs(trace) if len(k) == 4]
    # Each round's first read gets the thread a slot; 40 stops without a read give it back.
    assert reads == [("T", 1), ("B", 2), ("T", 1), ("B", 2)]


_PROGRAM = """#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec ts;
    puts("a"); fflush(stdout);
    for (int i = 0; i < READS; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
    puts("b");
    return 0;
}
"""


@pytest.mark.parametrize("reads", [2, 4], ids=["fewer", "more"])
def test_a_program_that_reads_the_clock_another_number_of_times_diverges(tmp_path: Path, reads: int) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src, exe, trace = tmp_path / "p.c", tmp_path / "p", tmp_path / "t.scribe"
    src.write_text(_PROGRAM)
    subprocess.run(["gcc", "-DREADS=3", "-o", str(exe), str(src)], check=True)
    assert _scribe("record", "-q", "-o", str(trace), "--", str(exe)).returncode == 0
    subprocess.run(["gcc", f"-DREADS={reads}", "-o", str(exe), str(src)], check=True)
    rep = _scribe("replay", "--host-binaries", str(trace))
    assert rep.returncode == exitcodes.DIVERGED, rep.stderr
    line = rep.stderr.strip().splitlines()[-1]
    assert "Traceback" not in rep.stderr and "diverged at event" in line
    if reads < 3:  # the third recorded read is left in the page at the write
        assert "clock_gettime(CLOCK_MONOTONIC" in line and "(made without a stop)" in line
        assert "write(1" in line
    else:  # the fourth finds the page empty and stops where the trace has the write
        assert "expected write(1" in line and "clock_gettime" in line
    assert _scribe("replay", str(trace)).returncode == 0  # the recorded binary still agrees


def test_a_live_replay_stops_at_a_clock_read_made_without_a_stop(guest, tmp_path: Path) -> None:
    from scribe.live import open_session

    trace, _ = _record_and_replay(str(guest("timepage", ("-pthread",))), tmp_path, "reads")
    with TraceReader(trace) as r:
        buffered = [n for n, ev in r.events()
                    if isinstance(ev, Syscall) and ev.nr == TP.CLOCK_GETTIME and ev.flags & Syscall.BUFFERED]
    s = open_session(str(trace))
    s.timeout = 60
    try:
        for n in (buffered[0], buffered[150]):
            stop = s.run_to(n)
            assert (stop.event_no, stop.tid) == (n, 1)
            regs = s.registers()
            assert regs["orig_rax"] == TP.CLOCK_GETTIME
            assert TP.BASE <= regs["rip"] < TP.BASE + 4096  # the page's stopping path
    finally:
        s.close()


def test_the_detail_panel_says_a_read_was_made_without_a_stop(guest, tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from tui.detail import render_detail
    from tui.model import TraceModel

    trace, _ = _record_and_replay(str(guest("timepage", ("-pthread",))), tmp_path, "reads")
    with TraceReader(trace) as r:
        reads = [(n, bool(ev.flags & Syscall.BUFFERED)) for n, ev in r.events()
                 if isinstance(ev, Syscall) and ev.nr == TP.CLOCK_GETTIME]
        model = TraceModel(r, str(trace))

        def text(n: int) -> str:
            console = Console(width=200, record=True, file=io.StringIO())
            for part in render_detail(model, n):
                console.print(part)
            return console.export_text()

        stopped = next(n for n, b in reads if not b)
        buffered = next(n for n, b in reads if b)
        assert "without a stop" in text(buffered) and "CLOCK_MONOTONIC" in text(buffered)
        assert "without a stop" not in text(stopped)

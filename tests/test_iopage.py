"""File reads without a stop: glibc's call sites of read, pread64, lseek,
fstat and close rewritten to go through the time page (virt/timepage.py).

Recorded and replayed with a guest that prints a digest of every byte and
result it got; the trace shows which calls stopped, and a replay spy counts
the stops replay made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scribe import exitcodes
from tests.conftest import ROOT, scribe_cmd
from traces import Signal, Spawn, Syscall, TraceReader
from virt import timepage as TP

READ, WRITE, CLOSE, PREAD64, LSEEK, READLINK, OPENAT, NEWFSTATAT = 0, 1, 3, 17, 8, 89, 257, 262

# `scribe replay -s TRACE`, printing how many read and newfstatat calls stopped
SPY_STOPS = """
import sys
from scribe import cli, replayer
stops = {0: 0, 262: 0}
real = replayer.Replayer.syscall_entry
def entry(self, t):
    if t.nr in stops:
        stops[t.nr] += 1
    return real(self, t)
replayer.Replayer.syscall_entry = entry
code = cli.main(["replay", "-s", sys.argv[1]])
print("stops", stops[0], stops[262])
sys.exit(code)
"""


def _scribe(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(scribe_cmd(*args), capture_output=True, text=True, env=env, timeout=90)


def _data(tmp: Path) -> Path:
    path = tmp / "data.txt"
    path.write_bytes(bytes((i * 7 + i // 251) % 256 for i in range(30000)))
    return path


def test_file_reads_are_recorded_without_stops_and_replayed(guest, tmp_path: Path) -> None:
    exe, data, trace = str(guest("iopage")), _data(tmp_path), tmp_path / "t.scribe"
    native = subprocess.run([exe, str(data)], capture_output=True, text=True, timeout=30).stdout
    rec = _scribe("record", "-o", str(trace), "--", exe, str(data))
    assert rec.returncode == 0, rec.stderr
    data.unlink()  # replay reads the bytes from the trace
    rep = _scribe("replay", str(trace))
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == rec.stdout
    assert "status Pid:\t1\n" in rec.stdout  # /proc/self/status: read with a stop, translated
    assert rec.stdout.replace("status Pid:\t1\n", "").replace("self 1\n", "") == \
        "".join(line for line in native.splitlines(True) if not line.startswith(("status ", "self ")))

    with TraceReader(trace) as r:
        evs = [ev for _, ev in r.events()]
    main = [ev for ev in evs if isinstance(ev, Syscall) and ev.tid == 1]
    start = next(i for i, ev in enumerate(main)
                 if ev.nr == OPENAT and any(b"data.txt" in d for _, d in ev.reads if isinstance(d, bytes)))
    end = next(i for i, ev in enumerate(main) if i > start and ev.nr == READLINK)  # then links and stats
    calls = [(ev.nr, ev.args[0] & 0xFFFFFFFF, ev.result, "B" if ev.flags & Syscall.BUFFERED else
              "P" if ev.flags & Syscall.PATCHED else "T")
             for ev in main[start:end] if ev.nr in (READ, CLOSE, PREAD64, LSEEK, NEWFSTATAT)]
    # libc's first fstat, read, lseek and pread64 stop: their sites are
    # rewritten there (the loader's own were, at its first calls).
    assert calls[:5] == [(NEWFSTATAT, 3, 0, "P"), (READ, 3, 1000, "P"), (LSEEK, 3, 1000, "P"),
                         (PREAD64, 3, 100, "P"), (READ, 0xFFFFFFFF, -9, "T")]  # a bad fd: stopped
    # The dup2'd copy is known too: its first read stops (the thread's slot
    # was given back while the C library started), the others do not.
    assert calls[5:35] == [(READ, 10, 1000, "T")] + [(READ, 10, 1000, "B")] * 28 + [(READ, 10, 0, "B")]
    assert calls[35] == (LSEEK, 3, 0, "B")
    # The pipe (its own: no other process could block on it), then
    # /proc/self/status, whose pids the VEE translates: read with stops.
    pipe_and_proc = [c for c in calls if c[1] == 4]
    assert pipe_and_proc == [(READ, 4, 14, "B"), (READ, 4, 0, "B"), (CLOSE, 4, 0, "B"),
                             (READ, 4, pipe_and_proc[3][2], "T"), (CLOSE, 4, 0, "T")]
    assert pipe_and_proc[3][2] > 100
    assert (CLOSE, 3, 0, "B") in calls and (CLOSE, 10, 0, "B") in calls
    assert calls[-1] == (READ, 3, -9, "T")  # closed: the page's fd table forgot it
    # readlink of an absolute path: its path kept, as a stop keeps it; /proc/self: stopped.
    links = [ev for ev in main if ev.nr == READLINK]
    target = str(data).encode()
    assert [(ev.result, bool(ev.flags & Syscall.BUFFERED)) for ev in links[-4:-1]][1:] == [(len(target), True)] * 2
    assert all(ev.reads[0][1] == target + b".lnk\0" and ev.writes[0][1] == target for ev in links[-3:-1])
    assert links[-1].reads[0][1] == b"/proc/self\0" and not links[-1].flags & Syscall.BUFFERED
    assert "self 1\n" in rec.stdout
    # stat of a path (absolute, a link's, relative to a dir fd, missing):
    # without a stop, its path kept as a stop keeps it; of /proc: stopped.
    stats = [ev for ev in main if ev.nr == NEWFSTATAT and ev.reads[0][1] != b"\0"]
    name = data.name.encode()
    assert [(ev.reads[0][1], ev.result, bool(ev.flags & Syscall.BUFFERED)) for ev in stats[-13:]] == \
        [(target + b"\0", 0, True), (target + b".lnk\0", 0, True), (name + b"\0", 0, True),
         (b"/no/such/file\0", -2, True)] * 3 + [(b"/proc/self/status\0", 0, False)]
    assert all(len(ev.writes[0][1]) == TP.STAT_SIZE for ev in stats[-13:] if ev.result == 0)
    assert stats[-13].args[0] == stats[-1].args[0] == 0xFFFFFF9C  # AT_FDCWD, as the register holds it
    # A forked child has the page and its fd table: its reads stop once, to get a slot.
    child = [(ev.nr, bool(ev.flags & Syscall.BUFFERED)) for ev in evs
             if isinstance(ev, Syscall) and ev.tid == 2 and ev.nr == READ]
    assert child == [(READ, False)] + [(READ, True)] * 15
    assert any(isinstance(ev, Spawn) and ev.tid == 2 for ev in evs)

    # Replay took the buffered reads and stats from the page: only the others stopped.
    spy = subprocess.run([sys.executable, "-c", SPY_STOPS, str(trace)], capture_output=True, text=True,
                         timeout=90, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert spy.returncode == 0, spy.stderr
    traced = [sum(1 for ev in evs if isinstance(ev, Syscall) and ev.nr == nr and not ev.flags & Syscall.BUFFERED)
              for nr in (READ, NEWFSTATAT)]
    assert spy.stdout.split()[-3:] == ["stops", str(traced[0]), str(traced[1])]


@pytest.mark.parametrize(("define", "call"), [("PIECE=1200", "read(10"), ("PIECE=800", "read(10"),
                                              ("STATLAST='x'", "with b'data.txx\\x00' there")],
                         ids=["larger-reads", "smaller-reads", "another-stat-path"])
def test_a_program_that_reads_in_other_pieces_diverges(tmp_path: Path, define: str, call: str) -> None:
    """Rebuilt to read in other pieces, or to stat another name (of the
    same length: only replay's comparison of the path tells it)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    src = ROOT / "tests" / "guests" / "iopage.c"
    exe, data, trace = tmp_path / "p", _data(tmp_path), tmp_path / "t.scribe"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(src)], check=True)
    assert _scribe("record", "-q", "-o", str(trace), "--", str(exe), str(data)).returncode == 0
    subprocess.run(["gcc", "-O1", f"-D{define}", "-o", str(exe), str(src)], check=True)
    rep = _scribe("replay", "--host-binaries", str(trace))
    assert rep.returncode == exitcodes.DIVERGED, rep.stderr
    line = rep.stderr.strip().splitlines()[-1]
    assert "Traceback" not in rep.stderr and "diverged at event" in line
    assert call in line and "(made without a stop)" in line, line
    assert _scribe("replay", str(trace)).returncode == 0  # the recorded binary still agrees


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump is not installed")
def test_a_stub_calls_the_page_makes_the_sites_cmp_and_jumps_back(tmp_path: Path) -> None:
    site = 0x7FFFF7E9F2AB
    cmps = ("cmp    $0xfffffffffffff000,%rax", "cmp    $0xfffffffffffff001,%rax", "cmp    $0xfffff000,%eax")
    for pattern, cmp in zip(TP.SITES, cmps, strict=True):
        raw = tmp_path / "stub.bin"
        raw.write_bytes(TP.stub(3, site, pattern))
        at = TP.BASE + TP.STUBS + 3 * TP.STUB_SIZE
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", f"--adjust-vma={at:#x}", str(raw)],
                             capture_output=True, text=True, check=True).stdout
        lines = [ln.split("\t")[2].strip() for ln in out.splitlines() if ln.count("\t") >= 2][:7]
        cell = TP.HEADER + TP.CELLS + 16 * 3
        assert lines == ["lea    -0x80(%rsp),%rsp", f"call   {TP.BASE + TP.CODE_OFF + TP.IO_ENTRY:#x}",
                         "lea    0x80(%rsp),%rsp", f"jmp    {at + TP.STUB_RESUME:#x}", "syscall", cmp,
                         f"jmp    *{cell + 8:#x}"]
    # The site itself: jmp *cell, padded to the pattern's length with a nop.
    patched = {}

    class Mem:
        def write(self, addr: int, data: bytes) -> None:
            patched[addr] = data

    back = TP.patch(Mem(), 3, site, TP.SITES[0])  # type: ignore[arg-type]
    assert back == at + TP.STUB_RESUME
    assert patched[site] == b"\xff\x24\x25" + cell.to_bytes(4, "little") + b"\x90"
    assert patched[cell] == at.to_bytes(8, "little") + (site + 8).to_bytes(8, "little")


def test_pipes_between_processes_and_their_signals(guest, tmp_path: Path) -> None:
    """A pipe's calls are made without a stop while their process has one
    thread; one blocked in the page takes its signal (the call is made again
    with a stop), and a write to a pipe no one reads gets its SIGPIPE at that
    write, before the program goes on."""
    exe, file, trace = str(guest("iopage")), tmp_path / "f.txt", tmp_path / "t.scribe"
    file.write_text("")
    native = subprocess.run([exe, "pipes", str(file)], capture_output=True, text=True, timeout=30).stdout
    rec = _scribe("record", "-o", str(trace), "--", exe, "pipes", str(file))
    assert rec.returncode == 0, rec.stderr
    assert file.read_text() == "01"  # the SIGPIPE handler ran as the write to the pipe returned
    assert rec.stdout == native and "woken: 1 w\n" in native and "writer: exit 3\n" in native
    rep = _scribe("replay", str(trace))
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == rec.stdout

    with TraceReader(trace) as r:
        evs = [ev for _, ev in r.events()]

    def calls(tid: int) -> list[tuple[int, int, str]]:
        return [(ev.nr, ev.result, "B" if ev.flags & Syscall.BUFFERED else "T") for ev in evs
                if isinstance(ev, Syscall) and ev.tid == tid and ev.nr in (READ, WRITE)]
    writes = [c for c in calls(1) if c[0] == WRITE and c[1] == 1000]
    assert len(writes) == 200 and sum(c[2] == "B" for c in writes) >= 190  # the writer
    reads = [c for c in calls(2) if c[0] == READ]
    assert sum(c[2] == "B" for c in reads) >= len(reads) - 3 and sum(c[1] for c in reads) == 200000
    # The blocked read (the third: the first two stop, to rewrite the child's
    # copy of the site and to give it a slot): cut short by the signal, made
    # again with a stop, which takes the signal at its entry; the handler's
    # byte wakes it. (Without that, the child and the recording would wait
    # for ever.)
    woken = [ev for ev in evs if getattr(ev, "tid", None) == 3 and isinstance(ev, (Syscall, Signal))]
    at = next(i for i, ev in enumerate(woken) if isinstance(ev, Signal))
    assert [(ev.nr, ev.result) for ev in woken[:at]][-2:] == [(READ, 1), (READ, 1)]
    assert [(ev.nr, ev.result) for ev in woken[at + 1:at + 3]] == [(WRITE, 1), (READ, 1)]
    assert not woken[at + 2].flags & Syscall.BUFFERED  # the blocked read, made again
    # The write to a pipe no one reads: made with a stop, its SIGPIPE right after.
    late = [ev for ev in evs if getattr(ev, "tid", None) == 4 and isinstance(ev, (Syscall, Signal))]
    at = next(i for i, ev in enumerate(late) if isinstance(ev, Signal) and ev.signo == 13)
    assert (late[at - 1].nr, late[at - 1].result) == (WRITE, -32) and not late[at - 1].flags & Syscall.BUFFERED


def test_what_goes_to_the_file_scribe_writes_its_output_to_is_replayed(guest, tmp_path: Path) -> None:
    """scribe's own stdout, a regular file here, is inherited by the program:
    its writes there stop, so that replay prints them again."""
    exe, data, trace = str(guest("iopage")), _data(tmp_path), tmp_path / "t.scribe"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(tmp_path / "rec.txt", "wb") as out:
        subprocess.run(scribe_cmd("record", "-q", "-o", str(trace), "--", exe, str(data)), stdout=out,
                       env=env, timeout=90, check=True)
    with open(tmp_path / "rep.txt", "wb") as out:
        subprocess.run(scribe_cmd("replay", str(trace)), stdout=out, env=env, timeout=90, check=True)
    recorded = (tmp_path / "rec.txt").read_text()
    assert recorded.startswith("read 1000 + 29000 of 30000 bytes\n") and "digest " in recorded
    assert (tmp_path / "rep.txt").read_text() == recorded
    with TraceReader(trace) as r:
        to_stdout = [ev for _, ev in r.events() if isinstance(ev, Syscall) and ev.nr == WRITE and ev.args[0] == 1]
    assert to_stdout and not any(ev.flags & Syscall.BUFFERED for ev in to_stdout)


# `scribe replay TRACE` with the lookahead's bytes bound made small, printing
# the most bytes it held
SPY_LOOKAHEAD = """
import sys
from scribe import cli, replayer as R
R.LOOKAHEAD_BYTES = 64 << 10
peak = [0]
fill = R.Replayer._fill
def counting(self):
    got = fill(self)
    peak[0] = max(peak[0], self.buf_bytes)
    return got
R.Replayer._fill = counting
code = cli.main(["replay", sys.argv[1]])
print("peak", peak[0], file=sys.stderr)
sys.exit(code)
"""


def test_what_a_pipe_delivers_is_kept_in_its_events(tmp_path: Path) -> None:
    """Reads of a pipe through the page keep their bytes in their events
    (traces.Inline), not as blobs, however long; replay, which reads them
    ahead with the trace's events, holds no more than LOOKAHEAD_BYTES of
    them (and one event) at a time."""
    data, trace = tmp_path / "data.bin", tmp_path / "t.scribe"
    data.write_bytes(os.urandom(1 << 20))
    cmd = ["sh", "-c", f"head -c 900000 {data} | md5sum"]
    native = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    rec = _scribe("record", "-q", "-o", str(trace), "--", *cmd)
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == native
    with TraceReader(trace) as r:
        procs = {p.argv[0]: p.vpid for p in r.processes}
        reads = [ev for _, ev in r.events() if isinstance(ev, Syscall) and ev.tid == procs["md5sum"]
                 and ev.nr == READ and ev.args[0] == 0]
        assert sum(ev.result for ev in reads) == 900000
        # (the first ones stop: to rewrite the call site, to give a slot)
        long = [ev for ev in reads if ev.result >= 4096 and ev.flags & Syscall.BUFFERED]
        assert sum(ev.result for ev in long) > 450000
        assert all(type(ev.writes[0][1]) is bytes for ev in long)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rep = subprocess.run([sys.executable, "-c", SPY_LOOKAHEAD, str(trace)], capture_output=True, text=True,
                         env=env, timeout=90)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == native
    peak = int(rep.stderr.rsplit("peak ", 1)[1])
    assert 0 < peak <= (64 << 10) + TP.DSIZE


def test_a_run_of_reads_without_a_stop_holds_a_mib_of_what_they_read(tmp_path: Path) -> None:
    """A slot's data area holds DSIZE (1 MiB) of what its calls read: a file
    read whole in md5sum's 32 KiB pieces stops once a MiB (the call that
    does not fit), not at every 256 KiB as before; replay fills the page
    with the same runs."""
    data, trace = tmp_path / "data.bin", tmp_path / "t.scribe"
    data.write_bytes(os.urandom(3 << 20))
    native = subprocess.run(["md5sum", str(data)], capture_output=True, text=True, timeout=30).stdout
    rec = _scribe("record", "-q", "-o", str(trace), "--", "md5sum", str(data))
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == native
    with TraceReader(trace) as r:
        evs = [ev for _, ev in r.events() if isinstance(ev, Syscall)]
    at = next(i for i, ev in enumerate(evs) if ev.nr == OPENAT and ev.reads[0][1] == str(data).encode() + b"\0")
    reads = [ev for ev in evs[at:] if ev.nr == READ and ev.args[0] == evs[at].result]
    assert sum(ev.result for ev in reads) == 3 << 20
    runs, run = [], 0
    for ev in reads:
        if ev.flags & Syscall.BUFFERED:
            run += ev.result
        else:
            runs.append(run)  # a stop: the call that did not fit
            run = 0
    runs.append(run)
    assert all(n <= TP.DSIZE for n in runs)
    assert sum(n > TP.DSIZE * 3 // 4 for n in runs) >= 2 and len(runs) <= 6, runs
    spy = subprocess.run([sys.executable, "-c", SPY_STOPS, str(trace)], capture_output=True, text=True,
                         timeout=90, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert spy.returncode == 0, spy.stderr
    traced = sum(1 for ev in evs if ev.nr == READ and not ev.flags & Syscall.BUFFERED)
    assert spy.stdout.split()[-3:-1] == ["stops", str(traced)]

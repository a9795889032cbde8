"""Load: many processes, a deep tree, many threads, a big pipe, many syscalls.

Each is recorded and replayed with identical output and status while the
memory of the scribe process stays bounded. Peak RSS is RUSAGE_CHILDREN's
ru_maxrss in a wrapper around scribe (the tracees are scribe's waited-for
descendants, all small programs, so the peak is scribe's own). No timing assertions: each
subprocess has a timeout so that a hang fails instead of blocking.

The full-size 1 GiB pipe and million-syscall cases take minutes here; they
run with SCRIBE_SLOW_TESTS=1, and the default run uses smaller sizes that
still cross the replayer's lookahead window.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from scribe import replayer
from tests.conftest import ROOT, scribe_cmd

RSS_BOUND_MIB = 300
slow = pytest.mark.skipif(not os.environ.get("SCRIBE_SLOW_TESTS"),
                          reason="full-size load case: set SCRIBE_SLOW_TESTS=1")


@dataclass
class Run:
    rc: int
    out: bytes
    err: str
    rss_mib: float
    seconds: float


# A small wrapper spawns scribe and reports its children's peak RSS: measured
# from pytest directly, a child forked from this big process would report
# pytest's own RSS (ru_maxrss survives exec).
WRAPPER = r"""
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    rc = subprocess.run(sys.argv[3:], stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measured(args: list[str], out: Path, timeout: float) -> Run:
    """Run a command; its exit code, output, and peak RSS (MiB)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    err_path = out.with_suffix(".err")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(out), str(err_path), *args],
                            stdout=subprocess.PIPE, env=env, start_new_session=True)
    try:
        report, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {timeout} s: {' '.join(args)}")
    rc, rss_kib = (int(x) for x in report.split())
    return Run(rc, out.read_bytes(), err_path.read_text(errors="replace"), rss_kib / 1024,
               time.monotonic() - t0)


def record_replay(tmp_path: Path, *cmd: str, timeout: float = 120) -> tuple[Run, Run, int]:
    trace = tmp_path / "load.scribe"
    rec = measured(scribe_cmd("record", "-q", "-o", str(trace), "--", *cmd), tmp_path / "rec.out", timeout)
    assert "Traceback" not in rec.err, rec.err
    rep = measured(scribe_cmd("replay", str(trace)), tmp_path / "rep.out", timeout)
    assert rep.rc == rec.rc, rep.err
    assert rep.out == rec.out, rep.err
    assert rep.err == "", rep.err
    size = trace.stat().st_size
    print(f"\n{' '.join(cmd)}: record {rec.seconds:.1f} s {rec.rss_mib:.0f} MiB, "
          f"replay {rep.seconds:.1f} s {rep.rss_mib:.0f} MiB, trace {size / 2**20:.1f} MiB")
    assert rec.rss_mib < RSS_BOUND_MIB, f"recorder peak RSS {rec.rss_mib:.0f} MiB"
    assert rep.rss_mib < RSS_BOUND_MIB, f"replayer peak RSS {rep.rss_mib:.0f} MiB"
    return rec, rep, size


def test_a_thousand_short_lived_processes(guest, tmp_path):
    rec, _, _ = record_replay(tmp_path, str(guest("load_procs")), "1000")
    assert rec.rc == 0
    # Virtual pids 2..1001, statuses (i % 200) summed.
    assert rec.out == b"procs=1000 sum=99500 pids=501500\n"


def test_a_process_tree_fifty_deep(guest, tmp_path):
    rec, _, _ = record_replay(tmp_path, str(guest("load_deep")), "50")
    assert rec.rc == 0
    lines = rec.out.decode().splitlines()
    assert lines[0] == "bottom level=49 pid=50 ppid=49"
    assert lines[-1] == "level=0 pid=1 child=2 status=7" and len(lines) == 50


def test_a_hundred_threads(guest, tmp_path):
    rec, _, _ = record_replay(tmp_path, str(guest("load_threads")), "100")
    assert rec.rc == 0
    assert rec.out == b"threads=100 total=4950 tids=5150\n"  # virtual tids 2..101


def _pipe(tmp_path: Path, size: str, timeout: float) -> None:
    rec, _, trace_size = record_replay(tmp_path, "sh", "-c", f"head -c {size} /dev/zero | md5sum",
                                       timeout=timeout)
    assert rec.rc == 0
    expected = {"64M": b"7f614da9329cd3aebf59b91aadc30bf0", "1G": b"cd573cfaace07e7949bc0c46028904ff"}
    assert rec.out.split()[0] == expected[size]
    # md5sum's reads are recorded, zeros stored once by content hash.
    assert trace_size < 64 << 20


def test_a_pipe_of_64_mib(tmp_path):
    _pipe(tmp_path, "64M", timeout=240)


@slow
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_pipe_of_1_gib(tmp_path):
    _pipe(tmp_path, "1G", timeout=1800)


def _syscalls(guest, tmp_path: Path, n: int, timeout: float) -> None:
    rec, _, trace_size = record_replay(tmp_path, str(guest("load_syscalls")), str(n), timeout=timeout)
    assert rec.rc == 0
    assert rec.out.decode().startswith(f"child calls={n} ")
    assert trace_size < n * 64  # a few bytes per call after compression


def test_many_syscalls_while_the_parent_waits(guest, tmp_path):
    # More calls than the replayer's lookahead window: the waiting parent's
    # next event lies beyond it, and memory must not grow with the distance.
    n = 150_000
    assert n > replayer.LOOKAHEAD_LIMIT
    _syscalls(guest, tmp_path, n, timeout=240)


@slow
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_million_syscalls(guest, tmp_path):
    _syscalls(guest, tmp_path, 1_000_000, timeout=1800)


PROBE = r'''
import sys
import scribe.replayer as R
R.LOOKAHEAD_LIMIT = 500
peak = [0]
fill = R.Replayer._fill
def counting(self):
    got = fill(self)
    peak[0] = max(peak[0], len(self.buf))
    return got
R.Replayer._fill = counting
from scribe.cli import main
try:
    code = main(["replay", sys.argv[1]])
finally:
    print(f"peak-lookahead={peak[0]}", file=sys.stderr)
sys.exit(code)
'''


def test_replay_lookahead_is_bounded(guest, tmp_path):
    """A thread whose next event is far away waits; the read-ahead buffer
    never holds more than LOOKAHEAD_LIMIT events (here made small)."""
    trace = tmp_path / "s.scribe"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rec = subprocess.run(scribe_cmd("record", "-q", "-o", str(trace), "--", str(guest("load_syscalls")), "5000"),
                         capture_output=True, env=env, timeout=120)
    assert rec.returncode == 0, rec.stderr
    rep = subprocess.run([sys.executable, "-c", PROBE, str(trace)], capture_output=True, env=env, timeout=120)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == rec.stdout
    peak = int(rep.stderr.decode().rsplit("peak-lookahead=", 1)[1])
    assert peak <= 500

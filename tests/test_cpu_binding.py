"""Run, record and replay bind scribe and the program to one CPU
(virt/cpus.py); the program still sees its own CPU mask
(tests/guests/affinity.c)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import ROOT, scribe_cmd
from virt.cpus import CPU_KEYS, StatusPieces, mask_bytes, status_line

T = 60


@pytest.fixture(scope="module")
def affinity(guest):
    return str(guest("affinity"))


def test_the_program_sees_the_mask_it_would_see_without_scribe(affinity, scribe, tmp_path):
    native = subprocess.run([affinity], capture_output=True, text=True, timeout=T)
    assert native.returncode == 0
    run = scribe("run", "--", affinity, timeout=T)
    assert run.returncode == 0, run.stderr
    assert run.stdout == native.stdout
    trace = tmp_path / "a.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", affinity, timeout=T)
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == native.stdout
    rep = scribe("replay", str(trace), timeout=T)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == native.stdout
    cpus = sorted(os.sched_getaffinity(0))
    assert f"start count={len(cpus)} cpus={''.join(f'{c},' for c in cpus)}" in native.stdout
    assert f"after_set count=1 cpus={cpus[-1]}," in native.stdout
    assert "child count=1" in native.stdout  # a child has its parent's mask


def _real_child_mask(cmd: list[str]) -> str:
    """Cpus_allowed_list of the real process scribe traces, and of scribe."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        kids: list[str] = []
        while not kids and time.monotonic() < deadline:
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                kids = f.read().split()
        with open(f"/proc/{kids[0]}/status") as f:
            child = [ln for ln in f if ln.startswith("Cpus_allowed_list")][0]
        return child.split()[1]
    finally:
        p.kill()
        p.communicate()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to bind")
@pytest.mark.parametrize("how", ["record", "run"])
def test_scribe_binds_the_program_to_one_cpu(affinity, tmp_path, how):
    opts = ["-q", "-o", str(tmp_path / "w.scribe")] if how == "record" else []
    bound = _real_child_mask(scribe_cmd(how, *opts, "--", affinity, "wait"))
    assert bound.isdigit() and int(bound) in os.sched_getaffinity(0)
    free = _real_child_mask(scribe_cmd(how, "--no-bind-cpu", *opts, "--", affinity, "wait"))
    with open("/proc/self/status") as f:
        mine = [ln for ln in f if ln.startswith("Cpus_allowed_list")][0].split()[1]
    assert free == mine


def test_mask_bytes_and_status_line():
    assert mask_bytes(frozenset({0, 1, 9}), 8) == bytes([3, 2, 0, 0, 0, 0, 0, 0])
    assert mask_bytes(frozenset({70}), 8) == bytes(8)  # beyond the buffer: not shown
    key, key_list = CPU_KEYS
    assert status_line(key, frozenset({0, 1}), nbits=2) == b"Cpus_allowed:\t3"
    assert status_line(key, frozenset({0, 32}), nbits=40) == b"Cpus_allowed:\t01,00000001"
    assert status_line(key, frozenset({3}), nbits=64) == b"Cpus_allowed:\t00000000,00000008"
    assert status_line(key_list, frozenset({0, 1, 2, 5, 7, 8})) == b"Cpus_allowed_list:\t0-2,5,7-8"


def _read_in_pieces(text: bytes, size: int, cpus: frozenset[int]) -> bytes:
    pieces, pos, got = StatusPieces(cpus), 0, b""
    while True:
        raw = text[pos:pos + size]
        pos += len(raw)
        out = pieces.feed(raw, size)
        assert len(out) <= size
        if not out:
            assert not raw  # end of file only at the end of the file
            return got
        got += out


def test_status_read_in_pieces_of_any_size():
    with open("/proc/self/status", "rb") as f:
        text = f.read()
    for cpus in (frozenset({0}), frozenset({0, 2, 3})):
        want = b"\n".join(
            next((status_line(k, cpus) for k in CPU_KEYS if ln.startswith(k)), ln) for ln in text.split(b"\n"))
        assert want != text
        for size in range(1, 300):
            got = _read_in_pieces(text, size, cpus)

            def others(b: bytes) -> list[bytes]:
                return [ln for ln in b.split(b"\n") if not ln.startswith(b"Cpus_allowed")]
            assert others(got) == others(text), size  # nothing lost, nothing doubled
            if size >= 64:  # a buffer longer than a Cpus line: always translated
                assert got == want, size
        assert _read_in_pieces(text, 4096, cpus) == want


SPIN = "while True: pass"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nowhere to move to")
def test_placement_moves_a_computing_task_off_an_oversubscribed_cpu_and_back():
    """Two tasks computing on the tracer's CPU wait for it: one goes to the
    spare CPUs; a task there that stops computing comes back; a task alone
    on the CPU (no one waits) stays; a task forked from one away starts home."""
    import signal
    import sys

    from virt.cpus import Placement

    cpus = sorted(os.sched_getaffinity(0))
    home, spare = cpus[0], frozenset(cpus[1:])
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    procs = [helper]

    def spinner() -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", SPIN])
        os.sched_setaffinity(p.pid, {home})
        procs.append(p)
        return p

    def look(pl: Placement, tids: list[int]) -> None:
        time.sleep(0.15)
        pl.check(time.monotonic_ns(), tids)

    try:
        pl = Placement(home, spare, lambda: [helper.pid])
        alone = spinner()
        look(pl, [alone.pid])  # the first look only takes the counts
        look(pl, [alone.pid])
        assert pl.away == set() and os.sched_getaffinity(alone.pid) == {home}

        other = spinner()
        tids = [alone.pid, other.pid]
        look(pl, tids)
        look(pl, tids)
        assert len(pl.away) == 1  # one per look, the one that ran longest
        (gone,) = pl.away
        assert os.sched_getaffinity(gone) == set(spare)
        assert os.sched_getaffinity(helper.pid) == set(cpus)  # the helpers may run anywhere now,
        assert os.getpriority(os.PRIO_PROCESS, helper.pid) == Placement.HELPER_NICE  # after the program
        stayed = other.pid if gone == alone.pid else alone.pid
        assert os.sched_getaffinity(stayed) == {home}

        pl.spawned(gone, stayed)  # (a stand-in child: any task of the parent's mask)
        assert os.sched_getaffinity(stayed) == {home}

        os.kill(gone, signal.SIGSTOP)  # not computing any more
        look(pl, tids)
        assert pl.away == set() and os.sched_getaffinity(gone) == {home}
        assert os.sched_getaffinity(helper.pid) == set(spare)  # back beside the program's spare CPUs
        assert pl.cpus_of(gone) == {home}
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nowhere to move to")
def test_placement_can_move_a_new_task_at_its_first_look():
    """A task the tracer saw start has its figures counted from then: the
    first look after it can move it (a child that computes from its start,
    tar's gzip), where a task first seen at a look only has its counts taken."""
    import sys

    from virt.cpus import Placement

    cpus = sorted(os.sched_getaffinity(0))
    home, spare = cpus[0], frozenset(cpus[1:])
    procs = []
    try:
        pl = Placement(home, spare)
        pl.check(time.monotonic_ns(), [])  # the tracer's own counts
        for _ in range(2):
            started = time.monotonic_ns()
            p = subprocess.Popen([sys.executable, "-c", SPIN])
            os.sched_setaffinity(p.pid, {home})
            procs.append(p)
            pl.spawned(os.getpid(), p.pid, started)
        unseen = subprocess.Popen([sys.executable, "-c", SPIN])
        os.sched_setaffinity(unseen.pid, {home})
        procs.append(unseen)
        time.sleep(0.3)
        pl.check(time.monotonic_ns(), [p.pid for p in procs])
        assert len(pl.away) == 1 and pl.away < {procs[0].pid, procs[1].pid}
        assert os.sched_getaffinity(next(iter(pl.away))) == set(spare)
    finally:
        for p in procs:
            p.kill()
            p.wait()

"""Programs that poke at their tracer: recording goes on (or stops with a
clear message), and replay gives the very same output and status."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest



def record_replay(scribe, tmp_path, *cmd: str, timeout: float = 60):
    trace = tmp_path / "p.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", *cmd, timeout=timeout)
    assert "Traceback" not in rec.stderr, rec.stderr
    rep = scribe("replay", str(trace), timeout=timeout)
    assert rep.returncode == rec.returncode, rep.stderr
    assert rep.stdout == rec.stdout
    assert "diverged" not in rep.stderr and "Traceback" not in rep.stderr, rep.stderr
    return rec, trace


def test_ptrace_traceme_fails_as_under_any_tracer(guest, scribe, tmp_path):
    rec, _ = record_replay(scribe, tmp_path, str(guest("poke_traceme")))
    assert rec.returncode == 0, rec.stderr
    lines = rec.stdout.splitlines()
    assert "traceme=-1 errno=Operation not permitted" in lines
    assert "child traceme=-1 errno=Operation not permitted" in lines
    assert "child attach parent=-1 errno=Operation not permitted" in lines
    assert "child status=3 pid=2" in lines


def test_tracerpid_in_proc_self_status(guest, scribe, tmp_path):
    rec, _ = record_replay(scribe, tmp_path, str(guest("poke_tracerpid")))
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout.startswith("TracerPid:")


SENTINEL = r"""
import signal, sys, time
def hit(s, f):
    open(sys.argv[1], "a").write(f"{s}\n")
signal.signal(signal.SIGWINCH, hit)
signal.signal(signal.SIGUSR1, hit)
print("ready", flush=True)
time.sleep(120)
"""


def test_signals_to_groups_and_to_all_stay_inside(guest, scribe, tmp_path):
    """kill(0), kill(-pgrp) and kill(-1) reach the VEE's processes only: a
    process outside it, which would catch them, gets nothing."""
    marker = tmp_path / "escaped"
    sentinel = subprocess.Popen([sys.executable, "-c", SENTINEL, str(marker)], stdout=subprocess.PIPE,
                                start_new_session=True)
    try:
        assert sentinel.stdout.readline() == b"ready\n"  # type: ignore[union-attr]
        rec, _ = record_replay(scribe, tmp_path, str(guest("poke_signals")))
        time.sleep(0.2)
        assert not marker.exists(), marker.read_text()
    finally:
        sentinel.kill()
        sentinel.wait(timeout=10)
    assert rec.returncode == 0, rec.stderr
    # kill(-1) spares the caller; the child got SIGUSR1 and SIGWINCH.
    assert rec.stdout == "kill0=0 killpg=0 killall=0 parent usr1>0=1 winch=0 child=2 exit=11\n"


def test_own_seccomp_filter(guest, scribe, tmp_path):
    rec, _ = record_replay(scribe, tmp_path, str(guest("poke_seccomp")))
    assert rec.returncode == 0, rec.stderr
    lines = rec.stdout.splitlines()
    assert "seccomp=0" in lines
    assert "after getppid=-1 errno=Operation not permitted" in lines  # its filter wins
    assert "child getppid=-1 errno=Operation not permitted pid=2" in lines
    assert "child exit=5" in lines


def _setuid_binary() -> list[str] | None:
    for cmd in (["/usr/bin/passwd", "--help"], ["/bin/ping", "-V"], ["/usr/bin/ping", "-V"]):
        try:
            st = os.stat(cmd[0])
        except OSError:
            continue
        if st.st_mode & 0o4000:
            return cmd
    return None


def test_exec_of_a_setuid_binary(scribe, tmp_path):
    cmd = _setuid_binary()
    if cmd is None:
        pytest.skip("no setuid binary (passwd, ping) here")
    trace = tmp_path / "s.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", "sh", "-c", f"{' '.join(cmd)}; echo status=$?",
                 timeout=60)
    assert "Traceback" not in rec.stderr, rec.stderr
    if rec.returncode == 0:
        assert "status=" in rec.stdout
        rep = scribe("replay", str(trace), timeout=60)
        assert "Traceback" not in rep.stderr, rep.stderr
        assert rep.returncode == rec.returncode and rep.stdout == rec.stdout, rep.stderr
    else:  # stopped: one clear line
        assert rec.stderr.startswith("scribe: ") and rec.stderr.count("\n") == 1, rec.stderr

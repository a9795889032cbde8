"""`scribe run` follows the process shapes real programs have (tests/guests/vee_procs.c)."""

from __future__ import annotations

import signal

import pytest

T = 60  # seconds: a hang fails instead of blocking CI


@pytest.fixture(scope="module")
def procs(guest):
    return str(guest("vee_procs"))


def test_orphan_is_followed_to_its_end(procs, scribe):
    proc = scribe("run", "--", procs, "orphan", timeout=T)
    # The first process's status is scribe's, but scribe waits for the
    # orphan, whose parent became scribe (a subreaper outside the VEE: 0).
    assert proc.returncode == 5, proc.stderr
    assert proc.stdout.splitlines()[-1] == "orphan pid=3 ppid=0", proc.stdout
    assert "middle pid=2 grandchild=3" in proc.stdout


def test_daemon_setsid_double_fork(procs, scribe):
    proc = scribe("run", "--", procs, "daemon", timeout=T)
    assert proc.returncode == 0, proc.stderr
    assert "session leader pid=2 setsid=2 getsid=2 child=3" in proc.stdout
    # The daemon outlives everyone; its session and group are still named
    # by their (reaped) leader's virtual id, as in Linux.
    assert proc.stdout.splitlines()[-1] == "daemon pid=3 ppid=0 sid=2 pgrp=2 getsid_leader=-1", proc.stdout


def test_vfork(procs, scribe):
    proc = scribe("run", "--", procs, "vfork", timeout=T)
    assert proc.returncode == 0, proc.stderr
    assert "vfork=2 child_getpid=2 child_getppid=1 waitpid=2 status=9" in proc.stdout
    assert "exec_child_pid=3" in proc.stdout and "vfork_exec=3 status=0" in proc.stdout


def test_tracees_killed_by_signals(procs, scribe):
    proc = scribe("run", "--", procs, "killed", timeout=T)
    assert proc.returncode == 0, proc.stderr
    # kill(getpid(), SIGKILL) dies inside its own translated call: its pin
    # on itself must not hold it at its exit stop.
    assert f"self_kill child=2 waited=2 sig={int(signal.SIGKILL)}" in proc.stdout
    assert f"segv child=3 waited=3 sig={int(signal.SIGSEGV)}" in proc.stdout
    assert f"threaded child=4 waited=4 sig={int(signal.SIGTERM)}" in proc.stdout


def test_stop_and_continue_from_the_parent(procs, scribe):
    proc = scribe("run", "--", procs, "stopcont", timeout=T)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # SIGSTOP's signal-delivery stop is followed by a real group-stop (held
    # with PTRACE_LISTEN): the parent sees it, and the child does not run.
    assert f"stopped waited=2 is_stopped=1 stopsig={int(signal.SIGSTOP)}" in out
    assert "really_stopped=yes" in out
    assert "continued waited=2 is_continued=1" in out
    assert "runs_again=yes" in out
    assert f"terminated waited=2 sig={int(signal.SIGTERM)}" in out


def test_proc_vpid_paths(procs, scribe):
    proc = scribe("run", "--", procs, "procstatus", timeout=T)
    assert proc.returncode == 0, proc.stderr
    assert "status_name=vee-kid" in proc.stdout
    assert "task_comm=vee-kid" in proc.stdout
    assert "unknown_vpid=No such file or directory" in proc.stdout

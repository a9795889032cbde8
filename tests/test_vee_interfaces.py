"""Threads, glibc's cached tid, ids in kernel-written memory, refused calls
(tests/guests/vee_threads.c, tests/guests/vee_misc.c) under `scribe run`."""

from __future__ import annotations

import errno
import os
import signal
import subprocess

import pytest

from tests.conftest import ROOT, scribe_cmd

T = 60


@pytest.fixture(scope="module")
def threads(guest):
    return str(guest("vee_threads"))


@pytest.fixture(scope="module")
def misc(guest):
    return str(guest("vee_misc"))


def test_100_threads_and_glibc_cached_tid(threads, scribe):
    proc = scribe("run", "--", threads, "threads", timeout=T)
    assert proc.returncode == 0, proc.stderr
    # Virtual tids in creation order; pthread_kill and raise take the tid
    # glibc cached from CLONE_PARENT_SETTID / set_tid_address, which holds
    # the virtual value, and reach the right thread.
    assert ("threads=100 first_tid=2 last_tid=101 in_order=1 pthread_kill_errors=0 "
            "ok_kill=100 ok_raise=100") in proc.stdout, proc.stdout + proc.stderr


def test_exec_from_a_non_leader_thread(threads, scribe):
    proc = scribe("run", "--", threads, "exec_thread", timeout=T)
    assert proc.returncode == 4, proc.stderr
    assert "before_exec pid=1 thread_tid=2" in proc.stdout
    # The process keeps its pid; the exec'ing thread's tid 2 retires, so the
    # next task gets 3.
    assert "after_exec pid=1 tid=1 ppid=0 new_thread_tid=3 fork=4 waited=4" in proc.stdout, proc.stdout
    assert "child pid=4 ppid=1" in proc.stdout


@pytest.mark.parametrize("mode", [[], ["--no-seccomp"]], ids=["seccomp", "ptrace-syscall"])
def test_calls_that_bypass_interposition_fail_with_enosys(misc, scribe, mode):
    # With seccomp the filter refuses them; without it the tracer must.
    proc = scribe("run", *mode, "--", misc, "refused", timeout=T)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"io_uring_setup=-1 errno={errno.ENOSYS}" in out
    assert f"rseq=-1 errno={errno.ENOSYS}" in out
    # int 0x80 from a 64-bit program would run the i386 getpid (real pid).
    assert f"int80_getpid={-errno.ENOSYS}" in out
    assert f"x32_getpid=-1 errno={errno.ENOSYS}" in out
    assert "getpid=1" in out


def test_pi_futex_is_reported_unsupported(misc, scribe):
    proc = scribe("run", "--", misc, "pifutex", timeout=T)
    assert proc.returncode == 0, proc.stderr
    # Not a silent wrong owner: the call fails and the futex word is untouched
    # (the kernel would have written a real tid into it) ...
    assert f"lock_pi=-1 errno={errno.ENOSYS} word=0" in proc.stdout
    # ... and scribe says why, once.
    assert proc.stderr.count("priority-inheritance futexes are not supported") == 1, proc.stderr


def test_ids_in_kernel_written_memory(misc, scribe):
    proc = scribe("run", "--", misc, "ids", timeout=T)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"child=2 sigtimedwait={int(signal.SIGUSR1)} si_pid=2" in out
    assert f"signalfd_read=128 ssi_signo={int(signal.SIGUSR2)} ssi_pid=2" in out
    assert "peercred=0 pid=1" in out
    assert "getlk=0 type_unlck=0 l_pid=1" in out


def test_kill_0_and_kill_minus_pgid_stay_inside(misc):
    # Run scribe under a shell in a session of its own: a SIGUSR1 escaping
    # the VEE would kill scribe and show up in the shell's trap.
    script = 'trap "echo ESCAPED" USR1; "$@"; echo "scribe_rc=$?"'
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(["sh", "-c", script, "sh", *scribe_cmd("run", "--", misc, "killgroup")],
                          capture_output=True, text=True, timeout=T, env=env, start_new_session=True)
    out = proc.stdout
    assert "ESCAPED" not in out and "scribe_rc=0" in out, out + proc.stderr
    assert "child got=1" in out and "pgrp=1 kill0=0 parent_got=1" in out, out
    assert "grandchild pgrp=3 got=1" in out and "group leader pgrp=3 got=1" in out, out
    assert "killpg=0 leader=3 parent_got_after=0" in out, out

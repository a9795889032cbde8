"""`scribe run`: programs see virtual ids from every interface, and scribe exits like a shell."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from scribe import exitcodes
from tests.conftest import scribe_cmd


def _parse(out: str) -> dict[str, str]:
    vals: dict[str, str] = {}
    for line in out.splitlines():
        for part in line.split():
            if "=" in part:
                k, v = part.split("=", 1)
                vals.setdefault(k, v)
    return vals


@pytest.mark.parametrize("mode", [[], ["--no-seccomp"]], ids=["seccomp", "ptrace-syscall"])
def test_ids_are_virtual_everywhere(guest, scribe, mode):
    exe = guest("ids")
    proc = scribe("run", *mode, "--", str(exe))
    assert proc.returncode == 3, proc.stderr
    v = _parse(proc.stdout)
    # The first process is 1, in its own group; its parent is outside the VEE.
    assert v["getpid"] == "1" and v["gettid"] == "1"
    assert v["getppid"] == "0"
    assert v["getpgrp"] == v["getpgid0"] == v["getpgid_self"] == "1"
    assert v["proc_self"] == "1"
    assert v["proc_vpid_open"] == "ok"
    assert v["kill_self0"] == "0"
    assert v["kill_bogus"] == "-1" and v["errno"] == "3"
    # Children in creation order; every interface agrees on their ids.
    assert "child getpid=2 getppid=1" in proc.stdout
    assert v["fork"] == v["waitpid"] == v["sigchld_si_pid"] == "2"
    assert v["fork2"] == v["waitid_si_pid"] == "3"
    assert v["getpgid_child"] == "1"
    assert "thread gettid=4" in proc.stdout
    # SysV IPC ids and the pids inside IPC structures are virtual too.
    assert v["msgget"] == "0" and v["msg_lspid"] == "1"
    assert v["shmget"] == "0" and v["shm_cpid"] == "1"
    assert v["semget"] == "0" and v["sem_getpid"] == "1"
    # The session leader is the user's shell, outside the VEE.
    assert v["getsid0"] == "0"
    # No real pid leaks: every number printed as an id is tiny.
    for key in ("getpid", "getppid", "fork", "fork2", "waitpid", "proc_self"):
        assert int(v[key]) < 10


def test_same_ids_on_every_run(guest, scribe):
    exe = guest("ids")
    outs = {scribe("run", "--", str(exe)).stdout for _ in range(3)}
    assert len(outs) == 1


def test_exit_status_propagates(scribe):
    assert scribe("run", "--", "sh", "-c", "exit 42").returncode == 42


def test_signal_death_propagates():
    proc = subprocess.run(scribe_cmd("run", "--", "sh", "-c", "kill -TERM $$"), capture_output=True)
    assert proc.returncode == -signal.SIGTERM


def test_command_not_found(scribe):
    proc = scribe("run", "--", "no-such-command-xyz")
    assert proc.returncode == exitcodes.NOT_FOUND
    assert proc.stderr.strip() == "scribe: no-such-command-xyz: command not found"


def test_not_executable(scribe, tmp_path):
    f = tmp_path / "script"
    f.write_text("echo hi\n")
    os.chmod(f, 0o644)
    proc = scribe("run", "--", str(f))
    assert proc.returncode == exitcodes.NOT_EXECUTABLE
    assert "Permission denied" in proc.stderr and "Traceback" not in proc.stderr
    proc = scribe("run", "--", str(tmp_path))
    assert proc.returncode == exitcodes.NOT_EXECUTABLE


def test_missing_command_is_usage_error(scribe):
    assert scribe("run").returncode == exitcodes.USAGE


def test_stdin_and_pipeline(scribe):
    proc = scribe("run", "--", "sh", "-c", "seq 1 2000 | sort -rn | head -3", input="")
    assert proc.returncode == 0
    assert proc.stdout.split() == ["2000", "1999", "1998"]
    proc = scribe("run", "--", "cat", input="hello\n")
    assert proc.stdout == "hello\n"


def test_kill_minus_one_stays_inside(guest, scribe):
    # kill(-1) must reach the VEE's processes only (the real call, as root,
    # would signal everything on the host, including this test runner).
    proc = scribe("run", "--", "sh", "-c", "sleep 30 & sleep 30 & kill -TERM -1; wait; echo done")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "done"


def test_proc_stat_and_status_show_virtual_pids(scribe):
    proc = scribe("run", "--", "sh", "-c",
                  'cat /proc/self/status; echo; cut -d" " -f1,4,5,6 /proc/$$/stat')
    assert proc.returncode == 0, proc.stderr
    status = dict(line.split(":\t", 1) for line in proc.stdout.splitlines() if ":\t" in line)
    assert status["Pid"] == status["Tgid"] == "2"      # cat, the shell's child
    assert status["PPid"] == "1"
    assert status["TracerPid"] == "0"                  # the tracer is outside the VEE
    assert status["NSpid"] == "2"
    assert proc.stdout.splitlines()[-1] == "1 0 1 0"   # shell: pid, ppid, pgrp, session


def test_scm_credentials_carry_virtual_pids(guest, scribe, tmp_path):
    exe = str(guest("vee_creds"))
    proc = scribe("run", "--", exe)
    assert proc.returncode == 0, proc.stderr
    assert "child sent pid=2" in proc.stdout
    assert "received pid=2 fork=2" in proc.stdout
    trace = tmp_path / "t.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", exe)
    rep = scribe("replay", str(trace))
    assert rec.stdout == rep.stdout == proc.stdout


def test_proc_listing_shows_the_vee_only(scribe):
    proc = scribe("run", "--", "sh", "-c", 'sleep 2 & ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; kill $!')
    assert proc.returncode == 0, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert 1 in pids and 2 in pids        # the shell and its sleep
    assert max(pids) < 10                 # nothing from outside the VEE


NETLINK = r'''
import os, socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0))
pid, _groups = s.getsockname()
s.send(struct.pack("=LHHLL", 32, 18, 0x301, 1, 0) + struct.pack("=BxHiII", 0, 0, 0, 0, 0))
data = s.recv(65536)
print("getpid", os.getpid(), "port", pid, "reply", struct.unpack_from("=LHHLL", data)[4])
'''


def test_netlink_port_ids_are_virtual(scribe, tmp_path):
    import sys

    script = tmp_path / "nl.py"
    script.write_text(NETLINK)
    proc = scribe("run", "--", sys.executable, str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "getpid 1 port 1 reply 1\n"
    trace = tmp_path / "t.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", sys.executable, str(script))
    assert rec.stdout == proc.stdout
    assert scribe("replay", str(trace)).stdout == proc.stdout


def _cgroup_procs() -> str | None:
    import glob

    for path in sorted(glob.glob("/sys/fs/cgroup/*/cgroup.procs")) + ["/sys/fs/cgroup/cgroup.procs"]:
        if os.access(path, os.R_OK | os.W_OK):
            return path
    return None


def test_cgroup_procs_hold_virtual_pids(scribe, tmp_path):
    path = _cgroup_procs()
    if path is None:
        pytest.skip("no writable cgroup.procs here")
    script = f'sleep 1 & cat {path} | sort -n | tr "\\n" " "; echo; echo $$ > {path}; echo rc=$?; wait'
    run = scribe("run", "--", "sh", "-c", script)
    pids = [int(p) for p in run.stdout.splitlines()[0].split()]
    assert 1 in pids and max(pids) < 10  # the VEE's processes, under virtual pids
    assert "rc=2" in run.stdout and "refused under `scribe run`" in run.stderr
    trace = tmp_path / "t.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", "sh", "-c", script)
    assert "rc=0" in rec.stdout  # the virtual pid 1 was written as the real one
    assert scribe("replay", str(trace)).stdout == rec.stdout


def test_clone3_set_tid_and_pidfd_info_are_virtual(guest, scribe, tmp_path):
    exe = str(guest("vee_set_tid"))
    run = scribe("run", "--", exe)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "child getpid=500",
        "clone3 set_tid=500 -> 500",
        "taken pid -> -1 errno=17",   # EEXIST: pid 1 is the VEE's init
        "next fork -> 2",             # a chosen pid does not move the counter
        "pidfd_info rc=0 pid=1 tgid=1 ppid=0",
    ]
    trace = tmp_path / "t.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", exe)
    assert rec.stdout == run.stdout
    rep = scribe("replay", str(trace))
    assert rep.stdout == run.stdout and rep.returncode == 0, rep.stderr


def test_robust_mutex_owner_death_is_seen(guest, scribe, tmp_path):
    """glibc keeps virtual tids in robust mutexes; the kernel must still
    recognise a dead owner (without the translation the next lock hangs)."""
    exe = str(guest("vee_robust"))
    run = scribe("run", "--", exe, timeout=30)
    assert run.stdout == "lock after owner died: EOWNERDEAD\n", run.stderr
    trace = tmp_path / "t.scribe"
    rec = scribe("record", "-q", "-o", str(trace), "--", exe, timeout=30)
    assert rec.stdout == run.stdout
    rep = scribe("replay", str(trace), timeout=30)
    assert rep.stdout == run.stdout and rep.returncode == 0, rep.stderr


def test_fanotify_events_name_virtual_pids(guest, scribe, tmp_path):
    target = tmp_path / "watched"
    target.write_text("x")
    proc = scribe("run", "--", str(guest("vee_fanotify")), str(target))
    if proc.returncode == 2:
        pytest.skip(f"fanotify not available here: {proc.stderr.strip()}")
    assert proc.stdout == "child=2 event pid=2\n", proc.stderr


def test_seccomp_user_notification_names_virtual_pids(guest, scribe):
    proc = scribe("run", "--", str(guest("vee_unotify")), timeout=30)
    if "seccomp:" in proc.stdout + proc.stderr:
        pytest.skip("seccomp user notification not available here")
    assert proc.stdout.splitlines() == ["notified by pid=2", "getppid answered 77 by pid 2"], proc.stderr

"""`scribe run` as a command: refused ptrace, signals sent to scribe itself,
scribe killed outright, and job control in an interactive shell (tmux)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from scribe import exitcodes
from tests.conftest import ROOT, scribe_cmd

T = 30

# A wrapper that makes ptrace fail with EPERM (as a container's seccomp
# profile does) and then runs scribe.
_DENY_PTRACE = r"""
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
ins = lambda code, jt, jf, k: struct.pack("=HBBI", code, jt, jf, k)
prog = b"".join([
    ins(0x20, 0, 0, 0),              # ld nr
    ins(0x15, 0, 1, 101),            # jeq ptrace
    ins(0x06, 0, 0, 0x00050000 | 1), # ret ERRNO(EPERM)
    ins(0x06, 0, 0, 0x7FFF0000),     # ret ALLOW
])
buf = ctypes.create_string_buffer(prog, len(prog))
class Fprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))
fp = Fprog(len(prog) // 8, ctypes.addressof(buf))
libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.addressof(fp), 0, 0):
    sys.exit(99)
os.execv(sys.argv[1], sys.argv[1:])
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_ptrace_not_permitted(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _DENY_PTRACE, *scribe_cmd("run", "--", "true")],
                          capture_output=True, text=True, timeout=T, env=_env())
    if proc.returncode == 99:
        pytest.skip("cannot install a seccomp filter here")
    assert proc.returncode == exitcodes.NO_PTRACE, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scribe: ptrace is not permitted here"), proc.stderr
    assert "Operation not permitted" in lines[0]


def _start(*cmd: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(scribe_cmd("run", "--", *cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=_env(), start_new_session=True)
    assert p.stdout is not None
    ready, _, _ = select.select([p.stdout], [], [], T)
    if not ready:
        p.kill()
        raise AssertionError("the program never said ready")
    assert p.stdout.readline().strip() == "ready"
    return p


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 42), (signal.SIGHUP, 43)])
def test_terminating_signal_to_scribe_reaches_the_program(sig, code):
    name = signal.Signals(sig).name[3:]
    script = (f'trap "echo got-{name}; exit {code}" {name}; echo ready; '
              'while :; do sleep 0.05; done')
    p = _start("sh", "-c", script)
    try:
        p.send_signal(sig)
        out, err = p.communicate(timeout=T)
    finally:
        p.kill()
    assert f"got-{name}" in out, err
    assert p.returncode == code, err


def test_sigterm_with_default_action_kills_scribe_the_same_way():
    p = _start("sh", "-c", "echo ready; exec sleep 1000")
    try:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=T)
    finally:
        p.kill()
    assert p.returncode == -signal.SIGTERM


def _alive_with(token: str, states: bytes = b"") -> list[int]:
    """Live processes whose command line holds token (in one of states, if given)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{d}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmd and state != b"Z" and (not states or state in states):
            pids.append(int(d))
    return pids


def _wait_sleeping(token: str) -> None:
    """Wait until a process with token blocks in the kernel (runs, not stopped)."""
    deadline = time.monotonic() + T
    while not _alive_with(token, b"S") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _alive_with(token, b"S"), f"no sleeping process with {token}"


def test_sigkill_to_scribe_leaves_no_traced_process():
    token = f"{time.time_ns() % 10**9}.{uuid.uuid4().int % 10**6}"
    p = _start("sh", "-c", f"sleep {token} & sleep {token} & (sleep {token}; :) & echo ready; wait")
    try:
        deadline = time.monotonic() + T
        # scribe, sh, the subshell and three sleeps carry the token.
        while len(_alive_with(token)) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(_alive_with(token)) == 6
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=T)
        # PTRACE_O_EXITKILL: every tracee gets SIGKILL when the tracer dies.
        deadline = time.monotonic() + T
        while _alive_with(token) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = _alive_with(token)
    finally:
        p.kill()
        for pid in _alive_with(token):
            os.kill(pid, signal.SIGKILL)
    assert left == []


# -- job control in a real terminal -------------------------------------------

SOCKET = f"scribe-run-test-{os.getpid()}"


def _tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=10)


def _wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-J", "-S", "-100", "-t", session).stdout
        if text in screen:
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")


@pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("bash") is None,
                    reason="tmux or bash is not installed")
def test_interactive_bash_job_control_in_tmux():
    session = f"run-{os.getpid()}"
    inner = " ".join(scribe_cmd("run", "--", "bash", "--norc", "--noprofile", "-i"))
    cmd = (f"cd {ROOT} && PYTHONPATH={ROOT} PS1='$ ' {inner}; echo scribe-exit=$?; sleep 60")
    r = _tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", session, cmd)
    assert r.returncode == 0, r.stderr
    try:
        keys = lambda *k: _tmux("send-keys", "-t", session, *k)  # noqa: E731
        keys("echo in-vee-$$", "Enter")
        _wait_for(session, "in-vee-1")
        # Ctrl-C interrupts the foreground job, not bash or scribe.
        token = f"{1000 + os.getpid() % 1000}.{time.time_ns() % 10**6}"
        keys(f"sleep {token}", "Enter")
        _wait_sleeping(token)
        keys("C-c")
        keys("echo after-int-$?", "Enter")
        _wait_for(session, "after-int-130")
        # Ctrl-Z stops it, fg brings it back (it really runs again), Ctrl-C ends it.
        keys(f"sleep {token}", "Enter")
        _wait_sleeping(token)
        keys("C-z")
        _wait_for(session, "Stopped")
        keys("echo after-stop-$?", "Enter")
        _wait_for(session, "after-stop-148")
        assert _alive_with(token) and not _alive_with(token, b"S")
        keys("fg", "Enter")
        _wait_sleeping(token)
        keys("C-c")
        keys("echo after-fg-$?", "Enter")
        _wait_for(session, "after-fg-130")
        assert not _alive_with(token)
        keys("exit 7", "Enter")
        _wait_for(session, "scribe-exit=7")
    finally:
        _tmux("kill-server")

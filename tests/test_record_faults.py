"""Recording when things go wrong: crashes, a killed recorder, signals, a full disk."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time

import pytest

from scribe import exitcodes
from tests.conftest import ROOT, scribe_cmd

CRASH = r'''
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
static void h(int s) { (void)s; write(1, "handler\n", 8); _exit(9); }
static sigjmp_buf back;
static void r(int s) {  /* a call with an address on the signal's frame, then back */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, s);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    siglongjmp(back, 1);
}
int main(int argc, char **argv) {
    printf("before %d\n", getpid()); fflush(stdout);
    if (argv[1][0] == 'h') signal(SIGSEGV, h);
    if (argv[1][0] == 'r') {
        signal(SIGSEGV, r);
        for (int i = 0; i < 3; i++)
            if (!sigsetjmp(back, 1)) *(volatile int *)0 = 1;
        printf("recovered\n");
        return 0;
    }
    if (argv[1][0] == 'a') abort();
    if (argv[1][0] == 'e') { fprintf(stderr, "bye\n"); exit(4); }
    *(volatile int *)0 = 1;
    return 0;
}
'''


@pytest.fixture(scope="module")
def crash(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    (d / "crash.c").write_text(CRASH)
    subprocess.run(["gcc", "-o", str(d / "crash"), str(d / "crash.c")], check=True)
    return str(d / "crash")


@pytest.mark.parametrize("mode,status", [("segv", -signal.SIGSEGV), ("handler", 9), ("recover", 0),
                                         ("abort", -signal.SIGABRT), ("exit", 4)])
def test_crash_is_recorded_and_replayed(crash, tmp_path, mode, status):
    """(recover: the handler's frame where the fault put it. Replay sent the
    fault's signal itself at the end of the call before, on another frame,
    and the handler's sigprocmask diverged on its address.)"""
    trace = tmp_path / "c.scribe"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rec = subprocess.run(scribe_cmd("record", "-q", "-o", str(trace), "--", crash, mode),
                         capture_output=True, env=env, timeout=60)
    assert rec.returncode == status, rec.stderr
    for _ in range(2):
        rep = subprocess.run(scribe_cmd("replay", str(trace)), capture_output=True, env=env, timeout=60)
        assert rep.returncode == status, rep.stderr
        assert rep.stdout == rec.stdout
    info = subprocess.run(scribe_cmd("info", str(trace)), capture_output=True, text=True, env=env)
    assert "complete" in info.stdout and "incomplete" not in info.stdout


LOOP = "i=0; while [ $i -lt 400 ]; do echo $i; i=$((i+1)); sleep 0.01; done"


def _start_recording(trace, cmd: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(scribe_cmd("record", "-q", "-o", str(trace), "--", "sh", "-c", cmd),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _wait_for_output(proc: subprocess.Popen[bytes], lines: int) -> bytes:
    out = b""
    deadline = time.monotonic() + 30
    while out.count(b"\n") < lines and time.monotonic() < deadline:
        out += os.read(proc.stdout.fileno(), 4096)  # type: ignore[union-attr]
    return out


def test_killed_recorder_leaves_a_readable_trace_and_no_tracee(tmp_path, scribe):
    trace = tmp_path / "k.scribe"
    proc = _start_recording(trace, f"echo marker-$$-xyz; {LOOP}")
    _wait_for_output(proc, 20)
    time.sleep(0.3)  # more than the writer's flush interval
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.3)
    ps = subprocess.run(["pgrep", "-f", "i -lt 400"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", "a traced process survived its recorder"
    info = scribe("info", str(trace))
    assert info.returncode == 0 and "incomplete" in info.stdout
    assert "incomplete" in scribe("ps", str(trace)).stderr + scribe("ps", str(trace)).stdout
    rep = scribe("replay", str(trace))
    assert rep.returncode == exitcodes.INCOMPLETE, rep.stderr
    assert "end of the incomplete trace" in rep.stderr
    lines = rep.stdout.splitlines()
    assert lines[0] == "marker-1-xyz" and len(lines) >= 15
    assert lines[1:] == [str(i) for i in range(len(lines) - 1)]
    # The footer can be written back; the trace then says it is complete.
    assert scribe("info", "--repair", str(trace)).returncode == 0
    assert "incomplete" not in scribe("info", str(trace)).stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_to_scribe_reach_the_program(tmp_path, scribe, sig):
    trace = tmp_path / "s.scribe"
    proc = _start_recording(trace, f"trap 'echo got-signal; exit 3' {sig.name[3:]}; {LOOP}")
    _wait_for_output(proc, 5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert b"got-signal" in out
    info = scribe("info", str(trace))
    assert "incomplete" not in info.stdout  # finalized
    rep = scribe("replay", str(trace))
    assert rep.returncode == 3, rep.stderr
    assert "got-signal" in rep.stdout


def test_file_size_limit_while_recording(tmp_path, scribe):
    trace = tmp_path / "f.scribe"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(scribe_cmd("record", "-q", "-o", str(trace), "--", "sh", "-c", "cat /bin/sh /bin/ls > /dev/null"),
                          capture_output=True, text=True, env=env, preexec_fn=limit, timeout=60)
    assert proc.returncode == exitcodes.TRACE_WRITE, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert os.path.getsize(trace) <= 400_000
    info = scribe("info", str(trace))
    assert info.returncode in (0, exitcodes.BAD_TRACE)
    assert "Traceback" not in info.stderr


def test_unwritable_output(tmp_path, scribe):
    proc = scribe("record", "-o", str(tmp_path / "no" / "such" / "dir" / "t.scribe"), "--", "true")
    assert proc.returncode == exitcodes.TRACE_WRITE
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr

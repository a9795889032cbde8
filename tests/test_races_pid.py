"""The PID races of Laadan & Nieh, forced for real.

Each test runs a small C guest under a *harness*: the real `Vee` policy over
the real `Tracer`, with a few hooks that count what happened (the PID init
race) or steer the schedule into the worst interleaving (the PID reuse race).
The harness runs in a child Python process (`python -c`), so its
`waitpid(-1)` loop never meets pytest's own children.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

KILL_NR = 62


# -- harness side (runs in the child Python process) -------------------------

def _run_traced(tracer, vee, argv: list[str]) -> int:
    from scribe.launch import run_traced

    return run_traced(tracer, argv, dict(os.environ), on_started=vee.first_process)


def harness_init(out: str, mode: str, argv: list[str]) -> int:
    """Run argv under Vee and count the children whose first stop came early."""
    from virt.tracer import Tracer
    from virt.vee import Vee

    class CountingTracer(Tracer):
        parked = 0

        def _unknown(self, pid: int, status: int) -> None:
            if os.WIFSTOPPED(status):
                self.parked += 1
                if mode == "drop":
                    return  # the mechanism removed: forget the early stop
            super()._unknown(pid, status)

    vee = Vee()
    tracer = CountingTracer(vee)
    status = _run_traced(tracer, vee, argv)
    Path(out).write_text(json.dumps({"parked": tracer.parked, "status": status}))
    return 0


def harness_reuse(out: str, mode: str, argv: list[str]) -> int:
    """Steer the PID reuse race into its worst schedule.

    The guest's process A calls kill(vB, SIGUSR1). At A's entry stop the Vee
    translates vB to B's real pid (and pins it); the harness then holds A, as
    if the kernel had not run the call yet. B exits and is reaped; the guest
    forks C, and the harness writes ns_last_pid so C gets B's old real pid.
    Only then (or as soon as B is held at its exit stop) is A let go.
    With the pin, B cannot finish exiting while A's call is in flight, so A's
    signal reaches B; without it (mode "nopin") the signal would kill C.
    """
    from virt.tracer import HOLD, RUN, RUN_EXIT, Tracer
    from virt.vee import Vee, _i32

    log: dict[str, object] = {"b_real": 0, "c_real": 0, "a_released_at": ""}

    class Harness(Vee):
        held_a = None
        a_action = RUN
        forced = False

        def syscall_entry(self, t):
            if t.nr == KILL_NR and _i32(t.args[1]) == signal.SIGUSR1 and not log["b_real"]:
                log["b_real"] = self.pids.to_real(_i32(t.args[0])) or -1
                action = super().syscall_entry(t)
                if action in (RUN, RUN_EXIT):
                    self.held_a, self.a_action = t, action
                    return HOLD
                return action
            if t.nr in (56, 57, 435) and log["b_real"] and not self.forced:
                b = int(log["b_real"])  # type: ignore[arg-type]
                if b not in self.tracer.tracees and b not in self.zombies:
                    # B is gone and reaped: make the next process take its pid.
                    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                        f.write(str(b - 1))
                    self.forced = True
            return super().syscall_entry(t)

        def release_a(self, when: str) -> None:
            t, self.held_a = self.held_a, None
            if t is None:
                return
            log["a_released_at"] = when
            self.tracer.finish_entry(t, self.a_action)

        def exiting(self, t, status):
            held = super().exiting(t, status) if mode != "nopin" else False
            if held and t.tid == log["b_real"]:
                self.release_a("b-held-at-exit")
            return held

        def spawned(self, parent, child, kind, flags):
            super().spawned(parent, child, kind, flags)
            if self.forced and not log["c_real"]:
                log["c_real"] = child.tid
                self.release_a("c-spawned")

    vee = Harness()
    tracer = Tracer(vee)
    log["status"] = _run_traced(tracer, vee, argv)
    Path(out).write_text(json.dumps(log))
    return 0


def harness_main(argv: list[str]) -> int:
    which, out, mode, *cmd = argv
    if which == "ipc":
        from tests.test_races_ipc import harness_ipc

        return harness_ipc(out, mode, cmd)
    return {"init": harness_init, "reuse": harness_reuse}[which](out, mode, cmd)


# -- test side -----------------------------------------------------------------

def ns_prefix() -> list[str] | None:
    """A command prefix giving a private PID + IPC namespace where ns_last_pid
    and msg_next_id are writable (root: plain unshare; else a user namespace)."""
    if shutil.which("unshare") is None:
        return None
    probe = "echo 300 > /proc/sys/kernel/ns_last_pid && echo 5 > /proc/sys/kernel/msg_next_id"
    for prefix in (["unshare", "-pif", "--mount-proc"], ["unshare", "-Urpif", "--mount-proc"]):
        try:
            r = subprocess.run([*prefix, "sh", "-c", probe], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return prefix
    return None


def run_harness(which: str, mode: str, cmd: list[str], tmp_path: Path, *, ns: bool,
                timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / f"{which}-{mode}.json"
    prefix: list[str] = []
    if ns:
        p = ns_prefix()
        if p is None:
            pytest.skip("no private PID namespace with a writable ns_last_pid/msg_next_id here "
                        "(needs root or unprivileged user namespaces)")
        prefix = p
    code = f"import sys; from {__name__} import harness_main; sys.exit(harness_main(sys.argv[1:]))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([*prefix, sys.executable, "-c", code, which, str(out), mode, *cmd],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=str(ROOT))
    assert out.exists(), proc.stderr
    return proc, json.loads(out.read_text())


def test_pid_init_race_1000_forks(guest, tmp_path):
    exe = guest("race_fork")
    proc, log = run_harness("init", "park", [str(exe), "500"], tmp_path, ns=False)
    assert os.waitstatus_to_exitcode(log["status"]) == 0, proc.stdout + proc.stderr
    # Every child saw the id its parent got from fork, in creation order:
    # the first process is 1, its 500 children 2..501, the forker 502 and
    # the forker's 500 children 503..1002.
    assert "parent forks=500 bad=0 first=2 last=501" in proc.stdout, proc.stdout + proc.stderr
    assert "grandchild forks=500 bad=0 first=503 last=1002" in proc.stdout, proc.stdout + proc.stderr
    assert "forker=502 status=0" in proc.stdout
    # The race really happened: some children stopped before their parent's
    # fork event reached the tracer and were parked until it came.
    assert log["parked"] > 0


@pytest.mark.parametrize("mode", ["pin", "nopin"])
def test_pid_reuse_race(guest, tmp_path, mode):
    exe = guest("race_reuse")
    proc, log = run_harness("reuse", mode, [str(exe)], tmp_path, ns=True)
    out = proc.stdout + proc.stderr
    assert os.waitstatus_to_exitcode(log["status"]) == 0, out
    # The real pid really was reused: C got B's old real pid.
    assert log["b_real"] > 0 and log["c_real"] == log["b_real"], (log, out)
    assert "b=2 a=3 c=4 " in proc.stdout, out
    if mode == "pin":
        # B was held at its exit stop while A's kill was in flight, so the
        # kill reached B (exiting) and C lived.
        assert log["a_released_at"] == "b-held-at-exit", log
        assert "a_exit=0 c_status=exit0" in proc.stdout, out
    else:
        # Control: without the pin the stale translation kills C. This is
        # the failure the mechanism exists to prevent.
        assert log["a_released_at"] == "c-spawned", log
        assert f"c_status=signal{int(signal.SIGUSR1)}" in proc.stdout, out

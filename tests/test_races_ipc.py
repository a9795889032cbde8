"""The IPC reuse race, forced for real with msg_next_id in a private IPC namespace.

The harness (real `Vee` over the real `Tracer`, see tests/test_races_pid.py)
holds the guest's msgsnd right after its queue id was translated, as if the
kernel had not run it yet; the guest then removes the queue and creates a new
one, which the harness makes take the removed queue's real id. With the
mechanism, the creation waits until the stale call has drained (and the
removal itself is not delayed); without it (mode "nohold") the stale message
lands in the new queue.
"""

from __future__ import annotations

import os

import pytest

from tests.test_races_pid import run_harness

MSGGET, MSGSND = 68, 69


def harness_ipc(out: str, mode: str, argv: list[str]) -> int:
    import json
    from pathlib import Path

    from scribe.launch import run_traced
    from virt.ipcns import MSG, IpcSpace
    from virt.tracer import HOLD, RUN, RUN_EXIT, Tracer
    from virt.vee import Vee, _i32

    log: dict[str, object] = {"q0_real": -1, "q1_real": -1, "a_released_at": "", "creators_held": 0}

    class Harness(Vee):
        held_a = None
        a_action = RUN

        def __init__(self) -> None:
            super().__init__()
            if mode == "nohold":
                space = self.ipc[MSG]

                def removed(real: int, s: IpcSpace = space) -> None:
                    IpcSpace.removed(s, real)
                    s.draining.discard(real)  # the mechanism removed
                space.removed = removed  # type: ignore[method-assign]

        def syscall_entry(self, t):
            if t.nr == MSGSND and log["q0_real"] == -1:
                log["q0_real"] = self.ipc[MSG].to_real(_i32(t.args[0]))
                action = super().syscall_entry(t)
                if action in (RUN, RUN_EXIT):
                    self.held_a, self.a_action = t, action
                    return HOLD
                return action
            if t.nr == MSGGET and log["q0_real"] != -1 and log["q1_real"] == -1:
                # The creation after the removal (also when re-run after a hold).
                with open("/proc/sys/kernel/msg_next_id", "w") as f:
                    f.write(str(log["q0_real"]))
            action = super().syscall_entry(t)
            if action == HOLD and t.nr == MSGGET:
                log["creators_held"] = int(log["creators_held"]) + 1  # type: ignore[arg-type]
                self.release_a("creator-held")
            return action

        def syscall_exit(self, t):
            if t.nr == MSGGET and log["q1_real"] == -1 and log["q0_real"] != -1 and t.result >= 0:
                log["q1_real"] = t.result
            super().syscall_exit(t)
            if t.nr == MSGGET:
                self.release_a("after-create")

        def release_a(self, when: str) -> None:
            t, self.held_a = self.held_a, None
            if t is None:
                return
            log["a_released_at"] = when
            self.tracer.finish_entry(t, self.a_action)

    vee = Harness()
    tracer = Tracer(vee)
    log["status"] = run_traced(tracer, argv, dict(os.environ), on_started=vee.first_process)
    Path(out).write_text(json.dumps(log))
    return 0


@pytest.mark.parametrize("mode", ["hold", "nohold"])
def test_ipc_reuse_race(guest, tmp_path, mode):
    exe = guest("race_ipc")
    proc, log = run_harness("ipc", mode, [str(exe)], tmp_path, ns=True)
    out = proc.stdout + proc.stderr
    assert os.waitstatus_to_exitcode(log["status"]) == 0, out
    # The real id really was reused by the new queue.
    assert log["q0_real"] >= 0 and log["q1_real"] == log["q0_real"], (log, out)
    # Virtual ids: per type, in creation order.
    assert "q0=0 q1=1 " in proc.stdout, out
    if mode == "hold":
        # The creator waited at its entry stop while A's stale msgsnd drained;
        # A found its queue gone (EINVAL) and q1 stayed empty.
        assert log["a_released_at"] == "creator-held" and log["creators_held"] >= 1, log
        assert "a_exit=122 q1_has=nothing" in proc.stdout, out
    else:
        # Control: without the hold the stale message lands in the new queue.
        assert log["a_released_at"] == "after-create", log
        assert "a_exit=0 q1_has=stale" in proc.stdout, out
    # IPC_RMID is never delayed: it wakes the blocked msgrcv with EIDRM, and
    # creation works again once the removed id has drained (no deadlock).
    assert "q2=2 rmid=0 d_eidrm=yes q3=3" in proc.stdout, out

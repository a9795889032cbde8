"""The recorder's own PTRACE_INTERRUPT (its preemption tick) striking a
blocking call: the call ends with a restart code the program never sees.

The tick interrupts the thread that holds the runner token; if that thread
has just entered a blocking call, the interrupt cuts the call short and the
kernel resumes it by itself.  A sleep comes back as restart_syscall
(ERESTART_RESTARTBLOCK), which the trace must show as the sleep itself, or
replay (which emulates one sleep) diverges.  The race is narrow, so the
test records in-process with a recorder that interrupts at the worst moment:
right at the sleep's entry stop.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from scribe import determinism as D
from scribe.recorder import Recorder
from tests.conftest import ROOT, scribe_cmd
from traces import Syscall, TraceReader, TraceWriter
from virt import ptrace_api as P
from virt.syscalls import BY_NAME
from virt.tracer import Tracer

pytestmark = pytest.mark.timeout(60)
SLEEPS = {BY_NAME["nanosleep"].nr, BY_NAME["clock_nanosleep"].nr}
NAMES = {info.nr: name for name, info in BY_NAME.items()}


class StrikingRecorder(Recorder):
    """Interrupts the first sleep as the preemption tick would."""

    struck = False

    def syscall_entry(self, t):  # type: ignore[no-untyped-def]
        action = super().syscall_entry(t)
        if not self.struck and t.nr in SLEEPS:
            self.struck = True
            t.policy["preempt"] = True
            P.interrupt(t.tid)  # lands once the sleep has begun
        return action


def test_a_sleep_our_interrupt_cut_short_is_recorded_as_one_sleep(guest, tmp_path) -> None:
    exe = str(guest("sleep_stop"))
    trace = tmp_path / "s.scribe"
    env = dict(os.environ)
    env.update(D.MASK_ENV)
    writer = TraceWriter(trace, {"argv": [exe], "env": env, "cwd": os.getcwd(), "exe": exe})
    rec = StrikingRecorder(writer)
    tracer = Tracer(rec)
    first = tracer.start(exe, [exe], env, setup=D.child_setup, foreground=False)
    rec.first_process(first)
    status = tracer.run()
    writer.close(status)
    assert rec.struck and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    with TraceReader(trace) as r:
        calls = [NAMES.get(ev.nr, ev.nr) for _, ev in r.events() if isinstance(ev, Syscall)]
    assert "restart_syscall" not in calls
    assert sum(c in ("nanosleep", "clock_nanosleep") for c in calls) == 1

    env2 = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(2):
        rep = subprocess.run(scribe_cmd("replay", str(trace)), capture_output=True, text=True,
                             env=env2, timeout=60)
        assert rep.returncode == 0, rep.stderr
        assert rep.stdout == "sleeping\nwoke 0\n"

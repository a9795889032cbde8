"""The trace's helper threads (the writer's, replay's read-ahead): how they start.

A helper is born with every signal blocked but the faults of its own
instructions: a process-directed signal must reach the thread that waits for
it (a tracer waiting for SIGCHLD with sigtimedwait lost the wake-up whenever
the kernel handed it to a helper, which dropped it). Started where the tracer
runs with the time-stamp counter trapped (virt/notsc.py), a helper inherits
the trap, and its clock reads must reach the handler that emulates them
(blocked, the first one would kill the process).

A helper runs at HELPER_NICE: on a spare CPU of its own the niceness changes
nothing, and where a computing tracee was moved beside it (virt/cpus.py)
the program goes first and the helper takes the time left over (the
writer's queue bound makes the tracer wait for it, should it fall behind).
`helper_ids` names the running helpers, for the tracer to move them.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Callable

FAULTS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
HELPER_NICE = 10
_running: set[int] = set()  # the helpers' thread ids


def start(target: Callable[[], None], name: str, cpus: set[int] | None = None) -> threading.Thread:
    """A daemon thread running target, started with the mask above, on
    `cpus` (the ones the tracer leaves free) if given, at HELPER_NICE."""
    def run() -> None:
        tid = threading.get_native_id()
        _running.add(tid)
        if cpus:
            try:
                os.sched_setaffinity(0, cpus)
            except OSError:
                pass  # a cpuset without them: where the tracer runs
        try:
            os.setpriority(os.PRIO_PROCESS, 0, HELPER_NICE)  # Linux: this thread alone
        except OSError:
            pass
        try:
            target()
        finally:
            _running.discard(tid)

    thread = threading.Thread(target=run, name=name, daemon=True)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - FAULTS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return thread


def helper_ids() -> list[int]:
    """The thread ids of the helpers running now."""
    return list(_running)

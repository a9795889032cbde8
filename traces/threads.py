"""The trace's helper threads (the writer's, replay's read-ahead): how they start.

A helper is born with every signal blocked but the faults of its own
instructions: a process-directed signal must reach the thread that waits for
it (a tracer waiting for SIGCHLD with sigtimedwait lost the wake-up whenever
the kernel handed it to a helper, which dropped it). Started where the tracer
runs with the time-stamp counter trapped (virt/notsc.py), a helper inherits
the trap, and its clock reads must reach the handler that emulates them
(blocked, the first one would kill the process).

`helper_ids` names the running helpers, for the tracer to move them (and
lower their priority) where a computing tracee goes to their CPUs
(virt/cpus.py).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Callable

FAULTS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
_running: set[int] = set()  # the helpers' thread ids


def start(target: Callable[[], None], name: str, cpus: set[int] | None = None) -> threading.Thread:
    """A daemon thread running target, started with the mask above, on
    `cpus` (the ones the tracer leaves free) if given."""
    def run() -> None:
        tid = threading.get_native_id()
        _running.add(tid)
        if cpus:
            try:
                os.sched_setaffinity(0, cpus)
            except OSError:
                pass  # a cpuset without them: where the tracer runs
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

"""The trace's helper threads (the writer's, replay's read-ahead): how they start.

A helper is born with every signal blocked but the faults of its own
instructions: a process-directed signal must reach the thread that waits for
it (a tracer waiting for SIGCHLD with sigtimedwait lost the wake-up whenever
the kernel handed it to a helper, which dropped it). Started where the tracer
runs with the time-stamp counter trapped (virt/notsc.py), a helper inherits
the trap, and its clock reads must reach the handler that emulates them
(blocked, the first one would kill the process).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Callable

FAULTS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}


def start(target: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread running target, started with the mask above."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - FAULTS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return thread


def move_to(cpus: set[int] | None) -> None:
    """Run the calling thread on `cpus` (the ones the tracer leaves free), if given."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass

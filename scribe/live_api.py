"""The live-debugging protocol between the replay engine and the debugger UI.

The engine (scribe.live) implements `LiveSession`; the TUI (tui.live) drives
it. These types live on the engine's side so that scribe never imports tui.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable


class LiveUnavailable(Exception):
    """Live replay cannot be done here; str() says why, in one line."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Where a live replay stopped.

    event_no: the trace event the replay stopped *at*: that event's syscall
    entry (or signal, spawn...) has been reached and not yet replayed; equal
    to the trace length when the replay reached the end.
    tid: the virtual tid that stopped (the one registers() etc. default to).
    reason: "event" (run_to reached its target), "step", "breakpoint",
    "exit" (the followed process exited), "end" (end of trace), or
    "diverged" (message says how: event number, tid, expected vs actual).
    """

    event_no: int
    tid: int
    reason: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """Stop before an event that matches every field given (None = any)."""

    syscall: str | None = None  # syscall name, e.g. "openat"
    path: str | None = None  # substring of a path argument
    pid: int | None = None  # virtual pid
    event_no: int | None = None  # exact event number


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One line of /proc/<pid>/maps of the live (replayed) process."""

    start: int
    end: int
    perms: str
    offset: int
    path: str = ""


@dataclass(frozen=True, slots=True)
class Frame:
    """One backtrace frame; symbol is None where the binary has no symbols."""

    pc: int
    symbol: str | None = None
    offset: int = 0
    module: str | None = None


@runtime_checkable
class LiveSession(Protocol):
    """What the replay engine implements for the debugger.

    Every method is called from one and the same dedicated thread (see
    LiveRunner), may block, and raises LiveUnavailable (cannot be done at
    all) or another Exception with a one-line message (this request failed;
    the session remains usable).  tid/pid parameters are VIRTUAL ids; None
    means the thread of the last Stop.
    """

    available: bool
    reason: str  # why not available ("" when available)
    checkpoints: bool  # False: reverse moves re-run from the start (say so)
    # Optional, not part of the check: checkpoint_events() -> list[int], the
    # events a checkpoint is held at (the UI shows how many there are).

    def run_to(self, event_no: int) -> Stop:
        """Replay (forward, or back via checkpoint/restart) to event_no."""
        ...

    def step(self, tid: int | None = None) -> Stop:
        """Replay one event: of any thread (None), or of the given thread."""
        ...

    def cont(self, breakpoints: Sequence[Breakpoint]) -> Stop:
        """Continue until an event matches a breakpoint, or the end."""
        ...

    def reverse_step(self) -> Stop:
        """Go back one event (restore the nearest checkpoint, re-run)."""
        ...

    def reverse_cont(self, breakpoints: Sequence[Breakpoint]) -> Stop:
        """Go back to the last earlier event that matches a breakpoint."""
        ...

    def registers(self, tid: int | None = None) -> dict[str, int]:
        """General registers by name (rax, rip, ...), in display order."""
        ...

    def memory(self, addr: int, size: int, tid: int | None = None) -> bytes:
        """Read tracee memory; raises on unreadable addresses."""
        ...

    def maps(self, pid: int | None = None) -> list[MapEntry]:
        """The memory map of the process."""
        ...

    def backtrace(self, tid: int | None = None) -> list[Frame]:
        """Innermost frame first."""
        ...

    def close(self) -> None:
        """Kill the replayed processes and release everything."""
        ...

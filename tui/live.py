"""The seam between the debugger UI and a live replay.

The browsing part of the TUI only needs a trace; driving a *live* replay
(run to an event, step, look at registers and memory) needs scribe's replay
engine.  The app never talks to that engine directly: it talks to a
`LiveSession`, through a `LiveRunner` that owns one dedicated thread.

Why a dedicated thread: ptrace requests must come from the thread that
attached to the tracee, so every call into a session, including the one that
creates it, runs on the same OS thread, and never on the UI thread (a replay
step may block for a long time).  The UI awaits the runner's futures from a
Textual worker, so the interface stays responsive.

Until the replay engine provides `scribe.live.open_session`, the factory
returns an `UnavailableLiveSession`, whose every operation raises
`LiveUnavailable` with the reason, which the UI shows as it is.  Results are
never faked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, TypeVar, runtime_checkable

T = TypeVar("T")

#: The module the replay engine provides; it must define
#: ``open_session(trace_path: str) -> LiveSession``.
ENGINE_MODULE = "scribe.live"
#: why, when that module is missing (shown after "Live replay not available: ")
NO_ENGINE = (
    "this build of scribe has no replay engine for the debugger yet "
    f"({ENGINE_MODULE}.open_session)"
)


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


@dataclass
class UnavailableLiveSession:
    """The session used when live replay cannot be done: says why, always."""

    reason: str
    available: bool = False
    checkpoints: bool = False

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise LiveUnavailable(self.reason)

    run_to = step = cont = reverse_step = _refuse
    registers = memory = maps = backtrace = _refuse

    def close(self) -> None:
        """Nothing to release."""


def open_live_session(trace_path: str) -> LiveSession:
    """Ask the replay engine for a session over trace_path, or say why not.

    Must run on the runner's thread: the engine starts the tracee here.
    """
    try:
        engine = importlib.import_module(ENGINE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in (ENGINE_MODULE, ENGINE_MODULE.rpartition(".")[0]):
            raise
        return UnavailableLiveSession(NO_ENGINE)
    opener = getattr(engine, "open_session", None)
    if opener is None:
        return UnavailableLiveSession(f"{ENGINE_MODULE} has no open_session()")
    try:
        session = opener(trace_path)
    except LiveUnavailable as exc:
        return UnavailableLiveSession(str(exc))
    return session  # type: ignore[no-any-return]


@dataclass
class LiveRunner:
    """Runs every call of one LiveSession on one dedicated thread.

    The session is created lazily, on first use, by `factory` on that same
    thread.  `call` is awaited from a Textual worker.
    """

    trace_path: str
    factory: Callable[[str], LiveSession] = open_live_session
    _executor: concurrent.futures.ThreadPoolExecutor | None = field(default=None, repr=False)
    _session: LiveSession | None = field(default=None, repr=False)

    def _ensure(self) -> LiveSession:
        if self._session is None:
            self._session = self.factory(self.trace_path)
        return self._session

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="scribe-live"
            )
        return self._executor

    async def session(self) -> LiveSession:
        """The session (created on the live thread if needed)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), self._ensure)

    async def call(self, fn: Callable[[LiveSession], T]) -> T:
        """Run fn(session) on the live thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), lambda: fn(self._ensure()))

    def close(self) -> None:
        """Close the session on its thread and stop the thread."""
        if self._executor is None:
            return
        if self._session is not None:
            session = self._session
            try:
                self._executor.submit(session.close).result(timeout=5)
            except Exception:  # noqa: BLE001 - closing must not fail the quit
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self._session = None


def probe_engine() -> str | None:
    """Why live replay is unavailable (None: the engine module exists).

    Cheap: looks the module up without importing it, so the panel can say so
    before the user asks for anything.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(ENGINE_MODULE)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return NO_ENGINE
    return None


def parse_breakpoints(text: str) -> list[Breakpoint]:
    """'syscall=openat path=/etc pid=3 event=100' -> breakpoints.

    Each space-separated word is one breakpoint; several key=value pairs
    joined by ',' make one breakpoint that needs all of them.  A bare word is
    a syscall name, a bare number an event number.  Raises ValueError.
    """
    out = []
    for word in text.split():
        fields: dict[str, Any] = {}
        for part in word.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                key, value = ("event_no", key) if key.isdigit() else ("syscall", key)
            key = {"event": "event_no", "nr": "event_no", "name": "syscall"}.get(key, key)
            if key not in ("syscall", "path", "pid", "event_no"):
                raise ValueError(f"unknown breakpoint field {key!r} (syscall, path, pid, event)")
            if key in ("pid", "event_no"):
                try:
                    fields[key] = int(value, 0)
                except ValueError:
                    raise ValueError(f"{key} needs a number, not {value!r}") from None
            else:
                fields[key] = value
        out.append(Breakpoint(**fields))
    if not out:
        raise ValueError("no breakpoint given")
    return out

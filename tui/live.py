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
from typing import Any, Callable, TypeVar

T = TypeVar("T")

#: The module the replay engine provides; it must define
#: ``open_session(trace_path: str) -> LiveSession``.
ENGINE_MODULE = "scribe.live"
#: why, when that module is missing (shown after "Live replay not available: ")
NO_ENGINE = (
    "this build of scribe has no replay engine for the debugger yet "
    f"({ENGINE_MODULE}.open_session)"
)


# The protocol lives with the engine (scribe never imports tui); re-exported.
from scribe.live_api import (  # noqa: E402
    Breakpoint,
    Frame,
    LiveSession,
    LiveUnavailable,
    MapEntry,
    Stop,
)

__all__ = ["Breakpoint", "Frame", "LiveRunner", "LiveSession", "LiveUnavailable", "MapEntry", "Stop",
           "UnavailableLiveSession"]


@dataclass
class UnavailableLiveSession:
    """The session used when live replay cannot be done: says why, always."""

    reason: str
    available: bool = False
    checkpoints: bool = False

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise LiveUnavailable(self.reason)

    run_to = step = cont = reverse_step = reverse_cont = _refuse
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

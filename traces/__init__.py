"""The scribe trace file format: writer, reader, index and recovery.

Importing `traces` is cheap (the CLI imports `traces.errors` on every run):
everything but TraceError loads on first use -- the event classes and the
writer and reader, which need zstandard and msgpack.  The format itself is described in traces/FORMAT.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traces.errors import TraceError

if TYPE_CHECKING:  # pragma: no cover
    from traces.events import (
        BLOB_THRESHOLD,
        INLINE_MAX,
        BlobRef,
        Event,
        Exec,
        Exit,
        Header,
        Inline,
        Input,
        ProcessInfo,
        Signal,
        Spawn,
        Syscall,
        Unknown,
    )
    from traces.reader import TraceReader
    from traces.recovery import repair
    from traces.writer import TraceWriter

__all__ = [
    "TraceWriter", "TraceReader", "TraceError", "BlobRef",
    "Syscall", "Spawn", "Exec", "Exit", "Signal", "Input", "Unknown", "Event",
    "Header", "ProcessInfo", "repair", "BLOB_THRESHOLD", "INLINE_MAX", "Inline",
]

_EVENTS = ("BLOB_THRESHOLD", "INLINE_MAX", "BlobRef", "Event", "Exec", "Exit", "Header", "Inline", "Input",
           "ProcessInfo", "Signal", "Spawn", "Syscall", "Unknown")
_LAZY = {name: "traces.events" for name in _EVENTS}
_LAZY.update(TraceWriter="traces.writer", TraceReader="traces.reader", repair="traces.recovery")


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'traces' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

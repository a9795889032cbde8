"""The scribe trace file format: writer, reader, index and recovery.

Importing `traces` is cheap (the CLI imports `traces.errors` on every run):
the writer and reader, which need zstandard and msgpack, load on first use.
The format itself is described in traces/FORMAT.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traces.errors import TraceError
from traces.events import (
    BLOB_THRESHOLD,
    BlobRef,
    Event,
    Exec,
    Exit,
    Header,
    Input,
    ProcessInfo,
    Signal,
    Spawn,
    Syscall,
    Unknown,
)

if TYPE_CHECKING:  # pragma: no cover
    from traces.reader import TraceReader
    from traces.recovery import repair
    from traces.writer import TraceWriter

__all__ = [
    "TraceWriter", "TraceReader", "TraceError", "BlobRef",
    "Syscall", "Spawn", "Exec", "Exit", "Signal", "Input", "Unknown", "Event",
    "Header", "ProcessInfo", "repair", "BLOB_THRESHOLD",
]

_LAZY = {
    "TraceWriter": "traces.writer",
    "TraceReader": "traces.reader",
    "repair": "traces.recovery",
}


def __getattr__(name: str) -> Any:
    """Load the writer/reader modules (and their C dependencies) on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'traces' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

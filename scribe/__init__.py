"""scribe: record-replay debugging of Linux programs in a virtual execution environment."""

from __future__ import annotations

__version__ = "0.1.0"

"""The one error type that the trace library raises for bad input.

Kept free of heavy imports: the CLI imports it before anything else.
"""

from __future__ import annotations


class TraceError(Exception):
    """A trace file cannot be read or written; str() is a one-line message."""

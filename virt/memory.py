"""One way to read tracee memory, whether the tracee is alive or recorded.

Why: display code (``dump``, the TUI, live stepping) decodes pointers the same
way whatever the source of the bytes.  A live implementation (over ptrace)
lives with the tracer; this module holds the protocol, the error, and the
recorded implementation built from an event's captured ``reads`` and
``writes``.  It must stay free of ptrace imports: the TUI imports it.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Protocol, runtime_checkable


class MemoryReadError(Exception):
    """The requested bytes are not available (unmapped, or not recorded)."""

    def __init__(self, addr: int, size: int, reason: str = "unreadable") -> None:
        super().__init__(f"cannot read {size} bytes at {addr:#x}: {reason}")
        self.addr = addr
        self.size = size


@runtime_checkable
class Memory(Protocol):
    """Read access to a tracee's address space."""

    def read(self, addr: int, size: int) -> bytes:
        """Exactly ``size`` bytes at ``addr``, or raise MemoryReadError."""
        ...

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """Bytes from ``addr`` up to (not including) a NUL, at most ``limit``.

        Raises MemoryReadError when not even the first byte is readable.
        """
        ...


class RecordedMemory:
    """Memory made of the byte ranges an event recorded.

    Ranges may overlap: a later range wins, like a later write to memory
    (``writes`` follow ``reads`` when built by :meth:`from_event`, since the
    kernel wrote them after the entry captured its inputs).
    """

    def __init__(self, ranges: Iterable[tuple[int, bytes]] = ()) -> None:
        # Flattened into disjoint, sorted segments so lookups are a bisect.
        self._starts: list[int] = []
        self._segs: list[tuple[int, bytearray]] = []
        for addr, data in ranges:
            if isinstance(data, (bytes, bytearray, memoryview)) and len(data):
                self._insert(int(addr) & 0xFFFFFFFFFFFFFFFF, bytes(data))

    @classmethod
    def from_event(cls, event: object, data: object = None) -> "RecordedMemory":
        """Build from an event's ``reads`` then ``writes`` (later wins).

        ``data``: optional callable turning a BlobRef into bytes (a trace
        reader's ``data``); ranges whose data cannot be resolved are skipped.
        """
        ranges: list[tuple[int, bytes]] = []
        for attr in ("reads", "writes"):
            for item in getattr(event, attr, ()) or ():
                try:
                    addr, blob = item
                except (TypeError, ValueError):
                    continue
                if not isinstance(blob, (bytes, bytearray)):
                    if data is None:
                        continue
                    try:
                        blob = data(blob)  # type: ignore[operator]
                    except Exception:
                        continue
                if isinstance(addr, int) and isinstance(blob, (bytes, bytearray)):
                    ranges.append((addr, bytes(blob)))
        return cls(ranges)

    def _insert(self, addr: int, data: bytes) -> None:
        end = addr + len(data)
        new_starts: list[int] = []
        new_segs: list[tuple[int, bytearray]] = []
        placed = False
        for s, buf in self._segs:
            e = s + len(buf)
            if e <= addr or s >= end:
                if s >= end and not placed:
                    new_segs.append((addr, bytearray(data)))
                    placed = True
                new_segs.append((s, buf))
                continue
            # Overlap: keep the parts of the old segment outside [addr, end).
            if s < addr:
                new_segs.append((s, buf[: addr - s]))
            if not placed:
                new_segs.append((addr, bytearray(data)))
                placed = True
            if e > end:
                new_segs.append((end, buf[end - s:]))
        if not placed:
            new_segs.append((addr, bytearray(data)))
        new_segs.sort(key=lambda p: p[0])
        # Merge adjacent segments so reads spanning two ranges succeed.
        merged: list[tuple[int, bytearray]] = []
        for s, buf in new_segs:
            if merged and merged[-1][0] + len(merged[-1][1]) == s:
                merged[-1][1].extend(buf)
            else:
                merged.append((s, bytearray(buf)))
        self._segs = merged
        self._starts = [s for s, _ in merged]
        del new_starts

    def ranges(self) -> list[tuple[int, bytes]]:
        """The disjoint segments held, sorted by address."""
        return [(s, bytes(b)) for s, b in self._segs]

    def _segment(self, addr: int) -> tuple[int, bytearray] | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None
        s, buf = self._segs[i]
        if addr < s + len(buf):
            return s, buf
        return None

    def read(self, addr: int, size: int) -> bytes:
        if size < 0:
            raise MemoryReadError(addr, size, "negative size")
        if size == 0:
            return b""
        seg = self._segment(addr)
        if seg is None:
            raise MemoryReadError(addr, size, "not recorded")
        s, buf = seg
        off = addr - s
        if off + size > len(buf):
            raise MemoryReadError(addr, size, "not recorded")
        return bytes(buf[off: off + size])

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        seg = self._segment(addr)
        if seg is None:
            raise MemoryReadError(addr, 1, "not recorded")
        s, buf = seg
        off = addr - s
        chunk = bytes(buf[off: off + max(0, limit)])
        nul = chunk.find(b"\0")
        return chunk if nul < 0 else chunk[:nul]

"""Event <-> msgpack encoding of chunk payloads.

Each event is a msgpack array `[kind, dt, tid, ...]`: dt is the time since the
previous event (per chunk; the chunk payload carries the base time), which
turns 8-byte timestamps into 2-3 byte deltas.  Optional trailing fields are
left out when empty, so a syscall with no memory effects is just
`[0, dt, tid, nr, a0..a5, result]` (about 20 raw bytes, ~8 after zstd).
Arrays, not maps: field names would cost more than the values.

Forward compatibility lives here: an unknown kind decodes as Unknown, and
extra trailing fields on a known kind (added by a newer minor version) are
ignored.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import msgpack

from traces.errors import TraceError
from traces.events import (
    BLOB_THRESHOLD,
    INLINE_MAX,
    BlobRef,
    Exec,
    Exit,
    Inline,
    Input,
    Signal,
    Spawn,
    Syscall,
    Unknown,
)

K_SYSCALL = 0
K_SPAWN = 1
K_EXEC = 2
K_EXIT = 3
K_SIGNAL = 4
K_INPUT = 5

EXT_BLOBREF = 1
_DIGEST = 32


def _default(obj: Any) -> Any:
    """msgpack hook: BlobRef is an ext type (32-byte digest + 8-byte size)."""
    if type(obj) is BlobRef:
        return msgpack.ExtType(EXT_BLOBREF, obj.digest + obj.size.to_bytes(8, "little"))
    raise TypeError(f"cannot store a {type(obj).__name__} in a trace")


def _ext_hook(code: int, data: bytes) -> Any:
    """msgpack hook: rebuild BlobRefs; unknown ext types stay ExtType (forward compatible)."""
    if code == EXT_BLOBREF:
        if len(data) != _DIGEST + 8:
            raise ValueError("bad blob reference")
        return BlobRef(bytes(data[:_DIGEST]), int.from_bytes(data[_DIGEST:], "little"))
    return msgpack.ExtType(code, data)


def make_packer() -> msgpack.Packer:
    """A packer for trace payloads (one per writer; packers are not thread-safe)."""
    return msgpack.Packer(default=_default, use_bin_type=True, unicode_errors="surrogateescape")


def unpack(payload: bytes) -> Any:
    """Decode one msgpack payload; any malformation becomes TraceError."""
    try:
        return msgpack.unpackb(
            payload,
            use_list=False,
            raw=False,
            ext_hook=_ext_hook,
            unicode_errors="surrogateescape",
            strict_map_key=False,
        )
    except Exception as exc:  # msgpack raises a zoo of types on bad input
        raise TraceError(f"corrupt payload: {type(exc).__name__}") from None


def blob_digest(data: bytes) -> bytes:
    """Content hash naming a blob: SHA-256 (stable across machines and versions)."""
    return hashlib.sha256(data).digest()


_EVENT_TYPES = frozenset((Syscall, Spawn, Exec, Exit, Signal, Input, Unknown))


class Encoder:
    """Turns events into msgpack-ready lists, replacing large bytes by blobs.

    `blob` is the writer's function storing data once and returning its
    BlobRef.  `last_time` is the time of the previous event, for deltas.
    """

    __slots__ = ("blob", "last_time", "packer", "_exts")

    def __init__(self, blob: Callable[[bytes], BlobRef]) -> None:
        self.blob = blob
        self.last_time = 0
        self.packer = make_packer()
        # BlobRef -> its msgpack ExtType, made once per blob: the same bytes
        # the packer's default hook would produce, without the hook call and
        # ExtType's validation on every reference (a program reading the
        # same pages over and over references the same blobs).
        self._exts: dict[bytes, tuple[int, msgpack.ExtType]] = {}

    def _ext(self, ref: BlobRef) -> msgpack.ExtType:
        got = self._exts.get(ref.digest)
        if got is None or got[0] != ref.size:
            got = self._exts[ref.digest] = (ref.size, _default(ref))
        return got[1]

    def _ranges(self, ranges: Any) -> list[Any]:
        """(addr, data) pairs flattened to [addr, data, addr, data, ...]."""
        flat: list[Any] = []
        append = flat.append
        for addr, data in ranges:
            tp = type(data)
            if tp is BlobRef:
                data = self._ext(data)
            elif tp is Inline:
                if len(data) > INLINE_MAX:
                    data = self._ext(self.blob(bytes(data)))
            else:
                if tp is not bytes:
                    data = bytes(data)
                if len(data) >= BLOB_THRESHOLD:
                    data = self._ext(self.blob(data))
            append(addr)
            append(data)
        return flat

    def _value(self, value: Any) -> Any:
        """Input values: large bytes anywhere inside become BlobRefs."""
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value)
            return self.blob(value) if len(value) >= BLOB_THRESHOLD else value
        if isinstance(value, (list, tuple)):
            return [self._value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        return value

    def encode(self, ev: Any) -> bytes:
        """One event packed; TraceError for things that cannot be stored.

        Packing per event (not per chunk) makes a bad event fail its own
        append() instead of losing the whole chunk at flush time.
        """
        cls = type(ev)
        if cls not in _EVENT_TYPES:
            raise TraceError(f"not a trace event: {cls.__name__}")
        t = ev.time_ns
        dt = t - self.last_time
        if cls is Syscall:
            args = ev.args
            if len(args) != 6:
                raise TraceError(f"syscall event needs 6 argument words, got {len(args)}")
            rec = [K_SYSCALL, dt, ev.tid, ev.nr, *args, ev.result]
            if ev.writes or ev.reads or ev.flags:
                rec.append(self._ranges(ev.writes))
                if ev.reads or ev.flags:
                    rec.append(self._ranges(ev.reads))
                    if ev.flags:
                        rec.append(ev.flags)
        elif cls is Spawn:
            rec = [K_SPAWN, dt, ev.tid, ev.parent_tid, ev.pid, ev.kind]
        elif cls is Exec:
            rec = [K_EXEC, dt, ev.tid, ev.path, list(ev.argv)]
            binary = ev.binary
            if binary is not None:
                if isinstance(binary, (bytes, bytearray, memoryview)):
                    binary = self.blob(bytes(binary))  # always a blob, whatever its size
                elif type(binary) is not BlobRef:
                    raise TraceError(f"Exec.binary must be a BlobRef, not {type(binary).__name__}")
                rec.append(binary)
        elif cls is Exit:
            rec = [K_EXIT, dt, ev.tid, ev.status]
        elif cls is Signal:
            rec = [K_SIGNAL, dt, ev.tid, ev.signo]
            if ev.siginfo:
                rec.append(bytes(ev.siginfo))
        elif cls is Input:
            rec = [K_INPUT, dt, ev.tid, ev.what, self._value(ev.value)]
        elif cls is Unknown:
            if ev.kind <= K_INPUT:
                raise TraceError(f"Unknown event with a known kind {ev.kind}")
            rec = [ev.kind, dt, ev.tid, *ev.fields]
        else:
            raise TraceError(f"not a trace event: {cls.__name__}")
        try:
            packed = self.packer.pack(rec)
        except Exception as exc:
            self.packer.reset()
            raise TraceError(f"cannot store {cls.__name__} event: {exc}") from None
        self.last_time = t
        return packed


def _pairs(flat: Any) -> tuple[tuple[int, Any], ...]:
    n = len(flat)
    if n == 2:  # by far the most common: one range
        return ((flat[0], flat[1]),)
    if n == 0:
        return ()
    if n & 1:
        raise ValueError("odd range list")
    return tuple(zip(flat[::2], flat[1::2]))


def _lists(value: Any) -> Any:
    """Undo use_list=False inside Input values: sequences come back as lists."""
    if type(value) is tuple:
        return [_lists(v) for v in value]
    if type(value) is dict:
        return {k: _lists(v) for k, v in value.items()}
    return value


def decode_chunk(payload: bytes, count: int) -> list[Any]:
    """All events of one chunk payload, in order; TraceError if malformed."""
    obj = unpack(payload)
    try:
        base, recs = obj[0], obj[1]
        if type(base) is not int or len(recs) != count:
            raise ValueError("chunk event count mismatch")
        return _decode_records(base, recs)
    except TraceError:
        raise
    except Exception as exc:
        raise TraceError(f"corrupt chunk: {type(exc).__name__}: {exc}") from None


def _decode_records(t: int, recs: Any) -> list[Any]:
    out: list[Any] = []
    append = out.append
    S = Syscall
    for e in recs:
        t += e[1]
        k = e[0]
        if k == K_SYSCALL:
            n = len(e)
            if n == 11:
                append(S(e[2], e[3], e[4:10], e[10], (), (), 0, t))
            elif n < 11:
                raise ValueError("short syscall event")
            else:
                writes = _pairs(e[11])
                reads = _pairs(e[12]) if n > 12 else ()
                flags = e[13] if n > 13 else 0
                append(S(e[2], e[3], e[4:10], e[10], writes, reads, flags, t))
        elif k == K_SPAWN:
            append(Spawn(e[2], e[3], e[4], e[5], t))
        elif k == K_EXEC:
            binary = e[5] if len(e) > 5 else None
            if binary is not None and type(binary) is not BlobRef:
                raise ValueError("bad exec binary")
            append(Exec(e[2], e[3], list(e[4]), binary, t))
        elif k == K_EXIT:
            append(Exit(e[2], e[3], t))
        elif k == K_SIGNAL:
            append(Signal(e[2], e[3], e[4] if len(e) > 4 else b"", t))
        elif k == K_INPUT:
            append(Input(e[2], e[3], _lists(e[4]), t))
        elif type(k) is int and k > K_INPUT:
            append(Unknown(k, tuple(e[3:]), e[2], t))
        else:
            raise ValueError(f"bad event kind {k!r}")
    return out


def pack_chunk(base_time: int, packed_events: list[bytes]) -> bytes:
    """The msgpack payload of one chunk: [base_time, [event, ...]]."""
    head = msgpack.packb(base_time)
    return b"".join((b"\x92", head, _array_header(len(packed_events)), *packed_events))


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")

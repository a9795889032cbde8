"""Bad input never escapes as anything but TraceError, and damage costs only what follows it.

Property tests (hypothesis) truncate and flip bytes of valid traces; example
tests cover empty, random, foreign, too-new files and frames that claim sizes
they cannot have.  Bounded: the whole file runs in a few seconds.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traces import BlobRef, Syscall, TraceError, TraceReader, repair
from traces import format as F
from traces.samples import HEADER, write_sample

_DIR = tempfile.mkdtemp(prefix="scribe-fuzz-")


@lru_cache(maxsize=None)
def base_trace(complete: bool) -> tuple[bytes, tuple[Any, ...], tuple[tuple[int, int], ...]]:
    """(file bytes, events as read back, (record end offset, events before it) per chunk)."""
    path = os.path.join(_DIR, f"base-{complete}.scribe")
    write_sample(path, 150, close=complete, chunk_events=16)
    data = Path(path).read_bytes()
    with TraceReader(path) as r:
        events = tuple(r)
        ends = []
        for i in range(r.chunk_count):
            off, first, count = r.chunk_info(i)
            _, plen, _, _, _ = F.unpack_record_header(data[off:off + F.RECORD_HEADER_SIZE], off)
            ends.append((off + F.RECORD_HEADER_SIZE + plen, first + count))
    return data, events, tuple(ends)


def read_all(data: bytes) -> tuple[list[Any], TraceError | None]:
    """Open and read everything, resolving blobs; only TraceError may escape (else the test fails)."""
    fd, path = tempfile.mkstemp(dir=_DIR, suffix=".scribe")
    try:
        os.write(fd, data)
        os.close(fd)
        got: list[Any] = []
        try:
            with TraceReader(path) as r:
                _ = r.header, r.complete, len(r)
                for ev in r:
                    got.append(ev)
                    if type(ev) is Syscall:
                        for _, d in ev.writes + ev.reads:
                            r.data(d)
                    elif isinstance(getattr(ev, "binary", None), BlobRef):
                        r.blob(ev.binary)
                _ = r.processes, r.syscall_counts, r.exit_status
        except TraceError as exc:
            assert "\n" not in str(exc) and str(exc)
            return got, exc
        return got, None
    finally:
        os.unlink(path)


def readable_before(ends: tuple[tuple[int, int], ...], pos: int) -> int:
    """Events in chunks that lie wholly before byte pos."""
    n = 0
    for end, upto in ends:
        if end <= pos:
            n = upto
    return n


FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


@FUZZ
@given(complete=st.booleans(), frac=st.floats(0, 1))
def test_truncation_keeps_every_chunk_before_the_cut(complete: bool, frac: float) -> None:
    data, events, ends = base_trace(complete)
    cut = int(len(data) * frac)
    got, _ = read_all(data[:cut])
    assert got == list(events[: len(got)])
    assert len(got) >= readable_before(ends, cut)


@FUZZ
@given(complete=st.booleans(),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=4))
def test_flipped_bytes_only_raise_trace_error(complete: bool, flips: list[tuple[float, int]]) -> None:
    data, events, ends = base_trace(complete)
    buf = bytearray(data)
    positions = []
    for frac, mask in flips:
        pos = min(int(len(buf) * frac), len(buf) - 1)
        buf[pos] ^= mask
        positions.append(pos)
    got, _ = read_all(bytes(buf))
    assert got == list(events[: len(got)])
    first_damage = min(positions)
    header_end = F.PREFIX.size + struct.unpack_from("<I", data, 16)[0]
    if first_damage >= header_end:
        assert len(got) >= readable_before(ends, first_damage)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(max_size=2000))
def test_random_bytes(blob: bytes) -> None:
    got, err = read_all(blob)
    assert err is not None and got == []


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(max_size=400))
def test_random_bytes_after_a_valid_header(tail: bytes) -> None:
    data, events, ends = base_trace(True)
    header_end = F.PREFIX.size + struct.unpack_from("<I", data, 16)[0]
    got, _ = read_all(data[:header_end] + tail)
    assert got == list(events[: len(got)])


@FUZZ
@given(frac=st.floats(0, 1), mask=st.integers(1, 255))
def test_repair_of_damaged_traces_never_raises_anything_else(frac: float, mask: int) -> None:
    data, events, _ = base_trace(False)
    buf = bytearray(data)
    pos = min(int(len(buf) * frac), len(buf) - 1)
    buf[pos] ^= mask
    fd, path = tempfile.mkstemp(dir=_DIR, suffix=".scribe")
    os.write(fd, bytes(buf))
    os.close(fd)
    try:
        try:
            repair(path)
        except TraceError:
            return
        got, err = read_all(Path(path).read_bytes())
        assert got == list(events[: len(got)])
        with TraceReader(path) as r:
            assert r.complete
    finally:
        os.unlink(path)


# -- examples --------------------------------------------------------------------


def message(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "bad.scribe"
    path.write_bytes(data)
    with pytest.raises(TraceError) as exc:
        with TraceReader(path) as r:
            list(r)
    msg = str(exc.value)
    assert msg and "\n" not in msg
    return msg


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in message(b"", tmp_path)


def test_foreign_files(tmp_path: Path) -> None:
    assert "not a scribe trace" in message(b"#!/bin/sh\necho hello\n", tmp_path)
    assert "not a scribe trace" in message(b"\x7fELF" + bytes(100), tmp_path)
    assert "not a scribe trace" in message(zstandard.ZstdCompressor().compress(b"x" * 100), tmp_path)


def test_only_the_magic(tmp_path: Path) -> None:
    assert "truncated" in message(F.MAGIC, tmp_path)
    assert "truncated" in message(F.MAGIC[:3], tmp_path)


def _huge_frame(claimed: int) -> bytes:
    """A valid-looking zstd frame whose header claims `claimed` bytes of content."""
    fhd = (3 << 6) | (1 << 5)  # 8-byte frame content size, single segment
    block = bytes((1 | (0 << 1) | (1 << 3), 0, 0)) + b"x"  # last raw block of 1 byte
    return b"\x28\xb5\x2f\xfd" + bytes((fhd,)) + struct.pack("<Q", claimed) + block


def _trace_with_records(records: bytes) -> bytes:
    header = msgpack.packb(HEADER, use_bin_type=True)
    return F.PREFIX.pack(F.MAGIC, F.FORMAT_MAJOR, F.FORMAT_MINOR, len(header),
                         zlib.crc32(header)) + header + records


def test_frames_claiming_huge_sizes_are_not_believed(tmp_path: Path) -> None:
    frame = _huge_frame(100 << 30)
    assert zstandard.frame_content_size(frame) == 100 << 30
    # a chunk whose record and frame both claim far more than the bytes can hold
    for raw in (100 << 20, (1 << 32) - 1, 4000):
        rec = F.pack_record_header(F.TAG_CHUNK, len(frame), raw, 0, 1) + frame
        msg = message(_trace_with_records(rec), tmp_path)
        assert "chunk 0" in msg and ("claims" in msg or "does not match" in msg)
        with TraceReader(tmp_path / "bad.scribe") as r:
            with pytest.raises(TraceError):
                r[0]
    # a blob claiming 100 GB
    digest = bytes(32)
    rec = F.pack_record_header(F.TAG_BLOB, 32 + len(frame), 0, 100 << 30, 0) + digest + frame
    path = tmp_path / "blob.scribe"
    path.write_bytes(_trace_with_records(rec))
    with TraceReader(path) as r:
        with pytest.raises(TraceError, match="claims"):
            r.blob(BlobRef(digest, 100 << 30))
    # a footer claiming 100 GB: ignored, the trace is walked instead
    fp = F.pack_record_header(F.TAG_FOOTER, len(frame), 0xFFFFFFFF, 0, 0) + frame
    data = _trace_with_records(fp)
    foot_off = len(data) - len(fp)
    path.write_bytes(data + F.TRAILER.pack(foot_off, F.TRAILER_MAGIC))
    with TraceReader(path) as r:
        assert not r.complete and "footer" in (r.damage or "")


def test_check_frame_refuses_before_decompressing() -> None:
    frame = _huge_frame(100 << 30)
    with pytest.raises(TraceError, match="claims"):
        F.check_frame(frame, 100 << 30, F.MAX_BLOB_SIZE, "blob")
    with pytest.raises(TraceError, match="claims"):
        F.check_frame(frame, 60 << 20, F.MAX_CHUNK_RAW, "chunk")
    with pytest.raises(TraceError, match="does not match"):
        F.check_frame(frame, 1, F.MAX_CHUNK_RAW, "chunk")


def test_record_claiming_more_than_the_file(tmp_path: Path) -> None:
    rec = F.pack_record_header(F.TAG_CHUNK, 0xFFFFFFFF, 10, 0, 1)
    path = tmp_path / "t.scribe"
    path.write_bytes(_trace_with_records(rec + b"abc"))
    with TraceReader(path) as r:
        assert not r.complete and len(r) == 0 and "ends inside a record" in (r.damage or "")


def test_chunk_with_wrong_structure(tmp_path: Path) -> None:
    cctx = zstandard.ZstdCompressor(write_checksum=True)
    for payload_obj in ([0, [[0, 1]]], [0, [["x", 1, 2]]], "nope", [0, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, [1]]]],
                        [0, [[2, 1, 1, "/x", ["a"], 5]]], [0, [[0] * 11, [0] * 11]]):
        payload = msgpack.packb(payload_obj)
        frame = cctx.compress(payload)
        rec = F.pack_record_header(F.TAG_CHUNK, len(frame), len(payload), 0, 1) + frame
        msg = message(_trace_with_records(rec), tmp_path)
        assert "chunk 0" in msg

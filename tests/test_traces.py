"""The trace format: round trips, random access, process table, recovery, limits."""

from __future__ import annotations

import os
import stat
import struct
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zstandard

from traces import (
    INLINE_MAX,
    BlobRef,
    Exec,
    Exit,
    Inline,
    Input,
    Signal,
    Spawn,
    Syscall,
    TraceError,
    TraceReader,
    TraceWriter,
    Unknown,
    repair,
)
from traces import format as F
from traces.samples import HEADER, syscall_events, write_sample
from traces.writer import encode_footer


def resolved(reader: TraceReader, ev: Any) -> Any:
    """ev with BlobRefs in syscall writes/reads replaced by their bytes."""
    if type(ev) is Syscall:
        return Syscall(ev.tid, ev.nr, ev.args, ev.result,
                       tuple((a, reader.data(d)) for a, d in ev.writes),
                       tuple((a, reader.data(d)) for a, d in ev.reads), ev.flags, ev.time_ns)
    return ev


def test_round_trip_every_event_kind(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 300, chunk_events=64)
    with TraceReader(path) as r:
        assert r.complete
        assert len(r) == len(events)
        assert r.chunk_count > 4
        got = [resolved(r, ev) for ev in r]
        assert got == events
        assert r.exit_status == 0
        assert r.header.argv == HEADER["argv"]
        assert r.header.env == HEADER["env"]
        assert r.header.cwd == "/tmp"
        assert r.header.version == f"{F.FORMAT_MAJOR}.{F.FORMAT_MINOR}"
        assert r.header.kernel == os.uname().release
        assert r.header.hostname
        assert isinstance(r.header.cpu_flags, list)
        assert r.header.start_time > 0


def test_random_access_and_ranges(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 2000, chunk_events=100)
    with TraceReader(path) as r:
        for n in (0, 1, 99, 100, 101, 1234, len(events) - 1, 57, 3):
            assert resolved(r, r[n]) == events[n]
        assert r[-1] == events[-1]
        with pytest.raises(IndexError):
            r[len(events)]
        got = [(n, resolved(r, ev)) for n, ev in r.events(150, 420)]
        assert got == list(enumerate(events))[150:420]
        assert list(r.events(5, 5)) == []
        assert [n for n, _ in r.events(len(events) - 3)] == [len(events) - 3, len(events) - 2, len(events) - 1]


def test_a_blob_damaged_on_disk_is_an_error_not_other_bytes(tmp_path: Path) -> None:
    """Blobs are checked by their zstd frame's checksum as they are read
    (not hashed again): a byte changed inside one is still found."""
    path = tmp_path / "t.scribe"
    big = bytes(range(256)) * 400  # compresses: the damage lands in the frame's content
    with TraceWriter(path, HEADER) as w:
        ref = w.blob(big)
        w.append(Syscall(1, 0, (3, 0x1000, len(big), 0, 0, 0), len(big), ((0x1000, ref),), (), 0, 5))
    raw = bytearray(path.read_bytes())
    with TraceReader(path) as r:
        off = r._blobs[ref.digest]
    at = off + F.RECORD_HEADER_SIZE + 32 + 20  # past the record header, the digest and the frame header
    raw[at] ^= 0x55
    path.write_bytes(bytes(raw))
    with TraceReader(path) as r, pytest.raises(TraceError, match="corrupt"):
        r.blob(ref)


def test_blobs_stored_once_and_resolved(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    big = os.urandom(50_000)
    with TraceWriter(path, HEADER) as w:
        ref = w.blob(big)
        assert ref == BlobRef(ref.digest, len(big))
        assert w.blob(big) == ref
        w.append(Syscall(1, 0, (3, 0x1000, 50_000, 0, 0, 0), 50_000, ((0x1000, big),), (), 0, 5))
        w.append(Input(1, "mapping", {"path": "/lib/x.so", "data": big, "parts": [big, 7]}, 6))
        w.append(Syscall(1, 1, (1, 0x2000, 3, 0, 0, 0), 3, (), ((0x2000, b"abc"),), 0, 7))
    size = path.stat().st_size
    assert size < len(big) + 5000  # stored once (random data does not compress)
    with TraceReader(path) as r:
        assert r.blob_count == 1
        ev = r[0]
        assert ev.writes[0][1] == ref
        assert r.data(ev.writes[0][1]) == big
        assert r.blob(ref) == big
        value = r[1].value
        assert value["data"] == ref and value["parts"] == [ref, 7] and value["path"] == "/lib/x.so"
        assert r[2].reads == ((0x2000, b"abc"),)
        assert r.data(b"xy") == b"xy"
        with pytest.raises(TraceError, match="not in the trace"):
            r.blob(BlobRef(b"\0" * 32, 3))


def test_events_are_values_and_blob_refs_immutable() -> None:
    """What the dataclasses gave: == by fields and class, repr, copies (a
    checkpoint deep-copies the replay, events and their BlobRefs with it)."""
    import copy

    ref = BlobRef(b"d" * 32, 5)
    ev = Syscall(1, 0, (3, 0, 5, 0, 0, 0), 5, ((0x10, ref),), (), 0, 9)
    assert ev == copy.deepcopy(ev) and ev != Syscall(1, 0, (3, 0, 5, 0, 0, 0), 4, ((0x10, ref),), (), 0, 9)
    assert Exit(1, 0, 2) != Signal(1, 0, b"", 2) and Exit(1, 0) == Exit(1, 0, 0)
    assert {ref: 1}[BlobRef(b"d" * 32, 5)] == 1 and copy.deepcopy(ref) == ref
    with pytest.raises(AttributeError):
        ref.size = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(ev)  # mutable (time_ns is set as it is appended): not a key
    assert repr(Exit(2, 256, 7)) == "Exit(tid=2, status=256, time_ns=7)"


def test_small_data_stays_inline(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    with TraceWriter(path, HEADER) as w:
        w.append(Syscall(1, 0, (0,) * 6, 4095, ((1, b"x" * 4095),), (), 0, 1))
    with TraceReader(path) as r:
        assert r[0].writes[0][1] == b"x" * 4095
        assert r.blob_count == 0


def test_inline_bytes_stay_in_their_event_up_to_inline_max(tmp_path: Path) -> None:
    """What a pipe delivered (Inline) is kept in its event at any length up
    to INLINE_MAX, then as a blob; it reads back as plain bytes."""
    path = tmp_path / "t.scribe"
    piece, big = os.urandom(100_000), os.urandom(INLINE_MAX + 1)
    with TraceWriter(path, HEADER) as w:
        w.append(Syscall(1, 0, (0,) * 6, len(piece), ((0x1000, Inline(piece)),), (), Syscall.BUFFERED, 1))
        w.append(Syscall(1, 0, (0,) * 6, INLINE_MAX, ((0x1000, Inline(big[:INLINE_MAX])),), (), 0, 2))
        w.append(Syscall(1, 0, (0,) * 6, len(big), ((0x1000, Inline(big)),), (), 0, 3))
        w.append(Syscall(1, 0, (0,) * 6, len(piece), ((0x1000, piece),), (), 0, 4))  # plain bytes: a blob
    with TraceReader(path) as r:
        got = [r[i].writes[0][1] for i in range(4)]
        assert type(got[0]) is bytes and got[0] == piece
        assert type(got[1]) is bytes and got[1] == big[:INLINE_MAX]
        assert isinstance(got[2], BlobRef) and r.data(got[2]) == big
        assert isinstance(got[3], BlobRef) and r.data(got[3]) == piece
        assert r.blob_count == 2


def test_queued_content_is_counted_for_chunks_too(tmp_path: Path) -> None:
    """The writer thread's queue counts the events of chunks as well as
    blobs (bytes a pipe delivered travel in chunks; append() waits while
    MAX_QUEUED of that waits), and the count comes back to zero."""
    import traces.writer as W

    path = tmp_path / "t.scribe"
    seen: list[int] = []
    with TraceWriter(path, HEADER) as w:
        real = w._take_batch

        def take() -> list[Any]:
            seen.append(w._queued_bytes)
            return real()

        w._take_batch = take  # type: ignore[method-assign]
        for i in range(40):
            w.append(Syscall(1, 0, (0,) * 6, 200_000, ((0x1000, Inline(os.urandom(200_000))),), (), 0, i))
        w.flush()
        assert w._queued_bytes == 0
    assert max(seen) >= F.CHUNK_BYTES  # a chunk's events were counted
    assert W.BATCH_BYTES >= F.CHUNK_BYTES
    with TraceReader(path) as r:
        assert len(r) == 40 and r.blob_count == 0 and r.chunk_count >= 40 * 200_000 // (2 * F.CHUNK_BYTES)


def test_process_table_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 500, exit_status=3)
    with TraceReader(path) as r:
        procs = {p.vpid: p for p in r.processes}
        assert set(procs) == {1, 4}
        assert procs[1].ppid == 0 and procs[1].argv == ["./sample", "--flag"]
        assert procs[1].exit_status == 3 << 8
        assert sorted(procs[1].threads) == [1, 2, 3]
        assert procs[1].first_event == 0 and procs[1].last_event == len(events) - 1
        assert procs[4].ppid == 1 and procs[4].argv == ["true"] and procs[4].exit_status == 0
        assert procs[4].first_event < procs[4].last_event
        expected: dict[int, int] = {}
        for ev in events:
            if type(ev) is Syscall:
                expected[ev.nr] = expected.get(ev.nr, 0) + 1
        assert r.syscall_counts == expected
        assert r.exit_status == 3 << 8


def test_process_table_vpid_reuse_and_implicit_tids(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    with TraceWriter(path, HEADER) as w:
        w.append(Syscall(7, 39, (0,) * 6, 7, time_ns=1))  # never spawned
        w.append(Spawn(1, 0, 1, Spawn.FORK, 2))
        w.append(Spawn(5, 1, 5, Spawn.FORK, 3))
        w.append(Exit(5, 9, 4))
        w.append(Spawn(5, 1, 5, Spawn.VFORK, 5))
        w.append(Exec(5, "/bin/ls", ["ls"], None, 6))
        w.append(Exit(5, 0, 7))
    with TraceReader(path) as r:
        rows = [(p.vpid, p.ppid, p.argv, p.exit_status, p.first_event, p.last_event) for p in r.processes]
        assert rows == [
            (1, 0, [], None, 1, 1),
            (5, 1, [], 9, 2, 3),
            (5, 1, ["ls"], 0, 4, 6),
            (7, 0, [], None, 0, 0),
        ]


def _far_trace(path: Path, *, close: bool = True) -> dict[int, tuple[int, int]]:
    """Thread 1 waits (wait4) while thread 2 makes 2000 calls, some
    buffered; thread 3 makes one call and none after; thread 2 takes a
    signal and exits. Returns the far_next index these events call for."""
    w = TraceWriter(path, HEADER, chunk_events=300)
    gap = F.FAR_GAP + 1
    evs: list[Any] = [Spawn(1, 0, 1, Spawn.FORK, 0), Spawn(2, 1, 2, Spawn.FORK, 1),  # 0, 1
                      Syscall(3, 39, (0,) * 6, 3, time_ns=2),  # 2: thread 3's one event
                      Syscall(1, 56, (0,) * 6, 2, time_ns=3)]  # 3: thread 1's fork
    for i in range(gap):  # 4 .. gap+3
        evs.append(Syscall(2, 0, (0,) * 6, 0, flags=Syscall.BUFFERED if i % 2 else 0, time_ns=4 + i))
    evs.append(Syscall(1, 61, (0,) * 6, 2, time_ns=gap + 4))  # gap+4: thread 1's wait4
    for i in range(gap):  # gap+5 .. 2*gap+4
        evs.append(Syscall(1, 39, (0,) * 6, 1, time_ns=gap + 5 + i))
    evs += [Signal(2, 17, time_ns=2 * gap + 5),  # thread 2's next: a signal
            Syscall(2, 0, (0,) * 6, 0, flags=Syscall.BUFFERED, time_ns=2 * gap + 6),
            Exit(2, 0, 2 * gap + 7), Exit(3, 0, 2 * gap + 8), Exit(1, 0, 2 * gap + 9)]
    for ev in evs:
        w.append(ev)
    if close:
        w.close(0)
    else:
        w.abandon()
    last2 = gap + 3
    return {3: (gap + 4, 61), 2: (-1, -1), last2: (2 * gap + 5, -1)}


def test_far_next_says_which_thread_comes_back_much_later(tmp_path: Path) -> None:
    """The footer's far_next: an event whose thread's next event (not an
    Exit) comes more than FAR_GAP events later, or never while that many
    follow, with what it is (a call made with a stop: its number). repair
    rebuilds the same index; a damaged index is a damaged footer."""
    path = tmp_path / "t.scribe"
    want = _far_trace(path)
    with TraceReader(path) as r:
        assert r.complete and r.format_version == (F.FORMAT_MAJOR, F.FORMAT_MINOR) >= (1, 1)
        assert r.far_next == want
    cut = tmp_path / "cut.scribe"
    assert _far_trace(cut, close=False) == want
    with TraceReader(cut) as r:
        assert not r.complete and r.far_next is None  # no footer: no index (replay reads ahead)
    repair(cut)
    with TraceReader(cut) as r:
        assert r.complete and r.far_next == want
    with TraceReader(path) as r:
        footer = dict(r._footer)  # type: ignore[arg-type]
        data_end, nchunks = r.data_end, r.chunk_count
    for bad in ([3, 9999999, 61], [3, 2, 61], [3, 4], ["x", 4, 61], [3, 4, -2]):
        raw = path.read_bytes()[:data_end]
        foot = encode_footer(zstandard.ZstdCompressor(), {**footer, "far_next": bad}, data_end, nchunks)
        cut.write_bytes(raw + foot)
        with TraceReader(cut) as r:
            assert not r.complete and "corrupt footer" in (r.damage or ""), bad
            assert r.far_next is None and len(r) == footer["events"]


def test_empty_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    TraceWriter(path, HEADER).close()
    with TraceReader(path) as r:
        assert r.complete and len(r) == 0 and list(r) == [] and r.processes == []
        assert r.syscall_counts == {} and r.exit_status is None


def test_file_mode_0600_even_when_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    path.write_bytes(b"old content")
    path.chmod(0o644)
    write_sample(path, 10)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with TraceReader(path) as r:
        assert r.complete


def test_header_requires_basic_keys(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cwd"):
        TraceWriter(tmp_path / "t.scribe", {"argv": [], "env": {}})


def test_header_keeps_caller_values_and_extras(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    TraceWriter(path, {**HEADER, "hostname": "box", "cpu_model": "Z80", "cpu_flags": ["a"],
                       "start_time": 12.5, "future_key": [1, 2]}).close()
    with TraceReader(path) as r:
        h = r.header
        assert (h.hostname, h.cpu_model, h.cpu_flags, h.start_time) == ("box", "Z80", ["a"], 12.5)
        assert h.extra == {"future_key": (1, 2)} and h.get("future_key") == (1, 2)
        assert h.get("cwd") == "/tmp"


def test_non_utf8_strings_survive(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    weird = os.fsdecode(b"/tmp/\xff\xfe")
    with TraceWriter(path, HEADER) as w:
        w.append(Exec(1, weird, [weird], None, 1))
    with TraceReader(path) as r:
        assert r[0].path == weird and r[0].argv == [weird]


def test_bad_events_are_refused_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    with TraceWriter(path, HEADER) as w:
        with pytest.raises(TraceError, match="6 argument"):
            w.append(Syscall(1, 0, (1, 2), 0))
        with pytest.raises(TraceError, match="not a trace event"):
            w.append("hello")  # type: ignore[arg-type]
        with pytest.raises(TraceError):
            w.append(Input(1, "x", object(), 1))
        with pytest.raises(TraceError):
            w.append(Syscall(1, 0, (1 << 70, 0, 0, 0, 0, 0), 0))
        assert w.append(Exit(1, 0, 2)) == 0
    with TraceReader(path) as r:
        assert list(r) == [Exit(1, 0, 2)]


def test_unknown_event_kinds_decode_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    with TraceWriter(path, HEADER) as w:
        w.append(Exit(1, 0, 10))
        w.append(Unknown(42, ("new", 1, b"x"), tid=3, time_ns=20))
        w.append(Exit(2, 0, 30))
    with TraceReader(path) as r:
        assert list(r) == [Exit(1, 0, 10), Unknown(42, ("new", 1, b"x"), 3, 20), Exit(2, 0, 30)]


def _newer_minor_trace(path: Path) -> None:
    """A trace as a newer minor version could write it: an unknown record type,
    extra trailing event fields, an unknown ext type, extra header/footer keys."""
    cctx = zstandard.ZstdCompressor(write_checksum=True)
    header = msgpack.packb({**HEADER, "new_field": 1}, use_bin_type=True)
    import zlib

    out = bytearray(F.PREFIX.pack(F.MAGIC, F.FORMAT_MAJOR, F.FORMAT_MINOR + 3, len(header),
                                  zlib.crc32(header)))
    out += header
    junk = b"future record payload"
    out += F.pack_record_header(b"NEWR", len(junk), 0, 0, 0) + junk
    events = [[0, 5, 1, 2, 1, 2, 3, 4, 5, 6, 7, [], [], 0, "extra", 9],
              [3, 5, 1, 0, "extra"],
              [5, 1, 1, "what", msgpack.ExtType(99, b"?")]]
    payload = msgpack.packb([0, events], use_bin_type=True)
    frame = cctx.compress(payload)
    chunk_off = len(out)
    out += F.pack_record_header(F.TAG_CHUNK, len(frame), len(payload), 0, 3) + frame
    footer = {"events": 3, "end_time_ns": 11, "chunk_offsets": [chunk_off], "chunk_first": [0],
              "chunk_count": [3], "blobs": [], "processes": [], "syscall_counts": {2: 1},
              "exit_status": None, "something_new": {"x": 1}}
    fp = msgpack.packb(footer, use_bin_type=True)
    ff = cctx.compress(fp)
    foot_off = len(out)
    out += F.pack_record_header(F.TAG_FOOTER, len(ff), len(fp), 3, 1) + ff
    out += F.TRAILER.pack(foot_off, F.TRAILER_MAGIC)
    path.write_bytes(bytes(out))


def test_newer_minor_version_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    _newer_minor_trace(path)
    with TraceReader(path) as r:
        assert r.complete and r.format_version == (F.FORMAT_MAJOR, F.FORMAT_MINOR + 3)
        evs = list(r)
        assert evs[0] == Syscall(1, 2, (1, 2, 3, 4, 5, 6), 7, (), (), 0, 5)
        assert evs[1] == Exit(1, 0, 10)
        assert evs[2].what == "what" and evs[2].value == msgpack.ExtType(99, b"?")
        assert r.header.extra == {"new_field": 1}
    # the same file without its footer: the walk skips the unknown record
    data = path.read_bytes()
    foot_off = F.TRAILER.unpack(data[-16:])[0]
    path.write_bytes(data[:foot_off])
    with TraceReader(path) as r:
        assert not r.complete and len(r) == 3 and r.syscall_counts == {2: 1}


def test_newer_major_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    write_sample(path, 10)
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, 8, F.FORMAT_MAJOR + 1)
    path.write_bytes(bytes(data))
    with pytest.raises(TraceError) as exc:
        TraceReader(path)
    assert str(exc.value) == (
        f"trace format version {F.FORMAT_MAJOR + 1} is newer than this scribe supports ({F.FORMAT_MAJOR})"
    )


# -- incomplete traces and repair ----------------------------------------------


def test_footerless_trace_opens_incomplete_and_repairs(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 700, close=False, chunk_events=50)
    with TraceReader(path) as r:
        assert not r.complete
        assert "no footer" in (r.damage or "")
        assert len(r) == len(events)
        assert [resolved(r, e) for e in r] == events
        assert {p.vpid for p in r.processes} == {1, 4}
        assert r.exit_status == 0
        assert sum(r.syscall_counts.values()) == sum(type(e) is Syscall for e in events)
        table, counts = r.processes, r.syscall_counts
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == len(events)
        assert r.processes == table and r.syscall_counts == counts
        assert [resolved(r, e) for e in r] == events
    size = path.stat().st_size
    repair(path)  # complete: no-op
    assert path.stat().st_size == size


def test_truncated_trace_reads_up_to_last_whole_chunk(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 700, close=False, chunk_events=50)
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # cut inside the last chunk
    with TraceReader(path) as r:
        assert not r.complete and "ends inside a record" in (r.damage or "")
        n = len(r)
        assert 0 < n < len(events) and n % 50 == 0
        assert [resolved(r, e) for e in r] == events[:n]
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == n
        assert [resolved(r, e) for e in r] == events[:n]


def test_repair_drops_a_damaged_chunk_and_everything_after(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 700, close=False, chunk_events=50)
    with TraceReader(path) as r:
        off, first, count = r.chunk_info(5)
    data = bytearray(path.read_bytes())
    data[off + F.RECORD_HEADER_SIZE + 20] ^= 0xFF  # inside the frame
    path.write_bytes(bytes(data))
    with TraceReader(path) as r:
        got = []
        with pytest.raises(TraceError, match="chunk 5"):
            for ev in r:
                got.append(ev)
        assert len(got) == first
        assert "chunk 5" in str(r.processes and r.damage)
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == first
        assert [resolved(r, e) for e in r] == events[:first]


def _read_ahead_thread() -> Any:
    import threading

    return next((t for t in threading.enumerate() if t.name == "scribe-trace-read-ahead"), None)


def test_read_ahead_gives_the_same_events_in_and_out_of_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_MIN", 0)  # every chunk, small as they are here
    path = tmp_path / "t.scribe"
    events = write_sample(path, 2000, chunk_events=50)
    r = TraceReader(path)
    r.read_ahead()
    thread = _read_ahead_thread()
    assert thread is not None
    with open(f"/proc/self/task/{thread.native_id}/status") as f:  # as the writer's thread
        blocked = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
    assert blocked & (1 << (signal.SIGCHLD - 1)) and not blocked & (1 << (signal.SIGSEGV - 1))
    ahead = r._ahead
    assert ahead is not None
    got = []
    for n in range(len(r)):
        if n % 50 == 0:  # a chunk starts: give the (niced) thread time to have it, however loaded the machine
            deadline = time.monotonic() + 10
            while n // 50 not in ahead._have and time.monotonic() < deadline:
                time.sleep(0.001)
        got.append(resolved(r, r[n]))
    assert got == events
    assert ahead.served == r.chunk_count  # every chunk came from the thread
    # out of order (the TUI's jumps), then in order again from there
    for n in (1234, 3, 1999, 700, 701, 49, 50):
        assert resolved(r, r[n]) == events[n]
    assert [(n, resolved(r, ev)) for n, ev in r.events(150, 1420)] == list(enumerate(events))[150:1420]
    assert [resolved(r, ev) for ev in r] == events
    r.close()
    assert _read_ahead_thread() is None  # ended before the file was closed


def test_read_ahead_raises_at_the_damaged_chunk_as_reading_it_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_MIN", 0)
    path = tmp_path / "t.scribe"
    write_sample(path, 700, chunk_events=50)
    with TraceReader(path) as r:
        off, first, count = r.chunk_info(5)
    data = bytearray(path.read_bytes())
    data[off + F.RECORD_HEADER_SIZE + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    with TraceReader(path) as r:
        r.read_ahead()
        got = []
        with pytest.raises(TraceError, match="chunk 5"):
            for ev in r:
                got.append(ev)
        assert len(got) == first
        assert r[first + count] is not None  # the chunks after it still read
        with pytest.raises(TraceError, match="chunk 5"):
            r[first]


def _blob_trace(path: Path, n: int) -> list[bytes]:
    """n events, each reading a blob of its own (a program reading a file)."""
    contents = [(b"%06d " % i) * 900 + os.urandom(300) for i in range(n)]
    with TraceWriter(path, HEADER, chunk_events=20) as w:
        for i, data in enumerate(contents):
            w.append(Syscall(1, 0, (3, 0x1000, len(data), 0, 0, 0), len(data), ((0x1000, data),), (), 0, 10 + i))
    return contents


def test_read_ahead_hands_over_the_blobs_before_each_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_GAP_MIN", 0)
    path = tmp_path / "t.scribe"
    contents = _blob_trace(path, 300)
    r = TraceReader(path)
    r.read_ahead()
    assert [r.data(ev.writes[0][1]) for ev in r] == contents
    assert r._ahead is not None and r._ahead.served_blobs > len(contents) // 2
    assert r.data(r[7].writes[0][1]) == contents[7]  # taken once: read again from the file
    r.close()


def test_read_ahead_hands_over_the_first_chunk_before_the_blobs_ahead_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay's start waits for the first chunk; the blobs stored before it
    (the program's binary and libraries) come after it. Later chunks still
    wait for theirs, so that replay finds them decompressed."""
    import threading

    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_GAP_MIN", 0)
    path = tmp_path / "t.scribe"
    contents = _blob_trace(path, 300)
    go, done = threading.Event(), []
    read_blobs = traces.reader._ReadAhead._read_blobs

    def held(self: Any, buf: bytes, start: int, gap: int) -> None:
        if not done:
            go.wait(30)  # the first gap's blobs wait for the test
        read_blobs(self, buf, start, gap)
        done.append(start)

    monkeypatch.setattr(traces.reader._ReadAhead, "_read_blobs", held)
    r = TraceReader(path)
    r.read_ahead()
    first = r[0]
    assert not done  # handed over while the blobs before it were still held
    go.set()
    assert r.data(first.writes[0][1]) == contents[0]
    assert [r.data(ev.writes[0][1]) for ev in r] == contents
    r.close()
    assert done  # the first gap's blobs were read once let go (which others are depends on pace)


def test_read_ahead_keeps_a_bounded_amount_of_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blobs read ahead and never asked for (a library replay maps from this
    machine's file) are dropped, the oldest gaps first."""
    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_GAP_MIN", 0)
    monkeypatch.setattr(traces.reader, "AHEAD_BLOB_BYTES", 200_000)
    path = tmp_path / "t.scribe"
    contents = _blob_trace(path, 300)  # 300 blobs of ~6 KB, 20 a chunk: ~120 KB a gap
    r = TraceReader(path)
    r.read_ahead()
    assert len(list(r)) == len(contents)  # events only: no blob asked for
    ahead = r._ahead
    assert ahead is not None
    r.close()  # the thread has read every gap it was going to
    assert len(ahead._blob_groups) <= 2 and ahead._blob_kept <= 200_000 + 130_000
    assert sum(len(g) for g, _ in ahead._blob_groups) == len(ahead._blobs) < 50


def test_read_ahead_leaves_a_damaged_blob_to_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import traces.reader

    monkeypatch.setattr(traces.reader, "AHEAD_GAP_MIN", 0)
    path = tmp_path / "t.scribe"
    contents = _blob_trace(path, 100)
    with TraceReader(path) as r:
        ref = r[50].writes[0][1]
        off = r._blobs[ref.digest]
    raw = bytearray(path.read_bytes())
    raw[off + F.RECORD_HEADER_SIZE + 32 + 20] ^= 0x55
    path.write_bytes(bytes(raw))
    with TraceReader(path) as r:
        r.read_ahead()
        for i, ev in enumerate(r):
            if i == 50:
                with pytest.raises(TraceError, match="corrupt"):
                    r.data(ev.writes[0][1])
            else:
                assert r.data(ev.writes[0][1]) == contents[i]


def test_damaged_footer_falls_back_to_walking(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    events = write_sample(path, 300, chunk_events=50)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x55  # inside the footer frame
    path.write_bytes(bytes(data))
    with TraceReader(path) as r:
        assert not r.complete and "footer" in (r.damage or "")
        assert len(r) == len(events)
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == len(events)


def test_timer_flushes_within_100ms_without_close(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    w = TraceWriter(path, HEADER)
    try:
        w.append(Syscall(1, 39, (0,) * 6, 1, time_ns=1))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # no timing assertion: just wait for it
            with TraceReader(path) as r:
                if len(r) == 1:
                    break
            time.sleep(0.01)
        with TraceReader(path) as r:
            assert not r.complete and len(r) == 1 and r[0].nr == 39
    finally:
        w.close()


def test_writer_is_thread_safe(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "t.scribe"
    w = TraceWriter(path, HEADER, chunk_events=37)
    numbers: list[int] = []

    def run(tid: int) -> None:
        for ev in syscall_events(500, seed=tid, tids=(tid,)):
            numbers.append(w.append(ev))

    threads = [threading.Thread(target=run, args=(t,)) for t in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close()
    assert sorted(numbers) == list(range(1500))
    with TraceReader(path) as r:
        assert len(r) == 1500 and len(list(r)) == 1500


def test_closed_writer_refuses_events(tmp_path: Path) -> None:
    w = TraceWriter(tmp_path / "t.scribe", HEADER)
    w.close(0)
    w.close(0)  # idempotent
    with pytest.raises(TraceError, match="closed"):
        w.append(Exit(1, 0))


def test_unwritable_path_is_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot create trace"):
        TraceWriter(tmp_path / "no" / "such" / "dir.scribe", HEADER)


def test_full_disk_raises_trace_error_and_keeps_what_was_written(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    # /dev/full fails every write with ENOSPC, including the header
    with pytest.raises(TraceError, match="No space left on device"):
        TraceWriter("/dev/full", HEADER)


def test_readers_of_missing_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot open"):
        TraceReader(tmp_path / "missing.scribe")
    with pytest.raises(TraceError, match="not a regular file"):
        TraceReader(tmp_path)
    fifo = tmp_path / "fifo.scribe"
    os.mkfifo(fifo)
    with pytest.raises(TraceError, match="not a regular file"):
        TraceReader(fifo)  # and no hang waiting for a writer


def test_exec_binary_bytes_become_a_blob(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    with TraceWriter(path, HEADER) as w:
        w.append(Exec(1, "/bin/x", ["x"], b"\x7fELF tiny", 1))
        with pytest.raises(TraceError, match="BlobRef"):
            w.append(Exec(1, "/bin/x", ["x"], 5, 2))  # type: ignore[arg-type]
    with TraceReader(path) as r:
        assert len(r) == 1 and r.blob(r[0].binary) == b"\x7fELF tiny"


def test_signal_and_input_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    evs = [Signal(2, 11, bytes(range(128)), 5), Signal(2, 2, b"", 6),
           Input(1, "rdtsc", 1 << 63, 7), Input(1, "preempt", [1, "a", b"b", {"k": [2]}], 8)]
    with TraceWriter(path, HEADER) as w:
        for ev in evs:
            w.append(ev)
    with TraceReader(path) as r:
        assert list(r) == evs


KILLED_RECORDER = """
import sys, time
from traces import TraceWriter
from traces.samples import HEADER, syscall_events
w = TraceWriter(sys.argv[1], HEADER)
for i, ev in enumerate(syscall_events(10**9)):
    w.append(ev)
    if i == 1000:
        print("ready", flush=True)
    if i % 100 == 0:
        time.sleep(0.001)
"""


def test_recorder_killed_with_sigkill_leaves_a_readable_trace(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    path = tmp_path / "t.scribe"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RECORDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the timer has flushed something
            with TraceReader(path) as r:
                if len(r) >= 1000:
                    break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with TraceReader(path) as r:
        assert not r.complete
        n = len(r)
        assert n >= 1000
        assert sum(1 for _ in r) == n
        assert sum(r.syscall_counts.values()) == n
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == n


def test_no_flush_thread_until_the_first_event(tmp_path: Path) -> None:
    import threading

    before = {t.name for t in threading.enumerate()}
    w = TraceWriter(tmp_path / "t.scribe", HEADER)
    assert "scribe-trace-flush" not in {t.name for t in threading.enumerate()} - before
    w.append(Exit(1, 0, 1))
    assert any(t.name == "scribe-trace-flush" for t in threading.enumerate())
    w.close()


def test_flush_thread_blocks_every_signal(tmp_path: Path) -> None:
    """A tracer blocks SIGCHLD and waits for it with sigtimedwait: a thread
    that does not block it takes the signal and drops it (default action),
    and the tracer sleeps its whole timeout (50 ms lost per occurrence)."""
    import signal
    import threading

    w = TraceWriter(tmp_path / "t.scribe", HEADER)
    w.append(Exit(1, 0, 1))
    thread = next(t for t in threading.enumerate() if t.name == "scribe-trace-flush")
    with open(f"/proc/self/task/{thread.native_id}/status") as f:
        blocked = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
    assert blocked & (1 << (signal.SIGCHLD - 1))
    assert blocked & (1 << (signal.SIGINT - 1))
    # ...and the caller's own mask is as it was.
    assert signal.SIGCHLD not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    w.close()


def test_blobs_queued_past_the_limit_wait_and_stay_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compression runs on the writer thread; past MAX_QUEUED bytes of waiting
    blob content append() waits for it, and every blob still precedes the
    chunk that refers to it."""
    import random

    from traces import writer as W

    monkeypatch.setattr(W, "MAX_QUEUED", 20_000)
    rng = random.Random(7)
    path = tmp_path / "t.scribe"
    w = TraceWriter(path, HEADER, chunk_events=3)
    datas = [rng.randbytes(5000 + i) for i in range(40)]
    for i, data in enumerate(datas):
        w.append(Syscall(1, 0, (3, 0x1000, len(data), 0, 0, 0), len(data), ((0x1000, data),), (), 0, i))
        assert w._queued_bytes <= 20_000 + len(data)
    w.flush()
    assert not w._queue and w._queued_bytes == 0
    w.close(0)
    with TraceReader(path) as r:
        assert r.complete and len(r) == len(datas)
        for i, ev in enumerate(r):
            assert r.blob(ev.writes[0][1]) == datas[i]

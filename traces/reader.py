"""TraceReader: random and sequential access to a trace file.

A complete trace is opened from its footer: the last 16 bytes point at it,
and its chunk index lets `reader[n]` decompress only the one chunk holding
event n.  A trace without a footer (recorder killed, machine crashed, disk
full) is opened by walking the record headers from the start up to the last
complete record; it reports `complete == False`, and the process table and
syscall counts are rebuilt by decoding its events when first asked for.

Every malformation -- empty, truncated, flipped bytes, random data, another
file type, a newer format, sizes that cannot be true -- raises TraceError with
a one-line message.  Nothing a file claims is allocated before it is checked
against the file size and the format's limits.
"""

from __future__ import annotations

import bisect
import os
import stat
import struct
import threading
import zlib
from collections import OrderedDict, deque
from itertools import count
from typing import Any, Iterator

import zstandard

from traces import format as F
from traces import threads
from traces.codec import blob_digest, decode_chunk, unpack
from traces.errors import TraceError
from traces.events import BlobRef, Header, ProcessInfo
from traces.proctable import ProcessTable

_CACHE_CHUNKS = 8


# How far the read-ahead thread goes: replay's lookahead takes chunks in
# bursts (a process whose next event is far ahead), a few MiB apart.
AHEAD_CHUNKS = 8
AHEAD_BYTES = 16 << 20
# Only chunks of this many bytes or more (decompressed) are read ahead for
# themselves: a smaller one (cut by the writer's 50 ms timer) decompresses
# in less time than the GIL takes to go to the other thread and back.
# Chunks this large hold what pipes carried (the pipeline's and tar-gzip's,
# 1 MiB each); sqlite3's, make's and Python's are 50-250 KiB, and sqlite3's
# replay took 1.1x as long with all of them read ahead.
AHEAD_MIN = 512 << 10
# The blobs stored just before a chunk (the writer queues an event's blobs
# before the chunk holding it) are read ahead with it when they take this
# many bytes or more, and at most AHEAD_GAP_MAX; each one of at most
# AHEAD_BLOB_MAX; AHEAD_BLOB_BYTES of them kept (oldest dropped first: a
# blob replay never asks for, a library it maps from this machine's file).
AHEAD_GAP_MIN = 32 << 10
AHEAD_GAP_MAX = 8 << 20
AHEAD_BLOB_MAX = 1 << 20
AHEAD_BLOB_BYTES = 32 << 20


class _ReadAhead:
    """A thread that reads and decompresses the chunks after the one last
    read, and the blobs stored before them.

    Why: replay's tracer thread shares its CPU with the program, and zstd
    costs it ~1.5 ms a MiB of a chunk (a shell pipeline's trace holds 20 MiB
    of what its pipes carried) and 15-20 µs a file read's blob (sqlite3's
    replay: 3,800 of them, 0.19 s), while the other CPU idles. The pread and
    zstd release the GIL, so this thread takes it only to start, to find the
    blobs' frames and to hand over: a few times a chunk, not once a blob,
    which is what made decoding blobs ahead one by one cost more than it
    saved (benchmarks/RESULTS.md); the blobs before a chunk are decompressed
    in one call. Decoding a chunk into events (msgpack, holding the GIL)
    stays with the caller. Up to AHEAD_CHUNKS chunks are kept, AHEAD_BYTES
    in all: replay's lookahead takes chunks in bursts, faster than one at a
    time could be read when asked for.
    """

    def __init__(self, reader: TraceReader, cpus: set[int] | None,
                 spans: list[tuple[int, int, int] | None]) -> None:
        self._reader = reader
        self._nchunks = len(reader._offsets)
        # chunk i -> (file offset, length, blob bytes before the chunk) to
        # read in one pread, or None: left to the caller
        self._spans = spans
        self._dctx = zstandard.ZstdDecompressor()  # a decompressor is not shared between threads
        self._cv = threading.Condition(threading.Lock())
        self._next = 0  # the next chunk to read
        self._busy: int | None = None  # being read
        self._have: dict[int, bytes | TraceError] = {}
        self._have_bytes = 0
        # digest -> (decompressed segments, index, size, frame has a checksum)
        self._blobs: dict[bytes, tuple[Any, int, int, bool]] = {}
        # (digests, bytes) of each gap's blobs, in the order read. The
        # decompressed bytes of a gap are one buffer, freed once none of its
        # blobs is kept: a group counts whole until it is dropped (the
        # oldest first), so AHEAD_BLOB_BYTES bounds the memory, not just the
        # blobs not asked for yet. Only this thread writes these; take_blob()
        # takes no lock (a dict's pop is atomic), as the tracer thread
        # waiting for a lock or the GIL costs it more than reading the blob
        # itself would (~20 µs here).
        self._blob_groups: deque[tuple[list[bytes], int]] = deque()
        self._blob_kept = 0
        self._stop = False
        self.served = 0  # chunks handed over (tests, profiling)
        self.served_blobs = 0
        self._thread = threads.start(self._loop, "scribe-trace-read-ahead", cpus)  # signals blocked but faults

    def take(self, i: int) -> bytes | None:
        """Chunk i's payload if this thread has it or is reading it (waits
        for that), else None: the caller reads it itself, and this thread
        goes on after it. A damaged chunk raises here, as reading it would."""
        if self._spans[i] is None:
            return None  # not one this thread reads
        with self._cv:
            while self._busy == i:
                self._cv.wait()
            got = self._have.pop(i, None)
            if got is None:  # not in order (or not reached): start again after it
                self._have.clear()
                self._have_bytes = 0
                self._next = i + 1
            else:
                self.served += 1
                if type(got) is bytes:
                    self._have_bytes -= len(got)
                if self._have and min(self._have) < i:  # skipped over: not wanted any more
                    for k in [k for k in self._have if k < i]:
                        v = self._have.pop(k)
                        if type(v) is bytes:
                            self._have_bytes -= len(v)
            self._cv.notify_all()
        if isinstance(got, TraceError):
            raise got
        return got

    def take_blob(self, ref: BlobRef) -> bytes | None:
        """The blob's bytes if this thread has them (checked as
        TraceReader.blob checks them), else None."""
        got = self._blobs.pop(ref.digest, None)
        if got is None:
            return None
        segments, k, size, checked = got
        data: bytes = segments[k].tobytes()
        if size != ref.size or len(data) != size or not checked and blob_digest(data) != ref.digest:
            return None  # read it from the file, which says what is wrong
        self.served_blobs += 1
        return data

    def _room(self) -> bool:
        spans, n = self._spans, self._next
        while n < self._nchunks and spans[n] is None:
            n += 1  # left to the caller
        self._next = n
        return n < self._nchunks and len(self._have) < AHEAD_CHUNKS and self._have_bytes < AHEAD_BYTES

    def _loop(self) -> None:
        cv = self._cv
        while True:
            with cv:
                while not self._room() and not self._stop:
                    cv.wait()
                if self._stop:
                    return
                i = self._next
                self._next = i + 1
                self._busy = i
            span = self._spans[i]
            assert span is not None
            start, length, gap = span
            # The first chunk is wanted at once (replay's start waits for
            # it), before the blobs stored ahead of it: the program's binary
            # and libraries, which replay maps from this machine's files
            # where they match (10 ms of decompressing for tar's start).
            blobs_after = i == 0
            whole = b""
            out: bytes | TraceError
            try:
                whole = self._reader._pread(length, start)
                if not blobs_after:
                    self._read_blobs(whole, start, gap)
                out = self._reader._chunk_payload(i, self._dctx, whole[gap:])
            except TraceError as exc:
                out = exc
            except Exception as exc:  # noqa: BLE001 - handed to the reader's thread, as a TraceError
                out = TraceError(f"cannot read chunk {i}: {exc}")
            with cv:
                self._busy = None
                if self._next > i:  # not taken back behind it meanwhile (a jump)
                    self._have[i] = out
                    if type(out) is bytes:
                        self._have_bytes += len(out)
                cv.notify_all()
            if blobs_after and len(whole) == length:
                try:
                    self._read_blobs(whole, start, gap)
                except Exception:  # noqa: BLE001 - each is read alone when asked for
                    pass

    def _read_blobs(self, buf: bytes, start: int, gap: int) -> None:
        """Decompress, in one call, the blobs in buf[:gap] (records as
        written, from file offset start). A record it cannot make sense of
        ends the walk: what is damaged is left for TraceReader.blob to say."""
        frames: list[memoryview] = []
        digests: list[bytes] = []
        sizes: list[int] = []
        view = memoryview(buf)
        pos, H = 0, F.RECORD_HEADER_SIZE
        while pos + H <= gap:
            try:
                tag, plen, _, size, _ = F.unpack_record_header(buf[pos:pos + H], start + pos)
            except TraceError:
                break
            end = pos + H + plen
            if end > gap:
                break
            if tag == F.TAG_BLOB and plen > 32 + 4 and size <= AHEAD_BLOB_MAX:
                digests.append(buf[pos + H:pos + H + 32])
                frames.append(view[pos + H + 32:end])
                sizes.append(size)
            pos = end
        if not frames:
            return
        try:
            segments = self._dctx.multi_decompress_to_buffer(
                frames, decompressed_sizes=struct.pack(f"={len(sizes)}Q", *sizes))
        except zstandard.ZstdError:
            return  # one of them is damaged: each is read alone when asked for
        group = []
        blobs = self._blobs
        for k, digest in enumerate(digests):
            if digest not in blobs:
                blobs[digest] = (segments, k, sizes[k], bool(frames[k][4] & 0x04))
                group.append(digest)
        total = sum(sizes)
        self._blob_groups.append((group, total))
        self._blob_kept += total
        while self._blob_kept > AHEAD_BLOB_BYTES and len(self._blob_groups) > 1:
            old, size = self._blob_groups.popleft()
            self._blob_kept -= size
            for digest in old:
                blobs.pop(digest, None)

    def stop(self) -> None:
        """End the thread (before the file it reads is closed)."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join()


def _header_from(d: Any) -> Header:
    if not isinstance(d, dict):
        raise TraceError("corrupt trace header")
    known = {}
    extra = {}
    defaults: dict[str, Any] = {
        "version": "?", "scribe_version": "?", "argv": [], "env": {}, "cwd": "",
        "hostname": "", "kernel": "", "cpu_model": "", "cpu_flags": [], "start_time": 0.0,
    }
    for k, v in d.items():
        if k in defaults:
            known[k] = v
        else:
            extra[k] = v
    for k, v in defaults.items():
        known.setdefault(k, v)
    known["argv"] = _strlist(known["argv"])
    known["cpu_flags"] = _strlist(known["cpu_flags"])
    if isinstance(known["env"], tuple):
        known["env"] = list(known["env"])
    return Header(extra=extra, **known)


def _strlist(v: Any) -> list[str]:
    if isinstance(v, (list, tuple)):
        return [x if isinstance(x, str) else repr(x) for x in v]
    return []


def _far_index(flat: Any, events: int) -> dict[int, tuple[int, int]] | None:
    """The footer's `far_next` ([p, m, what, ...]) checked; None if absent."""
    if flat is None:
        return None
    if not isinstance(flat, (list, tuple)) or len(flat) % 3:
        raise ValueError("bad far_next index")
    out: dict[int, tuple[int, int]] = {}
    for i in range(0, len(flat), 3):
        p, m, what = flat[i:i + 3]
        if (type(p) is not int or type(m) is not int or type(what) is not int
                or not 0 <= p < events or not (m == -1 or p < m < events) or what < -1):
            raise ValueError("bad far_next entry")
        out[p] = (m, what)
    return out


class TraceReader:
    """Read a trace; see the module docstring.  Not thread-safe (one per thread)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            # O_NONBLOCK: opening a FIFO must not hang waiting for a writer
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            raise TraceError(f"cannot open trace {self.path}: {exc.strerror}") from None
        try:
            self._open()
        except BaseException:
            os.close(self._fd)
            self._fd = -1
            raise

    def _open(self) -> None:
        self._dctx = zstandard.ZstdDecompressor()
        try:
            st = os.fstat(self._fd)
        except OSError as exc:
            raise TraceError(f"cannot read trace {self.path}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise TraceError(f"{self.path} is not a regular file")
        self._size = st.st_size
        self._cache: OrderedDict[int, list[Any]] = OrderedDict()
        self._ahead: _ReadAhead | None = None
        self._table: ProcessTable | None = None
        self._footer: dict[str, Any] | None = None
        # event p -> (m, what): p's thread's next event m lies more than
        # FAR_GAP events later (-1: none comes); what: m's syscall number,
        # if it is a call made with a stop, else -1. None: no such index
        # (a trace without a footer, or from before format 1.1).
        self.far_next: dict[int, tuple[int, int]] | None = None
        self.damage: str | None = None  # why the trace is incomplete, if it is
        self._read_header()
        if not self._read_footer():
            self._walk()

    # -- low-level reads -----------------------------------------------------

    def _pread(self, n: int, offset: int) -> bytes:
        try:
            data = os.pread(self._fd, n, offset)
        except OSError as exc:
            raise TraceError(f"cannot read trace {self.path}: {exc.strerror}") from None
        return data

    def _read_header(self) -> None:
        if self._size == 0:
            raise TraceError(f"{self.path} is empty, not a scribe trace")
        prefix = self._pread(F.PREFIX.size, 0)
        n = min(len(prefix), len(F.MAGIC))
        if prefix[:n] != F.MAGIC[:n]:
            raise TraceError(f"{self.path} is not a scribe trace")
        if len(prefix) < F.PREFIX.size:
            raise TraceError(f"{self.path} is truncated inside the trace header")
        _, major, minor, hlen, crc = F.PREFIX.unpack(prefix)
        if major > F.FORMAT_MAJOR:
            raise TraceError(
                f"trace format version {major} is newer than this scribe supports ({F.FORMAT_MAJOR})"
            )
        if major < 1:
            raise TraceError(f"trace format version {major} is not supported")
        self.format_version = (major, minor)
        if hlen > F.MAX_HEADER or F.PREFIX.size + hlen > self._size:
            raise TraceError(f"{self.path} is truncated or corrupt inside the trace header")
        hbytes = self._pread(hlen, F.PREFIX.size)
        if zlib.crc32(hbytes) & 0xFFFFFFFF != crc:
            raise TraceError(f"{self.path}: corrupt trace header (checksum mismatch)")
        self.header = _header_from(unpack(hbytes))
        self._data_start = F.PREFIX.size + hlen

    def _read_footer(self) -> bool:
        """Use the footer if the trailer points at a sound one; False -> walk."""
        if self._size < self._data_start + F.RECORD_HEADER_SIZE + F.TRAILER.size:
            return False
        offset, magic = F.TRAILER.unpack(self._pread(F.TRAILER.size, self._size - F.TRAILER.size))
        if magic != F.TRAILER_MAGIC:
            return False
        try:
            if offset < self._data_start or offset + F.RECORD_HEADER_SIZE > self._size - F.TRAILER.size:
                raise TraceError("footer offset out of range")
            tag, plen, raw, nevents, nchunks = F.unpack_record_header(
                self._pread(F.RECORD_HEADER_SIZE, offset), offset)
            if tag != F.TAG_FOOTER or offset + F.RECORD_HEADER_SIZE + plen != self._size - F.TRAILER.size:
                raise TraceError("footer record does not end at the trailer")
            frame = self._pread(plen, offset + F.RECORD_HEADER_SIZE)
            footer = unpack(self._decompress(frame, raw, F.MAX_FOOTER_RAW, "footer"))
            self._load_footer(footer, nevents, nchunks)
        except TraceError as exc:
            self.damage = f"footer unusable ({exc}); index rebuilt from the chunks"
            return False
        self.data_end = offset
        self.complete = True
        return True

    def _load_footer(self, footer: Any, nevents: int, nchunks: int) -> None:
        try:
            offsets = list(footer["chunk_offsets"])
            firsts = list(footer["chunk_first"])
            counts = list(footer["chunk_count"])
            events = footer["events"]
            blobs = {bytes(d): int(off) for d, off in footer["blobs"]}
            if not (len(offsets) == len(firsts) == len(counts) == nchunks) or events != nevents:
                raise ValueError("index sizes disagree")
            expect = 0
            for off, first, cnt in zip(offsets, firsts, counts):
                if (type(off) is not int or first != expect or type(cnt) is not int or cnt <= 0
                        or not self._data_start <= off < self._size):
                    raise ValueError("bad chunk index entry")
                expect += cnt
            if expect != events:
                raise ValueError("chunk counts do not add up")
            procs = [
                ProcessInfo(int(p[0]), int(p[1]), [str(a) for a in p[2]],
                            None if p[3] is None else int(p[3]), int(p[4]), int(p[5]),
                            [int(t) for t in p[6]])
                for p in footer["processes"]
            ]
            counts_map = {int(k): int(v) for k, v in footer["syscall_counts"].items()}
            exit_status = footer["exit_status"]
            if exit_status is not None and type(exit_status) is not int:
                raise ValueError("bad exit status")
            far = _far_index(footer.get("far_next"), events)
        except TraceError:
            raise
        except Exception as exc:
            raise TraceError(f"corrupt footer: {type(exc).__name__}") from None
        self._offsets, self._firsts, self._counts = offsets, firsts, counts
        self._len = events
        self._blobs = blobs
        self._processes = procs
        self._syscall_counts = counts_map
        self._exit_status = exit_status
        self.far_next = far
        self._footer = footer

    def _walk(self) -> None:
        """No usable footer: index the records from the start, up to the last whole one."""
        self.complete = False
        offsets: list[int] = []
        firsts: list[int] = []
        counts: list[int] = []
        blobs: dict[bytes, int] = {}
        off = self._data_start
        end = self._size
        expect = 0
        stop_reason = None
        while off < end:
            head = self._pread(F.RECORD_HEADER_SIZE, off)
            try:
                tag, plen, raw, a, b = F.unpack_record_header(head, off)
            except TraceError as exc:
                stop_reason = str(exc)
                break
            rec_end = off + F.RECORD_HEADER_SIZE + plen
            if rec_end > end:
                stop_reason = f"trace ends inside a record at offset {off}"
                break
            if tag == F.TAG_CHUNK:
                if a != expect or b == 0:
                    stop_reason = f"chunk out of sequence at offset {off}"
                    break
                offsets.append(off)
                firsts.append(a)
                counts.append(b)
                expect += b
            elif tag == F.TAG_BLOB:
                if plen >= 32:
                    blobs.setdefault(self._pread(32, off + F.RECORD_HEADER_SIZE), off)
            elif tag == F.TAG_FOOTER:
                stop_reason = "the footer is damaged"
                break
            # other tags: records added by a newer minor version; skipped
            off = rec_end
        self._offsets, self._firsts, self._counts = offsets, firsts, counts
        self._len = expect
        self._blobs = blobs
        self._processes = None
        self._syscall_counts = None
        self._exit_status = None
        self.data_end = off  # where the intact records end (repair cuts here)
        if self.damage is None:
            self.damage = stop_reason or "no footer: the recorder did not finish"

    def _decompress(self, frame: bytes, raw_len: int, limit: int, what: str,
                    dctx: zstandard.ZstdDecompressor | None = None) -> bytes:
        F.check_frame(frame, raw_len, limit, what)
        try:
            out = (dctx or self._dctx).decompress(frame)
        except zstandard.ZstdError as exc:
            raise TraceError(f"corrupt {what}: {str(exc).splitlines()[0] if str(exc) else 'zstd error'}") from None
        if len(out) != raw_len:
            raise TraceError(f"corrupt {what}: wrong decompressed size")
        return out

    # -- chunks --------------------------------------------------------------

    @property
    def chunk_count(self) -> int:
        """Number of chunks (of events) in the index."""
        return len(self._offsets)

    def chunk_info(self, i: int) -> tuple[int, int, int]:
        """(file offset, first event number, event count) of chunk i."""
        return self._offsets[i], self._firsts[i], self._counts[i]

    def _chunk_what(self, i: int) -> str:
        first, count = self._firsts[i], self._counts[i]
        return f"chunk {i} (events {first}-{first + count - 1})"

    def _chunk_payload(self, i: int, dctx: zstandard.ZstdDecompressor | None = None,
                       whole: bytes | None = None) -> bytes:
        """Chunk i read and decompressed, not decoded (the read-ahead thread's
        part). whole: the record's bytes, if read already."""
        off, first, count = self._offsets[i], self._firsts[i], self._counts[i]
        head = whole[:F.RECORD_HEADER_SIZE] if whole else self._pread(F.RECORD_HEADER_SIZE, off)
        tag, plen, raw, a, b = F.unpack_record_header(head, off)
        if tag != F.TAG_CHUNK or a != first or b != count:
            raise TraceError(f"chunk index points at a wrong record (offset {off})")
        if off + F.RECORD_HEADER_SIZE + plen > self._size:
            raise TraceError(f"trace truncated inside {self._chunk_what(i)}")
        if whole is not None and len(whole) == F.RECORD_HEADER_SIZE + plen:
            frame = whole[F.RECORD_HEADER_SIZE:]
        else:
            frame = self._pread(plen, off + F.RECORD_HEADER_SIZE)
        return self._decompress(frame, raw, F.MAX_CHUNK_RAW, self._chunk_what(i), dctx)

    def _read_chunk(self, i: int) -> list[Any]:
        """Decode chunk i (uncached)."""
        ahead = self._ahead
        payload = ahead.take(i) if ahead is not None else None
        if payload is None:
            payload = self._chunk_payload(i)
        try:
            return decode_chunk(payload, self._counts[i])
        except TraceError as exc:
            raise TraceError(f"{self._chunk_what(i)}: {exc}") from None

    def read_ahead(self, cpus: set[int] | None = None) -> None:
        """From now on, read and decompress the next chunks on a thread of
        its own (on `cpus`, if given) while the caller decodes: for a reader
        that goes through the events in order beside other work on its CPU
        (replay). close() ends the thread."""
        if self._ahead is not None or self._fd < 0:
            return
        spans: list[tuple[int, int, int] | None] = []
        prev_end = self._data_start
        for off in self._offsets:  # a pread of each chunk's header: ~5 µs each
            try:
                _, plen, raw, _, _ = F.unpack_record_header(self._pread(F.RECORD_HEADER_SIZE, off), off)
            except TraceError:  # damaged: reading it in order says so
                spans.append(None)
                prev_end = off + F.RECORD_HEADER_SIZE
                continue
            size = F.RECORD_HEADER_SIZE + plen
            gap = off - prev_end if AHEAD_GAP_MIN <= off - prev_end <= AHEAD_GAP_MAX else 0
            spans.append((off - gap, gap + size, gap) if raw >= AHEAD_MIN or gap else None)
            prev_end = off + size
        if sum(1 for x in spans if x) > 1:
            self._ahead = _ReadAhead(self, cpus, spans)

    def _chunk(self, i: int) -> list[Any]:
        """Decode chunk i through a small LRU cache (random access stays local)."""
        cache = self._cache
        events = cache.get(i)
        if events is not None:
            cache.move_to_end(i)
            return events
        events = self._read_chunk(i)
        cache[i] = events
        if len(cache) > _CACHE_CHUNKS:
            cache.popitem(last=False)
        return events

    # -- events --------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, n: int) -> Any:
        if n < 0:
            n += self._len
        if not 0 <= n < self._len:
            raise IndexError(f"event {n} out of range (trace has {self._len})")
        i = bisect.bisect_right(self._firsts, n) - 1
        return self._chunk(i)[n - self._firsts[i]]

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Any]]:
        """(event number, event) from start to stop; TraceError at a damaged chunk."""
        if stop is None or stop > self._len:
            stop = self._len
        if start < 0:
            start = max(0, start + self._len)
        if start >= stop:
            return
        i = bisect.bisect_right(self._firsts, start) - 1
        nchunks = len(self._offsets)
        while i < nchunks:
            first = self._firsts[i]
            if first >= stop:
                return
            events = self._cache.get(i)
            if events is None:
                events = self._read_chunk(i)
            lo = start - first if start > first else 0
            hi = min(len(events), stop - first)
            yield from zip(count(first + lo), events[lo:hi] if lo or hi < len(events) else events)
            i += 1

    def __iter__(self) -> Iterator[Any]:
        for _, ev in self.events():
            yield ev

    # -- summary (footer, or rebuilt) ----------------------------------------

    def _rebuild(self) -> None:
        """Decode every readable event to rebuild the table of a footerless trace."""
        table = ProcessTable()
        try:
            for n, ev in self.events():
                table.add(n, ev)
        except TraceError as exc:
            self.damage = f"{self.damage}; {exc}" if self.damage else str(exc)
        self._table = table
        self._processes = table.processes()
        self._syscall_counts = dict(table.syscall_counts)
        self._exit_status = table.root_exit_status()

    @property
    def processes(self) -> list[ProcessInfo]:
        """The process table (from the footer, or rebuilt for an incomplete trace)."""
        if self._processes is None:
            self._rebuild()
        assert self._processes is not None
        return self._processes

    @property
    def syscall_counts(self) -> dict[int, int]:
        """How many times each syscall number occurs."""
        if self._syscall_counts is None:
            self._rebuild()
        assert self._syscall_counts is not None
        return self._syscall_counts

    @property
    def exit_status(self) -> int | None:
        """The recording's final exit status (for an incomplete trace: the first process's, if it exited)."""
        if self.complete:
            return self._exit_status
        if self._processes is None:
            self._rebuild()
        return self._exit_status

    @property
    def end_time_ns(self) -> int | None:
        """Time of the last event (complete traces only; None otherwise)."""
        if self._footer is not None:
            t = self._footer.get("end_time_ns")
            return t if type(t) is int else None
        return None

    # -- blobs ---------------------------------------------------------------

    def blob(self, ref: BlobRef) -> bytes:
        """The content a BlobRef names; TraceError if it is missing or damaged."""
        if self._ahead is not None:
            got = self._ahead.take_blob(ref)
            if got is not None:
                return got
        off = self._blobs.get(ref.digest)
        if off is None:
            raise TraceError(f"blob {ref.digest[:6].hex()} is not in the trace")
        head = self._pread(F.RECORD_HEADER_SIZE, off)
        tag, plen, raw, size, _ = F.unpack_record_header(head, off)
        if tag != F.TAG_BLOB or plen < 32 or off + F.RECORD_HEADER_SIZE + plen > self._size:
            raise TraceError(f"blob index points at a wrong record (offset {off})")
        if size != ref.size:
            raise TraceError(f"blob {ref.digest[:6].hex()} has the wrong size")
        payload = self._pread(plen, off + F.RECORD_HEADER_SIZE)
        if payload[:32] != ref.digest:
            raise TraceError(f"blob index points at a wrong blob (offset {off})")
        frame = payload[32:]
        data = self._decompress(frame, size, F.MAX_BLOB_SIZE, f"blob at offset {off}")
        # A frame with a content checksum (every writer's) was checked by
        # zstd as it was decompressed; hashing it again cost replay a tenth
        # of its tracer time (tar-gzip: 2,100 blobs).
        if not (len(frame) > 4 and frame[4] & 0x04) and blob_digest(data) != ref.digest:
            raise TraceError(f"corrupt blob at offset {off} (hash mismatch)")
        return data

    def data(self, x: bytes | BlobRef) -> bytes:
        """bytes for bytes-or-BlobRef (what writes/reads/Input values hold)."""
        if type(x) is BlobRef:
            return self.blob(x)
        return bytes(x)

    @property
    def blob_count(self) -> int:
        """Number of distinct blobs stored."""
        return len(self._blobs)

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Release the file."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.stop()  # before the fd it reads from is closed (or reused)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._cache.clear()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if getattr(self, "_fd", -1) >= 0:
                os.close(self._fd)
        except Exception:
            pass

"""TraceWriter: appends events to a trace file while a program is recorded.

The tracer thread calls append() for every event; events are packed at once
and buffered; a chunk (one zstd frame with checksum) is cut when 4096 events
or 1 MiB have accumulated, or by the writer thread every 50 ms, so a
recorder killed with SIGKILL loses at most ~100 ms of events (plus what waits
behind a large blob, see below).  A blob is named (SHA-256) at once, stored
once per content hash, and written before any chunk that can refer to it.
close() writes the footer: chunk index, blob index, process table, syscall
counts, exit status.

Compressing and writing happen on the writer thread, in the order the
records were made (blobs before the chunks that refer to them): zstd
releases the GIL, so a binary of tens of megabytes is compressed while the
tracer goes on with the program instead of holding every tracee still.
It takes the queue in batches (one compression call for its blobs, one
for its chunks, one pwritev), because each time it takes the GIL back the
tracer thread may have to wait for it.
At most MAX_QUEUED bytes of blob content wait for it; past that, the next
append() waits.

Any I/O failure (ENOSPC, EFBIG, EIO) becomes a TraceError with a one-line
message; the partial record is cut off so everything before stays readable,
and the writer refuses further work (the next call, or close(), raises it).
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
import time
from typing import Any

import msgpack
import zstandard

from traces import format as F
from traces import threads
from traces.codec import Encoder, blob_digest, pack_chunk
from traces.errors import TraceError
from traces.events import BlobRef, Exec, Exit, Spawn, Syscall
from traces.proctable import ProcessTable


#: content (blobs, chunks of events) that may wait for the writer thread before append() waits too.
MAX_QUEUED = 64 << 20
#: a blob this large, or this much queued, wakes the writer thread at once.
WAKE_BYTES = 1 << 20
#: content the writer thread compresses and writes in one go.
BATCH_BYTES = 4 << 20


_lock_ids = itertools.count()


def _clock_free_lock() -> Any:
    """A mutex whose acquire never reads the clock.

    CPython 3.11's threading.Lock reads the monotonic clock on every acquire,
    even an uncontended one (it computes a deadline first); a recorder whose
    tracer thread runs with rdtsc trapped (see virt/notsc.py) would pay an
    emulated fault for it at every append. A POSIX semaphore (the lock of
    multiprocessing) tries without the clock and waits without the GIL.
    """
    try:
        from _multiprocessing import SemLock

        return SemLock(1, 1, 1, f"/scribe-writer-{os.getpid()}-{next(_lock_ids)}", True)
    except (ImportError, OSError):  # no /dev/shm: the usual lock, slower there
        return threading.Lock()


def _cpu_info() -> tuple[str, list[str]]:
    """CPU model and flags of this machine (a replay on another CPU may differ)."""
    model, flags = "", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = value.split()
                elif not line.strip() and model:
                    break
    except OSError:
        pass
    return model, flags


def _scribe_version() -> str:
    try:
        from importlib.metadata import version

        return version("scribe-vee")
    except Exception:
        return "unknown"


def complete_header(header: dict[str, Any]) -> dict[str, Any]:
    """The header to store: the caller's keys plus what the writer knows."""
    h = dict(header)
    for key in ("argv", "env", "cwd"):
        if key not in h:
            raise TraceError(f"trace header needs {key!r}")
    h["version"] = f"{F.FORMAT_MAJOR}.{F.FORMAT_MINOR}"
    uname = os.uname()
    if "scribe_version" not in h:  # (setdefault would ask importlib.metadata anyway)
        h["scribe_version"] = _scribe_version()
    h.setdefault("hostname", uname.nodename)  # what gethostname() returns on Linux
    h.setdefault("kernel", uname.release)
    if "cpu_model" not in h or "cpu_flags" not in h:
        model, flags = _cpu_info()
        h.setdefault("cpu_model", model)
        h.setdefault("cpu_flags", flags)
    h.setdefault("start_time", time.time())
    return h


def _job_bytes(job: tuple[Any, ...]) -> int:
    """The content a queued record holds (a blob's bytes, a chunk's events)."""
    return len(job[2]) if job[0] == "blob" else job[4]  # type: ignore[no-any-return]


class TraceWriter:
    """Writes one trace file; see the module docstring.  Thread-safe."""

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any], *,
                 chunk_events: int = F.CHUNK_EVENTS, level: int = F.ZSTD_LEVEL,
                 blob_level: int = F.BLOB_LEVEL) -> None:
        self.path = os.fspath(path)
        self._lock = _clock_free_lock()
        self._cv = threading.Condition(self._lock)  # the writer thread's queue changed
        self._chunk_events = chunk_events
        # Writer thread only: chunks and the footer; blobs.
        self._cctx = zstandard.ZstdCompressor(level=level, write_checksum=True)
        self._bctx = zstandard.ZstdCompressor(level=blob_level, write_checksum=True)
        self._enc = Encoder(self._blob_locked)
        self._buf: list[bytes] = []
        self._buf_bytes = 0
        self._base_time = 0  # time of the event before the buffered chunk
        self._n = 0  # events appended
        self._n_cut = 0  # events handed to the writer thread in chunks
        self._n_written = 0  # events in chunks on disk
        self._last_cut = time.monotonic()
        self._chunk_offsets: list[int] = []
        self._chunk_first: list[int] = []
        self._chunk_count: list[int] = []
        self._blobs: dict[bytes, int] = {}  # digest -> record offset (written)
        self._refs: dict[bytes, BlobRef] = {}  # digest -> its (frozen) BlobRef, made once
        # Records for the writer thread, in file order:
        # ("blob", digest, data) or ("chunk", base_time, first, [packed events], their bytes).
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._queued_bytes = 0  # content in the queue: blobs, and the events of chunks
        self._busy = False  # the writer thread is compressing/writing a record
        self._table = ProcessTable()
        self._failed: TraceError | None = None
        self._closed = False
        self._stopping = False
        h = complete_header(header)
        self.header = h  # as stored (the recorder reads what the trace promises)
        try:
            hbytes = msgpack.packb(h, use_bin_type=True, unicode_errors="surrogateescape")
        except Exception as exc:
            raise TraceError(f"cannot store trace header: {exc}") from None
        if len(hbytes) > F.MAX_HEADER:
            raise TraceError("trace header too large")
        import zlib

        prefix = F.PREFIX.pack(F.MAGIC, F.FORMAT_MAJOR, F.FORMAT_MINOR, len(hbytes),
                               zlib.crc32(hbytes) & 0xFFFFFFFF)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise TraceError(f"cannot create trace {self.path}: {exc.strerror}") from None
        try:
            os.fchmod(self._fd, 0o600)  # an existing file keeps its mode through O_TRUNC
        except OSError:
            pass
        self._offset = 0
        try:
            self._write(prefix + hbytes)
        except TraceError:
            os.close(self._fd)
            raise
        # started by the first append, not here: a recorder typically forks
        # the tracee after creating the writer, and forking a process that
        # already runs a second thread is best avoided.
        self._timer: threading.Thread | None = None
        # CPUs the writer thread runs on (None: those of the thread that
        # starts it). A recorder bound to one CPU gives it the others, so
        # compression runs beside the program instead of taking its turns.
        self.thread_cpus: set[int] | None = None

    # -- the recording side --------------------------------------------------

    def _check_usable(self) -> None:
        """Under the lock: a failed or closed writer takes nothing more."""
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise TraceError("trace writer is closed")

    def _admit(self) -> None:
        """Under the lock: wait while too much blob content waits to be written."""
        while self._queued_bytes > MAX_QUEUED and self._failed is None and self._timer is not None:
            self._cv.wait()

    def append(self, event: Any) -> int:
        """Buffer one event; returns its event number (0, 1, ...)."""
        with self._lock:
            self._check_usable()
            if self._timer is None:
                self._start_timer()
            elif self._queued_bytes > MAX_QUEUED:
                self._admit()
                self._check_usable()
            packed = self._enc.encode(event)
            n = self._n
            self._n = n + 1
            tid = event.tid
            table = self._table
            cls = type(event)
            if cls is Syscall:
                counts = table.syscall_counts
                nr = event.nr
                counts[nr] = counts.get(nr, 0) + 1
            elif cls is Spawn or cls is Exec or cls is Exit:
                table.lifecycle(n, event)  # before last[] moves: a reused tid settles its old life
            if tid not in table.first:
                table.first[tid] = n
            table.last[tid] = n
            if cls is not Exit:  # (ProcessTable.add, inline)
                own = table.own_last
                p = own.get(tid)
                if p is not None and n - p > F.FAR_GAP:
                    table.far(p, n, event)
                own[tid] = n
            self._buf.append(packed)
            self._buf_bytes += len(packed)
            if len(self._buf) >= self._chunk_events or self._buf_bytes >= F.CHUNK_BYTES:
                self._cut_locked()
            return n

    def blob(self, data: bytes, digest: bytes | None = None) -> BlobRef:
        """Store data once (by content hash) and return its reference.
        digest: its SHA-256 if the caller knows it already (the recorder's
        cache of file digests), so that it is not hashed again."""
        with self._lock:
            self._check_usable()
            if self._timer is None:
                self._start_timer()
            elif self._queued_bytes > MAX_QUEUED:
                self._admit()
                self._check_usable()
            return self._blob_locked(bytes(data), digest)

    def _blob_locked(self, data: bytes, digest: bytes | None = None) -> BlobRef:
        size = len(data)
        if size > F.MAX_BLOB_SIZE:
            raise TraceError(f"blob of {size} bytes exceeds the trace format's limit")
        if digest is None:
            digest = blob_digest(data)
        ref = self._refs.get(digest)
        if ref is not None:
            return ref if ref.size == size else BlobRef(digest, size)
        ref = BlobRef(digest, size)
        self._refs[digest] = ref
        if self._timer is None:  # no writer thread (yet): write it now
            self._write_record(("blob", digest, data))
            return ref
        self._queue.append(("blob", digest, data))
        self._queued_bytes += size
        if size >= WAKE_BYTES or self._queued_bytes >= WAKE_BYTES:
            # Small blobs (a program reading 4 KiB pages) wait for the next
            # chunk or timer tick: a wake-up each would cost the tracer
            # thread more than compressing them.
            self._cv.notify()
        return ref

    def flush(self) -> None:
        """Write buffered events now (one chunk) and wait until they are on disk."""
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._closed:
                return
            self._cut_locked()
            self._drain_locked()
            if self._failed is not None:
                raise self._failed

    def _cut_locked(self) -> None:
        """Hand the buffered events to the writer thread as one chunk."""
        self._last_cut = time.monotonic()
        if not self._buf:
            return
        job = ("chunk", self._base_time, self._n_cut, self._buf, self._buf_bytes)
        self._n_cut += len(self._buf)
        self._buf = []
        self._buf_bytes = 0
        self._base_time = self._enc.last_time
        if self._timer is None:
            self._write_record(job)
        else:
            self._queue.append(job)
            self._queued_bytes += job[4]  # (bytes a pipe delivered are kept in their events)
            self._cv.notify()

    def _drain_locked(self) -> None:
        """Under the lock: wait until the writer thread has written everything queued."""
        while (self._queue or self._busy) and self._failed is None and self._timer is not None:
            self._cv.wait()

    def _start_timer(self) -> None:
        # Signals blocked but faults (traces/threads.py): the tracer waits
        # for SIGCHLD itself, and the clock reads of a thread started inside
        # TscOff must reach their handler.
        self._timer = threads.start(self._writer_loop, "scribe-trace-flush", self.thread_cpus)

    def _writer_loop(self) -> None:
        """The writer thread: records in queue order; buffered events at least every 50 ms.

        It takes what is queued in batches (up to BATCH_BYTES of content) and
        compresses a batch in a call per kind and writes it in one pwritev: every time
        this thread takes the GIL back it may make the tracer thread wait for
        it, and a record at a time that was several times per blob (a
        pipeline reading 4 KiB at a time queues thousands).
        """
        cv = self._cv
        while True:
            with cv:
                while not self._queue:
                    if self._stopping or self._failed is not None:
                        return
                    wait = self._last_cut + F.FLUSH_INTERVAL - time.monotonic()
                    if wait <= 0:
                        self._cut_locked()  # queues the buffered events, if any
                        continue
                    cv.wait(wait)
                if self._failed is not None:
                    return
                jobs = self._take_batch()
                self._busy = True
            try:
                self._write_batch(jobs)
            except TraceError:
                pass  # remembered in self._failed; the next call raises it
            except BaseException as exc:  # pragma: no cover - a bug; do not hang the tracer
                self._failed = TraceError(f"trace writer failed: {type(exc).__name__}: {exc}")
            finally:
                with cv:
                    self._busy = False
                    self._queued_bytes -= sum(map(_job_bytes, jobs))
                    cv.notify_all()

    def _take_batch(self) -> list[tuple[Any, ...]]:
        """Under the lock: the first queued records, up to BATCH_BYTES of content (one at least)."""
        queue = self._queue
        jobs = [queue.popleft()]
        size = _job_bytes(jobs[0])
        while queue and size < BATCH_BYTES:
            job = queue.popleft()
            jobs.append(job)
            size += _job_bytes(job)
        return jobs

    def _write_record(self, job: tuple[Any, ...]) -> None:
        """Compress and write one record (the caller's thread, when no writer thread runs)."""
        self._write_batch([job])

    def _write_batch(self, jobs: list[tuple[Any, ...]]) -> None:
        """Compress queued records (one call per kind: blobs have their own
        level) and write them in order."""
        payloads = [job[2] if job[0] == "blob" else pack_chunk(job[1], job[3]) for job in jobs]
        frames: list[Any] = [None] * len(jobs)
        for cctx, kind in ((self._bctx, "blob"), (self._cctx, "chunk")):
            at = [i for i, job in enumerate(jobs) if job[0] == kind]
            if len(at) == 1:
                frames[at[0]] = cctx.compress(payloads[at[0]])
            elif at:
                out = cctx.multi_compress_to_buffer([payloads[i] for i in at], threads=0)
                for j, i in enumerate(at):
                    frames[i] = out[j].tobytes()
        records: list[list[bytes]] = []
        for job, payload, frame in zip(jobs, payloads, frames):
            if job[0] == "blob":
                digest = job[1]
                head = F.pack_record_header(F.TAG_BLOB, len(digest) + len(frame), 0, len(payload), 0)
                records.append([head, digest, frame])
            else:
                first, count = job[2], len(job[3])
                records.append([F.pack_record_header(F.TAG_CHUNK, len(frame), len(payload), first, count), frame])
        offsets, error = self._write_records(records)
        for offset, job in zip(offsets, jobs):  # those on disk
            if job[0] == "blob":
                self._blobs[job[1]] = offset
            else:
                first, count = job[2], len(job[3])
                self._chunk_offsets.append(offset)
                self._chunk_first.append(first)
                self._chunk_count.append(count)
                self._n_written = first + count
        if error is not None:
            raise self._fail(error)  # after the count of saved events is right

    def _write(self, data: bytes) -> None:
        """One record, written whole; on failure cut the file back to the last record."""
        _, error = self._write_records([[data]])
        if error is not None:
            raise self._fail(error)  # after the count of saved events is right

    def _write_records(self, records: list[list[bytes]]) -> tuple[list[int], OSError | None]:
        """Whole records (each as pieces) in one pwritev; the offsets of those
        on disk, and the error that stopped the rest.

        On a failure (ENOSPC, EFBIG) the file is cut back to the last whole
        record: the batch is tried again a record at a time, so what fitted
        is kept, as when records were written one by one.
        """
        one_by_one = False
        try:
            self._writev_all([p for rec in records for p in rec])
        except OSError as exc:
            self._truncate(self._offset)
            if len(records) == 1:
                return [], exc
            one_by_one = True
        offsets: list[int] = []
        for rec in records:
            if one_by_one:
                try:
                    self._writev_all(list(rec))
                except OSError as exc:
                    self._truncate(self._offset)
                    return offsets, exc
            offsets.append(self._offset)
            self._offset += sum(len(p) for p in rec)
        return offsets, None

    def _writev_all(self, bufs: list[Any]) -> None:
        """Write the pieces at self._offset (pwritev: a write cut short by a
        full disk leaves no file position behind to go wrong)."""
        at, i = self._offset, 0
        while i < len(bufs):
            n = os.pwritev(self._fd, bufs[i:i + 1024], at)
            at += n
            while i < len(bufs) and n >= len(bufs[i]):
                n -= len(bufs[i])
                i += 1
            if n:
                bufs[i] = memoryview(bufs[i])[n:]

    def _truncate(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            pass

    def _fail(self, exc: OSError) -> TraceError:
        self._failed = TraceError(
            f"cannot write trace {self.path}: {exc.strerror or exc}"
            f" (the first {self._n_written} events are saved)"
        )
        return self._failed

    # -- closing -------------------------------------------------------------

    def close(self, exit_status: int | None = None) -> None:
        """Flush, write the footer, close the file.  Idempotent.

        Raises the writer's earlier TraceError if writing failed (the file is
        then left without a footer, readable up to the last good chunk).
        """
        if not self._finish():
            return
        try:
            if self._failed is not None:
                raise self._failed
            self._write_footer(exit_status)
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def _finish(self) -> bool:
        """Stop taking events, write out everything queued, stop the writer
        thread.  False if the writer was closed already."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            if self._failed is None:
                self._cut_locked()
            self._stopping = True
            self._cv.notify_all()
        timer = self._timer
        if timer is not None and timer is not threading.current_thread():
            timer.join()
        return True

    def abandon(self) -> None:
        """Flush what is buffered and close the file *without* a footer.

        The trace is then exactly what a recorder killed by SIGKILL leaves
        behind (modulo the last 100 ms): for tests of recovery and repair.
        """
        if self._finish():
            os.close(self._fd)

    def _write_footer(self, exit_status: int | None) -> None:
        footer = build_footer(
            events=self._n_written,
            end_time_ns=self._enc.last_time,
            chunk_offsets=self._chunk_offsets,
            chunk_first=self._chunk_first,
            chunk_count=self._chunk_count,
            blobs=self._blobs,
            table=self._table,
            exit_status=exit_status,
        )
        self._write(encode_footer(self._cctx, footer, self._offset, len(self._chunk_offsets)))

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.close(None)
        except TraceError:
            if exc_type is None:
                raise

    @property
    def events_written(self) -> int:
        """Events appended so far."""
        return self._n


def build_footer(*, events: int, end_time_ns: int, chunk_offsets: list[int],
                 chunk_first: list[int], chunk_count: list[int], blobs: dict[bytes, int],
                 table: ProcessTable, exit_status: int | None) -> dict[str, Any]:
    """The footer map (shared by the writer and repair)."""
    procs = [
        [p.vpid, p.ppid, p.argv, p.exit_status, p.first_event, p.last_event, p.threads]
        for p in table.processes()
    ]
    return {
        "events": events,
        "end_time_ns": end_time_ns,
        "chunk_offsets": chunk_offsets,
        "chunk_first": chunk_first,
        "chunk_count": chunk_count,
        "blobs": [[d, off] for d, off in blobs.items()],
        "processes": procs,
        "syscall_counts": table.syscall_counts,
        "exit_status": exit_status,
        "far_next": table.far_index(events),
    }


def encode_footer(cctx: zstandard.ZstdCompressor, footer: dict[str, Any], offset: int,
                  nchunks: int) -> bytes:
    """Footer record plus trailer, ready to be written at `offset` in one write."""
    payload = msgpack.packb(footer, use_bin_type=True, unicode_errors="surrogateescape")
    frame = cctx.compress(payload)
    rec = F.pack_record_header(F.TAG_FOOTER, len(frame), len(payload), footer["events"], nchunks)
    return rec + frame + F.TRAILER.pack(offset, F.TRAILER_MAGIC)

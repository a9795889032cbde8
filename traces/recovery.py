"""Writing the footer back onto an incomplete trace (`scribe info --repair`).

A trace whose recorder died has every chunk it flushed but no footer.  repair
decodes every chunk to find the last sound one, cuts the file after the last
intact record, rebuilds the process table and syscall counts from the events,
and appends a footer, so the trace opens fast and says `complete` again.
Events after the first damaged chunk are dropped: they cannot be trusted.
"""

from __future__ import annotations

import os

import zstandard

from traces import format as F
from traces.errors import TraceError
from traces.proctable import ProcessTable
from traces.reader import TraceReader
from traces.writer import build_footer, encode_footer


def repair(path: str | os.PathLike[str]) -> None:
    """Make an incomplete trace complete; a no-op on a complete one.

    Returns nothing; raises TraceError if the file is not a trace at all
    (bad magic, newer version, damaged header) or cannot be rewritten.
    """
    path = os.fspath(path)
    with TraceReader(path) as r:
        if r.complete:
            return
        table = ProcessTable()
        good_chunks = 0
        cut = r.data_end
        end_time = 0
        for i in range(r.chunk_count):
            off, first, count = r.chunk_info(i)
            try:
                events = r._read_chunk(i)
            except TraceError:
                cut = off  # drop this chunk and everything after it
                break
            for j, ev in enumerate(events):
                table.add(first + j, ev)
            if events:
                end_time = events[-1].time_ns
            good_chunks = i + 1
        offsets = [r.chunk_info(i)[0] for i in range(good_chunks)]
        firsts = [r.chunk_info(i)[1] for i in range(good_chunks)]
        counts = [r.chunk_info(i)[2] for i in range(good_chunks)]
        blobs = {d: off for d, off in r._blobs.items() if off < cut}
    nevents = sum(counts)
    footer = build_footer(
        events=nevents,
        end_time_ns=end_time,
        chunk_offsets=offsets,
        chunk_first=firsts,
        chunk_count=counts,
        blobs=blobs,
        table=table,
        exit_status=table.root_exit_status(),
    )
    tail = encode_footer(zstandard.ZstdCompressor(level=F.ZSTD_LEVEL, write_checksum=True),
                         footer, cut, good_chunks)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise TraceError(f"cannot repair {path}: {exc.strerror}") from None
    try:
        os.ftruncate(fd, cut)
        view = memoryview(tail)
        off = cut
        while view:
            n = os.pwrite(fd, view, off)
            view = view[n:]
            off += n
        os.fsync(fd)
    except OSError as exc:
        raise TraceError(f"cannot repair {path}: {exc.strerror}") from None
    finally:
        os.close(fd)

"""On-disk constants and the small binary structures of a trace file.

Everything about byte layout lives here (and in codec.py for event payloads)
so that FORMAT.md has one place to be checked against.  See traces/FORMAT.md.
"""

from __future__ import annotations

import struct
import zlib

from traces.errors import TraceError

#: first 8 bytes of every trace.  The 0x89 byte catches 7-bit transfers, the
#: newline catches text-mode newline mangling (as PNG does).
MAGIC = b"\x89SCRIBE\n"

#: format version written by this scribe.  A reader accepts any minor version
#: of its own major (unknown additions are skipped) and refuses a newer major.
FORMAT_MAJOR = 1
FORMAT_MINOR = 1  # 1: the footer's `far_next`

#: magic, major, minor, header length, crc32 of the header bytes.
PREFIX = struct.Struct("<8sHHII")

#: every record after the header: tag, payload length, raw (decompressed)
#: length, two tag-specific numbers, crc32 of the preceding 24 bytes.
RECORD = struct.Struct("<4sIIQI")
RECORD_HEADER_SIZE = RECORD.size + 4

TAG_CHUNK = b"CHNK"  # a: first event number, b: event count
TAG_BLOB = b"BLOB"  # a: blob size; payload: 32-byte sha256 + zstd frame
TAG_FOOTER = b"FOOT"  # a: total events, b: number of chunks

#: the last 16 bytes of a complete trace: offset of the footer record + magic.
TRAILER = struct.Struct("<Q8s")
TRAILER_MAGIC = b"SCRIBEnd"

# Limits: nothing a file claims is believed beyond these, so a corrupt or
# hostile trace cannot make the reader allocate without bound.
MAX_HEADER = 16 << 20
MAX_CHUNK_RAW = 64 << 20
MAX_FOOTER_RAW = 1 << 30
MAX_BLOB_SIZE = (1 << 32) - 1
#: zstd cannot expand data more than ~32768x (one RLE block of 128 KiB per
#: 4 bytes); a frame claiming more than this ratio is lying.
MAX_RATIO = 1 << 16

#: the footer's `far_next` lists the events whose thread's next event comes
#: more than this many events later.
FAR_GAP = 1024

#: the writer cuts a chunk at this many events or this many raw bytes.
CHUNK_EVENTS = 4096
CHUNK_BYTES = 1 << 20
#: and at least this often (seconds), from a background timer.
FLUSH_INTERVAL = 0.05
ZSTD_LEVEL = 3
#: blobs (file contents: what a program read from files, the images it
#: mapped) are compressed at this level. On one file read of 10 KiB, or a
#: library, level 3 costs 1.5 times level 2 (tar-gzip's 1,400 blobs:
#: 100 ms against 60) for a trace about 1% smaller; a chunk's 1 MiB of
#: events is another matter (a pipeline's chunks come out half again as
#: large at level 2, and no faster).
BLOB_LEVEL = 2


def pack_record_header(tag: bytes, payload_len: int, raw_len: int, a: int, b: int) -> bytes:
    """The 28-byte record header, its own crc32 last."""
    head = RECORD.pack(tag, payload_len, raw_len, a, b)
    return head + (zlib.crc32(head) & 0xFFFFFFFF).to_bytes(4, "little")


def unpack_record_header(data: bytes, offset: int) -> tuple[bytes, int, int, int, int]:
    """(tag, payload_len, raw_len, a, b) of a record header; TraceError if damaged."""
    if len(data) < RECORD_HEADER_SIZE:
        raise TraceError(f"trace truncated inside a record header at offset {offset}")
    head = data[: RECORD.size]
    crc = int.from_bytes(data[RECORD.size : RECORD_HEADER_SIZE], "little")
    if zlib.crc32(head) & 0xFFFFFFFF != crc:
        raise TraceError(f"corrupt record header at offset {offset}")
    tag, payload_len, raw_len, a, b = RECORD.unpack(head)
    return tag, payload_len, raw_len, a, b


def check_frame(frame: bytes | memoryview, raw_len: int, limit: int, what: str) -> None:
    """Refuse a zstd frame whose claimed size is impossible, before allocating it.

    python-zstandard allocates whatever the frame header claims, so the claim
    is checked against the record header, a hard limit, and the most zstd can
    physically expand the bytes that are actually there.
    """
    if raw_len > limit:
        raise TraceError(f"{what} claims {raw_len} bytes, more than the format allows")
    if raw_len > max(len(frame), 1) * MAX_RATIO:
        raise TraceError(f"{what} claims {raw_len} bytes from {len(frame)} compressed bytes")
    import zstandard

    try:
        size = zstandard.frame_content_size(frame)
    except zstandard.ZstdError as exc:
        raise TraceError(f"corrupt {what}: {exc}") from None
    if size != raw_len:
        raise TraceError(f"corrupt {what}: frame size {size} does not match {raw_len}")

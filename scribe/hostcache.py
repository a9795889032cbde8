"""Digests of this machine's file ranges, kept from one run to the next.

Why: replay maps a library from this machine's file when the file holds the
bytes the trace recorded (scribe/replayer.py: host_file_holds), which it
knows by hashing the mapped range: ~20 MB for Python's start-up, at every
replay; and the recorder names every library and binary it puts in a trace
by its digest (~30 MB hashed for Python's start-up, 25 MB for cc1). A user
records and replays again and again, with the same files.

An entry is keyed as the recorder's own cache of file bytes is (a file's
device, inode, modification and change times, size, and the range:
scribe.recorder.file_version). It is kept only when the file's change time
is more than RACY_NS older than the moment it was hashed: a file written in
the same tick as the hash could otherwise change and keep its times (as git
treats "racy" index entries), while any later change gives a later change
time, hence another key. The file is `$XDG_CACHE_HOME/scribe/file-digests`
(`~/.cache/...`), msgpack, at most MAX_ENTRIES, written whole by rename; a
missing or damaged one is an empty cache, and one that cannot be written is
left as it was. Nothing else depends on it: a wrong digest would only make
replay use a file whose bytes differ, which the key rules out.
"""

from __future__ import annotations

import os
import time
from typing import Any

RACY_NS = 2_000_000_000
MAX_ENTRIES = 4096
Key = tuple[int, ...]


def cache_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "scribe", "file-digests")


class DigestCache(dict[Key, bytes]):
    """A dict of file version and range -> digest, loaded from the cache
    file; `keep()` says which new entries may be written back by `save()`."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.path = path or cache_path()
        self._new: dict[Key, bytes] = {}
        try:
            import msgpack

            with open(self.path, "rb") as f:
                raw: Any = msgpack.unpackb(f.read(), use_list=False)
            for key, digest in raw:
                if isinstance(digest, bytes) and len(digest) == 32 and all(isinstance(k, int) for k in key):
                    self[tuple(key)] = digest
        except Exception:  # noqa: BLE001 - missing, damaged, or from another version: empty
            self.clear()

    def keep(self, key: Key, digest: bytes, ctime_ns: int) -> None:
        """Record a digest just computed; persisted unless the file may still change unseen."""
        self[key] = digest
        if time.time_ns() - ctime_ns > RACY_NS:
            self._new[key] = digest

    def save(self) -> None:
        if not self._new:
            return
        import msgpack

        # The file as it is now (another replay may have written meanwhile), then ours.
        merged = dict(DigestCache(self.path))
        merged.update(self._new)
        items = list(merged.items())[-MAX_ENTRIES:]
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(msgpack.packb([[list(k), d] for k, d in items], use_bin_type=True))
            os.replace(tmp, self.path)
            self._new.clear()
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

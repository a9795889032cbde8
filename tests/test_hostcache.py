"""Digests of this machine's file ranges kept between runs (scribe/hostcache.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import msgpack

from scribe import hostcache
from scribe.hostcache import DigestCache
from tests.conftest import ROOT, scribe_cmd
from traces import Exec, TraceReader

OLD = time.time_ns() - 60 * 10**9


def test_digests_of_settled_files_are_kept_and_of_fresh_ones_not(tmp_path: Path) -> None:
    path = str(tmp_path / "d")
    c = DigestCache(path)
    assert not c
    c.keep((1, 2, 3), b"a" * 32, OLD)
    c.keep((4, 5, 6), b"b" * 32, time.time_ns())  # changed just now: may change again unseen
    assert c[(4, 5, 6)] == b"b" * 32  # used in this replay all the same
    c.save()
    assert dict(DigestCache(path)) == {(1, 2, 3): b"a" * 32}
    # Another replay's entries written meanwhile are kept beside ours.
    d = DigestCache(path)
    d.keep((7, 8), b"c" * 32, OLD)
    c.keep((9,), b"d" * 32, OLD)
    d.save()
    c.save()
    assert set(DigestCache(path)) == {(1, 2, 3), (7, 8), (9,)}


def test_a_damaged_cache_is_an_empty_one_and_the_size_is_bounded(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "d"
    for junk in (b"\x00garbage", msgpack.packb([[["x"], b"y"]]), msgpack.packb({"a": 1})):
        path.write_bytes(junk)
        assert not DigestCache(str(path))
    monkeypatch.setattr(hostcache, "MAX_ENTRIES", 5)
    c = DigestCache(str(path))
    for i in range(8):
        c.keep((i,), bytes([i]) * 32, OLD)
    c.save()
    assert sorted(DigestCache(str(path))) == [(i,) for i in range(3, 8)]  # the newest
    blocked = tmp_path / "file"
    blocked.write_bytes(b"")
    c = DigestCache(str(blocked / "d"))  # its directory cannot be made: not kept, no error
    c.keep((99,), b"z" * 32, OLD)
    c.save()
    assert blocked.read_bytes() == b"" and c[(99,)] == b"z" * 32


# `scribe replay -s TRACE`, printing the files whose ranges it hashed
SPY_DIGESTS = """
import os, sys
from scribe import cli, replayer
hashed = []
real = replayer._digest_of_range
def digest(fd, *args):
    hashed.append(os.readlink(f"/proc/self/fd/{fd}"))
    return real(fd, *args)
replayer._digest_of_range = digest
code = cli.main(["replay", "-s", sys.argv[1]])
print("digests", *hashed)
sys.exit(code)
"""


def test_a_second_replay_does_not_hash_the_libraries_again(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    trace = str(tmp_path / "t.scribe")
    # Recorded with a cache of its own (the recorder's digests would serve replay too).
    rec = subprocess.run(scribe_cmd("record", "-q", "-o", trace, "--", "/bin/true"),
                         env={**env, "XDG_CACHE_HOME": str(tmp_path / "elsewhere")},
                         capture_output=True, text=True, timeout=60)
    assert rec.returncode == 0, rec.stderr

    def digests() -> list[str]:
        spy = subprocess.run([sys.executable, "-c", SPY_DIGESTS, trace], env=env,
                             capture_output=True, text=True, timeout=60)
        assert spy.returncode == 0, spy.stderr
        return spy.stdout.split("digests", 1)[1].split()

    # The binary (to run it, not a copy), the loader, libc's text at least.
    first = digests()
    assert os.path.realpath("/bin/true") in first and len(first) >= 3, first
    assert (tmp_path / "cache" / "scribe" / "file-digests").exists()
    assert digests() == []
    # The recorder's digests are the replayer's: replay with its cache hashes nothing.
    env["XDG_CACHE_HOME"] = str(tmp_path / "elsewhere")
    assert digests() == []


# `scribe record -q -o TRACE -- CMD...`, printing how many blobs the writer hashed
SPY_BLOB_HASHES = """
import sys
from scribe import cli
from traces import writer
count = 0
real = writer.blob_digest
def digest(data):
    global count
    count += 1
    return real(data)
writer.blob_digest = digest
code = cli.main(["record", "-q", "-o", *sys.argv[1:]])
print("hashed", count)
sys.exit(code)
"""


def test_a_second_recording_does_not_hash_the_files_it_stores_again(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def hashed(trace: str) -> int:
        spy = subprocess.run([sys.executable, "-c", SPY_BLOB_HASHES, trace, "--", "/bin/true"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert spy.returncode == 0, spy.stderr
        return int(spy.stdout.split()[-1])

    first, second = str(tmp_path / "a.scribe"), str(tmp_path / "b.scribe")
    assert hashed(first) >= 2  # the binary, ld.so, libc's mapped ranges
    assert hashed(second) == 0
    with TraceReader(first) as a, TraceReader(second) as b:
        refs_a = {ev.binary for _, ev in a.events() if isinstance(ev, Exec)}
        refs_b = {ev.binary for _, ev in b.events() if isinstance(ev, Exec)}
        assert refs_a == refs_b and all(b.data(ref) for ref in refs_b)  # the digests check out
    rep = subprocess.run(scribe_cmd("replay", second), env=env, capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr

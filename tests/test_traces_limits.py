"""Writing when the disk is full or the file size limit is hit.

The writer must raise TraceError with a clear message, and what it wrote
before must stay readable.  RLIMIT_FSIZE is set in a subprocess (which ignores
SIGXFSZ, as `scribe record` does) so the test run itself is not limited.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from traces import Syscall, TraceReader, repair

SCRIPT = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from traces import TraceError, TraceWriter, Syscall
    from traces.samples import HEADER
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000))
    path = sys.argv[1]
    appended, error, close_error = 0, None, None
    size, chunk_events = int(sys.argv[2]), int(sys.argv[3])
    w = TraceWriter(path, HEADER, chunk_events=chunk_events)
    try:
        for i in range(100000):
            data = os.urandom(size)  # incompressible: the file grows
            w.append(Syscall(1, 0, (3, 0x1000, 40, 0, 0, 0), 40, ((0x1000, data),), (), 0, i))
            appended += 1
    except TraceError as exc:
        error = str(exc)
    try:
        w.close(0)
    except TraceError as exc:
        close_error = str(exc)
    print(json.dumps({"appended": appended, "error": error, "close_error": close_error}))
    """
)


@pytest.mark.parametrize("size,chunk_events", [(40, 50), (5000, 2)], ids=["inline", "blobs"])
def test_file_size_limit_is_a_trace_error_and_keeps_earlier_events(tmp_path: Path, size: int,
                                                                    chunk_events: int) -> None:
    """Blobs are written in batches (blob and chunk records in one writev):
    the records of a batch that fit under the limit are kept all the same."""
    path = tmp_path / "t.scribe"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(size), str(chunk_events)],
                          capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["error"] is not None and "File too large" in result["error"]
    assert "cannot write trace" in result["error"] and "\n" not in result["error"]
    assert result["close_error"] == result["error"]
    assert path.stat().st_size <= 60000
    with TraceReader(path) as r:
        assert not r.complete
        n = len(r)
        assert 0 < n <= result["appended"]
        evs = list(r)  # the partial record was cut off: everything indexed reads
        assert len(evs) == n
        assert all(type(e) is Syscall and e.time_ns == i for i, e in enumerate(evs))
    repair(path)
    with TraceReader(path) as r:
        assert r.complete and len(r) == n


BATCH_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, signal, sys, threading
    from traces import TraceError, TraceWriter, Syscall
    from traces import writer as W
    from traces.samples import HEADER
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000))
    go = threading.Event()
    loop = W.TraceWriter._writer_loop
    def held_back(self):
        go.wait()  # everything is queued first: the writer takes it as one batch
        loop(self)
    W.TraceWriter._writer_loop = held_back
    w = TraceWriter(sys.argv[1], HEADER, chunk_events=2)
    for i in range(20):
        data = os.urandom(5000)
        w.append(Syscall(1, 0, (3, 0x1000, 5000, 0, 0, 0), 5000, ((0x1000, data),), (), 0, i))
    queued = len(w._queue)
    go.set()
    try:
        w.close(0)
        error = None
    except TraceError as exc:
        error = str(exc)
    print(json.dumps({"queued": queued, "error": error}))
    """
)


def test_a_batch_past_the_file_size_limit_keeps_the_records_that_fit(tmp_path: Path) -> None:
    """20 blob events (100 KB) in one batch against a 60 KB limit: the batch's
    writev fails, and its records are written again one by one up to the
    limit, so the events whose blobs and chunk fitted are saved."""
    path = tmp_path / "t.scribe"
    proc = subprocess.run([sys.executable, "-c", BATCH_SCRIPT, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["queued"] == 30  # 20 blobs and 10 chunks
    assert result["error"] is not None and "File too large" in result["error"]
    with TraceReader(path) as r:
        n = len(r)
        assert n >= 8, f"only {n} events saved"
        assert f"the first {n} events are saved" in result["error"]
        evs = list(r)
        assert [e.time_ns for e in evs] == list(range(n))
        assert all(len(r.blob(e.writes[0][1])) == 5000 for e in evs)

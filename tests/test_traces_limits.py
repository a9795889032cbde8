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
    w = TraceWriter(path, HEADER, chunk_events=50)
    try:
        for i in range(100000):
            data = os.urandom(40)  # incompressible: the file grows
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


def test_file_size_limit_is_a_trace_error_and_keeps_earlier_events(tmp_path: Path) -> None:
    path = tmp_path / "t.scribe"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True,
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

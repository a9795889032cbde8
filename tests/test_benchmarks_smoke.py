"""The benchmark harness must not rot: argument parsing, one tiny native micro
measurement, and the report code on its result.  No timing assertions: the
figures only have to exist and be finite."""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("scribe_bench_run", BENCH / "run.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up there
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop("scribe_bench_run", None)
        sys.path.remove(str(BENCH))


def test_parse_args(bench, tmp_path):
    a = bench.parse_args(["--quick", "--out", str(tmp_path), "--only", "micro", "--ops", "getpid,fork"])
    assert a.quick and a.reps == 1 and a.parts == {"micro"} and a.op_list == ("getpid", "fork")
    assert a.level_list == (1, 2, 4)
    full = bench.parse_args([])
    assert full.reps == 5 and full.parts == {"micro", "macro", "scal"} and full.level_list[-1] == 16
    with pytest.raises(SystemExit):
        bench.parse_args(["--ops", "nosuchcall"])


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_native_micro_measurement(bench, tmp_path):
    guest = bench.build_guest(cache=str(tmp_path / "cache"))
    cs = {"native": bench.Contender("native", build=lambda cmd, tr: list(cmd))}
    st = bench.micro_op("getpid", cs, guest, reps=2, target=0.01, timeout=30, tmp=str(tmp_path),
                        names=("native",))
    s = st["native"]
    assert not s.na, s.na
    assert 0 < s.n1 < s.n2 and len(s.percall) == 2
    assert all(math.isfinite(x) for x in s.percall)
    res = bench.micro_results(st)
    assert "percall_us" in res["native"]
    text = bench.report.micro_table({"getpid": res}, bench.LABELS, bench.OP_LABELS)
    assert "getpid" in text

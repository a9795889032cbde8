"""scribe's evaluation: micro, macro and scalability benchmarks, side by side.

    .venv/bin/python benchmarks/run.py [--quick] [--out DIR] [--only micro,macro,scal]

Reproduces the evaluation of the paper scribe comes from (Laadan & Nieh,
SYSTOR 2010) against the tools a user would otherwise reach for:

- micro: per-call cost of getpid, getppid, getpgid, getsid, fork+exit+wait,
  execve, shmget, shmat+shmdt, a 4 KiB read and a 4 KiB write.  A small C
  guest (benchmarks/guests/micro.c) runs the call N times and is timed end to
  end for two loop counts, so start-up cancels:
  per-call = (T(N2) - T(N1)) / (N2 - N1).
- macro: real applications (gcc, python, tar+gzip, git, sqlite3, make -j2, a
  shell pipeline): wall-time ratios to native and to strace -f, trace size
  and bytes per event.
- scalability: 1, 2, 4, 8, 16 concurrent `scribe record` of one workload:
  per-VEE slowdown, aggregate throughput, recorder RSS per VEE.

Contenders: native, `scribe run`, `scribe record`, `scribe replay`,
`strace -f -o /dev/null` and python-ptrace's own strace tool (the strace.py
script python-ptrace installs beside the interpreter).  The machine is shared
and noisy, so contenders are interleaved round-robin in every repetition and
results are reported as medians (and min..max spread) of ratios measured in
the same repetition.  A contender that is missing or fails is reported "n/a"
with the reason; it never stops the run.

Output: tables on stdout, DIR/results.json, DIR/*.png (when matplotlib is
installed), DIR/RESULTS.md (the text of benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import report  # noqa: E402
import workloads  # noqa: E402

OPS = ("getpid", "getppid", "getpgid", "getsid", "fork", "execve", "shmget", "shmat", "read4k", "write4k")
OP_LABELS = {
    "getpid": "getpid", "getppid": "getppid", "getpgid": "getpgid", "getsid": "getsid",
    "fork": "fork+exit+wait", "execve": "execve", "shmget": "shmget", "shmat": "shmat+shmdt",
    "read4k": "read 4 KiB", "write4k": "write 4 KiB",
}
# First guesses of the per-call cost in microseconds (native, traced); the
# runner corrects them from its own measurements before timing anything.
EST_US = {
    "getpid": (0.1, 20), "getppid": (0.1, 20), "getpgid": (0.1, 25), "getsid": (0.1, 25),
    "fork": (80, 1500), "execve": (400, 5000), "shmget": (0.3, 25), "shmat": (3, 60),
    "read4k": (0.5, 30), "write4k": (0.3, 25),
}
MAX_N = {"fork": 200_000, "execve": 50_000}
CONTENDERS = ("native", "run", "record", "replay", "strace", "pptrace")
LABELS = {
    "native": "native", "run": "scribe run", "record": "scribe record", "replay": "scribe replay",
    "strace": "strace -f", "pptrace": "python-ptrace strace.py",
}


class NA(Exception):
    """A contender cannot produce this measurement; the message says why."""


# -- running things ------------------------------------------------------------

@dataclass
class Run:
    wall: float
    rc: int
    maxrss_kb: int
    err: str
    timed_out: bool = False


def run_timed(argv: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
              timeout: float = 300.0) -> Run:
    """Run argv with stdout to /dev/null; wall time from spawn to reap."""
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=errf, start_new_session=True)
        fired = []

        def kill() -> None:
            fired.append(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read()[-2000:].decode(errors="replace")
    return Run(wall, p.returncode, ru.ru_maxrss, err, bool(fired))


def _why(r: Run, what: str) -> str:
    if r.timed_out:
        return f"{what}: timed out"
    tail = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    last = tail[-1][:160] if tail else ""
    return f"{what}: exit status {r.rc}" + (f" ({last})" if last else "")


# -- contenders ------------------------------------------------------------------

def scribe_cmd() -> list[str]:
    """scribe as an installed copy runs: this tree's packages and the
    dependencies in site-packages on sys.path, without the editable install's
    import hook (a .pth finder that imports pathlib at every interpreter
    start, ~15 ms here, which `pip install scribe-vee` does not have)."""
    dirs = [ROOT] + [p for p in sys.path if p.endswith("site-packages")]
    boot = f"import sys; sys.path[:0] = {dirs!r}; from scribe.cli import run; run()"
    return [sys.executable, "-S", "-c", boot]


def find_pptrace() -> tuple[str | None, str]:
    """python-ptrace's strace tool: (path, how it was found)."""
    bindir = os.path.dirname(sys.executable)
    cand = os.path.join(bindir, "strace.py")
    if os.path.isfile(cand):
        return cand, f"script installed by python-ptrace: {cand} (no `python -m` entry point)"
    try:
        import ptrace

        site = os.path.dirname(os.path.dirname(ptrace.__file__))
        for base in (site, os.path.join(site, "..", "..", "..", "bin")):
            c = os.path.join(base, "strace.py")
            if os.path.isfile(c):
                return os.path.abspath(c), f"found beside the package: {os.path.abspath(c)}"
    except ImportError:
        return None, "python-ptrace is not installed"
    return None, "python-ptrace is installed but its strace.py script was not found"


@dataclass
class Contender:
    name: str
    available: bool = True
    reason: str = ""
    build: Callable[[list[str], str | None], list[str]] | None = None

    def argv(self, cmd: list[str], trace: str | None = None) -> list[str]:
        assert self.build is not None
        return self.build(cmd, trace)


def make_contenders(guest: str | None, tmp: str, timeout: float) -> dict[str, Contender]:
    """Every contender, each probed once; unavailable ones carry the reason."""
    sc = scribe_cmd()
    cs: dict[str, Contender] = {
        "native": Contender("native", build=lambda cmd, tr: list(cmd)),
        "run": Contender("run", build=lambda cmd, tr: [*sc, "run", "--", *cmd]),
        "record": Contender("record", build=lambda cmd, tr: [*sc, "record", "-o", str(tr), "--", *cmd]),
        "replay": Contender("replay", build=lambda cmd, tr: [*sc, "replay", str(tr)]),
    }
    strace = shutil.which("strace")
    if strace:
        cs["strace"] = Contender("strace", build=lambda cmd, tr: [strace, "-f", "-o", "/dev/null", *cmd])
    else:
        cs["strace"] = Contender("strace", False, "strace is not installed")
    pp, how = find_pptrace()
    if pp:
        cs["pptrace"] = Contender("pptrace", reason=how,
                                  build=lambda cmd, tr: [sys.executable, pp, "-f", "-o", "/dev/null", "--", *cmd])
    else:
        cs["pptrace"] = Contender("pptrace", False, how)
    # Probe the scribe subcommands: one that does not exist yet, or fails on a
    # trivial program, is n/a for the whole run.
    probe = [guest, "getpid", "10"] if guest else ["true"]
    for name in ("run", "record"):
        h = run_timed([*sc, name, "--help"], timeout=timeout)
        if h.rc != 0:
            cs[name].available = False
            cs[name].reason = f"`scribe {name}` does not exist yet" if "invalid choice" in h.err else _why(h, f"scribe {name} --help")
            continue
        r = run_timed(cs[name].argv(probe, os.path.join(tmp, "probe.scribe")), timeout=timeout)
        if r.rc != 0:
            cs[name].available = False
            cs[name].reason = _why(r, f"scribe {name} {' '.join(probe)}")
    if not cs["record"].available:
        cs["replay"].available = False
        h = run_timed([*sc, "replay", "--help"], timeout=timeout)
        cs["replay"].reason = ("`scribe replay` does not exist yet" if h.rc != 0 and "invalid choice" in h.err
                               else "needs a trace from `scribe record`, which is n/a")
    else:
        r = run_timed(cs["replay"].argv(probe, os.path.join(tmp, "probe.scribe")), timeout=timeout)
        if r.rc != 0:
            cs["replay"].available = False
            cs["replay"].reason = _why(r, "scribe replay of a trivial trace")
    return cs


# -- guests ------------------------------------------------------------------------

def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "scribe-bench")


def compile_bytecode(root: str = ROOT) -> None:
    """Measure scribe as installed: pip compiles an installed package's
    bytecode, while an editable checkout run with PYTHONDONTWRITEBYTECODE=1
    (as here) would compile every module again at each start (~40 ms)."""
    import compileall

    for pkg in ("scribe", "virt", "traces", "tui"):
        compileall.compile_dir(os.path.join(root, pkg), quiet=1)


def build_guest(name: str = "micro", cache: str | None = None) -> str:
    """Compile benchmarks/guests/NAME.c with gcc -O2 into the cache (by content hash)."""
    src = os.path.join(HERE, "guests", f"{name}.c")
    with open(src, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    d = cache or cache_dir()
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, f"{name}-{digest}")
    if not os.path.exists(out):
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is None:
            raise NA("gcc is not installed")
        tmp = f"{out}.{os.getpid()}.tmp"
        subprocess.run([gcc, "-O2", "-Wall", "-o", tmp, src], check=True)
        os.replace(tmp, out)
    return out


# -- statistics ------------------------------------------------------------------

def summary(xs: list[float]) -> dict[str, float] | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def rotate(units: list[list[str]], k: int) -> list[str]:
    k %= max(1, len(units))
    return [c for u in units[k:] + units[:k] for c in u]


# -- micro -------------------------------------------------------------------------

@dataclass
class MicroState:
    n1: int = 0
    n2: int = 0
    percall: list[float] = field(default_factory=list)   # seconds, one per repetition
    na: str = ""


def micro_op(op: str, cs: dict[str, Contender], guest: str, *, reps: int, target: float,
             timeout: float, tmp: str, names: tuple[str, ...] = CONTENDERS) -> dict[str, MicroState]:
    """Per-call cost of one operation for every contender in `names`."""
    st = {n: MicroState() for n in names}
    for n in names:
        if not cs[n].available:
            st[n].na = cs[n].reason
    traces: dict[int, str] = {}

    def point(name: str, n: int) -> float:
        c = cs[name]
        trace = None
        if name == "record":
            trace = os.path.join(tmp, f"micro-{op}-{n}.scribe")
        elif name == "replay":
            trace = traces.get(n)
            if trace is None:
                raise NA("no trace recorded for this loop count")
        r = run_timed(c.argv([guest, op, str(n)], trace), timeout=timeout)
        if r.rc != 0:
            raise NA(_why(r, f"{op} {n}"))
        if name == "record":
            traces[n] = str(trace)
        return r.wall

    def calibrate(name: str) -> float:
        """Choose N1 < N2 so the loop takes about `target` seconds; return this repetition's per-call."""
        est = EST_US[op][0 if name == "native" else 1] * 1e-6
        cap = MAX_N.get(op, 50_000_000)
        n2 = max(10, min(cap, int(target / est)))
        for _ in range(5):
            n1 = max(1, n2 // 5)
            t1, t2 = point(name, n1), point(name, n2)
            d = t2 - t1
            if d >= 0.4 * target or n2 >= cap:
                break
            grow = 10.0 if d <= 0 else min(10.0, max(2.0, target / d))
            n2 = min(cap, int(n2 * grow))
        st[name].n1, st[name].n2 = n1, n2
        return d / (n2 - n1)

    units = [[n] for n in names if n not in ("record", "replay")]
    if "record" in names:
        units.insert(2, ["record", "replay"] if "replay" in names else ["record"])
    elif "replay" in names:
        units.append(["replay"])
    for rep in range(reps):
        for name in rotate(units, rep):
            s = st[name]
            if s.na:
                continue
            try:
                if name == "replay":
                    if st["record"].na or not st["record"].n2:
                        raise NA("needs the record measurement, which is n/a")
                    s.n1, s.n2 = st["record"].n1, st["record"].n2
                if not s.n2:
                    s.percall.append(calibrate(name))
                else:
                    order = (s.n1, s.n2) if rep % 2 == 0 else (s.n2, s.n1)
                    t = {n: point(name, n) for n in order}
                    s.percall.append((t[s.n2] - t[s.n1]) / (s.n2 - s.n1))
            except NA as exc:
                s.na = str(exc)
    return st


def micro_results(st: dict[str, MicroState]) -> dict[str, Any]:
    """Per-call µs and per-repetition ratios to native and to strace."""
    out: dict[str, Any] = {}
    nat = st.get("native")
    stc = st.get("strace")
    for name, s in st.items():
        row: dict[str, Any] = {"n1": s.n1, "n2": s.n2}
        if s.na or not s.percall:
            row["na"] = s.na or "no measurement"
            out[name] = row
            continue
        row["percall_us"] = summary([x * 1e6 for x in s.percall])
        for ref_name, ref in (("native", nat), ("strace", stc)):
            if ref is None or ref.na or not ref.percall or ref is s:
                continue
            ratios = [a / b for a, b in zip(s.percall, ref.percall) if b > 0]
            row[f"ratio_{ref_name}"] = summary(ratios)
        out[name] = row
    return out


def run_micro(cs: dict[str, Contender], guest: str, *, ops: tuple[str, ...], reps: int, target: float,
              timeout: float, tmp: str, log: Callable[[str], None]) -> dict[str, Any]:
    res = {}
    for op in ops:
        t0 = time.perf_counter()
        st = micro_op(op, cs, guest, reps=reps, target=target, timeout=timeout, tmp=tmp)
        res[op] = micro_results(st)
        log(f"  micro {op}: {time.perf_counter() - t0:.1f} s")
        for f in os.listdir(tmp):
            if f.startswith(f"micro-{op}-"):
                os.unlink(os.path.join(tmp, f))
    return res


# -- macro -----------------------------------------------------------------------

def trace_stats(path: str) -> dict[str, Any]:
    """Size, events and bytes per event of a trace (chunk bytes = blobs excluded)."""
    out: dict[str, Any] = {"bytes": os.path.getsize(path)}
    try:
        sys.path.insert(0, ROOT)
        from traces import TraceReader
        from traces import format as F

        with TraceReader(path) as r:
            n = len(r)
            out["events"] = n
            out["syscalls"] = sum(r.syscall_counts.values())
            out["blobs"] = r.blob_count
            out["complete"] = r.complete
            try:
                chunk_bytes = 0
                for i in range(r.chunk_count):
                    off = r.chunk_info(i)[0]
                    head = r._pread(F.RECORD_HEADER_SIZE, off)
                    chunk_bytes += F.RECORD_HEADER_SIZE + F.unpack_record_header(head, off)[1]
                out["chunk_bytes"] = chunk_bytes
                out["event_bytes_per_event"] = chunk_bytes / n if n else None
            except Exception as exc:  # internals moved: keep the public figures
                out["chunk_bytes_error"] = str(exc)
            out["bytes_per_event"] = out["bytes"] / n if n else None
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def run_macro(cs: dict[str, Contender], wls: list[workloads.Workload], *, reps: int, timeout: float,
              tmp: str, log: Callable[[str], None]) -> dict[str, Any]:
    names = ("native", "strace", "run", "record", "replay")
    res: dict[str, Any] = {}
    for wl in wls:
        t0 = time.perf_counter()
        env = dict(os.environ, **wl.env)
        row: dict[str, Any] = {"description": wl.description, "argv": wl.argv}
        res[wl.name] = row
        if wl.missing:
            row["na"] = wl.missing
            continue
        w = run_timed(wl.argv, cwd=wl.cwd, env=env, timeout=timeout)  # warm-up, and does it work?
        if w.rc != 0:
            row["na"] = _why(w, "native run")
            continue
        walls: dict[str, list[float | None]] = {n: [] for n in names}
        na: dict[str, str] = {n: cs[n].reason for n in names if not cs[n].available}
        trace = os.path.join(tmp, f"macro-{wl.name}.scribe")
        have_trace = False
        if "record" not in na:
            r = run_timed(cs["record"].argv(wl.argv, trace), cwd=wl.cwd, env=env, timeout=timeout)
            if r.rc != 0:
                na["record"] = _why(r, "record")
                na.setdefault("replay", "needs a trace from record, which failed")
            else:
                have_trace = True
                row["trace"] = trace_stats(trace)
        units = [["native"], ["strace"], ["run"], ["record", "replay"]]
        for rep in range(reps):
            for name in rotate(units, rep):
                if name in na:
                    walls[name].append(None)
                    continue
                c = cs[name]
                tr = trace if name in ("record", "replay") else None
                if name == "replay" and not have_trace:
                    na[name] = "no trace"
                    continue
                r = run_timed(c.argv(wl.argv, tr), cwd=wl.cwd, env=env, timeout=timeout)
                if r.rc != 0:
                    na[name] = _why(r, name)
                    walls[name].append(None)
                    continue
                walls[name].append(r.wall)
        for name in names:
            cell: dict[str, Any] = {}
            if name in na:
                cell["na"] = na[name]
            else:
                cell["wall_s"] = summary([x for x in walls[name] if x is not None])
                for ref in ("native", "strace", "record"):
                    if ref == name or ref in na or (ref == "record" and name != "replay"):
                        continue
                    ratios = [a / b for a, b in zip(walls[name], walls[ref]) if a and b]
                    cell[f"ratio_{ref}"] = summary(ratios)
            row[name] = cell
        log(f"  macro {wl.name}: {time.perf_counter() - t0:.1f} s")
    return res


# -- scalability -----------------------------------------------------------------

def run_concurrent(argvs: list[list[str]], *, cwd: str, env: dict[str, str],
                         timeout: float) -> tuple[list[float], float, list[int]]:
    """Start every argv at once; (individual walls, makespan, exit codes), reaped as they end."""
    procs = []
    t0 = time.perf_counter()
    for a in argvs:
        procs.append(subprocess.Popen(a, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    mine = {p.pid: p for p in procs}
    ends: dict[int, float] = {}
    codes: dict[int, int] = {}

    def kill() -> None:
        for pid in mine:
            if pid not in ends:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        while len(ends) < len(mine):
            # Poll each of ours without blocking, then sleep briefly: waiting
            # on -1 could reap another thread's child.
            progressed = False
            for pid, p in mine.items():
                if pid in ends:
                    continue
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:
                    ends[pid] = time.perf_counter()
                    codes[pid] = p.returncode = os.waitstatus_to_exitcode(status)
                    progressed = True
            if not progressed:
                time.sleep(0.002)
    finally:
        timer.cancel()
    walls = [ends[p.pid] - t0 for p in procs]
    return walls, max(ends.values()) - t0, [codes[p.pid] for p in procs]


def run_scalability(cs: dict[str, Contender], wl: workloads.Workload, *, levels: tuple[int, ...], reps: int,
                    timeout: float, tmp: str, log: Callable[[str], None]) -> dict[str, Any]:
    who = "record" if cs["record"].available else ("run" if cs["run"].available else None)
    res: dict[str, Any] = {"workload": wl.description, "levels": list(levels)}
    if who is None:
        res["na"] = f"scribe record: {cs['record'].reason}; scribe run: {cs['run'].reason}"
        return res
    res["contender"] = who
    if who != "record":
        res["note"] = f"scribe record is n/a ({cs['record'].reason}); measured `scribe run` instead"
    wrapper = [sys.executable, os.path.join(HERE, "rsswrap.py")]
    env = dict(os.environ, **wl.env)
    data: dict[int, dict[str, list[Any]]] = {k: {"walls": [], "makespan": [], "rss": [], "nwalls": [],
                                                 "nmakespan": []} for k in levels}
    fails: list[str] = []
    for rep in range(reps):
        for k in levels:
            t0 = time.perf_counter()
            order = ("native", who) if rep % 2 == 0 else (who, "native")
            for c in order:
                if c == "native":
                    walls, mk, codes = run_concurrent([wl.argv] * k, cwd=wl.cwd, env=env, timeout=timeout)
                    if any(codes):
                        fails.append(f"native x{k}: exit codes {sorted(set(codes))}")
                    data[k]["nwalls"].extend(walls)
                    data[k]["nmakespan"].append(mk)
                    continue
                rss_files = [os.path.join(tmp, f"rss-{k}-{i}") for i in range(k)]
                argvs = []
                for i in range(k):
                    sub = ["record", "-o", os.path.join(tmp, f"scal-{k}-{i}.scribe")] if who == "record" else ["run"]
                    argvs.append([*wrapper, rss_files[i], *sub, "--", *wl.argv])
                walls, mk, codes = run_concurrent(argvs, cwd=wl.cwd, env=env, timeout=timeout)
                if any(codes):
                    fails.append(f"{who} x{k}: exit codes {sorted(set(codes))}")
                data[k]["walls"].extend(walls)
                data[k]["makespan"].append(mk)
                for f in rss_files:
                    try:
                        with open(f) as fh:
                            data[k]["rss"].append(int(fh.read()))
                        os.unlink(f)
                    except (OSError, ValueError):
                        pass
                for i in range(k):
                    try:
                        os.unlink(os.path.join(tmp, f"scal-{k}-{i}.scribe"))
                    except OSError:
                        pass
            log(f"  scalability x{k} rep {rep + 1}: {time.perf_counter() - t0:.1f} s")
    base = statistics.median(data[levels[0]]["walls"]) if data[levels[0]]["walls"] else None
    nbase = statistics.median(data[levels[0]]["nwalls"]) if data[levels[0]]["nwalls"] else None
    rows = []
    for k in levels:
        d = data[k]
        row: dict[str, Any] = {"k": k}
        if d["walls"] and base:
            row["wall_s"] = summary(d["walls"])
            row["slowdown_vs_1"] = statistics.median(d["walls"]) / base
            row["throughput_per_s"] = summary([k / m for m in d["makespan"]])
        if d["nwalls"] and nbase:
            row["native_wall_s"] = summary(d["nwalls"])
            row["native_throughput_per_s"] = summary([k / m for m in d["nmakespan"]])
            if d["walls"]:
                row["ratio_native_same_k"] = statistics.median(d["walls"]) / statistics.median(d["nwalls"])
        if d["rss"]:
            row["rss_kb_per_vee"] = summary([float(x) for x in d["rss"]])
        rows.append(row)
    res["rows"] = rows
    if fails:
        res["failures"] = fails
    return res


# -- machine ---------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "n/a"

    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    virt = ""
    try:
        out = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True, timeout=5).stdout.strip()
        virt = out
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            if " hypervisor" in f.read():
                virt = f"{virt}, under a hypervisor" if virt and virt != "none" else "under a hypervisor"
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "virtualization": virt,
        "python": platform.python_version(), "strace": first_line(["strace", "-V"]),
        "gcc": first_line(["gcc", "--version"]), "scribe_commit": commit, "hostname": platform.node(),
    }


# -- main ------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small loops, one repetition: under two minutes")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="where results.json, PNGs and RESULTS.md go")
    ap.add_argument("--only", default="micro,macro,scal", help="comma-separated parts: micro, macro, scal")
    ap.add_argument("--ops", default=",".join(OPS), help="micro operations to run")
    ap.add_argument("--workloads", default="", help="macro workloads to run (default: all)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions (default: 5, quick: 1)")
    ap.add_argument("--levels", default="", help="scalability levels (default 1,2,4,8,16; quick 1,2,4)")
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args(argv)
    a.parts = {p.strip() for p in a.only.split(",") if p.strip()}
    bad = a.parts - {"micro", "macro", "scal"}
    if bad:
        ap.error(f"unknown part(s): {', '.join(sorted(bad))}")
    a.op_list = tuple(o.strip() for o in a.ops.split(",") if o.strip())
    unknown = [o for o in a.op_list if o not in OPS]
    if unknown:
        ap.error(f"unknown op(s): {', '.join(unknown)} (known: {', '.join(OPS)})")
    if not a.reps:
        a.reps = 1 if a.quick else 5
    a.level_list = tuple(int(x) for x in (a.levels or ("1,2,4" if a.quick else "1,2,4,8,16")).split(","))
    a.target = 0.1 if a.quick else 0.4       # seconds of loop per micro measurement
    a.timeout = 60.0 if a.quick else 180.0
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    gi = os.path.join(a.out, ".gitignore")
    if os.path.abspath(a.out).startswith(HERE) and not os.path.exists(gi):
        with open(gi, "w") as f:
            f.write("*\n")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    compile_bytecode()
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine_info(), "quick": a.quick, "reps": a.reps,
                              "labels": LABELS, "op_labels": OP_LABELS}
    with tempfile.TemporaryDirectory(prefix="scribe-bench-") as tmp:
        try:
            guest: str | None = build_guest()
        except (NA, subprocess.CalledProcessError) as exc:
            guest = None
            result["guest_error"] = str(exc)
        cs = make_contenders(guest, tmp, a.timeout)
        result["contenders"] = {n: {"label": LABELS[n], "available": c.available, "note": c.reason}
                                for n, c in cs.items()}
        for n, c in cs.items():
            log(f"contender {LABELS[n]}: {'ok' if c.available else 'n/a'}{' - ' + c.reason if c.reason else ''}")
        if "micro" in a.parts:
            if guest is None:
                result["micro"] = {"na": result["guest_error"]}
            else:
                log("micro-benchmarks ...")
                result["micro"] = run_micro(cs, guest, ops=a.op_list, reps=a.reps, target=a.target,
                                            timeout=a.timeout, tmp=tmp, log=log)
        if "macro" in a.parts:
            log("macro-benchmarks ...")
            wls = workloads.make_workloads(os.path.join(tmp, "macro"), quick=a.quick)
            if a.workloads:
                keep = {w.strip() for w in a.workloads.split(",")}
                wls = [w for w in wls if w.name in keep]
            elif a.quick:
                wls = [w for w in wls if w.name in ("python", "sqlite3", "tar-gzip", "pipeline")]
            result["macro"] = run_macro(cs, wls, reps=a.reps, timeout=a.timeout, tmp=tmp, log=log)
        if "scal" in a.parts:
            log("scalability ...")
            wl = workloads.scalability_workload(os.path.join(tmp, "scal"), quick=a.quick)
            result["scalability"] = run_scalability(cs, wl, levels=a.level_list, reps=1 if a.quick else 3,
                                                    timeout=a.timeout, tmp=tmp, log=log)
    result["elapsed_s"] = time.perf_counter() - started
    text = report.tables(result)
    print(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    plots = [] if a.no_plots else report.plots(result, a.out)
    if isinstance(plots, str):
        log(plots)
        plots = []
    with open(os.path.join(a.out, "RESULTS.md"), "w") as f:
        f.write(report.markdown(result, [os.path.basename(p) for p in plots]))
    log(f"results: {a.out}/results.json, {a.out}/RESULTS.md" + (f", {len(plots)} plots" if plots else "")
        + f" ({result['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

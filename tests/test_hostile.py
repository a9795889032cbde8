"""Traces come from other people: reading one never runs anything from it,
and replay leaves nothing of it behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat

import pytest

from traces import Exec, Exit, Spawn, Syscall, TraceWriter


def test_inspecting_a_trace_runs_nothing_from_it(scribe, tmp_path):
    marker = tmp_path / "ran"
    script = f"#!/bin/sh\ntouch {marker}\n".encode()
    trace = tmp_path / "evil.scribe"
    with TraceWriter(trace, {"argv": [str(tmp_path / "x")], "env": {}, "cwd": str(tmp_path),
                             "exe": str(tmp_path / "x")}) as w:
        w.append(Spawn(1, 0, 1, Spawn.FORK))
        w.append(Exec(1, str(tmp_path / "x"), [str(tmp_path / "x")], w.blob(script)))
        w.append(Syscall(1, 231, (0, 0, 0, 0, 0, 0), 0, flags=Syscall.EXECUTED | Syscall.NO_EXIT))
        w.append(Exit(1, 0))
        w.close(0)
    for cmd in (["info", str(trace)], ["ps", str(trace)], ["dump", str(trace)],
                ["dump", "--json", str(trace)], ["info", "--repair", str(trace)]):
        proc = scribe(*cmd)
        assert proc.returncode == 0, (cmd, proc.stderr)
        assert not marker.exists(), cmd


def _new_private_copies(before: set[str], digest: bytes) -> list[str]:
    left = []
    for base in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            path = os.path.join(base, name)
            if path in before:
                continue
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode) or st.st_size > 64 << 20:
                    continue
                with open(path, "rb") as f:
                    if hashlib.sha256(f.read()).digest() == digest:
                        left.append(path)
            except OSError:
                continue
    return left


def _listing() -> set[str]:
    out: set[str] = set()
    for base in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            out |= {os.path.join(base, n) for n in os.listdir(base)}
        except OSError:
            pass
    return out


@pytest.mark.parametrize("ending", ["complete", "incomplete"])
def test_replay_removes_its_private_copies(guest, scribe, tmp_path, ending):
    exe = tmp_path / "prog"
    shutil.copy(guest("ids"), exe)
    digest = hashlib.sha256(exe.read_bytes()).digest()
    trace = tmp_path / "t.scribe"
    assert scribe("record", "-q", "-o", str(trace), "--", str(exe)).returncode == 3
    exe.unlink()  # replay must run a private copy of the recorded binary
    if ending == "incomplete":
        # A trace cut after a few events: replay stops at its end (exit 7).
        from traces import TraceReader

        with TraceReader(trace) as r:
            events = [r[i] for i in range(min(len(r), 40))]
            header = dict(r.header.extra) if hasattr(r.header, "extra") else {}
            cut = tmp_path / "cut.scribe"
            with TraceWriter(cut, {"argv": list(r.header.argv), "env": dict(r.header.env),
                                   "cwd": r.header.cwd, "exe": str(exe), **header}) as w:
                for ev in events:
                    if getattr(ev, "binary", None) is not None:
                        ev.binary = w.blob(r.data(ev.binary))
                    if hasattr(ev, "value") and hasattr(ev.value, "get"):
                        ev.value = {k: (w.blob(r.data(v)) if hasattr(v, "digest") else v)
                                    for k, v in ev.value.items()}
                    if hasattr(ev, "writes"):
                        ev.writes = tuple((a, w.blob(r.data(d)) if hasattr(d, "digest") else d)
                                          for a, d in ev.writes)
                    w.append(ev)
                w.abandon()
        trace = cut
    before = _listing()
    proc = scribe("replay", str(trace))
    assert "Traceback" not in proc.stderr
    assert "missing here" in proc.stderr
    assert _new_private_copies(before, digest) == []

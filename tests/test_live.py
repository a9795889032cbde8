"""Live debugging over a real replay (scribe.live), driven in the test thread.

Each guest is recorded once per module with `scribe record`; the tests then
open a session on the trace and move it with run_to / step / cont /
reverse_step, and look at the stopped processes.  Event numbers are found
in the trace itself, never hard-coded.  Sessions carry a watchdog timeout
and every test a pytest timeout, so a hang fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, scribe_cmd
from traces import Spawn, Syscall, TraceReader
from tui.live import Breakpoint, LiveSession, MapEntry
from virt.syscalls import BY_NAME

pytestmark = pytest.mark.timeout(60)

FP = ("-O0", "-fno-omit-frame-pointer")  # the rbp chain the backtrace walks


def record(guest: Callable[..., Path], tmp: Path, name: str) -> tuple[str, str]:
    """Compile tests/guests/NAME.c, record it; (trace path, binary path)."""
    exe = str(guest(name, FP))
    out = str(tmp / f"{name}.scribe")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(scribe_cmd("record", "-q", "-o", out, "--", exe), env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert os.path.exists(out), proc.stderr
    return out, exe


def recorded(name: str) -> Any:
    """A module fixture: the guest NAME recorded once, (trace path, binary path)."""
    @pytest.fixture(scope="module")
    def fixture(guest, tmp_path_factory) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        return record(guest, tmp_path_factory.mktemp("live"), name)
    return fixture


def events(path: str) -> list[tuple[int, Any]]:
    with TraceReader(path) as r:
        return list(r.events())


def syscalls(path: str, name: str, tid: int | None = None) -> list[int]:
    nr = BY_NAME[name].nr
    return [n for n, ev in events(path)
            if isinstance(ev, Syscall) and ev.nr == nr and (tid is None or ev.tid == tid)]


basic = recorded("live_basic")
threads = recorded("live_threads")
forked = recorded("live_fork")


def open_live(path: str) -> Iterator[Any]:
    from scribe.live import open_session

    s = open_session(path)
    s.timeout = 30
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def session(request) -> Iterator[Any]:
    yield from open_live(request.getfixturevalue(request.param)[0])


def in_binary(maps: list[MapEntry], exe: str, addr: int) -> bool:
    return any(m.path == exe and m.start <= addr < m.end and "x" in m.perms for m in maps)


# -- one process -----------------------------------------------------------------


@pytest.mark.parametrize("session", ["basic"], indirect=True)
def test_protocol_and_an_inline_syscall_in_the_binary(session: Any, basic: tuple[str, str]) -> None:
    path, exe = basic
    assert isinstance(session, LiveSession)
    assert session.available and session.checkpoints
    raw = syscalls(path, "getppid")[0]  # the inline `syscall` of raw_getppid()
    stop = session.run_to(raw)
    assert (stop.event_no, stop.tid, stop.reason) == (raw, 1, "event")
    regs = session.registers()
    assert regs["orig_rax"] == BY_NAME["getppid"].nr
    assert {"rax", "rip", "rsp", "rbp", "eflags", "fs_base", "r15"} <= set(regs)
    maps = session.maps()
    assert in_binary(maps, exe, regs["rip"])  # rip is in the program itself
    assert any(m.path == exe and m.offset == 0 for m in maps)
    frames = session.backtrace()
    assert frames[0].pc == regs["rip"] and frames[0].symbol == "raw_getppid"
    assert frames[0].module == exe
    assert frames[1].symbol == "main" and 0 < frames[1].offset < 0x1000


@pytest.mark.parametrize("session", ["basic"], indirect=True)
def test_memory_the_program_wrote_and_a_backtrace_through_libc(session: Any, basic: tuple[str, str]) -> None:
    path, _ = basic
    n = syscalls(path, "write")[0]
    stop = session.run_to(n)
    assert stop.event_no == n
    regs = session.registers(1)
    assert regs["orig_rax"] == BY_NAME["write"].nr
    assert session.memory(regs["rsi"], regs["rdx"]) == b"hello from live\n"
    names = [f.symbol for f in session.backtrace()]
    # libc's write wrapper keeps no frame pointer: its caller is found by a stack scan
    assert names.index("say") < names.index("main")
    # an unmapped address: one clear line, and the session goes on
    with pytest.raises(Exception, match=r"cannot read 16 bytes at 0x10 in process 1: not mapped"):
        session.memory(0x10, 16)
    assert session.memory(regs["rsi"], 5) == b"hello"
    with pytest.raises(Exception, match="no live thread 99"):
        session.registers(99)
    with pytest.raises(Exception, match="no live process 42"):
        session.maps(42)


@pytest.mark.parametrize("session", ["basic"], indirect=True)
def test_cont_to_syscall_name_path_and_event_breakpoints(session: Any, basic: tuple[str, str]) -> None:
    path, _ = basic
    evs = dict(events(path))
    marker = next(n for n in syscalls(path, "openat")
                  if b"live-marker" in b"".join(d for _a, d in evs[n].reads if isinstance(d, bytes)))
    getpid = syscalls(path, "getpid")[-1]
    writes = syscalls(path, "write")
    stop = session.cont([Breakpoint(path="live-marker")])
    assert (stop.event_no, stop.reason) == (marker, "breakpoint")
    assert "path=live-marker" in stop.message
    regs = session.registers()
    assert regs["orig_rax"] == BY_NAME["openat"].nr
    assert session.memory(regs["rsi"], 24) == b"/nonexistent/live-marker"
    # a breakpoint at the current event does not stop again
    stop = session.cont([Breakpoint(syscall="getpid"), Breakpoint(syscall="openat")])
    assert stop.event_no == getpid and "syscall=getpid" in stop.message
    stop = session.cont([Breakpoint(event_no=writes[-1])])
    assert stop.event_no == writes[-1]
    assert session.memory(session.registers()["rsi"], 4) == b"bye\n"
    with pytest.raises(Exception, match="unknown syscall name"):
        session.cont([Breakpoint(syscall="nosuchcall")])
    stop = session.cont([Breakpoint(syscall="openat")])  # no more: to the end
    assert stop.reason == "exit" and "exited with 3" in stop.message
    assert stop.event_no == len(evs)
    with pytest.raises(Exception, match="finished"):
        session.registers()
    with pytest.raises(Exception, match="finished"):
        session.step()


@pytest.mark.parametrize("session", ["basic"], indirect=True)
def test_step_and_reverse_step_come_back_to_the_same_state(session: Any, basic: tuple[str, str]) -> None:
    path, _ = basic
    n = syscalls(path, "write")[0]
    first = session.run_to(n)
    seen = {first.event_no: session.registers()}
    stop = session.step()
    assert stop.reason == "step" and stop.event_no > n
    seen[stop.event_no] = session.registers()
    stop = session.step()
    top = stop.event_no
    back = session.reverse_step()
    assert back.event_no < top and back.reason == "step"
    assert back.message == f"restored the checkpoint at event {back.event_no}"  # taken at the stop
    assert session.registers() == seen[back.event_no]  # deterministic: the very same state
    back = session.reverse_step()
    assert back.event_no == n and session.registers() == seen[n]
    # forward again from the checkpoint; and run_to backwards restores one
    assert session.step().event_no in seen
    again = session.run_to(n)
    assert again.event_no == n and again.message == f"restored the checkpoint at event {n}"
    end = session.run_to(10**9)
    assert end.reason == "exit" and end.event_no == len(events(path))
    # back from the end: the last event of the trace that can be stopped at
    back = session.reverse_step()
    assert back.event_no < end.event_no and session.registers()["orig_rax"] == BY_NAME["exit_group"].nr


# -- threads and processes ----------------------------------------------------------


@pytest.mark.parametrize("session", ["threads"], indirect=True)
def test_step_any_thread_and_one_thread(session: Any, threads: tuple[str, str]) -> None:
    path, _ = threads
    evs = events(path)
    spawn = next(n for n, ev in evs if isinstance(ev, Spawn) and ev.tid == 2)
    stop = session.run_to(spawn)
    assert (stop.event_no, stop.tid) == (spawn, 2)

    def next_of(tid: int, after: int) -> int:
        return next(n for n, ev in evs if n > after and getattr(ev, "tid", None) == tid
                    and type(ev).__name__ != "Exit")

    stop2 = session.step(2)
    assert (stop2.event_no, stop2.tid) == (next_of(2, spawn), 2)
    # every thread is stopped in front of its own next event
    for tid in (1, 2):
        ev = dict(evs)[next_of(tid, stop2.event_no - 1)]
        if isinstance(ev, Syscall):
            assert session.registers(tid)["orig_rax"] == ev.nr
    assert session.registers(1) != session.registers(2)
    stop = session.step(1)
    assert (stop.event_no, stop.tid) == (next_of(1, stop2.event_no), 1)
    assert session.maps(1) == session.maps(None)  # one process, one map
    here = stop.event_no
    stop = session.step()
    assert stop.event_no == here + 1 and stop.tid == evs[here + 1][1].tid
    with pytest.raises(Exception, match="thread 7 has no event"):
        session.step(7)
    stop = session.run_to(len(evs))
    assert stop.reason == "exit" and "exited with 0" in stop.message


@pytest.mark.parametrize("session", ["forked"], indirect=True)
def test_child_process_by_its_virtual_ids(session: Any, forked: tuple[str, str]) -> None:
    path, exe = forked
    n = syscalls(path, "write", tid=2)[0]
    stop = session.run_to(n)
    assert (stop.event_no, stop.tid) == (n, 2)
    regs = session.registers()  # the child's, by default
    assert regs["orig_rax"] == BY_NAME["write"].nr
    assert session.memory(regs["rsi"], regs["rdx"], 2) == b"child here\n"
    assert any(m.path == exe for m in session.maps(2))
    assert [f.symbol for f in session.backtrace(2)][1] == "main"
    parent = session.registers(1)
    assert parent["rip"] != 0 and parent != regs
    # a pid breakpoint: the parent's next event
    stop = session.cont([Breakpoint(pid=2, syscall="getppid")])
    assert stop.tid == 2 and session.registers(2)["orig_rax"] == BY_NAME["getppid"].nr
    parent_next = next(m for m, ev in events(path) if m > stop.event_no and getattr(ev, "tid", 0) == 1
                       and type(ev).__name__ != "Exit")
    stop = session.cont([Breakpoint(pid=1)])
    assert (stop.event_no, stop.tid) == (parent_next, 1)
    wait4 = syscalls(path, "wait4")[0]  # after the child's end
    if stop.event_no != wait4:
        stop = session.cont([Breakpoint(syscall="wait4")])
    assert stop.event_no == wait4
    with pytest.raises(Exception, match="no live thread 2"):
        session.registers(2)
    stop = session.run_to(10**9)
    assert stop.reason == "exit" and "exited with 5" in stop.message


def test_a_missing_trace_is_one_line(tmp_path: Path) -> None:
    from scribe.live import open_session

    with pytest.raises(Exception) as info:
        open_session(str(tmp_path / "nope.scribe"))
    assert "\n" not in str(info.value)


vforked = recorded("live_vfork")


@pytest.mark.parametrize("session", ["vforked"], indirect=True)
def test_a_stop_while_the_vfork_parent_sleeps_in_the_kernel(session: Any, vforked: tuple[str, str]) -> None:
    path, _ = vforked
    n = syscalls(path, "getpid", tid=2)[0]
    stop = session.run_to(n)
    assert (stop.event_no, stop.tid) == (n, 2)
    assert session.registers()["orig_rax"] == BY_NAME["getpid"].nr
    with pytest.raises(Exception, match="thread 1 is blocked in the kernel"):
        session.registers(1)
    assert session.maps(1)  # its memory can still be looked at
    stop = session.step()
    assert stop.reason in ("step", "exit")
    stop = session.run_to(10**9)
    assert stop.reason == "exit" and "exited with 2" in stop.message


@pytest.mark.parametrize("session", ["forked"], indirect=True)
def test_every_event_in_turn(session: Any, forked: tuple[str, str]) -> None:
    """Run to each event in order: the replay stops in front of each (a
    signal delivered together with a call stops at the next), never hangs."""
    from scribe.live import stoppable

    path, _ = forked
    for n, ev in events(path):
        if not stoppable(n, ev):
            continue
        stop = session.run_to(n)
        if type(ev).__name__ == "Signal":
            assert stop.event_no >= n
            continue
        assert (stop.event_no, stop.tid, stop.reason) == (n, ev.tid, "event")
        regs = session.registers()
        if isinstance(ev, Syscall):
            assert regs["orig_rax"] == ev.nr
        assert session.backtrace()[0].pc == regs["rip"]


# -- checkpoints ----------------------------------------------------------------------


looped = recorded("live_loop")


def dense(session: Any, every: int) -> Any:
    """Checkpoints every `every` events of a run, however fast it goes."""
    session.cp_seconds = 0
    session.cp_events = every
    return session


def keep_checkpoints(session: Any, keep: Callable[[int], bool]) -> None:
    """Forget the session's checkpoints at events `keep` rejects."""
    from scribe import checkpoint as CP

    for cp in [cp for cp in session.cps if not keep(cp.event_no)]:
        session.cps.remove(cp)
        CP.discard_checkpoint(cp)


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the name: state, ppid, pgrp, session..."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def recorded_status(path: str) -> int:
    with TraceReader(path) as r:
        return os.WEXITSTATUS(r.exit_status)


def look(session: Any) -> tuple[dict[str, int], bytes]:
    regs = session.registers()
    return regs, session.memory(regs["rsp"], 512)


@pytest.mark.parametrize("session", ["looped"], indirect=True)
def test_a_checkpoint_restores_the_same_process_and_the_replay_ends_as_recorded(
        session: Any, looped: tuple[str, str]) -> None:
    path, _ = looped
    dense(session, 100)
    writes = syscalls(path, "write")
    early, late = writes[60], writes[250]
    seen = {}
    for n in (early, late):
        stop = session.run_to(n)
        assert (stop.event_no, stop.message) == (n, "")
        seen[n] = look(session)
    taken = [cp.event_no for cp in session.cps]
    assert len(taken) >= 5 and any(early < e < late for e in taken)
    # back to the early write: the nearest checkpoint at or before it, then forward
    back = session.run_to(early)
    assert back.event_no == early and back.message == f"restored the checkpoint at event {early}"
    assert look(session) == seen[early]
    # a checkpoint taken during the run (not at a stop) brings back the state in between
    mid = max(e for e in taken if e < late and e != early)
    stop = session.run_to(late - 1 if late - 1 > mid else late)
    assert stop.message.startswith("restored the checkpoint at event") or stop.message == ""
    stop = session.run_to(late)
    assert look(session) == seen[late]
    # from the restored state the program runs to its recorded end: no divergence
    end = session.run_to(10**9)
    assert end.reason == "exit", end.message
    assert f"exited with {recorded_status(path)}" in end.message
    # once finished, going back restores a checkpoint rather than re-running
    back = session.reverse_step()
    assert back.message.startswith("restored the checkpoint at event"), back.message
    assert session.registers()["orig_rax"] == BY_NAME["exit_group"].nr


@pytest.mark.parametrize("session", ["looped"], indirect=True)
def test_a_checkpoint_serves_many_times_and_leaves_no_process(session: Any, looped: tuple[str, str]) -> None:
    path, _ = looped
    dense(session, 50)
    writes = syscalls(path, "write")
    here = session.run_to(writes[100]).event_no
    state = look(session)
    for _ in range(3):
        session.run_to(writes[200])
        again = session.run_to(here)
        assert again.message == f"restored the checkpoint at event {here}"
        assert look(session) == state
    copies = [pid for cp in session.cps for pid in cp.pids]
    made = set(session._made)
    assert copies and set(copies) <= made
    live = next(iter(session.tracer.tracees))
    for pid in copies:  # stopped, in the program's group and session (they keep them alive)
        assert _stat(pid)[0] == "t" and _stat(pid)[2:4] == _stat(live)[2:4]
    session.close()
    for pid in made:  # neither alive nor a zombie of ours
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG | 0x40000000)


@pytest.mark.parametrize("session", ["forked"], indirect=True)
def test_checkpoints_of_two_processes_and_of_one_that_forks_again(session: Any, forked: tuple[str, str]) -> None:
    path, _ = forked
    dense(session, 1)
    fork = next(n for n, ev in events(path) if isinstance(ev, Spawn) and ev.tid == 2)
    child_write = syscalls(path, "write", tid=2)[0]
    stop = session.run_to(child_write)
    assert stop.tid == 2
    seen = look(session), session.registers(1)
    both = [cp for cp in session.cps if cp.event_no > fork]
    assert both and all(len(cp.copies) == 2 for cp in both)
    end = session.run_to(10**9)
    assert end.reason == "exit" and "exited with 5" in end.message
    # back to the child's write: both processes copied back, the same state
    again = session.run_to(child_write)
    assert again.message == f"restored the checkpoint at event {child_write}"
    assert (again.event_no, again.tid) == (child_write, 2)
    assert (look(session), session.registers(1)) == seen
    assert session.memory(seen[0][0]["rsi"], seen[0][0]["rdx"], 2) == b"child here\n"
    end = session.run_to(10**9)
    assert end.reason == "exit" and "exited with 5" in end.message
    # from a checkpoint of the parent alone: its fork runs again, for real
    keep_checkpoints(session, lambda e: e < fork)
    again = session.run_to(child_write)
    assert again.message.startswith("restored the checkpoint at event")
    assert (look(session), session.registers(1)) == seen
    end = session.run_to(10**9)
    assert end.reason == "exit" and "exited with 5" in end.message


@pytest.mark.parametrize("session", ["threads"], indirect=True)
def test_no_checkpoint_of_threads_going_back_reruns_and_says_why(session: Any, threads: tuple[str, str]) -> None:
    path, _ = threads
    dense(session, 1)
    ev_list = events(path)
    spawn = next(n for n, ev in ev_list if isinstance(ev, Spawn) and ev.tid == 2)
    last = max(n for n, ev in ev_list if getattr(ev, "tid", None) == 2 and type(ev).__name__ == "Syscall")
    session.run_to(last)
    state = look(session)
    assert all(cp.event_no < spawn for cp in session.cps)
    back = session.reverse_step()
    assert back.message.startswith("restored the checkpoint at event"), back.message  # replayed on from before the thread
    back = session.run_to(last)
    assert look(session) == state
    keep_checkpoints(session, lambda e: False)
    session.run_to(10**9)
    back = session.run_to(last)
    assert back.message.startswith(f"re-ran from the start (no checkpoint before event {last}; at event")
    assert back.message.endswith("process 1 had 2 threads)")


exec_shared = recorded("live_exec_shared")


@pytest.mark.parametrize("session", ["exec_shared"], indirect=True)
def test_checkpoints_across_an_exec_and_none_with_shared_memory(
        session: Any, exec_shared: tuple[str, str]) -> None:
    path, _ = exec_shared
    dense(session, 5)
    execs = syscalls(path, "execve")
    getpids = syscalls(path, "getpid")
    writes = syscalls(path, "write")
    before, after = writes[5], writes[30]
    assert before < execs[-1] < after < getpids[0]
    session.run_to(after)
    state = look(session)
    session.run_to(getpids[-1])
    assert any("had shared memory mapped" in why for _, why in session.cp_why)
    assert max(cp.event_no for cp in session.cps) < getpids[0]
    # from a checkpoint taken before the exec, through the exec again
    keep_checkpoints(session, lambda e: e <= before)
    back = session.run_to(after)
    assert back.message.startswith("restored the checkpoint at event")
    assert int(back.message.rsplit(" ", 1)[1]) <= before < execs[-1]
    assert look(session) == state
    end = session.run_to(10**9)
    assert end.reason == "exit" and f"exited with {ord('d')}" in end.message


shared_file = recorded("live_shared_file")


@pytest.mark.parametrize("session", ["shared_file"], indirect=True)
def test_no_checkpoint_while_a_file_mapped_shared_has_its_name(
        session: Any, shared_file: tuple[str, str]) -> None:
    """Replay's own file for a file mapped shared holds its latest state:
    from the mapping until the file is removed, unmapped or not, no
    checkpoint is taken, and going back into that stretch restores one
    taken before it; after the removal checkpoints are taken again."""
    path, _ = shared_file
    dense(session, 3)
    mmaps = [n for n, ev in events(path) if isinstance(ev, Syscall) and ev.nr == BY_NAME["mmap"].nr
             and ev.args[3] & 0x01 and not ev.args[3] & 0x20]  # MAP_SHARED, a file
    unlinks, writes = syscalls(path, "unlink"), syscalls(path, "write")
    between = [n for n in writes if mmaps[0] < n < unlinks[0]]
    assert len(mmaps) == 1 and len(unlinks) == 1 and len(between) == 20
    session.run_to(writes[-1])
    assert any("a file had been mapped shared" in why for _, why in session.cp_why)
    assert not [cp for cp in session.cps if mmaps[0] <= cp.event_no <= unlinks[0]]
    assert [cp for cp in session.cps if cp.event_no > unlinks[0]]
    back = session.run_to(between[10])
    assert back.message.startswith("restored the checkpoint at event")
    assert int(back.message.rsplit(" ", 1)[1]) < mmaps[0]
    end = session.run_to(10**9)
    assert end.reason == "exit" and "exited with 0" in end.message


@pytest.mark.parametrize("session", ["looped"], indirect=True)
def test_checkpoints_off_going_back_reruns(session: Any, looped: tuple[str, str]) -> None:
    path, _ = looped
    dense(session, 10).checkpoints = False
    n = syscalls(path, "write")[50]
    session.run_to(n)
    state = look(session)
    session.step()
    back = session.reverse_step()
    assert not session.cps and back.message == f"re-ran from the start (no checkpoint before event {n})"
    assert back.event_no == n and look(session) == state


signals = recorded("poke_signals")


@pytest.mark.parametrize("session", ["signals"], indirect=True)
def test_every_checkpoint_of_processes_that_signal_each_other_replays_to_the_end(
        session: Any, signals: tuple[str, str]) -> None:
    """Signals pending in the kernel (a child's SIGCHLD, kill to the group)
    do not stop a checkpoint, and each one restored replays to the recorded end."""
    path, _ = signals
    dense(session, 1)
    assert session.run_to(10**9).reason == "exit"
    assert len(session.cps) >= 5 and any(len(cp.copies) > 1 for cp in session.cps)
    assert not [why for _, why in session.cp_why if "failed" in why]
    status = recorded_status(path)
    session.cp_events = 10**9  # no jumping ahead to a later checkpoint below
    for cp in list(session.cps):
        stop = session.run_to(cp.event_no)
        assert stop.message == f"restored the checkpoint at event {cp.event_no}"
        end = session.run_to(10**9)
        assert end.reason == "exit" and f"exited with {status}" in end.message, end.message


@pytest.mark.parametrize("session", ["looped"], indirect=True)
def test_reverse_continue_goes_back_to_the_last_match(session: Any, looped: tuple[str, str]) -> None:
    path, _ = looped
    dense(session, 50)
    kills = syscalls(path, "kill")
    writes = syscalls(path, "write")
    here = session.run_to(writes[200]).event_no
    back = session.reverse_cont([Breakpoint(syscall="kill")])
    last_kill = max(k for k in kills if k < here)
    assert (back.event_no, back.reason) == (last_kill, "breakpoint")
    assert back.message.startswith("breakpoint syscall=kill; restored the checkpoint at event")
    assert session.registers()["orig_rax"] == BY_NAME["kill"].nr
    back = session.reverse_cont([Breakpoint(syscall="kill")])
    assert back.event_no == max(k for k in kills if k < last_kill)
    with pytest.raises(Exception, match="no event before event"):
        session.run_to(kills[0])
        session.reverse_cont([Breakpoint(syscall="kill")])

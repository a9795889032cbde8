"""What the debugger shows about a trace, without any Textual code.

The trace stores raw events; text is made when shown (ARCHITECTURE.md, style
rule 2).  This module turns one event into one display row (decoded through
virt.decode, with the event's recorded memory), classifies it for colour, and
keeps only a small LRU of decoded rows, so memory does not grow with the
trace.  It also holds the scans the app runs in workers (search, filter,
next error, same-process jumps, fd paths), written as plain functions over a
reader so they can be tested without a terminal and run on their own reader
in a worker thread (a TraceReader is not shared across threads).
"""

from __future__ import annotations

import errno as errno_mod
import os
import signal as signal_mod
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from traces import Exec, Exit, Input, Signal, Spawn, Syscall, TraceReader
from virt import decode, memory, syscalls
from virt import filter as vfilter

#: decoded rows kept (a screen is < 100 rows; this covers a few pages back and forth)
ROW_CACHE = 512
#: events read per block when scanning backwards
BACK_BLOCK = 2048

Cancelled = Callable[[], bool]
Progress = Callable[[int], None]


def _never() -> bool:
    return False


def _ignore(_: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Row:
    """One event as the list shows it."""

    event_no: int
    tid: int | None
    pid: int | None
    time_ns: int | None
    text: str
    kind: str  # "ok", "failed", "signal", "process", "input", "unknown"


def is_failed(event: Any) -> bool:
    """A syscall that returned an error (-4095..-1) and did return."""
    return (
        isinstance(event, Syscall)
        and not (event.flags & Syscall.NO_EXIT)
        and -4096 < event.result < 0
    )


def classify(event: Any) -> str:
    """The colour class of an event (failed calls, signals, process events)."""
    if isinstance(event, Syscall):
        return "failed" if is_failed(event) else "ok"
    if isinstance(event, Signal):
        return "signal"
    if isinstance(event, (Spawn, Exec, Exit)):
        return "process"
    if isinstance(event, Input):
        return "input"
    return "unknown"


def event_memory(reader: TraceReader, event: Any) -> memory.RecordedMemory | None:
    """The memory a syscall event recorded (inputs at entry, kernel writes)."""
    if not isinstance(event, Syscall):
        return None
    return memory.RecordedMemory.from_event(event, reader.data)


def describe(reader: TraceReader, event: Any) -> str:
    """The strace-like line of an event; never raises (a bad event shows why)."""
    try:
        return decode.format_event(event, event_memory(reader, event))
    except Exception as exc:  # noqa: BLE001 - decoding never fails the UI
        return f"<undecodable {type(event).__name__}: {exc}>"


def format_time(time_ns: int | None) -> str:
    """Seconds since the trace started, to the microsecond."""
    if time_ns is None:
        return ""
    sec, rem = divmod(time_ns, 1_000_000_000)
    return f"{sec}.{rem // 1000:06d}"


def describe_status(status: int | None) -> str:
    """A wait status in words: 'exit 0', 'killed by SIGKILL', 'no exit recorded'."""
    if status is None:
        return "no exit recorded"
    try:
        code = os.waitstatus_to_exitcode(status)
    except ValueError:
        return f"status {status:#x}"
    if code >= 0:
        return f"exit {code}"
    try:
        name = signal_mod.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    core = " (core dumped)" if os.WCOREDUMP(status) else ""
    return f"killed by {name}{core}"


def errno_text(result: int) -> str:
    """'ENOENT (No such file or directory)' for a negative result."""
    num = -result
    return f"{errno_mod.errorcode.get(num, f'E{num}')} ({os.strerror(num)})"


def hexdump(data: bytes, addr: int = 0, limit: int = 1024) -> list[str]:
    """Lines of 'address  hex bytes  |text|', at most `limit` bytes shown."""
    lines = []
    shown = data[:limit]
    for off in range(0, len(shown), 16):
        chunk = shown[off : off + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{addr + off:016x}  {hexpart:<47}  |{text}|")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return lines


class TraceModel:
    """Display-side access to one open trace (used on the UI thread).

    Workers must not use `reader` (not thread-safe): they call `open_reader()`
    and pass that reader to the scan functions below.
    """

    def __init__(self, reader: TraceReader, path: str) -> None:
        self.reader = reader
        self.path = path
        self.count = len(reader)
        self.complete = bool(reader.complete)
        self.damage: str | None = getattr(reader, "damage", None)
        self._rows: OrderedDict[int, Row] = OrderedDict()
        self.processes: list[Any] = []
        self.tid_to_pid: dict[int, int] = {}
        self.parent_of: dict[int, int] = {}
        self.processes_known = False
        if self.complete:
            # from the footer: instant.  An incomplete trace rebuilds its table by
            # reading every event, which the app does in a worker (set_processes).
            self.set_processes(list(reader.processes))

    def set_processes(self, processes: list[Any]) -> None:
        """Install the process table (threads of a process map to its vpid)."""
        self.processes = processes
        self.tid_to_pid = {}
        for proc in processes:
            self.tid_to_pid[proc.vpid] = proc.vpid
            for tid in proc.threads:
                self.tid_to_pid.setdefault(tid, proc.vpid)
        self.parent_of = {p.vpid: p.ppid for p in processes}
        self.processes_known = True
        self._rows.clear()  # rows carry the pid of their tid

    def open_reader(self) -> TraceReader:
        """A private reader for a worker thread (close it when done)."""
        return TraceReader(self.path)

    def event(self, n: int) -> Any:
        return self.reader[n]

    def pid_of(self, tid: int | None) -> int | None:
        if tid is None:
            return None
        return self.tid_to_pid.get(tid, tid)

    def row(self, n: int) -> Row:
        """The decoded row of event n, from a small LRU."""
        cached = self._rows.get(n)
        if cached is not None:
            self._rows.move_to_end(n)
            return cached
        try:
            event = self.reader[n]
        except Exception as exc:  # noqa: BLE001 - one unreadable event is shown, not fatal
            row = Row(n, None, None, None, f"<unreadable event: {exc}>", "unknown")
        else:
            tid = getattr(event, "tid", None)
            row = Row(
                n,
                tid,
                self.pid_of(tid),
                getattr(event, "time_ns", None),
                describe(self.reader, event),
                classify(event),
            )
        self._rows[n] = row
        if len(self._rows) > ROW_CACHE:
            self._rows.popitem(last=False)
        return row

    def cache_size(self) -> int:
        return len(self._rows)


# ---------------------------------------------------------------------------
# Scans (run in workers over their own reader)


def iter_rows(
    reader: TraceReader,
    index: Sequence[int] | None,
    start: int,
    step: int,
) -> Iterator[tuple[int, int, Any]]:
    """(row, event_no, event) from row `start` (inclusive) in direction step.

    index None = every event (row == event number); else rows map to
    index[row].  Backward scans read blocks forward and reverse them, because
    a reader decompresses whole chunks.
    """
    total = len(reader) if index is None else len(index)
    if start < 0 or start >= total:
        return
    if index is None:
        if step > 0:
            yield from ((n, n, ev) for n, ev in reader.events(start, None))
        else:
            hi = start + 1
            while hi > 0:
                lo = max(0, hi - BACK_BLOCK)
                block = list(reader.events(lo, hi))
                for n, ev in reversed(block):
                    yield n, n, ev
                hi = lo
    else:
        rng = range(start, total) if step > 0 else range(start, -1, -1)
        for r in rng:
            n = index[r]
            yield r, n, reader[n]


def find_row(
    reader: TraceReader,
    index: Sequence[int] | None,
    start: int,
    step: int,
    predicate: Callable[[int, Any], bool],
    *,
    wrap: bool = False,
    cancelled: Cancelled = _never,
    progress: Progress = _ignore,
) -> tuple[int | None, bool]:
    """The first row after `start` (exclusive) whose event matches.

    Returns (row or None, wrapped).  With wrap, continues from the other end
    up to and including `start`.
    """
    total = len(reader) if index is None else len(index)
    if total == 0:
        return None, False
    passes: list[tuple[int, int | None]] = [(start + step, None)]
    if wrap:
        passes.append((0 if step > 0 else total - 1, start))
    for i, (first, stop_at) in enumerate(passes):
        seen = 0
        for r, n, ev in iter_rows(reader, index, first, step):
            if stop_at is not None and (r > stop_at if step > 0 else r < stop_at):
                break
            seen += 1
            if not seen & 1023:
                if cancelled():
                    return None, False
                progress(seen)
            if predicate(n, ev):
                return r, i > 0
    return None, False


def text_matcher(reader: TraceReader, pattern: str) -> Callable[[int, Any], bool]:
    """Substring search over decoded text; smart case like vim and less."""
    if pattern != pattern.lower():
        return lambda n, ev: pattern in describe(reader, ev)
    low = pattern
    return lambda n, ev: low in describe(reader, ev).lower()


def same_process_matcher(
    tid_to_pid: dict[int, int], pid: int
) -> Callable[[int, Any], bool]:
    """Events of the process pid (any of its threads)."""

    def match(n: int, ev: Any) -> bool:
        tid = getattr(ev, "tid", None)
        return tid is not None and tid_to_pid.get(tid, tid) == pid

    return match


def error_matcher(n: int, ev: Any) -> bool:
    """Failed syscalls (the `e` key)."""
    return is_failed(ev)


def parse_filter(text: str) -> Any:
    """strace -e syntax, whitespace- or comma-separated expressions.

    "trace=%file status=failed" -> two expressions; commas inside one
    expression (trace=open,read) stay with it.  Raises ValueError (or what
    virt.filter raises) with a message for bad input.
    """
    exprs = text.split()
    if not exprs:
        raise ValueError("empty filter")
    return vfilter.parse_filter(exprs)


def build_filter_index(
    reader: TraceReader,
    event_filter: Any,
    tid_to_pid: dict[int, int] | None = None,
    *,
    cancelled: Cancelled = _never,
    progress: Progress = _ignore,
) -> array | None:
    """The event numbers that match, as array('I') (4 bytes a match).

    Memory is built only for filters that look at paths (the rest decide from
    the raw words).  Returns None when cancelled.
    """
    out = array("I")
    pids = tid_to_pid or {}

    def pid_of(tid: int) -> int:
        return pids.get(tid, tid)

    needs_memory = bool(getattr(event_filter, "paths", True))
    for n, ev in reader.events(0, None):
        if not n & 4095:
            if cancelled():
                return None
            progress(n)
        mem = event_memory(reader, ev) if needs_memory else None
        try:
            ok = event_filter.matches(ev, mem, pid_of)
        except Exception:  # noqa: BLE001 - an undecodable event does not match
            ok = False
        if ok:
            out.append(n)
    return out


# ---------------------------------------------------------------------------
# fd paths: the file behind each fd argument, where the trace knows it

#: syscalls that return a new fd naming the path in argument i
_OPENERS = {"open": 0, "creat": 0, "openat": 1, "openat2": 1, "open_by_handle_at": None}
#: syscalls that make fd `result` (or arg 1) a copy of arg 0
_DUPS = {"dup", "dup2", "dup3"}
#: fd-creating syscalls without a path: what to call the fd
_ANON = {
    "socket": "socket",
    "accept": "socket",
    "accept4": "socket",
    "epoll_create": "epoll",
    "epoll_create1": "epoll",
    "eventfd": "eventfd",
    "eventfd2": "eventfd",
    "signalfd": "signalfd",
    "signalfd4": "signalfd",
    "timerfd_create": "timerfd",
    "memfd_create": "memfd",
    "inotify_init": "inotify",
    "inotify_init1": "inotify",
    "pidfd_open": "pidfd",
    "userfaultfd": "userfaultfd",
}
_FD_ARG_NAMES = {"fd", "oldfd", "newfd", "out_fd", "in_fd", "dfd", "dirfd", "olddfd", "newdfd", "epfd"}
_FD_KINDS = {"fd", "dirfd"}


def fd_args(event: Any) -> list[tuple[str, int]]:
    """(argument name, fd) of a syscall's fd arguments (AT_FDCWD etc. left out)."""
    if not isinstance(event, Syscall):
        return []
    out = []
    sc = syscalls.info(event.nr)
    for i, arg in enumerate(sc.args):
        if i >= len(event.args):
            break
        if str(getattr(arg, "kind", "")) in _FD_KINDS or arg.name in _FD_ARG_NAMES:
            value = event.args[i] & 0xFFFFFFFF
            if value < 0x80000000:  # negative = AT_FDCWD or an invalid fd
                out.append((arg.name, value))
    return out


def _path_arg(reader: TraceReader, event: Any, i: int) -> str | None:
    mem = event_memory(reader, event)
    if mem is None:
        return None
    try:
        raw = mem.read_cstring(event.args[i])
    except Exception:  # noqa: BLE001 - path not captured
        return None
    return raw.decode("utf-8", "backslashreplace")


def resolve_fds(
    reader: TraceReader,
    event_no: int,
    pid: int,
    fds: set[int],
    tid_to_pid: dict[int, int],
    parent_of: dict[int, int],
    *,
    limit: int = 200_000,
    cancelled: Cancelled = _never,
) -> dict[int, str]:
    """Walk back from event_no to find what each fd of process pid names.

    The most recent event of the process that created or closed the fd wins:
    an open* that returned it gives the path, a dup* follows the old fd, a
    close means the fd is not open.  Past the process's Spawn the search goes
    on in the parent (fds are inherited).  Stops after `limit` events: the
    answer is 'where the trace knows it', not a full replay of the fd table.
    """
    want = set(fds)
    found: dict[int, str] = {}
    # fd we look for now -> the fds the caller asked about that it stands for
    alias: dict[int, list[int]] = {fd: [fd] for fd in want}

    def settle(fd: int, what: str) -> None:
        for orig in alias.pop(fd):
            found[orig] = what

    def moved(newfd: int, oldfd: int) -> None:
        if newfd != oldfd:
            origs = alias.pop(newfd)
            alias.setdefault(oldfd, []).extend(origs)
    cur_pid = pid
    seen = 0
    break_outside = False
    for _, _n, ev in iter_rows(reader, None, event_no - 1, -1):
        seen += 1
        if not alias or seen > limit:
            break
        if not seen & 1023 and cancelled():
            break
        tid = getattr(ev, "tid", None)
        if tid is None:
            continue
        if isinstance(ev, Spawn):
            if ev.pid == cur_pid and ev.kind != Spawn.THREAD:
                parent = parent_of.get(cur_pid) or tid_to_pid.get(ev.parent_tid, ev.parent_tid)
                if not parent:  # the first process: what is left came from outside
                    break_outside = True
                    break
                cur_pid = parent
            continue
        if tid_to_pid.get(tid, tid) != cur_pid or not isinstance(ev, Syscall):
            continue
        if ev.flags & Syscall.NO_EXIT:
            continue
        name = syscalls.info(ev.nr).name
        res = ev.result
        if name == "close" and res == 0:
            target = ev.args[0] & 0xFFFFFFFF
            if target in alias:
                settle(target, "(closed)")
            continue
        if res < 0:
            continue
        if name in _OPENERS and res in alias:
            i = _OPENERS[name]
            path = _path_arg(reader, ev, i) if i is not None else None
            settle(res, path if path is not None else f"({name})")
        elif name in _DUPS:
            newfd = res if name == "dup" else ev.args[1] & 0xFFFFFFFF
            if newfd in alias:
                moved(newfd, ev.args[0] & 0xFFFFFFFF)
        elif name == "fcntl" and res in alias and ev.args[1] in (0, 1030):  # F_DUPFD(_CLOEXEC)
            moved(res, ev.args[0] & 0xFFFFFFFF)
        elif name in _ANON and res in alias:
            settle(res, f"({_ANON[name]})")
        elif name in ("pipe", "pipe2", "socketpair"):
            for _addr, data in ev.writes:
                raw = reader.data(data)
                for off in range(0, len(raw) - 3, 4):
                    fd = int.from_bytes(raw[off : off + 4], "little")
                    if fd in alias:
                        settle(fd, "(pipe)" if name != "socketpair" else "(socket)")
    else:
        break_outside = True  # reached the start of the trace
    if break_outside:
        # what is left was inherited from whoever started the program
        for fd, origs in alias.items():
            if fd in (0, 1, 2):
                for orig in origs:
                    found[orig] = ("stdin", "stdout", "stderr")[fd] + " (inherited)"
    return found


"""Event filters in strace's ``-e`` syntax, for ``scribe dump`` and the TUI.

Why strace's syntax: people already know it.  Supported expressions
(several are AND-ed; several of the same qualifier are OR-ed):

- ``trace=SET`` (or a bare ``SET``): syscall names, ``%class`` (file,
  process, network/net, signal, ipc, desc, memory, creds, clock, stat,
  lstat, fstat, %stat, statfs, fstatfs, %statfs, pure), ``/REGEX``,
  ``all``, ``none``; ``?name`` ignores an unknown name; a leading ``!``
  negates the whole set.
- ``status=SET``: successful, failed, unfinished (the call never returned:
  the NO_EXIT flag), all, none; ``!`` negates.
- ``signal=SET``: which Signal events to show (names with or without SIG,
  numbers, all, none; ``!`` negates).
- ``pid=N[,N]``: events of these virtual pids / tids.
- ``path=SUBSTR``: syscalls with a path argument containing SUBSTR (and
  Exec events of such a path).

``trace=`` and ``status=`` select syscalls: other events (signals, exits,
spawns) are hidden by them (a list of "the failed calls" shows only calls),
unless the filter keeps them (``keep_other_events``, which ``scribe dump``
uses to print ``--- SIGCHLD ---`` and ``+++ exited +++`` lines like
strace does).  ``signal=`` always selects Signal events.  Bad expressions
raise ValueError with a one-line message.  Pure: no traces or ptrace imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from virt import flags as F
from virt.memory import Memory, MemoryReadError, RecordedMemory
from virt.syscalls import BY_NAME, SYSCALLS, SyscallInfo, failed, info

NO_EXIT = 2

CLASS_ALIASES: dict[str, str] = {
    "file": "file", "process": "process", "network": "network", "net": "network",
    "signal": "signal", "ipc": "ipc", "desc": "desc", "memory": "memory", "creds": "creds",
    "clock": "clock", "stat": "stat", "lstat": "lstat", "fstat": "fstat", "%stat": "stat_like",
    "statfs": "statfs", "fstatfs": "fstatfs", "%statfs": "statfs_like", "pure": "pure",
}

SyscallPred = Callable[[SyscallInfo], bool]


def _split_neg(value: str) -> tuple[bool, list[str]]:
    neg = value.startswith("!")
    if neg:
        value = value[1:]
    items = [x.strip() for x in value.split(",")]
    if not items or any(not x for x in items):
        raise ValueError(f"empty item in {value!r}")
    return neg, items


def _trace_pred(value: str) -> SyscallPred:
    neg, items = _split_neg(value)
    names: set[str] = set()
    classes: set[str] = set()
    regexes: list[re.Pattern[str]] = []
    everything = False
    for item in items:
        if item == "all":
            everything = True
        elif item == "none":
            continue
        elif item.startswith("%"):
            cls = CLASS_ALIASES.get(item[1:])
            if cls is None:
                raise ValueError(f"unknown syscall class {item!r}")
            classes.add(cls)
        elif item.startswith("/"):
            try:
                regexes.append(re.compile(item[1:]))
            except re.error as exc:
                raise ValueError(f"bad regular expression {item[1:]!r}: {exc}") from None
        elif item.startswith("?"):
            names.add(item[1:])
        elif item in BY_NAME or re.fullmatch(r"syscall_\d+", item):
            names.add(item)
        elif item in CLASS_ALIASES and item != "%stat":
            classes.add(CLASS_ALIASES[item])     # old strace spelling without %
        else:
            raise ValueError(f"unknown syscall name {item!r}")

    def pred(si: SyscallInfo) -> bool:
        hit = (everything or si.name in names or bool(classes & si.classes)
               or any(r.search(si.name) for r in regexes))
        return hit != neg
    return pred


def _status_set(value: str) -> frozenset[str]:
    neg, items = _split_neg(value)
    allowed = {"successful", "failed", "unfinished"}
    chosen: set[str] = set()
    for item in items:
        if item == "all":
            chosen |= allowed
        elif item == "none":
            continue
        elif item in allowed:
            chosen.add(item)
        elif item in ("unavailable", "detached"):
            continue            # never recorded by scribe
        else:
            raise ValueError(f"unknown status {item!r} (successful, failed, unfinished)")
    return frozenset(allowed - chosen if neg else chosen)


def _signal_set(value: str) -> frozenset[int]:
    neg, items = _split_neg(value)
    by_name = {v: k for k, v in F.SIGNALS.items()}
    chosen: set[int] = set()
    for item in items:
        if item == "all":
            chosen |= set(range(1, 65))
        elif item == "none":
            continue
        elif item.isdigit() and 0 < int(item) < 65:
            chosen.add(int(item))
        else:
            name = item.upper()
            name = name if name.startswith("SIG") else "SIG" + name
            if name not in by_name:
                raise ValueError(f"unknown signal {item!r}")
            chosen.add(by_name[name])
    return frozenset(set(range(1, 65)) - chosen if neg else chosen)


def _pids(value: str) -> frozenset[int]:
    out = set()
    for item in value.split(","):
        item = item.strip()
        if not item.isdigit():
            raise ValueError(f"bad pid {item!r}: expected a number")
        out.add(int(item))
    return frozenset(out)


@dataclass
class EventFilter:
    """A parsed filter; ``matches(event, mem)`` decides one event."""

    trace: list[SyscallPred] = field(default_factory=list)
    status: frozenset[str] | None = None
    signals: frozenset[int] | None = None
    pids: frozenset[int] | None = None
    paths: list[str] = field(default_factory=list)
    keep_other_events: bool = False

    @property
    def empty(self) -> bool:
        """True when the filter lets everything through."""
        return not (self.trace or self.status is not None or self.signals is not None
                    or self.pids is not None or self.paths)

    def syscall_allowed(self, si: SyscallInfo) -> bool:
        """The trace= part alone, for one syscall description."""
        return not self.trace or any(p(si) for p in self.trace)

    def matches(self, event: Any, mem: Memory | None = None, pid_of: Callable[[int], int] | None = None) -> bool:
        """Whether ``event`` passes; ``pid_of`` maps a tid to its process id."""
        try:
            return self._matches(event, mem, pid_of)
        except Exception:  # noqa: BLE001 - a strange event is shown, not lost
            return self.empty

    def _matches(self, event: Any, mem: Memory | None, pid_of: Callable[[int], int] | None) -> bool:
        kind = type(event).__name__
        if self.pids is not None:
            tid = getattr(event, "tid", None)
            ids = {tid, getattr(event, "pid", None)}
            if pid_of is not None and tid is not None:
                try:
                    ids.add(pid_of(tid))
                except Exception:  # noqa: BLE001
                    pass
            if not ids & self.pids:
                return False
        if kind == "Syscall":
            si = info(event.nr)
            if self.trace and not any(p(si) for p in self.trace):
                return False
            if self.status is not None and _status_of(event) not in self.status:
                return False
            if self.paths and not self._path_hit(si, event, mem):
                return False
            return True
        if self.paths:
            return kind == "Exec" and any(p in str(event.path) for p in self.paths)
        if kind == "Signal" and self.signals is not None:
            return event.signo in self.signals
        if (self.trace or self.status is not None) and not self.keep_other_events:
            return False
        return True

    def _path_hit(self, si: SyscallInfo, event: Any, mem: Memory | None) -> bool:
        if mem is None:
            mem = RecordedMemory.from_event(event)
        for i, arg in enumerate(si.args):
            if arg.kind != "path" or i >= len(event.args) or not event.args[i]:
                continue
            try:
                raw = mem.read_cstring(event.args[i], 4096)
            except MemoryReadError:
                continue
            text = raw.decode("utf-8", "surrogateescape")
            if any(p in text for p in self.paths):
                return True
        return False


def _status_of(event: Any) -> str:
    if getattr(event, "flags", 0) & NO_EXIT:
        return "unfinished"
    return "failed" if failed(event.result) else "successful"


QUALIFIERS = ("trace", "status", "signal", "pid", "path")


def parse_filter(exprs: Iterable[str], keep_other_events: bool = False) -> EventFilter:
    """Parse strace ``-e`` expressions (see the module doc) into a filter."""
    flt = EventFilter(keep_other_events=keep_other_events)
    statuses: list[frozenset[str]] = []
    signals: list[frozenset[int]] = []
    pids: list[frozenset[int]] = []
    for expr in exprs:
        if not isinstance(expr, str):
            raise ValueError(f"bad filter expression {expr!r}")
        expr = expr.strip()
        if not expr:
            raise ValueError("empty filter expression")
        key, sep, value = expr.partition("=")
        if not sep:
            key, value = "trace", expr
        key = key.strip()
        if key in ("t", "trace"):
            flt.trace.append(_trace_pred(value))
        elif key == "status":
            statuses.append(_status_set(value))
        elif key in ("signal", "signals", "s"):
            signals.append(_signal_set(value))
        elif key == "pid":
            pids.append(_pids(value))
        elif key == "path":
            if not value:
                raise ValueError("path= needs a substring")
            flt.paths.append(value)
        else:
            raise ValueError(f"unknown qualifier {key!r} (expected one of {', '.join(QUALIFIERS)})")
    if statuses:
        flt.status = frozenset().union(*statuses)
    if signals:
        flt.signals = frozenset().union(*signals)
    if pids:
        flt.pids = frozenset().union(*pids)
    return flt


def selected_syscalls(flt: EventFilter) -> list[int]:
    """Numbers of the known syscalls the trace= part lets through."""
    return [nr for nr, si in sorted(SYSCALLS.items()) if flt.syscall_allowed(si)]


__all__ = ["EventFilter", "parse_filter", "selected_syscalls", "CLASS_ALIASES"]

"""The process table and syscall counts, derived from the event stream.

The writer feeds every event through this as it records, so the footer can
say who ran without anyone decoding the trace; the reader feeds the events of
a footerless trace through the same code to rebuild it.  One implementation,
so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from traces import format as F
from traces.events import Exec, Exit, ProcessInfo, Spawn, Syscall


class ProcessTable:
    """Accumulates per-process rows, per-tid first/last events and syscall counts.

    A virtual pid may be reused within a trace, so rows are a list and
    `current` maps each vpid to its live row.
    """

    def __init__(self) -> None:
        self.rows: list[ProcessInfo] = []
        self.current: dict[int, ProcessInfo] = {}
        self.tgid: dict[int, int] = {}  # tid -> vpid of its process
        self.first: dict[int, int] = {}  # tid -> first event seen
        self.last: dict[int, int] = {}  # tid -> last event seen
        self.syscall_counts: dict[int, int] = {}
        # The index of far next events (FORMAT.md, `far_next`): each tid's
        # last event that is not an Exit, and [p, m, what] for every event
        # p whose thread's next event m came more than FAR_GAP events later.
        self.own_last: dict[int, int] = {}
        self.far_next: list[int] = []

    def add(self, n: int, ev: Any) -> None:
        """Account event number n (generic path, used when rebuilding)."""
        tid = ev.tid
        cls = type(ev)
        if cls is Syscall:
            nr = ev.nr
            self.syscall_counts[nr] = self.syscall_counts.get(nr, 0) + 1
        elif cls is Spawn or cls is Exec or cls is Exit:
            self.lifecycle(n, ev)  # before last[] moves: a reused tid settles its old life
        if tid not in self.first:
            self.first[tid] = n
        self.last[tid] = n
        if cls is not Exit:  # (as the writer does it, inline)
            p = self.own_last.get(tid)
            if p is not None and n - p > F.FAR_GAP:
                self.far(p, n, ev)
            self.own_last[tid] = n

    def far(self, p: int, m: int, ev: Any) -> None:
        """Event m, thread's next after p, came more than FAR_GAP events later."""
        what = ev.nr if type(ev) is Syscall and not ev.flags & Syscall.BUFFERED else -1
        self.far_next += (p, m, what)

    def far_index(self, events: int) -> list[int]:
        """The footer's `far_next` for a trace of `events` events: with a
        thread whose last event lies more than FAR_GAP before the end."""
        ends = [x for p in self.own_last.values() if events - p > F.FAR_GAP for x in (p, -1, -1)]
        return self.far_next + ends

    def lifecycle(self, n: int, ev: Any) -> None:
        """Spawn/Exec/Exit: the rare events that change the table's shape."""
        cls = type(ev)
        if cls is Spawn:
            self._spawn(n, ev)
        elif cls is Exec:
            row = self._row_of(ev.tid, n)
            row.argv = list(ev.argv)
        elif cls is Exit:
            row = self._row_of(ev.tid, n)
            if ev.tid == row.vpid:
                row.exit_status = ev.status

    def _spawn(self, n: int, ev: Spawn) -> None:
        tid = ev.tid
        if tid in self.tgid:  # tid reused: settle its old life first
            self._fold(tid)
        self.first[tid] = n
        self.last[tid] = n
        if ev.kind == Spawn.THREAD:
            row = self.current.get(ev.pid)
            if row is None:
                row = self._new_row(ev.pid, 0, [], n)
            if tid not in row.threads:
                row.threads.append(tid)
            self.tgid[tid] = ev.pid
            return
        ppid = self.tgid.get(ev.parent_tid, ev.parent_tid) if ev.parent_tid else 0
        parent = self.current.get(ppid)
        argv = list(parent.argv) if parent is not None else []
        row = self._new_row(ev.pid, ppid, argv, n)
        if tid not in row.threads:
            row.threads.append(tid)
        self.tgid[tid] = ev.pid

    def _new_row(self, vpid: int, ppid: int, argv: list[str], n: int) -> ProcessInfo:
        old = self.current.get(vpid)
        if old is not None:
            for t in old.threads:
                if self.tgid.get(t) == vpid:
                    self._fold(t)
        row = ProcessInfo(vpid, ppid, argv, None, n, n, [vpid])
        self.rows.append(row)
        self.current[vpid] = row
        self.tgid[vpid] = vpid
        return row

    def _row_of(self, tid: int, n: int) -> ProcessInfo:
        """The row of tid's process, made up (ppid 0) if it was never spawned."""
        vpid = self.tgid.get(tid)
        if vpid is not None:
            row = self.current.get(vpid)
            if row is not None:
                return row
        row = self._new_row(tid, 0, [], self.first.get(tid, n))
        return row

    def _fold(self, tid: int) -> None:
        """Move tid's last event into its row and forget the tid."""
        vpid = self.tgid.pop(tid, None)
        last = self.last.pop(tid, None)
        self.first.pop(tid, None)
        row = self.current.get(vpid) if vpid is not None else None
        if row is not None and last is not None and last > row.last_event:
            row.last_event = last

    def processes(self) -> list[ProcessInfo]:
        """The table so far (copies; the builder can keep going)."""
        for tid in self.last:
            if tid not in self.tgid:
                self._row_of(tid, self.first[tid])
        out = []
        for row in self.rows:
            last = row.last_event
            for t in row.threads:
                if self.tgid.get(t) == row.vpid and self.current.get(row.vpid) is row:
                    last = max(last, self.last.get(t, last))
            out.append(
                ProcessInfo(row.vpid, row.ppid, list(row.argv), row.exit_status,
                            row.first_event, last, list(row.threads))
            )
        return out

    def root_exit_status(self) -> int | None:
        """The first process's exit status: the trace's, when nobody said otherwise."""
        return self.rows[0].exit_status if self.rows else None

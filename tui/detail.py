"""The detail panel: everything the trace knows about one event.

All arguments decoded (through virt.decode) next to their raw words, the
result with its errno, the bytes the kernel wrote (hex + text), the path
behind each fd argument where the trace knows it (found by a worker, filled
in when ready), and timing.  The app sets `show(event_no)`; fd paths arrive
later through `set_fd_paths`.
"""

from __future__ import annotations

import datetime as dt
import signal as signal_mod
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from traces import BlobRef, Exec, Exit, Input, Signal, Spawn, Syscall, Unknown
from tui.model import (
    TraceModel,
    classify,
    describe,
    describe_status,
    errno_text,
    event_memory,
    fd_args,
    format_time,
    hexdump,
)
from virt import decode, syscalls

#: bytes of each memory range shown in the panel
HEX_LIMIT = 2048

_SPAWN_KINDS = {Spawn.FORK: "fork", Spawn.VFORK: "vfork", Spawn.THREAD: "thread"}


def _signame(signo: int) -> str:
    try:
        return signal_mod.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def _memory_section(model: TraceModel, title: str, ranges: Any) -> list[RenderableType]:
    out: list[RenderableType] = []
    if not ranges:
        return out
    out.append(_section(title))
    for addr, data in ranges:
        try:
            raw = model.reader.data(data)
        except Exception as exc:  # noqa: BLE001 - a missing blob is shown, not fatal
            out.append(Text(f"{addr:#x}: <unreadable: {exc}>", style="red"))
            continue
        blob = " (blob)" if isinstance(data, BlobRef) else ""
        out.append(Text(f"{addr:#x}, {len(raw)} bytes{blob}", style="bold"))
        out.append(Text("\n".join(hexdump(raw, addr, HEX_LIMIT)), style="cyan"))
    return out


def render_detail(
    model: TraceModel, event_no: int, fd_paths: dict[int, str] | None = None
) -> list[RenderableType]:
    """The panel's content for one event (a list of Rich renderables)."""
    try:
        ev = model.reader[event_no]
    except Exception as exc:  # noqa: BLE001
        return [Text(f"event {event_no}: cannot be read: {exc}", style="bold red")]
    kind = classify(ev)
    tid = getattr(ev, "tid", None)
    pid = model.pid_of(tid)
    title = Text()
    title.append(f"event {event_no}", style="bold")
    title.append(f"  {type(ev).__name__}", style="bold magenta")
    if tid is not None:
        title.append(f"  tid {tid}")
        if pid is not None and pid != tid:
            title.append(f" (pid {pid})")
    style = {"failed": "bold red", "signal": "bold yellow", "process": "bold green"}.get(kind, "bold")
    out: list[RenderableType] = [title, Text(describe(model.reader, ev), style=style)]

    if isinstance(ev, Syscall):
        out.extend(_syscall_detail(model, ev, fd_paths))
    elif isinstance(ev, Spawn):
        out.append(_section("Spawn"))
        out.append(Text(f"kind: {_SPAWN_KINDS.get(ev.kind, ev.kind)}"))
        out.append(Text(f"new task: tid {ev.tid}, pid {ev.pid}"))
        out.append(Text(f"parent tid: {ev.parent_tid or '(none: first process)'}"))
    elif isinstance(ev, Exec):
        out.append(_section("Exec"))
        out.append(Text(f"path: {ev.path}"))
        out.append(Text(f"argv: {ev.argv!r}"))
        if ev.binary is not None:
            out.append(Text(f"binary: {ev.binary.size} bytes, sha256 {ev.binary.digest.hex()}"))
    elif isinstance(ev, Exit):
        out.append(_section("Exit"))
        out.append(Text(f"{describe_status(ev.status)} (wait status {ev.status:#x})"))
    elif isinstance(ev, Signal):
        out.append(_section("Signal"))
        out.append(Text(f"{_signame(ev.signo)} ({ev.signo})"))
        if ev.siginfo:
            out.append(Text("siginfo:", style="bold"))
            out.append(Text("\n".join(hexdump(ev.siginfo)), style="cyan"))
    elif isinstance(ev, Input):
        out.append(_section(f"Input: {ev.what}"))
        out.extend(_value(model, ev.value))
    elif isinstance(ev, Unknown):
        out.append(_section(f"Unknown event kind {ev.kind}"))
        out.append(Text("written by a newer scribe; fields as stored:"))
        out.append(Text(repr(ev.fields)))

    out.extend(_timing(model, event_no, ev))
    return out


def _value(model: TraceModel, value: Any) -> list[RenderableType]:
    if isinstance(value, (bytes, BlobRef)):
        raw = model.reader.data(value)
        return [Text(f"{len(raw)} bytes"), Text("\n".join(hexdump(raw, 0, HEX_LIMIT)), style="cyan")]
    if isinstance(value, int):
        return [Text(f"{value} ({value:#x})")]
    return [Text(repr(value))]


def _syscall_detail(
    model: TraceModel, ev: Syscall, fd_paths: dict[int, str] | None
) -> list[RenderableType]:
    out: list[RenderableType] = []
    sc = syscalls.info(ev.nr)
    mem = event_memory(model.reader, ev)
    out.append(_section(f"{sc.name} (nr {ev.nr})"))
    table = Table(box=None, show_header=True, pad_edge=False, expand=False)
    table.add_column("arg", style="bold")
    table.add_column("value")
    table.add_column("raw", style="dim")
    try:
        known = {fd: p for fd, p in (fd_paths or {}).items() if not p.startswith("(")}
        decoded = decode.format_args(ev.nr, ev.args, ev.result, mem, known or None)
    except Exception as exc:  # noqa: BLE001 - decoding never fails the UI
        decoded = [(f"arg{i}", f"<undecodable: {exc}>") for i in range(len(ev.args))]
    for i, (name, text) in enumerate(decoded):
        raw = f"{ev.args[i]:#x}" if i < len(ev.args) else ""
        table.add_row(name, Text(text), raw)
    out.append(table)

    out.append(_section("Result"))
    if ev.flags & Syscall.NO_EXIT:
        out.append(Text("the call never returned (exit, successful execve, or killed inside)", style="yellow"))
    elif -4096 < ev.result < 0:
        out.append(Text(f"-1 {errno_text(ev.result)}  (raw {ev.result})", style="bold red"))
    else:
        out.append(Text(f"{ev.result} ({ev.result & 0xFFFFFFFFFFFFFFFF:#x})"))
    flags = []
    if ev.flags & Syscall.EXECUTED:
        flags.append("executed on replay")
    if ev.flags & Syscall.BUFFERED:
        flags.append("made without a stop, through the time page (replay puts the result there)")
    if flags:
        out.append(Text("flags: " + ", ".join(flags), style="dim"))

    fds = fd_args(ev)
    if fds:
        out.append(_section("File descriptors"))
        for name, fd in fds:
            if fd_paths is None:
                where = "…"
            else:
                where = fd_paths.get(fd, "(not known from the trace)")
            out.append(Text(f"{name}={fd} → {where}"))
    out.extend(_memory_section(model, "Written by the kernel", ev.writes))
    out.extend(_memory_section(model, "Read at entry", ev.reads))
    return out


def _timing(model: TraceModel, event_no: int, ev: Any) -> list[RenderableType]:
    t = getattr(ev, "time_ns", None)
    if t is None:
        return []
    out: list[RenderableType] = [_section("Timing")]
    out.append(Text(f"at +{format_time(t)} s since the trace started"))
    if event_no > 0:
        try:
            prev = model.reader[event_no - 1]
            dt_us = (t - getattr(prev, "time_ns", t)) / 1000
            out.append(Text(f"{dt_us:,.1f} µs after the previous event"))
        except Exception:  # noqa: BLE001
            pass
    start = getattr(model.reader.header, "start_time", None)
    if isinstance(start, (int, float)) and start > 0:
        wall = dt.datetime.fromtimestamp(start + t / 1e9, tz=dt.timezone.utc)
        out.append(Text(f"wall clock {wall.isoformat(timespec='microseconds')}"))
    return out


class DetailPanel(VerticalScroll, can_focus=True):
    """Scrollable detail of the selected event."""

    DEFAULT_CSS = """
    DetailPanel { padding: 0 1; }
    DetailPanel > Static { width: auto; }
    """

    def __init__(self, model: TraceModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.event_no: int | None = None
        self.fd_paths: dict[int, str] | None = None
        self._body = Static("", id="detail-body")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def show(self, event_no: int | None) -> None:
        """Show an event (None: nothing selected); fd paths come later."""
        self.event_no = event_no
        self.fd_paths = None
        self._refresh_body()
        self.scroll_home(animate=False)

    def set_fd_paths(self, event_no: int, paths: dict[int, str]) -> None:
        if event_no == self.event_no:
            self.fd_paths = paths
            self._refresh_body()

    def _refresh_body(self) -> None:
        if self.event_no is None:
            self._body.update(Text("no event selected", style="dim"))
            return
        self._body.update(Group(*render_detail(self.model, self.event_no, self.fd_paths)))

    @property
    def text(self) -> str:
        """Plain text of the panel (tests)."""
        if self.event_no is None:
            return ""
        import io

        from rich.console import Console

        console = Console(width=200, record=True, file=io.StringIO())
        console.print(Group(*render_detail(self.model, self.event_no, self.fd_paths)))
        return console.export_text()

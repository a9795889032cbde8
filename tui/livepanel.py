"""The live panel: drive a replay through a LiveSession and show a stop.

Everything goes through `LiveRunner` (one dedicated thread; ptrace wants
that) from an async Textual worker, so the UI never blocks.  When the replay
engine is missing the panel says so plainly and every action answers with
the same reason: nothing here is ever faked.

Messages up: after each stop the panel posts `LivePanel.Stopped`, which the
app uses to move the event list to the stop.
"""

from __future__ import annotations

from typing import Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui.live import Breakpoint, LiveRunner, LiveSession, LiveUnavailable, Stop, parse_breakpoints
from tui.model import hexdump


class LivePanel(VerticalScroll, can_focus=True):
    """Registers, backtrace, memory map and memory of the live replay."""

    BINDINGS = [
        Binding("r", "run_to", "Replay to event", id="live.run_to"),
        Binding("s", "step", "Step", id="live.step"),
        Binding("t", "step_thread", "Step selected thread", id="live.step_thread"),
        Binding("c", "cont", "Continue", id="live.continue"),
        Binding("R", "reverse_step", "Reverse step", id="live.reverse_step"),
        Binding("C", "reverse_cont", "Reverse continue", id="live.reverse_continue"),
        Binding("m", "memory", "Memory", id="live.memory"),
    ]

    DEFAULT_CSS = """
    LivePanel { padding: 0 1; }
    LivePanel > #live-state { text-style: bold; }
    LivePanel > #live-state.unavailable { color: $warning; }
    """

    class Stopped(Message):
        """The replay stopped at an event."""

        def __init__(self, stop: Stop) -> None:
            super().__init__()
            self.at = stop

    def __init__(
        self,
        runner: LiveRunner,
        selection: Callable[[], tuple[int | None, int | None]],
        ask: Callable[[str, str, Callable[[str | None], None]], None],
        *,
        unavailable_reason: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.runner = runner
        self.selection = selection  # (event number, virtual tid) selected in the list
        self.ask = ask
        self.unavailable_reason = unavailable_reason
        self.last_stop: Stop | None = None
        self._state = Static("", id="live-state")
        self._body = Static("", id="live-body")

    def compose(self) -> ComposeResult:
        yield self._state
        yield self._body

    def on_mount(self) -> None:
        if self.unavailable_reason:
            self._show_unavailable(self.unavailable_reason)
        else:
            self._state.update(
                "Live replay: r replays to the selected event, s steps, t steps the "
                "thread, c continues to breakpoints, R steps back, m reads memory."
            )

    @property
    def state_text(self) -> str:
        return str(self._state.render())

    def _show_unavailable(self, reason: str) -> None:
        self.unavailable_reason = reason
        self._state.add_class("unavailable")
        self._state.update(Text(f"Live replay not available: {reason}"))
        self._body.update(
            Text(
                "Browsing works without it. Registers, memory, the memory map and "
                "backtraces need a live replay, which this build cannot start.",
                style="dim",
            )
        )

    # -- actions -----------------------------------------------------------

    def action_run_to(self) -> None:
        n, _ = self.selection()
        if n is None:
            self.notify("no event selected", severity="warning")
            return
        self._drive(f"replaying to event {n}", lambda s: s.run_to(n))

    def action_step(self) -> None:
        self._drive("stepping", lambda s: s.step(None))

    def action_step_thread(self) -> None:
        """Step the thread of the event selected in the list (else the stopped one)."""
        _, tid = self.selection()
        if tid is None and self.last_stop is not None:
            tid = self.last_stop.tid
        self._drive(f"stepping thread {tid}", lambda s: s.step(tid))

    def action_reverse_step(self) -> None:
        self._drive("stepping back", lambda s: s.reverse_step())

    def action_cont(self) -> None:
        self._ask_breakpoints("break at", "continuing", lambda s, bps: s.cont(bps))

    def action_reverse_cont(self) -> None:
        self._ask_breakpoints("break back at", "going back", lambda s, bps: s.reverse_cont(bps))

    def _ask_breakpoints(self, prompt: str, what: str,
                         move: Callable[[LiveSession, list[Breakpoint]], Stop]) -> None:
        def answer(text: str | None) -> None:
            if not text:
                return
            try:
                bps = parse_breakpoints(text)
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            self._drive(what, lambda s: move(s, bps))

        self.ask(prompt, "syscall=openat path=/etc pid=3 event=100", answer)

    def action_memory(self) -> None:
        def answer(text: str | None) -> None:
            if not text:
                return
            addr_s, _, size_s = text.replace(",", " ").partition(" ")
            try:
                addr = int(addr_s, 0)
                size = int(size_s, 0) if size_s.strip() else 256
            except ValueError:
                self.notify("address [size], e.g. 0x7ffd1000 64", severity="error")
                return
            self._read_memory(addr, size)

        self.ask("memory at", "0x7ffd1000 256", answer)

    # -- workers -----------------------------------------------------------

    @work(exclusive=True, group="live")
    async def _drive(self, what: str, fn: Callable[[LiveSession], Stop]) -> None:
        if self.unavailable_reason:
            self.notify(f"live replay not available: {self.unavailable_reason}", severity="warning")
            return
        self._state.update(f"{what}…")
        try:
            stop = await self.runner.call(fn)
        except LiveUnavailable as exc:
            self._show_unavailable(str(exc))
            self.notify(f"live replay not available: {exc}", severity="warning")
            return
        except Exception as exc:  # noqa: BLE001 - the engine's message, shown as is
            self._state.update(Text(f"{what} failed: {exc}", style="bold red"))
            return
        body: RenderableType
        try:
            regs = await self.runner.call(lambda s: s.registers(stop.tid))
            frames = await self.runner.call(lambda s: s.backtrace(stop.tid))
            maps = await self.runner.call(lambda s: s.maps(None))
            body = Group(*self._render_stop(regs, frames, maps))
        except Exception as exc:  # noqa: BLE001 - e.g. the program finished: show the stop anyway
            body = Text(str(exc), style="dim")
        held = await self.runner.call(lambda s: list(getattr(s, "checkpoint_events", list)()))
        self.last_stop = stop
        self._state.update(
            Text(f"stopped at event {stop.event_no}, tid {stop.tid}: {stop.reason}"
                 + (f" ({stop.message})" if stop.message else "")
                 + (f" · {len(held)} checkpoint{'s' if len(held) != 1 else ''}, "
                    f"events {held[0]}…{held[-1]}" if held else ""))
        )
        self._body.update(body)
        self.post_message(self.Stopped(stop))

    @work(exclusive=True, group="live")
    async def _read_memory(self, addr: int, size: int) -> None:
        if self.unavailable_reason:
            self.notify(f"live replay not available: {self.unavailable_reason}", severity="warning")
            return
        tid = self.last_stop.tid if self.last_stop else None
        try:
            data = await self.runner.call(lambda s: s.memory(addr, size, tid))
        except Exception as exc:  # noqa: BLE001
            self.notify(f"memory at {addr:#x}: {exc}", severity="error")
            return
        self._body.update(Group(Text(f"memory at {addr:#x}", style="bold"),
                                Text("\n".join(hexdump(data, addr, 4096)), style="cyan")))

    @staticmethod
    def _render_stop(regs, frames, maps) -> list[RenderableType]:  # type: ignore[no-untyped-def]
        out: list[RenderableType] = [Text("registers", style="bold underline")]
        table = Table(box=None, show_header=False, pad_edge=False)
        for _ in range(3):
            table.add_column(style="bold")
            table.add_column()
        items = list(regs.items())
        for i in range(0, len(items), 3):
            cells: list[str] = []
            for name, value in items[i : i + 3]:
                cells += [name, f"{value:#018x}"]
            table.add_row(*cells)
        out.append(table)
        out.append(Text("backtrace", style="bold underline"))
        for i, fr in enumerate(frames):
            sym = f"{fr.symbol}+{fr.offset:#x}" if fr.symbol else "??"
            out.append(Text(f"#{i:<3} {fr.pc:#018x} {sym}  {fr.module or ''}"))
        out.append(Text("memory map", style="bold underline"))
        for m in maps:
            out.append(Text(f"{m.start:012x}-{m.end:012x} {m.perms} {m.offset:08x} {m.path}"))
        return out

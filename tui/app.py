"""The scribe debugger application.

Layout: an incomplete-trace banner (when it applies), the process tree on the
left, the event list (Line API) on the right above a tabbed bottom pane with
the detail panel and the live panel, then a status line and the footer.

Attributes down, messages up: widgets post Highlighted / NodeSelected /
Stopped; the app reacts by setting attributes of other widgets.  Everything
that may read many events (search, filter, next error, same-process jumps,
fd paths) runs in a thread worker on its own TraceReader, cancellable with
Esc; the UI thread only reads the few events it shows.
"""

from __future__ import annotations

import time
from array import array
from typing import Any, Callable, Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tree
from textual.worker import get_current_worker

from traces import TraceReader
from tui.detail import DetailPanel
from tui.dialogs import HelpScreen, PromptScreen
from tui.eventlist import EventList
from tui.live import LiveRunner, LiveSession, open_live_session, probe_engine
from tui.livepanel import LivePanel
from tui.model import (
    TraceModel,
    build_filter_index,
    error_matcher,
    fd_args,
    find_row,
    parse_filter,
    same_process_matcher,
    text_matcher,
)
from tui.proctree import ProcessTree, TaskRef

#: minimum seconds between progress updates from a worker
PROGRESS_EVERY = 0.15
#: the cursor must rest this long before fd paths are looked up
FD_DELAY = 0.12
#: positions kept for ctrl+o
HISTORY = 100


class ScribeApp(App[None]):
    """Browse a trace; drive a live replay through the LiveSession seam."""

    TITLE = "scribe"

    CSS = """
    #banner {
        dock: top; height: auto; padding: 0 1;
        background: $error; color: $text; text-style: bold;
    }
    #main { height: 1fr; }
    #tree { width: 24%; min-width: 18; max-width: 36; border-right: vkey $panel-lighten-2; }
    #right { width: 1fr; }
    #columns { height: 1; color: $text-muted; text-style: bold; }
    #events { height: 1fr; min-height: 3; }
    #bottom { height: 45%; border-top: hkey $panel-lighten-2; }
    #bottom TabPane { padding: 0; }
    #status { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f1,h", "help", "Help", key_display="F1", id="app.help"),
        Binding("colon", "goto", "Go to", key_display=":", id="app.goto"),
        Binding("slash", "search_forward", "Search", key_display="/", id="app.search_forward"),
        Binding("question_mark", "search_backward", "Search back", key_display="?", show=False,
                id="app.search_backward"),
        Binding("n", "search_next", "Next match", show=False, id="app.search_next"),
        Binding("N", "search_previous", "Previous match", show=False, id="app.search_previous"),
        Binding("f", "filter", "Filter", id="app.filter"),
        Binding("F", "clear_filter", "Clear filter", show=False, id="app.clear_filter"),
        Binding("e", "next_error", "Next error", id="app.next_error"),
        Binding("E", "previous_error", "Previous error", show=False, id="app.previous_error"),
        Binding("right_square_bracket", "same_process(1)", "Next same pid", key_display="]",
                show=False, id="app.same_process_next"),
        Binding("left_square_bracket", "same_process(-1)", "Prev same pid", key_display="[",
                show=False, id="app.same_process_previous"),
        Binding("P", "filter_process", "Only this process", show=False, id="app.filter_process"),
        Binding("ctrl+o", "jump_back", "Jump back", show=False, id="app.jump_back"),
        Binding("L", "show_live", "Live", id="app.live"),
        Binding("D", "show_detail", "Detail", show=False, id="app.detail"),
        Binding("escape", "cancel", "Cancel", show=False, id="app.cancel"),
    ]

    def __init__(
        self,
        path: str,
        reader: TraceReader | None = None,
        *,
        live_factory: Callable[[str], LiveSession] | None = None,
    ) -> None:
        super().__init__()
        self.path = str(path)
        self._own_reader = reader is None
        self.model = TraceModel(reader if reader is not None else TraceReader(self.path), self.path)
        self.live_runner = LiveRunner(self.path, live_factory or open_live_session)
        self._live_reason = probe_engine() if live_factory is None else None
        self.filter_text = ""
        self.search_pattern = ""
        self.search_step = 1
        self.busy = ""
        self._last_progress = 0.0
        self._fd_timer: Timer | None = None
        self._history: list[int] = []  # events the cursor jumped away from (ctrl+o)
        self.fd_delay = FD_DELAY  # tests set 0 for a deterministic screen
        self.sub_title = self.path

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if not self.model.complete:
            why = f" ({self.model.damage})" if self.model.damage else ""
            yield Static(
                f"⚠ INCOMPLETE TRACE{why}: the recording was cut short. "
                f"{self.model.count:,} events are readable, up to the last complete chunk; "
                f"processes without an exit event were still running. "
                f"`scribe info --repair` writes the footer back.",
                id="banner",
            )
        with Horizontal(id="main"):
            yield ProcessTree(self.model, id="tree")
            with Vertical(id="right"):
                events = EventList(self.model, id="events")
                yield Static(events.column_titles(), id="columns")
                yield events
                with TabbedContent(id="bottom"):
                    with TabPane("Detail", id="tab-detail"):
                        yield DetailPanel(self.model, id="detail")
                    with TabPane("Live", id="tab-live"):
                        yield LivePanel(
                            self.live_runner,
                            self._selection,
                            self._ask,
                            unavailable_reason=self._live_reason,
                            id="live",
                        )
        yield Static("", id="status")
        yield Footer()

    def _selection(self) -> tuple[int | None, int | None]:
        """(event number, virtual tid) of the selected event, for the live panel."""
        n = self.event_list.event_no
        return n, (None if n is None else self.model.row(n).tid)

    @property
    def event_list(self) -> EventList:
        return self.query_one("#events", EventList)

    @property
    def detail(self) -> DetailPanel:
        return self.query_one("#detail", DetailPanel)

    def on_mount(self) -> None:
        self.event_list.focus()
        self.event_list.move_to(0, force=True)
        if not self.model.processes_known:
            # after the first screen is drawn: the rebuild competes for the GIL
            self.call_after_refresh(self._load_processes)
        self._update_status()

    @work(thread=True, exclusive=True, group="processes")
    def _load_processes(self) -> None:
        """An incomplete trace has no footer table: rebuild it off the UI thread."""
        self._from_worker(self._set_busy, "reading the process table")
        with self.model.open_reader() as reader:
            processes = list(reader.processes)
        self._from_worker(self._processes_loaded, processes)

    def _processes_loaded(self, processes: list[Any]) -> None:
        self.model.set_processes(processes)
        self.query_one("#tree", ProcessTree).populate()
        self.event_list.refresh()
        self._set_busy("")

    def on_unmount(self) -> None:
        self.live_runner.close()
        if self._own_reader:
            try:
                self.model.reader.close()
            except Exception:  # noqa: BLE001 - closing must not fail the quit
                pass

    # -- status ------------------------------------------------------------

    def _update_status(self) -> None:
        el = self.event_list
        n = el.event_no
        parts = []
        if n is None:
            parts.append("no events" if self.model.count == 0 else "no matching events")
        else:
            parts.append(f"event {n:,} of {self.model.count:,}")
            row = self.model.row(n)
            if row.tid is not None:
                parts.append(f"pid {row.pid} tid {row.tid}" if row.pid != row.tid else f"pid {row.pid}")
        if self.filter_text:
            parts.append(f"filter {self.filter_text!r}: {el.row_count:,} match")
        if self.search_pattern:
            parts.append(f"search {self.search_pattern!r}")
        if not self.model.complete:
            parts.append("INCOMPLETE")
        if self.busy:
            parts.append(f"⏳ {self.busy} (Esc cancels)")
        self.query_one("#status", Static).update(" · ".join(parts))

    def _set_busy(self, text: str) -> None:
        self.busy = text
        self._update_status()

    def _from_worker(self, callback: Callable[..., None], *args: Any) -> None:
        """Run callback with args on the UI thread, for a worker thread.

        A worker can finish after the user quit: by then the widgets are
        being taken down and the result has nowhere to go, so it is dropped.
        """

        def unless_closing() -> None:
            if self.is_running:
                callback(*args)

        try:
            self.call_from_thread(unless_closing)
        except RuntimeError:  # the app's loop is gone
            pass

    def _progress(self, what: str, total: int) -> Callable[[int], None]:
        """A throttled progress callback for a worker thread."""

        def report(done: int) -> None:
            now = time.monotonic()
            if now - self._last_progress < PROGRESS_EVERY:
                return
            self._last_progress = now
            pct = f" {100 * done // total}%" if total else ""
            self._from_worker(self._set_busy, f"{what}{pct}")

        return report

    # -- messages up -------------------------------------------------------

    @on(EventList.Highlighted)
    def _event_highlighted(self, message: EventList.Highlighted) -> None:
        self.detail.show(message.event_no)
        self._update_status()
        if message.event_no is not None:
            ev = self.model.row(message.event_no)
            try:
                event = self.model.event(message.event_no)
            except Exception:  # noqa: BLE001
                return
            fds = {fd for _, fd in fd_args(event)}
            pid = self.model.pid_of(ev.tid)
            if self._fd_timer is not None:
                self._fd_timer.stop()
                self._fd_timer = None
            self.workers.cancel_group(self, "fds")
            if fds and pid is not None:
                # only once the cursor rests: paging must not start a scan per row
                n = message.event_no
                if self.fd_delay <= 0:
                    self._resolve_fds(n, pid, fds)
                else:
                    self._fd_timer = self.set_timer(
                        self.fd_delay, lambda: self._resolve_fds(n, pid, fds), name="fd paths"
                    )

    @on(Tree.NodeSelected)
    def _task_selected(self, message: Tree.NodeSelected) -> None:
        ref = message.node.data
        if not isinstance(ref, TaskRef):
            return
        if ref.tid is None:
            self._jump_to_event(ref.first_event)
        else:
            tid = ref.tid
            start = self.event_list.row_of_event(ref.first_event) - 1
            self._find("thread", start, 1, lambda reader: lambda n, ev: getattr(ev, "tid", None) == tid)

    @on(LivePanel.Stopped)
    def _live_stopped(self, message: LivePanel.Stopped) -> None:
        self._jump_to_event(message.at.event_no)

    def _remember(self) -> None:
        """Push the selected event before a jump, so ctrl+o can come back."""
        n = self.event_list.event_no
        if n is not None and (not self._history or self._history[-1] != n):
            self._history.append(n)
            del self._history[:-HISTORY]

    def action_jump_back(self) -> None:
        if not self._history:
            self.notify("no earlier position", severity="warning")
            return
        self.event_list.move_to_event(self._history.pop())

    def _jump_to_event(self, event_no: int) -> None:
        el = self.event_list
        self._remember()
        el.move_to_event(event_no)
        if el.event_no != event_no and self.filter_text:
            self.notify(f"event {event_no} is hidden by the filter; showing the next match")

    # -- prompts -----------------------------------------------------------

    def _ask(self, prompt: str, placeholder: str, then: Callable[[str | None], None],
             value: str = "", hint: str = "") -> None:
        self.push_screen(PromptScreen(prompt, value, placeholder, hint), then)

    def action_goto(self) -> None:
        def answer(text: str | None) -> None:
            if text is None or not text.strip():
                return
            text = text.strip()
            try:
                n = self.model.count - 1 if text == "$" else int(text.replace(",", "").replace("_", ""), 0)
            except ValueError:
                self.notify(f"not an event number: {text!r}", severity="error")
                return
            if n < 0:
                n += self.model.count
            if not 0 <= n < self.model.count:
                self.notify(f"no event {text}: the trace has {self.model.count:,}", severity="error")
                return
            self._jump_to_event(n)

        self._ask(":", "event number ($ = last)", answer)

    def action_search_forward(self) -> None:
        self._prompt_search(1)

    def action_search_backward(self) -> None:
        self._prompt_search(-1)

    def _prompt_search(self, step: int) -> None:
        def answer(text: str | None) -> None:
            if not text:
                return
            self.search_pattern = text
            self.search_step = step
            self._search(step)

        self._ask("/" if step > 0 else "?", "text in the decoded event", answer)

    def action_search_next(self) -> None:
        if not self.search_pattern:
            self.notify("no search yet: / or ?", severity="warning")
            return
        self._search(self.search_step)

    def action_search_previous(self) -> None:
        if not self.search_pattern:
            self.notify("no search yet: / or ?", severity="warning")
            return
        self._search(-self.search_step)

    def _search(self, step: int) -> None:
        pattern = self.search_pattern
        self.event_list.highlight = pattern
        self._find(f"search {pattern!r}", self.event_list.cursor, step,
                   lambda reader: text_matcher(reader, pattern), wrap=True)

    def action_filter(self) -> None:
        def answer(text: str | None) -> None:
            if text is None:
                return
            text = text.strip()
            if not text:
                self.action_clear_filter()
                return
            try:
                flt = parse_filter(text)
            except Exception as exc:  # noqa: BLE001 - the filter's own message
                self.notify(f"bad filter: {exc}", severity="error")
                return
            self._set_busy(f"filtering {text!r}")
            self._build_filter(text, flt)

        self._ask("filter", "trace=%file status=failed pid=3 path=/etc", answer,
                  value=self.filter_text, hint="strace -e syntax; empty shows everything")

    def action_filter_process(self) -> None:
        """Show only the events of the selected event's process (pid=N)."""
        n = self.event_list.event_no
        pid = None if n is None else self.model.row(n).pid
        if pid is None:
            self.notify("this event belongs to no process", severity="warning")
            return
        text = f"pid={pid}"
        self._set_busy(f"filtering {text!r}")
        self._build_filter(text, parse_filter(text))

    def action_clear_filter(self) -> None:
        self.workers.cancel_group(self, "filter")
        if self.filter_text:
            self.filter_text = ""
            self.event_list.set_index(None)
        self._set_busy("")

    def action_next_error(self) -> None:
        self._find("next error", self.event_list.cursor, 1, lambda reader: error_matcher)

    def action_previous_error(self) -> None:
        self._find("previous error", self.event_list.cursor, -1, lambda reader: error_matcher)

    def action_same_process(self, step: int) -> None:
        el = self.event_list
        if el.event_no is None:
            return
        row = self.model.row(el.event_no)
        if row.pid is None:
            self.notify("this event belongs to no process", severity="warning")
            return
        pid = row.pid
        tid_to_pid = self.model.tid_to_pid
        self._find(f"{'next' if step > 0 else 'previous'} event of pid {pid}", el.cursor, step,
                   lambda reader: same_process_matcher(tid_to_pid, pid))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_rows()))

    def action_show_live(self) -> None:
        self.query_one(TabbedContent).active = "tab-live"
        self.query_one("#live", LivePanel).focus()

    def action_show_detail(self) -> None:
        self.query_one(TabbedContent).active = "tab-detail"

    def action_cancel(self) -> None:
        cancelled = [w for w in self.workers if w.group in ("scan", "filter") and w.is_running]
        for w in cancelled:
            w.cancel()
        if cancelled:
            self._set_busy("")
            self.notify("cancelled")

    def binding_rows(self) -> list[tuple[str, str, str]]:
        """(keys, description, id) of every binding, for the help screen."""
        rows = []
        for cls in (ScribeApp, EventList, ProcessTree, LivePanel):
            for b in cls.BINDINGS:
                if not isinstance(b, Binding):
                    continue
                keys = b.key.split(",")
                if b.key_display:
                    keys[0] = b.key_display
                rows.append((", ".join(keys), b.description, b.id or ""))
        return rows

    # -- command palette ---------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Go to event", "Jump to an event number (:)", self.action_goto)
        yield SystemCommand("Search forward", "Search the decoded events (/)", self.action_search_forward)
        yield SystemCommand("Search backward", "Search the decoded events backwards (?)",
                            self.action_search_backward)
        yield SystemCommand("Filter events", "strace -e syntax: trace=%file status=failed (f)",
                            self.action_filter)
        yield SystemCommand("Clear filter", "Show every event again (F)", self.action_clear_filter)
        yield SystemCommand("Only this process", "Filter to the selected event's process (P)",
                            self.action_filter_process)
        yield SystemCommand("Jump back", "Return to where the last jump started (ctrl+o)",
                            self.action_jump_back)
        yield SystemCommand("Next error", "Next failed system call (e)", self.action_next_error)
        yield SystemCommand("Previous error", "Previous failed system call (E)", self.action_previous_error)
        yield SystemCommand("Next event of this process", "(])", lambda: self.action_same_process(1))
        yield SystemCommand("Previous event of this process", "([)", lambda: self.action_same_process(-1))
        yield SystemCommand("Live replay panel", "Registers, memory, maps, backtrace (L)", self.action_show_live)
        live = self.query_one("#live", LivePanel)
        yield SystemCommand("Replay to the selected event", "Live replay, stopped in front of it (r)",
                            live.action_run_to)
        yield SystemCommand("Step", "Replay one more event (s)", live.action_step)
        yield SystemCommand("Reverse step", "Back one event, from the nearest checkpoint (R)",
                            live.action_reverse_step)
        yield SystemCommand("Continue", "Replay to the next event a breakpoint matches (c)", live.action_cont)
        yield SystemCommand("Reverse continue", "Back to the last event a breakpoint matches (C)",
                            live.action_reverse_cont)
        yield SystemCommand("Keys", "Every key binding (F1)", self.action_help)

    # -- workers -----------------------------------------------------------

    def _find(
        self,
        what: str,
        start_row: int,
        step: int,
        make_predicate: Callable[[TraceReader], Callable[[int, Any], bool]],
        wrap: bool = False,
    ) -> None:
        """Move to the next row (from start_row, in direction step) that matches.

        The rows are the ones shown now (the filter's index, or all events);
        the scan runs in a worker on its own reader.
        """
        self._set_busy(what)
        self._find_worker(what, self.event_list.index, start_row, step, make_predicate, wrap)

    @work(thread=True, exclusive=True, group="scan")
    def _find_worker(
        self,
        what: str,
        index: Any,
        start_row: int,
        step: int,
        make_predicate: Callable[[TraceReader], Callable[[int, Any], bool]],
        wrap: bool,
    ) -> None:
        worker = get_current_worker()
        total = self.model.count if index is None else len(index)
        with self.model.open_reader() as reader:
            row, wrapped = find_row(
                reader, index, start_row, step, make_predicate(reader), wrap=wrap,
                cancelled=lambda: worker.is_cancelled,
                progress=self._progress(what, total),
            )
        if worker.is_cancelled:
            return
        self._from_worker(self._found, what, index, row, wrapped)

    def _found(self, what: str, index: Any, row: int | None, wrapped: bool) -> None:
        self._set_busy("")
        if index is not self.event_list.index:
            return  # the filter changed while searching
        if row is None:
            self.notify(f"{what}: not found", severity="warning")
            return
        if wrapped:
            self.notify(f"{what}: wrapped around")
        self._remember()
        self.event_list.move_to(row)

    @work(thread=True, exclusive=True, group="filter")
    def _build_filter(self, text: str, event_filter: Any) -> None:
        worker = get_current_worker()
        what = f"filtering {text!r}"
        with self.model.open_reader() as reader:
            index = build_filter_index(
                reader, event_filter, self.model.tid_to_pid,
                cancelled=lambda: worker.is_cancelled,
                progress=self._progress(what, self.model.count),
            )
        if index is None or worker.is_cancelled:
            return
        self._from_worker(self._filter_done, text, index)

    def _filter_done(self, text: str, index: array) -> None:
        self.filter_text = text
        self._set_busy("")
        self.event_list.set_index(index)
        self.notify(f"filter {text!r}: {len(index):,} of {self.model.count:,} events")
        self._update_status()

    @work(thread=True, exclusive=True, group="fds")
    def _resolve_fds(self, event_no: int, pid: int, fds: set[int]) -> None:
        from tui.model import resolve_fds

        worker = get_current_worker()
        with self.model.open_reader() as reader:
            paths = resolve_fds(reader, event_no, pid, fds, self.model.tid_to_pid, self.model.parent_of,
                                cancelled=lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self._from_worker(self._fd_paths_ready, event_no, paths)

    def _fd_paths_ready(self, event_no: int, paths: dict[int, str]) -> None:
        self.detail.set_fd_paths(event_no, paths)

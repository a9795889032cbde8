"""The event list: a Line API widget over a million events.

A DataTable holds its rows; a trace has millions.  This ScrollView only knows
how many rows there are (the trace length, or the length of a filter's index
array) and renders the visible lines on demand through `render_line`,
decoding each through the model's small LRU.  Jumping anywhere is a random
access into the trace (reader[n]); nothing here grows with the trace.

Attributes down, messages up: the app sets the index and moves the cursor;
the list posts `EventList.Highlighted` when the selected event changes.
"""

from __future__ import annotations

from typing import Sequence

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.model import Row, TraceModel, format_time


class EventList(ScrollView, can_focus=True):
    """Every event of the trace (or of the active filter), one line each."""

    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown,space,ctrl+f", "page_down", "PgDn", show=False, id="list.page_down"),
        Binding("pageup,b,ctrl+b", "page_up", "PgUp", show=False, id="list.page_up"),
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
    ]

    COMPONENT_CLASSES = {
        "event-list--cursor",
        "event-list--number",
        "event-list--tid",
        "event-list--time",
        "event-list--ok",
        "event-list--failed",
        "event-list--signal",
        "event-list--process",
        "event-list--input",
        "event-list--unknown",
        "event-list--match",
    }

    DEFAULT_CSS = """
    EventList {
        overflow-x: hidden;
        overflow-y: scroll;
    }
    EventList > .event-list--cursor { background: $accent 40%; text-style: bold; }
    EventList:focus > .event-list--cursor { background: $accent 70%; }
    EventList > .event-list--number { color: $text-muted; }
    EventList > .event-list--tid { color: $secondary; }
    EventList > .event-list--time { color: $text-muted; }
    EventList > .event-list--ok { }
    EventList > .event-list--failed { color: $error; }
    EventList > .event-list--signal { color: $warning; text-style: bold; }
    EventList > .event-list--process { color: $success; text-style: bold; }
    EventList > .event-list--input { color: $text-muted; text-style: italic; }
    EventList > .event-list--unknown { color: $text-muted; text-style: italic; }
    EventList > .event-list--match { background: $warning 60%; color: $text; }
    """

    class Highlighted(Message):
        """The selected event changed (event_no None: the list is empty)."""

        def __init__(self, event_list: EventList, row: int, event_no: int | None) -> None:
            super().__init__()
            self.event_list = event_list
            self.row = row
            self.event_no = event_no

        @property
        def control(self) -> EventList:
            return self.event_list

    def __init__(self, model: TraceModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._index: Sequence[int] | None = None
        self._highlight = ""
        self.cursor = 0
        self._num_width = max(len(str(max(model.count - 1, 0))), 3)
        self._update_size()

    # -- what is shown -----------------------------------------------------

    @property
    def index(self) -> Sequence[int] | None:
        """Event numbers shown (None: all events)."""
        return self._index

    @property
    def row_count(self) -> int:
        return self.model.count if self._index is None else len(self._index)

    def event_at(self, row: int) -> int | None:
        if not 0 <= row < self.row_count:
            return None
        return row if self._index is None else self._index[row]

    @property
    def event_no(self) -> int | None:
        """The selected event number."""
        return self.event_at(self.cursor)

    def row_of_event(self, event_no: int) -> int:
        """The row showing event_no, or the first row after it (last row if none)."""
        if self._index is None:
            return min(max(event_no, 0), max(self.row_count - 1, 0))
        # index arrays are sorted: bisect
        lo, hi = 0, len(self._index)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._index[mid] < event_no:
                lo = mid + 1
            else:
                hi = mid
        return min(lo, max(len(self._index) - 1, 0))

    def set_index(self, index: Sequence[int] | None) -> None:
        """Show only these event numbers (sorted), or all with None.

        The cursor stays on the selected event, or the next one shown.
        """
        current = self.event_no
        self._index = index
        self._update_size()
        self.move_to(self.row_of_event(current) if current is not None else 0, force=True)
        self.refresh()

    def _update_size(self) -> None:
        self.virtual_size = Size(self.size.width, self.row_count)

    def on_resize(self, event: events.Resize) -> None:
        self._update_size()
        self._scroll_cursor_visible()

    # -- cursor ------------------------------------------------------------

    @property
    def page_height(self) -> int:
        return max(self.scrollable_content_region.height, 1)

    def move_to(self, row: int, *, force: bool = False) -> None:
        """Select a row (clamped), scroll it into view, and say so."""
        count = self.row_count
        row = min(max(row, 0), max(count - 1, 0))
        old = self.cursor
        self.cursor = row
        self._scroll_cursor_visible()
        if old != row or force:
            self.refresh_line(old)
            self.refresh_line(row)
            self.post_message(self.Highlighted(self, row, self.event_at(row)))

    def move_to_event(self, event_no: int) -> None:
        self.move_to(self.row_of_event(event_no))

    def refresh_line(self, row: int) -> None:
        y = row - round(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_cursor_visible(self) -> None:
        top = round(self.scroll_offset.y)
        height = self.page_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        step = self.page_height
        self.scroll_to(y=round(self.scroll_offset.y) + step, animate=False, immediate=True)
        self.move_to(self.cursor + step)

    def action_page_up(self) -> None:
        step = self.page_height
        self.scroll_to(y=max(round(self.scroll_offset.y) - step, 0), animate=False, immediate=True)
        self.move_to(self.cursor - step)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_to(round(self.scroll_offset.y) + offset.y)

    # -- rendering ---------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = round(self.scroll_offset.y) + y
        width = self.size.width
        base = self.rich_style
        event_no = self.event_at(row)
        if event_no is None:
            return Strip.blank(width, base)
        strip = Strip(self._segments(self.model.row(event_no)))
        strip = strip.crop_extend(0, width, base)
        if row == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("event-list--cursor"))
        return strip

    @property
    def highlight(self) -> str:
        """Text marked in every visible row (the last search), '' for none."""
        return self._highlight

    @highlight.setter
    def highlight(self, pattern: str) -> None:
        if pattern != self._highlight:
            self._highlight = pattern
            self.refresh()

    def _segments(self, row: Row) -> list[Segment]:
        """Number, virtual tid, time, and the decoded text coloured by kind."""
        style = self.get_component_rich_style
        tid = "" if row.tid is None else str(row.tid)
        text_style = style(f"event-list--{row.kind}")
        segments = [
            Segment(f"{row.event_no:>{self._num_width}} ", style("event-list--number")),
            Segment(f"{tid:>5} ", style("event-list--tid")),
            Segment(f"{format_time(row.time_ns):>12} ", style("event-list--time")),
        ]
        text = row.text.replace("\n", "\\n")
        pattern = self._highlight
        if not pattern:
            segments.append(Segment(text, text_style))
            return segments
        # same smart case as the search: case-sensitive only with a capital
        haystack = text if pattern != pattern.lower() else text.lower()
        match_style = text_style + style("event-list--match")
        pos = 0
        while True:
            hit = haystack.find(pattern, pos)
            if hit < 0:
                break
            if hit > pos:
                segments.append(Segment(text[pos:hit], text_style))
            segments.append(Segment(text[hit : hit + len(pattern)], match_style))
            pos = hit + len(pattern)
        segments.append(Segment(text[pos:], text_style))
        return segments

    def column_titles(self) -> str:
        """A header line that lines up with the rows' columns."""
        return f"{'#':>{self._num_width}} {'tid':>5} {'time (s)':>12} event"

    def text_of_line(self, y: int) -> str:
        """The plain text of screen line y (tests and accessibility)."""
        return self.render_line(y).text

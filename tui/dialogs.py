"""Small modal screens: a one-line prompt (goto, search, filter) and help.

A prompt returns the text through `dismiss` (None on Escape), so the app
decides what to do with it: screens send results up, not commands down.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line; Enter answers, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    DEFAULT_CSS = """
    PromptScreen { align: center bottom; }
    PromptScreen > Vertical {
        width: 100%; height: auto; background: $panel; border-top: tall $accent;
        padding: 0 1; margin-bottom: 1;
    }
    PromptScreen Label { color: $text-muted; }
    PromptScreen Input { border: none; height: 1; padding: 0; }
    """

    def __init__(self, prompt: str, value: str = "", placeholder: str = "", hint: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.hint:
                yield Label(self.hint)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.border_title = self.prompt
        inp.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP_INTRO = """\
scribe tui: browse every recorded system call of every process.

Rows are decoded at display time with virtual ids: red = failed call,
yellow = signal, green = process event (spawn, exec, exit), grey = other input.
`?` searches backwards, as in less and vim; help is F1 (or `h`).
Searches are substring matches over the decoded text, case-insensitive unless
the pattern has a capital letter; they wrap around the end.
Filters use strace -e syntax, several separated by spaces:
  trace=%file  trace=open,read  status=failed  pid=3  path=/etc
P shows only the selected event's process; ctrl+o jumps back after a jump.
Esc cancels a running search or filter. Ctrl+P opens the command palette.
"""


class HelpScreen(ModalScreen[None]):
    """Every key binding, from the bindings themselves (so it cannot go stale)."""

    BINDINGS = [
        Binding("escape,q,f1,h", "close", "Close", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%; background: $panel;
        border: thick $accent; padding: 0 1;
    }
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, expand=True)
        table.add_column("keys", style="bold cyan", no_wrap=True)
        table.add_column("action")
        table.add_column("id", style="dim", no_wrap=True)
        for keys, desc, bid in self.rows:
            table.add_row(keys, desc, bid)
        with VerticalScroll():
            yield Static(Text(HELP_INTRO), id="help-intro")
            yield Static(table, id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)

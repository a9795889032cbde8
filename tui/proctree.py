"""The process tree: every process of the trace, threads under their process.

Built once from the reader's process table (virtual pids, argv, exit
status); it is small (one node per task), unlike the event list.  Selecting a
node posts a message the app turns into a jump to that task's first event.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree

from tui.model import TraceModel, describe_status


@dataclass(frozen=True, slots=True)
class TaskRef:
    """What a tree node stands for: a process (tid == pid) or one thread."""

    pid: int
    tid: int | None  # None: the process itself
    first_event: int


def _argv_text(argv: list[str], limit: int = 60) -> str:
    text = " ".join(argv) if argv else "?"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProcessTree(Tree[TaskRef]):
    """Processes by parent, threads as leaves."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
    ]

    def __init__(self, model: TraceModel, *, id: str | None = None) -> None:
        label = _argv_text(list(getattr(model.reader.header, "argv", []) or []), 40)
        super().__init__(f"trace: {label}", id=id)
        self.model = model
        self.show_root = True
        self.guide_depth = 2

    def on_mount(self) -> None:
        self.populate()

    def populate(self) -> None:
        procs = sorted(self.model.processes, key=lambda p: p.vpid)
        by_pid = {p.vpid: p for p in procs}
        children: dict[int, list] = {}
        roots = []
        for p in procs:
            if p.ppid in by_pid and p.ppid != p.vpid:
                children.setdefault(p.ppid, []).append(p)
            else:
                roots.append(p)

        def add(parent, proc) -> None:  # type: ignore[no-untyped-def]
            # status before argv: a long command line must not push it off the tree
            status = describe_status(proc.exit_status).replace("killed by ", "")
            if proc.exit_status is None:
                status = "no exit"
            label = Text()
            label.append(f"{proc.vpid} ", style="bold")
            bad = proc.exit_status is None or proc.exit_status != 0
            label.append(f"[{status}] ", style="red" if bad else "green")
            label.append(_argv_text(list(proc.argv)))
            threads = [tid for tid in proc.threads if tid != proc.vpid]
            kids = children.get(proc.vpid, [])
            node = parent.add(label, data=TaskRef(proc.vpid, None, proc.first_event),
                              expand=True, allow_expand=bool(threads or kids))
            for tid in threads:
                node.add_leaf(Text(f"thread {tid}", style="cyan"), data=TaskRef(proc.vpid, tid, proc.first_event))
            for child in kids:
                add(node, child)

        self.root.remove_children()
        for proc in roots:
            add(self.root, proc)
        self.root.expand()

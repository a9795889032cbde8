"""`scribe tui [TRACE]`: the interactive debugger.

Textual costs about a quarter of a second to import, so it is imported only
inside the handler: building the CLI parser stays cheap for every other
command.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from scribe import exitcodes

if TYPE_CHECKING:
    from pathlib import Path


def default_trace() -> Path | None:
    """The `latest` trace of the trace directory (scribe.tracedir), if there is one."""
    from scribe import tracedir

    link = tracedir.latest()
    return link.resolve() if link is not None else None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "tui",
        help="browse a trace interactively (and drive a live replay)",
        description=(
            "Open the interactive debugger on TRACE (default: the latest trace in "
            "$SCRIBE_TRACE_DIR or $XDG_DATA_HOME/scribe/traces). Press F1 inside for the keys."
        ),
    )
    p.add_argument("trace", nargs="?", metavar="TRACE", help="a .scribe trace file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Open the trace (TraceError -> exit 3 in cli.main), then run the app."""
    from pathlib import Path

    from scribe import tracedir

    if args.trace:
        path = Path(args.trace)
        if not path.exists():
            print(f"scribe: {path}: no such trace", file=sys.stderr)
            return exitcodes.USAGE
    else:
        found = default_trace()
        if found is None:
            print(
                f"scribe: no TRACE given and no latest trace in {tracedir.trace_dir()} "
                "(record one with `scribe record`, or name a trace file)",
                file=sys.stderr,
            )
            return exitcodes.USAGE
        path = found
    from traces import TraceReader

    reader = TraceReader(str(path))  # a bad trace raises TraceError before the screen changes
    from tui.app import ScribeApp

    app = ScribeApp(str(path), reader)
    try:
        app.run()
    finally:
        try:
            reader.close()
        except Exception:  # noqa: BLE001
            pass
    return exitcodes.OK

"""`scribe tui [TRACE]`: the interactive debugger.

Textual costs about a quarter of a second to import, so it is imported only
inside the handler: building the CLI parser stays cheap for every other
command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from scribe import exitcodes


def trace_dir() -> Path:
    """Where traces go by default: $SCRIBE_TRACE_DIR, else $XDG_DATA_HOME/scribe/traces."""
    env = os.environ.get("SCRIBE_TRACE_DIR")
    if env:
        return Path(env)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "scribe" / "traces"


def default_trace() -> Path | None:
    """The `latest` trace of the trace directory, if there is one."""
    d = trace_dir()
    for name in ("latest", "latest.scribe"):
        candidate = d / name
        if candidate.exists():
            return candidate.resolve()
    return None


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
    if args.trace:
        path = Path(args.trace)
        if not path.exists():
            print(f"scribe: {path}: no such trace", file=sys.stderr)
            return exitcodes.USAGE
    else:
        found = default_trace()
        if found is None:
            print(
                f"scribe: no TRACE given and no latest trace in {trace_dir()} "
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

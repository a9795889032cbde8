"""The `scribe` command line.

Each subcommand lives in its own module and is imported only when used, so
that `scribe run` never pays for Textual and `scribe info` never for ptrace.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from typing import NoReturn, Sequence

from scribe import __version__, exitcodes


# Each module defines register(subparsers) and keeps its heavy imports inside
# its handler, so building the parser stays cheap.
COMMAND_MODULES = (
    "scribe.cmd_run",
    "scribe.cmd_record",
    "scribe.cmd_replay",
    "scribe.cmd_trace",
    "scribe.cmd_dump",
    "scribe.cmd_tui",
)


def _help_width() -> int:
    """The width argparse's help is wrapped to, as it finds it (shutil's
    get_terminal_size, less 2)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns - 2


class _Parser(argparse.ArgumentParser):
    """argparse's parser, told its help width. Left to itself, every
    add_argument makes a help formatter, which imports shutil to measure the
    terminal (with zlib, bz2 and lzma: ~4 ms of every start here). The
    subcommands' parsers are of this class too (add_subparsers)."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_help_width())  # type: ignore[call-arg]


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="scribe",
        description="Record and replay Linux programs in a virtual execution environment.",
        epilog=(
            "exit codes: the program's own status for run/record/replay; "
            "2 usage, 3 bad trace, 4 replay diverged, 5 ptrace not permitted, "
            "6 trace not writable, 7 trace incomplete, 126 not executable, 127 not found"
        ),
    )
    p.add_argument("--version", action="version", version=f"scribe {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a subcommand not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:  # pragma: no cover - argparse enforces a subcommand
        parser.print_usage(sys.stderr)
        return exitcodes.USAGE
    from traces.errors import TraceError

    try:
        return int(handler(args))
    except TraceError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exitcodes.BAD_TRACE
    except KeyboardInterrupt:
        return 128 + 2


def run() -> NoReturn:
    """The `scribe` command: main(), then out of the process at once.

    Why: tearing the interpreter down (every module, the trace's helper
    threads, the recorder's tables) took 15-30 ms after each `scribe record`
    here, every byte of the trace already written and closed. The exit
    handlers still run (the VEE's temporary files) and our output is
    flushed; a reader of stdout gone away (`scribe ... | head`) is no error,
    as in `scribe dump`."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code & 0xFF)  # as sys.exit(code) would


if __name__ == "__main__":  # pragma: no cover
    run()

"""`scribe dump TRACE`: a recorded trace as `strace -f` would have shown it.

Why text is made here and not at record time: the trace holds raw words and
bytes; virt.decode turns them into strace-like lines when shown, so dump, the
TUI and live stepping agree.  Ids are the virtual ones the program saw.

One line per event: `[pid N] openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`,
`[pid N] --- SIGCHLD {...} ---`, `[pid N] +++ exited with 0 +++`.  `-e`
takes strace's expressions (virt.filter); `--json` prints one JSON object
per event with the raw fields and the decoded text, for machines.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence, TextIO


def register(subparsers: Any) -> None:
    """Add the `dump` subcommand."""
    p = subparsers.add_parser(
        "dump",
        help="print a trace's events like strace -f (virtual ids)",
        description="Print the events of a trace, one per line, like strace -f. "
                    "Filters use strace's -e syntax: trace=open,%%file status=failed "
                    "signal=SIGCHLD pid=2 path=/etc.",
    )
    _arguments(p)
    p.set_defaults(handler=dump_command, parser=p)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("trace", metavar="TRACE", help="a .scribe trace file")
    p.add_argument("-e", dest="exprs", action="append", default=[], metavar="EXPR",
                   help="filter expression (strace -e syntax); repeatable, all must match")
    p.add_argument("--json", action="store_true", help="one JSON object per line, raw and decoded fields")
    p.add_argument("--no-pids", action="store_true", help="leave out the [pid N] prefix")
    p.add_argument("-n", "--numbers", action="store_true", help="prefix each line with its event number")


def dump_command(args: argparse.Namespace) -> int:
    """The handler: TraceError propagates to scribe.cli (exit 3)."""
    from scribe import exitcodes
    from virt.filter import parse_filter

    try:
        # Signals and exits stay visible under trace=/status=, as in strace.
        flt = parse_filter(args.exprs, keep_other_events=True) if args.exprs else None
    except ValueError as exc:
        parser = getattr(args, "parser", None)
        if parser is not None:
            parser.error(f"bad -e expression: {exc}")  # usage line, exit 2
        print(f"scribe dump: bad -e expression: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    try:
        dump(args.trace, sys.stdout, flt, as_json=args.json, pids=not args.no_pids,
             numbers=getattr(args, "numbers", False))
    except BrokenPipeError:
        # `scribe dump | head`: the reader went away; that is not an error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
    return exitcodes.OK


def dump(path: str, out: TextIO, flt: Any = None, *, as_json: bool = False, pids: bool = True,
         numbers: bool = False) -> int:
    """Write the events of the trace at ``path`` to ``out``; returns how many."""
    import json

    from traces import TraceReader
    from virt.decode import format_event
    from virt.memory import RecordedMemory

    count = 0
    with TraceReader(path) as reader:
        tgid: dict[int, int] = {}
        for n, event in reader.events():
            kind = type(event).__name__
            if kind == "Spawn":
                tgid[event.tid] = event.pid
            mem = RecordedMemory.from_event(event, reader.data) if kind == "Syscall" else None
            if flt is not None and not flt.matches(event, mem, pid_of=lambda t: tgid.get(t, t)):
                continue
            text = format_event(event, mem)
            if as_json:
                out.write(json.dumps(event_json(n, event, text, mem), separators=(",", ":")) + "\n")
            else:
                prefix = f"{n:>8} " if numbers else ""
                tid = getattr(event, "tid", None)
                if pids and tid:
                    prefix += f"[pid {tid:>5}] "
                out.write(prefix + text + "\n")
            count += 1
        if not reader.complete and not as_json:
            out.write("+++ trace incomplete: the recorder stopped before the end +++\n")
    out.flush()
    return count


def _jsonable(value: Any) -> Any:
    """Raw event fields as JSON: bytes in hex, blob references by digest."""
    if isinstance(value, (bytes, bytearray)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    digest = getattr(value, "digest", None)
    if isinstance(digest, (bytes, bytearray)):
        return {"blob": bytes(digest).hex(), "size": getattr(value, "size", None)}
    return repr(value)


def _ranges(items: Any) -> list[dict[str, Any]]:
    out = []
    for addr, data in items or ():
        size = len(data) if isinstance(data, (bytes, bytearray)) else getattr(data, "size", None)
        out.append({"addr": addr, "size": size})
    return out


def event_json(n: int, event: Any, text: str, mem: Any = None) -> dict[str, Any]:
    """The JSON object of one event: raw fields, decoded text, arguments."""
    kind = type(event).__name__
    obj: dict[str, Any] = {"n": n, "kind": kind.lower()}
    if kind == "Syscall":
        from virt.decode import format_args, format_result
        from virt.syscalls import info

        si = info(event.nr)
        no_exit = bool(event.flags & 2)
        obj.update({
            "tid": event.tid, "time_ns": event.time_ns, "nr": event.nr, "name": si.name,
            "args": list(event.args), "result": None if no_exit else event.result,
            "flags": event.flags, "executed": bool(event.flags & 1), "unfinished": no_exit,
            "writes": _ranges(event.writes), "reads": _ranges(event.reads),
            "decoded_args": [{"name": a, "value": v}
                             for a, v in format_args(event.nr, event.args, None if no_exit else event.result, mem)],
            "decoded_result": "?" if no_exit else format_result(event.nr, event.result),
        })
    else:
        for attr in ("tid", "parent_tid", "pid", "kind", "path", "argv", "binary", "status", "signo",
                     "siginfo", "what", "value", "fields", "time_ns"):
            if hasattr(event, attr):
                key = "event_kind" if attr == "kind" else attr
                obj[key] = _jsonable(getattr(event, attr))
    obj["text"] = text
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m scribe.cmd_dump TRACE ...`: dump alone, with scribe's exit codes."""
    from scribe import exitcodes
    from traces.errors import TraceError

    p = argparse.ArgumentParser(prog="scribe dump")
    _arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return dump_command(args)
    except TraceError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exitcodes.BAD_TRACE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`scribe info [--repair] TRACE` and `scribe ps TRACE`: what a trace holds.

Both only read the footer of a complete trace, so they answer instantly even
for huge traces; on an incomplete one they say so (the word `incomplete` is
what scripts look for) and rebuild what they show from the events.
Heavy imports happen in the handlers (see scribe/cli.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable


def register(subparsers: Any) -> None:
    """Add the `info` and `ps` subcommands."""
    p = subparsers.add_parser(
        "info",
        help="show a trace's header, completeness, processes and syscall counts",
        description="Show what a trace holds. An incomplete trace (recorder killed) is "
                    "reported as such; --repair writes its footer back.",
    )
    p.add_argument("--repair", action="store_true",
                   help="write the footer back onto an incomplete trace (events after damage are dropped)")
    p.add_argument("trace", metavar="TRACE")
    p.set_defaults(handler=info_command)

    p = subparsers.add_parser(
        "ps",
        help="list the processes of a trace (PID PPID EXIT CMD, like rr ps)",
        description="List the processes recorded in a trace, with virtual pids.",
    )
    p.add_argument("trace", metavar="TRACE")
    p.set_defaults(handler=ps_command)


def _syscall_namer() -> Callable[[int], str]:
    """virt.syscalls names when that module is usable, raw numbers otherwise."""
    try:
        from virt.syscalls import info

        info(0).name  # noqa: B018 - make sure it works before trusting it
    except Exception:
        return lambda nr: f"syscall_{nr}"

    def name(nr: int) -> str:
        try:
            return str(info(nr).name)
        except Exception:
            return f"syscall_{nr}"

    return name


def format_exit(status: int | None) -> str:
    """A raw wait status as rr ps shows it: the exit code, or -SIGNO if killed."""
    if status is None:
        return "none"
    try:
        return str(os.waitstatus_to_exitcode(status))
    except ValueError:
        return f"0x{status:x}"


def _cmd(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv) if argv else "?"


def ps_lines(processes: list[Any]) -> list[str]:
    """The `PID PPID EXIT CMD` table."""
    lines = ["PID\tPPID\tEXIT\tCMD"]
    for p in processes:
        ppid = str(p.ppid) if p.ppid else "--"
        lines.append(f"{p.vpid}\t{ppid}\t{format_exit(p.exit_status)}\t{_cmd(p.argv)}")
    return lines


def info_command(args: argparse.Namespace) -> int:
    """`scribe info`: print the summary of one trace."""
    from traces import TraceReader, repair

    out: list[str] = []
    if args.repair:
        with TraceReader(args.trace) as r:
            was_complete = r.complete
        if was_complete:
            out.append("repair: the trace is already complete; nothing to do")
        else:
            repair(args.trace)
            out.append("repair: footer written; the trace is complete again")
    with TraceReader(args.trace) as r:
        out.extend(info_lines(r))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def info_lines(r: Any) -> list[str]:
    """Everything `scribe info` prints, as lines."""
    import datetime

    h = r.header
    lines = [f"trace:      {r.path}"]
    lines.append(f"format:     {h.version} (recorded by scribe {h.scribe_version})")
    # processes/counts first: on an incomplete trace this decodes it and may
    # learn about more damage, which the status line should mention.
    processes = r.processes
    counts = r.syscall_counts
    if r.complete:
        lines.append("status:     complete")
    else:
        lines.append(f"status:     incomplete ({r.damage}); `scribe info --repair` writes the footer back")
    try:
        when = datetime.datetime.fromtimestamp(float(h.start_time)).isoformat(sep=" ", timespec="seconds")
    except (ValueError, OverflowError, OSError, TypeError):
        when = "?"
    lines.append(f"recorded:   {when} on {h.hostname or '?'} (Linux {h.kernel or '?'})")
    lines.append(f"cpu:        {h.cpu_model or '?'} ({len(h.cpu_flags)} flags)")
    lines.append(f"command:    {_cmd(h.argv)}")
    lines.append(f"cwd:        {h.cwd}")
    try:
        size = os.path.getsize(r.path)
    except OSError:
        size = 0
    lines.append(f"events:     {len(r)} in {r.chunk_count} chunks, {r.blob_count} blobs, {size} bytes")
    end = r.end_time_ns
    if end is not None:
        lines.append(f"duration:   {end / 1e9:.6f} s")
    lines.append(f"exit:       {format_exit(r.exit_status)}")
    lines.append("")
    lines.append(f"processes ({len(processes)}):")
    lines.extend("  " + line for line in ps_lines(processes))
    lines.append("")
    lines.append(f"syscalls ({sum(counts.values())} calls, {len(counts)} distinct):")
    name = _syscall_namer()
    for nr, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {count:>10}  {name(nr)}")
    return lines


def ps_command(args: argparse.Namespace) -> int:
    """`scribe ps`: the process table of a trace."""
    from traces import TraceReader

    with TraceReader(args.trace) as r:
        lines = ps_lines(r.processes)
        if not r.complete:
            print(f"scribe: note: {r.path} is incomplete ({r.damage})", file=sys.stderr)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

"""`scribe record [-o FILE] [--] CMD...`: run CMD in a VEE and write a trace."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("record", help="record a program's execution to a trace",
                       description="Run CMD in a virtual execution environment and record "
                                   "every nondeterministic input to a trace file.")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="trace file (default: a new file in $SCRIBE_TRACE_DIR, "
                        "else $XDG_DATA_HOME/scribe/traces, with a 'latest' link)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the trace path at the end")
    p.add_argument("--no-bind-cpu", action="store_true",
                   help="let scribe and the program run on any CPU (by default both are bound to "
                        "one, which is faster; the program still sees its own CPU mask)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="the program and its arguments")
    p.set_defaults(handler=handle, parser=p)


def handle(args: argparse.Namespace) -> int:
    from scribe import __version__
    from scribe import determinism as D
    from scribe import exitcodes
    from scribe.launch import LaunchError, command_of, finish, resolve, run_traced
    from scribe.recorder import Recorder
    from traces import TraceError, TraceWriter, threads
    from virt import timepage
    from virt.tracer import Tracer

    cmd = command_of(args)
    env = dict(os.environ)
    env.update(D.MASK_ENV)
    try:
        exe = resolve(cmd[0], env.get("PATH"))
    except LaunchError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exc.code
    if args.output:
        out: str | os.PathLike[str] = args.output
    else:
        from scribe import tracedir  # (pathlib: only where the directory is used)

        out = tracedir.new_trace_path(cmd)
    # The version is known here: the writer need not ask importlib.metadata (~15 ms).
    header = {"argv": cmd, "env": env, "cwd": os.getcwd(), "exe": exe, "scribe_version": __version__,
              "signal_marks": 1,  # a signal delivered at a syscall entry is marked (replayer)
              "time_page": timepage.VERSION}  # clock reads may be BUFFERED events
    try:
        writer = TraceWriter(out, header)
    except TraceError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exitcodes.TRACE_WRITE
    rec = Recorder(writer)
    tracer = Tracer(rec, bind_cpu=not args.no_bind_cpu)
    if tracer.binding is not None and tracer.binding.cpu is not None:
        writer.thread_cpus = set(tracer.binding.original - {tracer.binding.cpu})
        tracer.binding.helpers = threads.helper_ids  # the writer may move where a tracee computes
    tracer.on_tick = rec.tick
    tracer.tick_wanted = rec.tick_wanted
    status: int | None = None
    try:
        try:
            status = run_traced(tracer, cmd, env, path=exe, setup=D.child_setup,
                                on_started=rec.first_process)
        except LaunchError as exc:
            print(f"scribe: {exc}", file=sys.stderr)
            writer.close(None)
            return exc.code
        except TraceError as exc:
            print(f"scribe: recording stopped: {exc}", file=sys.stderr)
            try:
                writer.abandon()
            except Exception:
                pass
            return exitcodes.TRACE_WRITE
        writer.close(status)
        rec.finish()
    except TraceError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exitcodes.TRACE_WRITE
    if not args.output:
        tracedir.link_latest(out)  # type: ignore[arg-type]
    if not args.quiet:
        print(f"scribe: trace written to {out}", file=sys.stderr)
    return finish(status)

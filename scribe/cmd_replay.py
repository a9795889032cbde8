"""`scribe replay [TRACE]`: re-execute a recorded program and feed it its recorded inputs."""

from __future__ import annotations

import argparse
import signal
import sys


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("replay", help="replay a recorded execution",
                       description="Re-run the very same execution from a trace: same output, "
                                   "same virtual ids, same time and random values.")
    p.add_argument("trace", nargs="?", metavar="TRACE",
                   help="trace file (default: the latest trace in the trace directory)")
    p.add_argument("-s", "--silent", action="store_true",
                   help="do not show the program's output to stdout/stderr")
    p.add_argument("--host-binaries", action="store_true",
                   help="run this machine's executables instead of the recorded copies "
                        "(to see where a rebuilt program departs from the recording)")
    p.add_argument("--no-bind-cpu", action="store_true",
                   help="let scribe and the program run on any CPU (by default both are bound to one)")
    p.set_defaults(handler=handle)


def resolve_trace(arg: str | None) -> str:
    if arg:
        return arg
    from scribe import tracedir  # (pathlib: only where the directory is used)
    from traces import TraceError

    latest = tracedir.latest()
    if latest is None:
        raise TraceError(f"no trace given and no latest trace in {tracedir.trace_dir()}")
    return str(latest)


def handle(args: argparse.Namespace) -> int:
    from scribe import determinism as D
    from scribe import exitcodes
    from scribe.launch import LaunchError, finish, run_traced
    from scribe.replayer import Divergence, Replayer, ReplayError
    from traces import TraceReader, threads
    from virt.tracer import Tracer

    reader = TraceReader(resolve_trace(args.trace))
    rep = Replayer(reader, echo=not args.silent, host_binaries=args.host_binaries)
    tracer = Tracer(rep, bind_cpu=not args.no_bind_cpu)
    tracer.on_idle = rep.pump
    if tracer.binding is not None and tracer.binding.cpu is not None:
        spare = set(tracer.binding.original - {tracer.binding.cpu})
        tracer.binding.helpers = threads.helper_ids  # the read-ahead may move where a tracee computes
        if spare:  # the next chunk is decompressed there, beside the program (as record compresses)
            reader.read_ahead(spare)
    try:
        path, argv, env, cwd = rep.prepare_first()
        for note in rep.notes:
            print(f"scribe: {note}", file=sys.stderr)
        rep.notes.clear()
        stopped: list[int] = []

        def stop(signo: int) -> None:
            stopped.append(signo)
            tracer.kill_all()

        try:
            status = run_traced(tracer, argv, env, cwd=cwd, path=path, setup=D.child_setup,
                                on_started=rep.first_process, stop=stop)
            if stopped:
                print(f"scribe: replay stopped by {signal.Signals(stopped[0]).name}", file=sys.stderr)
                return 128 + stopped[0]
        except ReplayError as exc:
            if stopped:
                print(f"scribe: replay stopped by {signal.Signals(stopped[0]).name}", file=sys.stderr)
                return 128 + stopped[0]
            print(f"scribe: {exc}", file=sys.stderr)
            return exc.code
        except LaunchError as exc:
            print(f"scribe: {exc}", file=sys.stderr)
            return exc.code
        left = rep.remaining()
        if left:
            exc2 = Divergence(rep.consumed, 0, f"{left} more recorded events", "finish")
            print(f"scribe: {exc2}", file=sys.stderr)
            return exitcodes.DIVERGED
        recorded = rep.recorded_status()
        if not reader.complete:
            print("scribe: the trace is incomplete: replayed everything it holds", file=sys.stderr)
            return exitcodes.INCOMPLETE
        if recorded is not None and recorded != status:
            print(f"scribe: replay diverged: the program ended with status {status:#x}, "
                  f"recorded {recorded:#x}", file=sys.stderr)
            return exitcodes.DIVERGED
        return finish(status)
    finally:
        rep.cleanup()
        reader.close()

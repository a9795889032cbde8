"""`scribe run [--] CMD...`: run CMD in a virtual execution environment, no recording."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("run", help="run a program in a virtual execution environment (no recording)",
                       description="Run CMD with virtual process and IPC ids; nothing is recorded.")
    p.add_argument("--no-seccomp", action="store_true",
                   help="stop on every syscall with PTRACE_SYSCALL instead of a seccomp filter")
    p.add_argument("--no-bind-cpu", action="store_true",
                   help="let the program's processes run on every CPU: faster for a program that computes "
                        "in parallel, slower for one that makes many system calls (by default scribe and "
                        "the program share one CPU; the program still sees its own CPU mask)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="the program and its arguments")
    p.set_defaults(handler=handle, parser=p)


def handle(args: argparse.Namespace) -> int:
    from scribe.launch import LaunchError, command_of, finish, run_traced
    from virt.tracer import Tracer
    from virt.vee import Vee

    cmd = command_of(args)
    vee = Vee()
    tracer = Tracer(vee, use_seccomp=not args.no_seccomp, bind_cpu=not args.no_bind_cpu)
    try:
        status = run_traced(tracer, cmd, dict(os.environ), on_started=vee.first_process)
    except LaunchError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exc.code
    return finish(status)

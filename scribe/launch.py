"""Start a program under a tracer and finish like a shell would.

Shared by `scribe run`, `scribe record` and `scribe replay`: resolving the
command (127 / 126 like a shell), turning a refused ptrace into one clear
line, forwarding SIGINT/SIGTERM/SIGHUP/SIGQUIT that reach scribe itself to
the program's process group, giving the terminal back afterwards, and
leaving with the program's status or dying of its signal.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import sys
from typing import Callable

from scribe import exitcodes


class LaunchError(Exception):
    """scribe cannot start the program; `code` is the documented exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def command_of(args: "object") -> list[str]:
    """The CMD... of `scribe run/record [--] CMD...`; a usage error if none."""
    cmd = list(getattr(args, "cmd"))
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        getattr(args, "parser").error("a command is required")
    return cmd


def _which(cmd: str, path: str) -> str | None:
    """The first PATH entry holding `cmd` that is not a directory, as
    shutil.which(cmd, os.F_OK) finds it (shutil and the compression modules
    it imports cost every start ~2 ms); an empty entry is the working directory."""
    for d in path.split(os.pathsep):
        candidate = os.path.join(d or os.curdir, cmd)
        if os.path.exists(candidate) and not os.path.isdir(candidate):
            return candidate
    return None


def resolve(cmd: str, path_env: str | None = None) -> str:
    """Find `cmd` like execvp would, or raise LaunchError (127 / 126)."""
    if "/" in cmd:
        candidate = cmd
    else:
        found = _which(cmd, path_env if path_env is not None else os.environ.get("PATH", os.defpath))
        if found is None:
            raise LaunchError(f"{cmd}: command not found", exitcodes.NOT_FOUND)
        candidate = found
    try:
        st = os.stat(candidate)
    except FileNotFoundError:
        raise LaunchError(f"{cmd}: No such file or directory", exitcodes.NOT_FOUND) from None
    except OSError as exc:
        raise LaunchError(f"{cmd}: {exc.strerror}", exitcodes.NOT_EXECUTABLE) from None
    if stat.S_ISDIR(st.st_mode):
        raise LaunchError(f"{cmd}: Is a directory", exitcodes.NOT_EXECUTABLE)
    if not os.access(candidate, os.X_OK):
        raise LaunchError(f"{cmd}: Permission denied", exitcodes.NOT_EXECUTABLE)
    return candidate


def ptrace_refused(exc: OSError) -> LaunchError:
    hint = ""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = f.read().strip()
        if scope not in ("0", "1"):
            hint = f" (kernel.yama.ptrace_scope = {scope})"
    except OSError:
        hint = " (the container may lack CAP_SYS_PTRACE or block ptrace with seccomp)"
    return LaunchError(f"ptrace is not permitted here: {exc.strerror}{hint}", exitcodes.NO_PTRACE)


class Forwarder:
    """Relays terminating signals that reach scribe to the program.

    With `stop` set (replay), such a signal ends the replay instead: the
    recorded program only ever gets the signals its trace holds.
    """

    def __init__(self, stop: Callable[[int], None] | None = None) -> None:
        self.target_pgid = 0
        self.saved: dict[int, object] | None = None
        self.stop = stop

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

    def install(self) -> None:
        self.saved = {}
        for s in self.SIGNALS:
            self.saved[s] = signal.signal(s, self._relay)
        # A size limit must surface as EFBIG from write(), not kill scribe.
        self.saved[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        self.saved[signal.SIGPIPE] = signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def _relay(self, signo: int, _frame: object) -> None:
        if self.stop is not None:
            self.stop(signo)
            return
        if self.target_pgid > 0:
            try:
                os.killpg(self.target_pgid, signo)
            except OSError:
                pass

    def restore(self) -> None:
        for s, h in (self.saved or {}).items():
            signal.signal(s, h)  # type: ignore[arg-type]


def reclaim_terminal() -> None:
    """Make scribe's process group the terminal's foreground again."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return
    try:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(fd, os.getpgrp())
        except OSError:
            pass
        signal.signal(signal.SIGTTOU, old)
    finally:
        os.close(fd)


def finish(status: int) -> int:
    """Exit code for a wait status; for a signal death, die of the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        return 128 + sig  # not reached for fatal signals
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return exitcodes.INTERNAL


def become_subreaper() -> None:
    from virt import ptrace_api as P

    try:
        P.prctl(P.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


def run_traced(tracer: "object", argv: list[str], env: dict[str, str], *, cwd: str | None = None,
               path: str | None = None, setup: Callable[[], None] | None = None,
               on_started: Callable[[object], None] | None = None,
               stop: Callable[[int], None] | None = None) -> int:
    """Start argv under `tracer` (a virt.tracer.Tracer) and trace to the end.

    Returns the first process's raw wait status. Raises LaunchError.
    """
    from virt.tracer import Tracer

    assert isinstance(tracer, Tracer)
    exe = path if path is not None else resolve(argv[0], env.get("PATH"))
    become_subreaper()
    fwd = Forwarder(stop=stop)
    fwd.install()
    try:
        try:
            first = tracer.start(exe, argv, env, cwd=cwd, setup=setup)
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise ptrace_refused(exc) from None
            raise
        fwd.target_pgid = first.tid
        if on_started is not None:
            on_started(first)
        status = tracer.run()
        err = tracer.exec_error()
        if err is not None:
            code, text = err
            if code in (errno.ENOENT,):
                raise LaunchError(f"{argv[0]}: {os.strerror(code)}", exitcodes.NOT_FOUND)
            if code in (errno.EACCES, errno.ENOEXEC, errno.EISDIR, errno.EPERM):
                raise LaunchError(f"{argv[0]}: {os.strerror(code)}", exitcodes.NOT_EXECUTABLE)
            raise LaunchError(f"{argv[0]}: cannot start: {text}", exitcodes.NOT_EXECUTABLE)
        return status
    finally:
        tracer.kill_all()
        tracer.unbind_cpu()
        fwd.restore()
        reclaim_terminal()

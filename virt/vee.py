"""The VEE policy: translate every id that crosses the program/kernel boundary.

`Vee` is the interceptor of `scribe run` and the base of the recorder and
replayer. Each translated syscall has an entry handler (wrapper preamble:
virtual -> real) that may ask for an exit stop (epilogue: real -> virtual);
calls whose answer the VEE knows (getpid, gettid, getppid) are emulated at
the seccomp stop and cost exactly one tracer stop.

See ../shared/VIRT.md for the checklist this follows; the module docstring
of each handler group says what is and is not translated.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import signal
import struct
import sys
from typing import Callable

from virt import syscalls as S
from virt.cpus import StatusPieces, mask_bytes
from virt.ipcns import MSG, SEM, SHM, IpcNamespace
from virt.memory import MemoryReadError
from virt.pidns import PidNamespace
from virt.tracer import HOLD, RUN, RUN_EXIT, SKIP, Interceptor, Tracee

Handler = Callable[[Tracee], int]

CLONE_VM = 0x00000100
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_SETTID = 0x01000000

SI_USER = 0
SI_QUEUE = -1
SI_TKILL = -6
SIGCHLD = int(signal.SIGCHLD)

AF_NETLINK = 16
IPC_CREAT = 0o1000
IPC_PRIVATE = 0
IPC_RMID = 0
IPC_STAT = 2

_PROC_RE = re.compile(rb"^/proc/(\d+)(/task/(\d+))?(?=/|$)")
_ID_FILES = (b"/cgroup.procs", b"/cgroup.threads", b"/proc/sys/kernel/ns_last_pid")
_PROC_FILE_RE = re.compile(rb"^/proc/(\d+|self|thread-self)(/task/\d+)?/(stat|status)$")
_STATUS_KEYS = (b"Pid:", b"PPid:", b"Tgid:", b"TracerPid:", b"NSpid:", b"NStgid:", b"NSpgid:", b"NSsid:")
_PID_LINE_RE = re.compile(rb"\nPid:\t(\d+)\n")


def translate_proc_text(raw: bytes, to_virtual: Callable[[int], int]) -> bytes:
    """Pids in the text of /proc/<pid>/stat or status, real -> virtual.

    stat: fields 1 (pid), 4 (ppid), 5 (pgrp), 6 (session) and 8 (tpgid);
    status: Pid, PPid, Tgid, TracerPid (the tracer is outside: 0) and the
    NS* lines (the namespace view is ours: one level).
    """
    if raw.startswith(b"Name:"):
        out = []
        for line in raw.split(b"\n"):
            key = line.split(b"\t", 1)[0]
            if key in _STATUS_KEYS:
                vals = line.split(b"\t", 1)[1].split() if b"\t" in line else []
                v = to_virtual(int(vals[0])) if vals and vals[0].isdigit() else 0
                if key == b"TracerPid:":
                    v = 0
                line = key + b"\t" + str(v).encode()
            out.append(line)
        return b"\n".join(out)
    close = raw.rfind(b")")
    if close < 0 or not raw[:1].isdigit():
        return raw
    head, rest = raw[:close + 1], raw[close + 1:]
    pid_s, comm = head.split(b" ", 1)
    fields = rest.split(b" ")
    # rest starts with " state ppid pgrp session tty tpgid ...": index 0 is ''.
    for i in (2, 3, 4, 6):
        if i < len(fields) and fields[i].lstrip(b"-").isdigit():
            val = int(fields[i])
            fields[i] = str(to_virtual(val) if val > 0 else val).encode()
    return str(to_virtual(int(pid_s))).encode() + b" " + comm + b" ".join(fields)

# Syscalls that bypass interposition or make replay nondeterministic: ENOSYS.
REFUSED = ("rseq", "io_uring_setup", "io_uring_enter", "io_uring_register")

PI_FUTEX_OPS = frozenset({6, 7, 8, 11, 12, 13})  # LOCK_PI UNLOCK_PI TRYLOCK_PI WAIT_REQUEUE_PI CMP_REQUEUE_PI LOCK_PI2


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def nr(name: str) -> int:
    return S.BY_NAME[name].nr


def _i32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def path_args(nr_: int) -> tuple[int, ...]:
    info = S.info(nr_)
    return tuple(i for i, a in enumerate(info.args) if a.kind == "path")


class Vee(Interceptor):
    """Plain virtual execution environment: translation, no recording."""

    def __init__(self) -> None:
        self.pids = PidNamespace()
        self.ipc = IpcNamespace()
        self.held_exits: list[Tracee] = []
        self.held_creators: list[Tracee] = []
        self.vppid: dict[int, int] = {}          # vpid -> virtual parent pid
        self.signalfds: set[tuple[int, int]] = set()  # (real tgid, fd)
        self.procfds: set[tuple[int, int]] = set()    # open /proc/<pid>/stat|status
        self.procstatus: dict[tuple[int, int], StatusPieces] = {}  # their Cpus lines, while bound
        self.procdirs: set[tuple[int, int]] = set()   # open /proc directories
        self.netlinkfds: set[tuple[int, int]] = set()  # AF_NETLINK sockets
        self.idfiles: dict[tuple[int, int], str] = {}  # cgroup.procs/threads fds
        self.nslp_files: dict[str, int] = {}  # private ns_last_pid files -> mtime seen
        self.robust_heads: dict[int, int] = {}  # real tid -> its robust_list_head
        # While the tracer binds the VEE to one CPU: the CPU masks the program
        # chose (virtual tid -> CPUs); a thread without one sees the mask
        # scribe was started with.
        self.affinity: dict[int, frozenset[int]] = {}
        # Whether the policy stops on every write (record, replay): then
        # writes of pids into files can be translated.
        self.traps_writes = False
        self._open_nrs = {nr(n) for n in ("open", "openat", "openat2") if n in S.BY_NAME}
        # Dead processes not yet reaped by their parent: real pid -> parent vpid.
        # Their ids stay bound (the kernel keeps a zombie's pid) so that
        # wait4 and SIGCHLD still name them.
        self.zombies: dict[int, int] = {}
        self.warned: set[str] = set()
        self.handlers: dict[int, Handler] = {}
        self._install_handlers()
        self.path_table: dict[int, tuple[int, ...]] = {}
        for info in S.SYSCALLS.values():
            pa = tuple(i for i, a in enumerate(info.args) if a.kind == "path")
            if pa:
                self.path_table[info.nr] = pa

    # -- filter ------------------------------------------------------------
    def trace_set(self) -> set[int]:
        return set(self.handlers) | set(self.path_table)

    def errno_set(self) -> set[int]:
        return {nr(n) for n in REFUSED if n in S.BY_NAME}

    # -- lifecycle ---------------------------------------------------------
    def first_process(self, t: Tracee) -> None:
        t.vtid = t.vpid = self.pids.allocate(t.tid)
        self.vppid[t.vpid] = 0

    def _check_ns_last_pid(self) -> None:
        """A write to the VEE's ns_last_pid (our private file) sets the next vpid."""
        for tmp, seen in list(self.nslp_files.items()):
            try:
                st = os.stat(tmp)
                if st.st_mtime_ns == seen:
                    continue
                self.nslp_files[tmp] = st.st_mtime_ns
                with open(tmp, "rb") as f:
                    text = f.read(64).strip()
            except OSError:
                continue
            if text.isdigit():
                self.pids.next_vpid = int(text) + 1

    def spawned(self, parent: Tracee, child: Tracee, kind: int, flags: int) -> None:
        if self.nslp_files:
            self._check_ns_last_pid()
        want = parent.policy.get("want_vpid")
        if isinstance(want, int):
            vtid = self.pids.allocate(child.tid, want, bump=False)
        else:
            vtid = self.pids.allocate(child.tid)
        child.vtid = vtid
        if kind == 2:  # thread
            child.vpid = parent.vpid
        else:
            child.vpid = vtid
            self.vppid[vtid] = self.vppid.get(parent.vpid, 0) if flags & CLONE_PARENT else parent.vpid
        mask = self.affinity.get(parent.vtid)
        if mask is not None:
            self.affinity[vtid] = mask  # a new task has its creator's mask
        self._settid(parent, child, flags, parent_side=True)

    def _clone_tid_ptrs(self, parent: Tracee, flags: int) -> tuple[int, int]:
        """(parent_tid, child_tid) addresses of the clone call in progress."""
        if parent.nr == nr("clone3") and parent.args:
            try:
                raw = parent.read(parent.args[0], 32)
            except MemoryReadError:
                return 0, 0
            _flags, _pidfd, child_tid, parent_tid = struct.unpack("<4Q", raw)
            return parent_tid, child_tid
        if parent.nr == nr("clone") and parent.args:
            return parent.args[2], parent.args[3]
        return 0, 0

    def _settid(self, parent: Tracee, child: Tracee, flags: int, parent_side: bool) -> None:
        ptid, ctid = self._clone_tid_ptrs(parent, flags)
        if parent_side:
            if flags & CLONE_PARENT_SETTID and ptid:
                try:
                    parent.write_i32(ptid, child.vtid)
                except OSError:
                    pass
            child.policy["ctid"] = ctid if flags & CLONE_CHILD_SETTID else 0

    def child_started(self, child: Tracee) -> None:
        # CLONE_CHILD_SETTID is written by the child itself in the kernel
        # before its first stop: overwrite it with the virtual tid now.
        ctid = child.policy.pop("ctid", 0)
        if ctid:
            try:
                child.write_i32(int(ctid), child.vtid)  # type: ignore[arg-type]
            except OSError:
                pass

    def execed(self, t: Tracee, former_tid: int) -> None:
        if former_tid != t.tid:
            # exec from a non-leader thread: that thread now carries the
            # process's id; its own virtual tid retires.
            self.pids.retire(former_tid)
            mask = self.affinity.pop(t.vtid, None)
            if mask is not None:
                self.affinity[t.vpid] = mask
            else:
                self.affinity.pop(t.vpid, None)
            t.vtid = t.vpid

    def exiting(self, t: Tracee, status: int) -> bool:
        # A call the tracee was inside (killed in it, or kill(self, SIGKILL))
        # never reaches its exit stop: drop what it held, or its own pin
        # would hold it here forever and its IPC id would drain forever.
        self.died_in_call(t)
        self._robust_owner_real(t)
        if self.pids.pinned(t.tid):
            self.held_exits.append(t)
            return True
        return False

    def exited(self, t: Tracee, status: int) -> None:
        self.died_in_call(t)
        if t in self.held_creators:
            self.held_creators.remove(t)
        if t in self.held_exits:
            self.held_exits.remove(t)
        live = self.tracer.tracees
        if t.tid == t.tgid:
            # Zombies whose parent is gone are reaped by the kernel/subreaper.
            for real, parent in list(self.zombies.items()):
                if parent == t.vpid:
                    del self.zombies[real]
                    self._bury(real)
            parent_v = self.vppid.get(t.vpid, 0)
            if parent_v and self.pids.to_real(parent_v) in live:
                self.zombies[t.tid] = parent_v
                self._reparent_children(t)
                return
        self._retire(t)
        if t.tid == t.tgid:
            self._reparent_children(t)
            self.vppid.pop(t.vpid, None)

    def moved(self, moved: dict[int, int], groups: set[int]) -> None:
        """Live replay restored a checkpoint: every task (single-threaded
        processes) runs under a new real id (old -> new); `groups` are the
        real group and session ids they belonged to, which stay.  Everything
        keyed by a real id follows."""
        tr = self.tracer
        for t in tr.tracees.values():
            t.tid = t.tgid = moved.get(t.tid, t.tid)
            t.memfd = -1
        tr.tracees = {t.tid: t for t in tr.tracees.values()}
        self.pids.moved(moved, groups)

        def fd_keys(keys: set[tuple[int, int]]) -> set[tuple[int, int]]:
            return {(moved.get(k, k), fd) for k, fd in keys}
        self.signalfds = fd_keys(self.signalfds)
        self.procfds = fd_keys(self.procfds)
        self.procstatus = {(moved.get(k, k), fd): v for (k, fd), v in self.procstatus.items()}
        self.procdirs = fd_keys(self.procdirs)
        self.netlinkfds = fd_keys(self.netlinkfds)
        self.idfiles = {(moved.get(k, k), fd): v for (k, fd), v in self.idfiles.items()}
        self.robust_heads = {moved.get(k, k): v for k, v in self.robust_heads.items()}

    def reaped(self, real: int) -> None:
        """A wait call returned `real`: its zombie is gone, so is its id."""
        if self.zombies.pop(real, None) is not None:
            # A reaped group or session leader still names its group.
            self._bury(real)

    def _bury(self, real: int) -> None:
        """A zombie is gone: its id retires, and its parent link with it (vppid
        holds live processes and zombies only, so an exit costs O(live), not
        O(every process the VEE ever had))."""
        v = self.pids.r2v.get(real)
        self._retire_id(real)
        if v is not None:
            self.vppid.pop(v, None)

    def _reparent_children(self, t: Tracee) -> None:
        for vp, parent in list(self.vppid.items()):
            if parent == t.vpid:
                self.vppid[vp] = 0

    def _retire(self, t: Tracee) -> None:
        self._retire_id(t.tid)

    def _retire_id(self, tid: int) -> None:
        v = self.pids.r2v.get(tid)
        if v is not None:
            self.affinity.pop(v, None)
        live = self.tracer.tracees
        in_use = False
        for other in live.values():
            try:
                if os.getpgid(other.tid) == tid or os.getsid(other.tid) == tid:
                    in_use = True
                    break
            except OSError:
                continue
        self.pids.retire(tid, still_group=in_use)
        for real in list(self.pids.groups_r2v):
            if real == tid:
                continue
            used = False
            for other in live.values():
                try:
                    if os.getpgid(other.tid) == real or os.getsid(other.tid) == real:
                        used = True
                        break
                except OSError:
                    continue
            if not used:
                self.pids.release_group(real)

    def _unpin(self, real: int) -> None:
        self.pids.unpin(real)
        if not self.pids.pinned(real):
            for t in [h for h in self.held_exits if h.tid == real]:
                self.held_exits.remove(t)
                self.tracer.release(t)

    # -- signals -----------------------------------------------------------
    def signal(self, t: Tracee, signo: int, siginfo: bytes) -> int:
        new = self.translate_siginfo(siginfo)
        if new != siginfo:
            from virt import ptrace_api as P

            P.setsiginfo(t.tid, new)
        return signo

    def translate_siginfo(self, info: bytes) -> bytes:
        """siginfo_t with si_pid real -> virtual where the kernel put a sender."""
        if len(info) < 24:
            return info
        signo, _err, code = struct.unpack_from("<iii", info, 0)
        if code in (SI_USER, SI_QUEUE, SI_TKILL) or (signo == SIGCHLD and code > 0):
            real = struct.unpack_from("<i", info, 16)[0]
            v = self.pids.to_virtual_sender(real) if real > 0 else real
            if v != real:
                b = bytearray(info)
                struct.pack_into("<i", b, 16, v)
                return bytes(b)
        return info

    # -- dispatch ------------------------------------------------------------
    def syscall_entry(self, t: Tracee) -> int:
        h = self.handlers.get(t.nr)
        if h is not None:
            action = h(t)
        else:
            pa = self.path_table.get(t.nr)
            action = self._paths(t, pa) if pa else RUN
        if action == SKIP:
            # Undo what the preamble did (pins, rewritten memory) at once.
            fn = t.policy.pop("exit", None)
            if fn is not None:
                fn(t)  # type: ignore[operator]
        return action

    def syscall_exit(self, t: Tracee) -> None:
        fn = t.policy.pop("exit", None)
        if fn is not None:
            fn(t)  # type: ignore[operator]

    def on_exit(self, t: Tracee, fn: Callable[[Tracee], None]) -> int:
        """Ask for an exit stop and run fn there (chained after earlier ones)."""
        prev = t.policy.get("exit")
        if prev is None:
            t.policy["exit"] = fn
        else:
            def both(tt: Tracee, a=prev, b=fn) -> None:
                a(tt)  # type: ignore[operator]
                b(tt)
            t.policy["exit"] = both
        return RUN_EXIT

    def warn(self, key: str, msg: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            print(f"scribe: {msg}", file=sys.stderr)

    # -- helpers ---------------------------------------------------------
    def real_of(self, vpid: int) -> int | None:
        return self.pids.to_real(vpid)

    def real_group_of(self, vpgid: int) -> int | None:
        return self.pids.to_real_group(vpgid)

    def _translate_pid_arg(self, t: Tracee, i: int, *, zero_ok: bool = True, neg_group: bool = False,
                           pin: bool = True) -> int | None:
        """Translate argument i in place. Returns None when it names nothing in the VEE."""
        v = _i32(t.args[i])
        if v == 0 and zero_ok:
            return 0
        if v == -1:
            return -1
        if v < -1 and neg_group:
            r = self.real_group_of(-v)
            if r is None:
                return None
            t.set_arg(i, -r)
            return -r
        if v < 0:
            return None
        r = self.real_of(v)
        if r is None:
            return None
        t.set_arg(i, r)
        if pin:
            self.pids.pin(r)
            self._pin_until_exit(t, r)
        return r

    def _pin_until_exit(self, t: Tracee, real: int) -> None:
        self.hold_ref(t, lambda r=real: self._unpin(r))

    def hold_ref(self, t: Tracee, release: Callable[[], None]) -> int:
        """The in-flight call of t holds a reference (a pid pin, an IPC id in
        use) that `release` gives back: at its exit stop, or when the tracee
        dies inside the call, whichever comes first."""
        refs = t.policy.get("refs")
        if refs is None:
            t.policy["refs"] = refs = []
            self.on_exit(t, self._release_refs)
        refs.append(release)  # type: ignore[union-attr]
        return RUN_EXIT

    def _release_refs(self, t: Tracee) -> None:
        refs = t.policy.pop("refs", None)
        for fn in refs or ():  # type: ignore[union-attr]
            fn()

    def died_in_call(self, t: Tracee) -> None:
        """t is exiting: its call's exit stop will never come."""
        t.policy.pop("exit", None)  # memory fix-ups: nothing left to fix
        self._release_refs(t)

    def _result_to_virtual(self, t: Tracee) -> None:
        res = t.result
        if res > 0:
            t.set_result(self.pids.to_virtual(res))

    # -- handlers ----------------------------------------------------------
    def _install_handlers(self) -> None:
        h = self.handlers

        def add(name: str, fn: Handler) -> None:
            if name in S.BY_NAME:
                h[nr(name)] = fn

        add("getpid", lambda t: t.skip(t.vpid))
        add("gettid", lambda t: t.skip(t.vtid))
        add("getppid", lambda t: t.skip(self.vppid.get(t.vpid, 0)))
        add("getpgrp", lambda t: self.on_exit(t, self._result_to_virtual))
        add("setsid", lambda t: self.on_exit(t, self._result_to_virtual))
        add("set_tid_address", lambda t: self.on_exit(t, lambda tt: tt.set_result(tt.vtid)))
        for name in ("fork", "vfork", "clone", "clone3"):
            add(name, self._fork)
        add("getpgid", lambda t: self._getpgid(t, os.getpgid))
        add("getsid", lambda t: self._getpgid(t, os.getsid))
        add("setpgid", self._setpgid)
        add("kill", self._kill)
        add("tkill", self._tkill)
        add("tgkill", self._tgkill)
        add("rt_sigqueueinfo", self._sigqueueinfo)
        add("rt_tgsigqueueinfo", self._tgsigqueueinfo)
        add("pidfd_open", lambda t: self._pid_args(t, (0,), zero_ok=False))
        add("pidfd_send_signal", self._pidfd_send_signal)
        add("wait4", self._wait4)
        add("waitid", self._waitid)
        add("sched_getaffinity", self._getaffinity)
        add("sched_setaffinity", self._setaffinity)
        for name in ("sched_setscheduler",
                     "sched_getscheduler", "sched_setparam", "sched_getparam",
                     "sched_rr_get_interval", "sched_setattr", "sched_getattr",
                     "prlimit64", "get_robust_list", "process_vm_readv", "process_vm_writev",
                     "move_pages", "migrate_pages"):
            add(name, lambda t: self._pid_args(t, (0,)))
        add("kcmp", lambda t: self._pid_args(t, (0, 1)))
        add("perf_event_open", self._perf_event_open)
        add("ptrace", lambda t: self._pid_args(t, (1,)) if t.args[0] not in (0,) else RUN)
        add("getpriority", self._priority)
        add("setpriority", self._priority)
        add("ioprio_get", self._ioprio)
        add("ioprio_set", self._ioprio)
        add("capget", self._capget)
        add("capset", self._capget)
        for name in ("clock_gettime", "clock_getres", "clock_nanosleep", "clock_settime",
                     "clock_adjtime"):
            add(name, self._clockid)
        add("timer_create", self._timer_create)
        add("mq_notify", lambda t: self._sigevent(t, 1))
        add("fcntl", self._fcntl)
        add("ioctl", self._ioctl)
        add("getsockopt", self._getsockopt)
        add("prctl", self._prctl)
        add("futex", self._futex)
        add("set_robust_list", self._set_robust_list)
        add("rt_sigtimedwait", self._sigtimedwait)
        add("signalfd", self._signalfd)
        add("signalfd4", self._signalfd)
        add("read", self._read)
        add("readv", self._read)
        add("pread64", self._read)
        add("sendmsg", self._sendmsg)
        add("socket", self._socket)
        add("fanotify_init", self._fanotify_init)
        add("bind", self._nl_bind)
        add("getsockname", self._nl_getsockname)
        add("recvfrom", self._nl_recv)
        add("getdents64", self._getdents)
        add("recvmsg", self._recvmsg)
        add("close", self._close)
        add("readlink", lambda t: self._readlink(t, 0, 1, 2))
        add("readlinkat", lambda t: self._readlink(t, 1, 2, 3))
        add("msgget", lambda t: self._ipc_get(t, MSG, flag_arg=1))
        add("semget", lambda t: self._ipc_get(t, SEM, flag_arg=2))
        add("shmget", lambda t: self._ipc_get(t, SHM, flag_arg=2))
        add("msgsnd", lambda t: self._ipc_use(t, MSG))
        add("msgrcv", lambda t: self._ipc_use(t, MSG))
        add("semop", lambda t: self._ipc_use(t, SEM))
        add("semtimedop", lambda t: self._ipc_use(t, SEM))
        add("shmat", lambda t: self._ipc_use(t, SHM))
        add("msgctl", lambda t: self._ipc_ctl(t, MSG, cmd_arg=1))
        add("semctl", lambda t: self._ipc_ctl(t, SEM, cmd_arg=2))
        add("shmctl", lambda t: self._ipc_ctl(t, SHM, cmd_arg=1))

    def _fork(self, t: Tracee) -> int:
        if t.nr == nr("clone3") and t.args[0] and t.args[1] >= 80:
            a = self._clone3_set_tid(t)
            if a is not None:
                return a
        return self.on_exit(t, self._result_to_virtual)

    def _clone3_set_tid(self, t: Tracee) -> int | None:
        """clone3 set_tid[] (CRIU-style: choose the child's pid) in virtual space.

        set_tid[0] names the pid in the caller's namespace, ours: the child
        gets that virtual pid (EEXIST if taken) and the kernel any real one.
        """
        base = t.args[0]
        try:
            set_tid, size = struct.unpack("<QQ", t.read(base + 64, 16))
        except MemoryReadError:
            return None
        if not size or not set_tid:
            return None
        if size > 1:
            return t.skip(-errno.EINVAL)  # nested namespaces: the VEE has one level
        try:
            want = t.read_i32(set_tid)
        except MemoryReadError:
            return t.skip(-errno.EFAULT)
        if want <= 0:
            return t.skip(-errno.EINVAL)
        if self.pids.is_virtual_known(want):
            return t.skip(-errno.EEXIST)
        t.write(base + 64, struct.pack("<QQ", 0, 0))  # the kernel picks the real pid
        t.policy["want_vpid"] = want

        def done(tt: Tracee) -> None:
            tt.write(base + 64, struct.pack("<QQ", set_tid, size))
            tt.policy.pop("want_vpid", None)
            self._result_to_virtual(tt)
        return self.on_exit(t, done)

    def _getpgid(self, t: Tracee, ask: Callable[[int], int]) -> int:
        """getpgid/getsid answered at the seccomp stop: one stop, not two.

        The tracer asks the kernel the same question about the same task
        (`ask` is os.getpgid or os.getsid; getpgid(0) is the caller's own
        process): the answer is the kernel's, errors included, translated
        to virtual as the exit stop would. No reuse race: the task named is
        a tracee (or a zombie the tracer has not released), so its real id
        stays its own while we ask.
        """
        v = _i32(t.args[0])
        if v == 0:
            real = t.tid
        elif v < 0:
            return t.skip(-errno.ESRCH)
        else:
            r = self.real_of(v)
            if r is None:
                return t.skip(-errno.ESRCH)
            real = r
        try:
            res = ask(real)
        except OSError as exc:
            return t.skip(-(exc.errno or errno.ESRCH))
        return t.skip(self.pids.to_virtual(res) if res > 0 else res)

    def _setpgid(self, t: Tracee) -> int:
        if self._translate_pid_arg(t, 0) is None:
            return t.skip(-errno.ESRCH)
        pg = _i32(t.args[1])
        if pg > 0:
            r = self.real_group_of(pg)
            if r is None:
                return t.skip(-errno.EPERM)
            t.set_arg(1, r)
        return self._then(t)

    def _pid_args(self, t: Tracee, idx: tuple[int, ...], zero_ok: bool = True) -> int:
        for i in idx:
            if self._translate_pid_arg(t, i, zero_ok=zero_ok) is None:
                return t.skip(-errno.ESRCH)
        return self._then(t)

    def _kill(self, t: Tracee) -> int:
        pid = _i32(t.args[0])
        sig = _i32(t.args[1])
        if pid == -1:
            return t.skip(self._kill_all(t, sig))
        if self._translate_pid_arg(t, 0, neg_group=True) is None:
            return t.skip(-errno.ESRCH)
        return self._then(t)

    def _kill_all(self, caller: Tracee, sig: int) -> int:
        """kill(-1): every VEE process but the caller's and the VEE's init."""
        sent = False
        for other in list(self.tracer.tracees.values()):
            if other.tid != other.tgid or other.tgid == caller.tgid or other.vpid == 1:
                continue
            try:
                os.kill(other.tid, sig)
                sent = True
            except OSError:
                continue
        return 0 if sent else -errno.ESRCH

    def _tkill(self, t: Tracee) -> int:
        if self._translate_pid_arg(t, 0, zero_ok=False) is None:
            return t.skip(-errno.ESRCH)
        return RUN_EXIT

    def _tgkill(self, t: Tracee) -> int:
        if self._translate_pid_arg(t, 0, zero_ok=False) is None or \
                self._translate_pid_arg(t, 1, zero_ok=False) is None:
            return t.skip(-errno.ESRCH)
        return RUN_EXIT

    def _siginfo_in(self, t: Tracee, addr: int) -> None:
        """A caller-built siginfo: its si_pid (virtual) becomes real for the call."""
        if addr:
            self._mem_pid_in(t, addr + 16)

    def _sigqueueinfo(self, t: Tracee) -> int:
        if self._translate_pid_arg(t, 0, zero_ok=False) is None:
            return t.skip(-errno.ESRCH)
        self._siginfo_in(t, t.args[2])
        return RUN_EXIT

    def _tgsigqueueinfo(self, t: Tracee) -> int:
        if self._translate_pid_arg(t, 0, zero_ok=False) is None or \
                self._translate_pid_arg(t, 1, zero_ok=False) is None:
            return t.skip(-errno.ESRCH)
        self._siginfo_in(t, t.args[3])
        return RUN_EXIT

    def _pidfd_send_signal(self, t: Tracee) -> int:
        self._siginfo_in(t, t.args[2])
        return self._then(t)

    def _wait4(self, t: Tracee) -> int:
        # Blocking: never pins (a blocked wait on a pid must not hold its exit).
        if self._translate_pid_arg(t, 0, neg_group=True, pin=False) is None:
            return t.skip(-errno.ECHILD)

        def done(tt: Tracee) -> None:
            res = tt.result
            if res > 0:
                tt.set_result(self.pids.to_virtual(res))
                self.reaped(res)
        return self.on_exit(t, done)

    def _waitid(self, t: Tracee) -> int:
        idtype = t.args[0]
        if idtype in (1, 2) and _i32(t.args[1]) != 0:  # P_PID, P_PGID
            r = self.real_of(_i32(t.args[1]))
            if r is None:
                return t.skip(-errno.ECHILD)
            t.set_arg(1, r)

        def done(tt: Tracee) -> None:
            infop = tt.args[2]
            if tt.result == 0 and infop:
                try:
                    info = tt.read(infop, 128)
                except MemoryReadError:
                    return
                new = self.translate_siginfo(info)
                if new != info:
                    tt.write(infop, new[:24])
                real = struct.unpack_from("<i", info, 16)[0]
                if real > 0 and not (tt.args[3] & 0x01000000):  # not WNOWAIT
                    self.reaped(real)
        return self.on_exit(t, done)

    # -- CPU masks while bound to one CPU (virt/cpus.py) -------------------
    def _bound(self) -> bool:
        b = self.tracer.binding
        return b is not None and b.bound

    def _cpus_of(self, vtid: int) -> frozenset[int]:
        b = self.tracer.binding
        assert b is not None
        return self.affinity.get(vtid, b.original)

    def _cpus_of_real(self, real: int) -> frozenset[int] | None:
        v = self.pids.r2v.get(real)
        return self._cpus_of(v) if v is not None else None

    def _getaffinity(self, t: Tracee) -> int:
        """The kernel checks the call and writes the real (bound) mask; the
        program gets the one it would have without scribe."""
        action = self._pid_args(t, (0,))
        if action == SKIP or not self._bound():
            return action
        v = _i32(t.args[0])
        cpus = self._cpus_of(v or t.vtid)
        buf = t.args[2]

        def done(tt: Tracee) -> None:
            if tt.result > 0:
                try:
                    tt.write(buf, mask_bytes(cpus, tt.result))
                except OSError:
                    pass
        return self.on_exit(t, done)

    def _setaffinity(self, t: Tracee) -> int:
        """The kernel checks the mask (EFAULT, EINVAL, EPERM) and applies it;
        at the exit the mask it set is kept as the program's, and the task
        goes back onto the bound CPU."""
        action = self._pid_args(t, (0,))
        if action == SKIP or not self._bound():
            return action
        v = _i32(t.args[0])
        vt = v or t.vtid
        real = self.real_of(vt)
        binding = self.tracer.binding
        assert binding is not None

        def done(tt: Tracee) -> None:
            if tt.result != 0 or real is None:
                return
            try:
                self.affinity[vt] = frozenset(os.sched_getaffinity(real))
            except OSError:
                return
            binding.rebind(real)
        return self.on_exit(t, done)

    def _perf_event_open(self, t: Tracee) -> int:
        self.warn("perf", "perf_event_open: ring-buffer records carry real pids (not translated)")
        if _i32(t.args[1]) > 0 and self._translate_pid_arg(t, 1) is None:
            return t.skip(-errno.ESRCH)
        return self._then(t)

    def _who(self, t: Tracee, pid_kinds: tuple[int, ...]) -> int:
        """(which, who) calls: `who` is a pid or pgid for these `which` values."""
        if t.args[0] in pid_kinds and _i32(t.args[1]) != 0:
            if self._translate_pid_arg(t, 1) is None:
                return t.skip(-errno.ESRCH)
        return self._then(t)

    def _priority(self, t: Tracee) -> int:
        return self._who(t, (0, 1))  # PRIO_PROCESS, PRIO_PGRP (PRIO_USER is a uid)

    def _ioprio(self, t: Tracee) -> int:
        return self._who(t, (1, 2))  # IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP

    def _capget(self, t: Tracee) -> int:
        hdr = t.args[0]  # struct __user_cap_header_struct {u32 version; int pid}
        if hdr and not self._mem_pid_in(t, hdr + 4):
            return t.skip(-errno.ESRCH)
        return self._then(t)

    def _clockid(self, t: Tracee) -> int:
        cid = _i32(t.args[0])
        if cid < 0:
            pid = ~(cid >> 3)
            if pid > 0:
                r = self.real_of(pid)
                if r is None:
                    return t.skip(-errno.EINVAL)
                t.set_arg(0, ((~r) << 3) | (cid & 7))
        return RUN

    def _sigevent(self, t: Tracee, i: int) -> int:
        sev = t.args[i]
        if not sev:
            return RUN
        try:
            notify = t.read_i32(sev + 12)
            tid = t.read_i32(sev + 16)
        except MemoryReadError:
            return RUN
        if notify & 4 and tid > 0 and not self._mem_pid_in(t, sev + 16):  # SIGEV_THREAD_ID
            return t.skip(-errno.EINVAL)
        return self._then(t)

    def _timer_create(self, t: Tracee) -> int:
        a = self._clockid(t)
        if a == SKIP:
            return a
        return self._sigevent(t, 1)

    def _fcntl(self, t: Tracee) -> int:
        cmd = t.args[1]
        if cmd == 8:  # F_SETOWN: pid, or -pgid
            if _i32(t.args[2]) != 0 and self._translate_pid_arg(t, 2, neg_group=True, pin=False) is None:
                return t.skip(-errno.ESRCH)
            return RUN
        if cmd == 9:  # F_GETOWN
            def getown(tt: Tracee) -> None:
                res = tt.result
                if res > 0:
                    tt.set_result(self.pids.to_virtual(res))
                elif res < -1 and res > -4096:
                    pass  # an errno
                elif res < 0:
                    tt.set_result(-self.pids.to_virtual(-res))
            return self.on_exit(t, getown)
        if cmd in (15, 16):  # F_SETOWN_EX / F_GETOWN_EX: struct f_owner_ex {int type; pid_t pid}
            addr = t.args[2]
            if cmd == 15 and addr:
                if not self._mem_pid_in(t, addr + 4):
                    return t.skip(-errno.ESRCH)
                return self._then(t)
            return self.on_exit(t, lambda tt: self._mem_pid_out(tt, addr + 4) if tt.result == 0 else None)
        if cmd == 5:  # F_GETLK: struct flock.l_pid at 24
            addr = t.args[2]
            return self.on_exit(t, lambda tt: self._mem_pid_out(tt, addr + 24) if tt.result == 0 else None)
        return RUN

    def _mem_pid_in(self, t: Tracee, addr: int) -> bool:
        """A virtual pid the program put in memory becomes real for the call,
        and is put back at the call's exit. False: it names no process of
        the VEE (memory left as it is); unreadable or <= 0: nothing to do."""
        try:
            v = t.read_i32(addr)
        except MemoryReadError:
            return True
        if v <= 0:
            return True
        r = self.real_of(v)
        if r is None:
            return False
        if r != v:
            t.write_i32(addr, r)
            self.on_exit(t, lambda tt, a=addr, vv=v: tt.write_i32(a, vv))
        return True

    @staticmethod
    def _then(t: Tracee) -> int:
        """RUN, or RUN_EXIT when the preamble left work for the exit stop."""
        return RUN_EXIT if t.policy.get("exit") else RUN

    def _mem_pid_out(self, t: Tracee, addr: int) -> None:
        try:
            real = t.read_i32(addr)
        except MemoryReadError:
            return
        if real > 0:
            t.write_i32(addr, self.pids.to_virtual(real))

    def _ioctl(self, t: Tracee) -> int:
        req = t.args[1] & 0xFFFFFFFF
        addr = t.args[2]
        if req == 0xC0502100 and addr:  # SECCOMP_IOCTL_NOTIF_RECV: seccomp_notif.pid at 8
            return self.on_exit(t, lambda tt: self._mem_pid_out(tt, addr + 8) if tt.result == 0 else None)
        if (req & 0xFFFF) == 0xFF0B and req >> 30 == 3 and addr:  # PIDFD_GET_INFO
            def info_done(tt: Tracee) -> None:
                if tt.result == 0:
                    for off in (16, 20, 24):  # pid, tgid, ppid of struct pidfd_info
                        self._mem_pid_out(tt, addr + off)
            return self.on_exit(t, info_done)
        if req in (0x540F, 0x5429, 0x8903, 0x8904):  # TIOCGPGRP TIOCGSID FIOGETOWN SIOCGPGRP
            return self.on_exit(t, lambda tt: self._mem_pid_out(tt, addr) if tt.result == 0 else None)
        if req in (0x5410, 0x8901, 0x8902) and addr:  # TIOCSPGRP FIOSETOWN SIOCSPGRP
            try:
                v = t.read_i32(addr)
            except MemoryReadError:
                return RUN
            neg = v < 0
            find = self.real_group_of if neg or req == 0x5410 else self.real_of
            r = find(-v if neg else v) if v not in (0, -1) else v
            if r is None:
                return t.skip(-errno.ESRCH if req != 0x5410 else -errno.EPERM)
            rr = -r if neg and v not in (0, -1) else r
            if rr != v:
                t.write_i32(addr, rr)
                return self.on_exit(t, lambda tt: tt.write_i32(addr, v))
        return RUN

    def _getsockopt(self, t: Tracee) -> int:
        if t.args[1] == 1 and t.args[2] == 17:  # SOL_SOCKET, SO_PEERCRED: struct ucred {pid, uid, gid}
            addr = t.args[3]
            return self.on_exit(t, lambda tt: self._mem_pid_out(tt, addr) if tt.result == 0 else None)
        return RUN

    def _prctl(self, t: Tracee) -> int:
        if t.args[0] == 0x59616D61 and _i32(t.args[1]) > 0:  # PR_SET_PTRACER
            if self._translate_pid_arg(t, 1, pin=False) is None:
                return t.skip(-errno.EINVAL)
        return RUN

    def _set_robust_list(self, t: Tracee) -> int:
        head = t.args[0]

        def done(tt: Tracee) -> None:
            if tt.result == 0:
                self.robust_heads[tt.tid] = head
        return self.on_exit(t, done)

    def _robust_owner_real(self, t: Tracee) -> None:
        """Robust mutexes hold their owner's tid — glibc's cached, virtual one.

        The kernel walks a dying thread's robust list after the exit stop and
        marks the mutexes whose owner is that thread's *real* tid
        FUTEX_OWNER_DIED, waking a waiter. At the exit stop, the owner words
        of this thread's list get its real tid, so the kernel recognises them.
        """
        head = self.robust_heads.pop(t.tid, 0)
        if not head or not t.vtid:
            return
        try:
            first, offset, pending = struct.unpack("<QqQ", t.read(head, 24))
        except MemoryReadError:
            return
        entries = []
        node = first
        for _ in range(2048):  # the kernel's own limit (ROBUST_LIST_LIMIT)
            if node == head or not node:
                break
            entries.append(node)
            try:
                node = t.read_u64(node)
            except MemoryReadError:
                break
        if pending:
            entries.append(pending)
        for node in entries:
            word_addr = (node & ~1) + offset
            try:
                word = t.read_u32(word_addr)
            except MemoryReadError:
                continue
            if word & 0x3FFFFFFF == t.vtid:  # FUTEX_TID_MASK
                try:
                    t.write(word_addr, struct.pack("<I", (word & ~0x3FFFFFFF) | t.tid))
                except OSError:
                    continue

    def _futex(self, t: Tracee) -> int:
        op = t.args[1] & 0x7F
        if op in PI_FUTEX_OPS:
            self.warn("pi-futex", "priority-inheritance futexes are not supported in the VEE "
                                  "(their owner tids would be virtual); the call fails with ENOSYS")
            return t.skip(-errno.ENOSYS)
        return RUN

    def _sigtimedwait(self, t: Tracee) -> int:
        info = t.args[1]
        if not info:
            return RUN

        def done(tt: Tracee) -> None:
            if tt.result > 0:
                try:
                    raw = tt.read(info, 128)
                except MemoryReadError:
                    return
                new = self.translate_siginfo(raw)
                if new != raw:
                    tt.write(info, new[:24])
        return self.on_exit(t, done)

    def _signalfd(self, t: Tracee) -> int:
        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                self.signalfds.add((tt.tgid, tt.result))
        return self.on_exit(t, done)

    def _close(self, t: Tracee) -> int:
        self.signalfds.discard((t.tgid, _i32(t.args[0])))
        self.procfds.discard((t.tgid, _i32(t.args[0])))
        self.procstatus.pop((t.tgid, _i32(t.args[0])), None)
        self.procdirs.discard((t.tgid, _i32(t.args[0])))
        self.netlinkfds.discard((t.tgid, _i32(t.args[0])))
        self.idfiles.pop((t.tgid, _i32(t.args[0])), None)
        return RUN

    def _cmsg_creds(self, t: Tracee, msg: int) -> list[int]:
        """Addresses of ucred.pid in the SCM_CREDENTIALS messages of a msghdr."""
        out: list[int] = []
        try:
            control, controllen = struct.unpack("<QQ", t.read(msg + 32, 16))
            if not control or controllen > 65536:
                return out
            raw = t.read(control, controllen)
        except MemoryReadError:
            return out
        off = 0
        while off + 16 <= len(raw):
            clen, level, ctype = struct.unpack_from("<Qii", raw, off)
            if clen < 16:
                break
            if level == 1 and ctype == 2 and clen >= 28:  # SOL_SOCKET, SCM_CREDENTIALS
                out.append(control + off + 16)
            off += (clen + 7) & ~7
        return out

    def _sendmsg(self, t: Tracee) -> int:
        """SCM_CREDENTIALS carries the sender's pid: virtual in, real for the kernel."""
        if not t.args[1]:
            return RUN
        for addr in self._cmsg_creds(t, t.args[1]):
            self._mem_pid_in(t, addr)
        return self._then(t)

    # -- netlink: a socket's default port id is its process's real pid ---------
    def _socket(self, t: Tracee) -> int:
        if t.args[0] != AF_NETLINK:
            return RUN

        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                self.netlinkfds.add((tt.tgid, tt.result))
        return self.on_exit(t, done)

    def _is_netlink(self, t: Tracee) -> bool:
        return (t.tgid, _i32(t.args[0])) in self.netlinkfds

    def _nl_bind(self, t: Tracee) -> int:
        """bind(sockaddr_nl{nl_pid = getpid()}): the port id the kernel checks is real."""
        addr = t.args[1]
        if not self._is_netlink(t) or not addr:
            return RUN
        self._mem_pid_in(t, addr + 4)
        return self._then(t)

    def _nl_getsockname(self, t: Tracee) -> int:
        if not self._is_netlink(t) or not t.args[1]:
            return RUN
        addr = t.args[1]
        return self.on_exit(t, lambda tt: self._nl_pid_out(tt, addr + 4) if tt.result == 0 else None)

    def _nl_pid_out(self, t: Tracee, addr: int) -> None:
        """A port id that is a VEE process's real pid becomes its virtual pid."""
        try:
            real = t.read_i32(addr)
        except MemoryReadError:
            return
        v = self.pids.r2v.get(real) if real > 0 else None
        if v is not None:
            t.write_i32(addr, v)

    def _nl_messages_out(self, t: Tracee, buf: int, n: int) -> None:
        """nlmsg_pid of every message received: the port it was sent to."""
        off = 0
        while off + 16 <= n:
            try:
                length = t.read_u32(buf + off)
            except MemoryReadError:
                return
            if length < 16:
                return
            self._nl_pid_out(t, buf + off + 12)
            off += (length + 3) & ~3

    def _nl_recv(self, t: Tracee) -> int:
        if not self._is_netlink(t):
            return RUN
        buf, src = t.args[1], t.args[4]

        def done(tt: Tracee) -> None:
            if tt.result > 0:
                self._nl_messages_out(tt, buf, min(tt.result, tt.args[2]))
                if src:
                    self._nl_pid_out(tt, src + 4)
        return self.on_exit(t, done)

    def _recvmsg(self, t: Tracee) -> int:
        msg = t.args[1]
        if not msg:
            return RUN
        if self._is_netlink(t):
            def nl_done(tt: Tracee) -> None:
                if tt.result <= 0:
                    return
                try:
                    name, _nl, iov, iovlen = struct.unpack("<QIxxxxQQ", tt.read(msg, 32))
                    if iovlen:
                        base, ln = struct.unpack("<QQ", tt.read(iov, 16))
                        self._nl_messages_out(tt, base, min(ln, tt.result))
                except MemoryReadError:
                    return
                if name:
                    self._nl_pid_out(tt, name + 4)
            return self.on_exit(t, nl_done)

        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                for addr in self._cmsg_creds(tt, msg):
                    self._mem_pid_out(tt, addr)
        return self.on_exit(t, done)

    # -- files whose content is pids: cgroup.procs/threads, ns_last_pid --------
    def _open_id_file(self, t: Tracee, path: bytes) -> int | None:
        flags = t.args[2] if t.nr == nr("openat") else t.args[1]
        if t.nr == nr("openat2"):
            try:
                flags = t.read_u64(t.args[2])
            except MemoryReadError:
                flags = 0
        writing = (flags & 3) != 0
        if path.endswith(b"ns_last_pid"):
            # The VEE's own counter: a program choosing its next pid (CRIU
            # style) does it in virtual space and the host's is left alone.
            # It opens a private file holding the virtual value instead.
            import tempfile

            fd, tmp = tempfile.mkstemp(prefix="scribe-ns_last_pid-")
            os.write(fd, b"%d\n" % (self.pids.next_vpid - 1))
            os.close(fd)
            os.chmod(tmp, 0o666)
            arg = 0 if t.nr == nr("open") else 1
            t.set_arg(arg, t.scratch(tmp.encode() + b"\0"))

            self.nslp_files[tmp] = os.stat(tmp).st_mtime_ns
            atexit.register(_unlink_quietly, tmp)
            return self.on_exit(t, lambda tt: None)
        if writing and not self.traps_writes:
            self.warn("id-file-write", f"writing pids to {path.decode(errors='replace')} needs every "
                                       "write interposed; refused under `scribe run` (EACCES)")
            return t.skip(-errno.EACCES)

        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                self.idfiles[(tt.tgid, tt.result)] = "cgroup"
        return self.on_exit(t, done)

    def _fanotify_init(self, t: Tracee) -> int:
        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                self.idfiles[(tt.tgid, tt.result)] = "fanotify"
        return self.on_exit(t, done)

    def _fanotify_read(self, t: Tracee) -> int:
        """fanotify_event_metadata.pid (at 20) names the process that caused each event."""
        buf = t.args[1]

        def done(tt: Tracee) -> None:
            off, n = 0, tt.result
            while off + 24 <= n:
                try:
                    length = tt.read_u32(buf + off)
                except MemoryReadError:
                    return
                if length < 24:
                    return
                try:  # the process may be gone (reaped) since: it is still named
                    real = tt.read_i32(buf + off + 20)
                    if real > 0:
                        tt.write_i32(buf + off + 20, self.pids.to_virtual_sender(real))
                except OSError:
                    return
                off += length
        return self.on_exit(t, done)

    def _id_file_read(self, t: Tracee, kind: str) -> int:
        buf = t.args[1]
        if kind != "cgroup":
            return RUN  # our private ns_last_pid file: a plain read

        def done(tt: Tracee) -> None:
            n = tt.result
            if n <= 0:
                return
            try:
                raw = tt.read(buf, n)
            except MemoryReadError:
                return
            lines = [self.pids.r2v.get(int(x)) for x in raw.split() if x.isdigit()]
            new = b"".join(b"%d\n" % v for v in lines if v is not None)
            tt.write(buf, new)
            tt.set_result(len(new))
        return self.on_exit(t, done)

    def _id_file_write(self, t: Tracee, kind: str) -> int:
        buf, count = t.args[1], t.args[2]
        try:
            raw = t.read(buf, min(count, 64))
        except MemoryReadError:
            return RUN
        text = raw.strip()
        if not text.isdigit():
            return t.skip(-errno.EINVAL)
        v = int(text)
        r = self.real_of(v) if v > 0 else 0
        if r is None:
            return t.skip(-errno.ESRCH)
        new = b"%d\n" % r
        t.set_arg(1, t.scratch(new))
        t.set_arg(2, len(new))
        return self.on_exit(t, lambda tt: tt.set_result(count) if tt.result >= 0 else None)

    def _write(self, t: Tracee) -> int:
        kind = self.idfiles.get((t.tgid, _i32(t.args[0])))
        if kind != "cgroup":
            return RUN
        return self._id_file_write(t, kind)

    def _note_proc_dir(self, t: Tracee) -> None:
        if t.result >= 0:
            self.procdirs.add((t.tgid, t.result))

    def _getdents(self, t: Tracee) -> int:
        """Listing /proc: the VEE's processes under their virtual pids, no others."""
        if (t.tgid, _i32(t.args[0])) not in self.procdirs:
            return RUN
        buf = t.args[1]

        def done(tt: Tracee) -> None:
            n = tt.result
            if n <= 0:
                return
            try:
                raw = tt.read(buf, n)
            except MemoryReadError:
                return
            out = bytearray()
            off = 0
            while off + 19 <= n:
                ino, doff, reclen, dtype = struct.unpack_from("<QqHB", raw, off)
                if reclen < 20 or off + reclen > n:
                    break
                name = raw[off + 19:off + reclen].split(b"\0", 1)[0]
                off += reclen
                if name.isdigit():
                    v = self.pids.r2v.get(int(name))
                    if v is None:
                        continue  # a process outside the VEE
                    name = str(v).encode()
                rec = struct.pack("<QqHB", ino, doff, 0, dtype) + name + b"\0"
                rec += b"\0" * (-len(rec) % 8)
                out += rec[:16] + struct.pack("<H", len(rec)) + rec[18:]
            if not out:
                # Everything in this batch was foreign: 0 would mean "end of
                # directory", so let the program ask again.
                tt.set_result(tt.nr)
                tt.regs.orig_rax = tt.nr
                tt.regs.rip -= 2
                tt.regs_dirty = True
                return
            tt.write(buf, bytes(out))
            tt.set_result(len(out))
        return self.on_exit(t, done)

    def _note_proc_fd(self, t: Tracee) -> None:
        if t.result >= 0:
            self.procfds.add((t.tgid, t.result))

    def _proc_content(self, t: Tracee) -> int:
        """read() of /proc/<pid>/stat or status: the pids in it become virtual.

        Done for one read of the whole file (what ps, top and libraries do);
        the text may get shorter, and the result says so.
        """
        key = (t.tgid, _i32(t.args[0]))
        buf, size = t.args[1], t.args[2]
        bound = self._bound()
        sequential = t.nr == nr("read")  # pread64 says where: no piece follows another

        def done(tt: Tracee) -> None:
            n = tt.result
            pieces = self.procstatus.get(key) if bound and sequential else None
            if n < 0 or (n == 0 and (pieces is None or not pieces.waiting)):
                return
            try:
                raw = tt.read(buf, n)
            except MemoryReadError:
                return
            new = translate_proc_text(raw, self.pids.to_virtual)
            if bound:
                # The Cpus_allowed lines show the CPUs the task would have:
                # the first piece says whose status it is, later reads go on.
                m = _PID_LINE_RE.search(raw) if raw.startswith(b"Name:") else None
                cpus = self._cpus_of_real(int(m.group(1))) if m else None
                if cpus is not None:
                    pieces = StatusPieces(cpus)
                    if sequential:
                        self.procstatus[key] = pieces
                if pieces is not None:
                    shown = pieces.feed(new, size)
                    if sequential or not pieces.waiting:
                        new = shown
            new = new[:size]
            if new != raw:
                tt.write(buf, new)
                tt.set_result(len(new))
        return self.on_exit(t, done)

    def _read(self, t: Tracee) -> int:
        key = (t.tgid, _i32(t.args[0]))
        kind = self.idfiles.get(key)
        if kind == "fanotify" and t.nr == nr("read"):
            return self._fanotify_read(t)
        if kind is not None and t.nr == nr("read"):
            return self._id_file_read(t, kind)
        if key in self.procfds and t.nr in (nr("read"), nr("pread64")):
            return self._proc_content(t)
        if key not in self.signalfds or t.nr != nr("read"):
            return RUN
        buf = t.args[1]

        def done(tt: Tracee) -> None:
            n = tt.result
            for off in range(0, max(n, 0) - 127, 128):  # struct signalfd_siginfo: ssi_pid at 12
                self._mem_pid_out(tt, buf + off + 12)
        return self.on_exit(t, done)

    def _readlink(self, t: Tracee, path_i: int, buf_i: int, size_i: int) -> int:
        a = self._paths(t, (path_i,))
        if a == SKIP:
            return a
        try:
            path = t.read_cstring(t.args[path_i], 64)
        except MemoryReadError:
            return a
        if path not in (b"/proc/self", b"/proc/thread-self"):
            return a
        buf, size = t.args[buf_i], t.args[size_i]
        try:
            before = t.read(buf, min(size, 64))
        except MemoryReadError:
            before = b""

        def done(tt: Tracee) -> None:
            n = tt.result
            if n <= 0:
                return
            # The whole answer from the virtual ids: the kernel's may be cut
            # short by a small buffer ("184" of 18409).
            whole = f"{tt.vpid}" if path == b"/proc/self" else f"{tt.vpid}/task/{tt.vtid}"
            new = whole.encode()[:size]
            # Bytes past the shorter answer are what the buffer held before.
            tt.write(buf, new + before[len(new):n])
            tt.set_result(len(new))
        return self.on_exit(t, done)

    # -- /proc/<vpid> paths ------------------------------------------------
    def _paths(self, t: Tracee, idx: tuple[int, ...]) -> int:
        for i in idx:
            addr = t.args[i]
            if not addr:
                continue
            try:
                head = t.read_cstring(addr, 4096)
            except MemoryReadError:
                continue
            if t.nr in self._open_nrs and head.endswith(_ID_FILES):
                action = self._open_id_file(t, head)
                if action is not None:
                    return action
                continue
            if not head.startswith(b"/proc/") and head != b"/proc":
                continue
            if t.nr in self._open_nrs:
                if _PROC_FILE_RE.match(head):
                    self.on_exit(t, self._note_proc_fd)
                elif head.rstrip(b"/") == b"/proc":
                    self.on_exit(t, self._note_proc_dir)
            m = _PROC_RE.match(head)
            if m is None:
                continue
            r = self.real_of(int(m.group(1)))
            if r is None:
                return t.skip(-errno.ENOENT)
            new = b"/proc/%d" % r
            if m.group(3) is not None:
                rt = self.real_of(int(m.group(3)))
                if rt is None:
                    return t.skip(-errno.ENOENT)
                new += b"/task/%d" % rt
            new += head[m.end():] + b"\0"
            t.set_arg(i, t.scratch(new))
        return self._then(t)

    # -- SysV IPC --------------------------------------------------------
    def _ipc_get(self, t: Tracee, kind: str, flag_arg: int) -> int:
        space = self.ipc[kind]
        key = _i32(t.args[0])
        flags = t.args[flag_arg]
        if (key == IPC_PRIVATE or flags & IPC_CREAT) and space.busy:
            # IPC reuse race: no new object while a removed id still drains.
            self.held_creators.append(t)
            return HOLD

        def done(tt: Tracee) -> None:
            if tt.result >= 0:
                tt.set_result(space.bind(tt.result))
        return self.on_exit(t, done)

    def _ipc_use(self, t: Tracee, kind: str) -> int:
        space = self.ipc[kind]
        real = space.to_real(_i32(t.args[0]))
        if real is None:
            return t.skip(-errno.EINVAL)
        t.set_arg(0, real)
        space.enter(real)
        return self.hold_ref(t, lambda: self._ipc_leave(kind, real))

    def _ipc_leave(self, kind: str, real: int) -> None:
        space = self.ipc[kind]
        space.leave(real)
        if not space.busy and self.held_creators:
            waiting, self.held_creators = self.held_creators, []
            for c in waiting:
                action = self.syscall_entry(c)
                if action == HOLD:
                    continue
                self.tracer.finish_entry(c, action)

    def _ipc_ctl(self, t: Tracee, kind: str, cmd_arg: int) -> int:
        space = self.ipc[kind]
        cmd = t.args[cmd_arg] & 0xFF  # strip IPC_64
        stat_cmds = {MSG: (11, 13), SEM: (18, 20), SHM: (13, 15)}[kind]
        info_cmds = {MSG: (3, 12), SEM: (3, 19), SHM: (3, 14)}[kind]
        if cmd in stat_cmds:
            # The argument is a kernel index; the result is a real id: show
            # only the VEE's objects.
            def stat_done(tt: Tracee) -> None:
                res = tt.result
                if res >= 0:
                    v = space.to_virtual(res)
                    tt.set_result(v if v is not None else -errno.EINVAL)
                    if v is not None:
                        self._ipc_stat_pids(tt, kind)
            return self.on_exit(t, stat_done)
        if cmd in info_cmds:
            return RUN
        real = space.to_real(_i32(t.args[0]))
        if real is None:
            return t.skip(-errno.EINVAL)
        t.set_arg(0, real)
        space.enter(real)

        def done(tt: Tracee) -> None:
            res = tt.result
            if cmd == IPC_RMID and res == 0:
                space.removed(real)
            elif cmd == IPC_STAT and res == 0:
                self._ipc_stat_pids(tt, kind)
            elif kind == SEM and cmd == 11 and res > 0:  # GETPID
                tt.set_result(self.pids.to_virtual(res))
        self.on_exit(t, done)  # runs before the reference is given back
        return self.hold_ref(t, lambda: self._ipc_leave(kind, real))

    def _ipc_stat_pids(self, t: Tracee, kind: str) -> None:
        buf = t.args[2] if kind == MSG or kind == SHM else 0
        if not buf:
            return
        offs = {MSG: (96, 100), SHM: (80, 84)}.get(kind, ())
        for off in offs:
            self._mem_pid_out(t, buf + off)

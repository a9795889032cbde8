"""The raw events a trace holds, and the small records describing a trace.

Events are plain data: what the kernel and the CPU handed the program, in
*virtual* id space, never formatted text.  Text is made at display time by
`virt.decode`, so a trace recorded today can be shown better by a newer scribe.

They are classes with __slots__ and a plain __init__ because a trace holds
millions of them and reading must build them fast; they are not frozen
because frozen classes are several times slower to construct (each field set
through object.__setattr__).  Treat them as immutable anyway.

All times are `time_ns`: nanoseconds since the trace started (monotonic clock).
"""

from __future__ import annotations

from typing import Any, ClassVar, Union

__all__ = [
    "BlobRef",
    "Syscall",
    "Spawn",
    "Exec",
    "Exit",
    "Signal",
    "Input",
    "Unknown",
    "Event",
    "Header",
    "ProcessInfo",
    "BLOB_THRESHOLD",
    "INLINE_MAX",
    "Inline",
]

#: byte strings at least this long (in writes/reads/Input values) are stored
#: once, by content hash, as a blob, and referenced by a BlobRef.
BLOB_THRESHOLD = 4096
#: Inline bytes up to this long stay in their event (longer ones become blobs).
INLINE_MAX = 1 << 18


class Inline(bytes):
    """Bytes a writer keeps in their event whatever their length (up to
    INLINE_MAX): what a pipe delivered. A stream is not read twice, so a
    blob would buy no sharing, and cost a SHA-256 when recorded and a
    record of its own (two reads and a small zstd frame) when replayed;
    inside the chunk, zstd compresses it with its neighbours.
    Decoded, they are plain bytes."""

    __slots__ = ()


class _Record:
    """What a dataclass would give these classes (fields in __slots__
    order: repr and ==), written out: `dataclasses` imports `inspect` (and
    with it ast, dis and tokenize) and builds each class with exec, ~10 ms
    and ~0.7 ms a class of every scribe start, which waits for the trace
    classes before it runs the program."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable: not a dict key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)


class BlobRef:
    """A reference to large data stored once in the trace, by content hash.

    digest: the 32-byte SHA-256 of the content; size: its length in bytes.
    `TraceReader.blob(ref)` returns the bytes.  Immutable and hashable so it
    can key caches and dicts.
    """

    __slots__ = ("digest", "size")
    digest: bytes
    size: int

    def __init__(self, digest: bytes, size: int) -> None:
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "size", size)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"BlobRef is immutable: cannot set {name}")

    def __copy__(self) -> BlobRef:
        return self  # immutable: a copy may be the same object (a checkpoint deep-copies the replay)

    def __deepcopy__(self, memo: dict[int, Any]) -> BlobRef:
        return self

    def __eq__(self, other: object) -> bool:
        if type(other) is not BlobRef:
            return NotImplemented
        return self.digest == other.digest and self.size == other.size  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.digest, self.size))

    def __repr__(self) -> str:
        return f"BlobRef({self.digest[:6].hex()}…, size={self.size})"


class Syscall(_Record):
    """One system call as the tracee saw it.

    args are the six raw unsigned 64-bit argument words; result is signed
    (negative errno on failure, as the kernel returns it).  writes: every byte
    range (addr, data) the kernel wrote into tracee memory; reads: input
    memory captured at entry (paths, small input structs) for display and
    divergence checks.  data is bytes or a BlobRef.
    """

    EXECUTED: ClassVar[int] = 1  # replay must really run this call
    NO_EXIT: ClassVar[int] = 2  # the call never returned (exit, execve success, killed inside)
    BUFFERED: ClassVar[int] = 4  # made without a stop (a clock read or an I/O call in the time page)
    PATCHED: ClassVar[int] = 8  # its call site was rewritten to go through the time page at its entry

    __slots__ = ("tid", "nr", "args", "result", "writes", "reads", "flags", "time_ns")
    tid: int
    nr: int
    args: tuple[int, ...]
    result: int
    writes: tuple[tuple[int, bytes | BlobRef], ...]
    reads: tuple[tuple[int, bytes | BlobRef], ...]
    flags: int
    time_ns: int

    def __init__(self, tid: int, nr: int, args: tuple[int, ...], result: int,
                 writes: tuple[tuple[int, bytes | BlobRef], ...] = (),
                 reads: tuple[tuple[int, bytes | BlobRef], ...] = (), flags: int = 0,
                 time_ns: int = 0) -> None:
        self.tid = tid
        self.nr = nr
        self.args = args
        self.result = result
        self.writes = writes
        self.reads = reads
        self.flags = flags
        self.time_ns = time_ns


class Spawn(_Record):
    """A new process or thread; pid is the virtual tgid of the new task.

    For the very first process parent_tid is 0.
    """

    FORK: ClassVar[int] = 0
    VFORK: ClassVar[int] = 1
    THREAD: ClassVar[int] = 2

    __slots__ = ("tid", "parent_tid", "pid", "kind", "time_ns")
    tid: int
    parent_tid: int
    pid: int
    kind: int
    time_ns: int

    def __init__(self, tid: int, parent_tid: int, pid: int, kind: int, time_ns: int = 0) -> None:
        self.tid = tid
        self.parent_tid = parent_tid
        self.pid = pid
        self.kind = kind
        self.time_ns = time_ns


class Exec(_Record):
    """A successful execve: the new program's path and argv.

    binary: the executable's content as a BlobRef (so the trace replays on a
    machine without that file), or None.
    """

    __slots__ = ("tid", "path", "argv", "binary", "time_ns")
    tid: int
    path: str
    argv: list[str]
    binary: BlobRef | None
    time_ns: int

    def __init__(self, tid: int, path: str, argv: list[str], binary: BlobRef | None = None,
                 time_ns: int = 0) -> None:
        self.tid = tid
        self.path = path
        self.argv = argv
        self.binary = binary
        self.time_ns = time_ns


class Exit(_Record):
    """A task exited; status is the raw wait status (os.waitstatus_to_exitcode takes it)."""

    __slots__ = ("tid", "status", "time_ns")
    tid: int
    status: int
    time_ns: int

    def __init__(self, tid: int, status: int, time_ns: int = 0) -> None:
        self.tid = tid
        self.status = status
        self.time_ns = time_ns


class Signal(_Record):
    """A signal delivered to tid at this point of the global event order.

    siginfo: the 128 raw siginfo bytes, already in virtual id space.
    """

    __slots__ = ("tid", "signo", "siginfo", "time_ns")
    tid: int
    signo: int
    siginfo: bytes
    time_ns: int

    def __init__(self, tid: int, signo: int, siginfo: bytes = b"", time_ns: int = 0) -> None:
        self.tid = tid
        self.signo = signo
        self.siginfo = siginfo
        self.time_ns = time_ns


class Input(_Record):
    """Other nondeterministic input (rdtsc, rdtscp, at_random, preempt, mapping, ...).

    value: int, bytes, BlobRef, or a list/dict of those and str.
    """

    __slots__ = ("tid", "what", "value", "time_ns")
    tid: int
    what: str
    value: Any
    time_ns: int

    def __init__(self, tid: int, what: str, value: Any, time_ns: int = 0) -> None:
        self.tid = tid
        self.what = what
        self.value = value
        self.time_ns = time_ns


class Unknown(_Record):
    """An event kind this reader does not know (written by a newer scribe).

    Never an error: old readers show it and skip it.  kind is the on-disk kind
    number, fields the remaining decoded fields.  tid and time_ns are filled
    because every event kind starts with them on disk.
    """

    __slots__ = ("kind", "fields", "tid", "time_ns")
    kind: int
    fields: tuple[Any, ...]
    tid: int
    time_ns: int

    def __init__(self, kind: int, fields: tuple[Any, ...], tid: int = 0, time_ns: int = 0) -> None:
        self.kind = kind
        self.fields = fields
        self.tid = tid
        self.time_ns = time_ns


Event = Union[Syscall, Spawn, Exec, Exit, Signal, Input, Unknown]


class Header(_Record):
    """The trace header: where and how the trace was recorded.

    version is the format version "MAJOR.MINOR"; start_time is wall-clock
    UNIX seconds.  Keys this scribe does not know are kept in `extra`.
    """

    __slots__ = ("version", "scribe_version", "argv", "env", "cwd", "hostname", "kernel",
                 "cpu_model", "cpu_flags", "start_time", "extra")
    version: str
    scribe_version: str
    argv: list[str]
    env: Any
    cwd: str
    hostname: str
    kernel: str
    cpu_model: str
    cpu_flags: list[str]
    start_time: float
    extra: dict[str, Any]

    def __init__(self, version: str, scribe_version: str, argv: list[str], env: Any, cwd: str,
                 hostname: str, kernel: str, cpu_model: str, cpu_flags: list[str], start_time: float,
                 extra: dict[str, Any] | None = None) -> None:
        self.version = version
        self.scribe_version = scribe_version
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.hostname = hostname
        self.kernel = kernel
        self.cpu_model = cpu_model
        self.cpu_flags = cpu_flags
        self.start_time = start_time
        self.extra = {} if extra is None else extra

    def get(self, key: str, default: Any = None) -> Any:
        """Any header key, known or not (keys from newer writers live in extra)."""
        if key in _HEADER_FIELDS:
            return getattr(self, key)
        return self.extra.get(key, default)


_HEADER_FIELDS = frozenset(
    ("version", "scribe_version", "argv", "env", "cwd", "hostname", "kernel",
     "cpu_model", "cpu_flags", "start_time")
)


class ProcessInfo(_Record):
    """One row of the process table (derived from Spawn/Exec/Exit events).

    exit_status is the raw wait status of the process (its leader's Exit) or
    None if it never exited in the trace; threads lists every tid of the
    process, leader first; first_event/last_event are event numbers.
    """

    __slots__ = ("vpid", "ppid", "argv", "exit_status", "first_event", "last_event", "threads")
    vpid: int
    ppid: int
    argv: list[str]
    exit_status: int | None
    first_event: int
    last_event: int
    threads: list[int]

    def __init__(self, vpid: int, ppid: int, argv: list[str], exit_status: int | None,
                 first_event: int, last_event: int, threads: list[int] | None = None) -> None:
        self.vpid = vpid
        self.ppid = ppid
        self.argv = argv
        self.exit_status = exit_status
        self.first_event = first_event
        self.last_event = last_event
        self.threads = [] if threads is None else threads

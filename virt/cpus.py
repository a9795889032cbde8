"""One CPU for the tracer and its tracees; the CPU set the program sees.

Why bind: while recording or replaying, one tracee runs user code at a time
and the tracer waits for it, so every stop is a hand-over between the two.
On two CPUs each hand-over wakes a sleeping CPU with an inter-processor
interrupt (under a hypervisor, a VM exit as well); on one CPU it is a plain
context switch. Bound, recording and replaying took 0.4-0.9 of their
unbound time here (rr binds to one CPU for the same reason). `scribe run`
does not serialize its tracees, but most of what a program does under it
is stops too: bound, five of the seven benchmark workloads took 0.22-0.93
of their unbound time; make -j2 and tar+gzip, which compute side by side,
1.03; two processes that only compute 1.8 (for those: --no-bind-cpu).
Where the program's processes do compute side by side, `Placement` moves
the one that computes to the spare CPUs while it does (recording tar+gzip:
0.90 of the time bound to one CPU, make -j2 0.91).

What the program sees stays what it would see without scribe: the VEE
answers sched_getaffinity with the mask scribe was started with, keeps the
program's own sched_setaffinity choices per thread (`Vee.affinity`), and
shows that mask in the Cpus_allowed lines of /proc/<pid>/status.
"""

from __future__ import annotations

import os
from typing import Callable


def current_cpu() -> int | None:
    """The CPU this thread runs on now (field 39 of /proc/thread-self/stat)."""
    try:
        with open("/proc/thread-self/stat", "rb") as f:
            raw = f.read()
        return int(raw[raw.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def choose_cpu(allowed: set[int]) -> int | None:
    """The CPU to bind to: the one the scheduler just put us on (at exec it
    places a new program on the idlest CPU), else the lowest allowed; None
    when there is nothing to choose (one CPU allowed)."""
    if len(allowed) < 2:
        return None
    cpu = current_cpu()
    return cpu if cpu in allowed else min(allowed)


class CpuBinding:
    """Binds the calling thread (and the tracees it forks, which inherit the
    mask) to one CPU, and puts the thread's mask back afterwards."""

    def __init__(self, cpu: int | None = None) -> None:
        self.original: frozenset[int] = frozenset(os.sched_getaffinity(0))
        self.cpu = cpu if cpu is not None else choose_cpu(set(self.original))
        self.bound = False
        self.placement: Placement | None = None  # while bound, with CPUs to spare
        self.helpers: Callable[[], list[int]] | None = None  # for the placement

    def bind(self) -> bool:
        if self.cpu is None:
            return False
        try:
            os.sched_setaffinity(0, {self.cpu})
        except OSError:
            return False  # a cpuset without that CPU: run unbound
        self.bound = True
        spare = self.original - {self.cpu}
        if spare:
            self.placement = Placement(self.cpu, spare, self.helpers)
        return True

    def rebind(self, tid: int) -> None:
        """Put a tracee back where it ran (after its own sched_setaffinity ran)."""
        if self.bound and self.cpu is not None:
            cpus = self.placement.cpus_of(tid) if self.placement is not None else {self.cpu}
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass

    def unbind(self) -> None:
        if self.bound:
            try:
                os.sched_setaffinity(0, self.original)
            except OSError:
                pass
            self.bound = False
            self.placement = None


def _schedstat(path: str) -> tuple[int, int] | None:
    """(time on a CPU, time waiting on a run queue) in ns, from a schedstat file."""
    try:
        with open(path, "rb") as f:
            fields = f.read().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


class Placement:
    """Tracees that compute go to the spare CPUs, while the tracer's CPU is
    oversubscribed; they come back once they stop computing.

    Binding everything to one CPU is right for hand-overs, and wrong for
    a program whose processes compute side by side (tar and its gzip,
    make -j2's compilers): they then take turns on one CPU while the other
    idles. Every INTERVAL_NS (at a stop after it: the tracer looks at the
    clock every PLACE_EVERY stops, so a program that makes no syscalls is
    not looked at) the tracer reads the schedstat of
    its own thread and of up to MAX_SAMPLED tracees: the time each spent on
    a CPU and waiting on a run queue. When the tasks on the tracer's CPU
    waited for it more than CONTENDED of the interval, the one of them that
    ran longest goes to the spare CPUs if it ran at least COMPUTES of the
    interval (one per interval); a task there that ran less than IDLES of
    it comes back (its stops are hand-overs again). A stop-heavy task runs
    little between stops, so it stays with the tracer; nothing moves unless
    another tracee there ran at least ACTIVE of the interval too, as a
    single task that alternates with the tracer (its stops, a timer's
    signals) gains nothing from another CPU but slower hand-overs.
    While any task is on the spare CPUs, the helper threads (`helpers`: the
    trace writer's, replay's read-ahead) may run on every CPU, at
    HELPER_NICE: the program goes first and they take whichever CPU has
    time left over (the writer's queue bound makes the tracer wait for it,
    should it fall behind). Not before: a niced helper preempted while it
    holds the writer's lock would hold up the tracer.
    Where a task runs changes nothing the program sees or the trace holds.
    """

    INTERVAL_NS = 50_000_000
    MAX_SAMPLED = 64
    CONTENDED = 0.125
    COMPUTES = 0.25
    IDLES = 0.10
    ACTIVE = 0.01
    HELPER_NICE = 10

    def __init__(self, home: int, spare: frozenset[int],
                 helpers: Callable[[], list[int]] | None = None) -> None:
        self.home = home
        self.spare = spare
        self.helpers = helpers
        self.away: set[int] = set()  # tids moved to the spare CPUs
        self.next_ns = 0
        self._last_ns = 0
        self._seen: dict[int, tuple[int, int, int]] = {}  # tid -> schedstat when last read, and when
        self._me = (0, 0)
        self._rotate = 0

    def check(self, now: int, tids: list[int]) -> None:
        """Look at the time since the last look and move at most one task
        each way. Each task's figures are over its own span since it was
        last read (with more than MAX_SAMPLED, not every look reads it)."""
        dt = now - self._last_ns
        first = self._last_ns == 0
        self._last_ns = now
        self.next_ns = now + self.INTERVAL_NS
        me = _schedstat("/proc/thread-self/schedstat")
        waited = 0.0  # run-queue wait on the tracer's CPU, in intervals
        if me is not None:
            if dt > 0:
                waited = (me[1] - self._me[1]) / dt
            self._me = me
        if len(tids) > self.MAX_SAMPLED:  # a fair share of looks for each
            start = self._rotate % len(tids)
            self._rotate = start + self.MAX_SAMPLED
            tids = (tids[start:] + tids[:start])[:self.MAX_SAMPLED]
        seen = self._seen
        heaviest, most = 0, 0.0
        active = 0  # tracees on the tracer's CPU that ran at all
        back = []
        for tid in tids:
            got = _schedstat(f"/proc/{tid}/schedstat")
            if got is None:
                continue
            old = seen.get(tid)
            seen[tid] = (got[0], got[1], now)
            if old is None or now <= old[2]:
                continue
            span = now - old[2]
            ran = (got[0] - old[0]) / span
            if tid in self.away:
                if ran < self.IDLES:
                    back.append(tid)
                continue
            waited += (got[1] - old[1]) / span
            if ran >= self.ACTIVE:
                active += 1
            if ran > most:
                heaviest, most = tid, ran
        if first or dt <= 0:
            return
        for tid in back:
            self._move(tid, False)
        if active >= 2 and waited > self.CONTENDED and most >= self.COMPUTES:
            self._move(heaviest, True)

    def _move(self, tid: int, away: bool) -> None:
        try:
            os.sched_setaffinity(tid, self.spare if away else {self.home})
        except OSError:
            return
        self._mark(tid, away)

    def _mark(self, tid: int, away: bool) -> None:
        had = bool(self.away)
        if away:
            self.away.add(tid)
        else:
            self.away.discard(tid)
        if had != bool(self.away) and self.helpers is not None:
            cpus = self.spare | {self.home} if self.away else self.spare
            for h in self.helpers():
                try:
                    os.sched_setaffinity(h, cpus)
                except OSError:
                    pass
                try:  # (back to 0 needs CAP_SYS_NICE: without it, it stays niced)
                    os.setpriority(os.PRIO_PROCESS, h, self.HELPER_NICE if self.away else 0)
                except OSError:
                    pass

    def gone(self, tid: int) -> None:
        if tid in self.away:
            self._mark(tid, False)
        self._seen.pop(tid, None)

    def spawned(self, parent: int, child: int, now: int = 0) -> None:
        """A task forked by one on the spare CPUs starts there (the mask is
        inherited): it starts with the tracer, like every other new task.
        Its figures count from `now` (a new task's schedstat starts at
        zero), so the first look after it can move it: a child that computes
        from its start (tar's gzip) shared the tracer's CPU for one more
        interval, 50-100 ms, when that look only took its counts."""
        if parent in self.away:
            self._move(child, False)
        if now:
            self._seen[child] = (0, 0, now)

    def cpus_of(self, tid: int) -> set[int]:
        """Where tid runs now (for putting it back after its own sched_setaffinity)."""
        return set(self.spare) if tid in self.away else {self.home}


def mask_bytes(cpus: frozenset[int], size: int) -> bytes:
    """A cpu_set_t of `size` bytes (the kernel's layout: bit n = CPU n)."""
    bits = 0
    for c in cpus:
        if c < size * 8:
            bits |= 1 << c
    return bits.to_bytes(size, "little")


def _ranges(cpus: frozenset[int]) -> str:
    out: list[str] = []
    start = prev = -2
    for c in sorted(cpus) + [-2]:
        if c != prev + 1:
            if start >= 0:
                out.append(str(start) if start == prev else f"{start}-{prev}")
            start = c
        prev = c
    return ",".join(out)


def _possible_cpus() -> int:
    """nr_cpu_ids: the width of the kernel's CPU masks in /proc text."""
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            return int(f.read().strip().replace(",", "-").split("-")[-1]) + 1
    except (OSError, ValueError):
        return max(os.sched_getaffinity(0)) + 1


NR_CPU_IDS = _possible_cpus()
CPU_KEYS = (b"Cpus_allowed:\t", b"Cpus_allowed_list:\t")


def status_line(key: bytes, cpus: frozenset[int], nbits: int = NR_CPU_IDS) -> bytes:
    """The Cpus_allowed or Cpus_allowed_list line (key with its tab, no
    newline) of /proc/<pid>/status for a task that may run on `cpus`, as the
    kernel prints it (%*pb: nbits wide in 32-bit groups; %*pbl: ranges)."""
    if key == CPU_KEYS[1]:
        return key + _ranges(cpus).encode()
    bits = sum(1 << c for c in cpus if c < nbits)
    text = f"{bits:0{(nbits + 3) // 4}x}"
    groups = [text[max(0, i - 8):i] for i in range(len(text), 0, -8)]
    return key + ",".join(reversed(groups)).encode()


class StatusPieces:
    """One reader's way through /proc/<pid>/status while the VEE is bound:
    the Cpus_allowed lines show the task's own CPUs, whatever pieces the
    file is read in (stdio reads /proc files 1 KiB at a time).

    A piece that ends inside a Cpus line returns the text up to that line;
    the line is finished with the next piece. A translation longer than the
    reader's buffer waits for its next read, or for the end of the file.
    """

    def __init__(self, cpus: frozenset[int]) -> None:
        self.cpus = cpus
        self.tail = b""     # the start of a Cpus line the last piece cut short
        self.pending = b""  # translated text the reader's buffer had no room for

    def feed(self, raw: bytes, size: int) -> bytes:
        """What the reader gets for a read of `size` bytes that returned
        `raw` (b"" at the end of the file)."""
        text = self.tail + raw
        self.tail = b""
        if raw:
            start = text.rfind(b"\n") + 1
            last = text[start:]
            if last and any(k.startswith(last[:len(k)]) for k in CPU_KEYS):
                text, self.tail = text[:start], last
        out = self.pending + self._lines(text)
        if not out and self.tail:
            out, self.tail = self.tail, b""  # reads too small to hold a line: as it is
        self.pending = out[size:]
        return out[:size]

    @property
    def waiting(self) -> bool:
        return bool(self.tail or self.pending)

    def _lines(self, text: bytes) -> bytes:
        lines = text.split(b"\n")
        for i, line in enumerate(lines):
            for k in CPU_KEYS:
                if line.startswith(k):
                    lines[i] = status_line(k, self.cpus)
        return b"\n".join(lines)

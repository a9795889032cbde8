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

What the program sees stays what it would see without scribe: the VEE
answers sched_getaffinity with the mask scribe was started with, keeps the
program's own sched_setaffinity choices per thread (`Vee.affinity`), and
shows that mask in the Cpus_allowed lines of /proc/<pid>/status.
"""

from __future__ import annotations

import os


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

    def bind(self) -> bool:
        if self.cpu is None:
            return False
        try:
            os.sched_setaffinity(0, {self.cpu})
        except OSError:
            return False  # a cpuset without that CPU: run unbound
        self.bound = True
        return True

    def rebind(self, tid: int) -> None:
        """Put a tracee back on the CPU (after its own sched_setaffinity ran)."""
        if self.bound and self.cpu is not None:
            try:
                os.sched_setaffinity(tid, {self.cpu})
            except OSError:
                pass

    def unbind(self) -> None:
        if self.bound:
            try:
                os.sched_setaffinity(0, self.original)
            except OSError:
                pass
            self.bound = False


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

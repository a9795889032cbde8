"""The virtual SysV IPC namespace: message queues, semaphore sets, shared memory.

Each IPC type has its own id space. Virtual ids are handed out in the order
objects are first seen (0, 1, 2, ... per type), so they do not depend on what
else the host has created.

IPC reuse race (VIRT.md): IPC_RMID is never delayed — the removal is what
wakes blocked msgrcv/semop with EIDRM, so holding it would deadlock. Instead
the removed real id is marked *draining* while calls that were translated to
it are still in flight (counted from their entry stop to their exit stop), and
every creating call of that type waits at its entry stop until nothing of
that type drains, so no new object can receive the old real id while a stale
call could still reach it.
"""

from __future__ import annotations

MSG, SEM, SHM = "msg", "sem", "shm"


class IpcSpace:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.next_vid = 0
        self.v2r: dict[int, int] = {}
        self.r2v: dict[int, int] = {}
        self.inflight: dict[int, int] = {}
        self.draining: set[int] = set()

    def bind(self, real: int) -> int:
        v = self.r2v.get(real)
        if v is None:
            v = self.next_vid
            self.next_vid += 1
            self.v2r[v] = real
            self.r2v[real] = v
        return v

    def bind_as(self, real: int, vid: int) -> None:
        """Replay: bind a recorded virtual id to the new real object."""
        old = self.v2r.pop(vid, None)
        if old is not None:
            self.r2v.pop(old, None)
        self.v2r[vid] = real
        self.r2v[real] = vid
        self.next_vid = max(self.next_vid, vid + 1)

    def to_real(self, vid: int) -> int | None:
        return self.v2r.get(vid)

    def to_virtual(self, real: int) -> int | None:
        return self.r2v.get(real)

    def enter(self, real: int) -> None:
        self.inflight[real] = self.inflight.get(real, 0) + 1

    def leave(self, real: int) -> None:
        n = self.inflight.get(real, 0) - 1
        if n <= 0:
            self.inflight.pop(real, None)
            self.draining.discard(real)
        else:
            self.inflight[real] = n

    def removed(self, real: int) -> None:
        """IPC_RMID succeeded on `real`: unbind it; drain stale users."""
        v = self.r2v.pop(real, None)
        if v is not None and self.v2r.get(v) == real:
            del self.v2r[v]
        if self.inflight.get(real, 0) > 0:
            self.draining.add(real)

    @property
    def busy(self) -> bool:
        return bool(self.draining)


class IpcNamespace:
    def __init__(self) -> None:
        self.spaces = {k: IpcSpace(k) for k in (MSG, SEM, SHM)}

    def has_shared_memory(self) -> bool:
        """A shared memory segment of the VEE exists (its memory is the kernel's)."""
        return bool(self.spaces[SHM].v2r)

    def __getitem__(self, kind: str) -> IpcSpace:
        return self.spaces[kind]

"""The virtual PID namespace: virtual <-> real process, thread, group and session ids.

Numbering is that of a fresh Linux PID namespace: the first process is 1,
then every new process or thread gets the next number in creation order (the
order the tracer sees fork/clone events, which replay reproduces).

Ids are bound at the fork event, before the child runs a single
instruction (the PID init race cannot happen). A real id that belongs to no
task of the VEE translates to 0 outwards ("outside the namespace") and to
ESRCH inwards.

Process groups and sessions are named by their leader's id. A group can
outlive its leader, so group and session ids stay bound while any live task
of the VEE still belongs to them, and are released after that (the kernel
will not reuse a pid while it names a group or session).

PID reuse race: `pin(real)` is taken when an in-flight call has translated an
id to `real`; the tracer holds a tracee at its exit stop while it is pinned.
"""

from __future__ import annotations

from typing import NewType

VirtualPid = NewType("VirtualPid", int)
RealPid = NewType("RealPid", int)


class PidNamespace:
    def __init__(self, first_vpid: int = 1) -> None:
        self.next_vpid = first_vpid
        self.v2r: dict[int, int] = {}
        self.r2v: dict[int, int] = {}
        # Group/session ids whose leader task is gone but which are still in use.
        self.groups_v2r: dict[int, int] = {}
        self.groups_r2v: dict[int, int] = {}
        self.pins: dict[int, int] = {}
        # Ids of tasks already gone, for queued siginfo (SIGCHLD) that still
        # names them; forgotten when the kernel hands the real id out again.
        self.departed: dict[int, int] = {}

    # -- allocation -------------------------------------------------------
    def allocate(self, real: int, vpid: int | None = None, *, bump: bool = True) -> VirtualPid:
        """Bind a new task's real id; `vpid` forces a value (replay binds the
        recorded one). A pid chosen by clone3 set_tid does not move the
        counter (bump=False), as in Linux."""
        if vpid is None:
            vpid = self.next_vpid
        if bump:
            self.next_vpid = max(self.next_vpid, vpid + 1)
        self.v2r[vpid] = real
        self.r2v[real] = vpid
        self.departed.pop(real, None)
        return VirtualPid(vpid)

    def rebind(self, old_real: int, new_real: int) -> None:
        """A task changed its real id (exec from a non-leader thread)."""
        v = self.r2v.pop(old_real, None)
        if v is not None:
            self.v2r[v] = new_real
            self.r2v[new_real] = v

    def moved(self, moved: dict[int, int], groups: set[int]) -> None:
        """Tasks now run under new real ids (live replay restored a checkpoint:
        old real id -> new).  A process group or session a moved task led
        keeps its real id (`groups`: the ids still in use), so it is bound
        as a group from now on."""
        # Two passes: a new id may be an old one of another task (pids wrap).
        found = [(old, new, self.r2v.pop(old, None)) for old, new in moved.items()]
        for old, new, v in found:
            self.pins.pop(old, None)
            self.departed.pop(new, None)
            if v is None:
                continue
            self.v2r[v] = new
            self.r2v[new] = v
            if old in groups:
                self.groups_v2r[v] = old
                self.groups_r2v[old] = v

    def retire(self, real: int, still_group: bool = False) -> None:
        """A task is gone; keep its id alive as a group/session name if needed."""
        v = self.r2v.pop(real, None)
        if v is None:
            return
        if self.v2r.get(v) == real:
            del self.v2r[v]
        self.departed[real] = v
        if still_group:
            self.groups_v2r[v] = real
            self.groups_r2v[real] = v

    def release_group(self, real: int) -> None:
        v = self.groups_r2v.pop(real, None)
        if v is not None:
            self.groups_v2r.pop(v, None)

    # -- translation ----------------------------------------------------
    def to_virtual(self, real: int) -> int:
        """Real -> virtual; 0 for an id outside the VEE."""
        v = self.r2v.get(real)
        if v is None:
            v = self.groups_r2v.get(real, 0)
        return v

    def to_virtual_sender(self, real: int) -> int:
        """Like to_virtual, but also knows tasks that are already gone."""
        v = self.to_virtual(real)
        return v if v else self.departed.get(real, 0)

    def to_real(self, vpid: int) -> int | None:
        r = self.v2r.get(vpid)
        if r is None:
            r = self.groups_v2r.get(vpid)
        return r

    def to_real_group(self, vpgid: int) -> int | None:
        """Virtual -> real process group or session id (after a checkpoint was
        restored, a group's id is no longer its leader's real pid)."""
        r = self.groups_v2r.get(vpgid)
        return r if r is not None else self.v2r.get(vpgid)

    def is_virtual_known(self, vpid: int) -> bool:
        return vpid in self.v2r or vpid in self.groups_v2r

    # -- reuse race -----------------------------------------------------
    def pin(self, real: int) -> None:
        self.pins[real] = self.pins.get(real, 0) + 1

    def unpin(self, real: int) -> None:
        n = self.pins.get(real, 0) - 1
        if n <= 0:
            self.pins.pop(real, None)
        else:
            self.pins[real] = n

    def pinned(self, real: int) -> bool:
        return real in self.pins

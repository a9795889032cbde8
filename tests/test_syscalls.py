"""The syscall table against this machine's kernel headers, and its derived facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from virt import syscalls
from virt.syscall_table import ROWS
from virt.syscalls import BY_NAME, SYSCALLS, info

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def _header() -> dict[int, str]:
    text = HEADER.read_text()
    return {int(n): name for name, n in re.findall(r"#define __NR_(\w+)\s+(\d+)", text)}


@pytest.mark.skipif(not HEADER.exists(), reason="no x86-64 kernel headers")
def test_table_matches_kernel_header() -> None:
    hdr = _header()
    assert hdr, "header parsed to nothing"
    for nr, name in hdr.items():
        assert nr in SYSCALLS, f"{name} ({nr}) missing from the table"
        assert SYSCALLS[nr].name == name, f"{nr}: table says {SYSCALLS[nr].name}, header {name}"
    # Extras are allowed only above the header's newest number: syscalls
    # newer than this machine's headers (documented in syscall_table).
    newest = max(hdr)
    extras = sorted(set(SYSCALLS) - set(hdr))
    assert all(nr > newest for nr in extras), extras


def test_rows_unique() -> None:
    nrs = [r[0] for r in ROWS]
    names = [r[1] for r in ROWS]
    assert len(nrs) == len(set(nrs))
    assert len(names) == len(set(names))
    assert max(nrs) < 512


def test_rows_well_formed() -> None:
    from virt.structs import STRUCT_SIZES
    for si in SYSCALLS.values():
        assert si.replay in ("emulate", "execute", "allow")
        assert si.classes <= syscalls.ALL_CLASSES | {"net"}, si.name
        assert len(si.args) <= 6, si.name
        for a in si.args:
            if a.kind in ("in", "out", "inout"):
                assert a.param in STRUCT_SIZES, (si.name, a)


def test_info_never_fails() -> None:
    for nr in (-1, 335, 10_000, 2**40, 0x40000000 + 1):
        si = info(nr)
        assert si.name == f"syscall_{nr}"
        assert len(si.args) == 6 and not si.known
    assert info("x").name.startswith("syscall_")  # type: ignore[arg-type]
    assert info(0).name == "read"


def test_table_entries_are_immutable_values() -> None:
    """Compared, hashed and copied as values (a checkpoint deep-copies the
    replay, which holds them); no field can be changed."""
    import copy

    read = info(0)
    assert read == BY_NAME["read"] and hash(read) == hash(BY_NAME["read"]) and read != info(1)
    assert read.args[0] == syscalls.Arg("fd", read.args[0].kind, read.args[0].param)
    assert copy.deepcopy({"r": read})["r"] == read and copy.copy(read.args[0]) == read.args[0]
    with pytest.raises(AttributeError):
        read.nr = 1  # type: ignore[misc]
    assert "name='read'" in repr(read)


def test_ids() -> None:
    must = ["getpid", "gettid", "getppid", "getpgrp", "getpgid", "getsid", "setsid", "setpgid",
            "kill", "tkill", "tgkill", "wait4", "waitid", "clone", "clone3", "fork", "vfork",
            "set_tid_address", "rt_sigtimedwait", "fcntl", "ioctl", "recvmsg", "getsockopt",
            "open", "openat", "stat", "execve", "readlink", "msgget", "msgsnd", "msgrcv",
            "msgctl", "semget", "semop", "semctl", "shmget", "shmat", "shmctl", "sched_setaffinity",
            "prlimit64", "capget", "getpriority", "ioprio_set", "process_vm_readv",
            "pidfd_open", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "clock_gettime", "timer_create"]
    for name in must:
        assert BY_NAME[name].ids, name
    for name in ("read", "write", "mmap", "mprotect", "brk", "close", "dup", "sched_yield"):
        assert not BY_NAME[name].ids, name
    assert BY_NAME["read"].fd_ids


def test_replay_policy() -> None:
    execute = ["mmap", "munmap" if False else "mremap", "brk", "clone", "clone3", "fork", "vfork",
               "execve", "execveat", "exit", "exit_group", "rt_sigaction", "rt_sigprocmask",
               "sigaltstack", "arch_prctl", "set_tid_address", "set_robust_list", "prctl",
               "seccomp", "personality", "kill", "tgkill", "tkill", "wait4", "waitid",
               "shmat", "shmdt", "rt_sigreturn"]
    for name in execute:
        assert BY_NAME[name].replay == "execute", name
    for name in ("read", "write", "openat", "close", "stat", "clock_gettime", "getpid",
                 "getrandom", "uname", "socket", "pipe2", "futex", "nanosleep", "ioctl"):
        assert BY_NAME[name].replay == "emulate", name
    allowed = {si.name for si in SYSCALLS.values() if si.replay == "allow"}
    assert allowed == {"mprotect", "pkey_mprotect", "munmap", "madvise", "sched_yield"}
    for name in allowed:
        assert not BY_NAME[name].ids


def test_classes_like_strace() -> None:
    assert "file" in BY_NAME["openat"].classes and "desc" in BY_NAME["openat"].classes
    assert BY_NAME["getpid"].classes == frozenset({"pure"})
    assert {"stat", "stat_like"} <= BY_NAME["stat"].classes
    assert "lstat" in BY_NAME["lstat"].classes
    assert "fstat" in BY_NAME["newfstatat"].classes
    assert {"network", "net"} <= BY_NAME["socket"].classes
    assert "process" in BY_NAME["clone"].classes
    assert "signal" in BY_NAME["kill"].classes
    assert "ipc" in BY_NAME["msgget"].classes
    assert "memory" in BY_NAME["mmap"].classes
    assert "creds" in BY_NAME["getuid"].classes
    assert "clock" in BY_NAME["clock_gettime"].classes
    assert "statfs" in BY_NAME["statfs"].classes and "fstatfs" in BY_NAME["fstatfs"].classes


def test_precompiled_plans_give_what_the_rules_give() -> None:
    """The hot path's plans (string and buffer inputs, one struct or buffer written)
    against the general interpreter, which a list of arguments takes, on every
    call they cover."""
    import random

    from tests.test_decode import FuzzMemory

    rnd = random.Random(6)
    words = [0, 1, 3, 16, 255, 4096, 0x7FFF_F000, 0x7FFF_FFFF_E000, (1 << 64) - 100, (1 << 63) + 5, 0xFFFF_FF9C]
    results = [0, 1, 7, 144, 4095, 1 << 20, 1 << 40, (1 << 64) - 1, (1 << 64) - 4095, (1 << 64) - 4096,
               (1 << 64) - 5000, -2, -4095, -5000]
    mem = FuzzMemory(b"/path/to/x\0", fail=True)  # some addresses unreadable
    assert syscalls._WRITE_PLANS and syscalls._INPUT_PLANS
    for nr in set(syscalls._WRITE_PLANS) | set(syscalls._INPUT_PLANS):
        for _ in range(200):
            args = tuple(rnd.choice(words) + rnd.choice((0, 0, 8, 7 * rnd.randrange(1, 1000))) for _ in range(6))
            res = rnd.choice(results)
            assert syscalls.written_ranges(nr, args, res, mem) == syscalls.written_ranges(nr, list(args), res, mem)
            assert syscalls.entry_inputs(nr, args, mem) == syscalls.entry_inputs(nr, list(args), mem)

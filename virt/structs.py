"""Sizes (x86-64, as the kernel copies them) of the structs in the table.

Why separate: ``written_ranges`` records exactly these many bytes for an
``out=STRUCT`` argument and ``entry_inputs`` captures as many for
``in=STRUCT``; decode unpacks some of them.  A size of ``None`` means the size
depends on other arguments or on memory and a specific rule computes it.
"""

from __future__ import annotations

STRUCT_SIZES: dict[str, int | None] = {
    "stat": 144,            # struct stat
    "statx": 256,           # struct statx
    "statfs": 120,          # struct statfs
    "utsname": 390,         # struct new_utsname: 6 x 65
    "sysinfo": 112,         # struct sysinfo
    "tms": 32,              # struct tms
    "rusage": 144,          # struct rusage
    "timespec": 16,
    "timespec2": 32,        # utimensat: two timespecs
    "timeval": 16,
    "timeval2": 32,         # utimes / futimesat: two timevals
    "timezone": 8,
    "utimbuf": 16,
    "itimerval": 32,
    "itimerspec": 32,
    "sigaction": 32,        # kernel struct sigaction: handler, flags, restorer, mask
    "sigset": None,         # sigsetsize argument (8 on x86-64)
    "sigset6": 16,          # pselect6: { const sigset_t *ss; size_t ss_len; }
    "siginfo": 128,
    "stack": 24,            # stack_t
    "rlimit": 16,
    "sched_param": 4,
    "int": 4,
    "int2": 8,              # int[2] (pipe, socketpair)
    "u64": 8,
    "cap_header": 8,
    "cap_data": None,       # 12 (v1) or 24 (v2, v3) by the header's version
    "io_event": 32,
    "ustat": 32,
    "timex": 208,
    "sockaddr": None,       # by the address length
    "msghdr": 56,
    "mmsghdr": 64,
    "iovec": 16,
    "epoll_event": 12,      # packed on x86-64
    "pollfd": None,         # nfds x 8
    "fdset": None,          # by nfds
    "flock": 32,
    "f_owner_ex": 8,
    "mq_attr": 64,
    "shmid_ds": 112,        # struct shmid64_ds
    "msqid_ds": 120,        # struct msqid64_ds
    "semid_ds": 104,        # struct semid64_ds
    "seminfo": 40,
    "msginfo": 32,
    "shminfo": 72,          # struct shminfo64
    "shm_info": 48,
    "sched_attr": 56,       # SCHED_ATTR_SIZE_VER1
    "clone_args": 88,       # CLONE_ARGS_SIZE_VER2
    "open_how": 24,
    "user_desc": 16,
    "sigevent": 64,
    "sembuf": None,         # nsops x 6
    "file_handle": None,    # 8 + handle_bytes
    "mount_attr": 32,
    "mnt_id_req": 32,
    "perf_event_attr": None,
    "bpf_attr": None,
    "xattr_args": 16,
    "cachestat_range": 16,
    "cachestat": 40,
    "file_attr": 24,
    "termios": 36,          # kernel struct termios (TCGETS)
    "termio": 18,
    "winsize": 8,
    "ifreq": 40,
    "ucred": 12,
}

"""Documented exit codes of the `scribe` command.

`run`, `record` and `replay` otherwise exit with the traced program's own
status (or die of its signal), like a shell does; these codes are what scribe
itself uses when *it* cannot do the job.  They are listed in the README.
"""

from __future__ import annotations

OK = 0
USAGE = 2            # bad command line (argparse)
BAD_TRACE = 3        # the trace file is empty, truncated, corrupt, foreign or too new
DIVERGED = 4         # replay: the live program did something the trace does not say
NO_PTRACE = 5        # ptrace is not permitted here (no CAP_SYS_PTRACE, yama, seccomp)
TRACE_WRITE = 6      # the trace could not be written (disk full, size limit, permission)
INCOMPLETE = 7       # replay reached the end of an incomplete trace
INTERNAL = 70        # a bug in scribe (EX_SOFTWARE); the message says where
NOT_EXECUTABLE = 126  # like a shell: the command exists but cannot be executed
NOT_FOUND = 127      # like a shell: command not found

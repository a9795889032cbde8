"""Run the scribe CLI in this process and report the recorder's own peak RSS.

    python benchmarks/rsswrap.py OUTFILE record -o T -- CMD...

Why a wrapper: wait4()'s rusage for the scribe process folds in its
descendants (the tracees are scribe's children), so its ru_maxrss may be a
compiler's, not the recorder's.  Here getrusage(RUSAGE_SELF) is read at exit,
which is scribe alone (in KiB, Linux semantics), and written to OUTFILE.
The forked tracee never runs the atexit hook: it execs or _exits.
"""

from __future__ import annotations

import atexit
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    out = sys.argv[1]
    me = os.getpid()

    def report() -> None:
        if os.getpid() != me:
            return
        with open(out, "w") as f:
            f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))

    atexit.register(report)
    from scribe.cli import main as scribe_main

    code = scribe_main(sys.argv[2:])
    sys.exit(code)


if __name__ == "__main__":
    main()

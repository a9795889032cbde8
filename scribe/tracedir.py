"""Where traces go when the user names no file: a private per-user directory.

$SCRIBE_TRACE_DIR, else $XDG_DATA_HOME/scribe/traces (~/.local/share/...).
The directory is mode 0700 (traces hold everything the program read), each
trace is named after the program and the time, and `latest` links to the
newest one.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path


def trace_dir() -> Path:
    env = os.environ.get("SCRIBE_TRACE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(xdg) / "scribe" / "traces"


def ensure_dir(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    return d


def new_trace_path(argv: list[str]) -> Path:
    d = ensure_dir(trace_dir())
    name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(argv[0]) if argv else "trace")[:40] or "trace"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        p = d / f"{name}-{stamp}{'-' + str(i) if i else ''}.scribe"
        if not p.exists():
            return p
    raise OSError(f"cannot find a free trace name in {d}")


def link_latest(path: Path) -> None:
    link = path.parent / "latest"
    tmp = path.parent / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(path.name, tmp)
        os.replace(tmp, link)
    except OSError:
        pass


def latest() -> Path | None:
    link = trace_dir() / "latest"
    return link if link.exists() else None

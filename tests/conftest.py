"""Shared fixtures: compiling small C guest programs and running scribe."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GUESTS = Path(__file__).parent / "guests"
ROOT = Path(__file__).parent.parent
_BUILD = Path(os.environ.get("SCRIBE_TEST_BUILD", "/tmp/scribe-test-guests"))
# Replays keep digests of this machine's files (scribe/hostcache.py): the
# tests' replays keep theirs here, not in the user's cache.
os.environ["XDG_CACHE_HOME"] = os.environ.get("SCRIBE_TEST_CACHE", "/tmp/scribe-test-cache")


def _compile(name: str, extra: tuple[str, ...] = ()) -> Path:
    src = GUESTS / f"{name}.c"
    digest = hashlib.sha256(src.read_bytes() + " ".join(extra).encode()).hexdigest()[:12]
    _BUILD.mkdir(parents=True, exist_ok=True)
    out = _BUILD / f"{name}-{digest}"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        subprocess.run(["gcc", "-O1", "-g", "-o", str(tmp), str(src), "-lpthread", *extra], check=True)
        tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def guest():
    """guest("name") -> path of tests/guests/name.c compiled with gcc."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    return _compile


def scribe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "scribe", *args]


@pytest.fixture
def scribe():
    """scribe("run", "--", ...) -> CompletedProcess (text, captured)."""

    def run(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess[str]:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        env = kw.pop("env", None) or dict(os.environ)
        env.setdefault("PYTHONPATH", str(ROOT))
        return subprocess.run(scribe_cmd(*args), timeout=timeout, env=env, **kw)

    return run

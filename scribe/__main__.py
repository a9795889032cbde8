from __future__ import annotations

from scribe.cli import run

run()

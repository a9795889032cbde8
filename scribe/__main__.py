from __future__ import annotations

import sys

from scribe.cli import main

sys.exit(main())

"""scribe's interactive debugger (Textual): `scribe tui [TRACE]`.

Browse every recorded system call of every process, and (through the
`tui.live.LiveSession` seam) drive a live replay to any of them.

Modules, one job each:

- model.py: display-side view of a trace (rows decoded at display time by
  virt.decode, a small LRU, the scans that workers run); no Textual.
- eventlist.py: the event list, a Line API ScrollView (never a DataTable).
- proctree.py, detail.py: the process tree and the detail panel.
- live.py: the LiveSession protocol the replay engine implements, and the
  runner that calls it on one dedicated thread; no Textual.
- livepanel.py: the live panel.  dialogs.py: prompt and help screens.
- app.py: the application.  demo.py: a synthetic trace for tests/benchmark.

Keys follow less, vim and strace: j/k, arrows, PgUp/PgDn (b/space), g/G,
`:` go to event, `/` search forward, `?` search backward (as in less and
vim, so help is F1 or `h`), n/N, `f` filter (strace -e syntax), `F` clear
it, `e`/`E` next/previous failed call, `[`/`]` previous/next event of the
same process, `L` live panel, Esc cancels a running scan, q quits.  Every
binding has an id (app.*, list.*, tree.*, live.*), and the common actions
are in the command palette (Ctrl+P).

Nothing imports this package except scribe/cmd_tui.py, lazily.
"""

from __future__ import annotations

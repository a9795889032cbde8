"""Macro-benchmark workloads: real applications, each an idempotent command.

Each workload is set up once in a scratch directory (sources, a tree to
archive, an SQL script) and then run many times, natively and under every
contender; a run must do the same work each time (outputs are overwritten,
repositories and databases re-created by the command itself).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from dataclasses import dataclass, field


@dataclass
class Workload:
    name: str
    description: str
    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()   # programs that must be on PATH
    missing: str = ""             # why it cannot run here ("" = it can)


# -- sources ----------------------------------------------------------------

_FUNC = """\
#include "common.h"
static int helper_{i}_{j}(int x) {{ return (x * {k}) ^ (x >> 3); }}
int unit_{i}_{j}(int n) {{
    int acc = 0;
    for (int q = 0; q < n; q++) acc += helper_{i}_{j}(q) % 97;
    struct rec r = {{ .id = n, .score = acc / 3.0 }};
    return acc + (int)rec_weight(&r);
}}
"""

_HEADER = """\
#ifndef COMMON_H
#define COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct rec { int id; double score; char tag[16]; };
static inline double rec_weight(const struct rec *r) { return r->score * 0.5 + r->id; }
"""


def _write_c_project(d: str, files: int = 8, funcs: int = 12) -> list[str]:
    os.makedirs(d, exist_ok=True)
    decls = []
    names = []
    for i in range(files):
        body = []
        for j in range(funcs):
            body.append(_FUNC.format(i=i, j=j, k=(i * 31 + j * 7) % 13 + 2))
            decls.append(f"int unit_{i}_{j}(int n);")
        name = f"unit{i}.c"
        with open(os.path.join(d, name), "w") as f:
            f.write("\n".join(body))
        names.append(name)
    with open(os.path.join(d, "common.h"), "w") as f:
        f.write(_HEADER + "\n".join(decls) + "\n#endif\n")
    calls = "\n".join(f"    total += unit_{i}_{j}(argc + {j});" for i in range(files) for j in range(funcs))
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write('#include "common.h"\nint main(int argc, char **argv) {\n    long total = 0;\n'
                f'{calls}\n    printf("%ld\\n", total);\n    return 0;\n}}\n')
    names.append("main.c")
    objs = " ".join(n[:-2] + ".o" for n in names)
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write(f"CFLAGS = -O1\nOBJS = {objs}\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n"
                "%.o: %.c common.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n"
                "clean:\n\trm -f prog $(OBJS)\n")
    return names


def _write_tree(d: str, files: int, size: int, seed: int = 1) -> None:
    """A directory tree of text-like files (compressible, like source code)."""
    rng = random.Random(seed)
    words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))))
             for _ in range(400)]
    for n in range(files):
        sub = os.path.join(d, f"dir{n % 7}", f"sub{n % 3}")
        os.makedirs(sub, exist_ok=True)
        out = []
        total = 0
        while total < size:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n"
            out.append(line)
            total += len(line)
        with open(os.path.join(sub, f"file{n}.txt"), "w") as f:
            f.write("".join(out))


_SQL = """\
DROP TABLE IF EXISTS t;
DROP TABLE IF EXISTS agg;
CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v TEXT, r REAL);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
INSERT INTO t (k, v, r) SELECT abs(random()) % 1000, hex(randomblob(12)), random() / 1e18 FROM c;
COMMIT;
CREATE INDEX tk ON t(k);
CREATE TABLE agg AS SELECT k, count(*) AS n, avg(r) AS m FROM t GROUP BY k;
BEGIN;
UPDATE t SET r = r * 2 WHERE k % 3 = 0;
DELETE FROM t WHERE k % 7 = 0;
COMMIT;
SELECT count(*), sum(n) FROM agg;
SELECT k, n FROM agg ORDER BY n DESC LIMIT 3;
"""


def python_exe() -> str:
    """A real interpreter binary (not a pyenv shim script, which would time bash too)."""
    for cand in ("/usr/bin/python3", os.path.join(sys.base_prefix, "bin", "python3"), sys.executable):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    return sys.executable


def make_workloads(root: str, *, quick: bool) -> list[Workload]:
    """Set up every macro workload under `root` and return them."""
    os.makedirs(root, exist_ok=True)
    src = os.path.join(root, "cproj")
    files = _write_c_project(src, files=4 if quick else 8, funcs=8 if quick else 12)
    mk = os.path.join(root, "mkproj")
    _write_c_project(mk, files=4 if quick else 8, funcs=8 if quick else 12)
    tree = os.path.join(root, "tree")
    if not os.path.isdir(tree):
        _write_tree(tree, files=60 if quick else 400, size=8000 if quick else 32000)
    gtree = os.path.join(root, "gtree")
    if not os.path.isdir(gtree):
        _write_tree(gtree, files=30 if quick else 200, size=4000, seed=2)
    sql = os.path.join(root, "workload.sql")
    with open(sql, "w") as f:
        f.write(_SQL.format(rows=5000 if quick else 100000))
    home = os.path.join(root, "home")
    os.makedirs(home, exist_ok=True)
    git_env = {"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "bench",
               "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
               "GIT_COMMITTER_EMAIL": "bench@example.com"}
    py = python_exe()
    w = [
        Workload("gcc", f"gcc -O1 compiling and linking {len(files)} C files",
                 ["gcc", "-O1", "-o", "prog", *files], src, needs=("gcc",)),
        Workload("python", "python3 start-up + stdlib imports (json, decimal, email, http.client, asyncio, sqlite3)",
                 [py, "-I", "-c", "import json, decimal, email.parser, http.client, asyncio, sqlite3, "
                  "xml.dom.minidom; print(json.dumps({'ok': decimal.Decimal(1).is_finite()}))"],
                 root),
        Workload("tar-gzip", "tar czf of a text tree (tar + gzip child)",
                 ["tar", "czf", "tree.tgz", "tree"], root, needs=("tar", "gzip")),
        Workload("git", "git init, add a tree, commit (in a fresh repository each run)",
                 ["sh", "-c", "rm -rf repo && git init -q repo && cp -r gtree repo/ && cd repo && "
                  "git add -A && git commit -qm bench"], root, env=git_env, needs=("git", "sh")),
        Workload("sqlite3", "sqlite3 scripted workload (insert with random(), index, group by, update, delete)",
                 ["sqlite3", "bench.db", ".read workload.sql"], root, needs=("sqlite3",)),
        Workload("make-j2", f"make -j2 -B of {len(files)} C files",
                 ["make", "-s", "-j2", "-B"], mk, needs=("make", "gcc")),
        Workload("pipeline", "sh pipeline: seq | sort -rn | uniq | md5sum",
                 ["sh", "-c", f"seq 1 {100000 if quick else 1000000} | sort -rn | uniq | md5sum"],
                 root, needs=("sh", "seq", "sort", "uniq", "md5sum")),
    ]
    for wl in w:
        gone = [p for p in wl.needs if shutil.which(p) is None]
        if gone:
            wl.missing = "not installed: " + ", ".join(gone)
    return w


def scalability_workload(root: str, *, quick: bool) -> Workload:
    """The workload every concurrent VEE records: a small shell pipeline."""
    os.makedirs(root, exist_ok=True)
    n = 20000 if quick else 60000
    return Workload("scal-pipeline", f"sh -c 'seq 1 {n} | sort -rn | md5sum'",
                    ["sh", "-c", f"seq 1 {n} | sort -rn | md5sum"], root)

"""Tables, plots and the RESULTS.md text from a benchmarks/run.py result dict."""

from __future__ import annotations

import os
from typing import Any

MICRO_ORDER = ("native", "run", "record", "replay", "strace", "pptrace")
MACRO_ORDER = ("native", "strace", "run", "record", "replay")


def _us(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _ratio(s: dict[str, float] | None) -> str:
    if not s:
        return "-"
    m = s["median"]
    if s.get("n", 1) > 1:
        return f"{m:.2f} ({s['min']:.2f}-{s['max']:.2f})"
    return f"{m:.2f}"


def _table(head: list[str], rows: list[list[str]], md: bool) -> str:
    if md:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
    out = [line, "  ".join("-" * x for x in w)]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(out)


SHORT = {"native": "native", "run": "run", "record": "record", "replay": "replay", "strace": "strace",
         "pptrace": "pptrace"}
LEGEND = ("run/record/replay = scribe run/record/replay; strace = strace -f -o /dev/null; "
          "pptrace = python-ptrace's strace.py -f -o /dev/null")


def micro_table(res: dict[str, Any], labels: dict[str, str], op_labels: dict[str, str], md: bool = False) -> str:
    """Two tables: per-call µs by contender, then ratios to native and to strace."""
    if "na" in res:
        return f"micro: n/a ({res['na']})"
    present = [c for c in MICRO_ORDER if any(c in row for row in res.values())]
    head = ["call"] + [f"{SHORT[c]} µs" for c in present]
    rows = []
    for op, row in res.items():
        cells = [op_labels.get(op, op)]
        for c in present:
            cell = row.get(c, {})
            cells.append("n/a" if "na" in cell or "percall_us" not in cell else _us(cell["percall_us"]["median"]))
        rows.append(cells)
    t1 = _table(head, rows, md)
    pairs = [(c, "native") for c in present if c != "native"] + \
        [(c, "strace") for c in present if c not in ("native", "strace")]
    head = ["call"] + [f"{SHORT[c]}/{ref}" for c, ref in pairs]
    rows = []
    for op, row in res.items():
        cells = [op_labels.get(op, op)]
        for c, ref in pairs:
            cell = row.get(c, {})
            cells.append("n/a" if "na" in cell else _ratio(cell.get(f"ratio_{ref}")))
        rows.append(cells)
    return t1 + "\n\n" + _table(head, rows, md)


def macro_table(res: dict[str, Any], labels: dict[str, str], md: bool = False) -> str:
    head = ["workload", "native s", "strace/native", "run/native", "record/native", "replay/native",
            "record/strace", "replay/record", "trace KiB", "events", "B/event", "B/event (no blobs)"]
    rows = []
    for name, row in res.items():
        if "na" in row:
            rows.append([name, f"n/a: {row['na']}"] + [""] * (len(head) - 2))
            continue

        def r(c: str, ref: str) -> str:
            cell = row.get(c, {})
            if "na" in cell:
                return "n/a"
            return _ratio(cell.get(f"ratio_{ref}"))

        nat = row.get("native", {}).get("wall_s")
        tr = row.get("trace", {})
        ev = tr.get("events")
        rows.append([
            name, f"{nat['median']:.3f}" if nat else "n/a",
            r("strace", "native"), r("run", "native"), r("record", "native"), r("replay", "native"),
            r("record", "strace"), r("replay", "record"),
            f"{tr['bytes'] / 1024:,.0f}" if "bytes" in tr else "-",
            f"{ev:,}" if ev else "-",
            f"{tr['bytes_per_event']:.1f}" if tr.get("bytes_per_event") else "-",
            f"{tr['event_bytes_per_event']:.1f}" if tr.get("event_bytes_per_event") else "-",
        ])
    return _table(head, rows, md)


def scal_table(res: dict[str, Any], md: bool = False) -> str:
    if "na" in res:
        return f"scalability: n/a ({res['na']})"
    head = ["VEEs", "wall s (median)", "slowdown vs 1", "vs native same k", "throughput runs/s",
            "native runs/s", "recorder RSS MiB/VEE"]
    rows = []
    for row in res.get("rows", []):
        w = row.get("wall_s")
        tp = row.get("throughput_per_s")
        ntp = row.get("native_throughput_per_s")
        rss = row.get("rss_kb_per_vee")
        rows.append([
            str(row["k"]), f"{w['median']:.2f}" if w else "n/a",
            f"{row['slowdown_vs_1']:.2f}" if "slowdown_vs_1" in row else "n/a",
            f"{row['ratio_native_same_k']:.2f}" if "ratio_native_same_k" in row else "n/a",
            f"{tp['median']:.2f}" if tp else "n/a", f"{ntp['median']:.2f}" if ntp else "n/a",
            f"{rss['median'] / 1024:.1f}" if rss else "n/a",
        ])
    return _table(head, rows, md)


def na_lines(result: dict[str, Any]) -> list[str]:
    out = []
    for n, c in result.get("contenders", {}).items():
        if not c["available"]:
            out.append(f"{c['label']}: n/a for the whole run ({c['note']})")
    for op, row in (result.get("micro") or {}).items():
        if not isinstance(row, dict):
            continue
        for c, cell in row.items():
            if isinstance(cell, dict) and "na" in cell and result["contenders"].get(c, {}).get("available"):
                out.append(f"micro {op}, {result['labels'][c]}: n/a ({cell['na']})")
    for wl, row in (result.get("macro") or {}).items():
        if "na" in row:
            out.append(f"macro {wl}: n/a ({row['na']})")
            continue
        for c in MACRO_ORDER:
            cell = row.get(c, {})
            if "na" in cell and result["contenders"].get(c, {}).get("available"):
                out.append(f"macro {wl}, {result['labels'][c]}: n/a ({cell['na']})")
    return out


def tables(result: dict[str, Any], md: bool = False) -> str:
    m = result["machine"]
    parts = [f"machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']} ({m['virtualization']}), "
             f"python {m['python']}; {m['date']}; scribe {m['scribe_commit']}"]
    labels, ol = result["labels"], result["op_labels"]
    if "micro" in result:
        parts += ["", "MICRO: per-call cost (µs, median) and ratios (median (min-max) over repetitions)",
                  micro_table(result["micro"], labels, ol, md), LEGEND]
    if "macro" in result:
        parts += ["", "MACRO: wall-time ratios (median (min-max) over repetitions); trace of one record run",
                  macro_table(result["macro"], labels, md)]
    if "scalability" in result:
        s = result["scalability"]
        parts += ["", f"SCALABILITY: concurrent `scribe {s.get('contender', 'record')}` of: {s.get('workload')}",
                  scal_table(s, md)]
        if s.get("note"):
            parts.append(s["note"])
        if s.get("failures"):
            parts.append("failures: " + "; ".join(s["failures"]))
    nas = na_lines(result)
    if nas:
        parts += ["", "n/a:"] + [f"  {x}" for x in nas]
    return "\n".join(parts)


def plots(result: dict[str, Any], out: str) -> list[str] | str:
    """PNG files; a message instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plots skipped: matplotlib is not installed (pip install matplotlib)"
    files = []
    labels = result["labels"]
    micro = result.get("micro")
    if micro and "na" not in micro:
        ops = list(micro)
        cs = [c for c in MICRO_ORDER if any("percall_us" in micro[o].get(c, {}) for o in ops)]
        fig, ax = plt.subplots(figsize=(12, 5))
        width = 0.8 / max(1, len(cs))
        for i, c in enumerate(cs):
            ys = [micro[o].get(c, {}).get("percall_us", {}).get("median", float("nan")) for o in ops]
            ys = [y if y and y > 0 else float("nan") for y in ys]
            ax.bar([x + i * width for x in range(len(ops))], ys, width, label=labels[c])
        ax.set_yscale("log")
        ax.set_xticks([x + width * (len(cs) - 1) / 2 for x in range(len(ops))])
        ax.set_xticklabels([result["op_labels"].get(o, o) for o in ops], rotation=20)
        ax.set_ylabel("per-call cost, µs (log)")
        ax.set_title("micro-benchmarks: per-call cost")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(out, "micro.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p)
    macro = result.get("macro")
    if macro:
        wls = [w for w in macro if "na" not in macro[w]]
        cs = ["strace", "run", "record", "replay"]
        if wls:
            fig, ax = plt.subplots(figsize=(11, 5))
            width = 0.8 / len(cs)
            for i, c in enumerate(cs):
                ys = []
                for w in wls:
                    r = macro[w].get(c, {}).get("ratio_native")
                    ys.append(r["median"] if r else float("nan"))
                ax.bar([x + i * width for x in range(len(wls))], ys, width, label=labels[c])
            ax.axhline(1.0, color="grey", lw=0.8)
            ax.set_yscale("log")
            ax.set_xticks([x + width * (len(cs) - 1) / 2 for x in range(len(wls))])
            ax.set_xticklabels(wls)
            ax.set_ylabel("wall time / native (log)")
            ax.set_title("macro-benchmarks: slowdown over native")
            ax.legend(fontsize=8)
            fig.tight_layout()
            p = os.path.join(out, "macro.png")
            fig.savefig(p, dpi=110)
            plt.close(fig)
            files.append(p)
    scal = result.get("scalability")
    if scal and scal.get("rows"):
        rows = scal["rows"]
        ks = [r["k"] for r in rows]
        fig, axs = plt.subplots(1, 3, figsize=(14, 4))
        axs[0].plot(ks, [r.get("slowdown_vs_1", float("nan")) for r in rows], "o-", label=f"scribe {scal['contender']}")
        axs[0].set_title("per-VEE slowdown vs 1 VEE")
        axs[0].set_ylim(bottom=0)
        axs[1].plot(ks, [r.get("throughput_per_s", {}).get("median", float("nan")) for r in rows], "o-",
                    label=f"scribe {scal['contender']}")
        axs[1].plot(ks, [r.get("native_throughput_per_s", {}).get("median", float("nan")) for r in rows], "s--",
                    label="native")
        axs[1].set_title("aggregate throughput (runs/s, log)")
        axs[1].set_yscale("log")
        axs[2].plot(ks, [r.get("rss_kb_per_vee", {}).get("median", float("nan")) / 1024 for r in rows], "o-")
        axs[2].set_title("recorder RSS per VEE (MiB)")
        axs[2].set_ylim(bottom=0)
        for ax in axs:
            ax.set_xscale("log", base=2)
            ax.set_xticks(ks)
            ax.set_xticklabels([str(k) for k in ks])
            ax.set_xlabel("concurrent VEEs")
        axs[1].legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(out, "scalability.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p)
    return files


def markdown(result: dict[str, Any], plot_names: list[str]) -> str:
    m = result["machine"]
    lines = [
        "# scribe benchmark results", "",
        "Generated by `.venv/bin/python benchmarks/run.py" + (" --quick" if result.get("quick") else "") + "`.",
        "", "## Machine", "",
        f"- date: {m['date']}", f"- CPU: {m['cpu']}, {m['cores']} cores ({m['virtualization']})",
        f"- kernel: Linux {m['kernel']}", f"- python {m['python']}; {m['strace']}; {m['gcc']}",
        f"- scribe commit: {m['scribe_commit']}", f"- repetitions: {result.get('reps')}, "
        f"run time {result.get('elapsed_s', 0):.0f} s",
        "- scribe as installed: its bytecode compiled first, and run without the editable "
        "install's import hook (run.compile_bytecode, run.scribe_cmd); run, record and replay bound to "
        "one CPU (their default)",
        "", "## Contenders", "",
    ]
    for n, c in result.get("contenders", {}).items():
        lines.append(f"- {c['label']}: {'available' if c['available'] else 'n/a'}"
                     + (f" — {c['note']}" if c["note"] else ""))
    labels, ol = result["labels"], result["op_labels"]
    if "micro" in result:
        lines += ["", "## Micro-benchmarks", "",
                  "Per-call cost in µs (median over repetitions) = (T(N2) - T(N1)) / (N2 - N1), and ratios "
                  "median (min-max) computed within each repetition.", "",
                  micro_table(result["micro"], labels, ol, md=True), "", LEGEND]
    if "macro" in result:
        lines += ["", "## Macro-benchmarks", "",
                  "Wall-time ratios, median (min-max) over repetitions, each ratio from one repetition. "
                  "Trace figures from one record run; \"no blobs\" counts only the event chunks.", "",
                  macro_table(result["macro"], labels, md=True)]
    if "scalability" in result:
        s = result["scalability"]
        lines += ["", "## Scalability", "", f"Concurrent `scribe {s.get('contender', 'record')}` of "
                  f"`{s.get('workload')}`; native run the same way for reference.", "", scal_table(s, md=True)]
        if s.get("note"):
            lines += ["", s["note"]]
        if s.get("failures"):
            lines += ["", "Failures: " + "; ".join(s["failures"])]
    nas = na_lines(result)
    if nas:
        lines += ["", "## Not available", ""] + [f"- {x}" for x in nas]
    if plot_names:
        lines += ["", "## Plots", "", "Written next to results.json: " + ", ".join(plot_names) + "."]
    return "\n".join(lines) + "\n"

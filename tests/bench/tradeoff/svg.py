#!/usr/bin/env python3
"""tests/bench/tradeoff/svg.py: draw the PV trade-off benchmark as a standalone SVG chart.

    svg.py CSV OUT.svg [--metric insns|ns]

CSV is build/bench/results.csv (header metric,config,value,unit). Only rows named
tradeoff.<workload>.<mode>, mode one of native, trap, pv, pv-batch, pv-async, are used:

    --metric insns (default)  rows with config icount, unit insns (instructions per op);
                              config icount, unit ratio rows are a fallback for a cell
                              whose workload has no native insns row
    --metric ns               rows with config tcg, unit ns (median wall time per op)

Every other row is ignored. OUT.svg gets a grouped bar chart: one group per workload in
order of first appearance, one bar per mode in the fixed order above, bar height = the
ratio to that workload's native value on a log y axis, with a 1x "native" line, a ratio
label on each bar and a legend. Missing cells draw nothing; they, and workloads skipped
for lack of a native value, are listed in the footer. Standard library only; exits
non-zero with a message when the CSV holds no tradeoff rows for the chosen metric.
"""
import argparse
import csv
import math
import sys
import textwrap
from xml.sax.saxutils import escape

MODES = ["native", "trap", "pv", "pv-batch", "pv-async"]
COLORS = {"native": "#999999", "trap": "#d55e00", "pv": "#0072b2",
          "pv-batch": "#009e73", "pv-async": "#cc79a7"}  # Okabe-Ito, colour-blind safe
METRICS = {  # metric -> (config, unit, words for the subtitle)
    "insns": ("icount", "insns", "instructions per operation (config icount: QEMU -icount, deterministic)"),
    "ns": ("tcg", "ns", "median wall-clock ns per operation (config tcg: QEMU TCG, host-dependent)"),
}
W, PLOT_H = 1120, 380
LEFT, RIGHT, TOP = 80, 70, 110
FONT = "font-family='DejaVu Sans,Helvetica,Arial,sans-serif'"


def read_rows(path, metric):
    """Return (workloads in first-appearance order, {(w, m): value}, {(w, m): ratio})."""
    config, unit = METRICS[metric][:2]
    order, values, ratios = [], {}, {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            name = (row.get("metric") or "").strip()
            if not name.startswith("tradeoff.") or name.count(".") < 2:
                continue
            w, m = name[len("tradeoff."):].rsplit(".", 1)
            cfg, u = (row.get("config") or "").strip(), (row.get("unit") or "").strip()
            if m not in MODES or cfg != config or u not in (unit, "ratio"):
                continue
            try:
                v = float(row["value"])
            except (TypeError, ValueError):
                continue
            if w not in order:
                order.append(w)
            (values if u == unit else ratios)[(w, m)] = v
    if metric != "insns":
        ratios = {}
    return order, values, ratios


def compute_ratios(order, values, ratios):
    """Return ({workload: {mode: ratio}}, footer notes) for workloads that have a native."""
    out, missing, skipped = {}, [], []
    for w in order:
        nat = values.get((w, "native"))
        have_nat = nat is not None and math.isfinite(nat) and nat > 0
        if not have_nat and (w, "native") not in ratios:
            skipped.append(w)
            continue
        out[w] = {}
        for m in MODES:
            r = values[(w, m)] / nat if have_nat and (w, m) in values else ratios.get((w, m))
            if r is not None and math.isfinite(r) and r > 0:
                out[w][m] = r
            else:
                missing.append(f"{w}/{m}")
    notes = []
    if missing:
        notes.append("not measured (no bar): " + ", ".join(missing))
    if skipped:
        notes.append("skipped, no native value: " + ", ".join(skipped))
    return out, notes


def log_ticks(lo, hi):
    """Return the 1-2-5 ticks (0.5x, 1x, 2x, 5x, 10x...) that just cover [lo, hi], 1x included."""
    lo, hi = min(lo / 1.15, 0.5), max(hi, 2.0)  # the lowest bar keeps some height
    ticks, k = [], math.floor(math.log10(lo)) - 1
    while True:
        for s in (1, 2, 5):
            t = s * 10.0 ** k
            if t <= lo * 1.0001:
                ticks = [t]
            elif ticks:
                ticks.append(t)
                if t >= hi * 0.9999:
                    return ticks
        k += 1


def fmt_ratio(r):
    """Format a ratio for a bar label: 0.42x, 1.8x, 23x."""
    if r >= 9.95:
        return f"{r:.0f}x"
    return f"{r:.1f}x" if r >= 0.995 else f"{r:.2f}x"


def fmt_tick(t):
    """Format a tick value: 0.5x, 1x, 20x, 1000x."""
    return f"{t:.10g}x"


def text(x, y, s, size=12, anchor="middle", extra=""):
    """Return one SVG <text> element with escaped content."""
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size:.3g}' text-anchor='{anchor}' "
            f"{FONT} {extra}>{escape(s)}</text>")


def render(data, notes, metric, source):
    """Return the whole SVG document as a string."""
    pw, ph = W - LEFT - RIGHT, PLOT_H
    footer = [line for n in notes + [f"source: {source}"] for line in textwrap.wrap(n, 170)]
    H = TOP + ph + 66 + 16 * len(footer)
    rs = [r for cells in data.values() for r in cells.values()]
    ticks = log_ticks(min(rs), max(rs))
    while math.log10(ticks[-1] / max(rs)) / math.log10(ticks[-1] / ticks[0]) * ph < 36:
        ticks = log_ticks(min(rs), ticks[-1] * 1.01)  # room above the tallest bar for its label
    l0, l1 = math.log10(ticks[0]), math.log10(ticks[-1])
    ypix = lambda r: TOP + ph - (math.log10(r) - l0) / (l1 - l0) * ph  # noqa: E731
    base = TOP + ph
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' "
           f"viewBox='0 0 {W} {H}'>", f"<rect width='{W}' height='{H}' fill='white'/>"]
    out.append(text(LEFT, 30, f"hako: the PV trade-off, {metric} per operation relative to native",
                    18, "start", "font-weight='bold'"))
    out.append(text(LEFT, 52, "bar = " + METRICS[metric][2] + " / the same workload's native value;"
                    " lower is better", 12, "start", "fill='#444'"))
    lx = LEFT  # legend, one row under the subtitle
    for m in MODES:
        out.append(f"<rect x='{lx}' y='70' width='14' height='14' fill='{COLORS[m]}'/>")
        out.append(text(lx + 20, 82, m, 12, "start"))
        lx += 30 + 8 * len(m) + 24
    for t in ticks:  # grid and y tick labels
        y = ypix(t)
        out.append(f"<line x1='{LEFT}' x2='{LEFT + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e3e3e3'/>")
        out.append(text(LEFT - 6, y + 4, fmt_tick(t), 11, "end"))
    out.append(text(22, TOP + ph / 2, f"{metric} per op, relative to native (log scale)", 12,
                    extra=f"transform='rotate(-90 22 {TOP + ph / 2:.1f})'"))
    gw = pw / max(len(data), 1)
    bw = min(gw * 0.84 / len(MODES), 40.0)  # few workloads: keep the bars slim
    labels = [fmt_ratio(r) for r in rs]
    rotate = max(len(s) for s in labels) * 5.6 > bw + 2  # labels too wide: write them upward
    size = 10 if rotate else 9
    for i, (w, cells) in enumerate(data.items()):
        x0 = LEFT + i * gw + (gw - bw * len(MODES)) / 2
        for j, m in enumerate(MODES):
            if m not in cells:
                continue
            x, y = x0 + j * bw, ypix(cells[m])
            out.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bw - 1.5:.1f}' height='{base - y:.1f}' "
                       f"fill='{COLORS[m]}'><title>{escape(f'{w} {m}: {fmt_ratio(cells[m])}')}</title></rect>")
            cx = x + (bw - 1.5) / 2
            if rotate:
                out.append(text(cx + 3, y - 3, fmt_ratio(cells[m]), size, "start",
                                f"transform='rotate(-90 {cx + 3:.1f} {y - 3:.1f})'"))
            else:
                out.append(text(cx, y - 3, fmt_ratio(cells[m]), size))
        out.append(text(LEFT + i * gw + gw / 2, base + 20, w, min(13, gw / (0.62 * len(w)))))
    y1 = ypix(1.0)  # the native reference line, drawn over the bars
    out.append(f"<line x1='{LEFT}' x2='{LEFT + pw}' y1='{y1:.1f}' y2='{y1:.1f}' stroke='#222' "
               f"stroke-width='1.2' stroke-dasharray='6 3'/>")
    out.append(text(LEFT + pw + 6, y1 + 4, "native", 12, "start", "font-weight='bold'"))
    out.append(f"<rect x='{LEFT}' y='{TOP}' width='{pw}' height='{ph}' fill='none' stroke='#888'/>")
    out.append(text(LEFT + pw / 2, base + 42, "workload", 12, extra="fill='#444'"))
    fy = base + 66
    for note in footer:
        out.append(text(LEFT, fy, note, 11, "start", "fill='#444'"))
        fy += 16
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    """Parse arguments, read the CSV, write the SVG."""
    ap = argparse.ArgumentParser(description="Draw the tradeoff.* benchmark rows as an SVG bar chart.")
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("--metric", choices=sorted(METRICS), default="insns")
    a = ap.parse_args()
    order, values, ratios = read_rows(a.csv, a.metric)
    if not order:
        config, unit = METRICS[a.metric][:2]
        sys.exit(f"svg.py: no tradeoff.<workload>.<mode> rows with config {config}, unit {unit}"
                 f"{' or ratio' if a.metric == 'insns' else ''} in {a.csv}")
    data, notes = compute_ratios(order, values, ratios)
    if not any(data.values()):
        sys.exit(f"svg.py: no workload in {a.csv} has a native {a.metric} value to compare with")
    data = {w: c for w, c in data.items() if c}
    with open(a.out, "w") as f:
        f.write(render(data, notes, a.metric, a.csv))


if __name__ == "__main__":
    main()

"""The page "what each metric sees": a metric-check file (lsbench.evaluate.metric_check) as a
table of verdicts, one row per metric value and one column per fault family, and under it one
small SVG plot per metric value and family (mean and 95% interval against the fault's severity)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import List

from lsbench.evaluate.metric_check import VERDICTS

from .public import scrub

PAGE = "what_each_metric_sees.html"
W, H, PAD = 180, 90, 14


def svg_curve(points: List[dict], higher: bool) -> str:
    """Mean (dots, line) and interval (bars) per severity; the ground truth is the first point."""
    pts = [p for p in points if p.get("mean") is not None]
    if not pts:
        return '<svg width="180" height="90" role="img"><text x="8" y="48" font-size="11">no value</text></svg>'
    lo = min(min(p["ci95"]) if p.get("ci95") else p["mean"] for p in pts)
    hi = max(max(p["ci95"]) if p.get("ci95") else p["mean"] for p in pts)
    span, smax = (hi - lo) or 1.0, max(p["severity"] for p in pts) or 1.0

    def xy(sev: float, v: float) -> str:
        return f"{PAD + (W - 2 * PAD) * sev / smax:.1f},{H - PAD - (H - 2 * PAD) * (v - lo) / span:.1f}"

    parts = [f'<polyline fill="none" stroke="#555" points="{" ".join(xy(p["severity"], p["mean"]) for p in pts)}"/>']
    for p in pts:
        if p.get("ci95"):
            (x, y1), (_, y2) = (xy(p["severity"], v).split(",") for v in p["ci95"])
            parts.append(f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#999"/>')
        x, y = xy(p["severity"], p["mean"]).split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{"#2a7" if p["severity"] == 0 else "#c33"}"/>')
    arrow = "higher is better" if higher else "lower is better"
    return (f'<svg width="{W}" height="{H}" role="img" aria-label="{arrow}">' + "".join(parts)
            + f'<text x="{PAD}" y="11" font-size="9" fill="#666">{arrow}; x: severity</text></svg>')


def render(doc: dict, source: str) -> str:
    families = list(next(iter(doc["metrics"].values()))["families"]) if doc["metrics"] else []
    head = "".join(f"<th>{html.escape(f)}</th>" for f in families)
    rows, plots = [], []
    for key, m in doc["metrics"].items():
        cells = "".join(f'<td class="verdict {html.escape(m["families"][f]["verdict"])}" '
                        f'title="{html.escape(m["families"][f]["why"])}">{html.escape(m["families"][f]["verdict"])}</td>'
                        for f in families)
        rows.append(f"<tr><th>{html.escape(key)}</th>{cells}</tr>")
        plots.append(f"<h3>{html.escape(key)}</h3><div class=\"plots\">" + "".join(
            f"<figure>{svg_curve(m['families'][f]['curve'], m['higher_is_better'])}<figcaption>{html.escape(f)}: "
            f"{html.escape(m['families'][f]['verdict'])}</figcaption></figure>" for f in families) + "</div>")
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(scrub(str(v)))}</li>" for k, v in doc["skipped_metrics"].items())
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>What each metric sees</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:3px 8px;border-bottom:1px solid #ddd}}
.responds{{background:#dfd}}.inverted{{background:#fdd}}.blind{{background:#eee}}.undefined{{color:#999}}
.plots{{display:flex;flex-wrap:wrap}}figure{{margin:4px}}figcaption{{font-size:11px}}</style></head><body>
<h1>What each metric sees</h1>
<p>{len(doc['clips'])} clips of {html.escape(', '.join(doc['datasets']))} ({html.escape(source)}), LSE route
{html.escape(doc['lse_route'])}. Verdicts ({', '.join(VERDICTS)}) by the rule: {html.escape(doc['rule'])}</p>
<table><tr><th>value</th>{head}</tr>{''.join(rows)}</table>
{'<p>Not computed:</p><ul>' + skipped + '</ul>' if skipped else ''}
{''.join(plots)}
</body></html>
"""


def write_page(doc: dict, out: Path, source: str = "") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / PAGE
    path.write_text(render(doc, scrub(source or doc.get("data", ""))))
    return path

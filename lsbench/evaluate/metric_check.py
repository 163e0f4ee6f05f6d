"""`lsbench metric-check`: does a metric see the fault it claims to measure? Every selected metric
scores every fault of lsbench.evaluate.faults on the same target clips, by its normal route, and
each (metric value, fault family) gets a response curve and a verdict by one rule:

- responds: the mean gets worse (the value's own direction) as the fault grows, and the largest
  fault's 95% interval lies entirely on the worse side of the ground truth's interval;
- inverted: the same with "better": the metric rewards the fault;
- blind: neither;
- undefined: no verdict can be formed, with the reason (no value, fewer than 2 clips).

"Grows": Spearman's rho between severity (0 for the ground truth) and the mean, at least 0.5 in
size; a one-level family compares the fault with the ground truth directly. Intervals are the
percentile bootstrap over clips of lsbench.evaluate.stats. The output is versioned JSON that
`lsbench validate` checks and the leaderboard renders ("what each metric sees").
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from ..device import pick as pick_device
from ..shards import ShardIndex
from . import stats
from .faults import FAMILIES, FAULTS, Fault, FaultProducer
from .metric_set import make_metrics, metric_names
from .options import Settings
from .plan import make_protocol, pick_route, plan_pairs
from .score import PairScorer

VERSION = 1
VERDICTS = ("responds", "inverted", "blind", "undefined")
MIN_RHO = 0.5


def run_check(data: Path, split: Optional[str] = "test", limit: Optional[int] = None,
              metrics: Optional[List[str]] = None, device: str = "auto", progress: bool = True,
              echo: Callable[[str], None] = print) -> dict:
    """The check's document: per fault, every clip's values; per metric value and family, the curve
    and the verdict."""
    from tqdm import tqdm

    device = pick_device(device)
    index = ShardIndex.open(data, split)
    protocol = make_protocol("reconstruction")
    _, pairs = plan_pairs(protocol, index, 0, limit)
    datasets = sorted({index.light[p.target]["dataset"] for p in pairs})
    chosen, skipped = make_metrics(metric_names(protocol, metrics), device, echo)
    chosen = [m for m in chosen if m.kind != "set"]  # a set statistic has no per-clip value to draw a curve from
    settings = Settings(route=pick_route(datasets, "auto"), threads=1)
    ids = sorted(p.target for p in pairs)
    partners = {c: ids[(i + 1) % len(ids)] for i, c in enumerate(ids)}
    values: Dict[str, Dict[str, List[Optional[float]]]] = {}
    failed: Dict[str, str] = {}
    for fault in tqdm(FAULTS, desc="metric-check", unit="fault", disable=not progress):
        scorer = PairScorer(FaultProducer(fault, index, partners), chosen, index, settings)
        rows = [scorer.score(p) for p in pairs]
        values[fault.label] = _collect(rows, chosen)
        failed.update({f"{fault.label} / {r['clip_id']}": r["reason"] for r in rows if r["status"] != "ok"})
    directions = {v: d for m in chosen for v, d in m.higher_is_better.items()}
    return {"metric_check_version": VERSION, "data": str(data), "split": split, "datasets": datasets,
            "clips": [p.target for p in pairs], "lse_route": settings.route,
            "faults": [{"label": f.label, "family": f.family, "magnitude": f.magnitude, "severity": f.severity}
                       for f in FAULTS],
            "rule": __doc__.split("\n\n")[1].strip(), "skipped_metrics": skipped, "failed": failed,
            "settings": {m.name: m.settings() for m in chosen},
            "metrics": {key: verdicts(values, key, higher) for key, higher in directions.items()}}


def _collect(rows: List[dict], metrics: list) -> Dict[str, List[Optional[float]]]:
    keys = [v for m in metrics for v in m.higher_is_better]
    return {k: [_finite(r["metrics"].get(k)) if r["status"] == "ok" else None for r in rows] for k in keys}


def _finite(v) -> Optional[float]:
    """A value as a float (+-inf kept: the PSNR of identical frames is +inf), None when there is none."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def curve(values: Dict[str, Dict[str, List[Optional[float]]]], key: str, faults: List[Fault]) -> List[dict]:
    """Mean and 95% interval per severity of one family (signed shifts pooled by |k|), ground truth first."""
    by: Dict[float, List[float]] = {}
    for f in faults:
        by.setdefault(f.severity, []).extend(v for v in values[f.label].get(key, []) if v is not None)
    out = []
    for severity in sorted(by):
        ci = stats.bootstrap_ci(by[severity])
        point = {"severity": severity, "mean": ci["mean"], "ci95": ci["ci95"], "n": ci["n"]}
        infinite = {v for v in by[severity] if np.isinf(v)}
        if ci["n"] == 0 and len(infinite) == 1:  # every value the same infinity (PSNR of identical frames)
            point["infinite"] = "+inf" if infinite.pop() > 0 else "-inf"
        out.append(point)
    return out


def _numeric(p: dict) -> dict:
    """A point whose values were all one infinity, as that number (for ranking and comparing)."""
    if p.get("infinite"):
        inf = float(p["infinite"])
        return {**p, "mean": inf, "ci95": [inf, inf]}
    return p


def verdicts(values, key: str, higher: bool) -> dict:
    gt = [f for f in FAULTS if f.family == "ground_truth"]
    out = {"higher_is_better": higher, "families": {}}
    for family in FAMILIES:
        points = curve(values, key, gt + [f for f in FAULTS if f.family == family])
        verdict, why = judge(points, higher)
        out["families"][family] = {"curve": points, "verdict": verdict, "why": why}
    return out


def judge(points: List[dict], higher: bool) -> "tuple[str, str]":
    """The rule of the module docstring on one curve (ground truth first)."""
    points = [_numeric(p) for p in points]
    if not points or points[0]["severity"] != 0 or points[0]["mean"] is None:
        return "undefined", "no value for the ground truth"
    worst = points[-1]
    if len(points) < 2 or worst["mean"] is None:
        return "undefined", "no value for the fault"
    if points[0]["ci95"] is None or worst["ci95"] is None:
        return "undefined", f"fewer than {stats.MIN_CLIPS_FOR_INTERVAL} clips with a value: no interval"
    sign = 1.0 if higher else -1.0
    good = [sign * p["mean"] for p in points if p["mean"] is not None]
    sev = [p["severity"] for p in points if p["mean"] is not None]
    trend = _spearman(sev, good) if len(good) > 2 else float(np.sign(good[-1] - good[0]) if good[-1] != good[0] else 0)
    g_lo, g_hi = sorted(sign * v for v in points[0]["ci95"])
    w_lo, w_hi = sorted(sign * v for v in worst["ci95"])
    if trend <= -MIN_RHO and w_hi < g_lo:
        return "responds", f"worse as the fault grows (rho {trend:+.2f}); largest fault's interval below the ground truth's"
    if trend >= MIN_RHO and w_lo > g_hi:
        return "inverted", f"better as the fault grows (rho {trend:+.2f}); largest fault's interval above the ground truth's"
    return "blind", f"rho {trend:+.2f}; intervals {'overlap' if not (w_hi < g_lo or w_lo > g_hi) else 'separate'}"


def _spearman(x: List[float], y: List[float]) -> float:
    from scipy.stats import rankdata

    if len(set(y)) < 2:
        return 0.0  # a flat curve: no trend (Spearman is undefined)
    rx, ry = rankdata(x), rankdata(y)
    rho = np.corrcoef(rx, ry)[0, 1]
    return 0.0 if rho is None or not np.isfinite(rho) else float(rho)


def summary_lines(doc: dict) -> List[str]:
    """A line per metric value: which families it responds to, is blind or inverted to."""
    lines = []
    for key, m in doc["metrics"].items():
        by: Dict[str, List[str]] = {}
        for family, f in m["families"].items():
            by.setdefault(f["verdict"], []).append(family)
        lines.append(f"{key}: " + "; ".join(f"{v} to {', '.join(by[v])}" if v != "undefined" else
                                             f"undefined for {', '.join(by[v])}" for v in VERDICTS if v in by))
    return lines


def check_document(doc: dict) -> List[str]:
    """What `lsbench validate` finds wrong with a metric-check file."""
    problems = []
    if doc.get("metric_check_version") != VERSION:
        return [f"metric-check version {doc.get('metric_check_version')!r}: this lsbench reads version {VERSION}"]
    labels = [f.label for f in FAULTS]
    if [f.get("label") for f in doc.get("faults", [])] != labels:
        problems.append("the fault list is not this lsbench's")
    for key, m in (doc.get("metrics") or {}).items():
        for family in FAMILIES:
            f = (m.get("families") or {}).get(family)
            if not isinstance(f, dict) or f.get("verdict") not in VERDICTS:
                problems.append(f"{key} / {family}: no verdict")
                continue
            if f["verdict"] != "undefined" and judge(f.get("curve") or [], bool(m.get("higher_is_better")))[0] != \
                    f["verdict"]:
                problems.append(f"{key} / {family}: the verdict {f['verdict']!r} does not follow from its curve")
    return problems

"""`lsbench metric-check`: does a metric see the fault it claims to measure? Every selected metric
scores every fault of lsbench.evaluate.faults on the same target clips, by its normal route, and
each (metric value, fault family) gets a response curve and a verdict by one rule:

responds: the mean moves the worse way (the value's own direction) as the fault grows (Spearman's rho between severity, 0 for the ground truth, and the mean at least 0.5 in size, or every magnitude's mean worse than the ground truth's, so a response that is not monotone in the magnitude still counts), and the largest fault is worse clip for clip: the 95% percentile-bootstrap interval over clips of its mean change from the ground truth (each clip against its own ground truth; a shift's +k and -k averaged per clip) lies entirely on the worse side of 0. inverted: the same with better (the metric rewards the fault). blind: neither. undefined: no verdict can be formed, with the reason (no value, fewer than 2 clips with both values). A value that is one infinity for every clip (PSNR of identical frames) counts as that infinity, and the change against it is the difference of the two intervals.

The output is versioned JSON that `lsbench validate` checks (every curve re-made from the clips'
values, every verdict from its curve) and the leaderboard renders ("what each metric sees").
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

VERSION = 2  # 2: paired change intervals (change, change_ci95), the clips' values kept
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
            "metrics": {key: verdicts(values, key, higher) for key, higher in directions.items()},
            "values": values}  # fault label -> value key -> one value per clip, in the order of "clips"


def _collect(rows: List[dict], metrics: list) -> Dict[str, List[Optional[float]]]:
    """Every value of every metric (signed offsets too: a check can ask where they land), per clip."""
    from ..registry import METRICS

    keys = [v.key for m in metrics for v in METRICS.entry(m.name).values]
    return {k: [_finite(r["metrics"].get(k)) if r["status"] == "ok" else None for r in rows] for k in keys}


def _finite(v) -> Optional[float]:
    """A value as a float (+-inf kept: the PSNR of identical frames is +inf), None when there is none."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def curve(values: Dict[str, Dict[str, List[Optional[float]]]], key: str, faults: List[Fault]) -> List[dict]:
    """Mean and 95% interval per severity of one family (signed shifts pooled by |k|), ground truth first;
    each fault point also has its change from the ground truth, clip by clip, with its interval."""
    truth = values[FAULTS[0].label].get(key, [])
    by: Dict[float, List[float]] = {}
    changes: Dict[float, Dict[int, List[float]]] = {}  # severity -> clip -> its changes (+k and -k: two)
    for f in faults:
        vals = values[f.label].get(key, [])
        by.setdefault(f.severity, []).extend(v for v in vals if v is not None)
        for clip, (v, g) in enumerate(zip(vals, truth)):
            if f.severity and v is not None and g is not None and np.isfinite(v) and np.isfinite(g):
                changes.setdefault(f.severity, {}).setdefault(clip, []).append(v - g)
    out = []
    for severity in sorted(by):
        ci = stats.bootstrap_ci(by[severity])
        point = {"severity": severity, "mean": ci["mean"], "ci95": ci["ci95"], "n": ci["n"]}
        infinite = {v for v in by[severity] if np.isinf(v)}
        if ci["n"] == 0 and len(infinite) == 1:  # every value the same infinity (PSNR of identical frames)
            point["infinite"] = "+inf" if infinite.pop() > 0 else "-inf"
        if severity:
            change = stats.bootstrap_ci([float(np.mean(c)) for c in changes.get(severity, {}).values()])  # per clip
            point.update(change=change["mean"], change_ci95=change["ci95"], n_paired=change["n"])
        out.append(point)
    return out


def _numeric(p: dict) -> dict:
    """A point whose values were all one infinity, as that number (for ranking and comparing)."""
    if p.get("infinite"):
        inf = float(p["infinite"])
        return {**p, "mean": inf, "ci95": [inf, inf]}
    return p


def family_faults(family: str) -> List[Fault]:
    """A family's curve: the ground truth (severity 0, first in FAULTS), then the family's faults."""
    return [f for f in FAULTS if f.family in ("ground_truth", family)]


def verdicts(values, key: str, higher: bool) -> dict:
    out = {"higher_is_better": higher, "families": {}}
    for family in FAMILIES:
        points = curve(values, key, family_faults(family))
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
    sign = 1.0 if higher else -1.0
    change = _change_interval(points[0], worst, sign)
    if change is None:
        return "undefined", f"fewer than {stats.MIN_CLIPS_FOR_INTERVAL} clips with both values: no interval"
    good = [sign * p["mean"] for p in points if p["mean"] is not None]
    sev = [p["severity"] for p in points if p["mean"] is not None]
    trend = _spearman(sev, good) if len(good) > 2 else float(np.sign(good[-1] - good[0]) if good[-1] != good[0] else 0)
    worse_each = all(g < good[0] for g in good[1:])
    better_each = all(g > good[0] for g in good[1:])
    lo, hi = change
    if (trend <= -MIN_RHO or worse_each) and hi < 0:
        return "responds", (f"worse as the fault grows (rho {trend:+.2f}{', every magnitude' if worse_each else ''}); "
                            f"the largest fault's change interval is below 0")
    if (trend >= MIN_RHO or better_each) and lo > 0:
        return "inverted", (f"better as the fault grows (rho {trend:+.2f}{', every magnitude' if better_each else ''}); "
                            f"the largest fault's change interval is above 0")
    return "blind", f"rho {trend:+.2f}; the largest fault's change interval {'includes' if lo <= 0 <= hi else 'excludes'} 0"


def _change_interval(truth: dict, worst: dict, sign: float) -> "Optional[tuple[float, float]]":
    """The largest fault's change from the ground truth, in the better direction: its paired interval, or,
    where a side is infinite (no finite pair), the difference of the two sides' intervals."""
    if worst.get("change_ci95"):
        return tuple(sorted(sign * v for v in worst["change_ci95"]))
    if (truth.get("infinite") or worst.get("infinite")) and truth["ci95"] and worst["ci95"]:
        g_lo, g_hi = sorted(sign * v for v in truth["ci95"])
        w_lo, w_hi = sorted(sign * v for v in worst["ci95"])
        with np.errstate(invalid="ignore"):
            lo, hi = w_lo - g_hi, w_hi - g_lo
        if np.isnan(lo) or np.isnan(hi):  # both sides infinite: the same infinity is no change
            return (0.0, 0.0) if truth.get("infinite") == worst.get("infinite") else None
        return lo, hi
    return None


def _spearman(x: List[float], y: List[float]) -> float:
    from scipy.stats import rankdata

    if len(set(y)) < 2:
        return 0.0  # a flat curve: no trend (Spearman is undefined)
    rx, ry = rankdata(x), rankdata(y)
    rho = np.corrcoef(rx, ry)[0, 1]
    return 0.0 if rho is None or not np.isfinite(rho) else float(rho)


def checkable_metrics() -> List[str]:
    """Every registered metric that can be built (its module imports): what a check with no --metrics
    scores; one that cannot be made here (its weights missing) is then skipped with its reason."""
    from ..registry import METRICS

    return [e.name for e in METRICS if e.ready]


def verdict_table(doc: dict) -> List[str]:
    """The verdicts as a text table, a row per metric value and a column per fault family."""
    families = list(FAMILIES)
    width = max([len(k) for k in doc["metrics"]] + [12])
    cols = [max(len(f), 9) for f in families]
    lines = [f"{'value':{width}}" + "".join(f" {f:>{w}}" for f, w in zip(families, cols))]
    for key, m in doc["metrics"].items():
        lines.append(f"{key:{width}}" + "".join(f" {m['families'][f]['verdict']:>{w}}" for f, w in zip(families, cols)))
    return lines


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
            elif "values" in doc and not _same_curve(f.get("curve"), _family_curve(doc["values"], key, family)):
                problems.append(f"{key} / {family}: the curve does not follow from the clips' values")
    return problems


def _family_curve(values: dict, key: str, family: str) -> Optional[List[dict]]:
    try:
        return curve(values, key, family_faults(family))
    except (KeyError, TypeError, ValueError):
        return None


def _same_curve(a: Optional[List[dict]], b: Optional[List[dict]]) -> bool:
    def flat(c: List[dict]) -> List[float]:
        def num(v: Optional[float]) -> float:
            return np.nan if v is None else float(v)

        return [num(x) for p in c for x in [p["severity"], p["n"], p["mean"], *(p["ci95"] or [None, None]),
                                            p.get("change"), *(p.get("change_ci95") or [None, None]), p.get("n_paired")]]

    try:
        return a is not None and b is not None and np.allclose(flat(a), flat(b), rtol=1e-12, atol=1e-12, equal_nan=True)
    except (KeyError, TypeError, ValueError):
        return False

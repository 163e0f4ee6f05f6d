"""Which metrics a run computes: the registry's defaults that suit the protocol, or the chosen
ones, in registry order; a metric that cannot run here is skipped with its reason."""

from __future__ import annotations

import inspect
from typing import Callable, Dict, List, Optional

from ..errors import Failure
from ..registry import METRICS


def metric_names(protocol, chosen: Optional[List[str]] = None) -> List[str]:
    """The registry's default metrics that suit the protocol, or the chosen ones, in registry order;
    a choice of '+NAME's adds those to the defaults (--metrics +crop-lse)."""
    added = set()
    if chosen and all(c.startswith("+") for c in chosen):
        added, chosen = {c[1:] for c in chosen}, None
    out = []
    for entry in METRICS:
        if chosen is not None and entry.name not in chosen:
            continue
        if chosen is None and not entry.default and entry.name not in added:
            continue
        if entry.ground_truth and not protocol.metrics_need_ground_truth:
            continue
        out.append(entry.name)
    return out


def make_metric(name: str, device: str):
    cls = METRICS.load(name)
    return cls(device=device) if "device" in inspect.signature(cls.__init__).parameters else cls()


def make_metrics(names: List[str], device: str, echo: Callable[[str], None]) -> "tuple[list, Dict[str, str]]":
    """(the metrics made, name -> why each other one is skipped)."""
    made, skipped = [], {}
    for name in names:
        entry = METRICS.entry(name)
        if entry.planned:
            skipped[name] = f"not built yet ({entry.planned})"
            continue
        try:
            made.append(make_metric(name, device))
        except Failure as exc:
            skipped[name] = str(exc)
    for name, why in skipped.items():
        echo(f"metric {name} skipped: {why}")
    return made, skipped


def columns(metrics: list) -> List[dict]:
    """The results' column list: every value of every metric, with its label and direction."""
    return [{"key": v.key, "label": v.label, "higher_is_better": v.higher_is_better, "metric": m.name}
            for m in metrics for v in METRICS.entry(m.name).values]

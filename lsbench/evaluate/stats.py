"""The split's figures from per-clip values: means over the clips where a value is defined, with
a percentile-bootstrap interval; undefined values are counted with their reasons, never averaged."""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

N_BOOT = 2000
MIN_CLIPS_FOR_INTERVAL = 2


def bootstrap_ci(values: Sequence[float], seed: int = 0, n_boot: int = N_BOOT) -> Dict[str, object]:
    """Mean over clips and a 95% percentile-bootstrap interval; non-finite values are counted, not
    averaged. With fewer than 2 finite values there is no interval (never a zero-width one)."""
    v = np.asarray([float(x) for x in values if x is not None], np.float64)  # "inf" strings of resumed rows too
    finite = v[np.isfinite(v)]
    out = {"n": int(finite.size), "n_nonfinite": int(v.size - finite.size), "n_inf": int(np.sum(v == np.inf))}
    if finite.size == 0:
        return {**out, "mean": None, "ci95": None, "interval": "none: no finite value"}
    if finite.size < MIN_CLIPS_FOR_INTERVAL:
        return {**out, "mean": float(finite.mean()), "ci95": None,
                "interval": f"none: fewer than {MIN_CLIPS_FOR_INTERVAL} clips"}
    rng = np.random.default_rng(seed)
    means = finite[rng.integers(0, finite.size, (n_boot, finite.size))].mean(1)
    return {**out, "mean": float(finite.mean()), "ci95": [float(np.percentile(means, 2.5)),
                                                          float(np.percentile(means, 97.5))],
            "interval": f"95% percentile bootstrap over clips, {n_boot} resamples"}


def aggregate(rows: List[dict], directions: Dict[str, bool], seed: int) -> Dict[str, dict]:
    """Per value: the mean over scored clips where it is defined; undefined values (n/a for a
    reason: no motion, no face, too short) are counted with their reasons, never averaged."""
    ok = [r for r in rows if r["status"] == "ok"]
    out = {}
    for name, higher in directions.items():
        present = [r for r in ok if name in r["metrics"]]
        if not present:
            continue
        vals = [r["metrics"][name] for r in present if r["metrics"][name] is not None]
        why: Dict[str, int] = {}
        for r in present:
            if r["metrics"][name] is None:
                reason = (r.get("undefined") or {}).get(name, "undefined")
                why[reason] = why.get(reason, 0) + 1
        out[name] = {**bootstrap_ci(vals, seed), "n_undefined": sum(why.values()), "undefined_reasons": why,
                     "higher_is_better": higher}
    return out

"""Results JSON: the only contract between `evaluate` and `leaderboard`.

Versioned and validated on read: a file of another schema version, or one missing a
field, is refused with a message naming the file and what is wrong.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from .errors import LsbenchError

SCHEMA_VERSION = 2
REQUIRED = {
    "schema_version": int, "lsbench": dict, "model": dict, "protocol": dict, "dataset": dict, "weights": dict,
    "metrics": dict, "rows": list, "aggregates": dict, "counts": dict, "run": dict,
}
ROW_REQUIRED = {"clip_id": str, "audio_from": str, "status": str, "metrics": dict}


class ResultsError(LsbenchError):
    pass


N_BOOT = 2000
MIN_CLIPS_FOR_INTERVAL = 2


def bootstrap_ci(values: Sequence[float], seed: int = 0, n_boot: int = N_BOOT) -> Dict[str, object]:
    """Mean over clips and a 95% percentile-bootstrap interval; non-finite values are counted, not
    averaged. With fewer than 2 finite values there is no interval (never a zero-width one)."""
    v = np.asarray([float(x) for x in values if x is not None], np.float64)  # "inf" strings of resumed rows too
    finite = v[np.isfinite(v)]
    out = {"n": int(finite.size), "n_nonfinite": int(v.size - finite.size)}
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


def pairs_digest(pairs: Sequence[Sequence]) -> str:
    """sha-256 of a pair list: two rows are comparable only when theirs are equal."""
    import hashlib

    return hashlib.sha256(json.dumps([list(p) for p in pairs], separators=(",", ":")).encode()).hexdigest()


def jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return "inf" if obj > 0 else ("-inf" if obj < 0 else "nan")
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    return obj


def validate(data: dict, source: str = "results") -> dict:
    if not isinstance(data, dict):
        raise ResultsError(f"{source}: not a results object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: results schema version {version!r} is not supported (this lsbench reads "
                           f"version {SCHEMA_VERSION}); re-run `lsbench evaluate` to regenerate it")
    for key, typ in REQUIRED.items():
        if not isinstance(data.get(key), typ):
            raise ResultsError(f"{source}: field {key!r} missing or not a {typ.__name__}")
    for i, row in enumerate(data["rows"]):
        for key, typ in ROW_REQUIRED.items():
            if not isinstance(row.get(key), typ):
                raise ResultsError(f"{source}: row {i}: field {key!r} missing or not a {typ.__name__}")
    for key in ("name", "version", "seed"):
        if key not in data["protocol"]:
            raise ResultsError(f"{source}: protocol.{key} missing")
    return data


def save(data: dict, path: Path) -> Path:
    validate(data, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(jsonable(data), indent=1) + "\n")
    os.replace(tmp, path)
    return path


def load(path: "str | Path") -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{p}: cannot read results JSON ({exc})") from None
    return validate(data, str(p))

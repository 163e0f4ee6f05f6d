"""`lsbench validate`: check a results file before it is published (the leaderboard runs the
same checks and refuses a file that fails), or report on a shard folder.

A results file must: read under the current schema; name a protocol version this lsbench
scores; carry a pair list whose hash matches, that its rows follow, and that equals the plan
the protocol makes for its seed from the shards (when they can be found); keep every value in
its possible range; and carry well-formed hashes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Dict, List, Optional

from .evaluate import document as R
from .errors import LsbenchError

HEX64 = re.compile(r"^[0-9a-f]{64}$")
class ValidationError(LsbenchError):
    pass


def _ranges() -> Dict[str, object]:
    """Value key -> its registry Value (lowest, highest, low_open): the one place they are written."""
    from .registry import METRICS

    return {v.key: v for e in METRICS for v in e.values}


def _out_of_range(key: str, value, ranges: Dict[str, object]) -> Optional[str]:
    spec = ranges.get(key)
    if spec is None or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return f"{key} = {value!r} is not a number"
    if math.isnan(v):
        return f"{key} is NaN"
    lo, hi = spec.lowest, spec.highest
    if lo is not None and spec.low_open and v <= lo:
        return f"{key} = {v:g} is not > {lo:g}"
    if lo is not None and v < lo:
        return f"{key} = {v:g} is below its lowest possible value {lo:g}"
    if hi is not None and math.isfinite(v) and v > hi:
        return f"{key} = {v:g} is above its highest possible value {hi:g}"
    return None


def check_results(doc: dict, data: Optional[Path] = None) -> List[str]:
    """Every problem found (empty: the file may be published)."""
    from .registry import PROTOCOLS

    problems: List[str] = []
    proto = doc["protocol"]
    try:
        current = PROTOCOLS.load(proto["name"]).version
        if proto["version"] != current:
            problems.append(f"protocol {proto['name']} version {proto['version']}: this lsbench scores version "
                            f"{current}; evaluate again")
    except LsbenchError as exc:
        problems.append(str(exc))
    pairs = proto.get("pairs")
    if not isinstance(pairs, list):
        return problems + ["protocol.pairs is missing"]
    if proto.get("pairs_sha256") != R.pairs_digest(pairs):
        problems.append("protocol.pairs does not match protocol.pairs_sha256: the pair list was changed")
    rows = doc["rows"]
    if [[r.get("clip_id"), r.get("audio_from")] for r in rows] != [p[:2] for p in pairs]:
        problems.append("the rows do not follow protocol.pairs (clip or audio differs, or rows are missing)")
    problems += _replan(doc, data)
    ranges = _ranges()
    for i, r in enumerate(rows):
        for k, v in (r.get("metrics") or {}).items():
            why = _out_of_range(k, v, ranges)
            if why:
                problems.append(f"row {i} ({r.get('clip_id')}): {why}")
    for k, agg in doc["aggregates"].items():
        for field in ("mean",):
            why = _out_of_range(k, (agg or {}).get(field), ranges)
            if why:
                problems.append(f"aggregate {why}")
    for name, w in doc["weights"].items():
        sha = (w or {}).get("sha256")
        if sha and not HEX64.match(str(sha)):
            problems.append(f"weights {name}: sha256 {sha!r} is not a sha-256")
    cov = doc.get("coverage") or {}
    ok = sum(r.get("status") == "ok" for r in rows)
    if cov and (cov.get("pairs") != len(pairs) or cov.get("scored") != ok):
        problems.append(f"coverage says {cov.get('scored')}/{cov.get('pairs')} pairs, the rows say {ok}/{len(pairs)}")
    return problems


def _replan(doc: dict, data: Optional[Path]) -> List[str]:
    """The pair list the protocol makes for this seed from the shards, when they can be found."""
    import hashlib

    from .evaluate.plan import make_protocol, plan_pairs
    from .shards import ShardIndex

    ds, proto = doc["dataset"], doc["protocol"]
    folder = data or (Path(ds["path"]) if ds.get("path") else None)
    filelist = Path(proto["filelist"]["path"]) if "filelist" in proto else None
    if folder is None or not folder.exists() or (filelist is not None and not filelist.is_file()):
        return []  # nothing to re-plan from: the hash and row checks still hold
    if filelist is not None and hashlib.sha256(filelist.read_bytes()).hexdigest() != proto["filelist"]["sha256"]:
        return [f"the filelist {filelist} is not the one this file was scored with (sha-256 differs)"]
    try:
        index = ShardIndex.open(folder, ds.get("split"))
    except LsbenchError:
        return []
    if ds.get("shards_digest") and index.digest() != ds["shards_digest"]:
        return [f"the shards at {folder} are not the ones this file was scored on (digest differs)"]
    _, pairs = plan_pairs(make_protocol(proto["name"], filelist), index, proto["seed"], proto.get("limit"),
                          bool(proto.get("whole_clip_own_audio")))
    if [[p.target, p.audio_from, p.ref_frame] for p in pairs] != [list(p) for p in proto["pairs"]]:
        return [f"protocol.pairs is not the {proto['name']} plan of seed {proto['seed']} for these shards"]
    return []


def validate_results_file(path: Path, data: Optional[Path] = None) -> Dict[str, object]:
    doc = R.load(path)
    problems = check_results(doc, data)
    if problems:
        raise ValidationError(f"{path}: refused: " + "; ".join(problems[:5]) +
                              (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    return {"file": str(path), "model": doc["model"]["name"], "protocol": doc["protocol"]["name"],
            "pairs": len(doc["protocol"]["pairs"]), "scored": sum(r["status"] == "ok" for r in doc["rows"]),
            "lossy": int(doc["model"].get("lossy_pairs") or 0)}

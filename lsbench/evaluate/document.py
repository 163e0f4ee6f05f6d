"""The results document: the only contract between `evaluate` and `leaderboard`.

This module owns it: it builds it from a finished run, publishes its shape as a JSON Schema
(`results.schema.json` beside this file), and checks every file read or written against that
schema, so `lsbench validate`, the leaderboard and the tests hold documents to one definition.
A file of another schema version, or one that breaks the schema, is refused in one line naming
the file and the field.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import subprocess
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .. import __version__
from ..errors import LsbenchError

SCHEMA_VERSION = 2
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")
WRITER = ("OpenCV DIVX AVI, then ffmpeg -i speech.wav -i result.avi -strict -2 -q:v 1 out.mp4 "
          "(gen_videos_from_filelist.py)")
EVALUATION_CROPS = ("the generated and the real full frames cut at the shard's crop geometry (box grown by the "
                    "shard's crop scale, 13-frame median smoothing, grey padding) at the shard's crop size; FID, "
                    "PSNR, SSIM, LMD, energy sync and the lip-sync expert are scored on them")


class ResultsError(LsbenchError):
    pass


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def pairs_digest(pairs: Sequence[Sequence]) -> str:
    """sha-256 of a pair list: two rows are comparable only when theirs are equal."""
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


def _field(path: Sequence) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(data: dict, source: str = "results") -> dict:
    """`data` unless it breaks the schema: then one line naming the source and the first field at fault."""
    import jsonschema

    if not isinstance(data, dict):
        raise ResultsError(f"{source}: not a results object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: results schema version {version!r} is not supported (this lsbench reads "
                           f"version {SCHEMA_VERSION}); re-run `lsbench evaluate` to regenerate it")
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        e = errors[0]
        where = _field(e.absolute_path)
        if e.validator == "required":
            missing = [k for k in e.validator_value if k not in e.instance][0]
            raise ResultsError(f"{source}: field {where + '.' if where else ''}{missing} missing")
        if e.validator == "additionalProperties" and not e.absolute_path:
            extra = sorted(set(data) - set(schema()["properties"]))[0]
            raise ResultsError(f"{source}: field {extra} is not part of results schema version {SCHEMA_VERSION}")
        raise ResultsError(f"{source}: field {where}: {e.message}")
    return data


def save(data: dict, path: Path) -> Path:
    data = jsonable(data)
    validate(data, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def load(path: "str | Path") -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{p}: cannot read results JSON ({exc})") from None
    return validate(data, str(p))


def _git_hash() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def failures(rows: List[dict]) -> List[Tuple[str, int, str]]:
    """(reason code, pairs, the first one's reason) of the rows that failed, in row order: what the
    console and the board say about them."""
    by: Dict[str, List[str]] = {}
    for r in rows:
        if r.get("status") != "ok":
            by.setdefault(str(r.get("error_code") or "error"), []).append(str(r.get("reason", "")))
    return [(code, len(reasons), reasons[0]) for code, reasons in by.items()]


def model_section(producer, task, rows: List[dict]) -> dict:
    out = {"name": producer.name, "kind": producer.kind, "needs": list(producer.needs),
           "face_size": producer.face_size, "input_crop": producer.input_crop, "full_frame": producer.full_frame,
           **producer.describe()}
    if producer.kind == "external":  # lossy pairs are scored and said so (the task asks for lossless ones)
        out.update(task=str(task) if task else None,
                   lossy_pairs=sum(r["status"] == "ok" and (r.get("notes") or {}).get("lossless") is False for r in rows))
    return out


def protocol_section(run_plan, whole_clip_own_audio: bool) -> dict:
    protocol, pairs = run_plan.protocol, [[p.target, p.audio_from, p.ref_frame] for p in run_plan.pairs]
    out = {"name": protocol.name, "version": protocol.version, "seed": run_plan.seed, "limit": run_plan.limit,
           "whole_clip_own_audio": whole_clip_own_audio, "length_rule": protocol.length_rule,
           "pairs": pairs, "pairs_sha256": pairs_digest(pairs)}
    if run_plan.filelist_sha256:
        out["filelist"] = {"path": str(protocol.path), "sha256": run_plan.filelist_sha256,
                           "lines": len(protocol.lines)}
    return out


def dataset_section(data: Path, run_plan, split, index) -> dict:
    out = {"path": str(data), "datasets": run_plan.datasets, "split": split,
           "shard_files": [f.name for f in index.files], "shards_digest": index.digest()}
    split_def = _card(data).get("split_definition")
    if split_def:  # a split lsbench defined (HDTF): which rule or file, so results say which clips were test
        out["split_definition"] = split_def
    return out


def _card(data: Path) -> dict:
    from ..data import shard_root

    try:
        card = json.loads((shard_root(data) / "dataset_card.json").read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def metrics_section(metrics: list, skipped: Dict[str, str]) -> dict:
    from .metric_set import columns

    cols = columns(metrics)
    return {"columns": cols, "directions": {c["key"]: c["higher_is_better"] for c in cols
                                            if c["higher_is_better"] is not None},
            "skipped": skipped, "settings": {m.name: m.settings() for m in metrics}}


def counts_section(rows: List[dict], run_plan) -> dict:
    failed = sum(r["status"] != "ok" for r in rows)
    plan = run_plan.plan
    return {"clips": run_plan.n_clips, "pairs": len(run_plan.pairs), "scored": len(rows) - failed,
            "failed": failed, "skipped": plan.skip_counts(),
            "fit": dict(Counter(p.fit for p in run_plan.pairs))}  # of the pairs this run took (--limit)


def build(run, rows: List[dict], aggregates: Dict[str, dict], wall_s: float) -> dict:
    """The document of a finished run (`run`: lsbench.evaluate.run.Run, its plan, producer,
    metrics and settings)."""
    from .score import BLAS_THREADS

    opts, plan, settings = run.opts, run.plan, run.settings
    weights = run.weights()
    counts = counts_section(rows, plan)
    return {
        "schema_version": SCHEMA_VERSION,
        "lsbench": {"version": __version__, "git": _git_hash()},
        "model": model_section(run.producer, opts.task, rows),
        "protocol": protocol_section(plan, run.producer.whole_clip_own_audio),
        "dataset": dataset_section(run.data, plan, opts.split, run.index),
        "lse_route": {"name": plan.route, "chosen": "override" if opts.lse_route != "auto" else "by dataset",
                      "whole_frame_datasets": plan.whole_frame_datasets},
        "video": {"writer": WRITER, "boxes": f"the shard's face track in source pixels; {settings.geometry.describe()}",
                  "pads": list(settings.pads),
                  "speech": settings.speech_in_video, "evaluation_crops": EVALUATION_CROPS},
        "weights": weights,
        "official_weights": all(w.get("official", True) for w in weights.values()),
        "metrics": metrics_section(run.metrics, run.skipped_metrics),
        "rows": rows,
        "aggregates": aggregates,
        "coverage": {"pairs": counts["pairs"], "scored": counts["scored"]},
        "counts": counts,
        "run": {"wall_s": round(wall_s, 2), "device": run.device, "python": platform.python_version(),
                "machine": platform.machine(), "workers": run.n_workers, "threads": opts.threads or None,
                "blas_threads": BLAS_THREADS, "config": run.config_dict()},
    }

"""OUT/dataset_card.json: what the folder's shards hold, written from the shards themselves
and the folder's build record (build.json), never from the options of the run at hand, so
it always describes the rows on disk."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lsbench import __version__

from .schema import ERRORS_SCHEMA, PIPELINE_VERSION, columns_for

CARD_FILE = "dataset_card.json"


def read_errors(out: Path):
    import pandas as pd

    files = sorted((out / "errors").glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame(
        columns=ERRORS_SCHEMA.names)


def read_card(out: Path) -> Optional[dict]:
    try:
        return json.loads((out / CARD_FILE).read_text())
    except (OSError, ValueError):
        return None


def _counts(series) -> Dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().items()}


def write_card(out: Path, build: dict, run: dict) -> dict:
    """`run`: this run's listing and timing (split, limit, listed, processed, seconds,
    missing_splits, unreadable_folders); earlier runs are kept in the card's `runs`."""
    files = sorted((out / "shards").glob("*.parquet"))
    meta = pa.concat_tables([pq.read_table(f, columns=columns_for("card")) for f in files]).to_pandas() if files else None
    errors = read_errors(out)
    measured = meta[meta["sync_method"] != "none"] if meta is not None else None  # --sync none measures nothing
    offsets = measured["av_offset"].to_numpy() if measured is not None else np.zeros(0)
    conf = measured["sync_conf"].to_numpy(dtype=float) if measured is not None else np.zeros(0)
    conf = conf[np.isfinite(conf)]
    previous = read_card(out) or {}
    runs: List[dict] = list(previous.get("runs", [])) + [{**run, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}]
    card = {
        "dataset": build["dataset"],
        "root": build["root"],
        "pipeline_version": build["pipeline_version"],
        "detector": build["detector"],
        "weights": build.get("weights", {}),
        "config": {**build["config"], "sync_requested": build.get("sync_requested"), "detector": build["detector"]},
        "counts": {"listed": run["listed"], "ok": int(len(meta)) if meta is not None else 0, "failed": int(len(errors))},
        "by_split": _counts(meta["split"]) if meta is not None else {},
        "errors_by_reason": _counts(errors["reason"]) if len(errors) else {},
        "errors_by_stage": _counts(errors["stage"]) if len(errors) else {},
        "hours": float(meta["n_frames"].sum() / 25 / 3600) if meta is not None else 0.0,
        "sync_methods": _counts(meta["sync_method"]) if meta is not None else {},
        "sync_methods_by_split": ({sp: _counts(g["sync_method"]) for sp, g in meta.groupby("split")}
                                  if meta is not None else {}),
        "crop_sizes": _counts(meta["crop_size"]) if meta is not None else {},
        "detectors": _counts(meta["detector"]) if meta is not None else {},
        "missing_splits": run.get("missing_splits", {}),
        "unreadable_folders": len(run.get("unreadable_folders", [])),
        "unreadable_folder_paths": run.get("unreadable_folders", [])[:100],
        "unlisted_clips": run.get("unlisted_clips", 0),  # on disk, in no split list: not processed
        "split_definition": run.get("split_definition"),  # a recipe's own split (HDTF): rule or file, sha-256
        "shard_files": [f.name for f in files],
        "error_files": sorted(f.name for f in (out / "errors").glob("*.parquet")) if (out / "errors").is_dir() else [],
        "versions": {"lsbench": __version__, "pipeline": PIPELINE_VERSION, "python": platform.python_version(),
                     "pyarrow": pa.__version__},
        "seconds_this_run": run.get("seconds", 0.0),
        "runs": runs,
    }
    if len(offsets):  # offsets measured (syncnet / energy): their histograms; with none, nothing to show
        edges = np.linspace(0, max(15.0, float(conf.max()) if conf.size else 15.0), 16)
        card["offset_histogram"] = {str(k): int(v) for k, v in zip(*np.unique(offsets, return_counts=True))}
        card["confidence_histogram"] = {"edges": edges.round(3).tolist(), "counts": np.histogram(conf, edges)[0].tolist()}
    tmp = out / f".{CARD_FILE}.tmp"
    tmp.write_text(json.dumps(card, indent=1, default=str) + "\n")
    os.replace(tmp, out / CARD_FILE)
    return card

"""What an output folder was built with, remembered in OUT/build.json.

Every row of a folder must come from one configuration: a resume (a re-run into a folder
that holds shards) with another crop size, scale, detector, sync method, corpus or weight
file would mix rows that mean different things, and the dataset card would describe only
some of them. The first run writes build.json before its first shard; every later run
compares its own record with it and refuses, naming each difference.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Dict, List, Optional

from lsbench import __version__
from lsbench.errors import LsbenchError

from .schema import PIPELINE_VERSION

BUILD_FILE = "build.json"


class BuildMismatch(LsbenchError):
    """A re-run into a folder built with another configuration."""


def weight_record(spec, path: Path) -> dict:
    """lsbench.weights.provenance's record for a weight file the shards depend on, stored as is."""
    from lsbench import weights as W

    return W.provenance(spec, path)


def weight_state(record: Optional[dict]) -> str:
    """The provenance state to print: the record's own `state` where lsbench.weights gives one."""
    if record is None:
        return "none needed"
    return record.get("state") or ("verified" if record.get("official") else "unverified")


def build_record(dataset: str, root: Path, detector: str, config: dict, weights: Dict[str, dict],
                 sync_requested: str) -> dict:
    return {"pipeline_version": PIPELINE_VERSION, "dataset": dataset, "root": str(Path(os.path.abspath(root))),
            "detector": detector, "config": config, "sync_requested": sync_requested, "weights": weights,
            "lsbench": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def differences(old: dict, new: dict) -> List[str]:
    """What differs between two build records, in words; only what shapes the rows counts
    (the lsbench release, the date and how sync was asked for do not)."""
    diffs = []
    for key in ("pipeline_version", "dataset", "root", "detector"):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}: {old.get(key)} in the folder, {new.get(key)} now")
    oc, nc = old.get("config", {}), new.get("config", {})
    for key in sorted(set(oc) | set(nc)):
        if oc.get(key) != nc.get(key):
            diffs.append(f"{key}: {oc.get(key)} in the folder, {nc.get(key)} now")
    ow, nw = old.get("weights", {}), new.get("weights", {})
    for name in sorted(set(ow) | set(nw)):
        a, b = (ow.get(name) or {}).get("sha256"), (nw.get(name) or {}).get("sha256")
        if a != b:
            diffs.append(f"{name} weights: sha-256 {a[:12] if a else 'none'} in the folder, {b[:12] if b else 'none'} now")
    return diffs


def read_build(out: Path) -> Optional[dict]:
    path = out / BUILD_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise LsbenchError(f"{path}: unreadable ({exc}); the folder's configuration is unknown") from None


def claim(out: Path, record: dict) -> dict:
    """The folder's build record: written when the folder is new; a folder built otherwise is
    refused (BuildMismatch) before anything in it is touched."""
    old = read_build(out)
    has_rows = any(any((out / sub).glob("*.parquet")) for sub in ("shards", "errors") if (out / sub).is_dir())
    if old is not None and not has_rows:
        old = None  # a folder whose first run wrote nothing yet: nothing can mix, start afresh
    if old is None:
        if has_rows:
            from lsbench.data import rerun_command

            raise BuildMismatch(f"{out}: holds shards but no {BUILD_FILE} (written by an lsbench older than pipeline "
                                f"version {PIPELINE_VERSION}); rebuild with `{rerun_command(out)}`")
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{BUILD_FILE}.tmp"
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, out / BUILD_FILE)
        return record
    diffs = differences(old, record)
    if diffs:
        raise BuildMismatch(f"{out} was built with another configuration ({'; '.join(diffs)}): "
                            f"its rows would mix; use a new --out, or the folder's options")
    return old

"""Rows survive a killed run. They are appended to `<results>.partial.jsonl` as they finish; its
first line records the run's configuration, so `--resume` continues a killed run of the same
configuration without rescoring finished clips and refuses to mix in another one."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .. import __version__
from ..errors import LsbenchError
from .document import jsonable


@dataclass
class RunConfig:
    """What a run's rows depend on: a resumed run must match it field for field."""

    model: str
    protocol: str
    protocol_version: int
    split: Optional[str]
    seed: int
    limit: Optional[int]
    shards_digest: str
    weights: Dict[str, str]
    lse_route: str
    metrics: List[str]
    pads: List[int]
    filelist_sha256: Optional[str] = None
    fid_bootstrap: int = 0
    lsbench: str = __version__
    threads: int = 1  # torch threads: more may change values in their last digits

    def differences(self, other: dict) -> List[str]:
        mine = asdict(self)
        keys = sorted(set(mine) | set(other))
        return [f"{k}: {other.get(k)!r} in the partial run, {mine.get(k)!r} now" for k in keys
                if _norm(other.get(k)) != _norm(mine.get(k))]


def _norm(v):
    return json.loads(json.dumps(v))


def read_partial(partial: Path, config: RunConfig, contribution_keys: List[str],
                 echo: Callable[[str], None]) -> Dict[str, dict]:
    """Rows of a killed run of the same configuration. Error rows, and rows whose set-metric
    contributions are gone, are dropped: their clips are scored again."""
    lines = partial.read_text().splitlines()
    header = None
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        pass
    if not isinstance(header, dict) or "config" not in header:
        raise LsbenchError(f"{partial}: no run configuration on its first line (written by an older lsbench?); "
                           f"delete it to start over")
    diff = config.differences(header["config"])
    if diff:
        raise LsbenchError(f"{partial}: --resume refused: that run had another configuration ({'; '.join(diff)}). "
                           f"Re-run with the same options, or without --resume to start over")
    done: Dict[str, dict] = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill: that clip is scored again
        if row.get("status") == "ok" and all(Path(row[k]).is_file() for k in contribution_keys if row.get(k)):
            done[row["clip_id"]] = row
    echo(f"resuming: {len(done)} clips already scored in {partial}")
    return done


class PartialLog:
    """The run's rows as they finish, one JSON line each, flushed at once."""

    def __init__(self, path: Path, config: RunConfig, done: Dict[str, dict], stale: List[Path]):
        """Starts the file anew (the configuration, then the rows kept from a resumed run); a fresh
        run also removes the `stale` folders (an earlier run's set-metric contributions)."""
        self.path = path
        if not done:
            path.parent.mkdir(parents=True, exist_ok=True)
            for folder in stale:
                shutil.rmtree(folder, ignore_errors=True)
        kept = [json.dumps({"config": asdict(config)})] + [json.dumps(jsonable(r)) for r in done.values()]
        path.write_text("\n".join(kept) + "\n")  # error rows and cut lines go; their clips are scored again
        self._file = open(path, "a")

    def add(self, row: dict) -> None:
        self._file.write(json.dumps(jsonable(row)) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

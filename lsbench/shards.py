"""Random access to shard rows without holding a split in memory.

`evaluate` plans its pairs from the light columns (ids, frame counts) of every clip, then
reads one clip's heavy columns (crops, boxes, audio, source frames) when that clip is
scored. Shards are written in small row groups, so reading one row costs one row group,
not the whole file; Ray workers open the same index from the shard paths and read their
own rows, so no clip ever travels through the driver.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
import pyarrow.parquet as pq

from .errors import LsbenchError

LIGHT = ["clip_id", "dataset", "split", "n_frames"]


@dataclass
class ShardIndex:
    """Where each clip of a split lives: file, row group, row in the group."""

    files: List[Path]
    where: Dict[str, Tuple[int, int, int]] = field(default_factory=dict)
    light: Dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, data: "str | Path", split: Optional[str] = None) -> "ShardIndex":
        from .data import shard_files

        try:
            files = shard_files(data)
        except FileNotFoundError as exc:
            raise LsbenchError(str(exc)) from None
        idx, splits = cls(files), Counter()
        for fi, f in enumerate(files):
            pf = pq.ParquetFile(f)
            for rg in range(pf.num_row_groups):
                table = pf.read_row_group(rg, columns=LIGHT)
                for ri, row in enumerate(table.to_pylist()):
                    splits[row["split"]] += 1
                    if split is None or row["split"] == split:
                        idx.where[row["clip_id"]] = (fi, rg, ri)
                        idx.light[row["clip_id"]] = row
        if not idx.light:
            raise LsbenchError(f"{data}: no clips" + (f" in split {split!r}" if split else "") + " in the shards"
                               + _split_hint(split, splits))
        idx.light = {k: idx.light[k] for k in sorted(idx.light)}  # clip-id order: plans never follow file order
        return idx

    def digest(self) -> str:
        """Names and sizes of the shard files: changes when the shards are rebuilt."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(f.name.encode() + str(f.stat().st_size).encode())
        return h.hexdigest()

    def locator(self) -> "ShardIndex":
        """A copy without the light rows, small enough to ship to Ray workers."""
        return ShardIndex(self.files, dict(self.where), {})

    def row(self, clip_id: str, columns: Iterable[str]) -> dict:
        fi, rg, ri = self.where[clip_id]
        table = pq.ParquetFile(self.files[fi]).read_row_group(rg, columns=list(columns))
        return table.slice(ri, 1).to_pylist()[0]

    def audio(self, clip_id: str) -> np.ndarray:
        """The clip's shard audio as float32 in [-1, 1] (16 kHz mono)."""
        return pcm16_to_float(self.row(clip_id, ["audio"])["audio"])


def pcm16_to_float(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0


def _split_hint(split: Optional[str], splits: Counter) -> str:
    """The splits the shards do hold, and the close one when `split` looks like a typo of it."""
    if not split or not splits:
        return ""
    close = difflib.get_close_matches(split, list(splits), n=1, cutoff=0.5)
    held = ", ".join(f"{k} ({n} clips)" for k, n in sorted(splits.items()))
    return f"; they hold {held}" + (f": did you mean --split {close[0]}?" if close else "")

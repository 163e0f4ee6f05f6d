"""Reading shards back: version-checked readers, and 5-frame training windows.

Shards are plain Parquet (pandas / pyarrow / duckdb / datasets read them without lsbench).
Readers here refuse shards of another pipeline version (the row layout in
preprocess/schema.py) with the command that rebuilds them, read named columns only, and
ShardDataset decodes the JPEG crops and cuts the windows a Wav2Lip or SyncNet trainer needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.utils.data import IterableDataset

from preprocess.schema import PIPELINE_VERSION, VERSION_KEY, check_columns, columns_for

from .audio import MEL_STEP, mel_window_start, syncnet_mfcc
from .errors import LsbenchError

WINDOW = 5
COLUMNS = columns_for("train")


class ShardVersionError(LsbenchError):
    """Shards written by another pipeline version: their rows mean something else."""


def shard_root(path: "str | Path") -> Path:
    """The build folder (shards/, errors/, build.json, the card) that `path` names: OUT, or OUT/shards,
    which evaluate and validate both accept."""
    p = Path(path)
    return p.parent if p.name == "shards" and p.is_dir() and not (p / "shards").is_dir() else p


def _list_shard_files(p: Path) -> List[Path]:
    """The *.parquet files of OUT/shards (OUT or OUT/shards named, as shard_root reads it), of a plain
    folder of shard files, or the one file named."""
    if p.is_file():
        return [p]
    shards = shard_root(p) / "shards"
    files = sorted((shards if shards.is_dir() else p).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{p}: no shard files (*.parquet or shards/*.parquet)")
    return files


def file_version(f: Path) -> str:
    """A shard file's pipeline version: from its Parquet metadata (version 2 on), else from the
    pipeline_version column of its first row (version 1 wrote no metadata)."""
    schema = pq.read_schema(f)
    v = (schema.metadata or {}).get(VERSION_KEY)
    if v:
        return v.decode()
    pf = pq.ParquetFile(f)
    if "pipeline_version" in schema.names and pf.metadata.num_rows:
        return str(pf.read_row_group(0, columns=["pipeline_version"]).column(0)[0].as_py())
    return "unknown"


def rerun_command(folder: Path) -> str:
    """The preprocess command that rebuilds `folder`'s shards (from its dataset card when present)."""
    folder = folder if folder.is_dir() else folder.parent
    for card_path in (folder / "dataset_card.json", folder.parent / "dataset_card.json"):
        if card_path.is_file():
            try:
                card = json.loads(card_path.read_text())
                return (f"lsbench preprocess --dataset {card['dataset']} --root {card['root']} "
                        f"--out NEW_FOLDER")
            except (ValueError, KeyError):
                break
    return "lsbench preprocess --dataset DATASET --root CORPUS --out NEW_FOLDER"


def check_shards(path: "str | Path") -> List[Path]:
    """The shard files of a folder (OUT, OUT/shards, or one file), each checked to be of this
    pipeline version; ShardVersionError names the file, both versions and the re-run command."""
    p = Path(path)
    files = _list_shard_files(p)
    for f in files:
        v = file_version(f)
        if v != PIPELINE_VERSION:
            raise ShardVersionError(f"{f}: shards of pipeline version {v}, this lsbench reads version "
                                    f"{PIPELINE_VERSION} only: rebuild them with `{rerun_command(p)}`")
    return files


shard_files = check_shards  # the name evaluate and train import: listing is checking


def read_shard_table(path: "str | Path", columns: Optional[Sequence[str]] = None,
                     split: Optional[str] = None) -> pa.Table:
    """Named columns (default: all) of every shard in `path`, version-checked, optionally one split."""
    cols = check_columns(columns) if columns is not None else None
    if cols is not None and split is not None and "split" not in cols:
        cols = cols + ["split"]
    tables = []
    for f in check_shards(path):
        t = pq.read_table(f, columns=cols)
        if split is not None:
            t = t.filter(pc.equal(t.column("split"), split))
        tables.append(t)
    return pa.concat_tables(tables)


def iter_shard_batches(path: "str | Path", columns: Optional[Sequence[str]] = None,
                       batch_rows: int = 16) -> Iterator[pa.RecordBatch]:
    """Version-checked record batches of at most `batch_rows` rows: a split larger than memory
    streams through (clips are ~1 MB of JPEGs each)."""
    cols = check_columns(columns) if columns is not None else None
    for f in check_shards(path):
        yield from pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=cols)


def decode_frames(jpegs: List[bytes]) -> np.ndarray:
    import cv2

    return np.stack([cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)[..., ::-1] for j in jpegs])


class ShardDataset(IterableDataset):
    """Yields dicts: clip_id, start (frame), frames (5,H,W,3) uint8 RGB, mel (80,16) float32
    (Wav2Lip's window of the first frame), mfcc (13,20) float32 (SyncNet's window), audio
    (3200,) int16. Windows step by `stride` frames; workers split the shard files."""

    def __init__(self, path: "str | Path", split: Optional[str] = None, stride: int = 1):
        self.files = check_shards(path)
        self.split = split
        self.stride = stride

    def clips(self, files: Optional[List[Path]] = None) -> Iterator[Dict]:
        for f in files or self.files:
            table = pq.read_table(f, columns=COLUMNS)
            for row in table.to_pylist():
                if self.split is None or row["split"] == self.split:
                    yield row

    def windows(self, row: Dict) -> Iterator[Dict]:
        frames = decode_frames(row["frames"])
        audio = np.frombuffer(row["audio"], "<i2")
        mel = np.asarray(row["mel"], np.float32)
        mfcc = syncnet_mfcc(audio).astype(np.float32)
        for s in range(0, row["n_frames"] - WINDOW + 1, self.stride):
            m0 = mel_window_start(s)
            if m0 + MEL_STEP > mel.shape[1] or 4 * s + 20 > mfcc.shape[1]:
                break
            yield {"clip_id": row["clip_id"], "start": s, "frames": frames[s : s + WINDOW],
                   "mel": mel[:, m0 : m0 + MEL_STEP], "mfcc": mfcc[:, 4 * s : 4 * s + 20],
                   "audio": audio[s * 640 : (s + WINDOW) * 640]}

    def __iter__(self) -> Iterator[Dict]:
        info = torch.utils.data.get_worker_info()
        files = self.files if info is None else self.files[info.id :: info.num_workers]
        for row in self.clips(files):
            yield from self.windows(row)

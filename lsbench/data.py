"""Reading shards back for training: 5-frame windows with their mel and MFCC windows.

Shards are plain Parquet (pandas / pyarrow read them without lsbench); this wrapper
decodes the JPEG crops and cuts the windows a Wav2Lip or SyncNet trainer needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Optional

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import IterableDataset

from .audio import MEL_STEP, mel_window_start, syncnet_mfcc

WINDOW = 5
COLUMNS = ["clip_id", "split", "n_frames", "frames", "audio", "mel"]


def shard_files(path: "str | Path") -> List[Path]:
    p = Path(path)
    files = sorted((p / "shards").glob("*.parquet")) if (p / "shards").is_dir() else sorted(p.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{p}: no shard files (*.parquet or shards/*.parquet)")
    return files


def decode_frames(jpegs: List[bytes]) -> np.ndarray:
    import cv2

    return np.stack([cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)[..., ::-1] for j in jpegs])


class ShardDataset(IterableDataset):
    """Yields dicts: clip_id, start (frame), frames (5,H,W,3) uint8 RGB, mel (80,16) float32
    (Wav2Lip's window of the first frame), mfcc (13,20) float32 (SyncNet's window), audio
    (3200,) int16. Windows step by `stride` frames; workers split the shard files."""

    def __init__(self, path: "str | Path", split: Optional[str] = None, stride: int = 1):
        self.files = shard_files(path)
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

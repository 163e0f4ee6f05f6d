"""A pair's target, decoded once: the source frames of its window, the box track, the face
boxes of the official script, the real evaluation crops, the speech and the clip's own audio.
Every producer and every metric reads the pair through this one object."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from .. import fullframe, media
from ..errors import MediaError
from ..protocols.base import PairSpec
from ..shards import ShardIndex, pcm16_to_float
from preprocess.schema import columns_for

SPF = media.SAMPLES_PER_FRAME
ROW_COLUMNS = columns_for("eval")  # what a pair's scoring reads of its target row (preprocess/schema.py)
EVAL_MAX_PIXELS = 1280 * 720  # source frames are decoded at most this large (preprocess's bound too)


@dataclass
class Target:
    spec: PairSpec
    row: dict  # the target's shard row (ROW_COLUMNS)
    frames: np.ndarray  # (T,H,W,3) uint8 RGB source frames of the window, as decoded
    track: np.ndarray  # (T,4) the shard's box track in decoded pixels
    boxes: np.ndarray  # (T,4) int: the official script's face boxes (Settings.geometry)
    real: np.ndarray  # (T,S,S,3) the real frames cut at the shard's crop geometry (the evaluation crops)
    speech: np.ndarray  # float32 16 kHz driving speech from its start (it may run on past the window)
    own: np.ndarray  # (T*640,) float32: the target's own audio

    @property
    def n(self) -> int:
        return self.spec.n_frames


def fit(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """The first n_samples of audio, zero-padded when it is shorter."""
    out = np.zeros(n_samples, np.float32)
    m = min(n_samples, len(audio))
    out[:m] = audio[:m]
    return out


def load_target(index: ShardIndex, spec: PairSpec, geometry: fullframe.Geometry) -> Target:
    row = index.row(spec.target, ROW_COLUMNS)
    own = pcm16_to_float(row["audio"])
    speech = own if spec.audio_from == spec.target else index.audio(spec.audio_from)
    n = spec.n_frames
    frames, scale = source_frames(row, n)
    track = np.asarray(row["boxes"][:n], np.float64) * scale
    boxes = fullframe.face_boxes(track, frames.shape[1:3], geometry)
    return Target(spec, row, frames, track, boxes, evaluation_crops(frames, track, row), speech, fit(own, n * SPF))


def evaluation_crops(frames: np.ndarray, track: np.ndarray, row: dict) -> np.ndarray:
    """The shard's crop geometry (box grown by its crop scale, median-smoothed, grey padding) cut from frames."""
    from ..syncnet.track import Track, crop_track

    t = Track(np.arange(len(track)), track, np.zeros(0))
    return crop_track(frames, t, float(row.get("crop_scale") or 0.15), int(row.get("crop_size") or 96))


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size)) for f in frames])


def source_frames(row: dict, n: int, max_pixels: int = EVAL_MAX_PIXELS) -> Tuple[np.ndarray, float]:
    """(n,H,W,3) RGB frames of the clip's window in its source at 25 fps, and the decode scale
    (decoded width / source width). One size rule for evaluate and the task a submission answers
    (`lsbench pairs`), so a portrait 1080x1920 target is 720x1280 in both. The source is the shard's stored copy when it has one,
    else the file at source_path."""
    start = int(round(float(row.get("start_s") or 0.0) * media.FPS))
    stored = row.get("source_video")
    with tempfile.TemporaryDirectory(prefix="lsbench-src-") as tmp:
        if stored:
            path = Path(tmp) / ("source" + Path(row.get("source_path") or "x.mp4").suffix)
            path.write_bytes(stored)
        else:
            path = Path(row["source_path"])
            if not path.is_file():
                raise MediaError(str(path), "the clip's source video is not there any more (the shards keep no copy of "
                                            "large sources: restore the corpus at this path, or re-run preprocess)")
        info = media.probe(path)
        frames = media.read_frames(path, max_frames=start + n, max_pixels=max_pixels, info=info)
    if len(frames) < start + n:
        raise MediaError(str(row.get("source_path")), f"the source has {len(frames)} frames at 25 fps; the clip needs "
                                                      f"frames {start}..{start + n - 1}")
    return np.ascontiguousarray(frames[start:start + n]), frames.shape[2] / info.width


def whole_source_file(row: dict, n: int) -> Optional[Path]:
    """The original file when the clip is the whole source with its own audio, unshifted (the
    `ground-truth` row then scores the real video itself, as Wav2Lip's "Real videos" row does)."""
    if row.get("offset_applied") or float(row.get("start_s") or 0) != 0 or row.get("audio_path"):
        return None
    path = Path(row.get("source_path") or "")
    if not path.is_file():
        return None
    info = media.probe(path)
    frames = int(round((info.video_duration or info.duration) * media.FPS))
    return path if frames == n and info.has_audio and abs(info.fps - media.FPS) < 1e-3 else None

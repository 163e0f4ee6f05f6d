"""The face-detector interface shared by S3FD and dlib's HOG detector."""

from __future__ import annotations

from abc import ABC, abstractmethod

from typing import List, Sequence

import numpy as np


class FaceDetector(ABC):
    """detect() takes RGB uint8 frames and returns, per frame, an (K, 5) float array of
    (x1, y1, x2, y2, score) in source pixels."""

    name = "detector"
    needs_weights = False

    @abstractmethod
    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Boxes per frame."""

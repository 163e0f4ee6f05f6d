"""The default weight-free detector: dlib's HOG detector first (fast, frontal faces, works
at higher resolution so small faces are found), dlib's CNN detector only on frames where
HOG finds nothing (dark, tilted, turned faces). Both need no download."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from .base import FaceDetector
from .dlib_hog import DlibHOGDetector
from .dlib_mmod import DlibMMODDetector


class DlibCascadeDetector(FaceDetector):
    name = "dlib"

    def __init__(self, hog_short_side: int = 540, cnn_short_side: int = 256, min_face: int = 40):
        self.hog = DlibHOGDetector(short_side=hog_short_side)
        self.cnn = DlibMMODDetector(short_side=cnn_short_side)
        self.min_face = min_face  # HOG boxes smaller than this (source px) are ignored as noise

    def detect_one(self, frame: np.ndarray) -> np.ndarray:
        found = self.hog.detect_one(frame)
        if len(found):
            found = found[np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]) >= self.min_face]
        return found if len(found) else self.cnn.detect_one(frame)

    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        return [self.detect_one(f) for f in frames]

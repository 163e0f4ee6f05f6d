"""The default weight-free detector: dlib's HOG detector first (fast, frontal faces, works
at higher resolution so small faces are found), dlib's CNN detector where HOG fails (dark,
tilted, turned faces). Both need no download.

`detect(frames)` reads its frames as a sequence (a clip's sampled frames, in order): a face
found in one frame guides the next. Where HOG has no box on a face seen before, the CNN runs
on a small window around that face instead of the whole frame (about 8x fewer pixels), and
a HOG false alarm elsewhere in the frame no longer hides the face. The whole-frame CNN runs
only where neither finds anything. Between full looks (every `rescan_every`-th frame, where
new faces are found), HOG, else the CNN, runs on a window around each known face, shrunk
until the face is ~110 px: it finds them again at a fraction of the cost; if both miss one,
the full look runs instead. On the six clips in shared/media, 5th-frame sampling: 13.6 s of
detection before, 4.6 s now, and syncnet_python's example clip keeps its speaker's track.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from ..syncnet.track import iou as box_iou
from .base import FaceDetector
from .dlib_hog import DlibHOGDetector
from .dlib_mmod import DlibMMODDetector


class DlibCascadeDetector(FaceDetector):
    name = "dlib"

    def __init__(self, hog_short_side: int = 540, cnn_short_side: int = 256, min_face: int = 40,
                 roi_context: float = 1.8, roi_face_px: int = 85, hog_face_px: int = 110, rescan_every: int = 5):
        self.hog = DlibHOGDetector(short_side=hog_short_side)
        self.cnn = DlibMMODDetector(short_side=cnn_short_side)
        self.min_face = min_face  # HOG boxes smaller than this (source px) are ignored as noise
        self.roi_context = roi_context  # guided CNN window: this many face sides around the earlier face
        self.roi_face_px = roi_face_px  # ... resized so that the face is about this big (the CNN's ~80 px window)
        self.hog_face_px = hog_face_px  # quick look: known faces shrunk to about this size (HOG's window is 80 px)
        self.rescan_every = max(1, rescan_every)

    def _hog(self, frame: np.ndarray, scale: Optional[float] = None) -> np.ndarray:
        found = self.hog.detect_one(frame) if scale is None else self.hog.detect_scaled(frame, scale)
        if len(found):
            found = found[np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]) >= self.min_face]
        return found

    def detect_one(self, frame: np.ndarray) -> np.ndarray:
        found = self._hog(frame)
        return found if len(found) else self.cnn.detect_one(frame)

    def _near(self, frame: np.ndarray, prior: np.ndarray, context: float, face_px: int, detect) -> np.ndarray:
        """`detect(window, scale)` on a window of `context` face sides around `prior`, the
        window resized so that the face is about `face_px`; boxes in frame pixels."""
        h, w = frame.shape[:2]
        side = max(prior[2] - prior[0], prior[3] - prior[1])
        cx, cy, half = (prior[0] + prior[2]) / 2, (prior[1] + prior[3]) / 2, side * context / 2
        x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
        x2, y2 = int(min(w, cx + half)), int(min(h, cy + half))
        if x2 - x1 < 16 or y2 - y1 < 16:
            return np.zeros((0, 5))
        found = detect(frame[y1:y2, x1:x2], face_px / side)
        if len(found):
            found[:, [0, 2]] += x1
            found[:, [1, 3]] += y1
        return found

    def detect_near(self, frame: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """The CNN on a window around `prior` (x1, y1, x2, y2)."""
        return self._near(frame, prior, self.roi_context, self.roi_face_px, self.cnn.detect_scaled)

    def detect_guided(self, frame: np.ndarray, priors: Optional[np.ndarray]) -> np.ndarray:
        found = self._hog(frame)
        extra = []
        for p in priors if priors is not None else []:
            if any(box_iou(p, b) > 0.3 for b in found):
                continue
            near = self.detect_near(frame, p)
            extra += [b for b in near if all(box_iou(b, k) <= 0.5 for k in [*found, *extra])]
        if extra:
            found = np.vstack([found.reshape(-1, 5), np.array(extra)])
        return found if len(found) else self.cnn.detect_one(frame)

    def detect_quick(self, frame: np.ndarray, priors: np.ndarray) -> Optional[np.ndarray]:
        """HOG, else the CNN, on a small window around each known face; None unless every
        one is found again."""
        found = []
        for p in priors:
            near = self._near(frame, p, 2.5, self.hog_face_px, lambda img, scale: self._hog(img, min(scale, 1.0)))
            near = [b for b in near if box_iou(p, b) > 0.3] or [b for b in self.detect_near(frame, p) if box_iou(p, b) > 0.3]
            if not near:
                return None
            found.append(near[0])
        return np.array(found)

    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        out, priors = [], None
        for i, frame in enumerate(frames):
            found = self.detect_quick(frame, priors) if priors is not None and i % self.rescan_every else None
            if found is None:
                found = self.detect_guided(frame, priors)
            out.append(found)
            if len(found):
                priors = found[:, :4]
        return out

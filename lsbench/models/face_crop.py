"""What every model working on 96x96 BGR face crops shares: the resize and the crop-model base
(generate() on the harness' crops and full-frame generation both call its faces()). The boxes,
crops and paste-back of full frames are lsbench.fullframe's."""

from __future__ import annotations

from abc import abstractmethod
from typing import Dict

import numpy as np

from .base import Generation, LipSyncModel, Pair

FACE = 96


def to_bgr96(frames_rgb: np.ndarray) -> np.ndarray:
    """(T,H,W,3) RGB crops -> (T,96,96,3) BGR, resized as inference.py does (cv2 bilinear)."""
    import cv2

    return np.stack([cv2.resize(np.ascontiguousarray(f[..., ::-1]), (FACE, FACE)) for f in frames_rgb])


class FaceCropModel(LipSyncModel):
    """A model that works on 96x96 BGR crops: `faces()` is its forward; generate() and the
    full-frame path (`lsbench generate`) both go through it."""

    @abstractmethod
    def faces(self, target_bgr: np.ndarray, reference_bgr: np.ndarray, audio: np.ndarray, fps: float) -> np.ndarray:
        """(T,96,96,3) BGR faces for the targets, driven by 16 kHz float audio; reference_bgr is
        one face (96,96,3) or one per target frame."""

    def generate(self, pair: Pair) -> Generation:
        import cv2

        target = to_bgr96(pair.target)
        reference = to_bgr96(pair.reference) if pair.reference.ndim == 4 else to_bgr96(pair.reference[None])[0]
        faces = self.faces(target, reference, pair.audio, pair.fps)
        h, w = pair.target.shape[1:3]
        frames = faces[..., ::-1] if (h, w) == (FACE, FACE) else np.stack([cv2.resize(f, (w, h))[..., ::-1] for f in faces])
        return Generation(np.ascontiguousarray(frames), pair.audio, {"checkpoint": self.path.name, **self.notes()})

    def notes(self) -> Dict[str, str]:
        return {}

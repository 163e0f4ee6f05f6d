"""How SyncTalkFace's train.py turns frames and a mel into network inputs (shared by the
model, the trainer and the conformance calls).

Frames are BGR uint8, normalised to [-1, 1] (x / 127.5 - 1) before masking: the masked lower
half of the target is 0.0, i.e. mid-grey. The lip encoder sees 5-frame windows with the
UPPER half zeroed. Mel windows of 16 columns start at int(80 * frame / 25).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

T = 5
MEL_STEP = 16


def norm(u8: np.ndarray) -> np.ndarray:
    return np.asarray(u8) / (255.0 / 2) - 1  # float64, as the authors' prepare_window


def generator_input(target_u8: np.ndarray, reference_u8: np.ndarray) -> torch.Tensor:
    """(B,3,T,H,W) target and reference -> (B,6,T,H,W) float32: masked target, then reference."""
    y = norm(target_u8)
    y[:, :, :, y.shape[3] // 2:] = 0.0
    return torch.from_numpy(np.concatenate([y, norm(reference_u8)], axis=1).astype(np.float32))


def mel_crop(mel_t: np.ndarray, frame: int) -> np.ndarray:
    """(F,80) mel (time-major) -> (16,80) window of `frame`, shorter at the end."""
    start = int(80.0 * (frame / 25.0))
    return mel_t[start:start + MEL_STEP]


@dataclass
class Batch:
    x: torch.Tensor  # (B,6,5,H,W)
    indiv_mels: torch.Tensor  # (B,5,1,80,16)
    mel: torch.Tensor  # (B,1,80,16)
    gt: torch.Tensor  # (B,3,5,H,W) in [-1,1]
    lips: torch.Tensor  # (B,5,3,5,H,W)


def training_batch(window_u8: np.ndarray, reference_u8: np.ndarray, mel_full: np.ndarray, frame_id: int) -> Batch:
    """window: (B,3,9,H,W) frames id-2 .. id+6; reference: (B,3,5,H,W); mel_full (80,F)."""
    w = norm(window_u8)
    h = w.shape[3]
    y = w[:, :, 2:7]
    masked = y.copy()
    masked[:, :, :, h // 2:] = 0.0
    x = np.concatenate([masked, norm(reference_u8)], axis=1)
    lip_y = w.copy()
    lip_y[:, :, :, :h // 2] = 0.0
    lips = np.stack([lip_y[:, :, l - 2:l + 3] for l in range(2, w.shape[2] - 2)], axis=1)
    mel_t = np.asarray(mel_full).T
    mel = mel_crop(mel_t, frame_id)
    indiv = [mel_crop(mel_t, i - 2) for i in range(frame_id + 1, frame_id + 1 + T)]
    if mel.shape[0] != MEL_STEP or any(m.shape[0] != MEL_STEP for m in indiv):
        raise ValueError(f"frame {frame_id}: its mel windows run past the audio ({mel_t.shape[0]} columns)")
    b = w.shape[0]
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return Batch(f32(x), f32(np.stack([np.stack([m.T for m in indiv])[:, None]] * b)),
                 f32(np.stack([mel.T[None]] * b)), f32(y), f32(lips))

"""PSNR and SSIM against the ground-truth frames (scikit-image). PSNR is the clip's: from the
mean squared error over all its frames (one identical frame does not make it infinite);
SSIM is the mean of the per-frame values."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .base import Metric


class PSNR(Metric):
    name = "psnr"

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        from skimage.metrics import peak_signal_noise_ratio

        with np.errstate(divide="ignore"):
            return {"psnr": float(peak_signal_noise_ratio(np.asarray(ground_truth), np.asarray(frames), data_range=255))}


class SSIM(Metric):
    name = "ssim"

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        from skimage.metrics import structural_similarity

        vals = [structural_similarity(g, f, channel_axis=-1, data_range=255) for f, g in zip(frames, ground_truth)]
        return {"ssim": float(np.mean(vals))}

"""PSNR and SSIM against the ground-truth frames (scikit-image), with stated conventions.

SSIM uses the settings of Wang et al. 2004: an 11x11 Gaussian window with sigma 1.5,
K1 = 0.01, K2 = 0.03, population covariances, data range 255; colour crops get the mean of
the three channels' SSIM; a clip's value is the mean over its frames. PSNR is computed per
frame (peak 255) and a clip's value is the mean of its frames' values; identical frames
(infinite PSNR) are left out of that mean and counted apart, and a clip whose every frame is
identical has an infinite PSNR, counted apart from the clips' mean in its turn.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .base import CropMetric

SSIM_SETTINGS = {"window": "gaussian, 11x11, sigma 1.5 (Wang et al. 2004)", "K1": 0.01, "K2": 0.03,
                 "covariance": "population", "data_range": 255, "colour": "mean of the R, G, B channels' SSIM",
                 "clip": "mean over frames", "implementation": "skimage.metrics.structural_similarity"}
PSNR_SETTINGS = {"peak": 255, "clip": "mean of per-frame PSNR; identical frames (infinite) left out and counted "
                                      "(psnr_identical_frames); a clip of identical frames is infinite, counted apart"}


def frame_psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


class PSNR(CropMetric):
    name = "psnr"

    def settings(self) -> Dict[str, object]:
        return PSNR_SETTINGS

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        vals = np.array([frame_psnr(f, g) for f, g in zip(frames, ground_truth)])
        finite = vals[np.isfinite(vals)]
        return {"psnr": float(finite.mean()) if finite.size else float("inf"),
                "psnr_identical_frames": float(vals.size - finite.size)}


class SSIM(CropMetric):
    name = "ssim"

    def settings(self) -> Dict[str, object]:
        return SSIM_SETTINGS

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        from skimage.metrics import structural_similarity

        vals = [structural_similarity(g, f, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, K1=0.01, K2=0.03)
                for f, g in zip(frames, ground_truth)]
        return {"ssim": float(np.mean(vals))}

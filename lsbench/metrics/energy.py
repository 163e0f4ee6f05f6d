"""Weight-free sync score: correlation of mouth motion energy with the audio envelope change.

`energy_sync` = peak correlation x (1 - |offset| / (max_lag + 1)): how strongly the mouth
moves with the speech, discounted by how far the best lag is from zero. In sync it is the
peak itself; the same motion 5 frames off keeps a fraction of it; a frozen face (no motion,
no evidence) scores 0. `energy_corr0` is the plain zero-lag correlation, `energy_offset` the
lag of the peak (syncnet_python sign); without mouth motion neither exists (n/a, reason
"no mouth motion"), since a correlation with a constant is undefined."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ..sync_energy import estimate_offset, motion_energy
from .base import CropMetric, Undefined


class EnergySync(CropMetric):
    name = "energy"

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        if motion_energy(frames).std() < 1e-6:
            none = Undefined("no mouth motion")
            return {"energy_sync": 0.0, "energy_corr0": none, "energy_offset": none, "energy_offset_abs": none}
        est = estimate_offset(frames, audio)
        peak = max(0.0, float(est.corr.max()))
        return {"energy_sync": peak * (1 - abs(est.offset) / (est.max_lag + 1)), "energy_corr0": float(est.corr[est.max_lag]),
                "energy_offset": float(est.offset), "energy_offset_abs": float(abs(est.offset))}

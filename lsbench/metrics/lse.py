"""LSE-D / LSE-C (syncnet_python semantics) on generated face crops, resized to 224."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import to_int16
from ..errors import WeightsError
from .base import Metric, MetricUnavailable


class LSEMetric(Metric):
    name = "lse"

    def __init__(self, device: str = "cpu"):
        from ..syncnet.lse import SyncNetScorer
        from ..syncnet.model import load_syncnet
        from ..syncnet.specs import SYNCNET

        try:
            self.scorer = SyncNetScorer(load_syncnet(device=device), device=device)
        except WeightsError as exc:
            raise MetricUnavailable(str(exc)) from None
        self._prov = {"syncnet": W.provenance(SYNCNET)}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        r = self.scorer.score(frames, to_int16(audio))
        return {"lse_d": r.lse_d, "lse_c": r.lse_c, "lse_offset": float(r.offset), "lse_offset_abs": float(abs(r.offset))}

    def provenance(self) -> Dict[str, dict]:
        return self._prov

"""LSE-D / LSE-C (syncnet_python semantics) on generated face crops, resized to 224."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import to_int16
from ..errors import WeightsError
from .base import Metric, MetricUnavailable


def weight_provenance(spec) -> dict:
    """Path, sha-256 and whether the file is verifiably the official one: its hash equals the
    published one, or the one pinned when it was fetched from the official source."""
    path = W.path(spec, check=False)
    digest = W.sha256_file(path)
    expected = W.expected_sha256(spec)
    return {"file": spec.filename, "path": str(path), "sha256": digest, "official": expected is not None and digest == expected,
            "why": "matches the published or fetch-pinned sha-256" if expected == digest else
            ("no published or fetch-pinned hash: cannot be verified as the official file" if expected is None
             else "sha-256 differs from the official file")}


class LSEMetric(Metric):
    name = "lse"
    higher_is_better = {"lse_d": False, "lse_c": True, "lse_offset_abs": False}

    def __init__(self, device: str = "cpu"):
        from ..syncnet.lse import SyncNetScorer
        from ..syncnet.model import load_syncnet
        from ..syncnet.specs import SYNCNET

        try:
            self.scorer = SyncNetScorer(load_syncnet(device=device), device=device)
        except WeightsError as exc:
            raise MetricUnavailable(str(exc)) from None
        self._prov = {"syncnet": weight_provenance(SYNCNET)}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        r = self.scorer.score(frames, to_int16(audio))
        return {"lse_d": r.lse_d, "lse_c": r.lse_c, "lse_offset": float(r.offset), "lse_offset_abs": float(abs(r.offset))}

    def provenance(self) -> Dict[str, dict]:
        return self._prov

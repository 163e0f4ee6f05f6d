"""Metric interface: per clip, a dict of named values; each value says which way is better."""

from __future__ import annotations

from abc import ABC, abstractmethod

from typing import Dict, Optional

import numpy as np


class MetricUnavailable(Exception):
    """The metric cannot run here (e.g. its weights are absent); the reason is recorded."""


class Metric(ABC):
    name = "metric"
    needs_ground_truth = False
    higher_is_better: Dict[str, bool] = {}  # value name -> direction

    @abstractmethod
    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        """Named values for one clip."""

    def provenance(self) -> Dict[str, dict]:
        """Weight files used: name -> {path, sha256, official}."""
        return {}

"""Metric interface: per clip, a dict of named values; each value says which way is better."""

from __future__ import annotations

from abc import ABC, abstractmethod

from typing import Dict, Optional

import numpy as np


class MetricUnavailable(Exception):
    """The metric cannot run here (e.g. its weights are absent); the reason is recorded."""


class Metric(ABC):
    """Subclasses set `name` to their registry name; the registration line holds their values'
    labels and directions and whether they need the ground truth (lsbench.registry.METRICS)."""

    name = "metric"

    @property
    def needs_ground_truth(self) -> bool:
        from ..registry import METRICS

        return METRICS.entry(self.name).ground_truth

    @property
    def higher_is_better(self) -> Dict[str, bool]:
        """Value name -> direction, for the values that are averaged and ranked."""
        from ..registry import METRICS

        return {v.key: v.higher_is_better for v in METRICS.entry(self.name).values if v.higher_is_better is not None}

    @abstractmethod
    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        """Named values for one clip."""

    def provenance(self) -> Dict[str, dict]:
        """Weight files used: name -> {path, sha256, official}."""
        return {}

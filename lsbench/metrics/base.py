"""Metric interface: per clip, a dict of named values; each value says which way is better.

Three kinds, told apart by their base class: a CropMetric scores the evaluation crops, a
VideoMetric the full-frame mp4 by an official route, a SetMetric has no per-clip value: each
clip contributes arrays (kept beside the resumable rows) and the split's value is formed from
all of them at the end (FID)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np


@dataclass(frozen=True)
class Undefined:
    """A value that does not exist for this clip (no motion, no face track, too short): shown
    as n/a with its reason, never averaged, never best."""

    reason: str


class Metric(ABC):
    """Subclasses set `name` to their registry name; the registration line holds their values'
    labels and directions and whether they need the ground truth (lsbench.registry.METRICS).
    A metric that cannot run here (its weights are absent) raises lsbench.errors.Failure with
    code "unavailable" from its constructor: the run records why and goes on without it."""

    name = "metric"
    kind = "crops"  # crops: compute() on face crops; video: compute_video() on the mp4; set: see SetMetric

    def settings(self) -> Dict[str, object]:
        """How the values are computed (window sizes, landmark model, crops...): recorded in the results."""
        return {}

    @property
    def needs_ground_truth(self) -> bool:
        from ..registry import METRICS

        return METRICS.entry(self.name).ground_truth

    @property
    def needs_target_frames(self) -> bool:
        from ..registry import METRICS

        return METRICS.entry(self.name).ground_truth or METRICS.entry(self.name).target_frames

    @property
    def higher_is_better(self) -> Dict[str, bool]:
        """Value name -> direction, for the values that are averaged and ranked."""
        from ..registry import METRICS

        return {v.key: v.higher_is_better for v in METRICS.entry(self.name).values if v.higher_is_better is not None}

    def provenance(self) -> Dict[str, dict]:
        """Weight files used: name -> {path, sha256, official}."""
        return {}


class CropMetric(Metric):
    """Scored on the evaluation face crops of the generated video (and the real ones)."""

    @abstractmethod
    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        """Named values for one clip: frames (T,H,W,3) RGB crops, audio (T*640,) float 16 kHz."""


class VideoMetric(Metric):
    """Scored on the full-frame mp4 the official inference writes, by an official route."""

    kind = "video"

    @abstractmethod
    def compute_video(self, video: Path, route: str) -> Dict[str, float]:
        """Named values for one generated video file."""


class SetMetric(Metric):
    """A statistic of the whole split. Each scored clip contributes named arrays computed from
    its generated and real evaluation crops; the harness keeps them on disk (so a resumed run
    keeps them too) under the row key `contribution_key`, and aggregate() forms the split's
    values from every scored clip's contribution."""

    kind = "set"
    contribution_key = "contribution"

    @abstractmethod
    def contribution(self, generated: np.ndarray, real: np.ndarray) -> Dict[str, np.ndarray]:
        """One clip's arrays (saved as float32)."""

    @abstractmethod
    def aggregate(self, contributions: List[Dict[str, np.ndarray]], bootstrap: int, seed: int) -> Dict[str, dict]:
        """Value key -> its aggregate record (mean, n, ci95, interval, ...) over the clips."""

"""What a run of `lsbench evaluate` is asked (EvalOptions) and what a pair's row depends on
besides the producer and the pair itself (Settings)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import List, Optional

from ..fullframe import GEN_VIDEOS, Geometry


@dataclass(frozen=True)
class EvalOptions:
    """The run's options, one object: `evaluate(model, data, protocol, split, **options)` fills it.

    workers: 1 scores in this process; N > 1 in N Ray actors (each loads the model and the metrics
    once); 0 picks Ray for splits of AUTO_RAY_PAIRS pairs or more. generated: a folder of videos made
    outside lsbench, scored under the name given as the model over the pairs of `task` (a folder from
    `lsbench pairs`) or of the protocol's plan."""

    protocol: str = "random-reference"
    split: Optional[str] = "test"
    limit: Optional[int] = None
    seed: int = 0
    device: str = "auto"
    out: Path = Path("results")
    save_videos: int = 0
    resume: bool = False
    progress: bool = True
    weights_path: Optional[Path] = None
    filelist: Optional[Path] = None
    workers: int = 1
    lse_route: str = "auto"
    metrics: Optional[List[str]] = None
    fid_bootstrap: int = 0  # resamples of every set metric's bootstrap interval (FID today)
    threads: int = 1
    generated: Optional[Path] = None
    task: Optional[Path] = None
    url: str = ""
    weights_sha256: str = ""
    keep_activations: bool = False  # keep each set metric's per-clip contributions after the run
    name: Optional[str] = None  # the name the results carry (default: the model's); with generated, the submission's
    overwrite: bool = False  # replace a finished results file (and its saved videos) or discard an interrupted run
    report_skipped_metrics: bool = True  # say "metric X skipped: why" (the demo says it once for all runs)

    @classmethod
    def names(cls) -> List[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Settings:
    """Everything a pair's row depends on besides the producer and the pair itself."""

    route: str = "whole-frame"
    geometry: Geometry = GEN_VIDEOS  # how the face boxes are cut and pasted (gen_videos_from_filelist.py)
    speech_in_video: str = "window"  # window: the scored frames' speech; whole: all of it (wav2lip-filelist)
    threads: int = 1  # torch threads in the scoring process (0: leave torch's default, which follows the worker count)

    @property
    def pads(self):
        return self.geometry.pads

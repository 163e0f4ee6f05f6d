"""The one interface every model, and every reference row, presents to the harness."""

from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import numpy as np


@dataclass
class Pair:
    """What the protocol hands a model: the target video, its identity reference frame,
    the driving speech, and the target's own audio (reference rows use it)."""

    target: np.ndarray  # (T,H,W,3) uint8 RGB face crops
    reference: np.ndarray  # (H,W,3): a random frame of the target video (not the time-aligned one);
    #                        (T,H,W,3) under wav2lip-filelist: each frame is its own identity input
    audio: np.ndarray  # (T*640,) float32 16 kHz: the driving speech, already fitted to T frames
    own_audio: np.ndarray  # (T*640,) float32: the target's own audio
    fps: int = 25


@dataclass
class Generation:
    frames: np.ndarray  # (T,H,W,3) uint8 RGB
    audio: np.ndarray  # the audio the frames are meant to match (scored against them)
    notes: Dict[str, str] = field(default_factory=dict)


class LipSyncModel(ABC):
    """generate(pair) -> Generation. The pose prior (the current frame with its lower half
    masked) is derived from pair.target by models that need one."""

    name = "model"
    face_size = 96
    needs: tuple = ("reference", "pose_prior")
    audio_features = "none"  # what the model computes from pair.audio itself (e.g. "wav2lip mel 80x16")

    def __init__(self, device: str = "cpu"):
        self.device = device

    def provenance(self) -> Dict[str, dict]:
        """Checkpoint files this instance loaded: name -> weights.provenance() record
        (path, sha-256, whether it is verifiably the official file)."""
        return {}

    @abstractmethod
    def generate(self, pair: Pair) -> Generation:
        """Frames for pair.target driven by pair.audio."""

"""The one interface every model, and every reference row, presents to the harness."""

from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np


@dataclass
class Pair:
    """What the protocol hands a model: the target video's face crops, its identity reference,
    the driving speech, the target's own audio, and the full source frames the crops come from."""

    target: np.ndarray  # (T,H,W,3) uint8 RGB face crops (the model's `input_crop`, at its face_size)
    reference: np.ndarray  # (H,W,3): a random frame of the target video (not the time-aligned one);
    #                        (T,H,W,3) under wav2lip-filelist: each frame is its own identity input
    audio: np.ndarray  # float32 16 kHz driving speech from its start, at least T*640 samples (it may run on:
    #                    the models take the windows of frames 0..T-1 from it, as the official scripts do)
    own_audio: np.ndarray  # (T*640,) float32: the target's own audio
    fps: int = 25
    source: Optional[np.ndarray] = None  # (T,H,W,3) uint8 RGB full source frames of the window
    ref_index: int = -1  # the reference frame's index in the window (-1: each frame is its own)
    clip_id: str = ""  # the target clip (external submissions are found by it)


@dataclass
class Generation:
    frames: np.ndarray  # (T,H,W,3) uint8 RGB
    audio: np.ndarray  # the audio the frames are meant to match (scored against them)
    notes: Dict[str, str] = field(default_factory=dict)


class LipSyncModel(ABC):
    """generate(pair) -> Generation. The pose prior (the current frame with its lower half
    masked) is derived from pair.target by models that need one.

    `input_crop` says which crops pair.target holds: "box" = the face box as Wav2Lip's
    evaluation script cuts it (integer detector box, pads, 5-frame smoothing) resized to
    face_size; "portrait" = the shard's crop geometry (box grown by the shard's crop scale),
    resized to face_size. full_frames() turns a Generation into the full-frame video the
    official inference would write."""

    name = "model"
    face_size = 96
    needs: tuple = ("reference", "pose_prior")
    audio_features = "none"  # what the model computes from pair.audio itself (e.g. "wav2lip mel 80x16")
    input_crop = "box"
    whole_clip_own_audio = False  # True: a reference row that plays each clip whole with its own audio
    audio_from_generation = False  # True: the video carries Generation.audio (own-audio rows)
    plays_source_file = False  # True: its output is the source itself; the original file is scored when it is whole
    full_frame = "generated faces pasted back into the source frames at the evaluation boxes"

    def full_frames(self, pair: Pair, gen: "Generation", boxes: np.ndarray) -> np.ndarray:
        """(T,H,W,3) RGB: the generated faces pasted back into pair.source at `boxes`."""
        from ..fullframe import paste_faces

        return paste_faces(pair.source, boxes, gen.frames)

    def __init__(self, device: str = "cpu"):
        self.device = device

    def provenance(self) -> Dict[str, dict]:
        """Checkpoint files this instance loaded: name -> weights.provenance() record
        (path, sha-256, whether it is verifiably the official file)."""
        return {}

    @abstractmethod
    def generate(self, pair: Pair) -> Generation:
        """Frames for pair.target driven by pair.audio."""

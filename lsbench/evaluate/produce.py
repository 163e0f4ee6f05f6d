"""Producers: what makes a pair's full-frame video. A bundled model and a reference row run
through ModelProducer (the one model interface, lsbench.models.base); a folder of videos made
outside lsbench is an ExternalProducer (lsbench.evaluate.external). The scorer sees only this
interface, so every producer is scored by the same metrics and routes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import fullframe
from ..errors import Failure
from ..models.base import LipSyncModel, Pair
from ..protocols.base import ALIGNED
from ..registry import MODELS
from .options import Settings
from .target import SPF, Target, fit, resize_frames, whole_source_file

MODEL_BATCH = 32  # a fixed forward batch: rows must not depend on how much memory happened to be free


@dataclass
class Produced:
    frames: np.ndarray  # (T,H,W,3) uint8 RGB: the full frames of the output video
    scored_audio: np.ndarray  # (T*640,) the audio the metrics score the frames against
    video_audio: np.ndarray  # the audio the mp4 carries (the whole speech under wav2lip-filelist)
    notes: Dict[str, str] = field(default_factory=dict)
    original: Optional[Path] = None  # the source file itself, when the output is the unaltered source


class Producer(ABC):
    """Makes each pair's output. `kind`: bundled, reference (a bound on the board, never a
    contestant) or external; `whole_clip_own_audio`: it plays each clip whole with its own audio."""

    name = "producer"
    kind = "bundled"
    whole_clip_own_audio = False
    needs: tuple = ()
    face_size = 96
    input_crop = "box"
    full_frame = ""

    @abstractmethod
    def produce(self, target: Target, settings: Settings) -> Produced:
        """The pair's output; a Failure names what is wrong with it."""

    def provenance(self) -> Dict[str, dict]:
        """Weight files behind the output: name -> weights.provenance() record."""
        return {}

    def describe(self) -> Dict[str, object]:
        """What the results file says of the producer besides its name and kind."""
        return {}


class ModelProducer(Producer):
    """A registered model (or reference row): its crops are cut at the official boxes (or the
    shard's crop geometry, `input_crop` portrait), its faces pasted back into the source frames."""

    def __init__(self, model: LipSyncModel, kind: str = "bundled", name: Optional[str] = None):
        self.model, self.kind = model, kind
        self.name = name or model.name
        self.whole_clip_own_audio = model.whole_clip_own_audio
        self.needs, self.face_size = tuple(model.needs), model.face_size
        self.input_crop, self.full_frame = model.input_crop, model.full_frame

    def provenance(self) -> Dict[str, dict]:
        return self.model.provenance()

    def describe(self) -> Dict[str, object]:
        return {"registered_model": self.model.name} if self.model.name != self.name else {}

    def produce(self, target: Target, settings: Settings) -> Produced:
        spec, n = target.spec, target.n
        if self.input_crop == "box":
            crops = fullframe.crop_faces(target.frames, target.boxes, self.face_size)
        else:
            crops = resize_frames(target.real, self.face_size)
        aligned = spec.ref_frame == ALIGNED
        if not aligned and not 0 <= spec.ref_frame < n:
            raise Failure(f"reference frame {spec.ref_frame} is outside the {n} decoded frames", "bad_reference")
        pair = Pair(crops, crops if aligned else crops[spec.ref_frame], target.speech, target.own,
                    source=target.frames, ref_index=spec.ref_frame, clip_id=spec.target)
        gen = self.model.generate(pair)
        full = self.model.full_frames(pair, gen, target.boxes)
        if self.model.audio_from_generation:
            scored = video = fit(gen.audio, n * SPF)
        else:
            scored = fit(target.speech, n * SPF)
            video = target.speech if settings.speech_in_video == "whole" else scored
        original = whole_source_file(target.row, n) if self.model.plays_source_file else None
        return Produced(full, scored, video, gen.notes, original)


def model_producer(name: str, device: str, weights_path: Optional[Path] = None,
                   display_name: Optional[str] = None) -> ModelProducer:
    """The registered model `name` (a missing package or checkpoint is one line naming it), shown as
    `display_name` (evaluate --name) when given."""
    from ..models.create import create_model

    model = create_model(name, device, weights_path, batch_size=MODEL_BATCH)
    return ModelProducer(model, "reference" if MODELS.entry(name).reference else "bundled", display_name or name)

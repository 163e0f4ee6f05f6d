"""Controlled faults made from a target clip's own full frames and audio, as producers: each is
scored by the same PairScorer, metrics and routes as a model's output (lsbench metric-check).

A fault has a family and a severity (0: the ground truth itself). The families (issue 23):
audio shifted by k frames, speech from another speaker, a frozen mouth (the lower face held at
one frame while the rest moves), the mouth region blurred, the whole frame re-encoded as JPEG,
another person's face pasted at the target's box track, and a silent stretch while the lips move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import cv2
import numpy as np

from .. import fullframe
from ..shards import ShardIndex
from .options import Settings
from .produce import Produced, Producer
from .target import ROW_COLUMNS, SPF, Target, fit, source_frames


@dataclass(frozen=True)
class Fault:
    family: str
    magnitude: float  # as stated: frames of shift, Gaussian sigma, JPEG quality; 1 for one-level families
    severity: float  # how bad, growing with the fault: |shift|, sigma, 100 - quality, 1; 0 = ground truth

    @property
    def label(self) -> str:
        return self.family if self.severity == 0 or self.family in ONE_LEVEL else f"{self.family} {self.magnitude:g}"


ONE_LEVEL = ("other_speech", "frozen_mouth", "pasted_face", "silent_stretch")
SHIFTS = (-15, -10, -5, -3, -1, 1, 3, 5, 10, 15)
BLURS = (1, 2, 4)
QUALITIES = (90, 50, 20)
FAULTS: List[Fault] = ([Fault("ground_truth", 0, 0)]
                       + [Fault("audio_shift", k, abs(k)) for k in SHIFTS]
                       + [Fault(f, 1, 1) for f in ONE_LEVEL]
                       + [Fault("mouth_blur", s, s) for s in BLURS]
                       + [Fault("jpeg", q, 100 - q) for q in QUALITIES])
FAMILIES = ["audio_shift", *ONE_LEVEL, "mouth_blur", "jpeg"]


def shift_audio(audio: np.ndarray, frames: int) -> np.ndarray:
    """Audio k frames late (k > 0) or early (k < 0), zero-filled, same length."""
    k = int(frames) * SPF
    out = np.zeros_like(audio)
    if k >= 0:
        out[k:] = audio[: len(audio) - k] if k < len(audio) else out[k:]
    else:
        out[: len(audio) + k] = audio[-k:]
    return out


def _lower_face(box) -> tuple:
    x1, y1, x2, y2 = (int(v) for v in box)
    return x1, (y1 + y2) // 2, x2, y2


def blur_region(frame: np.ndarray, box: tuple, sigma: float) -> np.ndarray:
    """The frame with `box` Gaussian-blurred, blended in through a feathered mask: a hard-edged blurred
    patch would add a new sharp rectangle, which a sharpness metric rightly sees as sharp."""
    x1, y1, x2, y2 = box
    mask = np.zeros(frame.shape[:2], np.float32)
    mask[max(y1, 0):y2, max(x1, 0):x2] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), max(2.0, 0.1 * (y2 - y1)))[..., None]  # ~10% of the region to fade
    blurred = cv2.GaussianBlur(frame, (0, 0), sigma).astype(np.float32)
    return np.clip(np.rint(mask * blurred + (1.0 - mask) * frame.astype(np.float32)), 0, 255).astype(np.uint8)


class FaultProducer(Producer):
    """One fault applied to each target; `partners` names, per clip, the other clip whose speech
    or face the other_speech and pasted_face faults take (the next clip in id order)."""

    kind = "reference"
    whole_clip_own_audio = False

    def __init__(self, fault: Fault, index: ShardIndex, partners: Dict[str, str]):
        self.fault, self.index, self.partners = fault, index, partners
        self.name = f"fault:{fault.label}"

    def describe(self) -> Dict[str, object]:
        return {"family": self.fault.family, "magnitude": self.fault.magnitude, "severity": self.fault.severity}

    def produce(self, target: Target, settings: Settings) -> Produced:
        f, frames, audio = self.fault, target.frames.copy(), target.own.copy()
        if f.family == "audio_shift":
            audio = shift_audio(audio, int(f.magnitude))
        elif f.family == "other_speech":
            audio = fit(self.index.audio(self.partners[target.spec.target]), target.n * SPF)
        elif f.family == "silent_stretch":  # the middle third of the speech silenced, the lips untouched
            n = len(audio)
            audio[n // 3: 2 * n // 3] = 0
        elif f.family == "frozen_mouth":
            for i in range(1, len(frames)):
                x1, y1, x2, y2 = _lower_face(target.boxes[i])
                frames[i, y1:y2, x1:x2] = cv2.resize(_patch(target.frames[0], target.boxes[0]), (x2 - x1, y2 - y1))
        elif f.family == "mouth_blur":
            frames = np.stack([blur_region(fr, _lower_face(b), float(f.magnitude)) for fr, b in zip(frames, target.boxes)])
        elif f.family == "jpeg":
            q = [cv2.IMWRITE_JPEG_QUALITY, int(f.magnitude)]
            frames = np.stack([cv2.imdecode(cv2.imencode(".jpg", fr[..., ::-1], q)[1], cv2.IMREAD_COLOR)[..., ::-1]
                               for fr in frames])
        elif f.family == "pasted_face":
            frames = self._paste(target, frames)
        return Produced(np.ascontiguousarray(frames), audio, audio, {"fault": f.label})

    def _paste(self, target: Target, frames: np.ndarray) -> np.ndarray:
        other = self.index.row(self.partners[target.spec.target], ROW_COLUMNS)
        n_other = min(int(other["n_frames"]), len(other["boxes"]))
        src, scale = source_frames(other, n_other)
        boxes = fullframe.face_boxes(np.asarray(other["boxes"][: len(src)], np.float64) * scale, src.shape[1:3],
                                     fullframe.GEN_VIDEOS)
        for i in range(len(frames)):
            j = i % len(src)
            x1, y1, x2, y2 = (int(v) for v in target.boxes[i])
            frames[i, y1:y2, x1:x2] = cv2.resize(_patch(src[j], boxes[j], whole=True), (x2 - x1, y2 - y1))
        return frames


def _patch(frame: np.ndarray, box, whole: bool = False) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) for v in box) if whole else _lower_face(box)
    return frame[y1:y2, x1:x2]

"""Reference rows that need no generator weights, registered as models like any other (with
`reference=True`: bounds on the board, never contestants): ground truth (the real video with its
own audio), a frozen reference frame (the lower bound), and the real video with its audio
shifted by a known number of frames."""

from __future__ import annotations

import numpy as np

from .base import Generation, LipSyncModel, Pair

from ..media import SAMPLES_PER_FRAME as SPF


class GroundTruth(LipSyncModel):
    """Wav2Lip's "Real videos" row: every clip whole, with its own audio, under every protocol."""

    name = "ground-truth"
    needs = ()
    whole_clip_own_audio = audio_from_generation = plays_source_file = True
    full_frame = "the source frames themselves (the original file when the clip is the whole source)"

    def generate(self, pair: Pair) -> Generation:
        return Generation(pair.target, pair.own_audio, {"audio": "own"})

    def full_frames(self, pair: Pair, gen: Generation, boxes: np.ndarray) -> np.ndarray:
        return pair.source


class StaticFrame(LipSyncModel):
    name = "static-frame"
    needs = ("reference",)
    full_frame = "the whole reference frame, frozen"

    def generate(self, pair: Pair) -> Generation:
        ref = pair.reference[0] if pair.reference.ndim == 4 else pair.reference
        return Generation(np.repeat(ref[None], len(pair.target), axis=0), pair.audio)

    def full_frames(self, pair: Pair, gen: Generation, boxes: np.ndarray) -> np.ndarray:
        return np.repeat(pair.source[max(pair.ref_index, 0)][None], len(pair.source), axis=0)


class ShiftedAudio(LipSyncModel):
    """The real video with its own audio delayed by `shift` frames (negative: advanced)."""

    name = "shifted-audio"
    needs = ()
    whole_clip_own_audio = audio_from_generation = True
    full_frame = "the source frames themselves"

    def __init__(self, shift: int = 5, device: str = "cpu"):
        super().__init__(device)
        self.shift = int(shift)

    def generate(self, pair: Pair) -> Generation:
        a, k = pair.own_audio, self.shift * SPF
        shifted = np.concatenate([np.zeros(k, a.dtype), a[: len(a) - k]]) if k >= 0 else np.concatenate(
            [a[-k:], np.zeros(-k, a.dtype)])
        return Generation(pair.target, shifted, {"shift_frames": str(self.shift)})

    def full_frames(self, pair: Pair, gen: Generation, boxes: np.ndarray) -> np.ndarray:
        return pair.source

"""A protocol turns the clips of a split into scored pairs, counting every pair it skips."""

from __future__ import annotations

from abc import ABC, abstractmethod

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import numpy as np

MIN_FRAMES = 6  # one SyncNet window + 1
ALIGNED = -1  # ref_frame value: the identity input is each frame itself (Wav2Lip's own inference and filelists)


@dataclass
class PairSpec:
    target: str  # clip id of the video
    audio_from: str  # clip id of the speech
    ref_frame: int  # index of the identity reference frame in the target video, or ALIGNED
    n_frames: int  # frames scored (video and speech fitted to the shorter)
    fit: str = "none"  # none | speech_trimmed | video_trimmed


@dataclass
class Plan:
    pairs: List[PairSpec]
    skipped: Dict[str, List[str]] = field(default_factory=dict)  # reason -> clip ids

    def skip_counts(self) -> Dict[str, int]:
        return {k: len(v) for k, v in self.skipped.items()}

    def fit_counts(self) -> Dict[str, int]:
        return dict(Counter(p.fit for p in self.pairs))


class Protocol(ABC):
    name = "protocol"
    version = 1
    metrics_need_ground_truth = False
    length_rule = ""  # how many frames a pair's output has (the README's table is made from these)

    @abstractmethod
    def plan(self, clips: Sequence[dict], seed: int) -> Plan:
        """clips: dicts with clip_id and n_frames, in shard order."""


def fit(target: dict, speech: dict) -> "tuple[int, str]":
    """Video and speech are scored over the shorter of the two: a longer speech is trimmed
    to the video, a longer video to the speech (counted, never silent)."""
    nv, ns = target["n_frames"], speech["n_frames"]
    if ns > nv:
        return nv, "speech_trimmed"
    if nv > ns:
        return ns, "video_trimmed"
    return nv, "none"


def split_short(clips: Sequence[dict]) -> "tuple[List[dict], List[str]]":
    ok = [c for c in clips if c["n_frames"] >= MIN_FRAMES]
    return ok, [c["clip_id"] for c in clips if c["n_frames"] < MIN_FRAMES]


def reference_frame(rng: np.random.Generator, n: int) -> int:
    """An identity frame drawn from the n frames that are decoded and scored (never clamped)."""
    return int(rng.integers(0, n))

"""`random-reference` (the default): each clip's video with the speech of another, randomly
chosen clip of the same split (seeded, recorded); identity reference = a random frame of the
target video; the pose prior is the current frame with its lower half masked (models do it)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Plan, PairSpec, Protocol, fit, reference_frame, split_short


class RandomReference(Protocol):
    name = "random-reference"
    version = 2  # 2: the reference frame is drawn from the scored frames (1 drew it over the whole clip)
    length_rule = ("the shorter of the video and the paired speech (fit: speech_trimmed / video_trimmed); the "
                   "mp4 carries the speech of those frames")

    def plan(self, clips: Sequence[dict], seed: int) -> Plan:
        rng = np.random.default_rng(seed)
        usable, short = split_short(clips)
        plan = Plan([], {"too_short": short} if short else {})
        if len(usable) < 2:
            if usable:
                plan.skipped["no_other_clip"] = [c["clip_id"] for c in usable]
            return plan
        for i, target in enumerate(usable):
            j = int(rng.integers(0, len(usable) - 1))
            speech = usable[j if j < i else j + 1]  # any clip but the target itself
            n, how = fit(target, speech)
            plan.pairs.append(PairSpec(target["clip_id"], speech["clip_id"], reference_frame(rng, n), n, how))
        return plan

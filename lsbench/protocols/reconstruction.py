"""`reconstruction`: each clip re-generated from its own audio; the real frames are the
ground truth, so PSNR, SSIM and LMD are added to the sync metrics."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Plan, PairSpec, Protocol, reference_frame, split_short


class Reconstruction(Protocol):
    name = "reconstruction"
    version = 1
    metrics_need_ground_truth = True
    length_rule = "the clip's length, with its own audio"

    def plan(self, clips: Sequence[dict], seed: int) -> Plan:
        rng = np.random.default_rng(seed)
        usable, short = split_short(clips)
        plan = Plan([], {"too_short": short} if short else {})
        for c in usable:
            plan.pairs.append(PairSpec(c["clip_id"], c["clip_id"], reference_frame(rng, c["n_frames"]), c["n_frames"]))
        return plan

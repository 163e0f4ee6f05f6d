"""Plan the pairs: the protocol's plan over the whole split (or a task folder's pairs), then the
run's first `limit` pairs, and the LSE route the datasets' published tables used."""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import LsbenchError
from ..protocols.base import ALIGNED, PairSpec, Plan
from ..registry import DATASETS, PROTOCOLS
from ..shards import ShardIndex

WHOLE_FRAME = "whole-frame"
PIPELINE = "pipeline"


def whole_frame_datasets() -> List[str]:
    """The datasets whose registration declares Wav2Lip's calculate_scores_LRS.py route."""
    return [e.name for e in DATASETS if e.lse_route == WHOLE_FRAME]


def pick_route(datasets: List[str], override: str = "auto") -> str:
    """The LSE route the published tables used for these datasets (or the override): whole-frame
    when every dataset declares it, else pipeline (any other video)."""
    if override != "auto":
        return override
    whole = whole_frame_datasets()
    return WHOLE_FRAME if datasets and all(d in whole for d in datasets) else PIPELINE


def make_protocol(name: str, filelist: Optional[Path] = None):
    cls = PROTOCOLS.load(name)
    if "filelist" in inspect.signature(cls.__init__).parameters:
        return cls(filelist=filelist)
    if filelist is not None:
        raise LsbenchError(f"--filelist goes with --protocol wav2lip-filelist, not {name!r}")
    return cls()


def own_audio_plan(pairs: List[PairSpec], light: Dict[str, dict]) -> List[PairSpec]:
    """Reference rows that play a clip's own audio score the whole clip with it, whatever the
    protocol paired it with: the audio and length they record are the ones they used."""
    return [PairSpec(p.target, p.target, p.ref_frame if 0 <= p.ref_frame else ALIGNED,
                     int(light[p.target]["n_frames"]), "none") for p in pairs]


def plan_pairs(protocol, index: ShardIndex, seed: int, limit: Optional[int] = None,
               whole_clip_own_audio: bool = False):
    """The protocol's plan over the whole split, then its first `limit` pairs: a pair (partner,
    reference frame, length) never depends on --limit. Returns (plan, pairs)."""
    plan = protocol.plan([{"clip_id": k, "n_frames": c["n_frames"]} for k, c in index.light.items()], seed)
    pairs = plan.pairs[:limit] if limit else plan.pairs
    return plan, own_audio_plan(pairs, index.light) if whole_clip_own_audio else pairs


@dataclass
class RunPlan:
    """What a run scores: the protocol, its plan, the pairs taken from it, and the datasets and
    LSE route of those pairs' clips."""

    protocol: object
    plan: Plan
    pairs: List[PairSpec]
    seed: int
    limit: Optional[int]
    datasets: List[str]
    route: str
    n_clips: int
    filelist_sha256: Optional[str] = None
    whole_frame_datasets: List[str] = field(default_factory=whole_frame_datasets)  # the route rule, as applied


def plan_run(index: ShardIndex, opts, whole_clip_own_audio: bool, task: Optional[tuple] = None) -> RunPlan:
    """The run's pairs: those of a task folder (`task`: lsbench.evaluate.task.task_plan's protocol, plan,
    seed and limit; external submissions answering `lsbench pairs`), or the protocol's plan of the
    options' seed."""
    if task is not None:
        protocol, plan, seed, limit = task
        pairs = plan.pairs
    else:
        protocol, seed, limit = make_protocol(opts.protocol, opts.filelist), opts.seed, opts.limit
        plan, pairs = plan_pairs(protocol, index, seed, limit)
    if whole_clip_own_audio:
        pairs = own_audio_plan(pairs, index.light)
    light = {p.target: index.light[p.target] for p in pairs} or index.light  # the clips this run scores
    datasets = sorted({c["dataset"] for c in light.values()})
    path = getattr(protocol, "path", None)
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path else None
    return RunPlan(protocol, plan, pairs, seed, limit, datasets, pick_route(datasets, opts.lse_route), len(light), sha)

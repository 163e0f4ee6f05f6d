"""Score one pair: decode its target, let the producer make the output, write the mp4 the
official script writes, and let every metric score it. The one code path, in this process or
in a Ray actor (lsbench.evaluate.workers).

Crop metrics score the *evaluation crops*: the output's full frames and the real ones cut at the
shard's crop geometry, so every producer is measured on the same pixels; video metrics score the
mp4 by the dataset's official route; set metrics' per-clip contributions are kept on disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import fullframe, media
from ..errors import Failure, environment_failure
from ..metrics.base import CropMetric, Undefined
from ..protocols.base import PairSpec
from ..shards import ShardIndex
from .options import Settings
from .produce import Produced, Producer
from .target import Target, evaluation_crops, load_target, resize_frames

BLAS_THREADS = 1  # numpy/scipy BLAS threads while a pair is scored, in every process


class PairScorer:
    """A producer and its metrics scoring one pair at a time."""

    def __init__(self, producer: Producer, metrics: list, index: ShardIndex, settings: Settings):
        self.producer, self.metrics, self.index, self.settings = producer, metrics, index, settings
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)

    def score(self, spec: PairSpec, video_stem: Optional[str] = None, contrib_stem: Optional[str] = None) -> dict:
        """The pair's row. `video_stem`: keep the mp4 and the target there; `contrib_stem`: the set
        metrics' contributions go to <contrib_stem>.<metric>/<clip>.npz."""
        from threadpoolctl import threadpool_limits

        row = {"clip_id": spec.target, "audio_from": spec.audio_from, "ref_frame": spec.ref_frame,
               "n_frames": spec.n_frames, "fit": spec.fit, "lse_route": self.settings.route, "status": "ok",
               "metrics": {}}
        try:
            # one BLAS thread: OpenBLAS sums in another order with more threads (MakeItTalk's numpy
            # moved 1e-4 between a Ray worker, where OMP_NUM_THREADS=1, and the driver)
            with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
                self._score(spec, row, video_stem, contrib_stem)
        except Failure as exc:  # one failing pair is a row with its reason, never a crashed run
            row.update(status="error", error_code=exc.code, reason=f"{exc.code}: {exc}")
        except Exception as exc:  # a bug or an unforeseen input: the row says so; the machine's failures stop the run
            env = environment_failure(exc)
            if env is not None:
                raise env from None
            row.update(status="error", error_code="exception", reason=f"{type(exc).__name__}: {exc}")
        return row

    def _score(self, spec: PairSpec, row: dict, video_stem: Optional[str], contrib_stem: Optional[str]) -> None:
        target = load_target(self.index, spec, self.settings.geometry)
        out = self.producer.produce(target, self.settings)
        row["notes"] = out.notes
        generated = (evaluation_crops(out.frames, target.track, target.row)
                     if out.frames.shape[1:3] == target.frames.shape[1:3] else resize_frames(out.frames, target.real.shape[1]))
        for m in self.metrics:
            if isinstance(m, CropMetric):
                put(row, m.compute(generated, out.scored_audio, target.real if m.needs_target_frames else None))
        self._score_video(target, out, row, video_stem)
        for m in self.metrics:
            if m.kind == "set" and contrib_stem:
                path = contribution_path(contrib_stem, m.name, spec.target)
                save_contribution(path, m.contribution(generated, target.real))
                row[m.contribution_key] = str(path)

    def _score_video(self, target: Target, out: Produced, row: dict, video_stem: Optional[str]) -> None:
        video_metrics = [m for m in self.metrics if m.kind == "video"]
        if not (video_metrics or video_stem):
            return
        with tempfile.TemporaryDirectory(prefix="lsbench-eval-") as tmp:
            if out.original is not None:
                video = Path(tmp) / f"video{out.original.suffix}"
                shutil.copyfile(out.original, video)
                row["video_source"] = "the original source file"
            else:
                video = fullframe.write_official_mp4(Path(tmp) / "video.mp4", out.frames, out.video_audio)
                row["video_source"] = "full frames written as the official script writes them"
            for m in video_metrics:
                put(row, m.compute_video(video, self.settings.route))
            if video_stem:
                Path(video_stem).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(video, f"{video_stem}{video.suffix}")
                media.write_video(f"{video_stem}.target.mp4", target.frames, audio=target.own)
                row["video"], row["target_video"] = f"{video_stem}{video.suffix}", f"{video_stem}.target.mp4"


def put(row: dict, values: Dict[str, object]) -> None:
    for k, v in values.items():
        if isinstance(v, Undefined):
            row["metrics"][k] = None
            row.setdefault("undefined", {})[k] = v.reason
        else:
            row["metrics"][k] = v


def safe_name(clip_id: str) -> str:
    return clip_id.replace("/", "_")


def contribution_path(stem: str, metric: str, clip_id: str) -> Path:
    return Path(f"{stem}.{metric}") / f"{safe_name(clip_id)}.npz"


def save_contribution(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """float32 on disk: the networks' own precision, so nothing is lost."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **{k: np.asarray(v).astype(np.float32) for k, v in arrays.items()})
    os.replace(tmp, path)


def load_contribution(path: "str | Path") -> Dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k].astype(np.float64) for k in z.files}

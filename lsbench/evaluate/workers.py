"""Pairs scored in Ray actors: each actor builds its own producer, metrics and shard reader once
and runs the same PairScorer as one process does, so rows are equal in any worker count."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, List, Optional

from ..shards import ShardIndex
from .options import Settings

AUTO_RAY_PAIRS = 64


def worker_count(requested: int, n_jobs: int) -> int:
    """workers > 0: as asked; 0: one per CPU (at most 8) for AUTO_RAY_PAIRS pairs or more, else 1."""
    if requested > 0:
        return requested
    return min(os.cpu_count() or 1, 8) if n_jobs >= AUTO_RAY_PAIRS else 1


class _RayScorer:
    """Ray actor body."""

    def __init__(self, model_name: str, device: str, weights_path: Optional[str], metric_names: List[str],
                 index: ShardIndex, settings: Settings):
        from .metric_set import make_metric
        from .produce import model_producer
        from .score import PairScorer

        metrics = [make_metric(name, device) for name in metric_names]
        producer = model_producer(model_name, device, Path(weights_path) if weights_path else None)
        self.scorer = PairScorer(producer, metrics, index, settings)

    def score(self, *job) -> dict:
        return self.scorer.score(*job)


def score_with_ray(jobs: list, n_workers: int, model_name: str, device: str, weights_path: Optional[Path],
                   metric_names: List[str], index: ShardIndex, settings: Settings,
                   echo: Callable[[str], None]) -> Iterator[dict]:
    """Rows of `jobs` ((spec, video_stem, contrib_stem) tuples) as the actors finish them."""
    import ray
    from ray.util import ActorPool

    from ..weights import worker_runtime_env

    if not ray.is_initialized():  # a Ray of our own, never another job's cluster on this machine
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # as preprocess: a local Ray, no token notice on the console
        ray.init(address="local", num_cpus=n_workers, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True, configure_logging=False)
    echo(f"scoring {len(jobs)} pairs in {n_workers} Ray workers")
    actor = ray.remote(num_cpus=1, runtime_env=worker_runtime_env())(_RayScorer)
    pool = ActorPool([actor.remote(model_name, device, str(weights_path) if weights_path else None, metric_names,
                                   index.locator(), settings) for _ in range(n_workers)])
    yield from pool.map_unordered(lambda a, job: a.score.remote(*job), jobs)

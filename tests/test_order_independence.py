"""A clip's row never depends on what ran before it, on the worker count or on --limit
(issue 15): every registered model, the same pairs scored by evaluate in the plan's order in one
process, backwards by the same scorer, by evaluate with two Ray workers, and with --limit 1 (torch
threads pinned alike). Each model and metric is loaded once for the module (the runs share them,
which also proves that a row does not depend on the runs before it); Ray is the test run's one
instance."""

from __future__ import annotations

import os

import pytest
from conftest import RAY_GROUP

from lsbench.evaluate import document as results
from lsbench.evaluate import evaluate
from lsbench.evaluate.metric_set import make_metrics, metric_names
from lsbench.evaluate.options import Settings
from lsbench.evaluate.plan import plan_pairs
from lsbench.evaluate.score import PairScorer
from lsbench.protocols.random_reference import RandomReference
from lsbench.registry import MODELS as REGISTERED_MODELS
from lsbench.shards import ShardIndex

pytestmark = [pytest.mark.slow, RAY_GROUP]
MODELS = REGISTERED_MODELS.names(ready_only=True)  # every registered model, from the registry
QUIET = dict(progress=False, echo=lambda s: None)


def _key(rows):
    return {r["clip_id"]: (r["status"], r.get("reason"), r["audio_from"], r["ref_frame"], r["n_frames"],
                           r["metrics"]) for r in rows}


@pytest.fixture(scope="module")
def loaded_once():
    """evaluate's model and metric factories, each result kept: a model or metric is loaded once
    for every run of the module (keyed by what it is loaded from)."""
    from lsbench.evaluate import metric_set, produce, run

    made, make_producer, make_metric = {}, produce.model_producer, metric_set.make_metric

    def producer(name, device, weights_path=None, display_name=None):
        key = ("model", name, device, str(weights_path), display_name, os.environ.get("LSBENCH_WEIGHTS_DIR"))
        return made[key] if key in made else made.setdefault(key, make_producer(name, device, weights_path,
                                                                                 display_name))

    def metric(name, device):
        key = ("metric", name, device, os.environ.get("LSBENCH_WEIGHTS_DIR"))
        return made[key] if key in made else made.setdefault(key, make_metric(name, device))

    patch = pytest.MonkeyPatch()
    patch.setattr(run, "model_producer", producer)
    patch.setattr(metric_set, "make_metric", metric)
    yield producer
    patch.undo()


@pytest.mark.parametrize("name", MODELS)
def test_rows_do_not_depend_on_order_or_workers(name, short_real_shards, tmp_path, weights_dir, loaded_once, ray_local,
                                                monkeypatch):
    import torch

    monkeypatch.setattr(torch, "get_num_threads", torch.get_num_threads)  # restored after the test
    threads = torch.get_num_threads()
    try:
        one = results.load(evaluate(name, short_real_shards, out=tmp_path / "one", workers=1, threads=1, **QUIET))
        assert all(r["status"] == "ok" for r in one["rows"]), [r.get("reason") for r in one["rows"]]
        index = ShardIndex.open(short_real_shards, "test")
        protocol = RandomReference()
        producer = loaded_once(name, "cpu")
        _, pairs = plan_pairs(protocol, index, 0, None, producer.whole_clip_own_audio)
        metrics, _ = make_metrics(metric_names(protocol), "cpu", lambda s: None)
        scorer = PairScorer(producer, metrics, index, Settings(threads=1))
        backward = [scorer.score(p) for p in reversed(pairs)]
        assert _key(one["rows"]) == _key(backward)  # in the plan's order, then backwards: the same rows
        two = results.load(evaluate(name, short_real_shards, out=tmp_path / "two", workers=2, threads=1, **QUIET))
        assert _key(two["rows"]) == _key(one["rows"])
        limited = results.load(evaluate(name, short_real_shards, out=tmp_path / "lim", limit=1, threads=1, **QUIET))
    finally:
        torch.set_num_threads(threads)
    (row,) = limited["rows"]
    assert _key([row])[row["clip_id"]] == _key(one["rows"])[row["clip_id"]]  # --limit takes pairs, not partners

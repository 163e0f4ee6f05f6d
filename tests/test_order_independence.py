"""A clip's row never depends on what ran before it, on the worker count or on --limit
(issue 15): every bundled model, the same pairs scored in two orders in one process, and by
evaluate with one worker and with two Ray workers (torch threads pinned alike)."""

from __future__ import annotations

import pytest

from lsbench.evaluate import document as results
from lsbench.evaluate import evaluate
from lsbench.evaluate.metric_set import make_metrics, metric_names
from lsbench.evaluate.options import Settings
from lsbench.evaluate.plan import plan_pairs
from lsbench.evaluate.produce import model_producer
from lsbench.evaluate.score import PairScorer
from lsbench.protocols.random_reference import RandomReference
from lsbench.registry import MODELS as REGISTERED_MODELS
from lsbench.shards import ShardIndex

MODELS = REGISTERED_MODELS.names(ready_only=True)  # every registered model, from the registry
QUIET = dict(progress=False, echo=lambda s: None)


def _key(rows):
    return {r["clip_id"]: (r["status"], r.get("reason"), r["audio_from"], r["ref_frame"], r["n_frames"],
                           r["metrics"]) for r in rows}


@pytest.mark.parametrize("name", MODELS)
def test_rows_do_not_depend_on_order_or_workers(name, real_shards, tmp_path, weights_dir, monkeypatch):
    import ray
    import torch

    monkeypatch.setattr(torch, "get_num_threads", torch.get_num_threads)  # restored after the test
    threads = torch.get_num_threads()
    index = ShardIndex.open(real_shards, "test")
    protocol = RandomReference()
    producer = model_producer(name, "cpu")
    _, pairs = plan_pairs(protocol, index, 0, None, producer.whole_clip_own_audio)
    metrics, _ = make_metrics(metric_names(protocol), "cpu", lambda s: None)
    scorer = PairScorer(producer, metrics, index, Settings(threads=1))
    forward = [scorer.score(p) for p in pairs]
    backward = [scorer.score(p) for p in reversed(pairs)]
    assert all(r["status"] == "ok" for r in forward), [r.get("reason") for r in forward]
    assert _key(forward) == _key(backward)
    one = results.load(evaluate(name, real_shards, out=tmp_path / "one", workers=1, threads=1, **QUIET))
    try:
        two = results.load(evaluate(name, real_shards, out=tmp_path / "two", workers=2, threads=1, **QUIET))
    finally:
        ray.shutdown()
        torch.set_num_threads(threads)
    assert _key(one["rows"]) == _key(two["rows"]) == _key(forward)
    limited = results.load(evaluate(name, real_shards, out=tmp_path / "lim", limit=1, threads=1, **QUIET))
    torch.set_num_threads(threads)
    (row,) = limited["rows"]
    assert _key([row])[row["clip_id"]] == _key(forward)[row["clip_id"]]  # --limit takes pairs, not partners

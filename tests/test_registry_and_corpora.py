"""The registry and the corpus fixtures' layouts."""

from __future__ import annotations

import pytest

from lsbench import media
from lsbench.errors import NotBuiltError, UnknownNameError
from lsbench.registry import METRICS, DATASETS, DETECTORS, MODELS, Registry


def test_registered_names():
    assert {"lrs2", "lrw", "voxceleb2"} <= set(DATASETS.names())
    assert {"wav2lip", "lipgan", "synctalkface", "makeittalk"} <= set(MODELS.names())
    assert {"s3fd", "dlib-hog"} <= set(DETECTORS.names())


def test_close_match_and_base_class():
    with pytest.raises(UnknownNameError, match="did you mean 'wav2lip'"):
        MODELS.entry("wav2lp")
    assert METRICS.load("fid").__name__ == "FID"
    assert MODELS.load("wav2lip").__name__ == "Wav2Lip"
    assert DETECTORS.load("dlib-hog").__name__ == "DlibHOGDetector"
    reg = Registry("thing", base="lsbench.detectors.base:FaceDetector")
    reg.register("wrong", "lsbench.syncnet.model:SyncNet")
    with pytest.raises(TypeError, match="not a subclass"):
        reg.load("wrong")
    reg.register("later", "lsbench.detectors.dlib_hog:DlibHOGDetector", planned="issue 99")
    with pytest.raises(NotBuiltError, match="issue 99"):
        reg.load("later")


def test_lrs2_layout(lrs2_corpus):
    root, splits = lrs2_corpus
    for split in ("train", "val", "test", "pretrain"):
        assert (root / f"{split}.txt").is_file()
    test_line = (root / "test.txt").read_text().splitlines()[0]
    assert test_line.split()[0] in splits["test"] and len(test_line.split()) == 2
    for split, items in splits.items():
        for item in items:
            folder = "pretrain" if split == "pretrain" else "main"
            mp4 = root / "mvlrs_v1" / folder / f"{item}.mp4"
            info = media.probe(mp4)
            assert (info.width, info.height, round(info.fps)) == (160, 160, 25) and info.has_audio
            assert mp4.with_suffix(".txt").read_text().startswith("Text:")
    pre = root / "mvlrs_v1" / "pretrain" / f"{splits['pretrain'][0]}.txt"
    assert "WORD START END ASDSCORE" in pre.read_text()


def test_lrw_layout(lrw_corpus):
    root, clips = lrw_corpus
    for mp4 in clips:
        assert mp4.parent.name in ("train", "val", "test") and mp4.stem.startswith(mp4.parent.parent.name + "_")
        assert "Duration: 0.53 seconds" in mp4.with_suffix(".txt").read_text()
        assert abs(len(media.read_frames(mp4)) - 29) <= 1


def test_voxceleb2_layout(voxceleb2_corpus):
    root, clips = voxceleb2_corpus
    for mp4 in clips:
        rel = mp4.relative_to(root).parts
        assert rel[0] in ("dev", "test") and rel[1] == "mp4" and rel[2].startswith("id") and rel[4] == "00001.mp4"
        m4a = root / rel[0] / "aac" / rel[2] / rel[3] / "00001.m4a"
        assert media.probe(m4a).has_audio and not media.probe(m4a).has_video


def test_docs_tables_are_the_registry():
    """docs/evaluation.md's metric-column and frame-count tables are made from the registry and the
    protocol classes (lsbench/doc_tables.py): a metric or a length rule is written once."""
    from pathlib import Path

    from lsbench.doc_tables import frame_count_table, metric_columns_table

    readme = (Path(__file__).parents[1] / "docs" / "evaluation.md").read_text()
    assert metric_columns_table() in readme and frame_count_table() in readme
    assert "| `fid` | FID (lower) | yes |" in metric_columns_table()


# ------------------------------------------------------------------ every fact of a component in its registration


def test_every_model_with_weights_is_proven_by_a_pack_and_loads_through_its_loader(shared):
    """A registered model (other than a reference row) names its weight files, each with the loader that
    checks it and a procedural stand-in, and at least one conformance pack in ../shared/conformance;
    every pack there is claimed by a registration. Forgetting one of these fails here."""
    import json

    from conftest import PACKS

    from lsbench import weights as W
    from lsbench.conformance.runner import registered_packs

    for e in MODELS:
        if e.reference:
            assert not e.weights and not e.packs, e.name
            continue
        specs = W.specs_of(e.weights)
        assert specs and e.packs, f"model {e.name}: no weights or no conformance pack in its registration"
        checkpoints = [s for s in specs if not s.name.startswith("face_alignment")]  # optional portrait files
        assert all(s.loader and s.procedural for s in checkpoints), e.name
    for registry in (DETECTORS, METRICS):
        for e in registry:
            downloaded = [s for s in W.specs_of(e.weights) if not s.package]  # a package's own file needs no stand-in
            assert all(s.loader and s.procedural for s in downloaded), e.name
            assert bool(e.packs) == bool(downloaded), e.name
    in_shared = sorted(p.name for p in PACKS.iterdir() if (p / "pack.json").is_file())
    assert sorted(registered_packs()) == in_shared
    for s in W.all_specs():
        if s.procedural:
            pack, _, ck = s.procedural.partition("/")
            ids = [c["id"] for c in json.loads((PACKS / pack / "pack.json").read_text())["checkpoints"]]
            assert ck in ids, f"weights {s.name}: {s.procedural} is not a checkpoint of pack {pack}"


def test_lists_elsewhere_are_derived_from_the_registry():
    """train's choices, the order-independence test's models, the datasets' LSE routes."""
    import click

    from lsbench.cli import cli
    from lsbench.registry import trainers

    train_model = next(p for p in cli.commands["train"].params if p.name == "model")
    assert isinstance(train_model.type, click.Choice) and list(train_model.type.choices) == list(trainers())
    assert set(trainers()) == {"synctalkface", "syncnet"}
    assert {d.name: d.lse_route for d in DATASETS} == {"lrs2": "whole-frame", "lrs3": "whole-frame",
                                                       "lrw": "whole-frame", "voxceleb2": "pipeline",
                                                       "hdtf": "pipeline"}
    from test_order_independence import MODELS as ORDER_MODELS

    assert ORDER_MODELS == MODELS.names(ready_only=True)


def test_a_registration_without_its_facts_is_caught(monkeypatch):
    """The checks above are not vacuous: a model registered without weights or packs, a dataset
    without a route, are what they catch."""
    from lsbench.evaluate.plan import pick_route

    MODELS.register("half-done", "lsbench.models.wav2lip:Wav2Lip", "a model registered without its facts")
    try:
        with pytest.raises(AssertionError, match="model half-done: no weights or no conformance pack"):
            test_every_model_with_weights_is_proven_by_a_pack_and_loads_through_its_loader(None)
    finally:
        MODELS.unregister("half-done")
    DATASETS.register("lrs9", "preprocess.recipes.lrs2:LRS2", "a dataset registered without a route")
    try:
        assert pick_route(["lrs9"]) == "pipeline" and pick_route(["lrs2"]) == "whole-frame"
        assert pick_route(["lrs2", "lrs9"]) == "pipeline"
    finally:
        DATASETS.unregister("lrs9")

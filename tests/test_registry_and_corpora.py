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
    protocol classes (lsbench/readme_tables.py): a metric or a length rule is written once."""
    from pathlib import Path

    from lsbench.readme_tables import frame_count_table, metric_columns_table

    readme = (Path(__file__).parents[1] / "docs" / "evaluation.md").read_text()
    assert metric_columns_table() in readme and frame_count_table() in readme
    assert "| `fid` | FID (lower) | yes |" in metric_columns_table()

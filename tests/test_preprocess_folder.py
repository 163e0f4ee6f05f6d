"""One place per fact for shard folders (issue 19 item 4, issue 20 item 3): the schema is the
only definition of a row, readers refuse other pipeline versions, a folder remembers the
configuration it was built with and refuses to mix another, the card describes the shards
on disk, validate_shards reports what a folder holds and what disagrees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lsbench import data
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from preprocess import schema
from preprocess.recipes.lrs2 import LRS2
from preprocess.stages import Config, process_batch
from preprocess.validate import validate_shards
from conftest import RAY_GROUP, preprocess_cli as run_cli

pytestmark = [RAY_GROUP, pytest.mark.slow]  # they start Ray (here or in a CLI subprocess): one worker runs them all


def test_the_schema_is_the_only_definition_of_a_row():
    names = [c.name for c in schema.COLUMNS]
    assert schema.SHARD_SCHEMA.names == names
    assert all(schema.SHARD_SCHEMA.field(n).metadata[b"description"] for n in names)
    assert schema.SHARD_SCHEMA.metadata[schema.VERSION_KEY] == schema.PIPELINE_VERSION.encode()
    assert data.COLUMNS == schema.columns_for("train")
    assert set(schema.columns_for("eval")) >= {"clip_id", "n_frames", "audio", "boxes", "source_video", "start_s"}
    values = {n: None for n in names}
    assert list(schema.make_row(**values)) == names
    with pytest.raises(ValueError, match=r"missing \['words'\]"):
        schema.make_row(**{k: v for k, v in values.items() if k != "words"})
    with pytest.raises(ValueError, match=r"unknown \['colour'\]"):
        schema.make_row(**values, colour=1)
    with pytest.raises(KeyError, match="not a shard column: n_frame"):
        schema.check_columns(["clip_id", "n_frame"])


def _shards(root: Path, refs, cfg: Config, name: str) -> Path:
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, cfg)
    assert all(table.column("ok").to_pylist()), table.column("error_message").to_pylist()
    (root / "shards").mkdir(parents=True, exist_ok=True)
    pq.write_table(table.select(schema.SHARD_SCHEMA.names).cast(schema.SHARD_SCHEMA), root / "shards" / name)
    return root / "shards" / name


def test_readers_refuse_shards_of_another_version(lrs2_corpus, tmp_path):
    root, _ = lrs2_corpus
    refs = [r.to_dict() for r in LRS2(root).find_clips("test")]
    folder = tmp_path / "old"
    f = _shards(folder, refs, Config(sync="none"), "part-0.parquet")
    table = pq.read_table(f)
    # version 2 rows read by name, version-checked
    got = data.read_shard_table(folder, ["clip_id", "n_frames"], split="test")
    assert got.column_names == ["clip_id", "n_frames", "split"] and got.num_rows == 2
    assert sum(b.num_rows for b in data.iter_shard_batches(folder, ["clip_id"], batch_rows=1)) == 2
    with pytest.raises(KeyError, match="not a shard column"):
        data.read_shard_table(folder, ["clip", "n_frames"])
    # the same rows as version 1 wrote them: no schema metadata, pipeline_version "1"
    old = table.replace_schema_metadata(None).set_column(
        table.schema.get_field_index("pipeline_version"), "pipeline_version", pa.array(["1"] * table.num_rows))
    pq.write_table(old, f)
    (folder / "dataset_card.json").write_text(json.dumps({"dataset": "lrs2", "root": str(root)}))
    assert data.file_version(f) == "1"
    for read in (data.check_shards, lambda p: data.read_shard_table(p, ["clip_id"]), data.ShardDataset):
        with pytest.raises(data.ShardVersionError) as info:
            read(folder)
        msg = str(info.value)
        assert "pipeline version 1" in msg and f"version {schema.PIPELINE_VERSION} only" in msg
        assert f"lsbench preprocess --dataset lrs2 --root {root} --out NEW_FOLDER" in msg
    from lsbench.shards import ShardIndex  # evaluate lists shards through the same check

    with pytest.raises(data.ShardVersionError, match="pipeline version 1"):
        ShardIndex.open(folder)
    report = validate_shards(folder)
    assert not report.ok and report.versions == {"1": 1}
    assert any("pipeline version 1" in p for p in report.problems)


def test_resume_with_another_config_is_refused_and_the_card_still_describes_the_shards(lrs2_corpus, tmp_path):
    """First run with a relative --root: the card records the resolved detector, the
    absolute root, no weights; rows hold absolute source paths. A re-run with another crop
    size (and sync) is refused naming both differences, before touching anything."""
    root, splits = lrs2_corpus
    corpus = tmp_path / "corpus"
    shutil.copytree(root, corpus)
    out = tmp_path / "out"
    p = run_cli("--dataset", "lrs2", "--root", "corpus", "--out", str(out), "--split", "test", "--sync", "none",
                "--workers", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    card_text = (out / "dataset_card.json").read_text()
    card = json.loads(card_text)
    assert card["root"] == str(corpus) and card["detector"] == "dlib" and card["config"]["detector"] == "dlib"
    assert card["weights"] == {} and card["config"]["crop_size"] == 96 and card["pipeline_version"] == "2"
    build = json.loads((out / "build.json").read_text())
    assert build["detector"] == "dlib" and build["root"] == str(corpus) and build["config"]["sync"] == "none"
    rows = data.read_shard_table(out, ["source_path", "detector", "crop_size"]).to_pylist()
    assert all(Path(r["source_path"]).is_absolute() and Path(r["source_path"]).is_file() for r in rows)
    assert {r["detector"] for r in rows} == {"dlib"}
    report = validate_shards(out)
    assert report.ok, report.lines()
    assert report.counts["rows"] == 2 and report.versions == {"2": 1}
    shards_before = sorted((f.name, f.stat().st_mtime_ns) for f in (out / "shards").iterdir())

    p = run_cli("--dataset", "lrs2", "--root", str(corpus), "--out", str(out), "--crop-size", "128", "--sync", "energy")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"lsbench: error: {out} was built with another configuration")
    assert "crop_size: 96 in the folder, 128 now" in err[0] and "sync: none in the folder, energy now" in err[0]
    assert (out / "dataset_card.json").read_text() == card_text
    assert sorted((f.name, f.stat().st_mtime_ns) for f in (out / "shards").iterdir()) == shards_before


def test_validate_reports_a_folder_that_mixes_crop_sizes(lrs2_corpus, tmp_path):
    root, _ = lrs2_corpus
    refs = [r.to_dict() for r in LRS2(root).find_clips("test")]
    folder = tmp_path / "mixed"
    _shards(folder, refs[:1], Config(sync="none"), "part-a.parquet")
    _shards(folder, refs[1:], Config(sync="none", crop_size=128), "part-b.parquet")
    (folder / "build.json").write_text(json.dumps({"dataset": "lrs2", "root": str(root), "detector": "dlib",
                                                   "config": Config(sync="none").to_dict()}))
    (folder / "dataset_card.json").write_text(json.dumps({"counts": {"ok": 1, "failed": 0},
                                                          "shard_files": ["part-a.parquet"], "detector": "dlib",
                                                          "config": {"crop_size": 96}}))
    report = validate_shards(folder)
    assert not report.ok
    text = "\n".join(report.lines())
    assert "2 crop sizes in one folder: 96 (1 rows), 128 (1 rows)" in text
    assert "1 rows have crop_size 128, but build.json says 96" in text
    assert "dataset_card.json counts 1 rows and 0 errors, the folder holds 2 and 0" in text
    assert report.counts["rows"] == 2 and text.endswith("problem(s)")
    assert json.loads(json.dumps(report.to_dict()))["ok"] is False
    empty = validate_shards(tmp_path / "nothing")
    assert not empty.ok and "not a folder" in empty.problems[0]

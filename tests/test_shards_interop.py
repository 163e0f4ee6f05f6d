"""Shards are plain Parquet: Hugging Face `datasets` and `duckdb` open them without lsbench
(issue 19 item 3). The files are written by the pipeline's own ShardWriter from real clips."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from preprocess.pipeline import ShardWriter
from preprocess.recipes.lrs2 import LRS2
from preprocess.schema import SHARD_SCHEMA
from preprocess.stages import Config, process_batch


@pytest.fixture(scope="module")
def shard_folder(lrs2_corpus, tmp_path_factory):
    root, _ = lrs2_corpus
    refs = [r.to_dict() for r in LRS2(root).find_clips()]
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    out = tmp_path_factory.mktemp("interop")
    writer = ShardWriter(out, "t", 512 << 20, 2)  # two clips a file: several files to glob
    for i in range(table.num_rows):
        writer.add(table.slice(i, 1))
    writer.flush()
    rows = table.filter(table.column("ok")).select(["split", "n_frames"]).to_pylist()
    expected = {}
    for r in rows:
        n, f = expected.get(r["split"], (0, 0))
        expected[r["split"]] = (n + 1, f + r["n_frames"])
    assert len(list((out / "shards").glob("*.parquet"))) >= 2 and len(rows) == 5
    return out, expected


def _outside(code: str, tmp_path) -> dict:
    """Run `code` in a fresh interpreter that never imports lsbench; it prints one JSON line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    code += "\nimport sys\nassert 'lsbench' not in sys.modules and 'preprocess' not in sys.modules\n"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_duckdb_reads_the_shards(shard_folder, tmp_path):
    out, expected = shard_folder
    got = _outside(f"""
import duckdb, json
rows = duckdb.sql("SELECT split, count(*), sum(n_frames) FROM read_parquet('{out}/shards/*.parquet') "
                  "GROUP BY split ORDER BY split").fetchall()
print(json.dumps({{s: [n, int(f)] for s, n, f in rows}}))
""", tmp_path)
    assert got == {s: list(v) for s, v in expected.items()}


def test_datasets_loads_the_shards(shard_folder, tmp_path):
    out, expected = shard_folder
    got = _outside(f"""
import glob, json
import numpy as np, cv2
from datasets import load_dataset
ds = load_dataset("parquet", data_files="{out}/shards/*.parquet", split="train")  # as the README shows
row = ds[0]
img = cv2.imdecode(np.frombuffer(row["frames"][0], np.uint8), cv2.IMREAD_COLOR)
print(json.dumps({{"n": len(ds), "columns": ds.column_names, "frames": sum(ds["n_frames"]),
                   "first": [len(row["frames"]), row["n_frames"], len(row["audio"]), len(row["mel"])],
                   "crop": list(img.shape)}}))
""", tmp_path)
    assert got["n"] == sum(n for n, _ in expected.values()) and got["columns"] == SHARD_SCHEMA.names
    assert got["frames"] == sum(f for _, f in expected.values())
    n = got["first"][1]
    assert got["first"] == [n, n, 2 * 640 * n, 80] and got["crop"] == [96, 96, 3]


def test_lsbench_finds_the_same_files_from_every_folder_form(shard_folder, tmp_path):
    """OUT and OUT/shards name the same files (one rule, data.shard_root), a plain folder of shard files
    and one file are read as given, and a build folder that is itself called `shards` is not mistaken
    for its own shards/ folder."""
    import shutil

    from lsbench import data

    out, _ = shard_folder
    files = sorted((out / "shards").glob("*.parquet"))
    assert data.shard_root(out / "shards") == out and data.shard_root(out) == out
    assert data.check_shards(out) == data.check_shards(out / "shards") == files
    assert data.check_shards(files[1]) == [files[1]]
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(files[0], plain / files[0].name)
    assert data.check_shards(plain) == [plain / files[0].name]
    named = tmp_path / "shards"  # a build folder named "shards": OUT itself, holding OUT/shards
    shutil.copytree(out / "shards", named / "shards")
    assert data.shard_root(named) == named
    assert data.check_shards(named) == [named / "shards" / f.name for f in files]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty: no shard files"):
        data.check_shards(tmp_path / "empty")

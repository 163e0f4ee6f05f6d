"""Models run outside lsbench: the exported task, a submission folder scored like a bundled
model, every pair accounted for, and `lsbench validate` (issue 18)."""

from __future__ import annotations

import csv
import json
import subprocess

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lsbench import media, synthetic
from lsbench.evaluate import document as results
from lsbench.cli import cli
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.evaluate import evaluate
from preprocess.recipes.base import ClipRef
from preprocess.schema import SHARD_SCHEMA
from preprocess.stages import Config, process_batch

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
QUIET = dict(progress=False, echo=lambda s: None)


@pytest.fixture(scope="module")
def seven_shards(tmp_path_factory):
    """Seven short synthetic clips of different lengths through the real preprocessing stages."""
    root = tmp_path_factory.mktemp("seven")
    refs = []
    for i, seconds in enumerate((1.2, 1.4, 1.2, 1.6, 1.2, 1.4, 1.2)):
        path = synthetic.write_clip(root / f"c{i}.mp4", synthetic.make_clip(seconds, seed=20 + i, size=160))
        refs.append(ClipRef(clip_id=f"syn/test/{i}", dataset="synthetic", split="test", speaker_id="s",
                            video_id=str(i), source_path=str(path)).to_dict())
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    assert all(table.column("ok").to_pylist()), table.column("error_message").to_pylist()
    (root / "shards").mkdir()
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), root / "shards" / "part-0.parquet")
    return root


@pytest.fixture(scope="module")
def task(seven_shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("task")
    r = CliRunner().invoke(cli, ["pairs", "--data", str(seven_shards), "--out", str(out), "--seed", "4",
                                 "--no-progress"])
    assert r.exit_code == 0, r.output
    return out


def _lines(task):
    with open(task / "pairs.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_task_holds_what_a_generator_needs_readable_with_ffmpeg_alone(task, seven_shards):
    spec = json.loads((task / "task.json").read_text())
    lines = _lines(task)
    assert spec["protocol"] == {**spec["protocol"], "name": "random-reference", "version": 2} and spec["seed"] == 4
    assert len(lines) == len(spec["pairs"]) == 7 and spec["pairs_sha256"] == results.pairs_digest(spec["pairs"])
    for line, pair in zip(lines, spec["pairs"]):
        assert [line["target_clip"], line["speech_clip"], int(line["ref_frame"])] == pair
        n = int(line["n_frames"])
        info = media.probe(task / line["target_video"])
        assert info.video_codec == "ffv1" and info.fps == 25 and (info.width, info.height) == (160, 160)
        assert len(media.read_frames(task / line["target_video"])) >= n
        sr, speech = media.read_wav_int16(task / line["speech_wav"])
        assert sr == 16000 and len(speech) == n * 640 and 0 <= int(line["ref_frame"]) < n
    assert "lossless" in spec["output"]["video_codec"] and spec["shards_digest"]


@pytest.mark.slow
def test_external_static_frame_equals_the_bundled_row(task, seven_shards, tmp_path, weights_dir):
    """bench/external_static_frame.sh (ffmpeg only) re-does the static-frame row outside lsbench; scored
    as a submission it gives the bundled row's numbers, metric by metric, on the same pairs."""
    sub = tmp_path / "sub"
    subprocess.run(["bash", str(ROOT / "bench" / "external_static_frame.sh"), str(task), str(sub)], check=True,
                   capture_output=True)
    ext = results.load(evaluate("static-frame-ffmpeg", seven_shards, out=tmp_path / "r", generated=sub, task=task,
                                url="https://example.org/model", weights_sha256="a" * 64, **QUIET))
    own = results.load(evaluate("static-frame", seven_shards, seed=4, out=tmp_path / "r", **QUIET))
    assert ext["protocol"]["pairs"] == own["protocol"]["pairs"]
    assert ext["model"]["kind"] == "external" and ext["model"]["url"] == "https://example.org/model"
    assert ext["weights"]["submission"]["state"] == "unverified" and ext["official_weights"] is False
    assert ext["coverage"] == {"pairs": 7, "scored": 7}
    assert {"lse_d", "lse_c", "energy_sync"} <= set(own["aggregates"])
    for a, b in zip(ext["rows"], own["rows"]):
        assert a["status"] == b["status"] == "ok"
        assert a["metrics"] == b["metrics"], (a["clip_id"], a["metrics"], b["metrics"])
    assert {k: v["mean"] for k, v in ext["aggregates"].items()} == {k: v["mean"] for k, v in own["aggregates"].items()}


@pytest.mark.slow
def test_every_bad_submission_is_a_row_with_its_reason(task, seven_shards, tmp_path):
    """One missing, one wrong-fps, one silent, one truncated and one wrongly sized file: exactly
    those five error rows, the other pairs scored, coverage 2/7."""
    sub = tmp_path / "sub"
    subprocess.run(["bash", str(ROOT / "bench" / "external_static_frame.sh"), str(task), str(sub)], check=True,
                   capture_output=True)
    lines = _lines(task)
    (sub / "00000.mkv").unlink()  # missing

    def remake(pid, *args):
        src = task / f"targets/{pid}.mkv"
        media.ffmpeg("-i", str(src), "-i", str(task / f"speech/{pid}.wav"), "-map", "0:v", "-map", "1:a", *args,
                     str(sub / f"{pid}.mkv"))

    n1 = int(lines[1]["n_frames"])
    (sub / "00001.mkv").unlink()
    remake("00001", "-vf", "fps=30", "-frames:v", str(round(n1 * 30 / 25)), "-c:v", "ffv1", "-c:a", "pcm_s16le")
    (sub / "00002.mkv").unlink()
    remake("00002", "-af", "volume=0", "-frames:v", lines[2]["n_frames"], "-c:v", "ffv1", "-c:a", "pcm_s16le")
    data = (sub / "00003.mkv").read_bytes()
    (sub / "00003.mkv").write_bytes(data[: len(data) // 3])  # truncated
    (sub / "00004.mkv").unlink()
    remake("00004", "-vf", "scale=128:128", "-frames:v", lines[4]["n_frames"], "-c:v", "ffv1", "-c:a", "pcm_s16le")
    doc = results.load(evaluate("broken", seven_shards, out=tmp_path / "r", generated=sub, task=task,
                                metrics=["energy"], **QUIET))
    codes = {r["clip_id"]: r.get("error_code") for r in doc["rows"] if r["status"] != "ok"}
    by_pair = {line["target_clip"]: line["pair_id"] for line in lines}
    got = {by_pair[c]: code for c, code in codes.items()}
    assert got["00000"] == "missing_file" and got["00001"] == "wrong_fps" and got["00002"] == "silent"
    assert got["00003"] in ("unreadable", "wrong_frame_count") and got["00004"] == "wrong_size"
    assert len(got) == 5 and doc["coverage"] == {"pairs": 7, "scored": 2} and doc["counts"]["failed"] == 5
    assert all(r["status"] == "ok" and r["metrics"] for r in doc["rows"] if r["clip_id"] not in codes)


def test_validate_refuses_tampering_old_protocols_and_impossible_values(seven_shards, tmp_path):
    path = evaluate("static-frame", seven_shards, out=tmp_path, metrics=["energy"], **QUIET)
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 0 and "ok:" in r.output, r.output
    good = json.loads(path.read_text())

    def refused(doc, why):
        bad = tmp_path / "bad" / "x.json"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text(json.dumps(doc))
        r = CliRunner().invoke(cli, ["validate", str(bad)])
        assert r.exit_code == 1 and why in r.output and "Traceback" not in r.output, r.output
        r = CliRunner().invoke(cli, ["leaderboard", "--results", str(bad.parent), "--out", str(tmp_path / "site")])
        assert r.exit_code == 1 and str(bad) in r.output and why in r.output, r.output
        bad.unlink()

    doc = json.loads(json.dumps(good))
    doc["protocol"]["pairs"][0][1], doc["protocol"]["pairs"][1][1] = (doc["protocol"]["pairs"][1][1],
                                                                      doc["protocol"]["pairs"][0][1])
    refused(doc, "pair list was changed")
    doc["protocol"]["pairs_sha256"] = results.pairs_digest(doc["protocol"]["pairs"])  # a careful forger
    for r in doc["rows"][:2]:
        r["audio_from"] = {p[0]: p[1] for p in doc["protocol"]["pairs"]}[r["clip_id"]]
    refused(doc, "is not the random-reference plan of seed 0")
    doc = json.loads(json.dumps(good))
    doc["protocol"]["version"] = 1
    refused(doc, "random-reference version 1: this lsbench scores version 2")
    doc = json.loads(json.dumps(good))
    doc["rows"][0]["metrics"]["lse_c"] = -2.0
    refused(doc, "lse_c = -2 is below its lowest possible value 0")


def test_validate_reports_a_shard_folder(seven_shards):
    """The fixture's shards were written without build.json or a card: reported, exit 1."""
    r = CliRunner().invoke(cli, ["validate", str(seven_shards)])
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    assert lines[1].startswith("pipeline version: 2 (1 files)")
    assert "rows: 7 in 1 shard files" in r.output
    assert "problem: no build.json: the configuration the rows were built with is unknown" in lines
    assert lines[-1] == "2 problem(s)"

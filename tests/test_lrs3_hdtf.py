"""LRS3 and HDTF (issue 25) on tiny corpora cut from ../shared/media at test time: LRS3's word
timings reach the shard and Wav2Lip's lrs3.txt lines pair its clips; HDTF's official layout is cut
by its annotations (two stretches, two clips of the right length), a crop window outside the frame
is a bad_box row naming it, an annotated video absent on disk is a missing_file row; the cut-clip
layout gives the same clip ids; the split is identity-disjoint or a --split-file, recorded."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import RAY_GROUP

from lsbench import media
from lsbench.cli import cli
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.errors import LsbenchError
from preprocess.pipeline import RunOptions, list_corpus
from preprocess.recipes.hdtf import HDTF, identity, rule_split
from preprocess.schema import SHARD_SCHEMA
from preprocess.stages import Config, process_batch

AOC = "hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4"  # 512x512, 8.06 s, 25 fps


def _cut(src, dest, start, seconds):
    dest.parent.mkdir(parents=True, exist_ok=True)
    media.ffmpeg("-ss", str(start), "-t", str(seconds), "-i", str(src), "-c:v", "libx264", "-crf", "18",
                 "-pix_fmt", "yuv420p", "-c:a", "aac", str(dest))


def _process(refs):
    batch = {k: [r[k] for r in refs] for k in refs[0]}
    batch["words"] = [json.dumps(w) if w is not None else "" for w in batch["words"]]
    return process_batch(batch, DlibCascadeDetector(), None, Config(sync="none"))


def test_lrs3_words_reach_the_shard_and_its_filelist_pairs_clips(shared, tmp_path):
    root = tmp_path / "lrs3"
    for split, spk, clip, src, start in (("test", "0Fi83BHQsMA", "00002", "videoretalking/face_2.mp4", 0.0),
                                         ("test", "0JGarsZE1rk", "00005", AOC, 1.0),
                                         ("trainval", "abcdefghijk", "00001", AOC, 4.0)):
        _cut(shared / "media" / src, root / split / spk / f"{clip}.mp4", start, 2.0)
        (root / split / spk / f"{clip}.txt").write_text(
            f"Text:  HELLO THERE {clip}\nConf:  4\n\nWORD START END ASDSCORE\nHELLO 0.10 0.40 3.5\nTHERE 0.45 0.90 4.2\n")
    refs = list_corpus(RunOptions("lrs3", root, tmp_path / "out", split="test")).refs
    assert [r["clip_id"] for r in refs] == ["lrs3/test/0Fi83BHQsMA/00002", "lrs3/test/0JGarsZE1rk/00005"]
    table = _process(refs)
    assert table.column("ok").to_pylist() == [True, True], table.column("error_message").to_pylist()
    rows = table.to_pylist()
    words = rows[0]["words"]
    assert [w["word"] for w in words] == ["HELLO", "THERE"]
    assert [(w["start"], w["end"], w["asd"]) for w in words] == [pytest.approx((0.1, 0.4, 3.5)),
                                                                  pytest.approx((0.45, 0.9, 4.2))]
    assert rows[1]["transcript"] == "HELLO THERE 00005"
    shards = tmp_path / "shards"
    (shards / "shards").mkdir(parents=True)
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), shards / "shards" / "part-0.parquet")
    lst = tmp_path / "lrs3.txt"  # Wav2Lip's evaluation/test_filelists/lrs3.txt form: `audio_src video`
    lst.write_text("0JGarsZE1rk/00005 0Fi83BHQsMA/00002\n")
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(shards), "--protocol",
                                 "wav2lip-filelist", "--filelist", str(lst), "--metrics", "energy", "--out",
                                 str(tmp_path / "r"), "--no-progress"])
    assert r.exit_code == 0, r.output
    doc = json.loads(next((tmp_path / "r").glob("*.json")).read_text())
    assert doc["protocol"]["pairs"] == [["lrs3/test/0Fi83BHQsMA/00002", "lrs3/test/0JGarsZE1rk/00005", -1]]
    assert doc["lse_route"]["name"] == "whole-frame" and doc["coverage"] == {"pairs": 1, "scored": 1}


def _official(shared, root):
    """Two long videos on disk (one with two annotated stretches, one whose window lies outside its
    frame) and one annotated video absent."""
    ann = root / "HDTF_dataset"
    ann.mkdir(parents=True)
    (root / "videos").mkdir()
    shutil.copyfile(shared / "media" / AOC, root / "videos" / "AlexandriaOcasioCortez.mp4")
    shutil.copyfile(shared / "media" / AOC, root / "videos" / "BarbaraLee1.mp4")
    (ann / "WDA_annotion_time.txt").write_text("AlexandriaOcasioCortez.mp4 00:00-00:02 00:04-00:07\n"
                                               "BarbaraLee1.mp4 00:01-00:03\nBobCasey1.mp4 00:45-00:55\n")
    (ann / "WDA_crop_wh.txt").write_text("AlexandriaOcasioCortez_0.mp4 40 440 20 440\n"
                                         "AlexandriaOcasioCortez_1.mp4 30 460 0 460\n"
                                         "BarbaraLee1_0.mp4 300 400 0 400\nBobCasey1_0.mp4 639 650 46 650\n")
    return root


def test_hdtf_official_layout_is_cut_by_its_annotations(shared, tmp_path):
    root = _official(shared, tmp_path / "hdtf")
    recipe = HDTF(root)
    recipe.cut_root = tmp_path / "out" / "clips"
    refs = [r.to_dict() for r in recipe.find_clips()]
    names = {r["clip_id"].split("/")[-1]: r for r in refs}
    assert sorted(names) == ["AlexandriaOcasioCortez_0", "AlexandriaOcasioCortez_1", "BarbaraLee1_0", "BobCasey1_0"]
    table = _process(refs)
    rows = {r["clip_id"].split("/")[-1]: r for r in table.to_pylist()}
    for name, seconds, side in (("AlexandriaOcasioCortez_0", 2, 440), ("AlexandriaOcasioCortez_1", 3, 460)):
        assert rows[name]["ok"], rows[name]["error_message"]
        cut = media.probe(names[name]["source_path"])
        assert (cut.width, cut.height, cut.fps) == (side, side, 25.0) and abs(cut.duration - seconds) < 0.05
        assert rows[name]["n_frames"] == 25 * seconds and rows[name]["source_path"] == names[name]["source_path"]
    bad = rows["BarbaraLee1_0"]
    assert not bad["ok"] and bad["error_reason"] == "bad_box"
    assert "crop window x=300 width=400 y=0 height=400" in bad["error_message"] and "512x512" in bad["error_message"]
    gone = rows["BobCasey1_0"]
    assert not gone["ok"] and gone["error_reason"] == "missing_file" and gone["error_stage"] == "listed"
    assert "BobCasey1.mp4: named in WDA_annotion_time.txt" in gone["error_message"]


def test_hdtf_cut_clips_get_the_same_ids_and_the_split_is_identity_disjoint(shared, tmp_path):
    root = tmp_path / "cut"
    for name in ("WDA_AmyKlobuchar0_000", "WDA_AmyKlobuchar1_002", "RD_Radio7_001"):
        (root / "clips").mkdir(parents=True, exist_ok=True)
        (root / "clips" / f"{name}.mp4").write_bytes(b"")  # listing reads names only
    _cut(shared / "media" / AOC, root / "clips" / "WDA_AlexandriaOcasioCortez_000.mp4", 0, 2.0)
    refs = list(HDTF(root).find_clips())
    table = _process([r.to_dict() for r in refs if "Alexandria" in r.clip_id])
    assert table.column("ok").to_pylist() == [True] and table.column("n_frames").to_pylist() == [50]
    ids = sorted(r.clip_id.split("/")[-1] for r in refs)
    assert ids == ["AlexandriaOcasioCortez_0", "AmyKlobuchar0_0", "AmyKlobuchar1_2", "Radio7_1"]
    by = {r.clip_id.split("/")[-1]: r for r in refs}
    assert by["AmyKlobuchar0_0"].speaker_id == by["AmyKlobuchar1_2"].speaker_id == "AmyKlobuchar"
    assert by["AmyKlobuchar0_0"].split == by["AmyKlobuchar1_2"].split == rule_split("AmyKlobuchar")
    assert identity("RD", "Radio7") == "Radio7" and by["Radio7_1"].split == rule_split("Radio7")
    split_file = tmp_path / "test.txt"
    split_file.write_text("WDA_AmyKlobuchar1_002.mp4\nRadio7_1\n")
    listing = list_corpus(RunOptions("hdtf", root, tmp_path / "o", split="test", split_file=split_file))
    assert sorted(r["clip_id"] for r in listing.refs) == ["hdtf/test/AmyKlobuchar1_2", "hdtf/test/Radio7_1"]
    assert listing.split_definition["rule"] == "split file" and len(listing.split_definition["sha256"]) == 64
    with pytest.raises(LsbenchError, match="--split-file: lrs2 takes its splits from the corpus itself"):
        list_corpus(RunOptions("lrs2", root, tmp_path / "o", split_file=split_file))


def test_an_unreadable_annotation_line_is_named(tmp_path):
    ann = tmp_path / "HDTF_dataset"
    ann.mkdir()
    (ann / "RD_annotion_time.txt").write_text("Radio1.mp4 00:20-01:35\nRadio2.mp4 0:2x-01:45\n")
    with pytest.raises(LsbenchError, match=r"RD_annotion_time.txt:2: expected 'Name.mp4 MM:SS-MM:SS \.\.\.'"):
        list(HDTF(tmp_path).find_clips())


@pytest.mark.slow
@RAY_GROUP  # the test run's one Ray, on the worker that runs every Ray test (not a second instance)
def test_preprocess_and_evaluate_run_on_hdtf(shared, tmp_path, ray_local):
    """The whole command on the official layout: the good stretches become shards (kept, none lost),
    the bad window and the absent video errors rows; the card records the split; evaluate scores it."""
    root = _official(shared, tmp_path / "hdtf")
    out = tmp_path / "shards"
    r = CliRunner().invoke(cli, ["preprocess", "--dataset", "hdtf", "--root", str(root), "--out", str(out),
                                 "--detector", "dlib", "--sync", "none", "--workers", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    card = json.loads((out / "dataset_card.json").read_text())
    assert card["counts"] == {"listed": 4, "ok": 2, "failed": 2}
    assert card["errors_by_reason"] == {"bad_box": 1, "missing_file": 1}
    assert card["split_definition"]["rule"] == "hdtf-identity-v1"
    assert sorted(p.name for p in (out / "clips" / "WDA").glob("*.mkv")) == [
        "AlexandriaOcasioCortez_0.mkv", "AlexandriaOcasioCortez_1.mkv"]
    split = rule_split("AlexandriaOcasioCortez")
    e = CliRunner().invoke(cli, ["evaluate", "--model", "ground-truth", "--data", str(out), "--split", split,
                                 "--protocol", "reconstruction", "--metrics", "energy", "--out", str(tmp_path / "r"),
                                 "--no-progress"])
    assert e.exit_code == 0, e.output
    doc = json.loads(next((tmp_path / "r").glob("*.json")).read_text())
    assert doc["coverage"] == {"pairs": 2, "scored": 2} and doc["lse_route"]["name"] == "pipeline"
    assert doc["dataset"]["split_definition"] == card["split_definition"]


@pytest.mark.slow
@RAY_GROUP  # the test run's one Ray, on the worker that runs every Ray test (not a second instance)
def test_preprocess_runs_on_lrs3(shared, tmp_path, ray_local):
    root = tmp_path / "lrs3"
    for spk, src, start in (("0Fi83BHQsMA", "videoretalking/face_2.mp4", 0.0), ("0JGarsZE1rk", AOC, 2.0)):
        _cut(shared / "media" / src, root / "test" / spk / "00001.mp4", start, 2.0)
        (root / "test" / spk / "00001.txt").write_text("Text:  HELLO\nConf:  4\n\nWORD START END ASDSCORE\n"
                                                       "HELLO 0.10 0.40 3.5\n")
    out = tmp_path / "shards"
    r = CliRunner().invoke(cli, ["preprocess", "--dataset", "lrs3", "--root", str(root), "--out", str(out),
                                 "--detector", "dlib", "--sync", "none", "--workers", "1", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "dataset_card.json").read_text())["counts"] == {"listed": 2, "ok": 2, "failed": 0}
    words = pq.read_table(out / "shards", columns=["words"]).column("words").to_pylist()
    assert [[w["word"] for w in ws] for ws in words] == [["HELLO"], ["HELLO"]]

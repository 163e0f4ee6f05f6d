"""Results nobody can corrupt (issue 28): a submission must carry the pair's speech, lossy ones are
marked, nothing is replaced or thrown away unasked, a run that scored nothing fails, the board is
rebuilt in place and takes every results folder, and validate decides shard folders as evaluate does."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from leaderboard import render
from lsbench import media
from lsbench.cli import cli
from lsbench.errors import LsbenchError
from lsbench.evaluate import document as results
from lsbench.evaluate import evaluate
from lsbench.evaluate import run as run_module
from lsbench.evaluate.audio_match import MIN_CORRELATION, speech_match
from lsbench.evaluate.task import export_task

ROOT = Path(__file__).resolve().parents[1]
QUIET = dict(progress=False, echo=lambda s: None)
ENERGY = ["energy"]


@pytest.fixture(scope="module")
def task(real_shards, tmp_path_factory):
    """The two real test clips' random-reference task (each target gets the other speaker's speech)."""
    return export_task(real_shards, "random-reference", tmp_path_factory.mktemp("task") / "t", "test", 1,
                       progress=False, echo=lambda s: None)


@pytest.fixture(scope="module")
def lossless(task, tmp_path_factory):
    """bench/external_static_frame.sh's submission: FFV1 + PCM with the pair's speech, as the task asks."""
    sub = tmp_path_factory.mktemp("sub") / "lossless"
    subprocess.run(["bash", str(ROOT / "bench" / "external_static_frame.sh"), str(task), str(sub)], check=True,
                   capture_output=True)
    return sub


def _lines(task):
    with open(task / "pairs.csv", newline="") as f:
        return list(csv.DictReader(f))


_ffmpeg = media.ffmpeg  # quiet, -y, one-line error


def _copy(sub, dest):
    shutil.copytree(sub, dest)
    return dest


@pytest.mark.slow
def test_copied_targets_are_wrong_audio_and_a_lossy_mux_of_the_speech_passes(real_shards, task, lossless, tmp_path):
    """Item 1 and 2. The targets, cut to the pair's length, carry their own speaker's audio: every pair
    is wrong_audio and nothing is scored. The same static frames in H.264/AAC with the pair's speech
    pass (AAC's priming and resampling are within the tolerance), marked lossy in rows, validate and board."""
    copied = tmp_path / "copied"
    copied.mkdir()
    for line in _lines(task):
        n = int(line["n_frames"])
        _ffmpeg("-i", str(task / line["target_video"]), "-frames:v", str(n), "-t", f"{n / 25:.2f}", "-c:v", "ffv1",
                "-c:a", "pcm_s16le", str(copied / line["output"]))
    with pytest.raises(LsbenchError, match="nothing was scored: all 2 pairs failed.*its audio is not the pair's speech"):
        evaluate("copied", real_shards, out=tmp_path / "r", generated=copied, task=task, metrics=ENERGY, **QUIET)
    doc = results.load(next((tmp_path / "r").glob("copied__*.json")))
    assert [r["error_code"] for r in doc["rows"]] == ["wrong_audio", "wrong_audio"]

    lossy = tmp_path / "lossy"
    lossy.mkdir()
    for f in sorted(lossless.glob("*.mkv")):
        _ffmpeg("-i", str(f), "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv444p", "-c:a", "aac", "-b:a", "64k",
                str(lossy / f"{f.stem}.mp4"))
    path = evaluate("lossy", real_shards, out=tmp_path / "r", generated=lossy, task=task, metrics=ENERGY, **QUIET)
    doc = results.load(path)
    assert [r["status"] for r in doc["rows"]] == ["ok", "ok"]
    for r in doc["rows"]:
        assert r["notes"]["lossless"] is False and r["notes"]["codec"] == "h264/aac"
        assert r["notes"]["speech_correlation"] > 0.95 and abs(r["notes"]["speech_lag_ms"]) <= 80
    assert doc["model"]["lossy_pairs"] == 2
    out = CliRunner().invoke(cli, ["validate", str(path)])
    assert out.exit_code == 0 and "lossy: 2 scored pair(s) came in a lossy codec" in out.output, out.output
    good = results.load(evaluate("lossless", real_shards, out=tmp_path / "r", generated=lossless, task=task,
                                 metrics=ENERGY, **QUIET))
    assert good["model"]["lossy_pairs"] == 0 and all(r["notes"]["lossless"] for r in good["rows"])
    assert all(r["notes"]["speech_correlation"] > 0.999 and r["notes"]["speech_lag_ms"] == 0 for r in good["rows"])
    render.build_site(tmp_path / "r", tmp_path / "site", echo=lambda s: None)
    page = (tmp_path / "site" / "index.html").read_text()
    assert page.count("lossy (2)") == 1 and "Runs that scored nothing" in page


def test_speech_match_separates_other_speakers_from_a_lossy_copy(shared, tmp_path):
    """The rule on real speech: another speaker's audio is far below the threshold, MP3 and AAC of the
    same speech and a 60 ms delay far above it."""
    wavs = {}
    for name, src in (("a", "videoretalking/face_2.mp4"), ("b", "hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4"),
                      ("c", "latentsync/demo1_audio.wav")):
        _ffmpeg("-i", str(shared / "media" / src), "-ac", "1", "-ar", "16000", "-t", "3",
                str(tmp_path / f"{name}.wav"))
        wavs[name] = media.read_wav_int16(tmp_path / f"{name}.wav")[1].astype(np.float32) / 32768
    for codec, ext in (("aac", "m4a"), ("libmp3lame", "mp3")):
        _ffmpeg("-i", str(tmp_path / "a.wav"), "-c:a", codec, "-b:a", "32k", str(tmp_path / f"a.{ext}"))
        _ffmpeg("-i", str(tmp_path / f"a.{ext}"), "-ac", "1", "-ar", "16000", str(tmp_path / f"a-{codec}.wav"))
        decoded = media.read_wav_int16(tmp_path / f"a-{codec}.wav")[1].astype(np.float32) / 32768
        assert speech_match(decoded, wavs["a"])[0] > 0.95
    late = np.concatenate([np.zeros(960, np.float32), wavs["a"]])[: len(wavs["a"])]
    corr, lag = speech_match(late, wavs["a"])
    assert corr > 0.95 and lag == 960
    for other in ("b", "c"):
        assert speech_match(wavs[other], wavs["a"])[0] < MIN_CORRELATION / 3


def test_task_options_that_conflict_are_refused(real_shards, task, lossless):
    """Item 3: the task decides protocol and seed; saying otherwise is one line, never overridden."""
    base = ["evaluate", "--generated", str(lossless), "--name", "x", "--task", str(task), "--data", str(real_shards)]
    r = CliRunner().invoke(cli, base + ["--seed", "5"])
    assert r.exit_code == 2 and "--seed 5 conflicts with the task" in r.output and "seed 1" in r.output, r.output
    r = CliRunner().invoke(cli, base + ["--protocol", "reconstruction"])
    assert r.exit_code == 2 and "--protocol reconstruction conflicts" in r.output, r.output


@pytest.mark.slow
def test_no_results_file_is_replaced_without_overwrite(real_shards, tmp_path):
    """Item 5: the same run twice is refused; --limit and --name make other files; --overwrite
    replaces the file and takes its saved videos with it."""
    out = tmp_path / "r"
    first = evaluate("static-frame", real_shards, out=out, seed=1, metrics=ENERGY, save_videos=1, **QUIET)
    assert first.with_suffix("").is_dir()
    with pytest.raises(LsbenchError, match="exists: a finished run of the same name; pass --overwrite"):
        evaluate("static-frame", real_shards, out=out, seed=1, metrics=ENERGY, **QUIET)
    limited = evaluate("static-frame", real_shards, out=out, seed=1, metrics=ENERGY, limit=1, **QUIET)
    named = evaluate("static-frame", real_shards, out=out, seed=1, metrics=ENERGY, name="frozen", **QUIET)
    assert limited.name.endswith("__seed1__limit1.json") and named.name.startswith("frozen__")
    assert results.load(first)["coverage"]["pairs"] == 2 and results.load(limited)["coverage"]["pairs"] == 1
    assert results.load(named)["model"]["registered_model"] == "static-frame"
    again = evaluate("static-frame", real_shards, out=out, seed=1, metrics=ENERGY, overwrite=True, **QUIET)
    assert again == first and not first.with_suffix("").exists()  # the old saved videos went with the old file
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--seed", "1",
                                 "--out", str(out), "--metrics", "energy", "--no-progress"])
    assert r.exit_code == 1 and "--overwrite" in r.output and "Traceback" not in r.output, r.output


@pytest.mark.slow
def test_checkpoints_of_one_model_get_their_own_files(real_shards, tmp_path, weights_dir):
    """Item 5: --weights FILE puts the file's hash in the name, so it never replaces the default's results."""
    out = tmp_path / "r"
    default = evaluate("wav2lip", real_shards, out=out, seed=1, metrics=ENERGY, limit=1, **QUIET)
    mine = tmp_path / "mine.pth"  # the same tensors saved again: another file, another hash
    torch.save(torch.load(weights_dir / "wav2lip.pth", map_location="cpu", weights_only=False), mine)
    own = evaluate("wav2lip", real_shards, out=out, seed=1, metrics=ENERGY, limit=1, weights_path=mine, **QUIET)
    from lsbench.weights import sha256_file

    assert own != default and f"__w{sha256_file(mine)[:8]}__" in own.name and default.exists()


@pytest.mark.slow
def test_an_interrupted_run_keeps_its_rows_until_resume_or_overwrite(real_shards, tmp_path, monkeypatch):
    """Item 6: Ctrl-C after the first pair (through the CLI, where click used to print only 'Aborted!')
    prints the --resume hint and keeps that pair; the same command without --resume is refused;
    --resume finishes with the rows of an uninterrupted run; --overwrite throws an interrupted run away
    and starts over."""
    calls = []
    original = run_module.PairScorer.score

    def score(self, *job):
        calls.append(job)
        if len(calls) == 2:  # the second pair of a run
            raise KeyboardInterrupt
        return original(self, *job)

    monkeypatch.setattr(run_module.PairScorer, "score", score)
    out = tmp_path / "r"
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--out", str(out),
                                 "--seed", "1", "--metrics", "energy", "--no-progress"])
    assert r.exit_code != 0 and "interrupted: 1 of 2 pairs are kept in" in r.output, r.output
    assert "run the same command with --resume to continue (--overwrite starts over)" in r.output, r.output
    (partial,) = out.glob("*.partial.jsonl")
    assert len(partial.read_text().splitlines()) == 2  # its header and the one scored pair
    monkeypatch.setattr(run_module.PairScorer, "score", original)
    said = []
    kw = dict(out=out, seed=1, metrics=ENERGY, progress=False, echo=said.append)
    with pytest.raises(LsbenchError, match="an interrupted run's 1 scored pair.*--resume continues it"):
        evaluate("static-frame", real_shards, **kw)
    resumed = results.load(evaluate("static-frame", real_shards, resume=True, **kw))
    whole = results.load(evaluate("static-frame", real_shards, name="whole", **kw))
    assert [r["metrics"] for r in resumed["rows"]] == [r["metrics"] for r in whole["rows"]]
    assert not partial.exists()
    calls.clear()
    monkeypatch.setattr(run_module.PairScorer, "score", score)  # interrupted again, this time over a finished file
    with pytest.raises(KeyboardInterrupt):
        evaluate("static-frame", real_shards, overwrite=True, **kw)
    assert partial.exists() and len(partial.read_text().splitlines()) == 2
    monkeypatch.setattr(run_module.PairScorer, "score", original)
    over = results.load(evaluate("static-frame", real_shards, overwrite=True, **kw))
    assert not partial.exists() and len(over["rows"]) == 2
    assert [r["metrics"] for r in over["rows"]] == [r["metrics"] for r in whole["rows"]]


@pytest.mark.slow
def test_an_empty_submission_fails_and_is_listed_apart(real_shards, task, lossless, tmp_path):
    """Item 8 and 9: nothing scored is exit 1 naming the first missing file; the file is still written,
    validate fails it, the board lists it apart. A misnamed file is named as a near miss; of .mkv and
    .mp4 the one used is said."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("forgot the videos")
    r = CliRunner().invoke(cli, ["evaluate", "--generated", str(empty), "--name", "empty", "--task", str(task),
                                 "--data", str(real_shards), "--out", str(tmp_path / "r"), "--metrics", "energy",
                                 "--no-progress"])
    assert r.exit_code == 1 and "nothing was scored: all 2 pairs failed" in r.output, r.output
    assert f"{empty / '00000.mkv'}: no file for pair 00000" in r.output
    assert "failed missing_file: 2 pair(s); first:" in r.output
    path = next((tmp_path / "r").glob("empty__*.json"))
    v = CliRunner().invoke(cli, ["validate", str(path)])
    assert v.exit_code == 1 and "nothing was scored (0/2 pairs)" in v.output, v.output

    odd = _copy(lossless, tmp_path / "odd")
    (odd / "00000.mkv").rename(odd / "00000.MKV")
    _ffmpeg("-i", str(odd / "00001.mkv"), "-c", "copy", str(odd / "00001.avi"))
    said = []
    doc = results.load(evaluate("odd", real_shards, out=tmp_path / "r", generated=odd, task=task, metrics=ENERGY,
                                progress=False, echo=said.append))
    assert any(s.startswith("  failed missing_file: 1 pair(s); first:") and "found 00000.MKV" in s for s in said), said
    row = next(r for r in doc["rows"] if r["status"] == "ok")
    assert row["notes"]["submitted"] == "00001.mkv" and row["notes"]["also_there"] == "00001.avi"

    render.build_site(tmp_path / "r", tmp_path / "site", echo=lambda s: None)
    page = (tmp_path / "site" / "index.html").read_text()
    board, apart = page.split("Runs that scored nothing")
    assert ">empty<" in apart and ">empty<" not in board and ">odd<" in board
    assert "missing_file &times;2" in apart


@pytest.mark.slow
def test_the_board_takes_every_results_folder_and_rebuilds_in_place(real_shards, task, lossless, tmp_path):
    """Items 4 and 7: two --results folders both reach the board; a task.json among them is named and
    left out; building into a folder inside --results twice works and never reads its own copies;
    --out equal to --results is refused."""
    a, b = tmp_path / "a", tmp_path / "b"
    evaluate("static-frame", real_shards, out=a, seed=1, metrics=ENERGY, **QUIET)
    evaluate("frames", real_shards, out=b, generated=lossless, task=task, metrics=ENERGY, **QUIET)
    shutil.copyfile(task / "task.json", b / "task.json")
    site = a / "site"
    for _ in range(2):
        r = CliRunner().invoke(cli, ["leaderboard", "--results", str(a), "--results", str(b), "--out", str(site)])
        assert r.exit_code == 0, r.output
        assert f"{b / 'task.json'}: not a results file (no schema_version), left out" in r.output
        assert "leaderboard: 2 results files" in r.output
    page = (site / "index.html").read_text()
    assert ">static-frame<" in page and ">frames<" in page
    assert len(list((site / "results").glob("*.json"))) == 2
    published = [page] + [p.read_text() for p in site.rglob("*.html")] + [p.read_text() for p in site.rglob("*.json")]
    assert not any(str(tmp_path) in text for text in published)  # no local folder on the public site
    r = CliRunner().invoke(cli, ["leaderboard", "--results", str(a), "--out", str(a)])
    assert r.exit_code == 1 and "would be built into the results folder itself" in r.output, r.output


@pytest.mark.slow
def test_the_index_says_which_metrics_a_table_lacks(real_shards, tmp_path, isolated_home):
    """Item 11: without SyncNet and FID weights the table has no LSE or FID column, and says so.
    Issue 26: the results file names where the weights were looked for (the weights cache, under
    LSBENCH_HOME) and which shards were read; no page or JSON copy of the site names either."""
    evaluate("static-frame", real_shards, out=tmp_path / "r", seed=1, **QUIET)
    render.build_site(tmp_path / "r", tmp_path / "site", echo=lambda s: None)
    page = (tmp_path / "site" / "index.html").read_text()
    assert "No column for fid: not computed:" in page and "No column for lse: not computed:" in page
    (results_file,) = (tmp_path / "r").glob("*.json")
    local = [str(isolated_home), str(real_shards)]
    assert all(folder in results_file.read_text() for folder in local)  # the paths a site could leak
    published = [p for p in (tmp_path / "site").rglob("*") if p.suffix in (".html", ".json", ".svg")]
    assert len(published) >= 3, published
    leaks = [(p.name, folder) for p in published for folder in local + [str(tmp_path)] if folder in p.read_text()]
    assert not leaks, leaks


def _all_dropped(real_shards: Path, folder: Path) -> Path:
    """A preprocess folder whose every clip failed: its build record, card and errors, no rows."""
    from preprocess.build import build_record, claim
    from preprocess.card import write_card
    from preprocess.schema import ERRORS_SCHEMA, SHARD_SCHEMA

    folder.mkdir()
    build = claim(folder, build_record("lrs2", real_shards, "dlib", {"crop_size": 96, "sync": "none"}, {}, "none"))
    (folder / "shards").mkdir()
    (folder / "errors").mkdir()
    pq.write_table(SHARD_SCHEMA.empty_table(), folder / "shards" / "part-0.parquet")
    errors = [{"clip_id": f"lrs2/test/x/{i}", "source_path": f"/data/x/{i}.mp4", "stage": "detect",
               "reason": "no_face", "message": f"/data/x/{i}.mp4: no face"} for i in range(2)]
    pq.write_table(pa.Table.from_pylist(errors, schema=ERRORS_SCHEMA), folder / "errors" / "part-0.parquet")
    write_card(folder, build, {"split": None, "limit": None, "listed": 2, "processed": 2, "seconds": 1.0})
    return folder


def test_validate_decides_shard_folders_as_evaluate_does(real_shards, tmp_path):
    """Item 10: OUT/shards is OUT for both; a folder with every clip dropped fails both."""
    whole = CliRunner().invoke(cli, ["validate", str(real_shards)])
    inner = CliRunner().invoke(cli, ["validate", str(real_shards / "shards")])
    assert "no shard files" not in inner.output and "rows: 2 in 1 shard files" in inner.output, inner.output
    assert inner.output.splitlines()[1:] == whole.output.splitlines()[1:]
    dropped = _all_dropped(real_shards, tmp_path / "dropped")
    r = CliRunner().invoke(cli, ["validate", str(dropped)])
    assert r.exit_code == 1 and "no clip to evaluate or train on: every clip was dropped (2 in errors/)" in r.output, \
        r.output
    assert r.output.strip().endswith("1 problem(s)"), r.output
    e = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(dropped), "--out",
                                 str(tmp_path / "r"), "--no-progress"])
    assert e.exit_code == 1 and "no clips" in e.output, e.output


def test_split_typos_and_command_typos_get_a_hint(real_shards, tmp_path):
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--split", "tset",
                                 "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 1 and "no clips in split 'tset'" in r.output and "did you mean --split test?" in r.output
    assert "they hold test (2 clips)" in r.output, r.output
    r = CliRunner().invoke(cli, ["evalute"])
    assert r.exit_code == 2 and "did you mean 'evaluate'?" in r.output
    r = CliRunner().invoke(cli, ["ls", "model"])
    assert r.exit_code == 2 and "did you mean 'models'?" in r.output


# ------------------------------------------------------------------ polish found on the way


@pytest.mark.slow
def test_counts_fit_and_infinite_psnr_are_told_honestly(real_shards, tmp_path):
    """counts.fit covers the pairs of a --limit run only; ground truth's PSNR (identical frames) is ∞
    on the board, with its count, not 'n/a · not finite'."""
    limited = results.load(evaluate("static-frame", real_shards, out=tmp_path / "r", seed=1, metrics=ENERGY, limit=1,
                                    **QUIET))
    assert sum(limited["counts"]["fit"].values()) == limited["counts"]["pairs"] == 1
    gt = results.load(evaluate("ground-truth", real_shards, "reconstruction", "test", out=tmp_path / "r", seed=1,
                               metrics=["psnr"], **QUIET))
    assert gt["aggregates"]["psnr"]["n_inf"] == gt["aggregates"]["psnr"]["n_nonfinite"] == 2
    render.build_site(tmp_path / "r", tmp_path / "site", echo=lambda s: None)
    page = (tmp_path / "site" / "index.html").read_text()
    assert '<span class="v">∞</span>' in page and "2 ∞ (identical to the target)" in page and "not finite" not in page


def test_fid_names_an_empty_folder_first_and_never_prints_a_negative_value(tmp_path, monkeypatch):
    """`fid A empty` names the empty folder before looking for weights (none are installed here); a
    value below 0 by sqrtm rounding prints 0 with a note."""
    import lsbench.fid

    a, empty = tmp_path / "a", tmp_path / "empty"
    a.mkdir()
    empty.mkdir()
    for i in range(2):
        cv2.imwrite(str(a / f"{i}.png"), np.full((8, 8, 3), 40 * i, np.uint8))
    r = CliRunner().invoke(cli, ["fid", str(a), str(empty)])
    assert r.exit_code == 1 and f"{empty}: no images in it" in r.output and "weights" not in r.output, r.output
    (tmp_path / "blocker").write_text("a file where the folder should be")
    r = CliRunner().invoke(cli, ["fid", "--save-stats", str(a), str(tmp_path / "blocker" / "x.npz")])
    assert r.exit_code == 1 and "cannot write" in r.output and "weights" not in r.output, r.output
    monkeypatch.setattr(lsbench.fid, "score_folders", lambda *a, **k: -3.5e-05)
    monkeypatch.setattr(lsbench.fid, "load_inception", lambda *a, **k: None)
    r = CliRunner().invoke(cli, ["fid", str(a), str(a)])
    assert r.exit_code == 0 and "FID:  0.0" in r.output and "computed -3.5e-05" in r.output, r.output


@pytest.mark.slow
def test_score_says_which_frames_short_audio_leaves_unscored(shared, tmp_path, weights_dir):
    """A 2 s speech under a longer video: the row ends at frame 49 and says so; --json prints no
    per-frame values unless --framewise."""
    video = shared / "media" / "videoretalking" / "face_2.mp4"
    _ffmpeg("-i", str(video), "-t", "2", "-vn", "-ac", "1", "-ar", "16000", str(tmp_path / "short.wav"))
    r = CliRunner().invoke(cli, ["score", str(video), "--audio", str(tmp_path / "short.wav"), "--json"])
    assert r.exit_code == 0, r.output
    track = json.loads(r.output[r.output.index("{"):])["tracks"][0]
    n = len(media.read_frames(video))
    assert track["last_frame"] == 49 and "framewise_conf" not in track
    assert track["reason"] == f"the audio covers 50 of the {n} frames: frames 50-{n - 1} are not scored"
    r = CliRunner().invoke(cli, ["score", str(video), "--audio", str(tmp_path / "short.wav"), "--json", "--framewise"])
    assert len(json.loads(r.output[r.output.index("{"):])["tracks"][0]["framewise_conf"]) > 0


def test_clips_in_no_split_list_are_counted(shared, tmp_path):
    """LRS2 lists its clips; an mp4 in main/ that no list names is not processed, and said."""
    from corpora import SOURCES, build_lrs2
    from preprocess.pipeline import RunOptions, list_corpus

    build_lrs2(shared / "media", tmp_path / "lrs2", SOURCES[:3])
    stray = tmp_path / "lrs2" / "mvlrs_v1" / "main" / "1234" / "00009.mp4"
    stray.parent.mkdir(parents=True)
    shutil.copyfile(next((tmp_path / "lrs2" / "mvlrs_v1" / "main").rglob("*.mp4")), stray)
    listing = list_corpus(RunOptions("lrs2", tmp_path / "lrs2", tmp_path / "out"))
    assert listing.unlisted == ["main/1234/00009"] and len(listing.refs) == 3


@pytest.mark.slow
def test_a_portrait_task_above_720p_scores_every_pair(shared, tmp_path):
    """Issue 26: a 1080x1920 target is written to the task at the size evaluate decodes it to
    (720x1280), so bench/external_static_frame.sh's submission at the task's size is scored."""
    from lsbench.detectors.dlib_cascade import DlibCascadeDetector
    from preprocess.recipes.base import ClipRef
    from preprocess.schema import SHARD_SCHEMA
    from preprocess.stages import Config, process_batch

    clip = tmp_path / "tall.mp4"
    _ffmpeg("-loop", "1", "-i", str(shared / "media" / "makeittalk" / "obama.jpg"), "-i",
            str(shared / "media" / "makeittalk" / "M6_04_16k.wav"), "-t", "1.2",
            "-vf", "scale=1080:-2,pad=1080:1920:0:(oh-ih)/2,fps=25", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ac", "1", "-ar", "16000", str(clip))
    assert (media.probe(clip).width, media.probe(clip).height) == (1080, 1920)
    refs = [ClipRef(clip_id=f"tall/test/{i}", dataset="tall", split="test", speaker_id="s", video_id=str(i),
                    source_path=str(clip)).to_dict() for i in range(2)]
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    assert table.column("ok").to_pylist() == [True, True], table.column("error_message").to_pylist()
    shards = tmp_path / "shards"
    (shards / "shards").mkdir(parents=True)
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), shards / "shards" / "part-0.parquet")
    task = export_task(shards, "random-reference", tmp_path / "task", "test", 0, progress=False, echo=lambda s: None)
    assert {(line["width"], line["height"]) for line in _lines(task)} == {("720", "1280")}
    sub = tmp_path / "sub"
    subprocess.run(["bash", str(ROOT / "bench" / "external_static_frame.sh"), str(task), str(sub)], check=True,
                   capture_output=True)
    doc = results.load(evaluate("tall-static", shards, out=tmp_path / "r", generated=sub, task=task, metrics=ENERGY,
                                **QUIET))
    assert doc["coverage"] == {"pairs": 2, "scored": 2}, [r.get("reason") for r in doc["rows"]]


def test_metrics_plus_adds_to_the_defaults(real_shards, tmp_path):
    """Issue 26: `--metrics +crop-lse` is the defaults and crop-lse; a list names exactly its metrics;
    the two forms together are refused."""
    from lsbench.evaluate.metric_set import metric_names
    from lsbench.evaluate.plan import make_protocol
    from lsbench.registry import METRICS

    rr = make_protocol("random-reference")
    order = [e.name for e in METRICS]
    assert metric_names(rr, ["+crop-lse"]) == sorted(metric_names(rr) + ["crop-lse"], key=order.index)
    assert metric_names(rr, ["crop-lse"]) == ["crop-lse"] and "crop-lse" not in metric_names(rr)
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--out",
                                 str(tmp_path), "--metrics", "lse,+crop-lse"])
    assert r.exit_code == 2 and "not both" in r.output, r.output

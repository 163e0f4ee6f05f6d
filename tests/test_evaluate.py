"""`lsbench evaluate`: protocols, reference rows, metrics, results JSON, resume."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lsbench import synthetic
from lsbench.evaluate import document as results
from lsbench.cli import cli
from lsbench.errors import LsbenchError
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.evaluate import evaluate
from lsbench.metrics.image import PSNR, SSIM
from lsbench.metrics.lmd import LMD
from lsbench.protocols.random_reference import RandomReference
from preprocess.recipes.base import ClipRef
from preprocess.schema import SHARD_SCHEMA
from preprocess.stages import Config, process_batch
from conftest import RAY_GROUP


@pytest.fixture(scope="module")
def synthetic_shards(tmp_path_factory):
    """Shards (through the real preprocessing stages) of in-sync synthetic talking faces."""
    root = tmp_path_factory.mktemp("syn_shards")
    refs = []
    for seed in (10, 11, 12):
        path = synthetic.write_clip(root / f"clip{seed}.mp4", synthetic.make_clip(3.0, seed=seed))
        refs.append(ClipRef(clip_id=f"syn/test/{seed}", dataset="synthetic", split="test", speaker_id="a",
                            video_id=str(seed), source_path=str(path)).to_dict())
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    assert all(table.column("ok").to_pylist())
    (root / "shards").mkdir()
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), root / "shards" / "part-0.parquet")
    return root


def run(model, shards, out, protocol="reconstruction", **kw):
    return results.load(evaluate(model, shards, protocol, "test", out=out, progress=False, echo=lambda s: None, **kw))


@pytest.mark.slow
def test_energy_ranks_ground_truth_over_shifted_over_static(synthetic_shards, tmp_path):
    docs = {m: run(m, synthetic_shards, tmp_path) for m in ("ground-truth", "shifted-audio", "static-frame")}
    gt, sh, st = (docs[m]["aggregates"]["energy_sync"]["mean"] for m in ("ground-truth", "shifted-audio", "static-frame"))
    assert gt > sh > st, (gt, sh, st)
    assert all(abs(r["metrics"]["energy_offset"] - (-5)) <= 1 for r in docs["shifted-audio"]["rows"])  # audio 5 frames late
    assert all(abs(r["metrics"]["energy_offset"]) <= 1 for r in docs["ground-truth"]["rows"])


@pytest.mark.slow
def test_reconstruction_image_metrics(synthetic_shards, tmp_path):
    doc = run("ground-truth", synthetic_shards, tmp_path)
    for r in doc["rows"]:
        assert r["metrics"]["ssim"] == pytest.approx(1.0) and r["metrics"]["psnr"] == "inf" and r["metrics"]["lmd"] == 0
    still = run("static-frame", synthetic_shards, tmp_path)
    for r in still["rows"]:
        assert r["metrics"]["ssim"] < 1 and r["metrics"]["psnr"] < 60 and r["metrics"]["lmd"] > 0
    assert doc["aggregates"]["psnr"]["n_nonfinite"] == 3


def test_image_metrics_on_a_shifted_copy():
    clip = synthetic.make_clip(1.0, seed=3)
    same = clip.frames
    moved = np.roll(same, 3, axis=0)  # frames 3 steps later: the mouth is elsewhere
    assert SSIM().compute(same, None, same)["ssim"] == pytest.approx(1.0)
    assert PSNR().compute(same, None, same)["psnr"] == np.inf
    assert LMD().compute(same, None, same)["lmd"] == 0
    assert SSIM().compute(moved, None, same)["ssim"] < 1
    assert PSNR().compute(moved, None, same)["psnr"] < 100
    assert LMD().compute(moved, None, same)["lmd"] > 0.5


def test_pairing_is_seeded_never_self_and_counted():
    clips = [{"clip_id": f"c{i}", "n_frames": 50 + i} for i in range(20)] + [{"clip_id": "tiny", "n_frames": 3}]
    a, b, c = RandomReference().plan(clips, 1), RandomReference().plan(clips, 1), RandomReference().plan(clips, 2)
    key = lambda p: [(x.target, x.audio_from, x.ref_frame) for x in p.pairs]
    assert key(a) == key(b) and key(a) != key(c)
    assert all(p.target != p.audio_from for p in a.pairs)
    assert a.skip_counts() == {"too_short": 1} and len(a.pairs) + 1 == len(clips)
    assert sum(a.fit_counts().values()) == len(a.pairs)
    assert all(0 <= p.ref_frame < 50 + int(p.target[1:]) for p in a.pairs)
    lonely = RandomReference().plan([{"clip_id": "x", "n_frames": 40}], 0)
    assert lonely.pairs == [] and lonely.skip_counts() == {"no_other_clip": 1}


@pytest.mark.slow
def test_random_reference_results_and_lse_flagged_non_official(synthetic_shards, tmp_path, weights_dir):
    doc = run("static-frame", synthetic_shards, tmp_path, protocol="random-reference", seed=7, save_videos=1,
              lse_route="whole-frame")  # face-centred synthetic clips
    assert doc["protocol"] == {**doc["protocol"], "name": "random-reference", "version": 2, "seed": 7}
    assert len(doc["protocol"]["pairs"]) == 3 and all(t != a for t, a, _ in doc["protocol"]["pairs"])
    assert doc["official_weights"] is False and doc["weights"]["syncnet"]["official"] is False
    assert doc["weights"]["syncnet"]["state"] == "procedural"
    assert {"lse_d", "lse_c", "energy_sync"} <= set(doc["aggregates"])
    assert doc["lse_route"] == {**doc["lse_route"], "name": "whole-frame", "chosen": "override"}
    assert all(r["lse_route"] == "whole-frame" for r in doc["rows"])
    lo, hi = doc["aggregates"]["lse_d"]["ci95"]
    assert lo <= doc["aggregates"]["lse_d"]["mean"] <= hi
    assert "pt_inception-2015-12-05-6726825d.pth" in doc["metrics"]["skipped"]["fid"]  # its weights are absent
    assert (tmp_path / doc["rows"][0]["video"]).is_file()
    assert doc["counts"]["scored"] + doc["counts"]["failed"] + sum(doc["counts"]["skipped"].values()) == 3
    # by dataset, "synthetic" takes the pipeline route, whose tracks need more than 100 frames (run_pipeline.py):
    # 3 s clips have no LSE there, and say why instead of counting as zeros
    piped = run("static-frame", synthetic_shards, tmp_path / "p", protocol="random-reference", seed=7,
                metrics=["lse"])
    agg = piped["aggregates"]["lse_c"]
    assert piped["lse_route"]["name"] == "pipeline" and agg["mean"] is None and agg["n_undefined"] == 3
    assert all(r["metrics"]["lse_c"] is None and r["undefined"]["lse_c"] for r in piped["rows"])


def test_wrong_schema_version_is_refused(synthetic_shards, tmp_path):
    path = evaluate("static-frame", synthetic_shards, "reconstruction", "test", out=tmp_path, progress=False,
                    echo=lambda s: None)
    data = json.loads(path.read_text())
    assert results.validate(data)["schema_version"] == results.SCHEMA_VERSION
    data["schema_version"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultsError, match="schema version 0 is not supported"):
        results.load(path)


def test_results_files_are_checked_against_the_published_json_schema(synthetic_shards, tmp_path):
    """results.schema.json is the contract: evaluate's own file passes it, a file missing a required
    field (at the top, in a section, in a row) or holding a wrong value fails in one line naming the
    field, and `lsbench validate` says so and exits 1."""
    import copy

    import jsonschema

    from lsbench.cli import cli

    jsonschema.Draft202012Validator.check_schema(results.schema())
    path = evaluate("static-frame", synthetic_shards, "reconstruction", "test", out=tmp_path, progress=False,
                    echo=lambda s: None, metrics=["energy"])
    good = json.loads(path.read_text())
    jsonschema.validate(good, results.schema())
    cases = [(("rows",), "field rows missing"), (("protocol", "seed"), "field protocol.seed missing"),
             (("rows", 0, "status"), "field rows[0].status missing"), (("coverage",), "field coverage missing")]
    for keys, message in cases:
        doc = copy.deepcopy(good)
        parent = doc
        for k in keys[:-1]:
            parent = parent[k]
        del parent[keys[-1]]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(doc))
        with pytest.raises(results.ResultsError) as e:
            results.load(bad)
        assert str(e.value) == f"{bad}: {message}"
        r = CliRunner().invoke(cli, ["validate", str(bad)])
        assert r.exit_code == 1 and r.output.strip() == f"lsbench: error: {bad}: {message}"
    doc = copy.deepcopy(good)
    doc["rows"][1]["status"] = "fine"
    bad.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsError, match=r"field rows\[1\]\.status: 'fine' is not one of"):
        results.load(bad)
    doc = copy.deepcopy(good)
    doc["rows"][0]["metrics"]["energy_sync"] = "high"
    bad.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsError, match=r"field rows\[0\]\.metrics\.energy_sync"):
        results.load(bad)
    doc = {**copy.deepcopy(good), "notes": "extra"}
    bad.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsError, match="field notes is not part of results schema version 2"):
        results.load(bad)


def test_resume_keeps_scored_clips(synthetic_shards, tmp_path):
    path = evaluate("ground-truth", synthetic_shards, "reconstruction", "test", out=tmp_path, progress=False,
                    echo=lambda s: None)
    doc = results.load(path)
    first = doc["rows"]
    partial = path.with_suffix(".partial.jsonl")
    marked = dict(first[0], notes={"marker": "kept"})
    header = json.dumps({"config": doc["run"]["config"]})
    partial.write_text(header + "\n" + json.dumps(marked) + "\n" + '{"clip_id": "cut by a ki')  # a half-written line
    path.unlink()
    rows = results.load(evaluate("ground-truth", synthetic_shards, "reconstruction", "test", out=tmp_path,
                                 progress=False, resume=True, echo=lambda s: None))["rows"]
    assert [r["clip_id"] for r in rows] == [r["clip_id"] for r in first]
    assert rows[0]["notes"] == {"marker": "kept"}  # not rescored
    assert not partial.exists()


@pytest.mark.slow
def test_cli_evaluate_all_reference_rows(synthetic_shards, tmp_path):
    r = CliRunner().invoke(cli, ["evaluate", "--model", "all", "--data", str(synthetic_shards), "--out", str(tmp_path),
                                 "--protocol", "reconstruction", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name.split("__")[0] for p in tmp_path.glob("*.json")) == ["ground-truth", "shifted-audio", "static-frame"]
    r = CliRunner().invoke(cli, ["evaluate", "--model", "ground-truth", "--data", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no shard files" in r.output


@pytest.mark.slow
def test_sigkilled_evaluate_resumes_without_rescoring(real_shards, tmp_path, weights_dir):
    """SIGKILL `lsbench evaluate` once the first clip is logged, then --resume: the logged
    clip is kept as it was (a marker planted in its line survives), the other is scored,
    and the results hold each clip once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "lsbench.cli", "evaluate", "--model", "wav2lip", "--data", str(real_shards),
            "--out", str(tmp_path), "--device", "cpu", "--no-progress"]
    partial = tmp_path / "wav2lip__random-reference__lrs2-test__seed0.partial.jsonl"
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(1200):
        if partial.exists() and partial.read_text().count("\n") >= 2:  # the configuration line, then a row
            break
        time.sleep(0.05)
    assert proc.poll() is None, "evaluate finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = partial.read_text().splitlines()
    assert len(lines) == 2 and "config" in json.loads(lines[0])
    kept = json.loads(lines[1])
    kept["notes"] = {"marker": "scored before the kill"}
    partial.write_text(lines[0] + "\n" + json.dumps(kept) + "\n")
    p = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "resuming: 1 clips already scored" in p.stdout
    doc = results.load(tmp_path / "wav2lip__random-reference__lrs2-test__seed0.json")
    ids = [r["clip_id"] for r in doc["rows"]]
    assert len(ids) == len(set(ids)) == 2
    by_id = {r["clip_id"]: r for r in doc["rows"]}
    assert by_id[kept["clip_id"]]["notes"] == {"marker": "scored before the kill"}
    assert all(r["status"] == "ok" for r in doc["rows"]) and not partial.exists()


@pytest.mark.slow
def test_wav2lip_filelist_pairs_lengths_and_skip_reasons(real_shards, tmp_path, weights_dir):
    """Wav2Lip's `audio_src video` lines matched to shard clips by their trailing path; the output
    spans the speech's mel windows, a video shorter than its speech is skipped as the official
    script skips it, and every other unscorable line is counted with its reason."""
    from lsbench.audio import wav2lip_mel
    from lsbench.protocols.filelist import mel_window_count

    for n in (16000, 32000, 40000, 12345):  # the count equals what the official loop takes from the real mel
        cols = wav2lip_mel(np.zeros(n, np.float32)).shape[1]
        assert mel_window_count(n) == sum(1 for i in range(10_000) if int(i * 80 / 25) + 16 <= cols)
    ids = sorted(pq.read_table(real_shards / "shards", columns=["clip_id"]).column("clip_id").to_pylist())
    short, long_ = ["/".join(i.split("/")[-2:]) for i in ids]  # 2.0 s and 2.5 s clips
    lst = tmp_path / "lrs2.txt"
    lst.write_text(f"{short} {long_}\n{long_} {short}\nnope/00001 {short}\n{short} 9999/00009\n{short} {long_}\n")
    doc = run("wav2lip", real_shards, tmp_path, protocol="wav2lip-filelist", filelist=lst, device="cpu")
    assert doc["protocol"]["name"] == "wav2lip-filelist" and doc["protocol"]["filelist"]["lines"] == 5
    assert doc["protocol"]["filelist"]["sha256"] == __import__("hashlib").sha256(lst.read_bytes()).hexdigest()
    assert doc["run"]["config"]["filelist_sha256"] == doc["protocol"]["filelist"]["sha256"]  # part of the resume key
    assert doc["protocol"]["pairs"] == [[ids[1], ids[0], -1]]
    assert doc["rows"][0]["n_frames"] == mel_window_count(50 * 640) == 46 and doc["rows"][0]["status"] == "ok"
    assert doc["counts"]["skipped"] == {"video_shorter_than_speech": 1, "audio_not_in_shards": 1,
                                        "video_not_in_shards": 1, "duplicate_video": 1}
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{short} {long_}\nonly-one-token\n")
    with pytest.raises(Exception, match=r"bad.txt:2: expected 'audio_src video'"):
        run("static-frame", real_shards, tmp_path, protocol="wav2lip-filelist", filelist=bad)
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--protocol",
                                 "wav2lip-filelist", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "needs --filelist PATH" in r.output


@pytest.mark.slow
@RAY_GROUP
def test_ray_workers_score_exactly_like_one_process(short_real_shards, tmp_path, weights_dir, ray_local):
    """--workers 2 runs the same PairScorer in two Ray actors: same rows, same metrics, saved
    videos recorded relative to the results file. The test run's Ray was started before the weights
    were pointed at (as a notebook or an earlier command would): its workers get the driver's weight
    locations all the same."""
    one = run("wav2lip", short_real_shards, tmp_path / "one", protocol="random-reference", workers=1, device="cpu",
              save_videos=1)
    import os

    @ray_local.remote
    def weights_dir_seen_by_a_worker():
        return os.environ.get("LSBENCH_WEIGHTS_DIR")

    assert ray_local.get(weights_dir_seen_by_a_worker.remote()) is None  # only evaluate's runtime_env brings it
    two = run("wav2lip", short_real_shards, tmp_path / "two", protocol="random-reference", workers=2, device="cpu",
              save_videos=1)
    key = lambda d: {r["clip_id"]: (r["audio_from"], r["n_frames"], r["metrics"]) for r in d["rows"]}  # noqa: E731
    assert key(one) == key(two)
    assert one["aggregates"] == two["aggregates"]
    videos = [r["video"] for r in two["rows"] if "video" in r]
    assert len(videos) == 1 and not videos[0].startswith("/") and (tmp_path / "two" / videos[0]).is_file()


# ------------------------------------------------------------------ the official route's inputs (issue 16)


def test_ground_truth_scores_each_whole_clip_with_its_own_audio(real_shards, tmp_path):
    """Wav2Lip's "Real videos" row: under random-reference, ground truth is not the partner's audio
    over a trimmed clip; the row records the audio and length it really used."""
    lengths = dict(zip(*(pq.read_table(real_shards / "shards", columns=["clip_id", "n_frames"]).to_pydict()
                         .values())))
    assert len(set(lengths.values())) == 2  # clips of different lengths: the partner's would trim one
    doc = run("ground-truth", real_shards, tmp_path, protocol="random-reference", metrics=["energy"])
    for r in doc["rows"]:
        assert r["audio_from"] == r["clip_id"] and r["n_frames"] == lengths[r["clip_id"]] and r["fit"] == "none"
    assert [p[:2] for p in doc["protocol"]["pairs"]] == [[r["clip_id"], r["clip_id"]] for r in doc["rows"]]
    other = run("static-frame", real_shards, tmp_path, protocol="random-reference", metrics=["energy"])
    assert all(r["audio_from"] != r["clip_id"] for r in other["rows"])  # models keep the protocol's pairing


def test_reference_frames_are_drawn_from_the_decoded_frames(real_shards, tmp_path):
    """The identity frame is one of the n frames decoded; an index outside them is an error row,
    never clamped to the last frame in silence."""
    from lsbench.evaluate.options import Settings
    from lsbench.evaluate.produce import model_producer
    from lsbench.evaluate.score import PairScorer
    from lsbench.protocols.base import PairSpec
    from lsbench.shards import ShardIndex

    rng = np.random.default_rng(0)
    clips = [{"clip_id": f"c{i}", "n_frames": int(rng.integers(10, 300))} for i in range(500)]
    plan = RandomReference().plan(clips, 0)
    assert sum(p.fit == "video_trimmed" for p in plan.pairs) > 100  # speech shorter than the video: often
    assert all(0 <= p.ref_frame < p.n_frames for p in plan.pairs)
    doc = run("static-frame", real_shards, tmp_path, protocol="random-reference", metrics=["energy"], seed=5)
    assert all(0 <= r["ref_frame"] < r["n_frames"] for r in doc["rows"]) and doc["protocol"]["version"] == 2
    index = ShardIndex.open(real_shards, "test")
    clip = sorted(index.light)[0]
    n = index.light[clip]["n_frames"]
    scorer = PairScorer(model_producer("static-frame", "cpu"), [], index, Settings())
    row = scorer.score(PairSpec(clip, clip, n, n))
    assert row["status"] == "error" and f"reference frame {n} is outside the {n} decoded frames" in row["reason"]


def test_filelist_speech_windows_come_from_the_whole_speech(real_shards, tmp_path):
    """wav2lip-filelist: the model gets the whole speech, so the last frames' mel windows are the
    windows of the full speech mel (gen_videos_from_filelist.py), not of a speech cut to n frames."""
    from lsbench.audio import mel_window_start, mel_windows, wav2lip_mel
    from lsbench.models.base import Generation, LipSyncModel
    from lsbench.registry import MODELS
    from lsbench.shards import ShardIndex

    seen = []

    class Recorder(LipSyncModel):
        name = "recorder"
        needs = ()

        def generate(self, pair):
            seen.append(pair)
            return Generation(pair.target, pair.audio)

    import sys
    sys.modules[__name__].Recorder = Recorder
    MODELS.register("recorder", f"{__name__}:Recorder", "test double")
    try:
        ids = sorted(pq.read_table(real_shards / "shards", columns=["clip_id"]).column("clip_id").to_pylist())
        short, long_ = ["/".join(i.split("/")[-2:]) for i in ids]
        lst = tmp_path / "lrs2.txt"
        lst.write_text(f"{short} {long_}\n")
        doc = run("recorder", real_shards, tmp_path, protocol="wav2lip-filelist", filelist=lst, metrics=["energy"])
    finally:
        MODELS.unregister("recorder")
    (pair,) = seen
    n = doc["rows"][0]["n_frames"]
    speech = ShardIndex.open(real_shards, "test").audio(ids[0])
    assert len(pair.audio) == len(speech) > n * 640  # the whole speech, longer than the n frames it drives
    full = wav2lip_mel(speech)
    last = mel_window_start(n - 1)
    assert np.array_equal(mel_windows(wav2lip_mel(pair.audio), n)[-1], full[:, last:last + 16])
    assert not np.array_equal(mel_windows(wav2lip_mel(speech[: n * 640]), n)[-1], full[:, last:last + 16])


def _partial_of(doc_path, config, rows):
    partial = doc_path.with_suffix(".partial.jsonl")
    partial.write_text("\n".join([json.dumps({"config": config})] + [json.dumps(r) for r in rows]) + "\n")
    return partial


def test_resume_is_keyed_by_the_whole_configuration(real_shards, tmp_path, weights_dir):
    path = evaluate("static-frame", real_shards, "random-reference", "test", out=tmp_path, progress=False,
                    echo=lambda s: None, metrics=["energy"])
    doc = results.load(path)
    config = doc["run"]["config"]
    for change, word in (({"limit": 1}, "limit"), ({"weights": {"syncnet": "0" * 64}}, "weights"),
                         ({"seed": 3}, "seed"), ({"lse_route": "pipeline"}, "lse_route")):
        _partial_of(path, {**config, **change}, doc["rows"][:1])
        with pytest.raises(LsbenchError, match=f"--resume refused: .*{word}"):
            evaluate("static-frame", real_shards, "random-reference", "test", out=tmp_path, progress=False,
                     echo=lambda s: None, metrics=["energy"], resume=True)
    kept = dict(doc["rows"][0], notes={"marker": "kept"})
    failed = dict(doc["rows"][1], status="error", reason="RuntimeError: a transient failure")
    _partial_of(path, config, [kept, failed])
    again = results.load(evaluate("static-frame", real_shards, "random-reference", "test", out=tmp_path,
                                  progress=False, echo=lambda s: None, metrics=["energy"], resume=True))
    assert again["rows"][0]["notes"] == {"marker": "kept"}
    assert again["rows"][1]["status"] == "ok" and "reason" not in again["rows"][1]  # the error row was retried
    r = CliRunner().invoke(cli, ["evaluate", "--model", "static-frame", "--data", str(real_shards), "--out",
                                 str(tmp_path), "--metrics", "energy", "--limit", "1", "--resume", "--no-progress"])
    assert r.exit_code == 0  # no partial run left: nothing to refuse


@pytest.mark.slow
def test_generated_full_frames_keep_the_source_size_and_paste_inside_the_boxes(real_shards, tmp_path, weights_dir):
    """An LRS2-layout clip evaluated with Wav2Lip: the mp4 has the source frame size and the
    protocol's frame count; outside the face boxes it is the source video, inside it is new."""
    from lsbench import fullframe
    from lsbench.evaluate.target import ROW_COLUMNS, source_frames
    from lsbench.media import probe, read_audio, read_frames
    from lsbench.shards import ShardIndex

    doc = run("wav2lip", real_shards, tmp_path, protocol="random-reference", metrics=["energy"], save_videos=2,
              device="cpu")
    index = ShardIndex.open(real_shards, "test")
    for r in doc["rows"]:
        assert r["status"] == "ok" and r["video_source"].startswith("full frames written")
        info = probe(tmp_path / r["video"])
        assert (info.width, info.height) == (160, 160) and info.fps == 25
        gen = read_frames(tmp_path / r["video"]).astype(int)
        assert len(gen) == r["n_frames"]
        assert abs(len(read_audio(tmp_path / r["video"])) - r["n_frames"] * 640) <= 640
        row = index.row(r["clip_id"], ROW_COLUMNS)
        src, scale = source_frames(row, r["n_frames"])
        boxes = fullframe.face_boxes(np.asarray(row["boxes"][: r["n_frames"]]) * scale, src.shape[1:3])
        inside = np.zeros(gen.shape[:3], bool)
        for t, (x1, y1, x2, y2) in enumerate(boxes):
            inside[t, y1:y2, x1:x2] = True
        diff = np.abs(gen - src.astype(int)).mean(-1)
        assert diff[~inside].mean() < 8  # the source frames, through the script's two lossy encodes (DIVX, H.264)
        assert diff[inside].mean() > 5 * diff[~inside].mean()  # procedural Wav2Lip's faces


@pytest.mark.slow
def test_fid_column_on_real_clips(short_real_shards, tmp_path, procedural_weights_with_fid, monkeypatch):
    """FID of the evaluation crops (issue 15): ground truth against its own real crops is the Frechet distance
    pytorch-fid gives for those activations (near 0, computed like any row), a frozen frame is farther."""
    from lsbench.fid import fid_from_activations

    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(procedural_weights_with_fid))
    gt = run("ground-truth", short_real_shards, tmp_path, metrics=["fid"], keep_activations=True)
    still = run("static-frame", short_real_shards, tmp_path, metrics=["fid"])
    agg = gt["aggregates"]["fid"]
    assert gt["weights"]["fid_inception"]["state"] == "procedural" and gt["official_weights"] is False
    assert agg["ci95"] is None and agg["interval"].startswith("none: FID is a set statistic")
    assert agg["n"] == 2 and agg["frames_generated"] == agg["frames_real"] == sum(r["n_frames"] for r in gt["rows"])
    acts = [np.load(tmp_path / r["fid_activations"]) for r in gt["rows"]]
    gen = np.concatenate([a["generated"] for a in acts]).astype(np.float64)
    real = np.concatenate([a["real"] for a in acts]).astype(np.float64)
    assert gen.shape == (agg["frames_real"], 2048) and np.array_equal(gen, real)
    assert agg["mean"] == fid_from_activations(gen, real) and abs(agg["mean"]) < 1e-2
    assert still["aggregates"]["fid"]["mean"] > max(0.01, 1000 * abs(agg["mean"]))  # procedural weights: small scale
    assert "evaluation_crops" in gt["video"] and "pytorch-fid" in gt["metrics"]["settings"]["fid"]["implementation"]


def test_a_metric_added_through_the_registry_reaches_results_and_leaderboard(synthetic_shards, tmp_path, monkeypatch):
    """Adding a metric is one module plus its registry line: its column, label and direction
    then appear in the results file and on the leaderboard with nothing else edited."""
    import sys

    from leaderboard.render import build_site
    from lsbench.registry import METRICS, Value

    (tmp_path / "throwaway_metric.py").write_text(
        "import numpy as np\n"
        "from lsbench.metrics.base import CropMetric\n"
        "class MeanGreen(CropMetric):\n"
        "    name = 'mean-green'\n"
        "    def compute(self, frames, audio, ground_truth):\n"
        "        return {'mean_green': float(np.asarray(frames)[..., 1].mean())}\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    METRICS.register("mean-green", "throwaway_metric:MeanGreen", "mean of the green channel (a test metric)",
                     values=(Value("mean_green", "green mean", True),))
    try:
        doc = run("ground-truth", synthetic_shards, tmp_path / "results", metrics=["mean-green", "psnr"])
        site = build_site(tmp_path / "results", tmp_path / "site", echo=lambda s: None)
    finally:
        METRICS.unregister("mean-green")
        sys.modules.pop("throwaway_metric", None)
    assert [(c["key"], c["label"]) for c in doc["metrics"]["columns"]] == [
        ("psnr", "PSNR"), ("psnr_identical_frames", "identical frames"), ("mean_green", "green mean")]  # registry order
    assert doc["metrics"]["directions"]["mean_green"] is True
    values = [r["metrics"]["mean_green"] for r in doc["rows"]]
    assert len(values) == 3 and all(40 < v < 250 for v in values)  # real green levels of the synthetic faces
    assert doc["aggregates"]["mean_green"]["mean"] == pytest.approx(np.mean(values))
    html = "".join(p.read_text() for p in site.parent.rglob("*.html"))
    assert "green mean" in html and f"{np.mean(values):.2f}"[:4] in html

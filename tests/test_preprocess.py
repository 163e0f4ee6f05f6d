"""`lsbench preprocess` end to end through Ray on tiny corpora cut from ../shared/media,
and the stages on their own (no Ray) on synthetic clips with known offsets."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import RAY_GROUP, MEDIA, preprocess_cli as run_cli

from lsbench import media
from lsbench.data import ShardDataset, decode_frames
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from preprocess.recipes.base import ClipRef, LayoutError
from preprocess.recipes.lrs2 import LRS2
from preprocess.recipes.lrw import LRW
from preprocess.recipes.voxceleb2 import VoxCeleb2
from preprocess.stages import Config, aligned_ranges, process_batch

pytestmark = [RAY_GROUP, pytest.mark.slow]  # they start Ray (here or in a CLI subprocess): one worker runs them all


def read_out(out):
    shards = pd.read_parquet(out / "shards") if list((out / "shards").glob("*.parquet")) else pd.DataFrame()
    errors = pd.read_parquet(out / "errors") if list((out / "errors").glob("*.parquet")) else pd.DataFrame()
    return shards, errors


def check_shards(out, listed_ids):
    shards, errors = read_out(out)
    ids = list(shards.get("clip_id", [])) + list(errors.get("clip_id", []))
    assert sorted(ids) == sorted(listed_ids), "every clip is a shard row or an errors row, exactly once"
    for _, row in shards.iterrows():
        n = row["n_frames"]
        assert len(row["frames"]) == n and len(row["boxes"]) == n
        assert len(row["audio"]) == 2 * 640 * n  # PCM16, 640 samples per frame
        assert len(row["mel"]) == 80 and len(row["mel"][0]) == 1 + (640 * n) // 200
    return shards, errors


@pytest.fixture(scope="module")
def lrs2_run(lrs2_corpus, tmp_path_factory):
    root, splits = lrs2_corpus
    out = tmp_path_factory.mktemp("lrs2_shards")
    p = run_cli("--dataset", "lrs2", "--root", str(root), "--out", str(out), "--sync", "none", "--workers", "2")
    assert p.returncode == 0, p.stderr[-3000:]
    return out, splits, p


def test_lrs2_end_to_end(lrs2_run):
    out, splits, p = lrs2_run
    listed = [f"lrs2/{s}/{i}" for s, items in splits.items() for i in items]
    shards, errors = check_shards(out, listed)
    assert len(shards) == len(listed), errors.to_dict("records") if len(errors) else None
    assert "done: 5 clips in shards, 0 in errors" in p.stdout
    card = json.loads((out / "dataset_card.json").read_text())
    assert card["counts"] == {"listed": 5, "ok": 5, "failed": 0} and card["hours"] > 0
    assert set(card["by_split"]) == {"train", "val", "test", "pretrain"}
    assert shards.set_index("clip_id").loc[f"lrs2/test/{splits['test'][0]}", "transcript"].startswith("HELLO WORLD")


def test_a_ray_already_running_on_the_machine_does_not_capture_preprocess(lrs2_corpus, tmp_path):
    """Without --ray-address, preprocess starts a Ray of its own even while another one runs on the
    machine, started by `ray start` (whose address Ray offers every later `ray.init()`), instead of
    joining it with its own CPU count (Ray refuses that: the run would stop)."""
    root, _ = lrs2_corpus
    latest = Path("/tmp/ray/ray_current_cluster")
    saved = latest.read_bytes() if latest.is_file() else None
    before = _ray_processes()
    ray_cli = str(Path(sys.executable).parent / "ray")
    up = subprocess.run([ray_cli, "start", "--head", "--num-cpus", "1", "--include-dashboard", "false"],
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        p = run_cli("--dataset", "lrs2", "--root", str(root), "--out", str(tmp_path / "out"), "--sync", "none",
                    "--limit", "2", "--workers", "1", own_ray=True)
    finally:
        for pid in _ray_processes() - before:  # that Ray only: the test run's own stays up
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if saved is None:
            latest.unlink(missing_ok=True)
        else:
            latest.write_bytes(saved)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Connecting to" not in p.stderr and len(pd.read_parquet(tmp_path / "out" / "shards")) == 2


def test_crops_contain_the_face(lrs2_run):
    out, _, _ = lrs2_run
    det = DlibCascadeDetector(hog_short_side=192)
    for _, row in pd.read_parquet(out / "shards").iterrows():
        frames = decode_frames(list(row["frames"]))
        assert frames.shape[1:] == (96, 96, 3)
        found = det.detect_one(np.ascontiguousarray(frames[len(frames) // 2]))
        assert len(found), row["clip_id"]
        side = max(found[0][2] - found[0][0], found[0][3] - found[0][1])
        assert side >= 0.5 * 96, (row["clip_id"], side)


def test_shards_open_without_lsbench_and_feed_the_dataset(lrs2_run):
    out, _, _ = lrs2_run
    files = sorted((out / "shards").glob("*.parquet"))
    assert pq.read_table(files[0]).num_rows >= 1  # plain pyarrow
    ds = ShardDataset(out, split="train")
    item = next(iter(ds))
    assert item["frames"].shape == (5, 96, 96, 3) and item["mel"].shape == (80, 16) and item["mfcc"].shape == (13, 20)
    assert item["audio"].shape == (3200,)
    n_windows = sum(1 for _ in ds)
    n_frames = pd.read_parquet(out / "shards").query("split == 'train'")["n_frames"].sum()
    assert n_windows >= n_frames - 5 - 4  # every 5-frame window but the last few, whose mel would run past the end


def test_resume_skips_finished_clips(lrs2_run, lrs2_corpus):
    out, _, _ = lrs2_run
    root, _ = lrs2_corpus
    before = sorted(f.name for f in (out / "shards").glob("*.parquet"))
    p = run_cli("--dataset", "lrs2", "--root", str(root), "--out", str(out), "--sync", "none")
    assert p.returncode == 0 and "5 already done, 0 to process" in p.stdout
    assert sorted(f.name for f in (out / "shards").glob("*.parquet")) == before


@pytest.mark.parametrize("dataset", ["lrw", "voxceleb2"])
def test_lrw_and_voxceleb2_end_to_end(dataset, request, tmp_path):
    root, clips = request.getfixturevalue(f"{dataset}_corpus")
    p = run_cli("--dataset", dataset, "--root", str(root), "--out", str(tmp_path), "--sync", "none")
    assert p.returncode == 0, p.stderr[-3000:]
    recipe = {"lrw": LRW, "voxceleb2": VoxCeleb2}[dataset](root)
    listed = [r.clip_id for r in recipe.find_clips()]
    assert len(listed) == len(clips)
    shards, errors = check_shards(tmp_path, listed)
    assert len(shards) >= len(listed) - 1, errors.to_dict("records")
    if dataset == "lrw":
        assert set(shards["n_frames"]) <= {28, 29, 30}
    else:
        assert all(ref.audio_path and ref.audio_path.endswith(".m4a") for ref in recipe.find_clips())


def test_layout_errors_are_clear(tmp_path, lrs2_corpus):
    with pytest.raises(LayoutError, match="does not exist"):
        LRS2(tmp_path / "nope")
    with pytest.raises(LayoutError, match="not an LRS2 root"):
        LRS2(tmp_path)
    root, _ = lrs2_corpus
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(root, broken)
    (broken / "val.txt").unlink()
    with pytest.raises(LayoutError, match="val.txt: LRS2 split list missing"):
        list(LRS2(broken).find_clips("val"))
    with open(broken / "train.txt", "a") as f:
        f.write("1234/00099\n")
    refs = list(LRS2(broken).find_clips("train"))
    assert refs[-1].missing and refs[-1].clip_id == "lrs2/train/1234/00099"
    p = run_cli("--dataset", "lrs2", "--root", str(broken), "--out", str(tmp_path / "o"), "--split", "train", "--sync", "none")
    assert p.returncode == 0, p.stderr[-2000:]
    errors = pd.read_parquet(tmp_path / "o" / "errors")
    assert errors.set_index("clip_id").loc["lrs2/train/1234/00099", "reason"] == "missing_file"


def _ref(path, clip_id):
    return ClipRef(clip_id=clip_id, dataset="synthetic", split="test", speaker_id="astronaut", video_id=clip_id,
                   source_path=str(path)).to_dict()


def test_energy_offsets_and_correction_on_synthetic_clips(synthetic_clips):
    refs = [_ref(path, f"shift{shift}") for shift, (path, _) in synthetic_clips.items()]
    batch = {k: [r[k] for r in refs] for k in refs[0]}
    cfg = Config(sync="energy", sync_max_offset=15, energy_min_conf=3.0)
    table = process_batch(batch, DlibCascadeDetector(), None, cfg).to_pylist()
    for row, (shift, (path, clip)) in zip(table, synthetic_clips.items()):
        assert row["ok"], row["error_message"]
        assert row["sync_method"] == "energy"
        assert abs(row["av_offset"] - clip.expected_offset) <= 1, (shift, row["av_offset"])
        # the corrected audio is back in sync with the kept frames
        audio = np.frombuffer(row["audio"], "<i2").astype(np.float32) / 32768
        frames = decode_frames(row["frames"])
        from lsbench.sync_energy import estimate_offset

        assert abs(estimate_offset(frames, audio).offset) <= 1
        assert row["offset_applied"] == (row["av_offset"] != 0)


def test_out_of_sync_clips_become_errors(synthetic_clips):
    path, clip = synthetic_clips[7]
    refs = [_ref(path, "late7")]
    batch = {k: [r[k] for r in refs] for k in refs[0]}
    row = process_batch(batch, DlibCascadeDetector(), None, Config(sync="energy", sync_max_offset=6)).to_pylist()[0]
    assert not row["ok"] and row["error_reason"] == "out_of_sync" and row["error_stage"] == "sync"
    assert "offset -7" in row["error_message"] or "offset -6" in row["error_message"] or "offset -8" in row["error_message"]


def test_aligned_ranges():
    assert aligned_ranges(0, 100, 0) == (0, 100, 0)
    assert aligned_ranges(0, 100, 3) == (3, 100, 0)  # audio early: drop the first frames
    assert aligned_ranges(0, 100, -3) == (0, 97, 3)  # audio late: start the audio later


def test_kill_and_restart_loses_and_duplicates_nothing(lrs2_corpus, lrs2_run, tmp_path):
    """SIGKILL the run at random points several times, then let it finish: the clip set
    equals the clean run's, with no duplicates, and every Parquet file is readable."""
    root, splits = lrs2_corpus
    clean_out, _, _ = lrs2_run
    clean = sorted(pd.read_parquet(clean_out / "shards")["clip_id"])
    out = tmp_path / "killed"
    rng = random.Random(0)
    opts = ["--dataset", "lrs2", "--root", str(root), "--out", str(out), "--sync", "none", "--shard-rows", "1",
            "--workers", "1"]
    args = [sys.executable, "-m", "lsbench.cli", "preprocess", *opts, "--no-progress"]
    kills = 0
    for _ in range(3):
        before = _ray_processes()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(5, 10))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        # the killed driver's Ray daemons run in their own sessions: kill them too (only those: the
        # test run's own Ray stays up)
        for pid in _ray_processes() - before:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert kills >= 1
    p = run_cli(*opts, timeout=600)  # the run that finishes joins the test run's Ray (the killed ones had their own)
    assert p.returncode == 0, p.stderr[-2000:]
    for f in list((out / "shards").glob("*")) + list((out / "errors").glob("*")):
        assert not f.name.startswith("."), f"temporary file left visible: {f}"
        pq.read_table(f)
    ids = list(pd.read_parquet(out / "shards")["clip_id"])
    assert len(ids) == len(set(ids))
    assert sorted(ids) == clean


def _ps() -> dict:
    """{pid: (parent pid, command line)} of every process but the ps that lists them."""
    lines = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout.splitlines()[1:]
    fields = (line.split(None, 2) for line in lines)
    rows = ((int(pid), int(ppid), rest[0] if rest else "") for pid, ppid, *rest in fields)
    return {pid: (ppid, args) for pid, ppid, args in rows if not args.startswith("ps -eo")}


def _ray_processes() -> set:
    marks = ("raylet", "gcs_server", "ray::", "default_worker", "log_monitor", "dashboard", "runtime_env", "/ray/")
    return {pid for pid, (_, args) in _ps().items() if any(m in args for m in marks)}


def _clip_processors_under(root: int) -> list[int]:
    """ClipProcessor workers in the process tree of `root` (the preprocess run), never another
    test's Ray: under xdist a second run may have its own ClipProcessor at the same time."""
    table = _ps()

    def under(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = table[pid][0] if pid in table else 1
        return False

    return [pid for pid, (_, args) in table.items() if "ClipProcessor" in args and under(pid)]


def test_killing_a_ray_worker_mid_run_loses_nothing(lrs2_corpus, lrs2_run, tmp_path):
    """SIGKILL the actor process that is processing clips: Ray restarts it and retries the
    task; the run finishes with exactly the clean run's clip set."""
    root, _ = lrs2_corpus
    clean = sorted(pd.read_parquet(lrs2_run[0] / "shards")["clip_id"])
    out = tmp_path / "worker_killed"
    args = [sys.executable, "-m", "lsbench.cli", "preprocess", "--dataset", "lrs2", "--root", str(root), "--out", str(out),
            "--sync", "none", "--shard-rows", "1", "--workers", "1", "--detect-every", "1", "--no-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if _clip_processors_under(proc.pid) or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert _clip_processors_under(proc.pid), "no Ray worker running ClipProcessor was found under the run"
    for _ in range(3000):  # the first clip written (--shard-rows 1): the actor is set up and on its next clip
        if list((out / "shards").glob("*.parquet")) or proc.poll() is not None:
            break
        time.sleep(0.1)
    killed = False
    for _ in range(100):  # found again at kill time: only this run's actor, alive now
        assert proc.poll() is None, "the run ended before the worker could be killed"
        for pid in _clip_processors_under(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed = True
            except ProcessLookupError:
                pass
        if killed:
            break
        time.sleep(0.1)
    assert killed, "the run's ClipProcessor worker was never alive to be killed"
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    # the kill really hit a busy worker: Ray's driver prints the raylet's report on stdout
    report = stdout + stderr
    assert "will be retried" in report or "killed while executing a task" in report, (stdout[-2000:], stderr[-2000:])
    ids = list(pd.read_parquet(out / "shards")["clip_id"])
    assert len(ids) == len(set(ids)) and sorted(ids) == clean
    for f in (out / "shards").glob("*"):
        assert not f.name.startswith(".")
        pq.read_table(f)


def test_an_hour_long_clip_is_refused_before_decoding(tmp_path, lrs2_corpus):
    """One hour of 160x160 video would be 6.9 GB decoded: it becomes a too_long errors row
    (with the size and the bound) without the memory being touched; its neighbour is processed."""
    import resource

    root, splits = lrs2_corpus
    hour = tmp_path / "hour.mp4"
    media.ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=160x160:r=25:d=3600", "-f", "lavfi", "-i",
                 "sine=f=220:r=16000:d=3600", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-g", "250",
                 "-c:a", "aac", "-ac", "1", "-b:a", "16k", "-shortest", str(hour))
    good = root / "mvlrs_v1" / "main" / f"{splits['test'][0]}.mp4"
    refs = [ClipRef(clip_id="lrs2/test/hour", dataset="lrs2", split="test", speaker_id="x", video_id="h",
                    source_path=str(hour)).to_dict(),
            ClipRef(clip_id="lrs2/test/good", dataset="lrs2", split="test", speaker_id="y", video_id="g",
                    source_path=str(good)).to_dict()]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    rows = {r["clip_id"]: r for r in table.to_pylist()}
    assert rows["lrs2/test/good"]["ok"]
    bad = rows["lrs2/test/hour"]
    assert not bad["ok"] and bad["error_stage"] == "decode" and bad["error_reason"] == "too_long"
    assert str(hour) in bad["error_message"] and "3600 s of 160x160" in bad["error_message"]
    assert "6.9 GB" in bad["error_message"] and "--max-decode-gb" in bad["error_message"]
    assert grown < 1e9, f"peak memory grew by {grown / 1e9:.2f} GB"


def test_corrupt_and_faceless_clips_become_errors_and_the_run_completes(lrs2_corpus, tmp_path):
    import shutil

    root, splits = lrs2_corpus
    corpus = tmp_path / "lrs2"
    shutil.copytree(root, corpus)
    main = corpus / "mvlrs_v1" / "main"
    good = main / f"{splits['train'][0]}.mp4"
    bad_dir = main / "9999"
    bad_dir.mkdir()
    data = good.read_bytes()
    (bad_dir / "00001.mp4").write_bytes(b"\x00" * 64 + data[64:2000])  # corrupt header
    rng = np.random.default_rng(0)
    scenery = np.repeat(rng.integers(0, 255, (1, 160, 160, 3), dtype=np.uint8), 50, axis=0)
    media.write_video(bad_dir / "00002.mp4", scenery, audio=rng.normal(0, 0.1, 32000).astype(np.float32))
    (bad_dir / "00003.mp4").write_bytes(b"")  # zero bytes
    with open(corpus / "train.txt", "a") as f:
        f.write("9999/00001\n9999/00002\n9999/00003\n")
    out = tmp_path / "out"
    p = run_cli("--dataset", "lrs2", "--root", str(corpus), "--out", str(out), "--split", "train", "--sync", "none")
    assert p.returncode == 0, p.stderr[-2000:]
    shards, errors = check_shards(out, [f"lrs2/train/{i}" for i in splits["train"] + ["9999/00001", "9999/00002", "9999/00003"]])
    reasons = errors.set_index("clip_id")["reason"].to_dict()
    assert reasons == {"lrs2/train/9999/00001": "corrupt", "lrs2/train/9999/00002": "no_face",
                       "lrs2/train/9999/00003": "empty_file"}
    messages = errors.set_index("clip_id")["message"].to_dict()
    assert str(bad_dir / "00001.mp4") in messages["lrs2/train/9999/00001"]
    assert "3 in errors" in p.stdout


def test_bad_input_corpus_loses_nothing(tmp_path, shared):
    """Every awkward input ends as a shard row or an errors row with a readable reason;
    resampling cases (30/60 fps, 44.1/48 kHz stereo, HEVC portrait, 4K) are processed."""
    import badinput

    expected = badinput.build(shared / "media", tmp_path / "lrs2")
    main = tmp_path / "lrs2" / "mvlrs_v1" / "main"
    (main / "stray").mkdir()  # on disk, in no split list: skipped, said and counted (issue 28's polish)
    (main / "stray" / "00001.mp4").write_bytes((main / "good" / "00001.mp4").read_bytes())
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}  # preprocess silences Ray's token notice itself
    p = run_cli("--dataset", "lrs2", "--root", str(tmp_path / "lrs2"), "--out", str(out), "--split", "test",
                "--sync", "none", timeout=900, env=env, own_ray=True)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-3000:]
    printed = p.stdout + p.stderr
    assert "note: 1 clip(s) on disk are in no lrs2 split list and are not processed, e.g. main/stray/00001" in printed
    assert "Token authentication" not in printed, printed[-3000:]
    assert json.loads((out / "dataset_card.json").read_text())["unlisted_clips"] == 1
    shards, errors = check_shards(out, list(expected))
    got = {cid: "ok" for cid in shards["clip_id"]}
    got.update(errors.set_index("clip_id")["reason"].to_dict())
    tally = {"inputs": len(expected), "ok": sum(v == "ok" for v in got.values()),
             "errors": {r: n for r, n in pd.Series([v for v in got.values() if v != "ok"]).value_counts().items()},
             "crashes": 0, "lost": len(set(expected) - set(got))}
    print("bad-input tally:", tally)
    assert got == expected
    assert all(len(m) > 20 and "/" in m for m in errors["message"])  # names the file and the reason
    assert "internal" not in set(errors["stage"])


def test_small_runs_start_with_the_longest_clips(tmp_path):
    """LPT order for small runs: cost = seconds x (1 + megapixels); unreadable clips last;
    large runs keep the recipe's order (no probing of thousands of files)."""
    from preprocess.pipeline import longest_first

    names = ["videoretalking/face_3.mp4", "latentsync/demo1_video.mp4", "videoretalking/face_1.mp4",
             "hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4"]
    refs = [{"clip_id": n, "source_path": str(MEDIA / n)} for n in names]
    refs.insert(1, {"clip_id": "gone", "source_path": str(tmp_path / "gone.mp4")})
    order = [r["clip_id"] for r in longest_first(refs)]
    # 10 s of 1080x1920, 8 s of 512x512, 6.1 s of 700x700, 5 s of 590x590, then the missing file
    assert order == [names[1], names[3], names[2], names[0], "gone"]
    assert longest_first(refs, max_clips=3) == refs

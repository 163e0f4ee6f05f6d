"""`lsbench train`: CPU smoke runs on tiny shards of real clips. They prove the loops (losses
fall, checkpoints in the published formats reload, runs resume, the result generates),
not quality."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lsbench.evaluate import document as results
from lsbench.cli import cli
from lsbench.evaluate import evaluate
from lsbench.media import iter_frames, probe
from lsbench.train import losses


def _mean(xs):
    return float(np.mean(xs))


@pytest.mark.slow
def test_synctalkface_trains_resumes_and_generates(real_shards, short_real_shards, tmp_path, weights_dir):
    out = tmp_path / "stf"
    base = ["train", "--model", "synctalkface", "--data", str(real_shards), "--split", "test", "--out", str(out),
            "--batch-size", "2", "--img-size", "96", "--lr", "1e-3", "--checkpoint-every", "5", "--device", "cpu",
            "--no-progress"]
    r = CliRunner().invoke(cli, base + ["--steps", "6"])
    assert r.exit_code == 0, r.output
    assert "sync loss is off" in r.output  # no expert given: said, not silently skipped
    log = losses(out)
    assert [x["step"] for x in log] == list(range(1, 7))
    l1 = [x["l1"] for x in log]
    assert _mean(l1[-3:]) < 0.85 * _mean(l1[:3]), l1  # the reconstruction loss falls (0.73 here, 2026-12-05)
    assert all(np.isfinite(x["loss"]) for x in log)

    from lsbench.models.synctalkface_net import STFConfig, load_synctalkface

    enc, dec, disc = load_synctalkface(out / "latest.ckpt", STFConfig(img_size=96))  # the authors' format
    assert enc.mem.key.shape == (96, 512)

    r = CliRunner().invoke(cli, base + ["--steps", "7", "--resume"])  # one step past the checkpoint shows it resumed
    assert r.exit_code == 0 and "at step 6" in r.output, r.output
    assert [x["step"] for x in losses(out)] == list(range(1, 8))

    doc = results.load(evaluate("synctalkface", short_real_shards, "random-reference", "test", out=tmp_path / "res",
                                save_videos=1, progress=False, echo=lambda s: None, device="cpu",
                                weights_path=out / "latest.ckpt"))
    assert doc["counts"]["scored"] == 2 and doc["official_weights"] is False
    assert doc["weights"]["synctalkface"]["config"]["img_size"] == 96
    row = next(r for r in doc["rows"] if "video" in r)
    video = tmp_path / "res" / row["video"]
    info = probe(video)
    assert info.fps == 25 and info.has_audio and sum(1 for _ in iter_frames(video)) == row["n_frames"]


@pytest.mark.slow
def test_syncnet_expert_trains_and_loads_as_an_official_file(real_shards, tmp_path):
    out = tmp_path / "expert"
    r = CliRunner().invoke(cli, ["train", "--model", "syncnet", "--data", str(real_shards), "--split", "test",
                                 "--out", str(out), "--steps", "30", "--batch-size", "16", "--checkpoint-every", "15",
                                 "--device", "cpu", "--no-progress"])
    assert r.exit_code == 0, r.output
    loss = [x["loss"] for x in losses(out)]
    assert len(loss) == 30 and _mean(loss[-10:]) < _mean(loss[:10]), loss
    from lsbench.models.wav2lip_net import load_expert

    net = load_expert(out / "lipsync_expert.pth")  # the loader official lipsync_expert.pth files go through
    assert not net.training
    import torch

    saved = torch.load(str(out / "lipsync_expert.pth"), weights_only=True)
    assert saved["global_step"] == 30 and set(saved) >= {"state_dict", "optimizer", "global_epoch"}
    assert json.dumps(saved["global_epoch"]) == "0"


def test_synctalkface_sizes_are_configurable():
    """S, C and the face size change the memory and the feature widths, and the network still runs."""
    import torch

    from lsbench.models.synctalkface_net import STFConfig, STFDecoder, STFEncoder

    cfg = STFConfig(img_size=96, n_slot=32, dim=256)
    enc, dec = STFEncoder(cfg).eval(), STFDecoder(cfg).eval()
    assert enc.mem.key.shape == (32, 256) and enc.mem.fusion.in_features == 512
    with torch.inference_mode():
        te, _, feats, _, _, key_add, _, _ = enc(torch.zeros(1, 5, 1, 80, 16), torch.zeros(1, 6, 5, 96, 96), None)
        img = dec(te, feats)
    assert te.shape == (1, 5, 256, 1, 1) and key_add.shape == (1, 5, 32) and img.shape == (1, 3, 5, 96, 96)
    assert float(img.abs().max()) <= 1.0


def _expert(real_shards, out, *extra):
    return CliRunner().invoke(cli, ["train", "--model", "syncnet", "--data", str(real_shards), "--split", "test",
                                    "--out", str(out), "--batch-size", "2", "--device", "cpu", "--no-progress",
                                    *extra])


def test_a_used_folder_is_refused_unless_resumed_or_overwritten(real_shards, tmp_path):
    """issue 20: a second run into the same folder never mixes with the first."""
    out = tmp_path / "expert"
    assert _expert(real_shards, out, "--steps", "4").exit_code == 0
    first = (out / "lipsync_expert.pth").read_bytes()
    r = _expert(real_shards, out, "--steps", "6")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip() == (f"lsbench: error: {out}: already holds a training run (lipsync_expert.pth, "
                                f"losses.jsonl); pass --resume to continue it or --overwrite to replace it")
    assert [x["step"] for x in losses(out)] == [1, 2, 3, 4] and (out / "lipsync_expert.pth").read_bytes() == first
    r = _expert(real_shards, out, "--steps", "3", "--overwrite")
    assert r.exit_code == 0, r.output
    assert [x["step"] for x in losses(out)] == [1, 2, 3]  # one run, not 1-4 then 1-3
    import torch

    assert torch.load(str(out / "lipsync_expert.pth"), weights_only=True)["global_step"] == 3
    r = _expert(real_shards, out, "--steps", "3", "--overwrite", "--resume")
    assert r.exit_code == 1 and "give one of them" in r.output
    (out / "notes.txt").write_text("mine")
    r = _expert(real_shards, out, "--steps", "3", "--overwrite")
    assert r.exit_code == 1 and "did not write (notes.txt)" in r.output and (out / "notes.txt").exists()


def test_resume_after_a_kill_logs_each_step_once(real_shards, tmp_path):
    """A run killed after its last checkpoint logged steps the resumed run does again."""
    out = tmp_path / "expert"
    assert _expert(real_shards, out, "--steps", "4").exit_code == 0
    with open(out / "losses.jsonl", "a") as f:  # what a run killed at step 6, checkpoint at 4, leaves behind
        f.write(json.dumps({"step": 5, "loss": 0.7}) + "\n" + json.dumps({"step": 6, "loss": 0.7}) + "\n")
    r = _expert(real_shards, out, "--steps", "7", "--resume")
    assert r.exit_code == 0 and "at step 4" in r.output, r.output
    assert [x["step"] for x in losses(out)] == [1, 2, 3, 4, 5, 6, 7]
    assert all(x["loss"] != 0.7 for x in losses(out)[4:])  # steps 5 and 6 are the resumed run's


def test_a_missing_split_lists_the_splits_present(real_shards, tmp_path):
    r = CliRunner().invoke(cli, ["train", "--model", "syncnet", "--data", str(real_shards), "--out",
                                 str(tmp_path / "o"), "--steps", "1", "--no-progress"])  # default split: train
    assert r.exit_code == 1
    assert r.output.strip() == (f"lsbench: error: {real_shards}: no split 'train' in these shards (splits present: "
                                f"test); choose one with --split, or --split all")
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(cli, ["train", "--model", "syncnet", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "no shard files" in r.output and "Traceback" not in r.output

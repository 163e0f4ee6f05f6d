"""`lsbench train`: CPU smoke runs on tiny shards of real clips. They prove the loops (losses
fall, checkpoints in the published formats reload, runs resume, the result generates),
not quality."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from lsbench import results
from lsbench.cli import cli
from lsbench.evaluate import evaluate
from lsbench.media import iter_frames, probe
from lsbench.train import losses


def _mean(xs):
    return float(np.mean(xs))


def test_synctalkface_trains_resumes_and_generates(real_shards, tmp_path, weights_dir):
    out = tmp_path / "stf"
    base = ["train", "--model", "synctalkface", "--data", str(real_shards), "--split", "test", "--out", str(out),
            "--batch-size", "2", "--img-size", "96", "--lr", "5e-4", "--checkpoint-every", "8", "--device", "cpu",
            "--no-progress"]
    r = CliRunner().invoke(cli, base + ["--steps", "16"])
    assert r.exit_code == 0, r.output
    assert "sync loss is off" in r.output  # no expert given: said, not silently skipped
    log = losses(out)
    assert [x["step"] for x in log] == list(range(1, 17))
    l1 = [x["l1"] for x in log]
    assert _mean(l1[-5:]) < 0.85 * _mean(l1[:5]), l1  # the reconstruction loss falls
    assert all(np.isfinite(x["loss"]) for x in log)

    from lsbench.models.synctalkface_net import STFConfig, load_synctalkface

    enc, dec, disc = load_synctalkface(out / "latest.ckpt", STFConfig(img_size=96))  # the authors' format
    assert enc.mem.key.shape == (96, 512)

    r = CliRunner().invoke(cli, base + ["--steps", "18", "--resume"])
    assert r.exit_code == 0 and "at step 16" in r.output, r.output
    assert [x["step"] for x in losses(out)] == list(range(1, 19))

    doc = results.load(evaluate("synctalkface", real_shards, "random-reference", "test", out=tmp_path / "res",
                                save_videos=1, progress=False, echo=lambda s: None, device="cpu",
                                weights_path=out / "latest.ckpt"))
    assert doc["counts"]["scored"] == 2 and doc["official_weights"] is False
    assert doc["weights"]["synctalkface"]["config"]["img_size"] == 96
    row = next(r for r in doc["rows"] if "video" in r)
    video = tmp_path / "res" / row["video"]
    info = probe(video)
    assert info.fps == 25 and info.has_audio and sum(1 for _ in iter_frames(video)) == row["n_frames"]


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

"""Bundled models II: MakeItTalk and SyncTalkFace through `evaluate` on MakeItTalk's portrait,
with procedural checkpoints in the official formats; MakeItTalk's helpers on real values."""

from __future__ import annotations

import hashlib
import os
import subprocess

import numpy as np
import pytest
from conftest import MEDIA, PACKS

from lsbench.evaluate import document as results
from lsbench.evaluate import evaluate
from lsbench.media import iter_frames, probe


@pytest.mark.slow
@pytest.mark.parametrize("model", ["makeittalk", "synctalkface"])
def test_portrait_plus_speech_gives_a_playable_25fps_mp4(model, portrait_shards, tmp_path, weights_dir):
    doc = results.load(evaluate(model, portrait_shards, "random-reference", "test", out=tmp_path, save_videos=1,
                                progress=False, echo=lambda s: None, device="cpu"))
    assert doc["counts"]["scored"] == 2 and doc["counts"]["failed"] == 0, doc["rows"]
    assert doc["official_weights"] is False  # procedural weights are flagged
    row = next(r for r in doc["rows"] if "video" in r)
    video = tmp_path / row["video"]
    info = probe(video)
    assert info.fps == 25 and info.has_audio and sum(1 for _ in iter_frames(video)) == row["n_frames"] == 15
    assert subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-f", "null", "-"],
                          capture_output=True, text=True).stderr == ""
    if model == "makeittalk":
        assert row["notes"]["fps_native"] == "62.5" and row["notes"]["fps_scored"] == "25"
        assert {"makeittalk_autovc", "makeittalk_content_branch", "makeittalk_speaker_branch",
                "makeittalk_i2i"} <= set(doc["weights"])
        # without face-alignment's files the portrait landmarks are dlib's: said per row, flagged in the weights
        assert row["notes"]["portrait_landmarks"].startswith("dlib 2-D predictor (fallback, not the demo's")
        assert doc["weights"]["makeittalk_portrait_landmarks"]["official"] is False


def test_shipped_statistics_are_the_official_files():
    """The mel statistics equal the official file (its Git LFS sha-256, with the CRLF line ends
    of the original), and the target speaker embedding equals the demo's (as the pack has it)."""
    from lsbench.models.makeittalk import TARGET_EMB
    from lsbench.models.makeittalk_chain import STATS

    crlf = STATS.read_bytes().replace(b"\n", b"\r\n")
    assert hashlib.sha256(crlf).hexdigest() == "7fa8020abbc2aa18b56214e825b9f696ec6f1c369f89ce0bd0bfed4e56e85d9b"
    pack_trg = np.load(PACKS / "makeittalk" / "inputs.npz")["e2e/c_trg"].ravel()
    assert np.array_equal(np.loadtxt(TARGET_EMB).astype(np.float32), pack_trg)


def test_i2i_checkpoint_with_a_pickled_optimizer_loads_and_runs_nothing(tmp_path):
    import torch

    from lsbench import weights as W
    from lsbench.models.makeittalk_net import ResUnetGenerator, load_container

    net = ResUnetGenerator()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "ckpt_116_i2i_comb.pth"
    torch.save({"G": net.state_dict(), "opt": torch.optim.Adam(net.parameters()), "evil": Evil(), "epoch": 116}, path)
    with pytest.raises(W.WeightsError, match="refused"):
        W.load_torch(path)  # the plain loader refuses it
    loaded = load_container(path, "G", ResUnetGenerator(), "MakeItTalk image translator checkpoint")
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))
    assert not marker.exists()


def test_cartoon_warp_moves_pixels_with_the_landmarks():
    from lsbench.models.makeittalk import warp_cartoon

    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 255
    src = np.array([[10, 10], [90, 10], [90, 90], [10, 90], [50, 50]], np.float32)
    dst = src.copy()
    dst[4] = [60, 50]  # the centre moves 10 px right
    out = warp_cartoon(img, src, dst)
    cols = np.flatnonzero(out[50, :, 0] > 128)
    assert cols.min() > 42 and cols.max() > 62  # the white square moved right with its landmark
    assert np.array_equal(warp_cartoon(img, src, src), img)


def test_portrait_landmarks_and_their_normalisation_round_trip(weights_dir):
    import cv2

    from lsbench.models.makeittalk import denorm_face, norm_face
    from lsbench.landmarks import landmarks68

    img = cv2.resize(cv2.imread(str(MEDIA / "makeittalk/obama.jpg")), (256, 256))
    pts = landmarks68(np.ascontiguousarray(img[..., ::-1]))
    assert pts is not None and pts.shape == (68, 2)
    face_id, scale, shift = norm_face(pts)
    xy = face_id.reshape(68, 3)[:, :2]
    assert abs(abs(xy[0, 0] - xy[16, 0]) - 1.6) < 1e-5 and np.allclose(xy[0] + xy[16], 0, atol=1e-5)
    np.testing.assert_allclose(denorm_face(face_id, scale, shift), pts, atol=1e-3)

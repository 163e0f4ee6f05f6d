"""Bundled models I: Wav2Lip, its lip-sync expert and LipGAN behind the one interface, loaded
from procedural checkpoints in the official formats through the loaders real files use."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import PACKS

from lsbench.evaluate import document as results
from lsbench.cli import cli
from lsbench.conformance import procedural
from lsbench.errors import LsbenchError, WeightsError
from lsbench.evaluate import evaluate
from lsbench.media import iter_frames, probe
from lsbench.models import lipgan_net, wav2lip_net
from lsbench.models.base import Pair
from lsbench.models.keras_graph import Namer


def _pack_checkpoint(pack: str, ck_id: str, out, fmt: str = None):
    ck = next(c for c in json.loads((PACKS / pack / "pack.json").read_text())["checkpoints"] if c["id"] == ck_id)
    return procedural.write_checkpoint(PACKS / pack, {**ck, **({"format": fmt} if fmt else {})}, out)


# ------------------------------------------------------------------ LipGAN's Keras graph


@pytest.mark.parametrize("variant", ["master", "pythonic"])
def test_lipgan_graph_is_the_keras_graph(variant):
    """Layer names (auto-names of a session that built the generator, then the discriminator),
    Keras' load order and every layer's output shape equal the official model's."""
    keys = json.loads((PACKS / "lipgan" / "keys.json").read_text())["tensor_sets"]
    namer = Namer()
    for part, graph in (("generator", lipgan_net.generator(variant, namer)),
                        ("discriminator", lipgan_net.discriminator(variant, namer))):
        layout = keys[f"{variant}_{part}"]["keras_layout"]
        assert [layer.name for layer in graph.keras_order()] == layout["layer_names"]
        shapes = graph.shapes()
        for layer in layout["layers"]:
            if layer["class_name"] != "InputLayer":
                assert list(shapes[layer["name"]]) == layer["output_shape"][1:], layer["name"]


@pytest.mark.slow
def test_lipgan_reads_save_weights_layout_and_detects_variant(tmp_path):
    """Weights at the file root (Keras save_weights) load like Model.save files, to the same outputs."""
    a = _pack_checkpoint("lipgan", "pythonic_generator", tmp_path / "a")
    b = _pack_checkpoint("lipgan", "pythonic_generator", tmp_path / "b", fmt="keras224_weights_h5")
    with h5py.File(b, "r") as f:
        assert "model_weights" not in f and "layer_names" in f.attrs
    (net_a, va), (net_b, vb) = lipgan_net.load_generator(a), lipgan_net.load_generator(b)
    assert va == vb == "pythonic"
    inp = np.load(PACKS / "lipgan" / "inputs.npz")
    face, audio = lipgan_net.generator_input(inp["pythonic/gen/face_u8"]), lipgan_net.audio_input(inp["pythonic/gen/audio"])
    with torch.inference_mode():
        assert torch.equal(net_a(face, audio)[0], net_b(face, audio)[0])


@pytest.mark.slow
def test_lipgan_instance_norm_port_bug_fails_the_pack(monkeypatch):
    """Per-channel instance statistics (PyTorch's InstanceNorm2d) instead of keras_contrib's
    axis=None must fail the discriminator cases."""
    from lsbench.models import keras_graph

    def per_channel(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt() + self.eps
        return (x - mean) / std * self.gamma + self.beta

    monkeypatch.setattr(keras_graph.InstanceNormalization, "forward", per_channel)
    r = CliRunner().invoke(cli, ["conformance", str(PACKS / "lipgan"), "--case", "master_discriminator"])
    assert r.exit_code == 1 and "FAIL" in r.output


# ------------------------------------------------------------------ clear errors for wrong files


@pytest.mark.slow
def test_wrong_or_truncated_checkpoints_name_file_and_format(tmp_path):
    w2l = _pack_checkpoint("wav2lip", "wav2lip", tmp_path / "w")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(w2l.read_bytes()[: w2l.stat().st_size // 3])
    with pytest.raises(WeightsError, match=r"cut\.pth: Wav2Lip generator checkpoint cannot be read \(truncated"):
        wav2lip_net.load_generator(cut)

    expert = _pack_checkpoint("wav2lip_expert", "expert", tmp_path / "e")
    with pytest.raises(WeightsError) as exc:
        wav2lip_net.load_generator(expert)
    msg = str(exc.value)
    assert str(expert) in msg and "expected a torch checkpoint dict with 'state_dict'" in msg
    assert "tensors missing (face_encoder_blocks" in msg and "unexpected tensors (face_encoder" in msg

    syncnet = _pack_checkpoint("syncnet", "syncnet_v2", tmp_path / "s")
    with pytest.raises(WeightsError, match="not a valid Wav2Lip lip-sync expert checkpoint"):
        wav2lip_net.load_expert(syncnet)

    with pytest.raises(WeightsError, match="not a valid LipGAN generator checkpoint.*cannot open as HDF5"):
        lipgan_net.load_generator(w2l)
    disc = _pack_checkpoint("lipgan", "master_discriminator", tmp_path / "d")
    with pytest.raises(WeightsError, match=r"holds 24 layers with weights, the model has 145"):
        lipgan_net.load_generator(disc, "master")
    gen = _pack_checkpoint("lipgan", "master_generator", tmp_path / "g")
    with pytest.raises(WeightsError, match=r"weighted layer #\d+ 'conv2d_27' holds shapes \[\(3, 3, 1, 128\)"):
        lipgan_net.load_generator(gen, "pythonic")
    short = tmp_path / "short.h5"
    short.write_bytes(gen.read_bytes()[:4096])
    with pytest.raises(WeightsError, match="short.h5: not a valid LipGAN generator checkpoint"):
        lipgan_net.load_generator(short)


def test_cli_names_the_bad_checkpoint_without_a_traceback(real_shards, tmp_path, weights_dir):
    bad = tmp_path / "wav2lip.pth"
    bad.write_bytes(b"not a checkpoint")
    r = CliRunner().invoke(cli, ["evaluate", "--model", "wav2lip", "--data", str(real_shards), "--weights", str(bad),
                                 "--out", str(tmp_path / "r"), "--no-progress"])
    assert r.exit_code == 1
    assert f"{bad}: Wav2Lip generator checkpoint cannot be read" in r.output and "Traceback" not in r.output


# ------------------------------------------------------------------ the models on real media


def _pair(real_shards, n=30):
    """A Pair as `evaluate` builds it: Wav2Lip boxes cut from the source frames of one clip, the other's speech."""
    from lsbench import fullframe
    from lsbench.evaluate.target import ROW_COLUMNS, source_frames
    from lsbench.shards import ShardIndex, pcm16_to_float

    index = ShardIndex.open(real_shards, "test")
    a, b = (index.row(c, ROW_COLUMNS) for c in index.light)
    frames, scale = source_frames(a, n)
    boxes = fullframe.face_boxes(np.asarray(a["boxes"][:n]) * scale, frames.shape[1:3])
    crops = fullframe.crop_faces(frames, boxes, 96)
    own, other = pcm16_to_float(a["audio"])[: n * 640], pcm16_to_float(b["audio"])[: n * 640]
    return Pair(crops, crops[n // 2], other, own, source=frames, ref_index=n // 2), own


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wav2lip", "lipgan"])
def test_generator_output_is_driven_by_the_audio(name, real_shards, weights_dir):
    from lsbench.registry import MODELS

    pair, own = _pair(real_shards)
    model = MODELS.create(name, device="cpu")
    g1 = model.generate(pair)
    assert g1.frames.shape == pair.target.shape and g1.frames.dtype == np.uint8
    assert np.array_equal(model.generate(pair).frames, g1.frames)  # deterministic
    g2 = model.generate(Pair(pair.target, pair.reference, own, own))
    diff = np.abs(g1.frames.astype(int) - g2.frames.astype(int)).mean(axis=(1, 2, 3))
    assert (diff > 0.5).mean() > 0.5  # other speech, other mouths on most frames
    prov = model.provenance()
    assert all(p["official"] is False for p in prov.values())


@pytest.mark.slow
def test_evaluate_wav2lip_on_real_clips_writes_playable_mp4(real_shards, tmp_path, weights_dir):
    doc = results.load(evaluate("wav2lip", real_shards, "random-reference", "test", out=tmp_path, seed=3,
                                save_videos=2, progress=False, echo=lambda s: None, device="cpu"))
    assert doc["official_weights"] is False
    assert doc["weights"]["wav2lip"]["official"] is False and doc["weights"]["wav2lip"]["file"] == "wav2lip.pth"
    assert doc["counts"]["scored"] == 2 and doc["counts"]["failed"] == 0
    assert {"lse_d", "lse_c", "expert_cos", "expert_loss", "energy_sync"} <= set(doc["aggregates"])
    for row in doc["rows"]:
        info = probe(tmp_path / row["video"])
        assert info.fps == 25 and info.has_audio
        assert sum(1 for _ in iter_frames(tmp_path / row["video"])) == row["n_frames"]
        assert abs(info.duration - row["n_frames"] / 25) < 0.05
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / row["video"]), "-f", "null", "-"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and out.stderr == ""  # decodes end to end without an error


def test_models_need_their_weights_and_say_how(real_shards, tmp_path, monkeypatch):
    monkeypatch.delenv("LSBENCH_WEIGHTS_DIR", raising=False)
    r = CliRunner().invoke(cli, ["evaluate", "--model", "lipgan", "--data", str(real_shards), "--out", str(tmp_path),
                                 "--no-progress"])
    assert r.exit_code == 1
    assert "lipgan_residual_mfcc.h5" in r.output and "LSBENCH_WEIGHTS_DIR" in r.output


def test_device_choice():
    from lsbench.device import batch_size_for, pick

    assert pick("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(LsbenchError, match="CUDA is not available"):
            pick("cuda")
    with pytest.raises(LsbenchError, match="expected auto, cpu"):
        pick("gpu0")
    assert 1 <= batch_size_for("cpu", 24 << 20) <= 128
    assert batch_size_for("cpu", 1 << 50) == 1


def test_box_smoothing_and_paste_back():
    """Wav2Lip's get_smoothened_boxes on an integer array, in place: each mean is truncated and the
    last windows reuse boxes already smoothed (inference.py and gen_videos_from_filelist.py alike)."""
    from lsbench import fullframe

    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [10, 10, 20, 20], [0, 0, 10, 10]], float)
    sm = fullframe.face_boxes(boxes, (40, 40), fullframe.Geometry("test", "a test", (0, 0, 0, 0), smooth_window=2))
    np.testing.assert_array_equal(sm[0], [2, 2, 12, 12])  # mean 2.5, truncated
    np.testing.assert_array_equal(sm[2], [5, 5, 15, 15])
    np.testing.assert_array_equal(sm[3], [2, 2, 12, 12])  # the final window holds the smoothed sm[2]
    frames = np.zeros((1, 40, 40, 3), np.uint8)
    face = np.zeros((1, 96, 96, 3), np.uint8)
    face[..., 2] = 200  # blue in RGB
    out = fullframe.paste_faces(frames, np.array([[4, 8, 24, 20]]), face)
    assert (out[0, 8:20, 4:24, 2] == 200).all() and out[0, 8:20, 4:24, :2].max() == 0
    assert out[0, :8].max() == 0 and out[0, 20:].max() == 0


@pytest.mark.slow
def test_generate_full_frames_pastes_faces_back_for_the_speech_length(tmp_path, weights_dir, shared):
    """`lsbench generate`: a 1 s video driven by 2 s of other speech is looped to 50 frames;
    only the padded face box changes, the rest of the frame stays the original."""
    from conftest import MEDIA

    from lsbench.detectors.dlib_cascade import DlibCascadeDetector
    from lsbench import fullframe
    from lsbench.generate import face_boxes
    from lsbench.media import ffmpeg, iter_frames, read_audio

    video = tmp_path / "v.mp4"
    ffmpeg("-ss", "1", "-t", "1", "-i", str(MEDIA / "videoretalking/face_2.mp4"), "-vf", "scale=320:-2,fps=25",
           "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-an", str(video))
    speech = tmp_path / "s.wav"
    ffmpeg("-t", "2", "-i", str(PACKS / "lipgan" / "audio.wav"), "-ar", "16000", "-ac", "1", str(speech))
    out = tmp_path / "out.mp4"
    r = CliRunner().invoke(cli, ["generate", "--model", "wav2lip", "--video", str(video), "--audio", str(speech),
                                 "--out", str(out), "--device", "cpu", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "WARNING: weights are not verifiably the official files" in r.output
    info = probe(out)
    assert info.fps == 25 and info.has_audio and abs(info.audio_duration - 2.0) < 0.05
    got = np.stack(list(iter_frames(out)))
    src = np.stack(list(iter_frames(video)))
    assert len(got) == 50 and got.shape[1:] == src.shape[1:]
    boxes, missing = face_boxes(src, DlibCascadeDetector(), progress=False)
    assert missing == 0
    x1, y1, x2, y2 = fullframe.face_boxes(boxes, src.shape[1:3], fullframe.INFERENCE)[0]
    inside = np.abs(got[0, y1 + 4:y2 - 4, x1 + 4:x2 - 4].astype(int) - src[0, y1 + 4:y2 - 4, x1 + 4:x2 - 4]).mean()
    mask = np.ones(src.shape[1:3], bool)
    mask[max(0, y1 - 12):y2 + 12, max(0, x1 - 12):x2 + 12] = False
    outside = np.abs(got[0][mask].astype(int) - src[0][mask]).mean()
    assert outside < 3 < 20 < inside  # encoder noise outside, a generated face inside
    assert np.abs(got[25][mask].astype(int) - src[0][mask]).mean() < 3  # frame 25 is source frame 0 again: looped
    assert len(read_audio(out)) >= 2 * 16000 - 640


def test_generate_says_it_reads_30fps_at_25_and_uses_the_detector_its_help_names(tmp_path, weights_dir, shared):
    """Issue 28's polish: a 30 fps source gets one note (read at 25 fps, the output is 25 fps), and the
    detector used without --detector is the default --help states."""
    from conftest import MEDIA

    from lsbench.media import ffmpeg

    video, speech, out = tmp_path / "v30.mp4", tmp_path / "s.wav", tmp_path / "out.mp4"
    ffmpeg("-ss", "1", "-t", "0.6", "-i", str(MEDIA / "videoretalking/face_2.mp4"), "-vf", "scale=240:-2,fps=30",
           "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-an", str(video))
    ffmpeg("-t", "0.8", "-i", str(PACKS / "lipgan" / "audio.wav"), "-ar", "16000", "-ac", "1", str(speech))
    assert probe(video).fps == 30
    help_text = CliRunner().invoke(cli, ["generate", "--help"]).output
    assert "[default: dlib]" in help_text, help_text
    r = CliRunner().invoke(cli, ["generate", "--model", "wav2lip", "--video", str(video), "--audio", str(speech),
                                 "--out", str(out), "--device", "cpu", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert f"note: {video} is 30 fps; it is read at 25 fps (frames dropped or repeated) and the output is 25 fps" \
        in r.output, r.output
    assert "detector: dlib" in r.output, r.output
    assert probe(out).fps == 25 and len(list(iter_frames(out))) == 20  # 0.8 s of speech at 25 fps

"""The official LSE routes against the official code, on mp4 files cut from ../shared/media.

whole-frame: the test runs Wav2Lip's SyncNetInstance_calc_scores.evaluate steps itself (its ffmpeg commands,
cv2.imread + cv2.resize, python_speech_features, batches of 20 through syncnet-python 0.2.3's own SyncNetModel.S,
its calc_pdist), independently of lsbench.syncnet.routes, and compares with score_whole_frame.
pipeline: syncnet-python 0.2.3's SyncNetPipeline.inference on the same files. Procedural S3FD weights find only noise,
so the boxes lsbench's weight-free detector found on our side's frames are replayed into its S3FD, which checks that
it is shown the same frames. Its speech is run_pipeline's (the converted AVI's audio, given as its audio file) and
min_track is the same on both sides; the other documented differences do not arise on these one-face clips.
Weights: the procedural syncnet_v2.model / sfd_face.pth; tolerances: the syncnet pack's `lse` case.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import MEDIA, PACKS, ROOT
from corpora import cut

from lsbench import media
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.detectors.dlib_hog import DlibHOGDetector
from lsbench.errors import EnvironmentFailure
from lsbench.syncnet.route_steps import PIPELINE, WHOLE_FRAME, RouteScore, RouteTrack
from lsbench.syncnet.routes import score_route, score_whole_frame
from lsbench.syncnet.routes_pipeline import _figure, score_pipeline

sys.path.insert(0, str(ROOT / "bench"))
from harness import RecordedDetections, ReplayedDetections  # noqa: E402  (shared with the score benchmark)

LSE_CASE = next(c for c in json.loads((PACKS / "syncnet" / "pack.json").read_text())["cases"] if c["id"] == "lse")
LSE_C_TOL = LSE_CASE["output_tolerance"]["conf"]["atol"]
LSE_D_TOL = LSE_CASE["tolerance"]["atol"]  # min_dist has no entry of its own: the case's atol
assert LSE_CASE["output_tolerance"]["offset"]["compare"] == "exact"

# (name, source, start s, seconds, face-centred side or None for the full frame)
WHOLE_FRAME_CLIPS = [
    ("lrs2_160", "videoretalking/face_2.mp4", 1.0, 2.0, 160),
    ("lrw_256", "hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", 2.0, 1.16, 256),
    ("full_frame_976x528", "syncnet_example/video.avi", 0.5, 2.0, None),
]
PIPELINE_CLIPS = [  # full frames, as generated videos are
    ("face_1_30fps", "videoretalking/face_1.mp4", 1.0, 3.0),
    ("face_3", "videoretalking/face_3.mp4", 0.0, 3.0),
    ("hdtf", "hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", 2.0, 3.0),
    ("face_2", "videoretalking/face_2.mp4", 1.0, 3.0),
]
MIN_TRACK = 50  # both sides (run_pipeline's 100 needs clips over 4 s; syncnet-python 0.2.3's default is 50)


def full_frame_excerpt(src: Path, dest: Path, start: float, seconds: float) -> Path:
    """An H.264/AAC mp4 excerpt at the source's size and frame rate, as a generated full-frame video is written."""
    media.ffmpeg("-ss", f"{start}", "-t", f"{seconds}", "-i", str(src), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", str(dest))
    return dest


def ffmpeg_cli(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="module")
def reference_net(procedural_weights):
    import torch
    from syncnet_python.SyncNetModel import S

    net = S()
    net.load_state_dict(torch.load(procedural_weights / "syncnet_v2.model", weights_only=True))
    return net.eval()


def official_whole_frame(net, video: Path, tmp: Path) -> dict:
    """SyncNetInstance_calc_scores.evaluate's steps, written out here with syncnet-python 0.2.3's model and calc_pdist."""
    import python_speech_features
    import torch
    from scipy.io import wavfile
    from syncnet_python.SyncNetInstance import calc_pdist

    tmp.mkdir()
    ffmpeg_cli("-y", "-i", str(video), "-threads", "1", "-f", "image2", str(tmp / "%06d.jpg"))
    ffmpeg_cli("-y", "-i", str(video), "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000",
               str(tmp / "audio.wav"))
    images = [cv2.resize(cv2.imread(str(f)), (224, 224)) for f in sorted(tmp.glob("*.jpg"))]
    im = np.transpose(np.expand_dims(np.stack(images, axis=3), 0), (0, 3, 4, 1, 2))
    imtv = torch.from_numpy(im.astype(float)).float()
    sr, audio = wavfile.read(str(tmp / "audio.wav"))
    mfcc = np.stack([np.array(c) for c in zip(*python_speech_features.mfcc(audio, sr))])
    cct = torch.from_numpy(np.expand_dims(np.expand_dims(mfcc, 0), 0).astype(float)).float()
    lastframe = min(len(images), math.floor(len(audio) / 640)) - 5
    im_feat, cc_feat = [], []
    with torch.no_grad():
        for i in range(0, lastframe, 20):
            span = range(i, min(lastframe, i + 20))
            im_feat.append(net.forward_lip(torch.cat([imtv[:, :, v:v + 5] for v in span], 0)))
            cc_feat.append(net.forward_aud(torch.cat([cct[:, :, :, v * 4:v * 4 + 20] for v in span], 0)))
    dists = calc_pdist(torch.cat(im_feat, 0), torch.cat(cc_feat, 0), vshift=15)
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    return {"offset": int(15 - minidx), "conf": float(torch.median(mdist) - minval), "dist": float(minval),
            "mdist": mdist.numpy(), "windows": lastframe, "frames": len(images), "samples": len(audio)}


class Spy:
    """Wraps a callable and keeps what it returned: the whole distance curve behind a route's three numbers."""

    def __init__(self, fn):
        self.fn, self.returned = fn, []

    def __call__(self, *a, **k):
        out = self.fn(*a, **k)
        self.returned.append(out)
        return out


@pytest.mark.slow
@pytest.mark.parametrize("name,src,start,seconds,side", WHOLE_FRAME_CLIPS, ids=[c[0] for c in WHOLE_FRAME_CLIPS])
def test_whole_frame_route_equals_wav2lips_evaluate(name, src, start, seconds, side, tmp_path, reference_net,
                                                    syncnet_scorer, monkeypatch):
    clip = tmp_path / f"{name}.mp4"
    if side:
        cut(MEDIA / src, clip, start, seconds, side)
    else:
        full_frame_excerpt(MEDIA / src, clip, start, seconds)
    ref = official_whole_frame(reference_net, clip, tmp_path / "official")
    work = tmp_path / "work"
    work.mkdir()
    spy = Spy(syncnet_scorer.score)
    monkeypatch.setattr(syncnet_scorer, "score", spy)
    ours = score_whole_frame(clip, syncnet_scorer, work_dir=work)
    assert list(work.iterdir()) == []  # the temporary folder is gone
    assert ours.status == "ok" and ours.route == WHOLE_FRAME, ours.reason
    assert (ours.n_frames, ours.n_samples) == (ref["frames"], ref["samples"])
    assert ours.n_windows == ref["windows"] == min(ours.n_frames, ours.n_samples // 640) - 5  # the script's count
    assert ours.offset == ref["offset"]
    assert abs(ours.lse_c - ref["conf"]) <= LSE_C_TOL, (ours.lse_c, ref["conf"])
    assert abs(ours.lse_d - ref["dist"]) <= LSE_D_TOL, (ours.lse_d, ref["dist"])
    print(f"whole-frame {name}: |dLSE-C| {abs(ours.lse_c - ref['conf']):.5f} |dLSE-D| {abs(ours.lse_d - ref['dist']):.5f}")
    # all 31 shifts agree, not only the minimum (procedural weights often put it at the edge, +-15)
    np.testing.assert_allclose(spy.returned[0].mdist, ref["mdist"], atol=LSE_D_TOL, rtol=0)


@pytest.fixture(scope="module")
def reference_pipeline(procedural_weights):
    from syncnet_python.syncnet_pipeline import SyncNetPipeline

    pipe = SyncNetPipeline({"s3fd_weights": str(procedural_weights / "sfd_face.pth"),
                            "syncnet_weights": str(procedural_weights / "syncnet_v2.model"), "min_track": MIN_TRACK},
                           device="cpu")
    return pipe, ReplayedDetections(pipe.s3fd, run_s3fd=False)  # its noise boxes would be thrown away


@pytest.mark.slow
@pytest.mark.parametrize("name,src,start,seconds", PIPELINE_CLIPS, ids=[c[0] for c in PIPELINE_CLIPS])
def test_pipeline_route_equals_syncnet_pipeline(name, src, start, seconds, tmp_path, reference_pipeline,
                                                syncnet_scorer, monkeypatch):
    import importlib

    import torch

    official = importlib.import_module("syncnet_python.SyncNetInstance")  # the module (the package's name is the class)

    clip = full_frame_excerpt(MEDIA / src, tmp_path / f"{name}.mp4", start, seconds)
    recorded = RecordedDetections(DlibCascadeDetector())
    work = tmp_path / "work"
    work.mkdir()
    our_curves, official_curves = Spy(syncnet_scorer.score), Spy(official.calc_pdist)
    monkeypatch.setattr(syncnet_scorer, "score", our_curves)
    monkeypatch.setattr(official, "calc_pdist", official_curves)
    ours = score_pipeline(clip, syncnet_scorer, recorded, min_track=MIN_TRACK, work_dir=work)
    assert list(work.iterdir()) == []
    assert ours.status == "ok" and ours.route == PIPELINE, ours.reason
    assert ours.n_frames == len(recorded.boxes) >= round(seconds * 25)  # the detector saw every frame

    pipe, replay = reference_pipeline
    replay.load(recorded.boxes, recorded.digests)
    speech = tmp_path / "run_pipeline.avi"  # run_pipeline's speech is the audio of its converted AVI
    ffmpeg_cli("-y", "-i", str(clip), "-qscale:v", "2", "-async", "1", "-r", "25", str(speech))
    offsets, confs, dists, *_ = pipe.inference(str(clip), str(speech), cache_dir=str(tmp_path / "official"))
    assert replay.calls == ours.n_frames and replay.mismatches == 0  # same frames, same boxes
    assert len(offsets) == len(ours.tracks) >= 1
    for track, offset, conf, dist in zip(ours.tracks, offsets, confs, dists):
        assert track.status == "ok" and track.n_detections > MIN_TRACK
        assert track.offset == offset
        assert abs(track.lse_c - conf) <= LSE_C_TOL, (track.lse_c, conf)
        assert abs(track.lse_d - dist) <= LSE_D_TOL, (track.lse_d, dist)
        print(f"pipeline {name}: |dLSE-C| {abs(track.lse_c - conf):.5f} |dLSE-D| {abs(track.lse_d - dist):.5f}")
    for res, dists in zip(our_curves.returned, official_curves.returned):  # every shift of every track
        np.testing.assert_allclose(res.mdist, torch.stack(dists, 1).mean(1).numpy(), atol=LSE_D_TOL, rtol=0)
    assert len(our_curves.returned) == len(official_curves.returned) == len(ours.tracks)
    if len(ours.tracks) == 1:
        assert (ours.offset, ours.lse_c, ours.lse_d) == (ours.tracks[0].offset, ours.tracks[0].lse_c, ours.tracks[0].lse_d)


def test_a_videos_figure_is_the_mean_of_its_tracks_with_the_longest_tracks_offset():
    row = RouteScore(PIPELINE, "v.mp4", tracks=[
        RouteTrack(0, 0, 120, 121, offset=2, lse_c=6.0, lse_d=8.0, n_windows=116),
        RouteTrack(1, 130, 400, 271, offset=-1, lse_c=8.0, lse_d=7.0, n_windows=266),
        RouteTrack(2, 0, 110, 105, status="too_short", reason="clip too short"),
    ])
    _figure(row)
    assert row.status == "ok" and row.offset == -1 and row.n_windows == 382
    assert (row.lse_c, row.lse_d) == (7.0, 7.5)
    assert "2 face tracks" in row.aggregate and "track 1" in row.aggregate


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.mp4").write_bytes(b"\x00\x01 not a video " * 64)
    cut(MEDIA / "videoretalking/face_3.mp4", d / "silent.mp4", 0.0, 1.0, 160, audio=False)
    frames = media.read_frames(MEDIA / "videoretalking/face_3.mp4", size=(160, 160), max_frames=5)
    media.write_video(d / "five_frames.mp4", frames, audio=np.zeros(5 * 640, np.float32))
    rng = np.random.default_rng(1)
    scenery = np.repeat(rng.integers(0, 255, (1, 120, 160, 3), dtype=np.uint8), 40, axis=0)
    media.write_video(d / "scenery.mp4", scenery, audio=rng.normal(0, 0.1, 16000 * 2).astype(np.float32))
    return d


@pytest.mark.parametrize("route", [WHOLE_FRAME, PIPELINE])
def test_bad_input_is_a_status_with_its_reason(route, bad_inputs, syncnet_scorer, tmp_path):
    kw = {"detector": DlibHOGDetector(), "min_track": 10} if route == PIPELINE else {}
    work = tmp_path / "work"
    work.mkdir()
    for name, status, words in [("missing.mp4", "unreadable", "no such file"),
                                ("garbage.mp4", "unreadable", "corrupt or unreadable"),
                                ("silent.mp4", "no_audio", "no audio stream")]:
        row = score_route(route, bad_inputs / name, syncnet_scorer, work_dir=work, **kw)
        assert (row.status, row.route) == (status, route) and words in row.reason, row
        assert row.offset is None and row.lse_c is None and row.lse_d is None
    assert list(work.iterdir()) == []
    with pytest.raises(ValueError, match="unknown LSE route"):
        score_route("crop", bad_inputs / "silent.mp4", syncnet_scorer)


def test_too_few_frames_is_too_short_with_its_numbers(bad_inputs, syncnet_scorer):
    row = score_whole_frame(bad_inputs / "five_frames.mp4", syncnet_scorer)
    assert row.status == "too_short" and "5 frames" in row.reason and "0 windows" in row.reason, row.reason
    assert row.n_frames == 5


def test_pipeline_without_a_face_track_is_no_face_with_its_numbers(bad_inputs, syncnet_scorer):
    row = score_pipeline(bad_inputs / "scenery.mp4", syncnet_scorer, DlibHOGDetector(), min_track=10)
    assert row.status == "no_face" and row.tracks == [], row
    assert row.n_frames >= 40 and f"0 detections in {row.n_frames} frames" in row.reason, row.reason
    assert "more than 10 detections" in row.reason and "1 scene(s)" in row.reason


def test_a_missing_ffmpeg_stops_the_run(bad_inputs, syncnet_scorer, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no ffmpeg, no ffprobe
    for route in (WHOLE_FRAME, PIPELINE):
        with pytest.raises(EnvironmentFailure, match="ffmpeg is not installed"):
            score_route(route, bad_inputs / "five_frames.mp4", syncnet_scorer, detector=DlibHOGDetector())


@pytest.mark.slow
def test_evaluate_scores_its_generated_mp4_by_the_official_whole_frame_route(real_shards, tmp_path, weights_dir,
                                                                              reference_net):
    """The mp4 `lsbench evaluate` writes for a model (Wav2Lip, procedural weights, LRS2 layout) scored by
    Wav2Lip's calculate_scores_LRS steps with syncnet-python's own model and calc_pdist: the row's
    whole-frame LSE is the official number for that very file."""
    from lsbench.evaluate import document as results
    from lsbench.evaluate import evaluate

    doc = results.load(evaluate("wav2lip", real_shards, "random-reference", "test", out=tmp_path, save_videos=2,
                                metrics=["lse"], device="cpu", progress=False, echo=lambda s: None))
    assert doc["lse_route"]["name"] == "whole-frame"  # LRS2: the route of Wav2Lip's LRS2 tables
    for i, row in enumerate(doc["rows"]):
        ref = official_whole_frame(reference_net, tmp_path / row["video"], tmp_path / f"official{i}")
        m = row["metrics"]
        assert m["lse_offset"] == ref["offset"]
        assert abs(m["lse_c"] - ref["conf"]) <= LSE_C_TOL and abs(m["lse_d"] - ref["dist"]) <= LSE_D_TOL

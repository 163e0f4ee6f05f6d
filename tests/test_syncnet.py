"""SyncNet scoring against syncnet-python 0.2.3 itself, on real clips, same weights."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import MEDIA, PACKS, media_videos

from lsbench import media
from lsbench.audio import to_int16
from lsbench.detectors.dlib_hog import DlibHOGDetector
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.syncnet.lse import ClipTooShort
from lsbench.syncnet.score import score_video
from lsbench.syncnet.track import Track, crop_track, track_faces

TOL = json.loads((PACKS / "syncnet" / "pack.json").read_text())["cases"][3]
LSE_C_TOL = TOL["output_tolerance"]["conf"]["atol"]
LSE_D_TOL = TOL["tolerance"]["atol"]


@pytest.fixture(scope="module")
def reference(procedural_weights):
    pytest.importorskip("scenedetect")
    import torch
    from syncnet_python.SyncNetInstance import SyncNetInstance
    from syncnet_python.SyncNetModel import S

    net = S()
    net.load_state_dict(torch.load(procedural_weights / "syncnet_v2.model", weights_only=True))
    net.eval()
    return SyncNetInstance(net=net, device="cpu")


def _reference_tmp_dir(video, tmp_path):
    """What syncnet_python's evaluate reads: 224x224 JPEG frames (ffmpeg) + 16 kHz wav."""
    d = tmp_path / "ref"
    d.mkdir()
    media.ffmpeg("-i", str(video), "-t", "3", "-vf", "crop='min(iw,ih)':'min(iw,ih)',scale=224:224,fps=25",
                 "-qscale:v", "2", "-f", "image2", str(d / "%06d.jpg"))
    media.ffmpeg("-i", str(video), "-t", "3", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000", str(d / "audio.wav"))
    return d


@pytest.mark.slow
@pytest.mark.parametrize("video", media_videos()[:3], ids=lambda p: p.name)
def test_crop_mode_equals_syncnet_python(video, tmp_path, reference, syncnet_scorer, capsys):
    d = _reference_tmp_dir(video, tmp_path)

    class Opt:
        tmp_dir, batch_size, vshift = str(d), 20, 15

    ref_offset, ref_conf, ref_min_dist = reference.evaluate(opt=Opt())  # 0.2.3 returns the three scalars
    frames = np.stack([cv2.imread(str(f)) for f in sorted(d.glob("*.jpg"))])
    sr, samples = media.read_wav_int16(d / "audio.wav")
    ours = syncnet_scorer.score(frames, samples, sr, rgb=False)
    assert ours.offset == int(ref_offset)
    assert abs(ours.lse_c - float(ref_conf)) <= LSE_C_TOL
    assert abs(ours.lse_d - float(ref_min_dist)) <= LSE_D_TOL


def test_track_crops_equal_syncnet_python_pixel_for_pixel(tmp_path, monkeypatch):
    pytest.importorskip("scenedetect")
    from syncnet_python import syncnet_pipeline as sp

    video = MEDIA / "syncnet_example" / "video.avi"
    d = tmp_path / "frames"
    d.mkdir()
    media.ffmpeg("-i", str(video), "-t", "2", "-qscale:v", "2", "-f", "image2", str(d / "%06d.jpg"))
    files = sorted(str(f) for f in d.glob("*.jpg"))
    bgr = [cv2.imread(f) for f in files]
    rng = np.random.default_rng(0)
    base = np.array([330.0, 90.0, 650.0, 420.0])
    boxes = base + rng.normal(0, 6, (len(files), 4))  # jittery boxes exercise the median filter
    track = {"frame": np.arange(len(files)), "bbox": boxes}

    written = []

    class FakeWriter:
        def __init__(self, *a, **k):
            pass

        def write(self, img):
            written.append(img.copy())

        def release(self):
            pass

    monkeypatch.setattr(sp.cv2, "VideoWriter", FakeWriter)
    stub = type("Stub", (), {"cfg": sp.PipelineConfig()})()
    with pytest.raises(Exception):  # its ffmpeg muxing step fails without the real writer's file
        sp.SyncNetPipeline._crop(stub, track, files, str(tmp_path / "none.wav"), tmp_path / "crop" / "00000")
    ours = crop_track(bgr, Track(np.arange(len(files)), boxes, np.ones(len(files))))
    assert len(written) == len(ours) == len(files)
    assert all(np.array_equal(a, b) for a, b in zip(written, ours))


@pytest.mark.slow
@pytest.mark.parametrize("video", media_videos(), ids=lambda p: p.name)
def test_track_mode_finds_the_speaking_face(video, syncnet_scorer, monkeypatch):
    from lsbench.syncnet import score

    scored = []  # (track, its crops) as score_video makes and scores them

    def crops_of(frames, track, *args):
        scored.append((track, crop_track(frames, track, *args)))
        return scored[-1][1]

    monkeypatch.setattr(score, "crop_track", crops_of)
    rows = score_video(video, syncnet_scorer, mode="track", detector=DlibCascadeDetector(), min_track=50, detect_every=5)
    ok = [r for r in rows if r.status == "ok"]
    assert ok, rows
    best = max(ok, key=lambda r: r.last_frame - r.first_frame)
    n_frames = round(media.probe(video).video_duration * 25)
    assert best.last_frame - best.first_frame + 1 >= 0.7 * n_frames  # the speaker, most of the clip
    # the crops of that track hold a face that fills most of each crop
    track, crops = scored[best.track]  # score_video crops the tracks in their order
    assert track.frames[0] == best.first_frame and len(crops) == len(track)
    for crop in crops[:: max(1, len(crops) // 4)]:
        found = DlibCascadeDetector().detect_one(crop)
        assert len(found) >= 1
        side = max(found[0][2] - found[0][0], found[0][3] - found[0][1])
        assert side >= 0.35 * crop.shape[0], side


def test_tracking_takes_one_box_per_frame_and_keeps_two_faces_apart():
    """Two faces in every frame make two tracks (boxes are removed from the pool by identity:
    comparing numpy boxes by value used to raise on the second face of a frame)."""
    left, right = np.array([10.0, 10, 110, 110, 0.9]), np.array([300.0, 10, 400, 110, 0.8])
    dets = [np.stack([left + i, right - i]) for i in range(60)]
    tracks = track_faces(dets, min_track=50, min_face_size=50)
    assert len(tracks) == 2
    assert sorted(round(t.boxes[0, 0]) for t in tracks) == [10, 300]
    assert all(len(t) == 60 and np.array_equal(t.frames, np.arange(60)) for t in tracks)


@pytest.mark.slow
def test_guided_detection_keeps_the_face_where_hog_gives_false_alarms():
    """syncnet_python's example clip: HOG misses the face on most frames and fires on the
    background on some. Looking at each frame alone, those false alarms hide the face and its
    track breaks (76% of the clip); guided by the face already seen, one track spans it all,
    and nearly every sampled frame has a box on the face."""
    frames = media.read_frames(MEDIA / "syncnet_example" / "video.avi")
    det = DlibCascadeDetector()
    sampled = list(range(0, len(frames), 5))
    guided = det.detect([frames[i] for i in sampled])
    alone = [det.detect_one(frames[i]) for i in sampled]
    per_frame = [np.zeros((0, 5))] * len(frames)

    def span(found):
        for i, d in zip(sampled, found):
            per_frame[i] = d
        tracks = track_faces(per_frame, min_track=int(0.8 * len(frames)) - 1, num_failed_det=25, min_face_size=40)
        return max((len(t) for t in tracks), default=0)

    assert span(alone) == 0
    assert span(guided) >= sampled[-1] + 1
    face = np.array([380, 170, 605, 400])  # where the speaker is (all frames, within her movement)
    on_face = [any(iou_of(b, face) > 0.4 for b in d) for d in guided]
    assert sum(on_face) >= len(sampled) - 1, on_face


def iou_of(a, b):
    from lsbench.syncnet.track import iou

    return iou(a[:4], b)


def test_too_short_clip_is_a_status_not_a_crash(syncnet_scorer, tmp_path):
    frames = media.read_frames(MEDIA / "videoretalking" / "face_3.mp4", max_frames=5)
    with pytest.raises(ClipTooShort, match="too short"):
        syncnet_scorer.score(frames, np.zeros(16000, np.int16))
    short = media.write_video(tmp_path / "short.mp4", frames[:5], audio=np.zeros(3200, np.float32))
    rows = score_video(short, syncnet_scorer)
    assert rows[0].status == "too_short" and "too short" in rows[0].reason


def test_no_face_gives_a_track_status(syncnet_scorer, tmp_path):
    rng = np.random.default_rng(1)
    scenery = np.repeat(rng.integers(0, 255, (1, 120, 160, 3), dtype=np.uint8), 60, axis=0)
    clip = media.write_video(tmp_path / "scenery.mp4", scenery, audio=rng.normal(0, 0.1, 16000 * 3).astype(np.float32))
    rows = score_video(clip, syncnet_scorer, mode="track", detector=DlibHOGDetector(), min_track=10)
    assert rows[0].status == "no_face" and "no face track" in rows[0].reason


def test_batched_shift_distances_equal_the_loop():
    import torch

    from lsbench.syncnet.lse import shift_distances

    g = torch.Generator().manual_seed(0)
    im, cc = torch.randn(40, 1024, generator=g), torch.randn(40, 1024, generator=g)
    fast = shift_distances(im, cc, 15)
    pad = torch.nn.functional.pad(cc, (0, 0, 15, 15))
    loop = torch.stack([torch.nn.functional.pairwise_distance(im[[i]].repeat(31, 1), pad[i : i + 31]) for i in range(40)])
    assert torch.allclose(fast, loop, atol=1e-4)


@pytest.mark.slow
def test_score_many_batches_across_clips_with_the_same_numbers(syncnet_scorer):
    clips = []
    for name, n in (("face_2.mp4", 30), ("face_3.mp4", 41)):
        frames = media.read_frames(MEDIA / "videoretalking" / name, size=(224, 224), max_frames=n)
        clips.append((frames, to_int16(media.read_audio(MEDIA / "videoretalking" / name))[: n * 640]))
    clips.insert(1, (clips[0][0][:4], clips[0][1][:4 * 640]))  # too short: its error comes back in place
    many = syncnet_scorer.score_many(clips)
    assert isinstance(many[1], ClipTooShort)
    for (frames, samples), got in zip([clips[0], clips[2]], [many[0], many[2]]):
        one = syncnet_scorer.score(frames, samples)
        assert got.offset == one.offset and got.n_windows == one.n_windows
        np.testing.assert_allclose(got.mdist, one.mdist, atol=1e-2)


@pytest.mark.slow
def test_s3fd_batched_detection_gives_syncnet_pythons_boxes(procedural_weights, tmp_path):
    """detect() runs the network on batches of same-sized frames; each frame's boxes must still be what
    syncnet_python's detect_faces finds on it alone. The procedural heads saturate every score at 1.0 and
    give boxes millions of pixels wide, where the last float bit decides NMS; the heads are scaled down
    (same file format, same loader) so that the boxes are ordinary and the comparison is meaningful."""
    import torch
    from syncnet_python.detectors.s3fd import S3FD
    from syncnet_python.detectors.s3fd.nets import S3FDNet

    from lsbench.detectors.s3fd import S3FDDetector

    state = torch.load(procedural_weights / "sfd_face.pth", map_location="cpu", weights_only=True)
    state = {k: v * 0.02 if k.startswith(("loc.", "conf.")) else v for k, v in state.items()}
    torch.save(state, tmp_path / "sfd_face.pth")
    frames = []
    for video in media_videos()[:2]:  # two frame sizes: the batches are grouped by size
        clip = media.read_frames(video)
        frames += [clip[0], clip[len(clip) // 2], clip[-1]]
    assert len({f.shape for f in frames}) == 2
    net = S3FDNet(device="cpu")
    net.load_state_dict(state)
    official = S3FD(net=net.eval(), device="cpu")
    ours = S3FDDetector(tmp_path / "sfd_face.pth", batch_size=2).detect(frames)
    assert len(ours) == len(frames)
    for frame, boxes in zip(frames, ours):
        expected = official.detect_faces(frame, conf_th=0.9, scales=[0.25])
        assert boxes.shape == expected.shape and len(boxes) > 0
        np.testing.assert_allclose(boxes, expected, rtol=1e-4, atol=1e-3)

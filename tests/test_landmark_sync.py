"""landmark-sync (THEval's lip-sync on dlib's 68 landmarks): its librosa RMS, its frame rules, and
what it measures on real evaluation crops (../shared/media cut LRS2-style as tests/corpora.py
does, through the real preprocessing stages, cut at the shard's crop geometry as evaluate does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import MEDIA, built_once

from lsbench.evaluate.faults import SHIFTS, shift_audio
from lsbench.metrics.base import Undefined
from lsbench.metrics.landmark_sync import LandmarkSync, long_silences, rms, speech_mask

# 4 s windows (about 100 frames), two of them from a second stretch of the same speaker
SOURCES = [("videoretalking/face_1.mp4", 1.0, 4.0), ("videoretalking/face_2.mp4", 0.5, 4.0),
           ("videoretalking/face_3.mp4", 0.5, 4.0), ("syncnet_example/video.avi", 0.5, 4.0),
           ("hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", 0.0, 4.0),
           ("hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", 4.0, 4.0),
           ("latentsync/demo1_video.mp4", 1.0, 4.0), ("latentsync/demo1_video.mp4", 5.0, 4.0)]


def _build(root: Path) -> None:
    """Each window's evaluation crops and audio, saved as clipN.npz in SOURCES order."""
    from corpora import build_lrs2

    from lsbench.detectors.dlib_cascade import DlibCascadeDetector
    from lsbench.evaluate.target import evaluation_crops, source_frames
    from lsbench.shards import pcm16_to_float
    from preprocess.recipes.lrs2 import LRS2
    from preprocess.stages import Config, process_batch

    build_lrs2(MEDIA, root, SOURCES)
    refs = sorted((r.to_dict() for r in LRS2(root / "mvlrs_v1").find_clips()), key=lambda r: int(r["speaker_id"]))
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None, Config(sync="none"))
    assert all(table.column("ok").to_pylist()), table.column("error_message").to_pylist()
    for i, row in enumerate(table.to_pylist()):  # in SOURCES order: build_lrs2's video ids count up from one number
        n = row["n_frames"]
        frames, scale = source_frames(row, n)
        crops = evaluation_crops(frames, np.asarray(row["boxes"][:n], np.float64) * scale, row)
        np.savez(root / f"clip{i}.npz", crops=crops, audio=pcm16_to_float(row["audio"])[: n * 640])


@pytest.fixture(scope="module")
def clips(tmp_path_factory, shared):
    folder = built_once(tmp_path_factory, "landmark_sync_clips", _build)
    out = []
    for i in range(len(SOURCES)):
        with np.load(folder / f"clip{i}.npz") as z:
            out.append((z["crops"], z["audio"]))
    return out


def test_rms_is_librosas():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    for n, sr in ((64000, 16000), (64123, 16000), (799, 16000), (88200 + 17, 44100)):
        y = (0.1 * rng.standard_normal(n)).astype(np.float32)
        length = int(sr * 0.05)
        assert np.array_equal(rms(y, length, length), librosa.feature.rms(y=y, frame_length=length, hop_length=length)[0])


def test_frame_rules_are_thevals():
    # a segment covers frames int(start * 25)..int(end * 25); silences count from 0.3 * 25 = 7.5 frames
    assert np.flatnonzero(speech_mask([(0.1, 0.5), (0.9, 9.0)], 25)).tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                                                   22, 23, 24]
    speech = np.ones(30, bool)
    speech[2:9] = False  # 7 frames: too short
    speech[15:23] = False  # 8 frames
    assert np.flatnonzero(long_silences(speech)).tolist() == list(range(15, 23))


def _partner(i: int) -> int:
    """The next window from another source file: another speaker."""
    j = (i + 1) % len(SOURCES)
    while SOURCES[j][0] == SOURCES[i][0]:
        j = (j + 1) % len(SOURCES)
    return j


@pytest.mark.slow
def test_ground_truth_against_another_speaker(clips):
    metric = LandmarkSync()
    near_zero = lower_than_other = 0
    for i, (crops, audio) in enumerate(clips):
        own = metric.compute(crops, audio, None)
        other = metric.compute(crops, np.resize(clips[_partner(i)][1], len(audio)), None)
        assert all(isinstance(own[k], float) for k in ("lmsync_diff", "lmsync_offset", "lmsync_offset_abs"))
        assert 0 <= own["lmsync_diff"] <= 1 and own["lmsync_offset_abs"] == abs(own["lmsync_offset"]) <= 15
        near_zero += own["lmsync_offset_abs"] <= 2
        lower_than_other += own["lmsync_diff"] < other["lmsync_diff"]
    # measured 2026-12-04: the own audio's diff is below another speaker's on 6 of 8 windows (not face_1,
    # nor latentsync's second window); the ground truth's offset is within 2 frames of 0 on only 2 of 8
    # (found, in SOURCES order: -8, 6, 0, -12, -3, 2, 7, -15): openness against loudness peaks broadly here
    assert lower_than_other >= 6
    assert near_zero >= 2


@pytest.mark.slow
def test_offset_follows_the_audio_shift(clips):
    """Audio k frames late (the audio_shift fault, k > 0) reads about -k (syncnet_python's sign, as `energy`)."""
    metric = LandmarkSync()
    hits = followed = 0
    for crops, audio in clips:
        base = metric.compute(crops, audio, None)["lmsync_offset"]
        for k in SHIFTS:
            found = metric.compute(crops, shift_audio(audio, k), None)["lmsync_offset"]
            hits += abs(found + k) <= 2
            followed += abs(found - base + k) <= 2
    # measured 2026-12-04 on these 8 windows x 10 shifts: 21 of 80 within 2 frames of -k (not "most
    # clips"); 52 of 80 within 2 frames of the ground truth's own offset - k
    assert hits >= 21
    assert followed >= 52


@pytest.mark.slow
def test_undefined_without_speech_or_mouth_motion(clips):
    crops, audio = clips[4]
    metric = LandmarkSync()
    silent = metric.compute(crops, np.zeros_like(audio), None)
    for key in ("lmsync_diff", "lmsync_offset", "lmsync_offset_abs"):
        assert isinstance(silent[key], Undefined) and "too little speech" in silent[key].reason
    assert isinstance(silent["lmsync_silent_mad"], float)  # the whole clip is one long silence
    frozen = metric.compute(np.repeat(crops[:1], len(crops), axis=0), audio, None)
    assert isinstance(frozen["lmsync_diff"], float)
    assert isinstance(frozen["lmsync_offset"], Undefined) and frozen["lmsync_offset"].reason == "no mouth motion"
    assert frozen["lmsync_silent_mad"] == 0.0 or isinstance(frozen["lmsync_silent_mad"], Undefined)

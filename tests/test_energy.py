"""The weight-free offset estimator on synthetic talking faces with known shifts."""

from __future__ import annotations

from lsbench import media
from lsbench.sync_energy import estimate_offset


def test_known_shifts_are_recovered_after_an_mp4_round_trip(synthetic_clips):
    for shift, (path, clip) in synthetic_clips.items():
        est = estimate_offset(media.read_frames(path), media.read_audio(path))
        assert abs(est.offset - clip.expected_offset) <= 1, (shift, est.offset)
        assert est.conf > 3


def test_correcting_the_offset_brings_the_clip_back_in_sync(synthetic_clips):
    path, clip = synthetic_clips[7]
    frames, audio = media.read_frames(path), media.read_audio(path)
    est = estimate_offset(frames, audio)
    delay = -est.offset * 640  # the audio is late by this many samples: drop them
    fixed = audio[delay:] if delay > 0 else audio
    assert abs(estimate_offset(frames, fixed).offset) <= 1

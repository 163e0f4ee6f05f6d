"""Conformance calls of the `audio` pack."""

from __future__ import annotations

import numpy as np

from .. import audio
from ..media import read_wav_int16


def _wav_float(path) -> np.ndarray:
    sr, x = read_wav_int16(path)
    if sr != 16000:
        raise ValueError(f"{path}: expected 16 kHz, got {sr}")
    return x.astype(np.float32) / 32768.0  # what librosa.load gives for 16-bit PCM


def wav2lip_mel(inputs, params, ckpt):
    return {"mel": audio.wav2lip_mel(_wav_float(inputs["wav"]))}


def syncnet_mfcc(inputs, params, ckpt):
    sr, x = read_wav_int16(inputs["wav"])
    mfcc = audio.syncnet_mfcc(x, sr)
    n = audio.syncnet_num_windows(int(params["num_video_frames"]), len(x), sr)
    return {"mfcc": mfcc, "windows": audio.syncnet_windows(mfcc, n)}


CALLS = {"wav2lip_mel": wav2lip_mel, "syncnet_mfcc": syncnet_mfcc}

"""LipGAN's two audio front ends and their per-frame chunking.

`master` computed MFCCs in MATLAB (matlab/create_mat.m -> runmfcc.m -> mfcc.m, the HTK-style
routine of K. Wojcicki): int16-scale samples, pre-emphasis 0.97, 25 ms Hamming frames every
10 ms without padding, |FFT| 512, 40 unit-peak triangular filters on the HTK mel scale over
300-3700 Hz, natural log, DCT-II, sine lifter 22, C0 dropped -> 12 x frames at 100/s, cut in
35-frame chunks. `fully_pythonic` reuses Wav2Lip's mel and cuts 27-column chunks.
"""

from __future__ import annotations


import numpy as np

from ..audio import wav2lip_mel

SR = 16000
WIN, HOP, NFFT = 400, 160, 512
N_FILTERS, N_CEPS, LIFTER = 40, 13, 22
F_LOW, F_HIGH = 300.0, 3700.0
MFCC_CHUNK, MEL_CHUNK = 35, 27


def _hz_to_mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (np.exp(np.asarray(m) / 1127.0) - 1.0)


def triangular_filterbank() -> np.ndarray:
    """(40, 257) unit-peak triangles, edges equally spaced in mel, sampled at linspace(0, sr/2, 257)."""
    f = np.linspace(0.0, SR / 2, NFFT // 2 + 1)
    edges = _mel_to_hz(_hz_to_mel(F_LOW) + np.arange(N_FILTERS + 2) * (_hz_to_mel(F_HIGH) - _hz_to_mel(F_LOW)) / (N_FILTERS + 1))
    H = np.zeros((N_FILTERS, len(f)))
    for m in range(N_FILTERS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (f >= lo) & (f <= mid)
        H[m, up] = (f[up] - lo) / (mid - lo)
        down = (f >= mid) & (f <= hi)
        H[m, down] = (hi - f[down]) / (hi - mid)
    return H


def master_mfcc(samples_int16: np.ndarray) -> np.ndarray:
    """(12, frames) float64 from 16 kHz samples on the int16 scale."""
    x = np.asarray(samples_int16, np.float64)
    x = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    n = 1 + (len(x) - WIN) // HOP if len(x) >= WIN else 0
    if n <= 0:
        raise ValueError(f"audio too short for LipGAN MFCC: {len(x)} samples, need {WIN}")
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(WIN) / (WIN - 1))
    mag = np.abs(np.fft.rfft(x[idx] * window, NFFT, axis=1)).T  # (257, n)
    fbe = triangular_filterbank() @ mag
    k = np.arange(N_CEPS)[:, None]
    dct = np.sqrt(2.0 / N_FILTERS) * np.cos(np.pi * k * (np.arange(1, N_FILTERS + 1)[None, :] - 0.5) / N_FILTERS)
    with np.errstate(divide="ignore"):
        cc = dct @ np.log(fbe)
    lifter = 1.0 + 0.5 * LIFTER * np.sin(np.pi * np.arange(N_CEPS) / LIFTER)
    return (lifter[:, None] * cc)[1:]


def master_chunk_starts(n_frames: int, fps: float = 25.0) -> np.ndarray:
    """0, then int(t // 10) for t = 1000/fps, 2000/fps, ... ms, while the start is < frames - 34."""
    starts, i = [0], 1
    while True:
        s = int((i * 1000.0 / fps) // 10)
        if not s < n_frames - (MFCC_CHUNK - 1):
            break
        starts.append(s)
        i += 1
    return np.asarray(starts if n_frames - (MFCC_CHUNK - 1) > 0 else [], np.int32)


def pythonic_chunk_starts(n_cols: int, fps: float = 25.0) -> np.ndarray:
    """int(i * 80 / fps) while start + 27 <= columns."""
    starts, i = [], 0
    while int(i * 80 / fps) + MEL_CHUNK <= n_cols:
        starts.append(int(i * 80 / fps))
        i += 1
    return np.asarray(starts, np.int32)


def features(audio: np.ndarray, variant: str) -> np.ndarray:
    """The model input features of float [-1, 1] audio: master MFCC (12,F) or pythonic mel (80,F)."""
    if variant == "master":
        return master_mfcc(np.clip(np.round(np.asarray(audio, np.float64) * 32768.0), -32768, 32767))
    return wav2lip_mel(audio)


def chunks_for_frames(feats: np.ndarray, variant: str, n_frames: int, fps: float = 25.0) -> np.ndarray:
    """(n_frames, H, W, 1): chunk i for frame i; frames past the last chunk reuse it."""
    width = MFCC_CHUNK if variant == "master" else MEL_CHUNK
    starts = (master_chunk_starts if variant == "master" else pythonic_chunk_starts)(feats.shape[1], fps)
    if len(starts) == 0:
        raise ValueError(f"audio too short for LipGAN ({variant}): {feats.shape[1]} feature columns, need {width}")
    pick = np.minimum(np.arange(n_frames), len(starts) - 1)
    return np.stack([feats[:, starts[i]:starts[i] + width] for i in pick])[..., None].astype(np.float32)


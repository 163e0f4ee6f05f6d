"""Audio features: Wav2Lip's mel spectrogram and syncnet_python's MFCC windows.

The Wav2Lip mel reproduces the librosa (< 0.10) the official model was trained with: its
centred STFT reflect-pads the signal, where librosa >= 0.10 pads with zeros and changes the
first and last two frames. The STFT is therefore computed here, not through librosa.stft.
"""

from __future__ import annotations

import functools

import numpy as np

from .media import FPS, SAMPLE_RATE

# Wav2Lip hparams
N_FFT, HOP, WIN, N_MELS, FMIN, FMAX = 800, 200, 800, 80, 55, 7600
PREEMPHASIS, REF_DB, MIN_DB, MAX_ABS = 0.97, 20.0, -100.0, 4.0
MEL_STEP = 16  # mel columns per video frame window
# SyncNet
MFCC_PER_FRAME = 4  # 100 Hz MFCC / 25 fps
MFCC_WINDOW = 20  # 5 video frames


@functools.lru_cache(maxsize=None)
def _mel_basis(sr: int = SAMPLE_RATE) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)  # Slaney, area-normalised


def _hann_periodic(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def stft_magnitude(y: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """|STFT| (1 + n_fft/2, frames), centred with reflect padding (librosa < 0.10)."""
    pad = n_fft // 2
    if len(y) <= pad:
        y = np.pad(y, (0, pad + 1 - len(y)))  # reflect padding needs more samples than the pad
    padded = np.pad(y, pad, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = padded[idx] * _hann_periodic(n_fft)[None, :]
    return np.abs(np.fft.rfft(frames, axis=1)).T


def wav2lip_mel(wav: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Wav2Lip's ``audio.melspectrogram``: (80, 1 + len/200) float32 in [-4, 4], 80 columns per second."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"wav2lip_mel expects {SAMPLE_RATE} Hz audio, got {sr}")
    y = np.asarray(wav, np.float64)
    y = np.concatenate([y[:1], y[1:] - PREEMPHASIS * y[:-1]])
    mel = _mel_basis(sr) @ stft_magnitude(y)
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_DB
    return np.clip(2 * MAX_ABS * (db - MIN_DB) / -MIN_DB - MAX_ABS, -MAX_ABS, MAX_ABS).astype(np.float32)


def mel_window_start(frame: int, fps: float = FPS) -> int:
    """First mel column of video frame `frame` (Wav2Lip: int(80 * i / fps))."""
    return int(80.0 * frame / fps)


def mel_windows(mel: np.ndarray, n_frames: int, fps: float = FPS) -> np.ndarray:
    """(n_frames, 80, 16) windows, the last ones clamped to the end as Wav2Lip's inference does."""
    out = np.empty((n_frames, mel.shape[0], MEL_STEP), np.float32)
    for i in range(n_frames):
        s = mel_window_start(i, fps)
        if s + MEL_STEP > mel.shape[1]:
            s = max(0, mel.shape[1] - MEL_STEP)
        out[i] = mel[:, s : s + MEL_STEP]
    return out


def to_int16(wav: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> int16 as ffmpeg's pcm_s16le writes it (syncnet_python reads int16 wavs)."""
    return np.clip(np.round(np.asarray(wav, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def syncnet_mfcc(samples: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(13, F) float64 MFCC exactly as syncnet_python: python_speech_features defaults on the
    raw int16 sample values (not rescaled), coefficient 0 replaced by the log frame energy."""
    import python_speech_features

    return python_speech_features.mfcc(np.asarray(samples), sr).T


def syncnet_num_windows(n_video_frames: int, n_samples: int, sr: int = SAMPLE_RATE) -> int:
    """Windows syncnet_python evaluates: min(frames, floor(samples / 640)) - 5 (may be <= 0)."""
    return min(n_video_frames, n_samples * FPS // sr) - 5


def syncnet_windows(mfcc: np.ndarray, n: int) -> np.ndarray:
    """(n, 1, 13, 20) float32; window v = MFCC columns 4v .. 4v+19."""
    idx = MFCC_PER_FRAME * np.arange(max(n, 0))[:, None] + np.arange(MFCC_WINDOW)[None, :]
    return np.ascontiguousarray(mfcc[:, idx].transpose(1, 0, 2)[:, None].astype(np.float32))

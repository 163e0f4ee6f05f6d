"""A synthetic talking face with a known audio-video offset.

A real photo (scikit-image's astronaut) has its mouth opened and closed by the envelope
of a speech-like signal; the audio is then delayed by a known number of frames. Offset
estimators and sync metrics therefore have a known right answer, with no download.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .media import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME

FACE_CROP = (120, 30, 320, 230)  # x1, y1, x2, y2 around the astronaut's face in the 512x512 photo


@dataclass
class SyntheticClip:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    audio: np.ndarray  # (N,) float32, 16 kHz, delayed by shift_frames
    opening: np.ndarray  # (T,) mouth opening in [0, 1] actually drawn
    shift_frames: int  # audio delay in frames (positive: audio late)
    fps: int = FPS
    sr: int = SAMPLE_RATE

    @property
    def expected_offset(self) -> int:
        """The AV offset syncnet_python's sign convention gives for this clip (audio late -> negative)."""
        return -self.shift_frames


@functools.lru_cache(maxsize=4)
def base_face(size: int = 224) -> "tuple[np.ndarray, np.ndarray]":
    """The face image and its 68 landmarks (dlib), cached."""
    import cv2
    from skimage import data

    from .landmarks import landmarks68

    x1, y1, x2, y2 = FACE_CROP
    img = cv2.resize(np.ascontiguousarray(data.astronaut()[y1:y2, x1:x2]), (size, size), interpolation=cv2.INTER_AREA)
    pts = landmarks68(img)
    if pts is None:
        raise RuntimeError("dlib found no face in the synthetic base image")
    return img, pts


def speech_like(seconds: float, seed: int = 0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Voiced syllables (harmonics of a wandering f0 through two formant-like resonances)
    separated by pauses, so that the envelope has clear onsets."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    env = np.zeros(n)
    t = int(0.1 * sr)
    while t < n:
        dur = int(rng.uniform(0.12, 0.30) * sr)
        seg = np.sin(np.linspace(0, np.pi, max(dur, 2))) ** 0.7 * rng.uniform(0.5, 1.0)
        env[t : t + dur] = seg[: max(0, min(dur, n - t))]
        t += dur + int(rng.uniform(0.06, 0.35) * sr)
    f0 = 120 + 25 * np.sin(2 * np.pi * 0.7 * np.arange(n) / sr) + rng.normal(0, 1, n).cumsum() / sr * 40
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    out = voiced
    for fc, bw in ((700, 150), (1200, 200)):
        r = np.exp(-np.pi * bw / sr)
        a = [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r]
        out = out + 0.5 * lfilter([1 - r], a, voiced)
    signal = out * env + rng.normal(0, 0.003, n)
    return (0.5 * signal / (np.abs(signal).max() + 1e-9)).astype(np.float32)


def frame_envelope(audio: np.ndarray, n_frames: int, sr: int = SAMPLE_RATE, fps: int = FPS) -> np.ndarray:
    """RMS per video frame, scaled to [0, 1]."""
    spf = sr // fps
    padded = np.zeros(n_frames * spf, np.float32)
    m = min(len(audio), len(padded))
    padded[:m] = audio[:m]
    rms = np.sqrt((padded.reshape(n_frames, spf) ** 2).mean(1))
    return rms / (rms.max() + 1e-9)


def draw_mouth(face: np.ndarray, pts: np.ndarray, opening: float) -> np.ndarray:
    """Open the mouth by `opening` (0..1): the lower lip and chin move down, a dark gap appears."""
    import cv2

    img = face.copy()
    mouth = pts[48:68]
    cx, cy = mouth[:, 0].mean(), mouth[:, 1].mean()
    w = mouth[:, 0].max() - mouth[:, 0].min()
    drop = int(round(opening * 0.45 * w))
    if drop > 0:
        y0 = int(cy)
        x0, x1 = int(cx - 0.75 * w), int(cx + 0.75 * w)
        y_end = min(img.shape[0], int(pts[8, 1] + 0.1 * w))
        strip = face[y0 : y_end - drop, x0:x1]
        img[y0 + drop : y_end, x0:x1] = strip
        axes = (int(0.42 * w), max(1, int(drop * 0.6 + 1)))
        cv2.ellipse(img, (int(cx), int(cy + drop * 0.5)), axes, 0, 0, 360, (40, 10, 15), -1, cv2.LINE_AA)
        teeth = (int(0.3 * w), max(1, int(drop * 0.18)))
        cv2.ellipse(img, (int(cx), int(cy + drop * 0.5 - axes[1] * 0.6)), teeth, 0, 0, 360, (225, 220, 210), -1, cv2.LINE_AA)
    return img


def make_clip(seconds: float = 3.0, shift_frames: int = 0, seed: int = 0, size: int = 224) -> SyntheticClip:
    """Frames driven by the envelope of `speech`; audio then delayed by shift_frames (may be negative)."""
    face, pts = base_face(size)
    n_frames = int(round(seconds * FPS))
    speech = speech_like(seconds, seed=seed)
    opening = frame_envelope(speech, n_frames)
    frames = np.stack([draw_mouth(face, pts, o) for o in opening])
    shift = shift_frames * SAMPLES_PER_FRAME
    if shift >= 0:
        audio = np.concatenate([np.zeros(shift, np.float32), speech])[: len(speech)]
    else:
        audio = np.concatenate([speech[-shift:], np.zeros(-shift, np.float32)])
    return SyntheticClip(frames=frames, audio=audio, opening=opening, shift_frames=shift_frames)


def write_clip(path, clip: SyntheticClip, crf: int = 18):
    from .media import write_video

    return write_video(path, clip.frames, fps=clip.fps, audio=clip.audio, sr=clip.sr, crf=crf)

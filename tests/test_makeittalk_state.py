"""MakeItTalk's audio front end gives a clip the same values whatever ran before it in the
process: SPTK's RAPT (pysptk) carries its dither generator's state from call to call, and
lsbench resets it; Resemblyzer (webrtcvad), pydub and dlib are checked for the same defect."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import MEDIA, PACKS

SPEECH = MEDIA / "makeittalk/M6_04_16k.wav"  # 78030 samples: even


def _scaled(path, n=None) -> np.ndarray:
    x, _ = sf.read(str(path))
    x = x if x.ndim == 1 else x[:, 0]
    return (x[:n] * 0.5 * 32768).astype(np.float32)


def _other_speech_16k(path, n: int) -> np.ndarray:
    import librosa

    x, sr = sf.read(str(path))
    x = x if x.ndim == 1 else x.mean(axis=1)
    return librosa.resample(x, orig_sr=sr, target_sr=16000)[:n]


def _fresh_process_rapt(tmp_path) -> np.ndarray:
    """RAPT on SPEECH as the first pysptk call of a new process: the reference state."""
    out = tmp_path / "fresh.npy"
    code = ("import numpy as np, soundfile as sf\n"
            "from lsbench.models.makeittalk_audio import _pysptk\n"
            f"x, _ = sf.read({str(SPEECH)!r})\n"
            f"np.save({str(out)!r}, _pysptk().rapt((x * 0.5 * 32768).astype(np.float32), 16000, 256, min=100, max=600, otype=2))\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    return np.load(out)


def test_rapt_gives_the_fresh_process_value_whatever_ran_before(tmp_path):
    from lsbench.models.makeittalk_audio import _pysptk, rapt_log_f0, reset_nrandom

    sptk = _pysptk()
    fresh = _fresh_process_rapt(tmp_path)
    x = _scaled(SPEECH)
    odd = _scaled(SPEECH, 40001)  # an odd number of dither draws leaves SPTK's generator mid-pair
    other = (_other_speech_16k(MEDIA / "syncnet_example/speech.wav", 48001) * 0.5 * 32768).astype(np.float32)

    # the defect, raw pysptk: the same call after an odd-length one gives another F0 track (from the
    # start-of-process state: an earlier test in this worker may have left the generator mid-pair)
    reset_nrandom(sptk)
    sptk.rapt(odd, 16000, 256, min=100, max=600, otype=2)
    raw = sptk.rapt(x, 16000, 256, min=100, max=600, otype=2)
    voiced = (raw > -1e9) & (fresh > -1e9)
    assert np.abs(raw[voiced] - fresh[voiced]).max() > 1e-3

    for before in ([], [odd], [odd, odd], [other], [x, odd], [odd, other, odd]):
        for y in before:
            rapt_log_f0(y)
        assert np.array_equal(rapt_log_f0(x), fresh), f"after {len(before)} calls"
    sptk.rapt(odd, 16000, 256, min=100, max=600, otype=2)  # an unguarded caller in between
    assert np.array_equal(rapt_log_f0(x), fresh)


@pytest.mark.slow
def test_pack_audio_to_landmarks_passes_after_autovc_features_on_two_other_wavs(tmp_path):
    """The issue's case: autovc_features on two different wavs (one of odd length), then the
    pack's cases in the same process. Without the reset the pack's F0 moves (its exact F0 bins
    fail); on the pack's own speech the landmarks happen to stay within tolerance."""
    from lsbench.conformance import calls_makeittalk
    from lsbench.conformance.runner import run_pack

    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    x, _ = sf.read(str(SPEECH))
    sf.write(str(first), x[:40001], 16000, subtype="PCM_16")
    sf.write(str(second), _other_speech_16k(MEDIA / "syncnet_example/speech.wav", 48000), 16000, subtype="PCM_16")
    f0s = [calls_makeittalk.autovc_features({"wav": w}, {}, None)["f0_norm"] for w in (first, second)]
    assert len(f0s[0]) != len(f0s[1])  # two different utterances really ran
    report = run_pack(PACKS / "makeittalk", cases=["autovc_features", "audio_to_landmarks"])
    assert [c.case for c in report.cases] == ["autovc_features", "audio_to_landmarks"]
    for case in report.cases:  # autovc_features' F0 bins are judged exactly: they catch the stale state
        assert case.judged and not case.error and case.ok, (case.case, {k: v.worst_ratio for k, v in case.outputs.items()})
    assert set(report.cases[1].outputs) == {"mel_converted", "content_fl_pred", "speaker_fl_pred"}


@pytest.mark.parametrize("stage", ["speaker_embedding", "normalise_loudness", "dlib_landmarks"])
def test_other_native_stages_do_not_depend_on_call_order(stage):
    """Resemblyzer (its LSTM and webrtcvad trimming), pydub and dlib's detector and predictor:
    a value computed first equals the value computed after other inputs."""
    import cv2

    from lsbench.landmarks import landmarks68
    from lsbench.media import iter_frames
    from lsbench.models import makeittalk_audio as A

    if stage == "dlib_landmarks":
        obama = np.ascontiguousarray(cv2.imread(str(MEDIA / "makeittalk/obama.jpg"))[..., ::-1])
        other = np.ascontiguousarray(next(iter_frames(MEDIA / "videoretalking/face_1.mp4")))
        inputs, fn = [obama, other], landmarks68
    else:
        inputs = [SPEECH, MEDIA / "syncnet_example/speech.wav"]
        fn = getattr(A, stage)
    first = fn(inputs[0])
    assert first is not None and np.size(first) > 0
    fn(inputs[1])
    fn(inputs[1])
    assert np.array_equal(fn(inputs[0]), first)


@pytest.mark.parametrize("module", ["resemblyzer", "webrtcvad", "pysptk", "pydub"])
def test_a_missing_dependency_is_one_line_naming_the_install_command(module, monkeypatch, tmp_path):
    """An install that lost one of MakeItTalk's packages gets one line with the pinned install
    command, not a traceback: from evaluate (before any clip) and from the conformance calls."""
    from click.testing import CliRunner

    from lsbench.cli import cli
    from lsbench.conformance import calls_makeittalk
    from lsbench.errors import LsbenchError
    from lsbench.models.makeittalk_audio import install_command

    pinned = {"resemblyzer": "resemblyzer==0.1.4", "pysptk": "pysptk==1.0.1", "pydub": "pydub==0.25.1",
              "webrtcvad": "webrtcvad>=2.0.10"}[module]  # pyproject.toml's pins; webrtcvad: Resemblyzer's requirement
    assert install_command(module) in (f"pip install '{pinned}'", f"pip install {module}")  # the latter: lsbench not installed
    message = (f"MakeItTalk needs the Python package {module!r}, which is not installed (an lsbench dependency): "
               f"{install_command(module)}")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    r = CliRunner().invoke(cli, ["evaluate", "--model", "makeittalk", "--data", str(tmp_path), "--out", str(tmp_path)])
    assert r.exit_code == 1 and [ln for ln in r.output.splitlines() if ln.strip()] == [f"lsbench: error: {message}"]
    if module == "webrtcvad":  # imported once with resemblyzer, which may already be loaded in this process
        return
    call = {"resemblyzer": "speaker_embedding", "pysptk": "autovc_features", "pydub": "autovc_features"}[module]
    with pytest.raises(LsbenchError) as err:
        calls_makeittalk.CALLS[call]({"wav": SPEECH}, {}, None)
    assert str(err.value) == message

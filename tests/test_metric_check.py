"""lsbench metric-check (issue 23): controlled faults from real clips, each metric's response curve
and verdict, a file `validate` checks, the page, and the board's link to it; the verdict rule on
curves whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from leaderboard import render
from lsbench.cli import cli
from lsbench.evaluate import evaluate
from lsbench.evaluate.faults import FAULTS, Fault, shift_audio
from lsbench.evaluate.metric_check import judge


# landmark-sync's offset within 2 frames of the audio shift, of 2 clips x 10 shifts, measured 2026-12-04: 9 (the
# HDTF clip follows every shift but 15 from its own offset of -2; face_2's estimates do not follow); see
# tests/test_landmark_sync.py for 8 clips (21 of 80: it does not follow on most clips)
HITS_OF_20 = 9


def _curve(means, spread=0.01, change_spread=None):
    """A curve as metric_check.curve makes it: each fault point with its paired change from the ground truth."""
    change_spread = spread if change_spread is None else change_spread
    points = [{"severity": s, "mean": m, "ci95": [m - spread, m + spread], "n": 5} for s, m in enumerate(means)]
    for p in points[1:]:
        d = p["mean"] - means[0]
        p.update(change=d, change_ci95=[d - change_spread, d + change_spread], n_paired=5)
    return points


def test_the_verdict_rule_on_known_curves():
    assert judge(_curve([1.0, 0.8, 0.5, 0.2]), True)[0] == "responds"
    assert judge(_curve([1.0, 0.8, 0.5, 0.2]), False)[0] == "inverted"  # lower is better: it rewards the fault
    assert judge(_curve([1.0, 1.001, 0.999, 1.0]), True)[0] == "blind"
    assert judge(_curve([1.0, 0.9, 0.8], spread=0.5), True)[0] == "blind"  # moves, but not clip for clip
    assert judge(_curve([1.0, 0.2]), True)[0] == "responds"  # one level: the fault against the ground truth
    # clips far apart (wide unpaired intervals) but each one worse than its own ground truth: it responds
    assert judge(_curve([1.0, 0.9, 0.8], spread=0.5, change_spread=0.05), True)[0] == "responds"
    # worse at every magnitude but not monotone (CPBD under heavy blur): still a response
    verdict, why = judge(_curve([0.22, 0.13, 0.12, 0.16]), True)
    assert verdict == "responds" and "every magnitude" in why
    assert judge(_curve([0.22, 0.13, 0.25, 0.16]), True)[0] == "blind"  # better at one magnitude, rho -0.4
    one = _curve([1.0, 0.2])
    one[1]["change_ci95"] = None
    assert judge(one, True) == ("undefined", "fewer than 2 clips with both values: no interval")
    assert judge([], True)[0] == "undefined"
    # PSNR of the ground truth is +inf on every clip: a finite fault is worse; +inf against +inf is no change
    inf = {"severity": 0, "mean": None, "ci95": None, "n": 0, "infinite": "+inf"}
    assert judge([inf, {"severity": 10, "mean": 30.0, "ci95": [29.0, 31.0], "n": 5, "change": None,
                        "change_ci95": None, "n_paired": 0}], True)[0] == "responds"
    assert judge([inf, {**inf, "severity": 1, "change": None, "change_ci95": None, "n_paired": 0}], True)[0] == "blind"


def test_faults_are_the_issues_set_and_shift_moves_the_audio():
    fams = {f.family for f in FAULTS}
    assert fams == {"ground_truth", "audio_shift", "other_speech", "frozen_mouth", "mouth_blur", "jpeg",
                    "pasted_face", "silent_stretch"}
    assert sorted(f.magnitude for f in FAULTS if f.family == "audio_shift") == [-15, -10, -5, -3, -1, 1, 3, 5, 10, 15]
    assert [f.magnitude for f in FAULTS if f.family == "jpeg"] == [90, 50, 20]
    a = np.arange(640 * 10, dtype=np.float32) + 1
    late = shift_audio(a, 2)
    assert np.all(late[:1280] == 0) and np.array_equal(late[1280:], a[:-1280])
    assert np.array_equal(shift_audio(a, -2)[:-1280], a[1280:])
    assert Fault("jpeg", 50, 50).label == "jpeg 50" and Fault("pasted_face", 1, 1).label == "pasted_face"


def test_a_remembered_face_embedding_is_the_one_dlib_computes(monkeypatch):
    """identity's embeddings are remembered by the crop's bytes (metric-check scores each real crop
    under every fault): a remembered one equals dlib's own pass, a changed crop is computed anew,
    the memo stays bounded, and a caller's change to a returned array does not reach the memo."""
    import cv2
    from conftest import MEDIA

    from lsbench import landmarks

    face = np.ascontiguousarray(cv2.imread(str(MEDIA / "makeittalk/obama.jpg"))[..., ::-1])
    box = (0, 0, face.shape[1] - 1, face.shape[0] - 1)
    monkeypatch.setattr(landmarks, "_descriptors", {})
    monkeypatch.setattr(landmarks, "DESCRIPTOR_MEMO", 2)
    calls = []
    compute = landmarks._compute_descriptor
    monkeypatch.setattr(landmarks, "_compute_descriptor", lambda img, b: calls.append(1) or compute(img, b))
    first = landmarks.face_descriptor(face, box)
    first[:] = 0.0  # the caller's copy
    again = landmarks.face_descriptor(face.copy(), box)
    assert len(calls) == 1 and np.array_equal(again, compute(face, box)) and np.abs(again).sum() > 0
    changed = face.copy()
    changed[120:160, 80:180] //= 2  # a darker mouth region
    other = landmarks.face_descriptor(changed, box)
    assert len(calls) == 2 and np.array_equal(other, compute(changed, box)) and not np.array_equal(other, again)
    landmarks.face_descriptor(face[:-1], box)
    assert len(calls) == 3 and len(landmarks._descriptors) == 2


@pytest.mark.slow
def test_metric_check_on_real_clips(real_shards, tmp_path):
    """Two real clips, identity, PSNR and the weight-free energy sync: identity responds to the
    pasted face, PSNR to blur and JPEG; the file validates (a changed verdict does not), the page
    is written, and a board built with it links the page."""
    out = tmp_path / "check"
    r = CliRunner().invoke(cli, ["metric-check", "--data", str(real_shards), "--metrics",
                                 "identity,psnr,energy,cpbd,landmark-sync", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "metric_check.json").read_text())
    verdict = {k: {f: v["verdict"] for f, v in m["families"].items()} for k, m in doc["metrics"].items()}
    print(json.dumps(verdict, indent=1))
    assert verdict["identity_dlib_cos"]["pasted_face"] == "responds"
    assert verdict["psnr"]["mouth_blur"] == verdict["psnr"]["jpeg"] == "responds"
    assert verdict["psnr"]["audio_shift"] == "undefined" or verdict["psnr"]["audio_shift"] == "blind"
    assert "identity_dlib_cos: responds to" in r.output and "pasted_face" in r.output
    assert verdict["cpbd_mouth"]["mouth_blur"] == "responds"
    # landmark-sync's offset against each audio shift (syncnet_python's sign: audio k frames late reads -k)
    shifts = [f for f in FAULTS if f.family == "audio_shift"]
    found = [(f.magnitude, o) for f in shifts for o in doc["values"][f.label]["lmsync_offset"]]
    hits = sum(o is not None and abs(o + k) <= 2 for k, o in found)
    print("landmark-sync offset within 2 frames of the shift:", hits, "of", len(found), found)
    assert hits >= HITS_OF_20, found
    assert len(doc["clips"]) == 2 and len(doc["faults"]) == len(FAULTS) and not doc["failed"]
    assert (out / "what_each_metric_sees.html").read_text().count("<svg") == len(doc["metrics"]) * 7

    v = CliRunner().invoke(cli, ["validate", str(out / "metric_check.json")])
    assert v.exit_code == 0 and "a metric-check file" in v.output, v.output
    doc["metrics"]["psnr"]["families"]["jpeg"]["verdict"] = "blind"
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    v = CliRunner().invoke(cli, ["validate", str(tmp_path / "forged.json")])
    assert v.exit_code == 1 and "psnr / jpeg: the verdict 'blind' does not follow from its curve" in v.output
    doc["metrics"]["psnr"]["families"]["jpeg"]["verdict"] = "responds"
    doc["values"]["jpeg 20"]["psnr"][0] += 1.0  # a clip's value changed after the fact
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    v = CliRunner().invoke(cli, ["validate", str(tmp_path / "forged.json")])
    assert v.exit_code == 1 and "psnr / jpeg: the curve does not follow from the clips' values" in v.output

    results = tmp_path / "results"
    path = evaluate("static-frame", real_shards, "reconstruction", out=results, progress=False, echo=lambda s: None,
                    metrics=["psnr", "lmd", "identity", "cpbd", "landmark-sync"])
    scored = json.loads(path.read_text())
    new = ["lmd_iod", "identity_dlib_cos", "cpbd", "cpbd_mouth", "lmsync_diff"]  # a still face has no sync offset
    assert all(scored["aggregates"][k]["n"] == 2 for k in new), {k: scored["aggregates"][k] for k in new}
    assert {"dlib_shape_68", "dlib_shape_5", "dlib_face_resnet"} <= set(scored["weights"])
    assert scored["weights"]["dlib_shape_68"]["state"] == "verified"
    (results / "metric_check.json").write_text((out / "metric_check.json").read_text())
    render.build_site(results, tmp_path / "site", echo=lambda s: None)
    board = (tmp_path / "site" / "index.html").read_text()
    for key in new + ["lmsync_offset_abs", "lmsync_silent_mad"]:  # a column each, n/a where undefined
        assert f'scope="col" data-metric="{key}"' in board, key
    assert 'href="what_each_metric_sees.html"' in board
    assert (tmp_path / "site" / "what_each_metric_sees.html").is_file()

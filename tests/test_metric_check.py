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


def _curve(means, spread=0.01):
    return [{"severity": s, "mean": m, "ci95": [m - spread, m + spread], "n": 5} for s, m in enumerate(means)]


def test_the_verdict_rule_on_known_curves():
    assert judge(_curve([1.0, 0.8, 0.5, 0.2]), True)[0] == "responds"
    assert judge(_curve([1.0, 0.8, 0.5, 0.2]), False)[0] == "inverted"  # lower is better: it rewards the fault
    assert judge(_curve([1.0, 1.001, 0.999, 1.0]), True)[0] == "blind"
    assert judge(_curve([1.0, 0.9, 0.8], spread=0.5), True)[0] == "blind"  # moves, but the intervals overlap
    assert judge(_curve([1.0, 0.2]), True)[0] == "responds"  # one level: the fault against the ground truth
    one = _curve([1.0, 0.2])
    one[0]["ci95"] = None
    assert judge(one, True) == ("undefined", "fewer than 2 clips with a value: no interval")
    assert judge([], True)[0] == "undefined"


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


@pytest.mark.slow
def test_metric_check_on_real_clips(real_shards, tmp_path):
    """Two real clips, identity, PSNR and the weight-free energy sync: identity responds to the
    pasted face, PSNR to blur and JPEG; the file validates (a changed verdict does not), the page
    is written, and a board built with it links the page."""
    out = tmp_path / "check"
    r = CliRunner().invoke(cli, ["metric-check", "--data", str(real_shards), "--metrics", "identity,psnr,energy",
                                 "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "metric_check.json").read_text())
    verdict = {k: {f: v["verdict"] for f, v in m["families"].items()} for k, m in doc["metrics"].items()}
    print(json.dumps(verdict, indent=1))
    assert verdict["identity_dlib_cos"]["pasted_face"] == "responds"
    assert verdict["psnr"]["mouth_blur"] == verdict["psnr"]["jpeg"] == "responds"
    assert verdict["psnr"]["audio_shift"] == "undefined" or verdict["psnr"]["audio_shift"] == "blind"
    assert "identity_dlib_cos: responds to" in r.output and "pasted_face" in r.output
    assert len(doc["clips"]) == 2 and len(doc["faults"]) == len(FAULTS) and not doc["failed"]
    assert (out / "what_each_metric_sees.html").read_text().count("<svg") == len(doc["metrics"]) * 7

    v = CliRunner().invoke(cli, ["validate", str(out / "metric_check.json")])
    assert v.exit_code == 0 and "a metric-check file" in v.output, v.output
    doc["metrics"]["psnr"]["families"]["jpeg"]["verdict"] = "blind"
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    v = CliRunner().invoke(cli, ["validate", str(tmp_path / "forged.json")])
    assert v.exit_code == 1 and "psnr / jpeg: the verdict 'blind' does not follow from its curve" in v.output

    results = tmp_path / "results"
    evaluate("static-frame", real_shards, "reconstruction", out=results, metrics=["psnr"], progress=False,
             echo=lambda s: None)
    (results / "metric_check.json").write_text((out / "metric_check.json").read_text())
    render.build_site(results, tmp_path / "site", echo=lambda s: None)
    assert 'href="what_each_metric_sees.html"' in (tmp_path / "site" / "index.html").read_text()
    assert (tmp_path / "site" / "what_each_metric_sees.html").is_file()

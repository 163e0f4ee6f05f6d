"""`make demo` runs the main job end to end: corpus -> shards (Ray) -> scores -> site (issue 17)."""

from __future__ import annotations

import json

from lsbench.demo import run_demo
import pytest
from conftest import RAY_GROUP

pytestmark = [RAY_GROUP, pytest.mark.slow]  # they start Ray (here or in a CLI subprocess): one worker runs them all


def test_demo_runs_the_main_job_at_a_small_size(tmp_path):
    lines = []
    summary = run_demo(tmp_path, n_clips=3, seconds=1.6, workers=2, progress=False, echo=lines.append,
                       shifts=(0, 3, 9))
    text = "\n".join(lines)
    assert summary["kept"] == 2 and summary["dropped"] == {"out_of_sync": 1}  # 9 frames is beyond --sync-max-offset
    assert (tmp_path / "site" / "index.html").is_file() and summary["site"] in text
    assert f"lsbench leaderboard --results {tmp_path / 'results'} --out {tmp_path / 'site'} --serve" in text
    recon = summary["tables"]["reconstruction"]
    header = recon[0]
    for label in ("energy sync", "energy corr@0", "|energy offset|", "PSNR", "SSIM", "LMD"):
        assert label in header
    assert {line.split()[0] for line in recon[1:]} == {"ground-truth", "static-frame", "shifted-audio"}
    assert json.loads((tmp_path / "summary.json").read_text())["kept"] == 2
    assert "not computed" in text and "weights" in text  # the weight-bound metrics say why they are absent
    # it ends with the verdicts of metric-check on the same clips, and the site links their page
    table = text.split("what each metric sees (lsbench metric-check")[1].split("\nleaderboard:")[0].splitlines()[1:]
    assert table[0].split()[:3] == ["value", "audio_shift", "other_speech"]
    assert {row.split()[0] for row in table[1:]} == set(summary["verdicts"]) >= {"energy_sync", "psnr", "lmd"}
    assert summary["verdicts"]["energy_sync"]["audio_shift"] == "responds"
    assert summary["verdicts"]["psnr"]["jpeg"] == "responds"
    assert {"cpbd_mouth", "lmsync_diff"} <= set(summary["verdicts"])  # the opt-in metrics are checked too,
    assert "identity_dlib_cos" not in summary["verdicts"]  # but the slow identity, which the demo says it leaves out
    assert "metric-check: every metric but identity" in text and "--metrics identity" in text
    page = tmp_path / "site" / "what_each_metric_sees.html"
    assert page.is_file() and f"what each metric sees: {page}" in text
    assert 'href="what_each_metric_sees.html"' in (tmp_path / "site" / "index.html").read_text()

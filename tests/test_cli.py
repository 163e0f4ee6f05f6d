"""The command line: help, planned commands, score, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lsbench.cli import cli


@pytest.mark.parametrize("cmd", [[], ["preprocess"], ["evaluate"], ["leaderboard"], ["weights"], ["weights", "fetch"],
                                 ["score"], ["conformance"], ["demo"]])
def test_help(cmd):
    r = CliRunner().invoke(cli, cmd + ["--help"])
    assert r.exit_code == 0 and "Usage" in r.output and len(r.output.splitlines()) > 5


def test_missing_weights_are_one_line_naming_the_file_and_the_fix(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LSBENCH_WEIGHTS_DIR"}
    env["LSBENCH_HOME"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-m", "lsbench.cli", "evaluate", "--model", "makeittalk", "--data", "x"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0
    assert "ckpt_autovc.pth" in p.stderr and "LSBENCH_WEIGHTS_DIR" in p.stderr


def test_bad_corpus_root_is_one_clear_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "lsbench.cli", "preprocess", "--dataset", "lrs2", "--root",
                        str(tmp_path / "nope"), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip() == f"lsbench: error: {tmp_path / 'nope'}: corpus root does not exist or is not a folder"


def test_typo_gets_a_suggestion():
    r = CliRunner().invoke(cli, ["evaluate", "--model", "wav2lp", "--data", "x"])
    assert r.exit_code == 2 and "did you mean 'wav2lip'" in r.output


def test_score_json_and_table(synthetic_clips, weights_dir):
    path, clip = synthetic_clips[4]
    r = CliRunner().invoke(cli, ["score", str(path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["mode"] == "crop" and len(out["syncnet_sha256"]) == 64
    t = out["tracks"][0]
    assert t["status"] == "ok" and -15 <= t["offset"] <= 15 and t["lse_d"] > 0 and t["n_windows"] == 70
    table = CliRunner().invoke(cli, ["score", str(path)]).output
    assert "LSE-C conf (higher better)" in table and "LSE-D dist (lower better)" in table and "offset (frames)" in table


def test_score_without_weights_names_the_fix(synthetic_clips):
    path, _ = synthetic_clips[0]
    r = CliRunner().invoke(cli, ["score", str(path)])
    assert r.exit_code == 1
    assert "lsbench weights fetch syncnet" in r.output and "LSBENCH_WEIGHTS_DIR" in r.output


def test_score_video_without_audio(tmp_path, synthetic_clips, weights_dir):
    from lsbench import media

    path, _ = synthetic_clips[0]
    silent = tmp_path / "noaudio.mp4"
    media.ffmpeg("-i", str(path), "-an", "-c:v", "copy", str(silent))
    r = CliRunner().invoke(cli, ["score", str(silent)])
    assert r.exit_code == 1 and "no audio stream" in r.output and str(silent) in r.output


def test_demo_recovers_the_known_offsets(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--seconds", "3"])
    assert r.exit_code == 0, r.output
    assert "recovered 3/3 known offsets" in r.output
    assert len(list(tmp_path.glob("*.mp4"))) == 3


def test_conformance_with_nothing_judged_fails(shared, tmp_path):
    """A mistyped --case or an empty pack is an error, never PASS 0/0."""
    audio = shared / "conformance" / "audio"
    r = CliRunner().invoke(cli, ["conformance", str(audio), "--case", "nosuch"])
    assert r.exit_code == 1 and "PASS" not in r.output
    assert r.output.strip() == (f"lsbench: error: no case 'nosuch' in {audio} (cases: syncnet_mfcc, wav2lip_mel)")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "pack.json").write_text(json.dumps({"pack_format": 1, "name": "empty", "model": "audio",
                                                 "checkpoints": [], "cases": []}))
    r = CliRunner().invoke(cli, ["conformance", str(empty)])
    assert r.exit_code == 1 and "PASS" not in r.output
    assert "FAIL: empty: no judged case ran" in r.output
    assert r.output.strip().splitlines()[-1] == ("lsbench: error: no judged case ran in empty: nothing was compared "
                                                 "with the official outputs")
    r = CliRunner().invoke(cli, ["conformance", str(audio), str(empty), "--case", "wav2lip_mel"])
    assert r.exit_code == 0 and "PASS: audio: 1/1 judged cases pass" in r.output  # packs without the case are not run

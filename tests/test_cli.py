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


@pytest.mark.slow
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


@pytest.mark.slow
def test_score_video_without_audio(tmp_path, synthetic_clips, weights_dir):
    from lsbench import media

    path, _ = synthetic_clips[0]
    silent = tmp_path / "noaudio.mp4"
    media.ffmpeg("-i", str(path), "-an", "-c:v", "copy", str(silent))
    r = CliRunner().invoke(cli, ["score", str(silent)])
    assert r.exit_code == 1 and "no audio stream" in r.output and str(silent) in r.output


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


def _cut(src, dest, seconds, vf):
    from lsbench import media

    media.ffmpeg("-t", str(seconds), "-i", str(src), "-vf", vf + ",fps=25", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-ac", "1", "-ar", "16000", str(dest))
    return dest


@pytest.mark.slow
def test_score_track_on_a_3s_clip_is_too_short_with_the_numbers(shared, tmp_path, weights_dir):
    """issue 20: a face in all 75 frames of a 3 s clip is a track too short for --min-track 100,
    not `no_face`, and nothing scored exits non-zero."""
    from corpora import cut

    clip = cut(shared / "media" / "videoretalking" / "face_2.mp4", tmp_path / "face3s.mp4", 0.0, 3.0, 256)
    r = CliRunner().invoke(cli, ["score", str(clip), "--mode", "track", "--detector", "dlib-hog", "--json"])
    assert r.exit_code == 1
    track = json.loads(r.stdout)["tracks"][0]
    assert track["status"] == "too_short" and (track["first_frame"], track["last_frame"]) == (0, 74)
    assert track["reason"] == "longest face track 75 frames (of 75); --min-track needs more than 100"
    assert r.stderr.strip() == f"lsbench: error: {clip}: nothing scored: too_short: {track['reason']}"
    r = CliRunner().invoke(cli, ["score", str(clip), "--mode", "track", "--detector", "dlib-hog", "--min-track", "50"])
    assert r.exit_code == 0 and "  ok  " in r.stdout  # the same clip scores once the threshold allows it


@pytest.mark.slow
def test_score_crop_mode_warns_once_on_a_full_frame_video(shared, tmp_path, weights_dir):
    src = shared / "media" / "videoretalking" / "face_1.mp4"
    wide = _cut(src, tmp_path / "wide.mp4", 2, "pad=iw*2:ih*2:iw/2:ih/2,scale=480:480")  # small face, big frame
    r = CliRunner().invoke(cli, ["score", str(wide)])
    assert r.exit_code == 0, r.output
    warnings = [ln for ln in r.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "`--mode track` is probably meant" in warnings[0]
    share = int(warnings[0].split("covers ")[1].split("%")[0])
    assert 1 <= share <= 5  # a face of about a tenth of the frame's area, then padded to twice the side
    from corpora import cut

    centred = cut(src, tmp_path / "centred.mp4", 0.0, 2.0, 160)  # face-centred like LRS2
    r = CliRunner().invoke(cli, ["score", str(centred)])
    assert r.exit_code == 0 and "warning" not in r.stderr


def _commands(group, prefix=()):
    import click

    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_option_of_every_command_has_help():
    import click

    missing = [f"{' '.join(path)} {p.opts[0]}" for path, cmd in _commands(cli) for p in cmd.params
               if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert missing == []
    assert not [" ".join(path) for path, cmd in _commands(cli) if not (cmd.help or "").strip()]
    assert {"preprocess", "evaluate", "generate", "train", "leaderboard", "score", "ls", "demo"} <= {
        p[0] for p, _ in _commands(cli)}


def test_version():
    from lsbench import __version__

    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"lsbench, version {__version__}"
    p = subprocess.run([sys.executable, "-m", "lsbench.cli", "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == f"lsbench, version {__version__}"


def test_preprocess_help_shows_each_datasets_layout():
    out = CliRunner().invoke(cli, ["preprocess", "--help"], terminal_width=200).output
    section = out.split("Expected layout per --dataset")[1].split("Options:")[0]
    assert "lrs2" in section and "mvlrs_v1/{main,pretrain}/<videoid>/<clip>.mp4" in section
    assert "lrw" in section and "lipread_mp4/WORD/{train,val,test}/WORD_00001.{mp4,txt}" in section
    assert "voxceleb2" in section and "{dev,test}/mp4/idXXXXX/<youtube_id>/00001.mp4" in section


def test_generate_offers_only_models_with_a_full_frame_mode():
    from lsbench.models.face_crop import FaceCropModel
    from lsbench.registry import MODELS

    gen = cli.commands["generate"]
    choices = next(p for p in gen.params if p.name == "model").type.choices
    assert list(choices) == ["wav2lip", "wav2lip-gan", "lipgan"]
    # the registry flag agrees with the classes: exactly the face-crop generators paste back into frames
    assert [e.name for e in MODELS if issubclass(MODELS.load(e.name), FaceCropModel)] == list(choices)
    r = CliRunner().invoke(cli, ["generate", "--model", "synctalkface", "--video", __file__, "--out", "x.mp4"])
    assert r.exit_code == 2 and "model 'synctalkface' has no full-frame mode" in r.output
    assert "weights fetch" not in r.output
    r = CliRunner().invoke(cli, ["generate", "--help"])
    assert "synctalkface" not in r.output and "wav2lip-gan" in r.output


def test_demo_help_says_what_it_does():
    out = CliRunner().invoke(cli, ["demo", "--help"]).output
    assert "synthetic talking faces" in out and "no real clip is bundled" in out
    top = CliRunner().invoke(cli, ["--help"]).output
    assert "bundled clip" not in top and "`ls`" in top

"""issue 20: every command that writes checks its output path first and fails in one line.

The permission checks are made real: as root (the sandbox) the commands run under setpriv
without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, so a 0555 folder stops them as it stops a
normal user. The other inputs are missing or would take time, so an error about anything
but the output, or any output line, shows that work started before the check."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import media_videos
from lsbench.outputs import OutputError, check_output_dir, check_output_file

ROOT = Path(__file__).resolve().parents[1]


def _lsbench(args, tmp_path):
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permission bits cannot be made to bind")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "LSBENCH_HOME": str(tmp_path / "home")}
    return subprocess.run(prefix + [sys.executable, "-m", "lsbench.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


def _commands(out_dir: Path, nope: Path, video: Path):
    return {
        "preprocess": (["preprocess", "--dataset", "lrs2", "--root", nope, "--out", out_dir / "shards"], "shards"),
        "evaluate": (["evaluate", "--model", "ground-truth", "--data", nope, "--out", out_dir / "results"], "results"),
        "leaderboard": (["leaderboard", "--results", nope, "--out", out_dir / "site"], "site"),
        "train": (["train", "--model", "syncnet", "--data", nope, "--out", out_dir / "ckpt"], "ckpt"),
        "generate": (["generate", "--video", video, "--out", out_dir / "out.mp4", "--no-progress"], "out.mp4"),
        "demo": (["demo", "--out", out_dir / "demo"], "demo"),
    }


@pytest.fixture
def read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    yield ro
    ro.chmod(0o755)


@pytest.mark.parametrize("command", ["preprocess", "evaluate", "leaderboard", "train", "generate", "demo"])
def test_read_only_output_is_one_line_before_any_work(command, read_only, tmp_path, shared):
    args, name = _commands(read_only, tmp_path / "nope", media_videos()[0])[command]
    p = _lsbench(args, tmp_path)
    assert p.returncode == 1, p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.strip() == (f"lsbench: error: cannot write {read_only / name}: permission denied "
                                f"(cannot create files in {read_only})")
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("command", ["preprocess", "evaluate", "leaderboard", "train", "generate"])
def test_output_under_proc_is_one_line(command, tmp_path, shared):
    args, name = _commands(Path("/proc/x"), tmp_path / "nope", media_videos()[0])[command]
    p = _lsbench(args, tmp_path)
    assert p.returncode == 1 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.strip() == (f"lsbench: error: cannot write /proc/x/{name}: no such file or directory "
                                f"(cannot create files in /proc)")


def test_evaluate_checks_the_partial_rows_it_would_append_to(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    partial = out / "ground-truth__random-reference__lrs2-test__seed0.partial.jsonl"
    partial.write_text('{"clip_id": "x"}\n')
    partial.chmod(0o444)
    p = _lsbench(["evaluate", "--model", "ground-truth", "--data", tmp_path / "nope", "--out", out, "--resume"],
                 tmp_path)
    assert p.returncode == 1 and p.stderr.strip() == f"lsbench: error: cannot write {partial}: permission denied"
    assert partial.read_text() == '{"clip_id": "x"}\n'


def test_checks_leave_nothing_behind_and_name_the_blocking_path(tmp_path):
    out = tmp_path / "a" / "b"
    assert check_output_dir(out) == out and not (tmp_path / "a").exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=f"cannot write {tmp_path / 'file' / 'sub'}: {tmp_path / 'file'} is not a folder"):
        check_output_dir(tmp_path / "file" / "sub")
    with pytest.raises(OutputError, match="it exists and is not a folder"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(OutputError, match="it is a folder, not a file"):
        check_output_file(tmp_path)
    assert check_output_file(tmp_path / "file") == tmp_path / "file" and (tmp_path / "file").read_text() == "x"

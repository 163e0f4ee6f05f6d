"""Failures classified by type: clip errors carry their reason code from where they are
raised; failures of the machine (no ffprobe, disk full, out of memory, CUDA, weights) stop
`preprocess` with one line and leave the clips to a later run."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import RAY_GROUP, MEDIA, preprocess_cli

from lsbench import media
from lsbench.detectors.dlib_cascade import DlibCascadeDetector
from lsbench.errors import EnvironmentFailure, MediaError, WeightsError, environment_failure
from preprocess.recipes.base import ClipRef
from preprocess.stages import Config, process_batch

pytestmark = [RAY_GROUP, pytest.mark.slow]  # they start Ray (here or in a CLI subprocess): one worker runs them all

GOOD = MEDIA / "videoretalking" / "face_3.mp4"


def _batch(paths):
    refs = [ClipRef(clip_id=f"t/{i}", dataset="t", split="test", speaker_id="s", video_id=str(i),
                    source_path=str(p)).to_dict() for i, p in enumerate(paths)]
    return {k: [r[k] for r in refs] for k in refs[0]}


def test_media_errors_carry_their_code(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 64 + GOOD.read_bytes()[64:4000])
    silent_video = tmp_path / "noaudio.mp4"
    media.ffmpeg("-i", str(GOOD), "-t", "1", "-an", "-c:v", "copy", str(silent_video))
    audio_only = tmp_path / "novideo.m4a"
    media.ffmpeg("-i", str(GOOD), "-t", "1", "-vn", "-c:a", "copy", str(audio_only))
    cases = {tmp_path / "gone.mp4": "missing_file", empty: "empty_file", tmp_path: "not_a_file", corrupt: "corrupt"}
    for path, code in cases.items():
        with pytest.raises(MediaError) as info:
            media.probe(path)
        assert info.value.code == code and str(path) in str(info.value)
    with pytest.raises(MediaError) as info:
        media.read_audio(silent_video)
    assert info.value.code == "no_audio"
    with pytest.raises(MediaError) as info:
        media.read_frames(audio_only)
    assert info.value.code == "no_video"
    # the same inputs through the decode stage: the row's reason is the code, whatever the text
    table = process_batch(_batch([empty, corrupt, silent_video, audio_only, tmp_path / "gone.mp4"]),
                          DlibCascadeDetector(), None, Config(sync="none")).to_pylist()
    assert [r["error_reason"] for r in table] == ["empty_file", "corrupt", "no_audio", "no_video", "missing_file"]
    assert all(r["error_stage"] == "decode" for r in table)


def test_environment_failures_are_told_apart_by_type():
    import torch

    assert "out of memory" in str(environment_failure(MemoryError()))
    full = environment_failure(OSError(errno.ENOSPC, "No space left on device", "/data/x"))
    assert "no space left" in str(full) and "/data/x" in str(full)
    assert environment_failure(WeightsError("syncnet_v2.model: missing")) is not None
    assert "CUDA" in str(environment_failure(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")))
    assert environment_failure(torch.AcceleratorError("CUDA error: an illegal memory access")) is not None
    # the input's faults stay clip errors, whatever their text says
    assert environment_failure(ValueError("out of memory")) is None
    assert environment_failure(OSError(errno.ENOENT, "No such file")) is None
    assert environment_failure(RuntimeError("CUDA error")) is None


def test_a_missing_binary_is_an_environment_failure(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither ffprobe nor ffmpeg can be found
    with pytest.raises(EnvironmentFailure, match="ffprobe is not installed"):
        media.probe(GOOD)
    with pytest.raises(EnvironmentFailure, match="ffmpeg is not installed"):
        media.ffmpeg("-version")


class _Raising:
    """A detector that fails with a given exception: where the failure comes from does not matter."""

    name = "raising"

    def __init__(self, exc):
        self.exc = exc

    def detect(self, frames):
        raise self.exc


def test_process_batch_reraises_environment_failures_and_records_bugs():
    batch = _batch([GOOD])
    for exc in (MemoryError(), OSError(errno.ENOSPC, "No space left on device")):
        with pytest.raises(EnvironmentFailure):
            process_batch(batch, _Raising(exc), None, Config(sync="none"))
    row = process_batch(batch, _Raising(KeyError("bug")), None, Config(sync="none")).to_pylist()[0]
    assert not row["ok"] and row["error_stage"] == "internal" and "KeyError" in row["error_message"]


class _Scorer:
    def __init__(self, exc):
        self.exc = exc

    def score(self, crops, audio):
        raise self.exc


def test_syncnet_failures_get_their_own_reasons():
    import torch

    from lsbench.syncnet.lse import ClipTooShort

    batch = _batch([GOOD])
    det = DlibCascadeDetector()
    cfg = Config(sync="syncnet")
    rows = {name: process_batch(batch, det, _Scorer(exc), cfg).to_pylist()[0]
            for name, exc in (("short", ClipTooShort("4 frames, a window needs 5")), ("value", ValueError("NaN in crops")))}
    assert rows["short"]["error_reason"] == "too_short" and rows["short"]["error_stage"] == "sync"
    assert rows["value"]["error_reason"] == "sync_failed" and "ValueError: NaN in crops" in rows["value"]["error_message"]
    with pytest.raises(EnvironmentFailure, match="CUDA"):
        process_batch(batch, det, _Scorer(torch.OutOfMemoryError("CUDA out of memory")), cfg)


def test_disk_full_while_writing_a_shard_is_one_line(monkeypatch, tmp_path):
    import pyarrow as pa

    from preprocess import pipeline

    def full(table, where, **kw):
        Path(where).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline.pq, "write_table", full)
    with pytest.raises(EnvironmentFailure, match="cannot write .*part-x.parquet: no space left"):
        pipeline._atomic_write(pa.table({"a": [1]}), tmp_path / "part-x.parquet")
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def _shim(folder: Path, k: int) -> Path:
    """An `ffprobe` first on PATH that wraps the real one and fails from its (k+1)-th call on,
    in every process (driver and Ray workers count together through a locked file)."""
    real = shutil.which("ffprobe")
    folder.mkdir()
    script = folder / "ffprobe"
    script.write_text(f"""#!/bin/bash
exec 9>>"{folder}/count.lock"; flock 9
n=$(cat "{folder}/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{folder}/count"
flock -u 9
if [ $n -gt {k} ]; then echo "ffprobe: shim gave up after {k} calls" >&2; exit 1; fi
exec {real} "$@"
""")
    script.chmod(0o755)
    return folder


def _preprocess(root, out, path=None):
    """With a shim: a Ray of the run's own, whose workers see the shim on PATH; without: the test run's Ray."""
    env = dict(os.environ, PATH=f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"])
    return preprocess_cli("--dataset", "lrs2", "--root", str(root), "--out", str(out), "--sync", "none",
                          "--workers", "2", env=env, own_ray=path is not None)


def test_ffprobe_failing_midway_stops_the_run_and_resume_finishes(lrs2_corpus, tmp_path):
    """The shim fails in the driver (k=2: while planning) and then in the Ray workers (k=6: the
    driver's five planning probes pass, the workers' second probe fails). Each run stops with
    one line and no traceback, records no row for the clips it could not do; once the shim is
    gone, a resume processes every clip and none is marked unreadable or corrupt."""
    root, splits = lrs2_corpus
    listed = sorted(f"lrs2/{s}/{i}" for s, items in splits.items() for i in items)
    out = tmp_path / "out"
    for k, where in ((2, "driver"), (6, "workers")):
        shim = _shim(tmp_path / f"shim{k}", k)
        p = _preprocess(root, out, shim)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 3, (where, p.stdout, p.stderr[-3000:])
        assert len(lines) == 1 and lines[0].startswith("lsbench: error: ffprobe does not run"), (where, p.stderr[-3000:])
        assert "shim gave up" in lines[0]
        errors = list((out / "errors").glob("*.parquet")) if (out / "errors").is_dir() else []
        assert not errors or pd.read_parquet(out / "errors").empty, (where, pd.read_parquet(out / "errors"))
        shutil.rmtree(shim)
    done_before = len(pd.read_parquet(out / "shards")) if list((out / "shards").glob("*.parquet")) else 0
    assert done_before < len(listed)
    p = _preprocess(root, out)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"{done_before} already done" in p.stdout
    shards = pd.read_parquet(out / "shards")
    assert sorted(shards["clip_id"]) == listed
    assert not list((out / "errors").glob("*.parquet")) or pd.read_parquet(out / "errors").empty

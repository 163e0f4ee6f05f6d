"""Shared by the benchmark scripts: procedural checkpoints, time spent inside chosen methods, and syncnet-python's
pipeline run quietly and timed."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator, List, Tuple

SHARED = Path(os.environ.get("LSBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))


class Timer:
    """Adds up the seconds spent in wrapped methods, so a bench can report network time apart from the rest."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, obj: Any, name: str) -> None:
        fn = getattr(obj, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t0

        setattr(obj, name, timed)


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """The reference's ffmpeg children write to the terminal directly: silence fds 1 and 2."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def materialise(pack: str, out: Path) -> Path:
    """The conformance pack's first (official-format) checkpoint with procedural weights, written into `out`."""
    from lsbench.conformance.procedural import write_checkpoint

    d = SHARED / "conformance" / pack
    return write_checkpoint(d, json.loads((d / "pack.json").read_text())["checkpoints"][0], out)


def run_pipeline(pipe, video: Path, work: Path) -> Tuple[float, List[int], List[float]]:
    """(seconds, offsets, confidences) of SyncNetPipeline.inference on `video`, its ffmpeg output silenced and its
    work folder removed afterwards."""
    with quiet_fds():
        t0 = time.perf_counter()
        offsets, confs, *_ = pipe.inference(str(video), None, cache_dir=str(work))
        seconds = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)
    return seconds, [int(o) for o in offsets], [float(c) for c in confs]

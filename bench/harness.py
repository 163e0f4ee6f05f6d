"""Shared by the benchmark scripts and the reference tests: procedural checkpoints, time spent inside chosen methods,
syncnet-python's pipeline run quietly and timed, and face boxes recorded on one side and replayed into syncnet-python's
S3FD on the other (procedural S3FD weights find only noise)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


class Stages:
    """Exclusive seconds per stage name, for per-stage breakdowns: a wrapped call's time less that of the wrapped calls
    made inside it goes to its stage, so nested pieces (a crop inside the offset step) are never counted twice.
    restore() puts every wrapped attribute back, so two sides timed in one process do not see each other's wrappers."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._open: list[float] = []  # seconds of wrapped calls made inside each open wrapped call
        self._saved: list = []

    def wrap(self, obj: Any, name: str, stage: str | Callable[..., str | None], outermost: bool = False) -> None:
        """Time obj.name as `stage` (or as stage(*args) names it; None: not timed here). outermost: only when no
        wrapped call is open (a helper the stages also call inside, timed only where the pipeline calls it directly)."""
        fn = getattr(obj, name)
        self._saved.append((obj, name, vars(obj).get(name, _ABSENT) if hasattr(obj, "__dict__") else _ABSENT))

        def timed(*a, **k):
            st = stage(*a, **k) if callable(stage) else stage
            if st is None or (outermost and self._open):
                return fn(*a, **k)
            with self.span(st):
                return fn(*a, **k)

        setattr(obj, name, timed)

    @contextlib.contextmanager
    def span(self, stage: str) -> Iterator[None]:
        """Time a block as `stage` (exclusive of wrapped calls inside it)."""
        self._open.append(0.0)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            inner = self._open.pop()
            self.seconds[stage] = self.seconds.get(stage, 0.0) + dt - inner
            if self._open:
                self._open[-1] += dt

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def restore(self) -> None:
        for obj, name, old in reversed(self._saved):
            if old is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
        self._saved = []


_ABSENT = object()


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


def run_pipeline(pipe, video: Path, work: Path) -> tuple[float, list[int], list[float]]:
    """(seconds, offsets, confidences) of SyncNetPipeline.inference on `video`, its ffmpeg output silenced and its
    work folder removed afterwards."""
    with quiet_fds():
        t0 = time.perf_counter()
        offsets, confs, *_ = pipe.inference(str(video), None, cache_dir=str(work))
        seconds = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)
    return seconds, [int(o) for o in offsets], [float(c) for c in confs]


def frame_digest(image) -> str:
    """sha-1 of a frame's pixels and shape: tells whether two pipelines handed their detectors the same frame."""
    import numpy as np

    a = np.ascontiguousarray(image)
    return hashlib.sha1(a.tobytes() + str(a.shape).encode()).hexdigest()


class RecordedDetections:
    """An lsbench detector that answers with `detector`'s boxes and records them, with a digest of each frame it was
    given, in call order: what ReplayedDetections.load hands syncnet-python's S3FD afterwards."""

    name = "recorded"

    def __init__(self, detector) -> None:
        self.detector = detector
        self.boxes: list = []
        self.digests: list[str] = []

    def detect(self, frames) -> list:
        found = self.detector.detect(frames)
        self.boxes += [b.copy() for b in found]
        self.digests += [frame_digest(f) for f in frames]
        return found


class ReplayedDetections:
    """syncnet-python's S3FD.detect_faces replaced by answers given beforehand, one per call in frame order: boxes found
    by lsbench's weight-free detector, because procedural S3FD weights only find noise. With run_s3fd the shipped
    detect_faces still runs on every frame (its cost paid and timed, for the benchmark); digests from load() make each
    call check that it is shown the very frame the boxes were found on (mismatches counts the others)."""

    def __init__(self, s3fd, detector=None, run_s3fd: bool = True) -> None:
        self.original, self.detector, self.run_s3fd = s3fd.detect_faces, detector, run_s3fd
        self.boxes: list = []
        self.digests: list[str] | None = None
        self.calls, self.mismatches, self.seconds = 0, 0, 0.0
        self.net_time = Timer()
        self.net_time.wrap(s3fd.net, "forward")
        s3fd.detect_faces = self

    def prepare(self, frames) -> None:
        """Boxes from `detector.detect_one` on each frame, score 0.99."""
        import numpy as np

        found = [self.detector.detect_one(f) for f in frames]
        self.load([np.column_stack([b[:, :4], np.full(len(b), 0.99)]) if len(b) else np.zeros((0, 5)) for b in found])

    def load(self, boxes: list, digests: list[str] | None = None) -> None:
        self.boxes, self.digests = list(boxes), digests
        self.calls = self.mismatches = 0

    def __call__(self, image, conf_th=0.8, scales=(1,)):
        import numpy as np

        if self.run_s3fd:
            t0 = time.perf_counter()
            self.original(image, conf_th=conf_th, scales=list(scales))
            self.seconds += time.perf_counter() - t0
        if self.digests is not None and (self.calls >= len(self.digests) or frame_digest(image) != self.digests[self.calls]):
            self.mismatches += 1
        boxes = self.boxes[self.calls] if self.calls < len(self.boxes) else np.zeros((0, 5))
        self.calls += 1
        return boxes

    def post_seconds(self) -> float:
        """Time inside detect_faces outside S3FD's forward pass: its box decoding and NMS."""
        return self.seconds - self.net_time.seconds

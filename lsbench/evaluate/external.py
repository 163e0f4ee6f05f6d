"""A folder of videos made outside lsbench, as a producer: each pair's submitted file is
checked against the pair (file present, readable, 25 fps, the target's size, the frame count,
audio present, not silent, of the pair's length) and its frames and audio become the output.
Anything wrong is a Failure whose code is the row's reason. The task the submitter answers is
written by lsbench.evaluate.task (`lsbench pairs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np

from .. import media
from ..errors import Failure, LsbenchError, MediaError
from .options import Settings
from .produce import Produced, Producer
from .target import SPF, Target, fit

VIDEO_EXTS = (".mkv", ".mp4", ".avi", ".mov")


class ExternalProducer(Producer):
    kind = "external"
    full_frame = "the submitted video's frames"

    def __init__(self, folder: Path, name: str, pair_ids: Dict[str, str], url: str = "", weights_sha256: str = ""):
        if not folder.is_dir():
            raise LsbenchError(f"{folder}: submission folder not found")
        self.folder, self.name, self.pair_ids = folder, name, pair_ids
        self.url, self.weights_sha256 = url, weights_sha256

    def provenance(self) -> Dict[str, dict]:
        return {"submission": {"file": self.folder.name, "path": str(self.folder), "sha256": self.weights_sha256,
                               "state": "unverified", "official": False,
                               "why": "external weights run outside lsbench: it cannot verify them"}}

    def describe(self) -> Dict[str, object]:
        return {"url": self.url, "submission": str(self.folder)}

    def _file(self, pid: str) -> Path:
        for ext in VIDEO_EXTS:
            if (self.folder / f"{pid}{ext}").is_file():
                return self.folder / f"{pid}{ext}"
        raise Failure(f"{self.folder / (pid + '.mkv')}: no file for pair {pid}", "missing_file")

    def produce(self, target: Target, settings: Settings) -> Produced:
        path = self._file(self.pair_ids[target.spec.target])
        n, (h, w) = target.n, target.frames.shape[1:3]
        info = _probe(path)
        if abs(info.fps - media.FPS) > 1e-3:
            raise Failure(f"{path}: {info.fps:g} fps, the task asks for {media.FPS}", "wrong_fps")
        if (info.width, info.height) != (w, h):
            raise Failure(f"{path}: {info.width}x{info.height}, its target is {w}x{h}", "wrong_size")
        if not info.has_audio:
            raise Failure(f"{path}: no audio stream", "silent")
        try:
            frames, audio = media.read_clip(path, info=info)
        except MediaError as exc:
            raise Failure(str(exc), "unreadable") from None
        if len(frames) != n:
            raise Failure(f"{path}: {len(frames)} frames, the pair needs {n}", "wrong_frame_count")
        if not np.any(audio):
            raise Failure(f"{path}: every audio sample is zero", "silent")
        if abs(len(audio) - n * SPF) > SPF:
            raise Failure(f"{path}: {len(audio)} audio samples, the pair's speech has {n * SPF} (+-{SPF})",
                          "wrong_audio_length")
        audio = fit(audio, n * SPF)
        return Produced(frames, audio, audio, {"submitted": path.name,
                                               "codec": f"{info.video_codec}/{info.audio_codec}"})


def _probe(path: Path) -> media.MediaInfo:
    try:
        info = media.probe(path)
    except MediaError as exc:
        raise Failure(str(exc), "unreadable") from None
    if not info.has_video:
        raise Failure(f"{path}: no video stream", "unreadable")
    return info

"""A folder of videos made outside lsbench, as a producer: each pair's submitted file is
checked against the pair (file present, readable, 25 fps, the target's size, the frame count,
audio present, not silent, of the pair's length, and the pair's speech itself) and its frames and
audio become the output. Anything wrong is a Failure whose code is the row's reason. The task the
submitter answers is written by lsbench.evaluate.task (`lsbench pairs`).

Lossy submissions are accepted and said so: the task asks for lossless frames and audio, and a
pair whose video or audio codec is not lossless carries `lossless: false` in its row; the results
count those pairs (`model.lossy_pairs`), `validate` reports them and the board shows a badge.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Dict, List

import numpy as np

from .. import media
from ..errors import Failure, LsbenchError, MediaError
from .audio_match import MAX_LAG_S, MIN_CORRELATION, speech_match
from .options import Settings
from .produce import Produced, Producer
from .target import SPF, Target, fit

VIDEO_EXTS = (".mkv", ".mp4", ".avi", ".mov")
LOSSLESS_VIDEO = ("ffv1", "huffyuv", "ffvhuff", "utvideo", "rawvideo", "png", "qtrle", "magicyuv")
LOSSLESS_H264_PROFILE = "High 4:4:4 Predictive"  # what x264 writes for -qp 0 (its only lossless mode)
LOSSLESS_AUDIO = ("flac", "alac", "wavpack", "tta")  # and every pcm_* codec


def is_lossless(info: media.MediaInfo) -> bool:
    video = info.video_codec in LOSSLESS_VIDEO or (info.video_codec == "h264"
                                                   and info.video_profile == LOSSLESS_H264_PROFILE)
    return video and (info.audio_codec.startswith("pcm_") or info.audio_codec in LOSSLESS_AUDIO)


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

    def _files(self, pid: str) -> List[Path]:
        return [self.folder / f"{pid}{ext}" for ext in VIDEO_EXTS if (self.folder / f"{pid}{ext}").is_file()]

    def _missing(self, pid: str) -> Failure:
        """missing_file, naming the near misses in the folder (another case, a close name)."""
        names = sorted(p.name for p in self.folder.iterdir() if p.is_file())
        same = [n for n in names if Path(n).stem.casefold() == pid.casefold() or n.casefold() == pid.casefold()]
        close = same or difflib.get_close_matches(f"{pid}.mkv", names, n=3, cutoff=0.75)
        hint = f" (found {', '.join(close)}: names are {pid}.mkv, .mp4, .avi or .mov, case-sensitive)" if close else ""
        return Failure(f"{self.folder / (pid + '.mkv')}: no file for pair {pid}{hint}", "missing_file")

    def produce(self, target: Target, settings: Settings) -> Produced:
        pid = self.pair_ids[target.spec.target]
        files = self._files(pid)
        if not files:
            raise self._missing(pid)
        path, notes = files[0], {"submitted": files[0].name}
        if len(files) > 1:
            notes["also_there"] = ", ".join(f.name for f in files[1:])  # not used: the first of VIDEO_EXTS wins
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
        corr, lag = speech_match(audio, fit(target.speech, n * SPF))
        if corr < MIN_CORRELATION:
            raise Failure(f"{path}: its audio is not the pair's speech (correlation {corr:.2f} at the best lag within "
                          f"+-{MAX_LAG_S * 1000:.0f} ms; {MIN_CORRELATION} or more expected): a copied target, or "
                          f"another clip's audio", "wrong_audio")
        notes.update(codec=f"{info.video_codec}/{info.audio_codec}", lossless=is_lossless(info),
                     speech_correlation=round(corr, 4), speech_lag_ms=round(1000 * lag / media.SAMPLE_RATE, 1))
        return Produced(frames, audio, audio, notes)


def _probe(path: Path) -> media.MediaInfo:
    try:
        info = media.probe(path)
    except MediaError as exc:
        raise Failure(str(exc), "unreadable") from None
    if not info.has_video:
        raise Failure(f"{path}: no video stream", "unreadable")
    return info

"""What both official LSE routes share: their result rows, the ffmpeg they run, a work folder,
and SyncNetInstance_calc_scores.evaluate's reading of one file (JPEG frames, cv2.imread +
resize, the 16 kHz wav). Bad input is a lsbench.errors.Failure with the row's status as its code;
a missing or unusable ffmpeg, or a full disk, is an EnvironmentFailure: it stops the run.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import numpy as np

from ..errors import EnvironmentFailure, Failure, MediaError
from .lse import FRAME_SIZE, ClipTooShort, SyncNetScorer

WHOLE_FRAME = "whole-frame"
PIPELINE = "pipeline"
ROUTES = (WHOLE_FRAME, PIPELINE)
STATUSES = ("ok", "too_short", "no_face", "no_audio", "unreadable")


@dataclass
class RouteTrack:
    """One face track of the pipeline route, scored as Wav2Lip scores its crop (one `dist conf` line)."""

    track: int
    first_frame: int  # in the 25 fps AVI the pipeline made
    last_frame: int
    n_detections: int
    status: str = "ok"
    reason: str = ""
    offset: Optional[int] = None
    lse_c: Optional[float] = None
    lse_d: Optional[float] = None
    n_windows: int = 0


@dataclass
class RouteScore:
    """One video's LSE by one official route.

    For ``pipeline`` the video's offset / LSE-C / LSE-D are formed from its scored tracks (see
    ``aggregate``); the per-track values are in ``tracks``."""

    route: str
    video: str
    status: str = "ok"  # one of STATUSES
    reason: str = ""
    offset: Optional[int] = None  # frames, syncnet_python's sign
    lse_c: Optional[float] = None
    lse_d: Optional[float] = None
    n_windows: int = 0  # windows scored (pipeline: summed over tracks)
    n_frames: int = 0  # JPEG frames extracted (pipeline: frames of the 25 fps AVI)
    n_samples: int = 0  # 16 kHz samples of the extracted wav
    aggregate: str = ""  # how the video's figure was formed
    tracks: List[RouteTrack] = field(default_factory=list)
    params: dict = field(default_factory=dict)  # the route's settings, as run

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- ffmpeg and the work folder


def require_ffmpeg() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise EnvironmentFailure(f"{tool} is not installed or not on PATH (apt-get install ffmpeg): "
                                     "the official LSE routes run it")


def run_ffmpeg(args: Sequence[str], what: str) -> None:
    """`ffmpeg -nostdin -loglevel error ARGS` (the official command line, quiet). A failure about the input
    becomes Failure(code 'unreadable'); one about the environment raises EnvironmentFailure."""
    try:
        proc = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *args], capture_output=True)
    except FileNotFoundError:
        raise EnvironmentFailure("ffmpeg is not installed or not on PATH (apt-get install ffmpeg)") from None
    if proc.returncode == 0:
        return
    err = proc.stderr.decode(errors="replace").strip()
    last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
    if "No space left on device" in err:
        raise EnvironmentFailure(f"disk full while {what}: {last}")
    if "Unrecognized option" in err or "Option not found" in err:
        raise EnvironmentFailure(f"this ffmpeg lacks an option of the official command ({what}): {last}")
    raise Failure(code="unreadable", message=f"ffmpeg failed while {what}: {last}")


@contextlib.contextmanager
def workspace(parent: "str | Path | None" = None) -> Iterator[Path]:
    """A fresh temporary folder, removed however the route ends."""
    path = Path(tempfile.mkdtemp(prefix="lsbench-lse-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def probe_av(video: Path) -> None:
    """A Failure (code: the row's status) unless `video` is a readable file with a video and an audio stream."""
    from .. import media

    try:
        info = media.probe(video)
    except MediaError as exc:
        raise Failure(code="unreadable", message=exc.reason) from None
    if not info.has_video:
        raise Failure(code="unreadable", message="no video stream")
    if not info.has_audio:
        raise Failure(code="no_audio", message="no audio stream: the official routes score a video against its own audio")


# ---------------------------------------------------------------- SyncNetInstance_calc_scores.evaluate


@dataclass
class Extracted:
    frames: np.ndarray  # (T, 224, 224, 3) BGR uint8, as cv2.imread + cv2.resize give them
    samples: np.ndarray  # int16, 16 kHz mono
    sample_rate: int


def extract_for_syncnet(video: Path, folder: Path) -> Extracted:
    """The two ffmpeg commands of SyncNetInstance_calc_scores.evaluate into `folder`, then its frame and wav
    reading: sorted JPEGs, cv2.imread, cv2.resize to 224x224; scipy's wavfile."""
    import cv2

    from .. import media

    folder.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-y", "-i", str(video), "-threads", "1", "-f", "image2", str(folder / "%06d.jpg")],
               "extracting JPEG frames")
    run_ffmpeg(["-y", "-i", str(video), "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000",
                str(folder / "audio.wav")], "extracting the 16 kHz audio")
    files = sorted(folder.glob("*.jpg"))
    if not files:
        raise Failure(code="unreadable", message="ffmpeg wrote no JPEG frames")
    frames = np.empty((len(files), FRAME_SIZE, FRAME_SIZE, 3), np.uint8)  # one 224x224 frame each, never full size
    for i, f in enumerate(files):
        img = cv2.imread(str(f))
        if img is None:
            raise Failure(code="unreadable", message=f"OpenCV cannot read extracted frame {f.name}")
        frames[i] = cv2.resize(img, (FRAME_SIZE, FRAME_SIZE))
    try:
        sr, samples = media.read_wav_int16(folder / "audio.wav")
    except MediaError as exc:
        raise Failure(code="unreadable", message=exc.reason) from None
    return Extracted(frames, samples[:, 0] if samples.ndim > 1 else samples, sr)  # -ac 1 makes it mono


def evaluate_file(video: Path, scorer: SyncNetScorer, folder: Path, vshift: int, route: str) -> "tuple":
    """(LSEResult or ClipTooShort, frame count, sample count) for one file, as Wav2Lip's evaluate scores it."""
    ex = extract_for_syncnet(video, folder)
    try:
        res = scorer.score(ex.frames, ex.samples, ex.sample_rate, rgb=False, vshift=vshift, mode=route)
    except ClipTooShort as exc:
        res = exc
    return res, len(ex.frames), len(ex.samples)



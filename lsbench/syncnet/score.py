"""Score a video file with SyncNet in `crop` mode (frames are face crops) or `track` mode
(full frames: detect, track, crop each face track as syncnet_python does, score each)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np

from .. import media
from ..audio import to_int16
from ..errors import MediaError
from .lse import ClipTooShort, SyncNetScorer
from .track import crop_track, detect_sparse, track_faces

SAMPLES_PER_FRAME = media.SAMPLES_PER_FRAME
# Crop mode expects face-centred frames. LRS2-style frames (the whole-frame route's input) have
# a dlib face box over about a fifth to a third of the frame (22-32% on cuts of ../shared/media);
# a syncnet_python crop, about a half. Below an eighth the video is a full frame with a small
# face (latentsync's 1080p clip: 2%): track mode is meant.
FULL_FRAME_COVERAGE = 0.125


@dataclass
class TrackScore:
    track: int
    status: str  # ok | too_short (track or clip shorter than needed) | small_face | no_face
    mode: str
    first_frame: int
    last_frame: int
    offset: Optional[int] = None
    lse_c: Optional[float] = None
    lse_d: Optional[float] = None
    n_windows: int = 0
    reason: str = ""
    framewise_conf: List[float] = field(default_factory=list)

    def to_dict(self, framewise: bool = True) -> dict:
        d = asdict(self)
        if not framewise:
            del d["framewise_conf"]
        return d


def _score_clip(scorer: SyncNetScorer, frames: np.ndarray, samples: np.ndarray, idx: int, mode: str,
                first: int, vshift: int) -> TrackScore:
    covered = min(len(frames), len(samples) // SAMPLES_PER_FRAME)  # syncnet_python scores the shorter of the two
    ts = TrackScore(idx, "ok", mode, first, first + max(covered, 1) - 1)
    if covered < len(frames):
        ts.reason = (f"the audio covers {covered} of the {len(frames)} frames: frames {first + covered}-"
                     f"{first + len(frames) - 1} are not scored")
    try:
        res = scorer.score(frames, samples, rgb=True, vshift=vshift, mode=mode)
    except ClipTooShort as exc:
        ts.status, ts.reason = "too_short", str(exc)
        return ts
    ts.offset, ts.lse_c, ts.lse_d, ts.n_windows = res.offset, res.lse_c, res.lse_d, res.n_windows
    ts.framewise_conf = [round(float(v), 4) for v in res.fconfm]
    return ts


def face_coverage(frames: Sequence[np.ndarray], n: int = 3) -> Optional[float]:
    """Median share of the frame area that the largest face box covers, over n frames spread
    through the clip (dlib's HOG detector: no weights, a few frames); None if no face is seen."""
    from ..detectors.dlib_hog import DlibHOGDetector

    det = DlibHOGDetector(upsample=1, short_side=320)  # finds faces down to ~13% of the shorter side
    idx = np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))
    shares = []
    for i in idx:
        boxes = det.detect_one(frames[i])
        if len(boxes):
            area = float(np.max((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
            shares.append(area / (frames[i].shape[0] * frames[i].shape[1]))
    return float(np.median(shares)) if shares else None


def _untracked(dets: List[np.ndarray], n_frames: int, min_track: int, min_face_size: float, mode: str) -> TrackScore:
    """Why no track qualified: no face, every track too short (with its length), or too small."""
    n_det = sum(len(d) for d in dets)
    every = track_faces(dets, min_track=0, min_face_size=0)
    if not every:
        return TrackScore(0, "no_face", mode, 0, n_frames - 1,
                          reason=f"no face track: {n_det} face detections in {n_frames} frames")
    longest = max(every, key=len)
    if len(longest) <= min_track:
        return TrackScore(0, "too_short", mode, int(longest.frames[0]), int(longest.frames[-1]), reason=(
            f"longest face track {len(longest)} frames (of {n_frames}); --min-track needs more than {min_track}"))
    big = max((t for t in every if len(t) > min_track), key=lambda t: t.mean_size)
    return TrackScore(0, "small_face", mode, int(big.frames[0]), int(big.frames[-1]), reason=(
        f"largest face of a track of more than {min_track} frames has a mean side of {big.mean_size:.0f}px; "
        f"--min-face-size needs more than {min_face_size:g}px"))


def score_video(video: "str | Path", scorer: SyncNetScorer, audio: "str | Path | None" = None, mode: str = "crop",
                detector=None, vshift: int = 15, min_track: int = 100, min_face_size: float = 100,
                crop_scale: float = 0.4, detect_every: int = 1,
                warn: Callable[[str], None] = lambda s: None) -> List[TrackScore]:
    """One TrackScore per face track (crop mode: one for the whole clip). detect_every=k
    runs the detector on every k-th frame; tracking interpolates the boxes between. In crop
    mode, `warn` hears once when the frames look like a full-frame video rather than face crops."""
    info = media.probe(video)
    if not info.has_video:
        raise MediaError(str(video), "no video stream")
    audio_src = audio if audio is not None else video
    ainfo = media.probe(audio_src) if audio is not None else info
    if not ainfo.has_audio:
        raise MediaError(str(audio_src), "no audio stream (give --audio WAV)")
    frames, samples = media.read_clip(video, audio, info=info, audio_info=ainfo)
    samples = to_int16(samples)
    if mode == "crop":
        share = face_coverage(frames)
        if share is not None and share < FULL_FRAME_COVERAGE:
            warn(f"{video}: the face covers {100 * share:.0f}% of the frame, far less than in face crops "
                 f"(crop mode scores the whole frame): `--mode track` is probably meant")
        return [_score_clip(scorer, frames, samples, 0, mode, 0, vshift)]
    if mode != "track":
        raise ValueError(f"unknown scoring mode {mode!r} (crop or track)")
    dets = detect_sparse(detector, frames, detect_every)
    tracks = track_faces(dets, min_track=min_track, min_face_size=min_face_size)
    if not tracks:
        return [_untracked(dets, len(frames), min_track, min_face_size, mode)]
    out = []
    for i, t in enumerate(tracks):
        crops = crop_track(frames, t, crop_scale)
        a = samples[t.frames[0] * SAMPLES_PER_FRAME : (t.frames[-1] + 1) * SAMPLES_PER_FRAME]
        out.append(_score_clip(scorer, crops, a, i, mode, int(t.frames[0]), vshift))
    return out

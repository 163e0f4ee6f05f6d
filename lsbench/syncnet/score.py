"""Score a video file with SyncNet in `crop` mode (frames are face crops) or `track` mode
(full frames: detect, track, crop each face track as syncnet_python does, score each)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np

from .. import media
from ..audio import to_int16
from ..errors import MediaError
from .lse import ClipTooShort, SyncNetScorer
from .track import crop_track, detect_sparse, track_faces

SAMPLES_PER_FRAME = media.SAMPLES_PER_FRAME


@dataclass
class TrackScore:
    track: int
    status: str  # ok | too_short | no_face
    mode: str
    first_frame: int
    last_frame: int
    offset: Optional[int] = None
    lse_c: Optional[float] = None
    lse_d: Optional[float] = None
    n_windows: int = 0
    reason: str = ""
    framewise_conf: List[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _score_clip(scorer: SyncNetScorer, frames: np.ndarray, samples: np.ndarray, idx: int, mode: str,
                first: int, vshift: int) -> TrackScore:
    ts = TrackScore(idx, "ok", mode, first, first + len(frames) - 1)
    try:
        res = scorer.score(frames, samples, rgb=True, vshift=vshift, mode=mode)
    except ClipTooShort as exc:
        ts.status, ts.reason = "too_short", str(exc)
        return ts
    ts.offset, ts.lse_c, ts.lse_d, ts.n_windows = res.offset, res.lse_c, res.lse_d, res.n_windows
    ts.framewise_conf = [round(float(v), 4) for v in res.fconfm]
    return ts


def score_video(video: "str | Path", scorer: SyncNetScorer, audio: "str | Path | None" = None, mode: str = "crop",
                detector=None, vshift: int = 15, min_track: int = 100, min_face_size: float = 100,
                crop_scale: float = 0.4, detect_every: int = 1) -> List[TrackScore]:
    """One TrackScore per face track (crop mode: one for the whole clip). detect_every=k
    runs the detector on every k-th frame; tracking interpolates the boxes between."""
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
        return [_score_clip(scorer, frames, samples, 0, mode, 0, vshift)]
    if mode != "track":
        raise ValueError(f"unknown scoring mode {mode!r} (crop or track)")
    dets = detect_sparse(detector, frames, detect_every)
    tracks = track_faces(dets, min_track=min_track, min_face_size=min_face_size)
    if not tracks:
        n_det = sum(len(d) for d in dets)
        return [TrackScore(0, "no_face", mode, 0, len(frames) - 1, reason=(
            f"no face track of more than {min_track} frames with side > {min_face_size}px "
            f"({n_det} detections in {len(frames)} frames)"))]
    out = []
    for i, t in enumerate(tracks):
        crops = crop_track(frames, t, crop_scale)
        a = samples[t.frames[0] * SAMPLES_PER_FRAME : (t.frames[-1] + 1) * SAMPLES_PER_FRAME]
        out.append(_score_clip(scorer, crops, a, i, mode, int(t.frames[0]), vshift))
    return out

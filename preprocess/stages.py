"""Preprocessing stages: plain functions on one clip, and a batch wrapper on dict batches.

Nothing here imports Ray: pipeline.py wires these into Ray Data, and tests call them
directly. A clip that fails raises lsbench.errors.Failure (message, code, stage) inside the
stages; process_batch turns it into an error row, so one bad clip never stops a batch. Reasons
are the failures' codes (MediaError.code, ClipTooShort's too_short), never their text. A
failure of the machine (lsbench.errors.environment_failure: missing ffmpeg, disk full, out
of memory, CUDA, missing weights) is not the clip's: process_batch re-raises it as an
EnvironmentFailure, so that the run stops and a later run retries the clip.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa

from lsbench import media
from lsbench.audio import to_int16, wav2lip_mel
from lsbench.errors import Failure, MediaError, environment_failure
from lsbench.sync_energy import estimate_offset
from lsbench.syncnet.track import Track, crop_track, detect_sparse, track_faces

from .cut import cut_clip
from .schema import PIPELINE_VERSION, RESULT_SCHEMA, SHARD_SCHEMA, make_row

SPF = media.SAMPLES_PER_FRAME


def _fail(stage: str, code: str, message: str) -> Failure:
    return Failure(message, code, stage)


@dataclass
class Config:
    crop_size: int = 96
    crop_scale: float = 0.15  # box growth around the face (0.4 = syncnet_python's crops)
    jpeg_quality: int = 95
    detect_every: int = 5
    min_face_size: float = 40.0
    min_coverage: float = 0.8  # the chosen face track must span this share of the clip
    sync: str = "auto"  # auto (= syncnet when its weights are found, else none) | syncnet | energy | none
    sync_min_conf: float = 3.0  # SyncNet LSE-C
    energy_min_conf: float = 4.0  # energy estimator: peak height in standard deviations
    sync_max_offset: int = 6
    max_pixels: int = 1280 * 720  # decode bound: larger frames are downscaled while decoding (memory, speed)
    min_frames: int = 6  # one SyncNet window + 1
    max_decode_gb: float = 4.0  # a clip whose decoded frames would exceed this is refused as too_long, not decoded
    keep_source_pixels: int = 256 * 256  # sources this small (LRS2, LRW, VoxCeleb2) keep their file in the shard
    keep_source_bytes: int = 32 << 20

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Clip:
    """What flows from stage to stage for one clip."""

    ref: dict
    frames: np.ndarray = None  # (T,H,W,3) RGB
    audio: np.ndarray = None  # float32 16 kHz on the video's timeline
    scale: float = 1.0  # decoded size / source size
    track: Optional[Track] = None
    offset: int = 0
    conf: float = float("nan")
    dist: float = float("nan")
    method: str = "none"
    first: int = 0  # kept frame range [first, last)
    last: int = 0
    timings: Dict[str, float] = field(default_factory=dict)


def decoded_bytes(info, max_pixels: int) -> float:
    """Memory the clip's 25 fps RGB frames take once decoded at the size decode() uses."""
    pixels = min(info.width * info.height, max_pixels)
    seconds = info.video_duration or info.duration
    return seconds * media.FPS * pixels * 3


def _check_decode_size(src: str, info, cfg: Config) -> None:
    need = decoded_bytes(info, cfg.max_pixels)
    if need > cfg.max_decode_gb * 1e9:
        seconds = info.video_duration or info.duration
        raise _fail("decode", "too_long", f"{src}: {seconds:.0f} s of {info.width}x{info.height} video would take "
                                               f"{need / 1e9:.1f} GB once decoded, above the {cfg.max_decode_gb:g} GB "
                                               f"bound (--max-decode-gb); split the clip or raise the bound")


def decode(clip: Clip, cfg: Config) -> Clip:
    """25 fps RGB frames and 16 kHz mono audio (separate audio file if the recipe gives one)."""
    src = clip.ref["source_path"]
    if clip.ref.get("missing"):
        raise _fail("listed", "missing_file", f"{src}: listed in the split file but not on disk")
    if clip.ref.get("cut"):  # a stretch of a longer video (HDTF): cut once into src
        try:
            cut_clip(clip.ref)
        except Failure as exc:
            raise _fail("listed" if exc.code == "missing_file" else "decode", exc.code, str(exc)) from None
    try:
        info = media.probe(src)
        if not info.has_video:
            raise MediaError(src, "no video stream", "no_video")
        _check_decode_size(src, info, cfg)
        clip.frames, clip.audio = media.read_clip(src, clip.ref.get("audio_path") or None, cfg.max_pixels, info)
        clip.scale = clip.frames.shape[2] / info.width
    except Failure as exc:
        raise _fail("decode", exc.code, str(exc)) from None
    if len(clip.frames) < cfg.min_frames:
        raise _fail("decode", "too_short", f"{src}: {len(clip.frames)} frames at 25 fps, fewer than {cfg.min_frames}")
    if np.abs(clip.audio).max(initial=0) < 1e-4:
        raise _fail("decode", "silent_audio", f"{src}: the audio track is silent")
    return clip


def clip_boxes(dets: List[np.ndarray], width: int, height: int) -> "tuple[List[np.ndarray], Optional[tuple]]":
    """Detector boxes clipped to the frame; boxes that are not finite or have no area inside
    the frame are dropped. Returns the clipped boxes per frame and the first dropped
    (frame, box), so that a clip whose every box was absurd can say which box it got."""
    out, first_bad = [], None
    for i, d in enumerate(dets):
        d = np.asarray(d, np.float64)
        if d.size == 0:
            out.append(np.zeros((0, 5)))
            continue
        d = d.reshape(len(d), -1)
        finite = np.isfinite(d[:, :4]).all(1)
        c = d.copy()
        c[:, [0, 2]] = np.clip(np.nan_to_num(c[:, [0, 2]]), 0, width)
        c[:, [1, 3]] = np.clip(np.nan_to_num(c[:, [1, 3]]), 0, height)
        good = finite & (c[:, 2] - c[:, 0] >= 1) & (c[:, 3] - c[:, 1] >= 1)
        if first_bad is None and not good.all():
            first_bad = (i, d[int(np.argmin(good))][:4].tolist())
        out.append(c[good])
    return out, first_bad


def detect_and_track(clip: Clip, detector, cfg: Config) -> Clip:
    """Detect every k-th frame, clip the boxes to the frame, link into tracks, keep the speaking face's track."""
    n, height, width = clip.frames.shape[:3]
    step = max(1, cfg.detect_every)
    raw = detect_sparse(detector, clip.frames, step, last=True)  # the last frame too, so tracks reach the end
    dets, bad = clip_boxes(raw, width, height)
    min_span = max(cfg.min_frames, int(cfg.min_coverage * n)) - 1
    tracks = track_faces(dets, min_track=min_span, num_failed_det=max(25, 2 * step),
                         min_face_size=cfg.min_face_size * clip.scale)
    if not tracks:
        n_det = sum(len(d) for d in dets)
        src = clip.ref["source_path"]
        if n_det == 0 and bad is not None:
            raise _fail("detect", "bad_box", f"{src}: the detector's boxes cannot be cropped from the "
                                                  f"{width}x{height} decoded frame, e.g. {_box(bad[1])} in frame {bad[0]} "
                                                  f"(not finite, or no area inside the frame)")
        reason = "no_face" if n_det == 0 else "face_lost"
        raise _fail("detect", reason, f"{src}: no face track spans {cfg.min_coverage:.0%} of the "
                                           f"clip ({n_det} detections in {len(range(0, n, step))} frames looked at)")
    if len(tracks) > 1:  # several faces: the one whose mouth moves with the audio speaks
        confs = [_track_energy(clip, t).conf for t in tracks]
        tracks = [tracks[int(np.argmax(confs))]]
    clip.track = tracks[0]
    clip.first, clip.last = int(clip.track.frames[0]), int(clip.track.frames[-1]) + 1
    return clip


def _box(box) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in box) + "]"


def crop(clip: Clip, track: Track, crop_scale: float, size: int) -> np.ndarray:
    """crop_track, with a box OpenCV cannot crop turned into a bad_box error naming it."""
    import cv2

    try:
        return crop_track(clip.frames, track, crop_scale, size)
    except (cv2.error, ValueError, OverflowError) as exc:
        raise _fail("detect", "bad_box", f"{clip.ref['source_path']}: face box {_box(track.boxes[0])} (first of "
                                              f"the track) cannot be cropped ({type(exc).__name__}: "
                                              f"{(str(exc).strip().splitlines() or [''])[-1][:200]})") from None


def _track_energy(clip: Clip, track: Track):
    frames = clip.frames[track.frames[0] : track.frames[-1] + 1]
    audio = clip.audio[track.frames[0] * SPF : (track.frames[-1] + 1) * SPF]
    return estimate_offset(frames, audio, boxes=track.boxes)


def synchronise(clip: Clip, scorer, cfg: Config) -> Clip:
    """Estimate the AV offset of the track, drop the clip when out of sync, else cut the
    frame range and audio so that they line up (no invented silence)."""
    method = cfg.sync if cfg.sync != "auto" else ("syncnet" if scorer is not None else "none")
    if method == "none":
        clip.method = "none"
        return clip
    if method == "syncnet":
        crops = crop(clip, clip.track, 0.4, 224)
        audio = to_int16(clip.audio[clip.first * SPF : clip.last * SPF])
        try:
            res = scorer.score(crops, audio)
        except Failure as exc:  # ClipTooShort: too_short
            raise _fail("sync", exc.code, f"{clip.ref['source_path']}: {exc}") from None
        except Exception as exc:
            if environment_failure(exc):
                raise
            raise _fail("sync", "sync_failed",
                        f"{clip.ref['source_path']}: SyncNet failed ({type(exc).__name__}: {exc})") from None
        clip.offset, clip.conf, clip.dist = res.offset, res.lse_c, res.lse_d
    else:
        est = _track_energy(clip, clip.track)
        clip.offset, clip.conf = est.offset, est.conf
    clip.method = method
    min_conf = cfg.sync_min_conf if method == "syncnet" else cfg.energy_min_conf
    if clip.conf < min_conf or abs(clip.offset) > cfg.sync_max_offset:
        raise _fail("sync", "out_of_sync", f"{clip.ref['source_path']}: offset {clip.offset} frames, confidence "
                                                f"{clip.conf:.2f} ({method}; keep: conf >= {min_conf}, "
                                                f"|offset| <= {cfg.sync_max_offset})")
    return clip


def aligned_ranges(first: int, last: int, offset: int) -> "tuple[int, int, int]":
    """(first, last, audio_start_frame) after correcting `offset` (syncnet_python sign).

    offset > 0: the audio is early, frame v sounds at v - offset: drop the first frames.
    offset < 0: the audio is late, frame v sounds at v + |offset|: drop the last frames."""
    if offset > 0:
        return first + offset, last, first
    if offset < 0:
        return first, last + offset, first - offset
    return first, last, first


def to_row(clip: Clip, cfg: Config, detector_name: str) -> dict:
    import cv2

    first, last, a0 = aligned_ranges(clip.first, clip.last, clip.offset)
    n = last - first
    if n < cfg.min_frames:
        raise _fail("sync", "too_short", f"{clip.ref['source_path']}: {n} frames left after the offset correction")
    keep = Track(clip.track.frames[first - clip.first : last - clip.first],
                 clip.track.boxes[first - clip.first : last - clip.first], clip.track.scores)
    crops = crop(clip, keep, cfg.crop_scale, cfg.crop_size)
    jpegs = [cv2.imencode(".jpg", c[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])[1].tobytes() for c in crops]
    audio = np.zeros(n * SPF, np.float32)
    seg = clip.audio[a0 * SPF : (a0 + n) * SPF]
    audio[: len(seg)] = seg
    mel = wav2lip_mel(audio)
    ref = clip.ref
    return make_row(
        clip_id=ref["clip_id"], dataset=ref["dataset"], split=ref["split"], speaker_id=ref["speaker_id"],
        video_id=ref["video_id"], source_path=ref["source_path"], transcript=ref.get("transcript") or "",
        words=_words(ref.get("words")), word_duration=_optional_float(ref.get("word_duration")),
        fps=media.FPS, n_frames=n, start_s=first / media.FPS,
        frames=jpegs, crop_size=cfg.crop_size, crop_scale=cfg.crop_scale,
        source_video=source_copy(ref["source_path"], clip, cfg),
        boxes=(keep.boxes / clip.scale).astype(np.float32).tolist(),
        audio=to_int16(audio).astype("<i2").tobytes(), sample_rate=media.SAMPLE_RATE,
        mel=mel.astype(np.float16).tolist(),
        av_offset=int(clip.offset), sync_conf=float(clip.conf), sync_dist=float(clip.dist),
        sync_method=clip.method, offset_applied=clip.method != "none" and clip.offset != 0,
        pipeline_version=PIPELINE_VERSION, detector=detector_name,
    )


def _words(words) -> Optional[List[dict]]:
    """Word timings from a ClipRef: a list, or the JSON text Ray Data carries them as."""
    if isinstance(words, str):
        words = json.loads(words) if words else None
    if not words:
        return None
    return [{"word": w.get("word"), "start": w.get("start"), "end": w.get("end"), "asd": w.get("asd")} for w in words]


def _optional_float(v) -> Optional[float]:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def source_copy(path: str, clip: Clip, cfg: Config) -> Optional[bytes]:
    """The source file itself when it is small and face-centred, so that `evaluate` can rebuild the
    full frames the official scripts score without the corpus; large sources are decoded again
    from source_path (their box track is in the row)."""
    import os

    h, w = clip.frames.shape[1:3]
    pixels = (w / clip.scale) * (h / clip.scale)
    if pixels > cfg.keep_source_pixels or os.path.getsize(path) > cfg.keep_source_bytes:
        return None
    with open(path, "rb") as f:
        return f.read()


def process_clip(ref: dict, detector, scorer, cfg: Config) -> dict:
    clip = Clip(ref)
    for name, fn in (("decode", lambda c: decode(c, cfg)), ("detect", lambda c: detect_and_track(c, detector, cfg)),
                     ("sync", lambda c: synchronise(c, scorer, cfg))):
        t0 = time.perf_counter()
        clip = fn(clip)
        clip.timings[name] = time.perf_counter() - t0
    return to_row(clip, cfg, getattr(detector, "name", "?"))


def error_row(ref: dict, stage: str, reason: str, message: str) -> dict:
    return {"clip_id": ref["clip_id"], "source_path": ref.get("source_path", ""), "stage": stage, "reason": reason,
            "message": message}


def process_batch(batch: Dict[str, list], detector, scorer, cfg: Config) -> pa.Table:
    """Dict batch of ClipRef columns -> RESULT_SCHEMA table, one row per input clip.
    Raises EnvironmentFailure (and writes no row) when the machine, not a clip, failed."""
    keys = list(batch)
    n = len(batch[keys[0]]) if keys else 0
    rows = []
    for i in range(n):
        ref = {k: _plain(batch[k][i]) for k in keys}
        try:
            row = process_clip(ref, detector, scorer, cfg)
            row.update(ok=True, error_stage=None, error_reason=None, error_message=None)
        except Failure as exc:
            row = _empty_row(ref)
            row.update(ok=False, error_stage=exc.stage or "internal", error_reason=exc.code, error_message=str(exc))
        except Exception as exc:  # a bug or an unforeseen input: recorded, never a crash of the run
            env = environment_failure(exc)
            if env is not None:
                raise env
            row = _empty_row(ref)
            row.update(ok=False, error_stage="internal", error_reason="exception",
                       error_message=f"{ref.get('source_path')}: {type(exc).__name__}: {exc}")
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


ENVIRONMENT_STAGE = "environment"  # marker rows: the machine failed, the clips get no row


def environment_rows(batch: Dict[str, list], message: str) -> pa.Table:
    """What an actor returns instead of raising an EnvironmentFailure: one marker row per clip,
    which the driver turns back into the failure (a raised exception reaches it only as a Ray
    traceback dump, its type lost)."""
    keys = list(batch)
    rows = []
    for i in range(len(batch[keys[0]]) if keys else 0):
        row = _empty_row({k: _plain(batch[k][i]) for k in keys})
        row.update(ok=False, error_stage=ENVIRONMENT_STAGE, error_reason="environment", error_message=message)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _empty_row(ref: dict) -> dict:
    row = {f.name: None for f in SHARD_SCHEMA}
    row.update({k: ref.get(k) for k in ("clip_id", "dataset", "split", "speaker_id", "video_id", "source_path")})
    return row

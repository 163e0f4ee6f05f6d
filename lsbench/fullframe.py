"""Full frames for evaluation: the source frames of a shard clip, the face boxes Wav2Lip's
evaluation script cuts from them, paste-back, and the mp4 its script writes.

gen_videos_from_filelist.py reads the source video's frames, takes the detector box as
integers, pads it (default 0 px) and clips it to the frame, smooths it over 5 frames in
place in an integer array (so the mean is truncated and the last windows reuse boxes
already smoothed), resizes the box to the model's face size, and pastes the generated
face back at the box's size. It writes the frames with OpenCV's DIVX writer and muxes the
speech with `ffmpeg -i speech.wav -i result.avi -strict -2 -q:v 1 out.mp4`. Each step here
is that step, so the mp4 that lsbench scores is the mp4 the official script would score.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from . import media
from .errors import MediaError

SMOOTH_WINDOW = 5
OFFICIAL_PADS = (0, 0, 0, 0)  # top, bottom, left, right: gen_videos_from_filelist.py's default


def source_frames(row: dict, n: int, max_pixels: int = media.MAX_PIXELS) -> Tuple[np.ndarray, float]:
    """(n,H,W,3) RGB frames of the clip's window in its source at 25 fps, and the decode scale
    (decoded width / source width). The source is the shard's stored copy when it has one,
    else the file at source_path."""
    start = int(round(float(row.get("start_s") or 0.0) * media.FPS))
    stored = row.get("source_video")
    with tempfile.TemporaryDirectory(prefix="lsbench-src-") as tmp:
        if stored:
            path = Path(tmp) / ("source" + Path(row.get("source_path") or "x.mp4").suffix)
            path.write_bytes(stored)
        else:
            path = Path(row["source_path"])
            if not path.is_file():
                raise MediaError(str(path), "the clip's source video is not there any more (the shards keep no copy of "
                                            "large sources: restore the corpus at this path, or re-run preprocess)")
        info = media.probe(path)
        frames = media.read_frames(path, max_frames=start + n, max_pixels=max_pixels, info=info)
    if len(frames) < start + n:
        raise MediaError(str(row.get("source_path")), f"the source has {len(frames)} frames at 25 fps; the clip needs "
                                                      f"frames {start}..{start + n - 1}")
    return np.ascontiguousarray(frames[start:start + n]), frames.shape[2] / info.width


def official_boxes(boxes: np.ndarray, shape: Tuple[int, int], pads: Sequence[int] = OFFICIAL_PADS) -> np.ndarray:
    """(T,4) integer x1,y1,x2,y2 as gen_videos_from_filelist.py makes them from detector boxes."""
    h, w = shape
    top, bottom, left, right = pads
    b = np.asarray(boxes, np.float64).astype(np.int64)  # map(int, ...): truncation toward zero
    b = np.clip(b, 0, None)
    out = np.stack([np.maximum(0, b[:, 0] - left), np.maximum(0, b[:, 1] - top),
                    np.minimum(w, b[:, 2] + right), np.minimum(h, b[:, 3] + bottom)], axis=1)
    n = len(out)
    for i in range(n):  # in place, integer array: what get_smoothened_boxes does
        window = out[n - SMOOTH_WINDOW:] if i + SMOOTH_WINDOW > n else out[i:i + SMOOTH_WINDOW]
        out[i] = np.mean(window, axis=0)
    bad = (out[:, 2] <= out[:, 0]) | (out[:, 3] <= out[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"face box {out[i].tolist()} of frame {i} is empty inside the {w}x{h} frame")
    return out


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(T,size,size,3) crops of each frame at its box, resized as the official script (cv2 bilinear)."""
    import cv2

    return np.stack([cv2.resize(np.ascontiguousarray(f[y1:y2, x1:x2]), (size, size))
                     for f, (x1, y1, x2, y2) in zip(frames, boxes)])


def paste_faces(frames: np.ndarray, boxes: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The frames with each face resized to its box and pasted in (a copy)."""
    import cv2

    out = frames.copy()
    for f, (x1, y1, x2, y2), face in zip(out, boxes, faces):
        f[y1:y2, x1:x2] = cv2.resize(np.ascontiguousarray(face), (int(x2 - x1), int(y2 - y1)))
    return out


def write_official_mp4(path: "str | Path", frames_rgb: np.ndarray, speech: np.ndarray, fps: int = media.FPS) -> Path:
    """The generated video as the official script writes it: OpenCV DIVX AVI, then ffmpeg muxes
    the speech wav (PCM16) into an mp4 with its default codecs (H.264 + AAC)."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames_rgb.shape[1:3]
    with tempfile.TemporaryDirectory(prefix="lsbench-out-") as tmp:
        avi, wav = Path(tmp) / "result.avi", Path(tmp) / "speech.wav"
        writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"DIVX"), fps, (w, h))
        if not writer.isOpened():
            raise MediaError(str(avi), "OpenCV cannot open a DIVX video writer (its FFmpeg backend is missing)")
        for f in frames_rgb:
            writer.write(np.ascontiguousarray(f[..., ::-1]))
        writer.release()
        media.write_wav(wav, speech)
        proc = subprocess.run(["ffmpeg", "-loglevel", "error", "-nostdin", "-y", "-i", str(wav), "-i", str(avi),
                               "-strict", "-2", "-q:v", "1", str(path)], capture_output=True)
        if proc.returncode != 0:
            raise MediaError(str(path), f"muxing failed ({proc.stderr.decode(errors='replace').strip()[-300:]})")
    return path


def is_whole_source(row: dict, n: int) -> Optional[Path]:
    """The original file when the clip is the whole source with its own audio, unshifted (the
    `ground-truth` row then scores the real video itself, as Wav2Lip's "Real videos" row does)."""
    if row.get("offset_applied") or float(row.get("start_s") or 0) != 0 or row.get("audio_path"):
        return None
    path = Path(row.get("source_path") or "")
    if not path.is_file():
        return None
    info = media.probe(path)
    frames = int(round((info.video_duration or info.duration) * media.FPS))
    return path if frames == n and info.has_audio and abs(info.fps - media.FPS) < 1e-3 else None

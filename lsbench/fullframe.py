"""Full-frame geometry: the face boxes Wav2Lip's scripts cut from whole frames, the crops, the
paste-back, and the mp4 the evaluation script writes. One module for `evaluate` and `generate`.

Both official scripts make boxes the same way (face_detection's api.py, then face_detect): the
detector box clipped at 0 and truncated to integers, padded by (top, bottom, left, right) and
clipped to the frame, then smoothed over 5 frames *in place* in the integer array (so each mean
is truncated and the last windows reuse boxes already smoothed). The crop is resized to the
model's face size, the generated face resized back to the box and pasted in. They differ only in
their pads, so each is a named preset:

* GEN_VIDEOS -- evaluation/gen_videos_from_filelist.py, pads (0, 0, 0, 0): what `evaluate` scores;
* INFERENCE -- inference.py, pads (0, 10, 0, 0) (the chin): what `lsbench generate` writes.

gen_videos_from_filelist.py writes the frames with OpenCV's DIVX writer and muxes the speech with
`ffmpeg -i speech.wav -i result.avi -strict -2 -q:v 1 out.mp4` (write_official_mp4).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import media
from .errors import MediaError

SMOOTH_WINDOW = 5


@dataclass(frozen=True)
class Geometry:
    """How one official script turns detector boxes into the boxes it crops and pastes."""

    name: str
    script: str
    pads: Tuple[int, int, int, int]  # top, bottom, left, right, in pixels
    smooth_window: int = SMOOTH_WINDOW

    def describe(self) -> str:
        return (f"{self.script}: integer boxes, pads {self.pads} (top, bottom, left, right), clipped to the frame, "
                f"smoothed over {self.smooth_window} frames in place (get_smoothened_boxes)")


GEN_VIDEOS = Geometry("gen_videos_from_filelist", "Wav2Lip evaluation/gen_videos_from_filelist.py", (0, 0, 0, 0))
INFERENCE = Geometry("inference", "Wav2Lip inference.py", (0, 10, 0, 0))
PRESETS: Dict[str, Geometry] = {g.name: g for g in (GEN_VIDEOS, INFERENCE)}


def face_boxes(boxes: np.ndarray, shape: Tuple[int, int], geometry: Geometry = GEN_VIDEOS,
               pads: Optional[Sequence[int]] = None, smooth: bool = True) -> np.ndarray:
    """(T,4) integer x1,y1,x2,y2 as the script makes them from (T,4) detector boxes in the
    frame's pixels; `pads` overrides the preset's (inference.py's --pads), smooth=False skips the
    smoothing (inference.py's --nosmooth)."""
    h, w = shape
    top, bottom, left, right = geometry.pads if pads is None else pads
    b = np.clip(np.asarray(boxes, np.float64), 0, None).astype(np.int64)  # api.py: np.clip(d, 0), map(int, ...)
    out = np.stack([np.maximum(0, b[:, 0] - left), np.maximum(0, b[:, 1] - top),
                    np.minimum(w, b[:, 2] + right), np.minimum(h, b[:, 3] + bottom)], axis=1)
    n, k = len(out), geometry.smooth_window if smooth else 1
    for i in range(n):  # in place, integer array: what get_smoothened_boxes does
        window = out[n - k:] if i + k > n else out[i:i + k]
        out[i] = np.mean(window, axis=0)
    bad = (out[:, 2] <= out[:, 0]) | (out[:, 3] <= out[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"face box {out[i].tolist()} of frame {i} is empty inside the {w}x{h} frame")
    return out


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(T,size,size,3) crops of each frame at its box, resized as the official scripts (cv2 bilinear)."""
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

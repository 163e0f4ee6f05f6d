"""``lsbench generate``: drive a full video with new speech, the way Wav2Lip's inference.py
does it: find the face in every frame, make inference.py's boxes (lsbench.fullframe's
INFERENCE preset: integer boxes, 10 px below the chin, smoothed over 5 frames in place),
generate 96x96 faces in batches and paste them back.

The output has one frame per 40 ms of the driving audio; a video shorter than the audio is
looped, as the official script loops it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from . import media
from .errors import LsbenchError
from .media import SAMPLES_PER_FRAME


def face_boxes(frames: Sequence[np.ndarray], detector, every: int = 1, progress: bool = True,
               source: str = "video") -> Tuple[np.ndarray, int]:
    """(T,4) float boxes (the largest face per frame) and how many frames had none; those get
    the box interpolated from their neighbours."""
    from tqdm import tqdm

    from .syncnet.track import detect_sparse

    found = []
    step = 64
    for i in tqdm(range(0, len(frames), step), desc="detect faces", unit="chunk", disable=not progress):
        found.extend(detect_sparse(detector, frames[i:i + step], every))
    boxes = np.full((len(frames), 4), np.nan)
    for i, d in enumerate(found):
        if len(d):
            areas = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])
            boxes[i] = d[int(np.argmax(areas)), :4]
    have = np.flatnonzero(~np.isnan(boxes[:, 0]))
    if len(have) == 0:
        raise LsbenchError(f"{source}: no face found in any of its {len(frames)} frames")
    missing = len(frames) - len(have)
    for k in range(4):
        boxes[:, k] = np.interp(np.arange(len(frames)), have, boxes[have, k])
    return boxes, missing


def generate_video(model_name: str, video: Path, out: Path, audio: Optional[Path] = None, detector: str = "dlib",
                   pads: Sequence[int] = (0, 10, 0, 0), smooth: bool = True, device: str = "auto",
                   weights_path: Optional[Path] = None, progress: bool = True,
                   echo: Callable[[str], None] = print) -> Path:
    from . import fullframe
    from .detectors import create
    from .device import pick
    from .models.create import create_model
    from .models.face_crop import FACE, FaceCropModel

    device = pick(device)
    model = create_model(model_name, device, weights_path)
    if not isinstance(model, FaceCropModel):
        raise LsbenchError(f"model {model_name!r} has no full-frame mode (only face-crop generators do)")
    speech = media.read_audio(audio or video)
    n_out = max(1, int(round(len(speech) / SAMPLES_PER_FRAME)))
    fps = media.probe(video).fps
    if abs(fps - media.FPS) > 1e-3:
        echo(f"note: {video} is {fps:g} fps; it is read at {media.FPS} fps (frames dropped or repeated) and the "
             f"output is {media.FPS} fps")
    frames = np.stack(list(media.iter_frames(video)))
    det = create(detector, device)  # the one factory: auto resolves as `score` and `preprocess` resolve it
    echo(f"detector: {det.name}")
    found, missing = face_boxes(frames, det, progress=progress, source=str(video))
    if missing:
        echo(f"{video}: no face in {missing} of {len(frames)} frames; their boxes are interpolated")
    try:
        boxes = fullframe.face_boxes(found, frames.shape[1:3], fullframe.INFERENCE, pads, smooth)
    except ValueError as exc:
        raise LsbenchError(f"{video}: {exc}") from None
    idx = np.arange(n_out) % len(frames)  # loop the video over longer speech
    faces_in = np.ascontiguousarray(fullframe.crop_faces(frames[idx], boxes[idx], FACE)[..., ::-1])  # BGR, as cv2 reads
    faces = model.faces(faces_in, faces_in, np.pad(speech, (0, max(0, n_out * SAMPLES_PER_FRAME - len(speech)))),
                        media.FPS)
    result = fullframe.paste_faces(frames[idx], boxes[idx], np.ascontiguousarray(faces[..., ::-1]))
    media.write_video(out, result, audio=speech[: n_out * SAMPLES_PER_FRAME])
    prov = model.provenance()
    if not all(p.get("official") for p in prov.values()):
        echo("WARNING: weights are not verifiably the official files: " +
             "; ".join(f"{k}: {p.get('why')}" for k, p in prov.items() if not p.get("official")))
    echo(f"{model_name}: {n_out} frames ({n_out / media.FPS:.2f} s) -> {out}")
    return out

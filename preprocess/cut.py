"""Clips that a recipe names as a stretch of a longer video (HDTF's annotations): cut once, at
decode time, into the clip file the ClipRef names, so a resumed or repeated run reuses it and
`evaluate` later reads the same frames from the row's source_path.

The cut: the stretch [start, end) by ffmpeg's accurate seek, the crop window (x, width, y,
height in the long video's pixels), 25 fps, 16 kHz mono, H.264 CRF 17 with PCM audio in .mkv.
A window that does not lie inside the frame is a bad_box failure naming the window; a long
video absent on disk is missing_file, naming the annotation that lists it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lsbench import media
from lsbench.errors import Failure, MediaError


def cut_clip(ref: dict) -> None:
    """Write ref['source_path'] from ref['cut'] unless it is there already."""
    spec = json.loads(ref["cut"]) if isinstance(ref["cut"], str) else ref["cut"]
    dest, src = Path(ref["source_path"]), spec["from"]
    if dest.is_file():
        return
    if not Path(src).is_file():
        raise Failure(f"{src}: named in {spec.get('annotation', 'the annotations')} but not on disk", "missing_file")
    try:
        info = media.probe(src)
    except MediaError as exc:
        raise Failure(str(exc), exc.code) from None
    filters = [f"fps={media.FPS}"]
    if spec.get("crop"):
        x, w, y, h = (int(v) for v in spec["crop"])
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > info.width or y + h > info.height:
            raise Failure(f"{src}: crop window x={x} width={w} y={y} height={h} ({spec.get('annotation', '')}, "
                          f"{dest.stem}) does not lie inside the {info.width}x{info.height} frame", "bad_box")
        filters.insert(0, f"crop={w}:{h}:{x}:{y}")
    if float(spec["start"]) >= min(float(spec["end"]), info.duration or float("inf")):
        raise Failure(f"{src}: stretch {spec['start']:g}-{spec['end']:g} s of {dest.stem} starts after the video's end "
                      f"({info.duration:.1f} s)", "too_short")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.part.mkv")
    try:
        media.ffmpeg("-ss", f"{float(spec['start']):.3f}", "-to", f"{float(spec['end']):.3f}", "-i", src,
                     "-vf", ",".join(filters), "-c:v", "libx264", "-crf", "17", "-preset", "veryfast",
                     "-pix_fmt", "yuv420p", "-ac", "1", "-ar", str(media.SAMPLE_RATE), "-c:a", "pcm_s16le", str(tmp))
        os.replace(tmp, dest)
    except RuntimeError as exc:
        raise Failure(f"{src}: cutting {dest.stem} failed ({exc})", "corrupt") from None
    finally:
        tmp.unlink(missing_ok=True)

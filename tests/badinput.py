"""A bad-input corpus generator: an LRS2-layout corpus mixing good clips with every kind of
broken or awkward input a real corpus holds. Returns clip id -> the expected outcome
("ok" or the errors-table reason)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict

import numpy as np

from lsbench import media, synthetic
from lsbench.media import ffmpeg


def build(media_dir: Path, root: Path) -> Dict[str, str]:
    main = root / "mvlrs_v1" / "main"
    expected: Dict[str, str] = {}
    items = []

    def add(video_id: str, clip: str, outcome: str) -> Path:
        d = main / video_id
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{clip}.txt").write_text("Text:  BAD INPUT\n")
        items.append(f"{video_id}/{clip}")
        expected[f"lrs2/test/{video_id}/{clip}"] = outcome
        return d / f"{clip}.mp4"

    face = synthetic.make_clip(2.0, seed=5)
    good = synthetic.write_clip(add("good", "00001", "ok"), face)
    src = media_dir / "videoretalking" / "face_3.mp4"
    ffmpeg("-i", str(src), "-t", "2", "-vf", "crop=400:400:95:40,scale=160:160", "-c:a", "aac", str(add("good", "00002", "ok")))
    data = good.read_bytes()
    add("bad", "corrupt", "corrupt").write_bytes(b"\x00" * 64 + data[64:])
    add("bad", "truncated", "corrupt").write_bytes(data[: len(data) // 3])
    add("bad", "empty", "empty_file").write_bytes(b"")
    ffmpeg("-i", str(good), "-an", "-c:v", "copy", str(add("bad", "noaudio", "no_audio")))
    ffmpeg("-i", str(good), "-vn", "-c:a", "copy", str(add("bad", "novideo", "no_video")))
    rng = np.random.default_rng(0)
    scenery = np.repeat(rng.integers(0, 255, (1, 160, 160, 3), dtype=np.uint8), 50, axis=0)
    media.write_video(add("bad", "noface", "no_face"), scenery, audio=face.audio)
    two = np.concatenate([face.frames, face.frames[:, :, ::-1]], axis=2)  # the same face twice, side by side
    media.write_video(add("odd", "twofaces", "ok"), two, audio=face.audio)
    ffmpeg("-i", str(good), "-vf", "fps=30", "-c:a", "copy", str(add("odd", "fps30", "ok")))
    ffmpeg("-i", str(good), "-vf", "fps=60", "-c:a", "copy", str(add("odd", "fps60", "ok")))
    ffmpeg("-i", str(good), "-c:v", "copy", "-ar", "44100", "-ac", "2", "-c:a", "aac", str(add("odd", "stereo44k", "ok")))
    ffmpeg("-i", str(good), "-c:v", "copy", "-ar", "48000", "-ac", "2", "-c:a", "aac", str(add("odd", "stereo48k", "ok")))
    ffmpeg("-i", str(good), "-vf", "scale=1080:1080,pad=1080:1920:0:420", "-c:v", "libx265", "-preset", "ultrafast",
           "-x265-params", "log-level=error", "-c:a", "copy", str(add("odd", "hevc_portrait", "ok")))
    ffmpeg("-i", str(good), "-af", "volume=0", "-c:v", "copy", "-c:a", "aac", str(add("bad", "silent", "silent_audio")))
    ffmpeg("-i", str(good), "-t", "0.16", "-c:a", "aac", str(add("bad", "short", "too_short")))
    ffmpeg("-i", str(good), "-t", "1", "-vf", "scale=2160:2160,pad=3840:2160:840:0",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", str(add("odd", "uhd4k", "ok")))
    odd_dir = main / "ödd name"
    odd_dir.mkdir(parents=True)
    shutil.copy(good, odd_dir / "clip one.mp4")
    items.append("ödd name/clip one")
    expected["lrs2/test/ödd name/clip one"] = "ok"
    items.append("gone/00001")
    expected["lrs2/test/gone/00001"] = "missing_file"
    for split in ("train", "val", "pretrain"):
        (root / f"{split}.txt").write_text("")
    (root / "test.txt").write_text("".join(f"{i} NF\n" for i in items))
    return expected

"""Tiny corpora in the exact LRS2, LRW and VoxCeleb2 layouts, cut from ../shared/media.

Used by the tests (and later by the preprocess end-to-end tests); nothing here is copied
into the repository: clips are cut with ffmpeg into a temporary folder.
"""

from __future__ import annotations

import functools

import numpy as np

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from lsbench.media import ffmpeg

# (source clip relative to shared/media, start s, duration s)
SOURCES: List[Tuple[str, float, float]] = [
    ("videoretalking/face_2.mp4", 0.0, 2.0),
    ("videoretalking/face_3.mp4", 1.0, 2.0),
    ("syncnet_example/video.avi", 0.5, 3.0),
    ("hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", 2.0, 2.5),
    ("latentsync/demo1_video.mp4", 3.0, 1.5),
]
WORDS = ["ABOUT", "BECAUSE", "PEOPLE"]


@functools.lru_cache(maxsize=None)
def face_square(src: Path, start: float) -> "tuple[int, int, int]":
    """(x, y, side) of a square around the face at `start`, the way LRS2/VoxCeleb2 clips are
    face-centred; found once per source with lsbench's weight-free detector."""
    from lsbench import media
    from lsbench.detectors.dlib_hog import DlibHOGDetector
    from lsbench.detectors.dlib_mmod import DlibMMODDetector

    info = media.probe(src)
    frame = next(f for i, f in enumerate(media.iter_frames(src)) if i >= int(start * 25))
    found = np.concatenate([DlibHOGDetector().detect_one(frame), DlibMMODDetector().detect_one(frame)])
    box = found[np.argmax(np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]))]  # the largest face
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = int(min(2.2 * max(box[2] - box[0], box[3] - box[1]), info.width, info.height)) // 2 * 2
    x = int(min(max(cx - side / 2, 0), info.width - side))
    y = int(min(max(cy - side / 2, 0), info.height - side))
    return x, y, side


def cut(src: Path, dest: Path, start: float, duration: float, size: int, audio: bool = True,
        vcodec: str = "libx264") -> Path:
    """A re-encoded excerpt at 25 fps, size x size around the face, 16 kHz mono AAC."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    x, y, side = face_square(src, start)
    vf = f"crop={side}:{side}:{x}:{y},scale={size}:{size},fps=25"
    args = ["-ss", f"{start}", "-t", f"{duration}", "-i", str(src), "-vf", vf, "-c:v", vcodec, "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-ac", "1", "-ar", "16000"] if audio else ["-an"]
    ffmpeg(*args, str(dest))
    return dest


def build_lrs2(media: Path, root: Path, sources: Sequence = SOURCES) -> Dict[str, List[str]]:
    """mvlrs_v1/{main,pretrain}/<videoid>/<clip>.mp4 + .txt and the four split lists."""
    splits: Dict[str, List[str]] = {"train": [], "val": [], "test": [], "pretrain": []}
    order = ["train", "val", "test", "pretrain", "test"]
    for i, (rel, start, dur) in enumerate(sources):
        split = order[i % len(order)]
        video_id = f"{5535415699068794046 + i}"
        clip = f"{i + 1:05d}"
        folder = "pretrain" if split == "pretrain" else "main"
        base = root / "mvlrs_v1" / folder / video_id / clip
        cut(media / rel, base.with_suffix(".mp4"), start, dur, 160)
        text = f"Text:  HELLO WORLD NUMBER {i}\nConf:  4\n"
        if split == "pretrain":
            text += "\nWORD START END ASDSCORE\nHELLO 0.10 0.40 5.1\nWORLD 0.45 0.80 6.3\n"
        base.with_suffix(".txt").write_text(text)
        splits[split].append(f"{video_id}/{clip}")
    for split, items in splits.items():
        lines = [f"{x} NF" if split == "test" else x for x in items]  # test lines may carry a trailing token
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return splits


def build_lrw(media: Path, root: Path, sources: Sequence = SOURCES) -> List[Path]:
    """lipread_mp4/WORD/{train,val,test}/WORD_00001.{mp4,txt}: 29 frames (1.16 s)."""
    out = []
    for i, (rel, start, _) in enumerate(sources):
        word = WORDS[i % len(WORDS)]
        split = ["train", "val", "test"][i % 3]
        base = root / "lipread_mp4" / word / split / f"{word}_{i + 1:05d}"
        cut(media / rel, base.with_suffix(".mp4"), start, 1.16, 256)
        base.with_suffix(".txt").write_text(f"Text: {word}\nConf: 3\nDuration: 0.53 seconds\n")
        out.append(base.with_suffix(".mp4"))
    return out


def build_voxceleb2(media: Path, root: Path, sources: Sequence = SOURCES) -> List[Path]:
    """{dev,test}/mp4/idXXXXX/<youtube_id>/00001.mp4 with the audio also as aac/.../00001.m4a."""
    out = []
    for i, (rel, start, dur) in enumerate(sources):
        part = "test" if i % 2 else "dev"
        speaker, yt = f"id{10000 + i:05d}", f"yt{i:09d}"
        mp4 = root / part / "mp4" / speaker / yt / "00001.mp4"
        cut(media / rel, mp4, start, dur, 224)
        m4a = root / part / "aac" / speaker / yt / "00001.m4a"
        m4a.parent.mkdir(parents=True, exist_ok=True)
        ffmpeg("-i", str(mp4), "-vn", "-c:a", "copy", str(m4a))
        out.append(mp4)
    return out

"""HDTF (Zhang et al., CVPR 2021), in the two layouts people have. HDTF ships annotations, not clips,
so every lab cut its own; this recipe cuts them one way for everyone and records how.

(a) official: ROOT/HDTF_dataset/ as in the HDTF repository ({RD,WDA,WRA}_annotion_time.txt:
    `Name.mp4 MM:SS-MM:SS MM:SS-MM:SS ...`; _crop_wh.txt: `Name_k.mp4 x width y height`, the
    window in the video's pixels) and the downloaded long videos, named as in xx_video_url.txt,
    as ROOT/videos/Name.mp4 (or ROOT/videos/CAT/Name.mp4, or ROOT/Name.mp4). Clip k of Name.mp4 is
    its k-th annotated stretch, `Name_k` as the HDTF README names it, cropped by Name_k's window and
    written once at 25 fps and 16 kHz (H.264 CRF 17, PCM) under OUT/clips/ by the decode stage.
(b) already cut: ROOT/**/{RD,WDA,WRA}_<Name>_<nnn>.mp4, as the common download scripts write them;
    clip nnn of Name is `Name_k` with k = int(nnn), so both layouts give the same clip ids.

The split: HDTF has none. lsbench's `hdtf-identity-v1` split is identity-disjoint: a video's
identity is its name (WDA/WRA without the trailing digits that number one person's videos:
AmyKlobuchar0, AmyKlobuchar1 -> AmyKlobuchar; RD names as they are, one radio host each), and an
identity is `test` when sha-256("hdtf-identity-v1:" + identity) is 0 modulo 10, else `train`.
`--split-file FILE` replaces it: FILE lists test clips (`Name_k`, one per line), every other clip
is train. The split's definition and sha-256 go in the dataset card (and from it into results).

HDTF is scored by the `pipeline` LSE route (syncnet_python's real-video scripts).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from .base import ClipRef, LayoutError, Recipe, is_dir, is_file

CATEGORIES = ("RD", "WDA", "WRA")
SPLIT_RULE = "hdtf-identity-v1"
_STAMP = re.compile(r"^(\d+):(\d{2})-(\d+):(\d{2})$")
_CUT_NAME = re.compile(r"^(RD|WDA|WRA)_(.+)_(\d+)$")


def identity(category: str, name: str) -> str:
    return name if category == "RD" else re.sub(r"\d+$", "", name)


def rule_split(ident: str) -> str:
    digest = hashlib.sha256(f"{SPLIT_RULE}:{ident}".encode()).hexdigest()
    return "test" if int(digest, 16) % 10 == 0 else "train"


def read_annotations(folder: Path) -> Dict[str, List[Tuple[str, List[Tuple[float, float]]]]]:
    """{category: [(Name, [(start_s, end_s), ...]), ...]} from the _annotion_time.txt files; a line
    that cannot be read is a LayoutError naming the file and the line."""
    out = {}
    for cat in CATEGORIES:
        path = folder / f"{cat}_annotion_time.txt"
        if not is_file(path):
            continue
        entries = []
        for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            stamps = [_STAMP.match(p) for p in parts[1:]]
            if not parts[0].endswith(".mp4") or not stamps or not all(stamps):
                raise LayoutError(f"{path}:{no}: expected 'Name.mp4 MM:SS-MM:SS ...', got {line.strip()[:80]!r}")
            spans = [(int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])) for m in stamps]
            entries.append((parts[0][:-4], [(float(a), float(b)) for a, b in spans]))
        out[cat] = entries
    return out


def read_crops(folder: Path) -> Dict[str, Tuple[int, int, int, int]]:
    """{'Name_k': (x, width, y, height)} from the _crop_wh.txt files."""
    out = {}
    for cat in CATEGORIES:
        path = folder / f"{cat}_crop_wh.txt"
        if not is_file(path):
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 5 or not parts[0].endswith(".mp4") or not all(p.lstrip("-").isdigit() for p in parts[1:]):
                raise LayoutError(f"{path}:{no}: expected 'Name_k.mp4 x width y height', got {line.strip()[:80]!r}")
            out[parts[0][:-4]] = tuple(int(p) for p in parts[1:])
    return out


class HDTF(Recipe):
    name = "hdtf"
    splits = ("train", "test")

    def __init__(self, root, split_file: Optional[Path] = None):
        super().__init__(root)
        self.cut_root: Optional[Path] = None  # where layout (a)'s clips are written (preprocess: OUT/clips)
        self.annotations = self.root / "HDTF_dataset"
        self.official = is_dir(self.annotations)
        if not self.official and not self._cut_files():
            raise LayoutError(f"{self.root}: not an HDTF root (expected HDTF_dataset/ with the annotation files and "
                              f"the downloaded videos, or cut clips named RD|WDA|WRA_<Name>_<nnn>.mp4)")
        self.split_file = Path(split_file) if split_file else None
        self.test_clips = self._read_split_file() if self.split_file else None

    def _read_split_file(self) -> set:
        if not is_file(self.split_file):
            raise LayoutError(f"{self.split_file}: --split-file not found")
        names = set()
        for line in self.split_file.read_text(encoding="utf-8").splitlines():
            name = line.strip().removesuffix(".mp4")
            if name:
                m = _CUT_NAME.match(name)
                names.add(f"{m[2]}_{int(m[3])}" if m else name)
        return names

    def split_definition(self) -> dict:
        """What decides the split, and its sha-256 (the dataset card and results carry both)."""
        if self.split_file:
            return {"rule": "split file", "file": str(self.split_file),
                    "sha256": hashlib.sha256(self.split_file.read_bytes()).hexdigest()}
        return {"rule": SPLIT_RULE, "sha256": hashlib.sha256(SPLIT_RULE.encode()).hexdigest(),
                "test_when": f"sha-256('{SPLIT_RULE}:' + identity) % 10 == 0"}

    def _split(self, category: str, name: str, clip: str) -> str:
        if self.test_clips is not None:
            return "test" if clip in self.test_clips else "train"
        return rule_split(identity(category, name))

    def _cut_files(self) -> List[Path]:
        return sorted(p for p in self.root.rglob("*.mp4") if _CUT_NAME.match(p.stem))

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        refs = self._official() if self.official else self._already_cut()
        for ref in refs:
            if split is None or ref.split == split:
                yield ref

    def _already_cut(self) -> Iterator[ClipRef]:
        for mp4 in self._cut_files():
            cat, name, k = _CUT_NAME.match(mp4.stem).groups()
            clip = f"{name}_{int(k)}"
            s = self._split(cat, name, clip)
            yield ClipRef(clip_id=f"hdtf/{s}/{clip}", dataset="hdtf", split=s, speaker_id=identity(cat, name),
                          video_id=f"{cat}_{name}", source_path=str(mp4))

    def _video(self, category: str, name: str) -> Optional[Path]:
        for p in (self.root / "videos" / f"{name}.mp4", self.root / "videos" / category / f"{name}.mp4",
                  self.root / f"{name}.mp4"):
            if is_file(p):
                return p
        return None

    def _official(self) -> Iterator[ClipRef]:
        crops = read_crops(self.annotations)
        out = self.cut_root or self.root / "clips"
        for cat, entries in read_annotations(self.annotations).items():
            for name, spans in entries:
                video = self._video(cat, name)
                for k, (start, end) in enumerate(spans):
                    clip = f"{name}_{k}"
                    s = self._split(cat, name, clip)
                    cut = {"from": str(video) if video else str(self.root / "videos" / f"{name}.mp4"),
                           "start": start, "end": end, "crop": list(crops[clip]) if clip in crops else None,
                           "annotation": f"{cat}_annotion_time.txt / {cat}_crop_wh.txt"}
                    yield ClipRef(clip_id=f"hdtf/{s}/{clip}", dataset="hdtf", split=s, speaker_id=identity(cat, name),
                                  video_id=f"{cat}_{name}", source_path=str(out / cat / f"{clip}.mkv"),
                                  cut=json.dumps(cut))  # an absent video: decode's missing_file row names it

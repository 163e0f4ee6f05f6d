"""LRS2: mvlrs_v1/{main,pretrain}/<videoid>/<clip>.mp4 + .txt, split lists beside it.

Split files (train.txt, val.txt, test.txt, pretrain.txt) hold `videoid/clip` per line (test
lines may carry a trailing token). main/ holds train/val/test, pretrain/ the pretrain set,
whose .txt also has a `WORD START END ASDSCORE` table of word timings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from .base import ClipRef, LayoutError, Recipe, is_dir, is_file


def read_transcript(txt: Path) -> "tuple[str, Optional[List[Dict]]]":
    """(text after `Text:`, word timings or None)."""
    if not is_file(txt):
        return "", None
    lines = txt.read_text(errors="replace").splitlines()
    text = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("Text:")), "")
    words = None
    for i, line in enumerate(lines):
        if line.split()[:4] == ["WORD", "START", "END", "ASDSCORE"]:
            words = []
            for row in lines[i + 1 :]:
                parts = row.split()
                if len(parts) >= 3:
                    words.append({"word": parts[0], "start": float(parts[1]), "end": float(parts[2]),
                                  "asd": float(parts[3]) if len(parts) > 3 else None})
    return text, words


class LRS2(Recipe):
    name = "lrs2"
    splits = ("train", "val", "test", "pretrain")

    def __init__(self, root):
        super().__init__(root)
        # accept the folder holding mvlrs_v1/ or mvlrs_v1 itself
        if is_dir(self.root / "mvlrs_v1"):
            self.data, self.lists = self.root / "mvlrs_v1", self.root
        elif is_dir(self.root / "main") or is_dir(self.root / "pretrain"):
            self.data, self.lists = self.root, self.root if (self.root / "test.txt").exists() else self.root.parent
        else:
            raise LayoutError(f"{self.root}: not an LRS2 root (expected mvlrs_v1/main or main/ and pretrain/ inside)")

    def split_list(self, split: str) -> List[str]:
        path = self.lists / f"{split}.txt"
        if not is_file(path):
            raise LayoutError(f"{path}: LRS2 split list missing (expected `videoid/clip` lines)")
        return [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]

    def _resolve(self, line: str, folder: str) -> str:
        """The clip id of a split-list line: the whole line when that clip exists (ids with
        spaces), else the line without its trailing token (`5535415699068794046/00001 NF`)."""
        parts = line.rsplit(None, 1)
        for candidate in ([line, parts[0]] if len(parts) == 2 else [line]):
            if is_file(self.data / folder / f"{candidate}.mp4"):
                return candidate
        return line.split()[0]

    def unlisted(self) -> List[str]:
        listed = {(("pretrain" if s == "pretrain" else "main"), self._resolve(line, "pretrain" if s == "pretrain" else "main"))
                  for s in self.present_splits() for line in self.split_list(s)}
        return [f"{folder}/{video.name}/{mp4.stem}" for folder in ("main", "pretrain")
                for video in self.subdirs(self.data / folder) for mp4 in self.files(video, ".mp4")
                if (folder, f"{video.name}/{mp4.stem}") not in listed]

    def missing_splits(self) -> Dict[str, str]:
        return {s: f"{self.lists / f'{s}.txt'} not found" for s in self.splits if not is_file(self.lists / f"{s}.txt")}

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        for s in [split] if split else self.present_splits():
            folder = "pretrain" if s == "pretrain" else "main"
            for line in self.split_list(s):
                item = self._resolve(line, folder)
                video_id, _, clip = item.partition("/")
                mp4 = self.data / folder / video_id / f"{clip}.mp4"
                text, words = read_transcript(mp4.with_suffix(".txt"))
                missing = not is_file(mp4)
                if missing and not self._readable(mp4.parent):
                    missing = False  # cannot tell: decode reports it as unreadable, the listing warns
                yield ClipRef(clip_id=f"lrs2/{s}/{item}", dataset="lrs2", split=s, speaker_id=video_id,
                              video_id=video_id, source_path=str(mp4), transcript=text, words=words,
                              missing=missing)

    def _readable(self, folder: Path) -> bool:
        """False (and the folder noted) when `folder`, or one above it, exists but cannot be searched."""
        try:
            folder.stat()
            ok = os.access(folder, os.R_OK | os.X_OK)
        except FileNotFoundError:
            return True  # really absent: the clip is missing
        except OSError as exc:
            self.note_unreadable(folder, exc)
            return False
        if not ok:
            self.note_unreadable(folder, PermissionError(13, "Permission denied"))
        return ok

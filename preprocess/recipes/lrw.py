"""LRW: lipread_mp4/WORD/{train,val,test}/WORD_00001.{mp4,txt}; 29 frames at 25 fps.

The transcript is the word; the .txt's `Duration: 0.53 seconds` line (the word's length,
centred in the clip) is kept with the clip."""

from __future__ import annotations

from typing import Dict, Iterator, Optional

from .base import ClipRef, LayoutError, Recipe, is_dir, is_file


class LRW(Recipe):
    name = "lrw"
    splits = ("train", "val", "test")

    def __init__(self, root):
        super().__init__(root)
        self.data = self.root / "lipread_mp4" if is_dir(self.root / "lipread_mp4") else self.root
        if not any(any(is_dir(p / s) for s in self.splits) for p in self.subdirs(self.data)):
            raise LayoutError(f"{self.data}: not an LRW root (expected WORD/train, WORD/val, WORD/test folders)")

    def missing_splits(self) -> Dict[str, str]:
        words = self.subdirs(self.data)
        return {s: f"no {self.data}/WORD/{s} folder" for s in self.splits if not any(is_dir(w / s) for w in words)}

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        splits = [split] if split else self.present_splits()
        for word_dir in self.subdirs(self.data):
            for s in splits:
                for mp4 in self.files(word_dir / s, ".mp4"):
                    duration = None
                    txt = mp4.with_suffix(".txt")
                    if is_file(txt):
                        for line in txt.read_text(errors="replace").splitlines():
                            if line.startswith("Duration:"):
                                duration = float(line.split()[1])
                    yield ClipRef(clip_id=f"lrw/{s}/{word_dir.name}/{mp4.stem}", dataset="lrw", split=s,
                                  speaker_id="", video_id=mp4.stem, source_path=str(mp4), transcript=word_dir.name,
                                  word_duration=duration)

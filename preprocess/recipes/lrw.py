"""LRW: lipread_mp4/WORD/{train,val,test}/WORD_00001.{mp4,txt}; 29 frames at 25 fps.

The transcript is the word; the .txt's `Duration: 0.53 seconds` line (the word's length,
centred in the clip) is kept with the clip."""

from __future__ import annotations

from typing import Dict, Iterator, Optional

from .base import ClipRef, LayoutError, Recipe


class LRW(Recipe):
    name = "lrw"
    splits = ("train", "val", "test")

    def __init__(self, root):
        super().__init__(root)
        self.data = self.root / "lipread_mp4" if (self.root / "lipread_mp4").is_dir() else self.root
        if not any(p.is_dir() and any((p / s).is_dir() for s in self.splits) for p in self.data.iterdir()):
            raise LayoutError(f"{self.data}: not an LRW root (expected WORD/train, WORD/val, WORD/test folders)")

    def missing_splits(self) -> Dict[str, str]:
        words = [p for p in self.data.iterdir() if p.is_dir()]
        return {s: f"no {self.data}/WORD/{s} folder" for s in self.splits if not any((w / s).is_dir() for w in words)}

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        splits = [split] if split else self.present_splits()
        for word_dir in sorted(p for p in self.data.iterdir() if p.is_dir()):
            for s in splits:
                for mp4 in sorted((word_dir / s).glob("*.mp4")):
                    duration = None
                    txt = mp4.with_suffix(".txt")
                    if txt.is_file():
                        for line in txt.read_text(errors="replace").splitlines():
                            if line.startswith("Duration:"):
                                duration = float(line.split()[1])
                    yield ClipRef(clip_id=f"lrw/{s}/{word_dir.name}/{mp4.stem}", dataset="lrw", split=s,
                                  speaker_id="", video_id=mp4.stem, source_path=str(mp4), transcript=word_dir.name,
                                  word_duration=duration)

"""LRS3: {pretrain,trainval,test}/<speaker id>/<nnnnn>.mp4, a .txt beside each clip (`Text:`,
`Conf:`, then a `WORD START END ASDSCORE` table of word timings). The folder is the split.

Word timings arrive in the same columns as LRS2's (`words`); Wav2Lip's
`evaluation/test_filelists/lrs3.txt` lines (`<speaker>/<nnnnn>` pairs) match these clips by their
last two path parts, as LRS2's do, and LRS3 is scored by the whole-frame route, as Wav2Lip scores it.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional

from .base import ClipRef, LayoutError, Recipe, is_dir
from .lrs2 import read_transcript


class LRS3(Recipe):
    name = "lrs3"
    splits = ("pretrain", "trainval", "test")

    def __init__(self, root):
        super().__init__(root)
        if not any(is_dir(self.root / s) for s in self.splits):
            raise LayoutError(f"{self.root}: not an LRS3 root (expected pretrain/, trainval/ or test/ inside, "
                              f"each holding <speaker id>/<nnnnn>.mp4)")

    def missing_splits(self) -> Dict[str, str]:
        return {s: f"{self.root / s} not found" for s in self.splits if not is_dir(self.root / s)}

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        for s in [split] if split else self.present_splits():
            for speaker_dir in self.subdirs(self.root / s):
                for mp4 in self.files(speaker_dir, ".mp4"):
                    text, words = read_transcript(mp4.with_suffix(".txt"))
                    yield ClipRef(clip_id=f"lrs3/{s}/{speaker_dir.name}/{mp4.stem}", dataset="lrs3", split=s,
                                  speaker_id=speaker_dir.name, video_id=speaker_dir.name, source_path=str(mp4),
                                  transcript=text, words=words)

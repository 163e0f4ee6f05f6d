"""VoxCeleb2: {dev,test}/mp4/idXXXXX/<youtube_id>/00001.mp4; audio may also ship as
{dev,test}/aac/idXXXXX/<youtube_id>/00001.m4a, used when present. Splits: dev, test."""

from __future__ import annotations

from typing import Dict, Iterator, Optional

from .base import ClipRef, LayoutError, Recipe, is_dir, is_file


class VoxCeleb2(Recipe):
    name = "voxceleb2"
    splits = ("dev", "test")

    def __init__(self, root):
        super().__init__(root)
        if not any(is_dir(self.root / s / "mp4") for s in self.splits):
            raise LayoutError(f"{self.root}: not a VoxCeleb2 root (expected dev/mp4 or test/mp4 inside)")

    def missing_splits(self) -> Dict[str, str]:
        return {s: f"{self.root / s / 'mp4'} not found" for s in self.splits if not is_dir(self.root / s / "mp4")}

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        self._check_split(split)
        for s in [split] if split else self.present_splits():
            base = self.root / s / "mp4"
            for speaker_dir in self.subdirs(base):
                if not speaker_dir.name.startswith("id"):
                    continue
                for yt_dir in self.subdirs(speaker_dir):
                    for mp4 in self.files(yt_dir, ".mp4"):
                        speaker, yt = speaker_dir.name, yt_dir.name
                        m4a = self.root / s / "aac" / speaker / yt / f"{mp4.stem}.m4a"
                        yield ClipRef(clip_id=f"voxceleb2/{s}/{speaker}/{yt}/{mp4.stem}", dataset="voxceleb2", split=s,
                                      speaker_id=speaker, video_id=yt, source_path=str(mp4),
                                      audio_path=str(m4a) if is_file(m4a) else None)

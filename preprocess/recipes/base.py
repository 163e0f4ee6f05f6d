"""What every dataset recipe yields: one ClipRef per clip, found without decoding it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Optional


@dataclass(frozen=True)
class ClipRef:
    clip_id: str
    dataset: str
    split: str
    speaker_id: str
    video_id: str
    source_path: Path
    transcript: str = ""
    audio_path: Optional[Path] = None  # VoxCeleb2 ships audio separately as .m4a
    extra: Dict[str, str] = field(default_factory=dict, compare=False)


class Recipe:
    """A corpus layout. Subclasses implement find_clips(); layout problems raise
    LsbenchError naming the path and what was expected there."""

    name = "recipe"

    def __init__(self, root: "str | Path"):
        self.root = Path(root)

    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        raise NotImplementedError  # abstract: each dataset recipe overrides it

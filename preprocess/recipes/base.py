"""What every dataset recipe yields: one ClipRef per clip, found without decoding it."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from lsbench.errors import LsbenchError


class LayoutError(LsbenchError):
    """The corpus root does not look like the dataset's published layout."""


@dataclass(frozen=True)
class ClipRef:
    clip_id: str
    dataset: str
    split: str
    speaker_id: str
    video_id: str
    source_path: str
    transcript: str = ""
    audio_path: Optional[str] = None  # VoxCeleb2 ships audio separately as .m4a
    words: Optional[List[Dict]] = field(default=None, compare=False)  # LRS2 pretrain word timings
    word_duration: Optional[float] = None  # LRW: the `Duration:` of the word
    missing: bool = False  # listed in a split file but absent on disk: becomes an errors row
    cut: Optional[str] = None  # JSON {from, start, end, crop [x, w, y, h], annotation}: decode cuts source_path from it

    def to_dict(self) -> dict:
        return asdict(self)


def is_dir(path: Path) -> bool:
    """Path.is_dir without the PermissionError a folder inside an unreadable one raises."""
    try:
        return path.is_dir()
    except OSError:
        return False


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


class Recipe(ABC):
    """A corpus layout. find_clips() yields ClipRefs; layout problems raise LayoutError
    naming the path and what was expected there. Folders that cannot be read while listing
    are collected in `unreadable` (path and reason), never skipped without a word."""

    name = "recipe"
    splits: tuple = ()

    def __init__(self, root: "str | Path"):
        self.root = Path(os.path.abspath(root))  # rows and the card record absolute source paths
        self.unreadable: List[str] = []
        if not is_dir(self.root):
            raise LayoutError(f"{self.root}: corpus root does not exist or is not a folder")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise LayoutError(f"{self.root}: corpus root cannot be read (permission denied)")

    def _entries(self, folder: Path) -> List[os.DirEntry]:
        """A folder's entries by name; a folder that exists but cannot be read is noted."""
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            self.note_unreadable(folder, exc)
            return []

    def note_unreadable(self, folder: Path, exc: OSError) -> None:
        """Note the folder at fault: the topmost one below the root that cannot be searched
        (a locked WORD/ folder, not each WORD/split/ inside it)."""
        while folder.parent != folder and folder.parent != self.root and not os.access(folder.parent, os.R_OK | os.X_OK):
            folder = folder.parent
        entry = f"{folder} ({exc.strerror or type(exc).__name__})"
        if entry not in self.unreadable:
            self.unreadable.append(entry)

    def subdirs(self, folder: Path) -> List[Path]:
        out = []
        for e in self._entries(folder):
            try:
                if e.is_dir():
                    out.append(Path(e.path))
            except OSError as exc:
                self.note_unreadable(Path(e.path), exc)
        return out

    def files(self, folder: Path, suffix: str) -> List[Path]:
        return [Path(e.path) for e in self._entries(folder) if e.name.endswith(suffix) and not e.name.startswith(".")]

    @abstractmethod
    def find_clips(self, split: Optional[str] = None) -> Iterator[ClipRef]:
        """ClipRefs of one split, or of every split present (see missing_splits)."""

    def unlisted(self) -> List[str]:
        """Clip files on disk that no split list names (a corpus with split lists skips them): said with
        a count, never dropped in silence. Corpora whose folders are their splits have none."""
        return []

    def missing_splits(self) -> Dict[str, str]:
        """Splits absent from this copy of the corpus -> what was looked for. find_clips()
        without a split skips them; a corpus with no split at all is a LayoutError."""
        return {}

    def present_splits(self) -> List[str]:
        missing = self.missing_splits()
        present = [s for s in self.splits if s not in missing]
        if not present:
            raise LayoutError(f"{self.root}: no {self.name} split found ("
                              + "; ".join(f"{s}: {why}" for s, why in missing.items()) + ")")
        return present

    def _check_split(self, split: Optional[str]) -> None:
        if split is not None and split not in self.splits:
            raise LayoutError(f"{self.name} has no split {split!r} (splits: {', '.join(self.splits)})")

"""Files the site holds beside its pages: pair lists, videos and their poster frames.

Names on the site are digests or slugs made here, never paths taken from a results file;
videos are copied only from inside the results folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Optional, Tuple

from lsbench.errors import LsbenchError

from .ranking import Entry

POSTER_WIDTH = 192  # px, the width the model page shows a video at


class SiteError(LsbenchError):
    pass


def slug(text: str) -> str:
    """A safe, unique file name for untrusted text."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "x"
    return f"{base}-{hashlib.sha256(text.encode('utf8')).hexdigest()[:8]}"


def write_pairs(entry: Entry, out: Path) -> str:
    """The row's pair list as a small CSV named by its digest, written from the results file."""
    digest = entry.pairs_sha256
    path = out / "pairs" / f"{digest}.csv"
    if not path.exists():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["pair_id", "target_clip", "speech_clip", "ref_frame"])
        for i, p in enumerate(entry.pairs):
            w.writerow([f"{i:05d}", *(p if isinstance(p, list) else [p])])
        path.write_text(buf.getvalue())
    return f"pairs/{digest}.csv"


def poster(video: Path, dest: Path) -> bool:
    """A small JPEG of the video's first frame, so a player shows a picture before it plays."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(video), "-frames:v", "1",
           "-vf", f"scale={POSTER_WIDTH}:-2", "-q:v", "5", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise SiteError("ffmpeg not found: the site's poster frames need it (apt install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and dest.is_file() and dest.stat().st_size > 0


def copy_videos(entry: Entry, results_root: Path, out: Path, echo: Callable[[str], None], limit: int = 12) -> None:
    """Copy the saved clips that lie inside the results folder, each with a poster frame;
    anything else is ignored, and a clip ffmpeg cannot read is left out with a warning."""
    root = results_root.resolve()
    dest = out / "videos" / entry.slug

    def take(rel) -> Optional[Tuple[str, str]]:
        if not isinstance(rel, str) or not rel:
            return None
        src = (entry.source.parent / rel).resolve()
        if root not in src.parents or not src.is_file() or src.suffix.lower() != ".mp4":
            return None
        dest.mkdir(parents=True, exist_ok=True)
        name = slug(src.stem)
        if not poster(src, dest / f"{name}.jpg"):
            echo(f"leaderboard: warning: {src}: ffmpeg cannot read its first frame; left off the site")
            return None
        shutil.copyfile(src, dest / f"{name}.mp4")
        return f"../videos/{entry.slug}/{name}.mp4", f"../videos/{entry.slug}/{name}.jpg"

    for row in entry.doc["rows"]:
        if len(entry.videos) >= limit:
            break
        gen = take(row.get("video"))
        if gen:
            target = take(row.get("target_video"))
            entry.videos.append({"generated": gen[0], "poster": gen[1], "target": target[0] if target else None,
                                 "target_poster": target[1] if target else None,
                                 "clip": str(row.get("clip_id", ""))})

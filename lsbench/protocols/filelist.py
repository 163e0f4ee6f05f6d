"""`wav2lip-filelist`: the pairs of Wav2Lip's published test lists (evaluation/test_filelists/
lrs2.txt, lrw.txt, lrs3.txt: one `audio_src video` pair per line), to reproduce the paper's
setting on the same pairs.

As the official gen_videos_from_filelist.py does: the output has one frame per mel window of
the speech (windows of 16 columns starting at int(i * 80 / 25) that fit), the video is cut to
that many frames and a pair whose video is shorter than its speech is skipped; the identity
input is the time-aligned frame itself (ref_frame = ALIGNED), not a random one. Entries are
matched to shard clip ids by their trailing path (`6330311066473698535/00011`, `BRING_00018`);
every line that cannot be scored is counted with its reason.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import LsbenchError
from ..media import SAMPLES_PER_FRAME
from .base import ALIGNED, PairSpec, Plan, Protocol

MEL_HOP, MEL_STEP, MEL_PER_FRAME = 200, 16, 80.0 / 25.0


def mel_window_count(n_samples: int) -> int:
    """How many 16-column mel windows Wav2Lip's loop takes from n_samples of 16 kHz audio."""
    cols = 1 + n_samples // MEL_HOP
    i = 0
    while int(i * MEL_PER_FRAME) + MEL_STEP <= cols:
        i += 1
    return i


def read_filelist(path: Path) -> List[Tuple[str, str]]:
    if not path.is_file():
        raise LsbenchError(f"{path}: filelist not found")
    pairs = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise LsbenchError(f"{path}:{no}: expected 'audio_src video', got {line.strip()[:80]!r}")
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise LsbenchError(f"{path}: filelist is empty")
    return pairs


class Wav2LipFilelist(Protocol):
    name = "wav2lip-filelist"
    version = 1
    length_rule = ("one frame per 16-column mel window of the whole speech (gen_videos_from_filelist.py); a video "
                   "shorter than that is skipped; the mp4 carries the whole speech, as the script muxes it")

    def __init__(self, filelist: "str | Path | None" = None):
        if filelist is None:
            raise LsbenchError("protocol wav2lip-filelist needs --filelist PATH (Wav2Lip's "
                               "evaluation/test_filelists/lrs2.txt, lrw.txt or lrs3.txt)")
        self.path = Path(filelist)
        self.lines = read_filelist(self.path)

    def plan(self, clips: Sequence[dict], seed: int) -> Plan:
        by_suffix: Dict[str, List[dict]] = defaultdict(list)
        for c in clips:
            parts = c["clip_id"].split("/")
            for k in range(1, len(parts) + 1):
                by_suffix["/".join(parts[-k:])].append(c)

        def find(entry: str) -> "tuple[Optional[dict], str]":
            hits = by_suffix.get(entry.strip("/").removesuffix(".mp4"), [])
            return (hits[0], "") if len(hits) == 1 else (None, "ambiguous" if hits else "not_in_shards")

        plan = Plan([])
        seen = set()
        for audio_src, video in self.lines:
            target, why_t = find(video)
            speech, why_a = find(audio_src)
            if target is None:
                plan.skipped.setdefault(f"video_{why_t}", []).append(video)
                continue
            if speech is None:
                plan.skipped.setdefault(f"audio_{why_a}", []).append(audio_src)
                continue
            if target["clip_id"] in seen:
                plan.skipped.setdefault("duplicate_video", []).append(video)
                continue
            n = mel_window_count(speech["n_frames"] * SAMPLES_PER_FRAME)
            if target["n_frames"] < n:  # the official script skips these pairs
                plan.skipped.setdefault("video_shorter_than_speech", []).append(video)
                continue
            if n < 6:
                plan.skipped.setdefault("too_short", []).append(video)
                continue
            seen.add(target["clip_id"])
            plan.pairs.append(PairSpec(target["clip_id"], speech["clip_id"], ALIGNED, n,
                                       "video_trimmed" if target["n_frames"] > n else "none"))
        return plan

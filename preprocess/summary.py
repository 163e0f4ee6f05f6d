"""The lines `preprocess` ends every run with: what was kept, what was dropped and why, and,
when most clips were dropped, the likely cause and the option that changes it.

Built from the dataset card alone, so the summary always describes the shards on disk."""

from __future__ import annotations

from typing import Dict, List

# errors-table reason -> (likely cause, what to change). One line each: the user reads it
# when most of a corpus vanished.
HINTS: Dict[str, str] = {
    "out_of_sync": "the {sync} offsets were not confident enough (or beyond --sync-max-offset); "
                   "--sync none keeps clips unshifted, --sync-min-conf / --energy-min-conf / --sync-max-offset "
                   "relax the bounds",
    "no_face": "the detector found no face; try --detector s3fd (needs sfd_face.pth) or --detect-every 1",
    "face_lost": "no face track spans most of the clip; --detect-every 1 detects on every frame, "
                 "--detector s3fd is steadier than dlib",
    "bad_box": "the detector returned boxes that cannot be cropped; try another --detector",
    "too_long": "clips exceed the decode memory bound; raise --max-decode-gb",
    "too_short": "clips are shorter than 6 frames at 25 fps (or after the offset correction); "
                 "nothing to change but the corpus",
    "missing_file": "listed clips are not on disk; check --root (the folder holding the split lists and clips)",
    "corrupt": "the files do not decode; check the corpus copy (OUT/errors names each file)",
    "empty_file": "the files are empty (0 bytes); the corpus copy is incomplete",
    "unreadable": "the files cannot be read (permissions?); check the corpus copy",
    "no_audio": "the clips have no audio track; for VoxCeleb2, put the aac/ folder beside mp4/",
    "no_video": "the files have no video stream; check --dataset and --root",
    "silent_audio": "the audio tracks are silent; check the corpus copy",
    "sync_failed": "SyncNet failed on the clips (OUT/errors has the exceptions); --sync none skips it",
}


def _counts(d: Dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def summary_lines(card: dict) -> List[str]:
    ok, failed = card["counts"]["ok"], card["counts"]["failed"]
    lines = [f"summary: {ok} kept, {failed} dropped ({_counts(card.get('errors_by_reason', {}))}); "
             f"errors by stage: {_counts(card.get('errors_by_stage', {}))}"]
    methods = card.get("sync_methods", {})
    sync = card.get("config", {}).get("sync", "none")
    if ok and set(methods) <= {"none"}:
        lines.append("sync was not measured: clips are kept unshifted (sync_method none)"
                     + ("; SyncNet weights were not found (`lsbench weights fetch syncnet`)"
                        if card.get("config", {}).get("sync_requested") == "auto" else ""))
    if failed > ok:
        reasons = card.get("errors_by_reason", {})
        top = max(reasons, key=lambda r: (reasons[r], r)) if reasons else None
        hint = HINTS.get(top, "see OUT/errors for each clip's message").format(sync=sync)
        lines.append(f"warning: {failed} of {ok + failed} clips were dropped, most as {top} ({reasons.get(top, 0)}): {hint}")
    return lines

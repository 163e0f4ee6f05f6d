"""The task folder for a model that runs outside lsbench (`lsbench pairs`), and reading it back.

  task/task.json        protocol, version, seed, shard digest, pair-list hash, the output spec
  task/pairs.csv        one line per pair: ids, reference frame, frame count, size, file names
  task/targets/ID.mkv   the target's full frames (lossless FFV1) with its own audio (PCM)
  task/speech/ID.wav    the driving speech (16 kHz mono PCM16)

A submission is a folder with one file per pair, `ID.mkv` (or .mp4/.avi): the target's frame
size, 25 fps, the pair's frame count, and the speech as its audio. Frames and audio must be
lossless (FFV1 or H.264 -qp 0 video; PCM or FLAC audio): lsbench then writes the mp4 the
official scripts score from those frames exactly as it does for a bundled model, so the two
are scored by one route. `evaluate --generated` checks every pair and scores the rest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .. import media
from ..errors import LsbenchError, MediaError
from ..protocols.base import PairSpec, Plan
from ..registry import PROTOCOLS
from ..shards import ShardIndex, pcm16_to_float
from .document import pairs_digest
from .plan import make_protocol, plan_pairs
from .target import ROW_COLUMNS, source_frames

TASK_VERSION = 1
CSV_FIELDS = ["pair_id", "target_clip", "speech_clip", "ref_frame", "n_frames", "fps", "width", "height",
              "target_video", "speech_wav", "output"]
OUTPUT_SPEC = {
    "file": "<pair_id>.mkv (or .mp4 / .avi / .mov), one per line of pairs.csv",
    "fps": 25,
    "frames": "exactly n_frames of the pair",
    "size": "the target video's width x height",
    "video_codec": "lossless: FFV1 (ffmpeg -c:v ffv1) or H.264 -qp 0; lsbench writes the mp4 the official "
                   "scripts score from these frames, as for bundled models",
    "audio": "the pair's speech wav as the audio track, lossless (pcm_s16le or flac), 16 kHz mono; its length "
             "within one frame (640 samples) of n_frames * 640",
    "example": "ffmpeg -framerate 25 -i frames/%06d.png -i speech/ID.wav -c:v ffv1 -pix_fmt bgr0 -c:a pcm_s16le ID.mkv",
}


def _write_lossless(path: Path, frames: np.ndarray, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = path.with_suffix(".tmp.wav")
    media.write_wav(wav, audio)
    h, w = frames.shape[1:3]
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(media.FPS), "-i", "-", "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "ffv1",
           "-pix_fmt", "bgr0", "-c:a", "pcm_s16le", str(path)]
    try:
        proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
    finally:
        wav.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise MediaError(str(path), f"encoding failed ({proc.stderr.decode(errors='replace').strip()[-300:]})")


def _export_pair(out: Path, pid: str, p: PairSpec, index: ShardIndex, whole_speech: bool) -> dict:
    row = index.row(p.target, ROW_COLUMNS)
    frames, _ = source_frames(row, p.n_frames)
    own = pcm16_to_float(row["audio"])[: p.n_frames * media.SAMPLES_PER_FRAME]
    _write_lossless(out / "targets" / f"{pid}.mkv", frames, own)
    speech = np.frombuffer(index.row(p.audio_from, ["audio"])["audio"], "<i2")  # the shard's PCM16, as it is
    if not whole_speech:  # the whole speech for filelists, as the official script muxes it
        speech = speech[: p.n_frames * media.SAMPLES_PER_FRAME]
    media.write_wav(out / "speech" / f"{pid}.wav", speech)
    return {"pair_id": pid, "target_clip": p.target, "speech_clip": p.audio_from, "ref_frame": p.ref_frame,
            "n_frames": p.n_frames, "fps": media.FPS, "width": frames.shape[2], "height": frames.shape[1],
            "target_video": f"targets/{pid}.mkv", "speech_wav": f"speech/{pid}.wav", "output": f"{pid}.mkv"}


def export_task(data: Path, protocol_name: str, out: Path, split: Optional[str] = "test", seed: int = 0,
                limit: Optional[int] = None, filelist: Optional[Path] = None, progress: bool = True,
                echo: Callable[[str], None] = print) -> Path:
    """Write the task folder for the pairs `evaluate` would score with these options."""
    from tqdm import tqdm

    protocol = make_protocol(protocol_name, filelist)
    index = ShardIndex.open(data, split)
    plan, chosen = plan_pairs(protocol, index, seed, limit)
    out.mkdir(parents=True, exist_ok=True)
    whole = protocol.name == "wav2lip-filelist"
    lines = [_export_pair(out, f"{i:05d}", p, index, whole)
             for i, p in enumerate(tqdm(chosen, desc="export pairs", unit="pair", disable=not progress))]
    with open(out / "pairs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
    pairs = [[p.target, p.audio_from, p.ref_frame] for p in chosen]
    task = {"task_version": TASK_VERSION, "protocol": {"name": protocol.name, "version": protocol.version,
                                                       "length_rule": protocol.length_rule},
            "seed": seed, "split": split, "limit": limit, "shards_digest": index.digest(),
            "datasets": sorted({c["dataset"] for c in index.light.values()}),
            "pairs_sha256": pairs_digest(pairs), "pairs": pairs,
            "skipped": plan.skipped, "ref_frame": "index into the target video; -1: each frame is its own "
                                                  "identity input (wav2lip-filelist)",
            "output": OUTPUT_SPEC}
    if filelist:
        task["filelist"] = {"path": str(filelist), "sha256": hashlib.sha256(filelist.read_bytes()).hexdigest()}
    (out / "task.json").write_text(json.dumps(task, indent=1) + "\n")
    echo(f"task: {len(lines)} pairs ({protocol.name} v{protocol.version}, seed {seed}) -> {out}")
    return out


def read_task(folder: Path) -> dict:
    try:
        task = json.loads((folder / "task.json").read_text())
        with open(folder / "pairs.csv", newline="") as f:
            task["lines"] = list(csv.DictReader(f))
    except (OSError, json.JSONDecodeError) as exc:
        raise LsbenchError(f"{folder}: not a task folder from `lsbench pairs` ({exc})") from None
    if task.get("task_version") != TASK_VERSION:
        raise LsbenchError(f"{folder}: task version {task.get('task_version')!r}, this lsbench reads {TASK_VERSION}")
    return task


def task_plan(folder: Path, index: ShardIndex, data: Path):
    """(protocol, plan, seed, limit) of a task folder, checked against the shards it must come from."""
    spec = read_task(folder)
    if spec["shards_digest"] != index.digest():
        raise LsbenchError(f"{folder}: the task was exported from other shards than {data} (or with another "
                           f"--split/--limit); export it again from these shards")
    protocol = PROTOCOLS.load(spec["protocol"]["name"])  # its class: name, version, rules (the pairs come from the task)
    if spec["protocol"]["version"] != protocol.version:
        raise LsbenchError(f"{folder}: protocol {protocol.name} v{spec['protocol']['version']}, this lsbench "
                           f"scores v{protocol.version}; export the task again")
    plan = Plan([PairSpec(line["target_clip"], line["speech_clip"], int(line["ref_frame"]), int(line["n_frames"]))
                 for line in spec["lines"]], dict(spec.get("skipped", {})))
    return protocol, plan, spec["seed"], spec["limit"]

"""lsbench preprocess against syncnet-python 0.2.3's pipeline, both doing the whole job (decode, detect, track,
crop, offset) on the same clips from ../shared/media, same CPU, one run.

  reference A: SyncNetPipeline.inference as shipped: AVI + JPEG dump, S3FD on every frame, scene detection,
               tracking, re-crop to an XVID AVI, SyncNet. Procedural S3FD weights find only noise, so S3FD's
               detect_faces still runs on every frame (its cost paid) but hands on the boxes of lsbench's own face
               track for that frame (harness.ReplayedDetections): both sides track the same face and run SyncNet
               on the same windows. S3FD's box decoding and NMS over the noise it finds is printed and left out
               of reference A's time (it favours the reference). min_face_size 40 on both sides.
  lsbench:     `lsbench preprocess --workers 2` (Ray, guided dlib detection on every 5th frame, SyncNet offsets):
               the headline wall time, Ray start-up included. Its per-stage times come from the same stage
               functions run in this process, one clip after another as one Ray worker runs them (1 torch
               thread), with the rows written to Parquet as the driver writes them.
(Reference B, the pipeline with dlib in place of S3FD, is gone: reference A now tracks faces too, and pays S3FD.)

Stages, timed exclusive of the stages nested in them (harness.Stages):
  decode          ref: ffmpeg to video.avi, frames/%06d.jpg and speech.wav, the frames read back for detection;
                  lsbench: probe + ffmpeg pipe to frames and 16 kHz audio
  detect          ref: s3fd.detect_faces (forward pass and its resize; box decoding and NMS apart);
                  lsbench: the detector's detect
  track           ref: scene detection + _track; lsbench: detect_and_track less its detections
  crop + JPEG     ref: _crop (cv2 crops, XVID AVI, wav slice and mux) + the crops' JPEG dump;
                  lsbench: crops for SyncNet and for the row, JPEG encoding
  audio features  ref: the crops' audio.wav + python_speech_features' MFCC; lsbench: SyncNet's MFCC + the row's mel
  SyncNet offset  ref: the rest of SyncNetInstance.evaluate; lsbench: the rest of synchronise
  shard write     lsbench: the rows to Arrow and Parquet (ShardWriter), as the driver does; the reference writes none
  other           what no stage claims (lsbench: row assembly, the source copy; ref: the rest of inference)
SyncNet and S3FD use the conformance packs' procedural weights on both sides (no official file can be downloaded
here). Last line: `speedup: <ratio>x` = reference A's time per clip over lsbench's 2-worker wall time per clip.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (  # bench/ is on sys.path
    SHARED,
    ReplayedDetections,
    Stages,
    Timer,
    materialise,
    run_pipeline,
)

STAGES = ("decode", "detect", "track", "crop + JPEG", "audio features", "SyncNet offset", "shard write", "other")
NOISE = "S3FD NMS over noise (left out)"
CLI_FLAGS = ["--detector", "dlib", "--sync", "syncnet", "--sync-min-conf", "-1e9", "--sync-max-offset", "15"]


def build_corpus(videos: list[Path], root: Path) -> dict[str, str]:
    """The clips as a VoxCeleb2-layout corpus (links; the AVI re-encoded): clip id -> video name."""
    ids = {}
    for i, v in enumerate(videos):
        d = root / "test" / "mp4" / f"id{i:05d}" / v.stem
        d.mkdir(parents=True)
        if v.suffix == ".mp4":
            (d / "00001.mp4").symlink_to(v)
        else:
            subprocess.run(["ffmpeg", "-v", "error", "-i", str(v), "-c:v", "libx264", "-crf", "16", "-c:a", "aac",
                            str(d / "00001.mp4")], check=True)
        ids[f"voxceleb2/test/id{i:05d}/{v.stem}/00001"] = v.name
    return ids


def run_lsbench(corpus: Path, out: Path, workers: int, env: dict) -> tuple[float, dict[str, str]]:
    """Wall seconds of `lsbench preprocess` and each clip's offset (or error reason), by clip id."""
    import pandas as pd

    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "lsbench.cli", "preprocess", "--dataset", "voxceleb2", "--root",
                        str(corpus), "--out", str(out), *CLI_FLAGS, "--workers", str(workers), "--no-progress"],
                       capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    rows = {}
    for sub, col in (("shards", "av_offset"), ("errors", "reason")):
        if list((out / sub).glob("*.parquet")):
            for r in pd.read_parquet(out / sub).itertuples():
                rows[r.clip_id] = str(getattr(r, col)) if col == "av_offset" else f"({getattr(r, col)})"
    return seconds, rows


def lsbench_stages(corpus: Path, work: Path) -> tuple[Stages, dict[str, float], dict[str, tuple], dict[str, str]]:
    """lsbench's stage functions on each clip in this process, timed per stage: (stages, seconds per clip id,
    each clip's face track (frame indices, boxes in source pixels, decoded frame count), offsets by clip id)."""
    import cv2
    import torch

    from lsbench import audio as afeat
    from lsbench.detectors import create
    from preprocess import pipeline
    from preprocess import stages as S

    cfg = S.Config(sync="syncnet", sync_min_conf=-1e9, sync_max_offset=15)
    detector, scorer = create("dlib"), pipeline.make_scorer(cfg)
    refs = pipeline.list_corpus(pipeline.RunOptions(dataset="voxceleb2", root=corpus, out=work)).refs
    tracks: dict[str, tuple] = {}
    original = S.detect_and_track

    def keep_track(clip, *a, **k):
        clip = original(clip, *a, **k)
        tracks[clip.ref["clip_id"]] = (clip.track.frames.copy(), clip.track.boxes / clip.scale, len(clip.frames))
        return clip

    S.detect_and_track = keep_track
    t = Stages()
    for obj, name, stage in ((S, "decode", "decode"), (detector, "detect", "detect"), (S, "detect_and_track", "track"),
                             (S, "crop", "crop + JPEG"), (cv2, "imencode", "crop + JPEG"),
                             (S, "wav2lip_mel", "audio features"), (afeat, "syncnet_mfcc", "audio features"),
                             (S, "synchronise", "SyncNet offset")):
        t.wrap(obj, name, stage)
    writer = pipeline.ShardWriter(work / "inproc", "bench", 1 << 40, None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker (ClipProcessor)
    seconds, offsets = {}, {}
    try:
        for ref in pipeline._flat_refs(refs):
            t0 = time.perf_counter()
            with t.span("other"):
                table = S.process_batch({k: [v] for k, v in ref.items()}, detector, scorer, cfg)
            with t.span("shard write"):
                writer.add(table)
            seconds[ref["clip_id"]] = time.perf_counter() - t0
            r = table.to_pylist()[0]
            offsets[ref["clip_id"]] = str(r["av_offset"]) if r["ok"] else f"({r['error_reason']})"
        with t.span("shard write"):
            writer.flush()
    finally:
        t.restore()
        S.detect_and_track = original
        torch.set_num_threads(threads)
    return t, seconds, tracks, offsets


def replay_boxes(track: tuple | None) -> list:
    """Per frame, lsbench's track box for that frame (score 0.99), none outside the track: what S3FD hands on."""
    import numpy as np

    if track is None:
        return []
    frames, boxes, n = track
    out = [np.zeros((0, 5))] * n
    for f, b in zip(frames, boxes):
        out[int(f)] = np.array([[*b[:4], 0.99]])
    return out


def ffmpeg_stage(stream, *a, **k) -> str:
    """The stage of one of the reference's ffmpeg-python runs, told by its output path."""
    import ffmpeg

    out = next((x for x in reversed(ffmpeg.get_args(stream)) if not x.startswith("-")), "")
    if "cropped" in out:
        return "audio features" if out.endswith(".wav") else "crop + JPEG"
    return "decode"


def wrap_reference(pipe) -> Stages:
    """Reference A's pieces timed under lsbench's stage names."""
    import cv2
    import ffmpeg
    import python_speech_features
    import scenedetect
    import scenedetect.video_manager
    import syncnet_python.syncnet_pipeline as sp

    t = Stages()
    t.wrap(ffmpeg.nodes.OutputStream, "run", ffmpeg_stage)
    t.wrap(pipe, "_extract_audio_from_video", "decode")
    t.wrap(cv2, "imread", "decode", outermost=True)  # the frames read back for detection; inside _crop/evaluate: theirs
    t.wrap(pipe.s3fd, "detect_faces", "detect")
    t.wrap(scenedetect.video_manager.VideoManager, "start", "track")
    t.wrap(scenedetect.SceneManager, "detect_scenes", "track")
    t.wrap(sp, "VideoManager", "track")
    t.wrap(pipe, "_track", "track")
    t.wrap(pipe, "_crop", "crop + JPEG")
    t.wrap(python_speech_features, "mfcc", "audio features")
    t.wrap(pipe.syncnet, "evaluate", "SyncNet offset")
    return t


def run_reference(pipe, replay, t: Stages, videos: list[Path], tracks: dict, work: Path) -> tuple[dict, dict]:
    """Reference A on every clip with lsbench's track replayed: (seconds, offsets) by video name; its unclaimed
    time goes to `other`, S3FD's post-processing over noise to NOISE (out of `detect`)."""
    seconds, offsets = {}, {}
    for v in videos:
        replay.load(replay_boxes(tracks.get(v.name)))
        claimed, post = sum(t.seconds.values()), replay.post_seconds()
        s, off, _ = run_pipeline(pipe, v, work)
        post = replay.post_seconds() - post
        t.add("other", s - (sum(t.seconds.values()) - claimed))
        t.add("detect", -post)
        t.add(NOISE, post)
        seconds[v.name], offsets[v.name] = s - post, off
    return seconds, offsets


def report(ref: Stages, ours: Stages, n: int, ref_clip: float, our_wall: float) -> float:
    """The per-stage table (seconds per clip) and what bounds the ratio; returns the speedup."""
    inproc = sum(ours.seconds.get(s, 0.0) for s in STAGES) / n
    print(f"\nper clip, seconds ({n} clips); lsbench: 1 process, 1 torch thread (as one Ray worker); 'ratio if free':"
          f" reference A / (lsbench's 2-worker wall - stage / 2), as if the 2 workers overlapped perfectly")
    print(f"{'stage':36} {'ref A':>8} {'lsbench':>8} {'share':>6} {'ratio if free':>13}")
    for s in STAGES:
        a, b = ref.seconds.get(s, 0.0) / n, ours.seconds.get(s, 0.0) / n
        print(f"{s:36} {a:>8.2f} {b:>8.2f} {b / inproc:>6.1%} {ref_clip / (our_wall - b / 2):>12.2f}x")
    print(f"{'total':36} {ref_clip:>8.2f} {inproc:>8.2f}")
    print(f"{NOISE:36} {ref.seconds.get(NOISE, 0.0) / n:>8.2f}")
    top = max(STAGES, key=lambda s: ours.seconds.get(s, 0.0))
    need = our_wall - ref_clip / 10
    overhead = our_wall - inproc / 2
    print(f"lsbench 2-worker wall {our_wall:.2f} s per clip = stage work {inproc:.2f} s / 2 workers + "
          f"{overhead:.2f} s of Ray start-up, driver and imperfect overlap")
    verdict = (f"10x reached: lsbench is {-need:.2f} s per clip under the 10x mark ({ref_clip / 10:.2f} s)"
               if need <= 0 else f"10x needs lsbench at {ref_clip / 10:.2f} s per clip: {need:.2f} s of wall less, "
               f"i.e. {2 * need:.2f} s of stage work per clip")
    print(f"{verdict}; the largest stage, {top}, is "
          f"{ours.seconds[top] / n:.2f} s per clip: with it free the ratio would be "
          f"{ref_clip / (our_wall - ours.seconds[top] / n / 2):.2f}x; with every stage free (Ray start-up, driver "
          f"and overlap alone) {ref_clip / max(overhead, 1e-9):.2f}x")
    return ref_clip / our_wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[], help="only the clips whose path contains this (repeatable)")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    from syncnet_python.syncnet_pipeline import SyncNetPipeline

    tmp = Path(tempfile.mkdtemp(prefix="lsbench-prep-bench-"))
    weights = tmp / "weights"
    for pack in ("syncnet", "s3fd"):
        materialise(pack, weights)
    os.environ.update(LSBENCH_WEIGHTS_DIR=str(weights), LSBENCH_HOME=str(tmp / "home"))
    videos = sorted(p for p in (SHARED / "media").rglob("*") if p.suffix in (".mp4", ".avi")
                    and (not args.only or any(o in str(p) for o in args.only)))
    ids = build_corpus(videos, tmp / "vox")
    wall, ray_rows = run_lsbench(tmp / "vox", tmp / "shards", 2, dict(os.environ))
    ours, our_secs, tracks, our_offsets = lsbench_stages(tmp / "vox", tmp / "inproc")
    tracks = {ids[k]: v for k, v in tracks.items()}

    pipe = SyncNetPipeline({"s3fd_weights": str(weights / "sfd_face.pth"),
                            "syncnet_weights": str(weights / "syncnet_v2.model"), "min_face_size": 40}, device="cpu")
    replay = ReplayedDetections(pipe.s3fd)
    net = Timer()
    net.wrap(pipe.syncnet.__S__, "forward_lip")
    net.wrap(pipe.syncnet.__S__, "forward_aud")
    ref = wrap_reference(pipe)
    try:
        ref_secs, ref_offsets = run_reference(pipe, replay, ref, videos, tracks, tmp / "ref_a")
    finally:
        ref.restore()
    n = len(videos)
    same = sum(our_offsets[k] == ray_rows.get(k) for k in ids)
    print(f"{n} clips; lsbench preprocess --workers 2: {wall:.1f} s wall (Ray start-up included); in-process rows' "
          f"offsets equal to the Ray run's on {same}/{n} clips")
    print(f"{'clip':36} {'ref A s':>8} {'ref A offsets':>14} {'lsbench s (1 proc)':>18} {'lsbench offset':>14}")
    for k, name in ids.items():
        print(f"{name[:36]:36} {ref_secs[name]:>8.2f} {ref_offsets[name] or 'no track'!s:>14} "
              f"{our_secs[k]:>18.2f} {ray_rows.get(k, '?'):>14}")
    ref_clip = sum(ref_secs.values()) / n
    print(f"reference A's network forward passes per clip: S3FD {replay.net_time.seconds / n:.2f} s, SyncNet "
          f"{net.seconds / n:.2f} s")
    speedup = report(ref, ours, n, ref_clip, wall / n)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"speedup: {speedup:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

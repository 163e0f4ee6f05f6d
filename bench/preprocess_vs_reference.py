#!/usr/bin/env python
"""lsbench preprocess against syncnet-python 0.2.3's pipeline (detect, track, crop, offset),
same clips from ../shared/media, same CPU, one run.

  reference A: SyncNetPipeline.inference as shipped, S3FD on every frame (procedural weights:
               almost every candidate box passes its threshold, which inflates its NMS time,
               so its network time - S3FD + SyncNet forward passes - is reported separately)
  reference B: the same pipeline with S3FD's detect_faces replaced by lsbench's weight-free
               dlib detector, so that its tracks, crops and offsets are meaningful to compare
  lsbench:     `lsbench preprocess` (Ray, dlib detector every 5th frame, SyncNet offsets),
               with 1 and with 2 workers

SyncNet and S3FD use the conformance packs' procedural weights on both sides (no official
file can be downloaded here). Last line: `speedup: <ratio>x` = reference A wall time per clip
over lsbench (2 workers) wall time per clip.
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

from harness import SHARED, Timer, materialise, run_pipeline  # bench/ is on sys.path when a script runs



def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    logging.disable(logging.CRITICAL)
    import numpy as np
    import pandas as pd
    from syncnet_python.syncnet_pipeline import SyncNetPipeline

    from lsbench.detectors.dlib_cascade import DlibCascadeDetector

    tmp = Path(tempfile.mkdtemp(prefix="lsbench-prep-bench-"))
    weights = tmp / "weights"
    for pack in ("syncnet", "s3fd"):
        materialise(pack, weights)
    videos = sorted(p for p in (SHARED / "media").rglob("*") if p.suffix in (".mp4", ".avi"))

    # lsbench: the clips as a VoxCeleb2-layout corpus (links, no copies), preprocessed through Ray
    corpus = tmp / "vox"
    ids = {}
    for i, v in enumerate(videos):
        d = corpus / "test" / "mp4" / f"id{i:05d}" / v.stem
        d.mkdir(parents=True)
        (d / "00001.mp4").symlink_to(v) if v.suffix == ".mp4" else subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(v), "-c:v", "libx264", "-crf", "16", "-c:a", "aac", str(d / "00001.mp4")],
            check=True)
        ids[f"voxceleb2/test/id{i:05d}/{v.stem}/00001"] = v.name
    env = {**os.environ, "LSBENCH_WEIGHTS_DIR": str(weights), "LSBENCH_HOME": str(tmp / "home")}
    ours = {}
    for workers in (1, 2):
        out = tmp / f"shards{workers}"
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "lsbench.cli", "preprocess", "--dataset", "voxceleb2", "--root",
                            str(corpus), "--out", str(out), "--detector", "dlib", "--sync", "syncnet", "--sync-min-conf",
                            "-1e9", "--sync-max-offset", "15", "--workers", str(workers), "--no-progress"],
                           capture_output=True, text=True, env=env)
        ours[workers] = time.perf_counter() - t0
        if p.returncode != 0:
            print(p.stderr[-3000:])
            return 1
        shards = pd.read_parquet(out / "shards") if list((out / "shards").glob("*.parquet")) else pd.DataFrame()
        errs = pd.read_parquet(out / "errors") if list((out / "errors").glob("*.parquet")) else pd.DataFrame()
        if workers == 2:
            our_rows = {ids[r.clip_id]: f"{r.av_offset}" for r in shards.itertuples()}
            our_rows.update({ids[r.clip_id]: f"({r.reason})" for r in errs.itertuples()})

    cfg = {"s3fd_weights": str(weights / "sfd_face.pth"), "syncnet_weights": str(weights / "syncnet_v2.model")}
    pipe = SyncNetPipeline(cfg, device="cpu")
    net_time = Timer()
    net_time.wrap(pipe.s3fd.net, "forward")
    net_time.wrap(pipe.syncnet.__S__, "forward_lip")
    net_time.wrap(pipe.syncnet.__S__, "forward_aud")
    pipe_b = SyncNetPipeline(cfg, device="cpu")
    dlib = DlibCascadeDetector()

    def dlib_faces(img, conf_th=0.9, scales=(0.25,)):
        boxes = dlib.detect_one(img)
        return np.column_stack([boxes[:, :4], np.ones(len(boxes))]) if len(boxes) else np.zeros((0, 5))

    pipe_b.s3fd.detect_faces = dlib_faces

    print(f"{len(videos)} clips; lsbench wall: 1 worker {ours[1]:.1f} s, 2 workers {ours[2]:.1f} s "
          f"(Ray scaling 1->2 workers: {ours[1] / ours[2]:.2f}x; includes Ray start-up)")
    print(f"{'clip':36} {'ref A s':>8} {'ref A net s':>11} {'ref A offsets':>13} {'ref B s':>8} {'ref B offsets':>13} {'lsbench offset':>14}")
    tot_a = tot_net = tot_b = 0.0
    for v in videos:
        before = net_time.seconds
        ta, off_a, _ = run_pipeline(pipe, v, tmp / "ref_a")
        tnet = net_time.seconds - before
        tb, off_b, _ = run_pipeline(pipe_b, v, tmp / "ref_b")
        tot_a, tot_net, tot_b = tot_a + ta, tot_net + tnet, tot_b + tb
        print(f"{v.name[:36]:36} {ta:>8.2f} {tnet:>11.2f} {str(off_a or 'no track'):>13} {tb:>8.2f} "
              f"{str(off_b or 'no track'):>13} {our_rows.get(v.name, '?'):>14}")
    n = len(videos)
    per_ours = ours[2] / n
    print(f"per clip: reference A {tot_a / n:.2f} s (network {tot_net / n:.2f} s), reference B {tot_b / n:.2f} s, "
          f"lsbench {per_ours:.2f} s (2 workers)")
    print(f"ratio against reference A's network time alone: {tot_net / n / per_ours:.2f}x; against reference B: "
          f"{tot_b / n / per_ours:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"speedup: {tot_a / n / per_ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

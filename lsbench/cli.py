"""The `lsbench` command line. Heavy imports (torch, ray) happen inside the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import click

from . import __version__
from .errors import LsbenchError, NotBuiltError, WeightsError
from .registry import DATASETS, DETECTORS, METRICS, MODELS, PROTOCOLS


class _Group(click.Group):
    """Turns LsbenchError into one line on stderr and its exit code: never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LsbenchError as exc:
            click.echo(f"lsbench: error: {exc}", err=True)
            sys.exit(exc.exit_code)


class RegistryChoice(click.Choice):
    """A choice backed by a registry: help lists the names, a typo gets a close-match hint."""

    def __init__(self, registry, extra: tuple = ()):
        self.registry = registry
        super().__init__(registry.names() + list(extra), case_sensitive=True)

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        try:
            self.registry.entry(value)
        except LsbenchError as exc:
            self.fail(str(exc), param, ctx)
        return value


def _choices(registry, extra: tuple = ()) -> RegistryChoice:
    return RegistryChoice(registry, extra)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lsbench")
def cli() -> None:
    """lsbench: lip-sync research toolkit.

    \b
    Turn talking-face corpora into synchronised Parquet shards (preprocess), score lip-sync
    models under one protocol (evaluate), publish the scores (leaderboard). `score` rates the
    audio-video sync of any video with SyncNet; `generate` lip-syncs a whole video with a bundled
    model; `train` trains SyncTalkFace or the SyncNet expert; `conformance` proves the ports
    equal to the official code; `weights` manages official checkpoints; `demo` runs on a
    bundled clip.
    """


# ----------------------------------------------------------------------------- preprocess
@cli.command()
@click.option("--dataset", type=_choices(DATASETS), required=True, help="Corpus layout to read.")
@click.option("--root", type=click.Path(path_type=Path), required=True, help="Corpus root (e.g. .../mvlrs_v1).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder for shards.")
@click.option("--split", default=None, help="Only this split (lrs2: train/val/test/pretrain; lrw: train/val/test; "
                                            "voxceleb2: dev/test). Default: every split present.")
@click.option("--limit", type=int, default=None, help="Only the first N clips (quick runs).")
@click.option("--crop-size", type=int, default=96, show_default=True, help="Face crop side in pixels.")
@click.option("--crop-scale", type=float, default=0.15, show_default=True, help="Growth of the face box before cropping (0.4 = syncnet_python).")
@click.option("--detector", type=_choices(DETECTORS, ("auto",)), default="auto", show_default=True,
              help="auto: s3fd when its weights are present, else dlib (no download).")
@click.option("--detect-every", type=int, default=5, show_default=True, help="Run the detector on every k-th frame; track between.")
@click.option("--sync", type=click.Choice(["auto", "syncnet", "energy", "none"]), default="auto", show_default=True,
              help="AV offset estimator; auto: syncnet when its weights are present, else none (clips kept unshifted); "
                   "energy: the weight-free estimator (drops clips it is unsure of).")
@click.option("--sync-min-conf", type=float, default=3.0, show_default=True, help="SyncNet: drop clips below this LSE-C.")
@click.option("--energy-min-conf", type=float, default=4.0, show_default=True, help="Energy estimator: drop clips below this peak height (std devs).")
@click.option("--sync-max-offset", type=int, default=6, show_default=True, help="Drop clips with |offset| above this many frames.")
@click.option("--shard-mb", type=int, default=512, show_default=True, help="Target shard file size.")
@click.option("--max-decode-gb", type=float, default=4.0, show_default=True,
              help="Refuse (errors row 'too_long') a clip whose decoded frames would exceed this much memory.")
@click.option("--shard-rows", type=int, default=None, help="Also flush a shard after this many clips.")
@click.option("--workers", type=int, default=None, help="Actors processing clips (default: one per CPU).")
@click.option("--ray-address", default=None, help="Join this Ray cluster (default: start a local one).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def preprocess(dataset, root, out, split, limit, crop_size, crop_scale, detector, detect_every, sync, sync_min_conf,
               energy_min_conf, sync_max_offset, shard_mb, max_decode_gb, shard_rows, workers, ray_address,
               no_progress) -> None:
    """Corpus -> synchronised Parquet shards (Ray pipeline).

    \b
    Each clip is decoded (25 fps, 16 kHz), its faces detected and tracked, the speaking face
    cropped, its audio-video offset measured (SyncNet, or the weight-free energy estimator)
    and corrected; clips out of sync or unreadable become rows of OUT/errors with the stage
    and the reason. A re-run resumes: finished clips are skipped.
    """
    from preprocess.pipeline import RunOptions, run
    from preprocess.stages import Config

    cfg = Config(crop_size=crop_size, crop_scale=crop_scale, detect_every=detect_every, sync=sync,
                 sync_min_conf=sync_min_conf, energy_min_conf=energy_min_conf, sync_max_offset=sync_max_offset,
                 max_decode_gb=max_decode_gb)
    opts = RunOptions(dataset=dataset, root=root, out=out, split=split, limit=limit, detector=detector,
                      shard_bytes=shard_mb << 20, shard_rows=shard_rows, ray_address=ray_address, num_workers=workers,
                      progress=not no_progress)
    run(opts, cfg, echo=click.echo)


# ----------------------------------------------------------------------------- evaluate
@cli.command()
@click.option("--model", type=_choices(MODELS, ("all",)), required=True,
              help="A registered model, a reference row (ground-truth, static-frame, shifted-audio), or all.")
@click.option("--protocol", type=_choices(PROTOCOLS), default="random-reference", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--split", default="test", show_default=True, help="Split to evaluate ('all' for every split).")
@click.option("--limit", type=int, default=None, help="Only the first N clips (sorted by clip id).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the pairing RNG (recorded).")
@click.option("--device", default="auto", show_default=True,
              help="Torch device for models and metrics: auto (CUDA when present, else CPU), cpu, cuda, cuda:N.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--save-videos", type=int, default=0, show_default=True, help="Write the first N generated clips as mp4.")
@click.option("--resume", is_flag=True, help="Continue a killed run: clips already scored are kept, not rescored.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The model's checkpoint file (default: its managed file, see `lsbench weights list`).")
@click.option("--filelist", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="wav2lip-filelist: Wav2Lip's test list (lrs2.txt, lrw.txt, lrs3.txt; 'audio_src video' per line).")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Ray actors scoring pairs in parallel (1: in this process; 0: Ray for 64+ pairs, one actor per CPU).")
@click.option("--no-progress", is_flag=True)
def evaluate(model, protocol, data, split, limit, seed, device, out, save_videos, resume, weights_file, filelist,
             workers, no_progress) -> None:
    """Run a model under a protocol and write a results JSON (the leaderboard's only input).

    \b
    random-reference: each clip's video is driven by another clip's speech (seeded pairing,
    recorded); reconstruction: by its own audio, adding PSNR, SSIM and LMD against the real
    frames; wav2lip-filelist: the pairs of Wav2Lip's published test lists (--filelist), scored
    as the paper's scripts generate them. Every pair not scored is counted with its reason.
    """
    from .evaluate import evaluate as run_eval

    if weights_file and model == "all":
        raise click.UsageError("--weights names one model's checkpoint; it cannot go with --model all")
    names = [m for m in MODELS.names(ready_only=True)] if model == "all" else [model]
    skipped = []
    for name in names:
        try:
            run_eval(name, data, protocol, None if split == "all" else split, limit, seed, device, out, save_videos,
                     resume, progress=not no_progress, echo=click.echo, weights_path=weights_file, filelist=filelist,
                     workers=workers)
        except WeightsError as exc:
            if model != "all":
                raise
            skipped.append(name)
            click.echo(f"model {name} skipped: {exc}", err=True)
    if skipped:
        click.echo(f"{len(skipped)} model(s) skipped for missing weights: {', '.join(skipped)}", err=True)


# ----------------------------------------------------------------------------- generate
@cli.command()
@click.option("--model", type=_choices(MODELS), default="wav2lip", show_default=True,
              help="A face-crop generator: wav2lip, wav2lip-gan or lipgan.")
@click.option("--video", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="The face video to re-voice (looped when the speech is longer).")
@click.option("--audio", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The driving speech (any format ffmpeg reads; default: the video's own audio).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output mp4.")
@click.option("--detector", type=_choices(DETECTORS), default="dlib", show_default=True, help="Face detector.")
@click.option("--pads", type=int, nargs=4, default=(0, 10, 0, 0), show_default=True,
              help="Box padding in pixels: top bottom left right (inference.py's default includes the chin).")
@click.option("--no-smooth", is_flag=True, help="Do not average face boxes over 5 frames.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The model's checkpoint file (default: its managed file).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-progress", is_flag=True)
def generate(model, video, audio, out, detector, pads, no_smooth, weights_file, device, no_progress) -> None:
    """Lip-sync a whole video to new speech and paste the faces back (Wav2Lip's inference.py).

    Every frame's face is detected (gaps are interpolated), padded, smoothed over 5 frames,
    generated at 96x96 in batches and pasted back; the mp4 carries the driving audio.
    """
    from .generate import generate_video

    generate_video(model, video, out, audio, detector, pads, not no_smooth, device, weights_file,
                   progress=not no_progress, echo=click.echo)


# ----------------------------------------------------------------------------- train
@cli.command()
@click.option("--model", type=click.Choice(["synctalkface", "syncnet"]), required=True,
              help="synctalkface, or syncnet: the 96x96 colour lip-sync expert Wav2Lip-style training needs first.")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint folder (resumable).")
@click.option("--split", default="train", show_default=True, help="Split to train on ('all' for every split).")
@click.option("--steps", type=int, default=1000, show_default=True, help="Optimiser steps in total (a resumed run counts on).")
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Learning rate (the authors' value).")
@click.option("--img-size", type=click.Choice(["96", "128"]), default="128", show_default=True,
              help="SyncTalkFace face size (the authors': 128).")
@click.option("--expert", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="SyncTalkFace: a lip-sync expert at --img-size for the audio-visual sync loss (off without it).")
@click.option("--slots", type=int, default=96, show_default=True, help="SyncTalkFace memory slots S.")
@click.option("--dim", type=int, default=512, show_default=True, help="SyncTalkFace memory channels C.")
@click.option("--radius", type=float, default=16.0, show_default=True, help="SyncTalkFace addressing scale kappa.")
@click.option("--checkpoint-every", type=int, default=100, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT's last checkpoint (weights, optimisers, step).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--no-progress", is_flag=True)
def train(model, data, out, split, steps, batch_size, lr, img_size, expert, slots, dim, radius, checkpoint_every, resume,
          seed, device, no_progress) -> None:
    """Train SyncTalkFace or the colour SyncNet expert from lsbench shards.

    Losses, weights and sampling follow the authors' scripts; checkpoints are written in
    their published formats (so `evaluate --weights` reads them) every --checkpoint-every
    steps; OUT/losses.jsonl logs every step.
    """
    from .device import pick
    from .train import TRAINERS, TrainOptions

    opts = TrainOptions(model, data, out, steps, batch_size, lr, img_size=int(img_size), n_slot=slots, dim=dim,
                        radius=radius, expert=expert,
                        checkpoint_every=checkpoint_every, resume=resume, seed=seed, device=pick(device),
                        split=None if split == "all" else split)
    TRAINERS[model](opts, echo=click.echo, progress=not no_progress)


# ----------------------------------------------------------------------------- leaderboard
@cli.command()
@click.option("--results", type=click.Path(path_type=Path), required=True, help="Folder of results JSON files.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Site output folder.")
@click.option("--serve", is_flag=True, help="Serve the site on 127.0.0.1 afterwards, for a quick look.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port for --serve (0: any free port).")
def leaderboard(results, out, serve, port) -> None:
    """Results JSON -> a static leaderboard site (index.html, one page per results file).

    \b
    One table per dataset/split and protocol: every metric with its 95% CI and the
    direction that is better, sortable columns, best values highlighted, rows tied with
    the leader marked, non-official weights flagged, links to the raw JSON. Model pages
    hold per-clip tables, an offset histogram, LSE-C against LSE-D and the saved videos
    (`evaluate --save-videos N`) beside their targets. Links are relative: publish the
    folder as it is, or open index.html from disk. Files of another results schema
    version are refused.
    """
    from leaderboard.render import build_site, serve as serve_site

    build_site(results, out, echo=click.echo)
    if serve:
        serve_site(out, port, echo=click.echo)


# ----------------------------------------------------------------------------- weights
@cli.group()
def weights() -> None:
    """Official checkpoints: list, fetch (sha-256 checked), verify, path.

    \b
    Files are cached in $LSBENCH_HOME/weights (default ~/.cache/lsbench/weights).
    LSBENCH_WEIGHTS_DIR names a folder of files you already have; it is searched first.
    LSBENCH_MIRROR=URL fetches every file from URL/<filename> instead of its source.
    """


@weights.command("list")
def weights_list() -> None:
    """Every known file, its source and whether it is present."""
    from . import weights as W

    rows = []
    for s in W.all_specs():
        found = W.find(s)
        rows.append((s.name, s.filename, str(found) if found else "-", s.sha256 or "(pinned on first fetch)", s.url))
    width = [max(len(r[i]) for r in rows + [("name", "file", "present at", "sha-256", "source")]) for i in range(3)]
    click.echo(f"{'name':{width[0]}}  {'file':{width[1]}}  {'present at':{width[2]}}  source")
    for r in rows:
        click.echo(f"{r[0]:{width[0]}}  {r[1]:{width[1]}}  {r[2]:{width[2]}}  {r[4]}")


@weights.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download even if a verified copy exists.")
def weights_fetch(names: List[str], force: bool) -> None:
    """Download NAMES (file names or groups: wav2lip, makeittalk, ...) into the cache."""
    from . import weights as W

    failed = 0
    for s in W.resolve(names):
        try:
            p = W.fetch(s, force=force)
            click.echo(f"ok      {s.name:28} {p}")
        except LsbenchError as exc:
            failed += 1
            click.echo(f"failed  {s.name:28} {exc}", err=True)
    if failed:
        sys.exit(1)


@weights.command("verify")
@click.argument("names", nargs=-1)
def weights_verify(names: List[str]) -> None:
    """Check size and sha-256 of present files (all known files by default)."""
    from . import weights as W

    bad = 0
    for s in W.resolve(names) if names else W.all_specs():
        p = W.find(s)
        if p is None:
            click.echo(f"missing {s.name:28} {s.filename}")
            continue
        try:
            digest = W.verify(s, p)
            pinned = "" if W.expected_sha256(s) else " (no published or pinned hash to compare)"
            click.echo(f"ok      {s.name:28} {digest}{pinned}")
        except LsbenchError as exc:
            bad += 1
            click.echo(f"BAD     {s.name:28} {exc}")
    if bad:
        sys.exit(1)


@weights.command("path")
@click.argument("name")
def weights_path(name: str) -> None:
    """Print the local path of NAME (fails with how to get it when absent)."""
    from . import weights as W

    click.echo(W.path(name))


# ----------------------------------------------------------------------------- score
@cli.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--audio", type=click.Path(path_type=Path), default=None, help="Score against this audio instead of the video's own.")
@click.option("--mode", type=click.Choice(["crop", "track"]), default="crop", show_default=True,
              help="crop: frames are face crops (Wav2Lip's LRS2 scoring); track: detect and track faces first.")
@click.option("--detector", type=_choices(DETECTORS), default=None,
              help="track mode: face detector (default: s3fd when its weights are present, else dlib).")
@click.option("--detect-every", type=int, default=1, show_default=True,
              help="track mode: run the detector on every k-th frame, interpolate between.")
@click.option("--syncnet-weights", type=click.Path(path_type=Path), default=None,
              help="syncnet_v2.model to use (default: the managed official file).")
@click.option("--min-track", type=int, default=100, show_default=True, help="track mode: shortest face track, frames.")
@click.option("--min-face-size", type=float, default=100, show_default=True, help="track mode: smallest mean face side, px.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def score(video: Path, audio: Optional[Path], mode: str, detector: Optional[str], syncnet_weights: Optional[Path],
          detect_every: int, min_track: int, min_face_size: float, device: str, as_json: bool) -> None:
    """Audio-video sync of VIDEO with SyncNet (syncnet_python's numbers, faster).

    \b
    offset  frames the audio is shifted against the video (syncnet_python's sign:
            positive = audio ahead); 0 is in sync
    LSE-C   confidence = median - min of the mean distances over offsets: HIGHER is better
    LSE-D   distance = min of the mean distances over offsets:            LOWER is better
    """
    from . import weights as W
    from .device import pick
    from .syncnet.lse import SyncNetScorer
    from .syncnet.model import load_syncnet
    from .syncnet.score import score_video
    from .syncnet.specs import SYNCNET

    dev = pick(device)
    net = load_syncnet(syncnet_weights)
    det = None
    if mode == "track":
        from .detectors import create

        det = create(detector or "auto", dev)
    rows = score_video(video, SyncNetScorer(net, device=dev), audio=audio, mode=mode, detector=det, min_track=min_track,
                       min_face_size=min_face_size, detect_every=detect_every)
    weights_file = Path(syncnet_weights) if syncnet_weights else W.path(SYNCNET, check=False)
    meta = {"video": str(video), "audio": str(audio or video), "mode": mode, "syncnet_weights": str(weights_file),
            "syncnet_sha256": W.sha256_file(weights_file), "detector": det.name if det else None}
    if as_json:
        click.echo(json.dumps({**meta, "tracks": [r.to_dict() for r in rows]}, indent=1))
        return
    click.echo(f"{video} (mode {mode}{', detector ' + det.name if det else ''})")
    click.echo(f"{'track':>5}  {'frames':>11}  {'status':9}  {'offset (frames)':>15}  {'LSE-C conf (higher better)':>26}  "
               f"{'LSE-D dist (lower better)':>25}")
    for r in rows:
        if r.status == "ok":
            click.echo(f"{r.track:>5}  {r.first_frame:>5}-{r.last_frame:<5}  {'ok':9}  {r.offset:>15d}  {r.lse_c:>26.3f}  {r.lse_d:>25.3f}")
        else:
            click.echo(f"{r.track:>5}  {r.first_frame:>5}-{r.last_frame:<5}  {r.status:9}  {r.reason}")


# ----------------------------------------------------------------------------- conformance
@cli.command()
@click.argument("packs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write each case's outputs as <case>.npz here.")
@click.option("--case", "cases", multiple=True, help="Only these case ids.")
def conformance(packs: List[Path], as_json: bool, out: Optional[Path], cases: List[str]) -> None:
    """Run conformance PACKS: procedural official checkpoints through lsbench's loaders,
    every case compared with the official outputs. Exit 1 if any judged output fails."""
    from .conformance.runner import format_report, run_pack

    reports = []
    for pack in packs:
        rep = run_pack(pack, candidate_dir=(out / pack.name) if out else None, cases=list(cases) or None,
                       progress=(lambda s: None) if as_json else (lambda s: click.echo(f"  .. {s}", err=True)))
        reports.append(rep)
        if not as_json:
            click.echo(format_report(rep))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], indent=1))
    if not all(r.ok for r in reports):
        sys.exit(1)


# ----------------------------------------------------------------------------- demo
@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo_out"), show_default=True)
@click.option("--seconds", type=float, default=4.0, show_default=True)
def demo(out: Path, seconds: float) -> None:
    """Bundled default, no download: synthetic talking faces with known audio shifts are
    written to mp4, decoded back, and their offsets recovered (energy estimator; SyncNet
    LSE too when its official weights are present)."""
    from .demo import run_demo

    run_demo(out, seconds=seconds, echo=click.echo)


def main() -> None:
    cli(prog_name="lsbench")


if __name__ == "__main__":
    main()

"""The `lsbench` command line. Heavy imports (torch, ray) happen inside the commands."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path
from typing import List, Optional

import click

from . import __version__
from .errors import LsbenchError, WeightsError
from .outputs import check_appendable, check_output_dir, check_output_file
from .registry import DATASETS, DETECTORS, METRICS, MODELS, PROTOCOLS, import_target, trainers


class _Group(click.Group):
    """Turns LsbenchError into one line on stderr and its exit code: never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LsbenchError as exc:
            click.echo(f"lsbench: error: {exc}", err=True)
            sys.exit(exc.exit_code)

    def resolve_command(self, ctx: click.Context, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            if close:
                ctx.fail(f"No such command {name!r}: did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)


class HintChoice(click.Choice):
    """A fixed choice whose typo gets a close-match hint."""

    def convert(self, value, param, ctx):
        if value not in self.choices:
            close = difflib.get_close_matches(str(value), list(self.choices), n=1, cutoff=0.6)
            if close:
                self.fail(f"{value!r} is not one of {', '.join(map(repr, self.choices))}: did you mean {close[0]!r}?",
                          param, ctx)
        return super().convert(value, param, ctx)


class RegistryChoice(click.Choice):
    """A choice backed by a registry: help lists the names, a typo gets a close-match hint.
    `only` keeps the entries a command can use (e.g. models with a full-frame mode); `why`
    says what the others lack."""

    def __init__(self, registry, extra: tuple = (), only=None, why: str = ""):
        self.registry = registry
        self.only, self.why = only, why
        super().__init__([e.name for e in registry if only is None or only(e)] + list(extra), case_sensitive=True)

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        respelled = value.replace("_", "-")
        if respelled in self.choices:  # names are hyphenated; the underscore spelling is accepted with a note
            click.echo(f"lsbench: note: {self.registry.kind} {value!r} is spelled {respelled!r}", err=True)
            return respelled
        try:
            entry = self.registry.entry(value)
        except LsbenchError as exc:
            self.fail(str(exc), param, ctx)
        if self.only is None or self.only(entry):  # registered after this command was built (e.g. by a test)
            return value
        self.fail(f"{self.registry.kind} {value!r} {self.why or 'cannot be used here'}; choose from "
                  f"{', '.join(self.choices)}", param, ctx)


def _choices(registry, extra: tuple = (), only=None, why: str = "") -> RegistryChoice:
    return RegistryChoice(registry, extra, only, why)


class _PreprocessCommand(click.Command):
    """Its help ends with each dataset's expected folder layout, read from the recipes (their
    module docstrings) when the help is shown, so the layout is written in one place."""

    def format_help_text(self, ctx, formatter):
        super().format_help_text(ctx, formatter)
        import sys as _sys

        from .registry import import_target

        rows = []
        for e in DATASETS:
            doc = " ".join((_sys.modules[import_target(e.target).__module__].__doc__ or e.summary).split("\n\n")[0].split())
            label, sep, rest = doc.partition(": ")
            rows.append((e.name, rest if sep and label.lower() == e.name.lower() else doc))
        with formatter.section("Expected layout per --dataset (paths below --root)"):
            formatter.write_dl(rows)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lsbench")
def cli() -> None:
    """lsbench: lip-sync research toolkit.

    \b
    Turn talking-face corpora into synchronised Parquet shards (preprocess), score lip-sync
    models under one protocol (evaluate), publish the scores (leaderboard). `score` rates the
    audio-video sync of any video with SyncNet; `fid` is pytorch-fid's FID of two image folders;
    `generate` lip-syncs a whole video with a bundled model; `train` trains SyncTalkFace or the
    SyncNet expert; `conformance` proves the ports equal to the official code; `weights` manages
    official checkpoints; `ls` lists what is registered and the state of its weights; `pairs` and
    `evaluate --generated` score models that run outside lsbench; `validate` checks a results file
    or a shard folder; `demo` runs the main job on synthetic talking faces (no download).
    """


# ----------------------------------------------------------------------------- preprocess
@cli.command(cls=_PreprocessCommand)
@click.option("--dataset", type=_choices(DATASETS), required=True, help="Corpus layout to read.")
@click.option("--root", type=click.Path(path_type=Path), required=True, help="Corpus root. lrs2: the folder holding mvlrs_v1/ and the split lists, or mvlrs_v1 itself (either "
                   "works); lrs3: the folder holding pretrain/ trainval/ test/; lrw: lipread_mp4 (or the folder "
                   "above it); voxceleb2: the folder holding dev/ and test/; hdtf: the folder holding HDTF_dataset/ "
                   "and videos/, or cut clips RD|WDA|WRA_Name_nnn.mp4 (`lsbench ls datasets` shows each layout).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder for shards.")
@click.option("--split", default=None, help="Only this split (lrs2: train/val/test/pretrain; lrs3: pretrain/trainval/"
                                            "test; lrw: train/val/test; voxceleb2: dev/test; hdtf: train/test). "
                                            "Default: every split present.")
@click.option("--split-file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="hdtf (no official split): a list of the test clips (Name_k, one per line) instead of lsbench's "
                   "identity-disjoint hdtf-identity-v1 split; its sha-256 goes in the dataset card.")
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
def preprocess(dataset, root, out, split, split_file, limit, crop_size, crop_scale, detector, detect_every, sync, sync_min_conf,
               energy_min_conf, sync_max_offset, shard_mb, max_decode_gb, shard_rows, workers, ray_address,
               no_progress) -> None:
    """Corpus -> synchronised Parquet shards (Ray pipeline).

    \b
    Each clip is decoded (25 fps, 16 kHz), its faces detected and tracked, the speaking face
    cropped, its audio-video offset measured (SyncNet, or the weight-free energy estimator)
    and corrected; clips out of sync or unreadable become rows of OUT/errors with the stage
    and the reason. A re-run resumes: finished clips are skipped.
    """
    check_output_dir(out)
    from preprocess.pipeline import RunOptions, run
    from preprocess.stages import Config

    cfg = Config(crop_size=crop_size, crop_scale=crop_scale, detect_every=detect_every, sync=sync,
                 sync_min_conf=sync_min_conf, energy_min_conf=energy_min_conf, sync_max_offset=sync_max_offset,
                 max_decode_gb=max_decode_gb)
    opts = RunOptions(dataset=dataset, root=root, out=out, split=split, limit=limit, detector=detector,
                      shard_bytes=shard_mb << 20, shard_rows=shard_rows, ray_address=ray_address, num_workers=workers,
                      progress=not no_progress, split_file=split_file)
    run(opts, cfg, echo=click.echo)


# ----------------------------------------------------------------------------- evaluate
@cli.command()
@click.option("--model", type=_choices(MODELS, ("all",)), default=None,
              help="A registered model, a reference row (ground-truth, static-frame, shifted-audio), or all.")
@click.option("--generated", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Instead of --model: a folder of videos made outside lsbench, one per pair (see `lsbench pairs`); "
                   "each pair is checked and scored like a bundled model's output.")
@click.option("--name", "submission_name", default=None,
              help="The name the results carry (needed with --generated; with --model: to keep two checkpoints of one "
                   "model apart, e.g. --weights mine.pth --name wav2lip-mine).")
@click.option("--task", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="With --generated: the task folder the videos answer (its protocol, seed and pairs are used).")
@click.option("--url", default="", help="With --generated: a link to the model (paper or code), shown on the board.")
@click.option("--weights-sha256", default="", help="With --generated: the sha-256 of the weights used (recorded, "
                                                   "marked unverified).")
@click.option("--protocol", type=_choices(PROTOCOLS), default="random-reference", show_default=True,
              help="How pairs are made: random-reference (another clip's speech), reconstruction (own audio, adds "
                   "PSNR/SSIM/LMD), wav2lip-filelist (Wav2Lip's published test lists).")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--split", default="test", show_default=True, help="Split to evaluate ('all' for every split).")
@click.option("--limit", type=int, default=None, help="Only the first N clips (sorted by clip id).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the pairing RNG (recorded).")
@click.option("--device", default="auto", show_default=True,
              help="Torch device for models and metrics: auto (CUDA when present, else CPU), cpu, cuda, cuda:N.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Folder for the results JSON (and the .partial.jsonl rows of a run in progress).")
@click.option("--save-videos", type=int, default=0, show_default=True, help="Write the first N generated clips as mp4.")
@click.option("--resume", is_flag=True, help="Continue a killed run: clips already scored are kept, not rescored.")
@click.option("--overwrite", is_flag=True,
              help="Replace a finished results file of the same name (and its saved videos), or discard an "
                   "interrupted run's rows instead of resuming them. Without it nothing is replaced.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The model's checkpoint file (default: its managed file, see `lsbench weights list`).")
@click.option("--filelist", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="wav2lip-filelist: Wav2Lip's test list (lrs2.txt, lrw.txt, lrs3.txt; 'audio_src video' per line).")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Ray actors scoring pairs in parallel (1: in this process; 0: Ray for 64+ pairs, one actor per CPU).")
@click.option("--lse-route", type=click.Choice(["auto", "whole-frame", "pipeline"]), default="auto", show_default=True,
              help="How LSE-D/LSE-C are computed from the generated full-frame video. auto: the published tables' "
                   "route for the dataset (whole-frame for LRS2/LRS3/LRW as Wav2Lip's calculate_scores_LRS.py; "
                   "pipeline = syncnet_python's S3FD tracking + crops, for any other video).")
@click.option("--metrics", "metric_list", default=None,
              help="Comma-separated metrics instead of the defaults (see `lsbench ls metrics`), e.g. "
                   "lse,crop-lse,fid; or +NAME to add to the defaults, e.g. +crop-lse.")
@click.option("--fid-bootstrap", type=int, default=0, show_default=True,
              help="FID interval: a bootstrap over clips with this many resamples (each costs one 2048x2048 "
                   "matrix square root); 0 shows no interval.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="Torch threads per scoring process. With the default 1 a row is the same bit for bit in one "
                   "process or in any number of Ray workers; more threads run one process faster, and values may "
                   "then differ in the last digits (0: torch's default).")
@click.option("--keep-fid-activations", is_flag=True,
              help="Keep each clip's FID pool3 activations (OUT/<results>.fid/, 8 KB per frame and side) after the run.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(model, generated, submission_name, task, url, weights_sha256, protocol, data, split, limit, seed, device,
             out, save_videos, resume, overwrite, weights_file, filelist, workers, lse_route, metric_list, fid_bootstrap, threads,
             keep_fid_activations, no_progress) -> None:
    """Run a model under a protocol and write a results JSON (the leaderboard's only input).

    \b
    random-reference: each clip's video is driven by another clip's speech (seeded pairing,
    recorded); reconstruction: by its own audio, adding PSNR, SSIM and LMD against the real
    frames; wav2lip-filelist: the pairs of Wav2Lip's published test lists (--filelist), scored
    as the paper's scripts generate them. Every pair not scored is counted with its reason.
    """
    check_output_dir(out)
    check_appendable(out, "*.partial.jsonl")  # a resumed run appends to its rows
    from .evaluate import evaluate as run_eval

    if weights_file and model == "all":
        raise click.UsageError("--weights names one model's checkpoint; it cannot go with --model all")
    if (model is None) == (generated is None):
        raise click.UsageError("give --model NAME, or --generated DIR with --name NAME")
    if generated is not None and not submission_name:
        raise click.UsageError("--generated needs --name (the name its results carry)")
    if submission_name and model == "all":
        raise click.UsageError("--name names one run's results; it cannot go with --model all")
    if resume and overwrite:
        raise click.UsageError("--resume continues an interrupted run and --overwrite discards it: give one of them")
    if generated is not None and task is not None:
        _refuse_task_conflicts(task, protocol=protocol, seed=seed, limit=limit, filelist=filelist)
    chosen = [m.strip() for m in metric_list.split(",") if m.strip()] if metric_list else None
    if chosen and len({m.startswith("+") for m in chosen}) > 1:
        raise click.UsageError(f"--metrics {metric_list}: either name the metrics (lse,fid) or add to the defaults "
                               f"(+crop-lse,+fid), not both")
    for m in chosen or []:
        METRICS.entry(m.lstrip("+"))  # a typo is one line with a close-match hint
    options = dict(limit=limit, seed=seed, device=device, out=out, save_videos=save_videos, resume=resume,
                   overwrite=overwrite, name=submission_name,
                   progress=not no_progress, filelist=filelist, lse_route=lse_route, metrics=chosen,
                   fid_bootstrap=fid_bootstrap, threads=threads, keep_activations=keep_fid_activations)
    split = None if split == "all" else split
    if generated is not None:
        run_eval(submission_name, data, protocol, split, echo=click.echo, generated=generated, task=task, url=url,
                 weights_sha256=weights_sha256, **options)
        return
    names = [m for m in MODELS.names(ready_only=True)] if model == "all" else [model]
    skipped = []
    for name in names:
        try:
            run_eval(name, data, protocol, split, echo=click.echo, weights_path=weights_file, workers=workers,
                     **options)
        except WeightsError as exc:
            if model != "all":
                raise
            skipped.append(name)
            click.echo(f"model {name} skipped: {exc}", err=True)
    if skipped:
        click.echo(f"{len(skipped)} model(s) skipped for missing weights: {', '.join(skipped)}", err=True)


def _refuse_task_conflicts(task: Path, **given) -> None:
    """A task folder decides the protocol, seed, limit and filelist of the pairs it holds: an option given
    on the command line that says otherwise is refused in one line, never silently overridden."""
    from click.core import ParameterSource

    from .evaluate.task import read_task

    ctx = click.get_current_context()
    spec = read_task(task)
    decided = {"protocol": spec["protocol"]["name"], "seed": spec["seed"], "limit": spec["limit"],
               "filelist": (spec.get("filelist") or {}).get("path")}
    for name, value in given.items():
        if ctx.get_parameter_source(name) != ParameterSource.COMMANDLINE:
            continue
        if str(value) != str(decided[name]):
            raise click.UsageError(f"--{name} {value} conflicts with the task {task}, whose pairs were made with "
                                   f"{name} {decided[name]}; leave --{name} out (the task decides it) or export the "
                                   f"task again")


# ----------------------------------------------------------------------------- pairs
@cli.command()
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--protocol", type=_choices(PROTOCOLS), default="random-reference", show_default=True,
              help="How each clip is paired with speech and a reference frame (as `evaluate --protocol`).")
@click.option("--split", default="test", show_default=True, help="Split to export ('all' for every split).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the pairing RNG.")
@click.option("--limit", type=int, default=None, help="Only the first N clips (sorted by clip id).")
@click.option("--filelist", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="wav2lip-filelist: Wav2Lip's test list.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Task folder to write.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def pairs(data, protocol, split, seed, limit, filelist, out, no_progress) -> None:
    """Export the evaluation task for a model that runs outside lsbench.

    \b
    OUT/task.json     protocol, version, seed, shard digest, pair-list hash, the output spec
    OUT/pairs.csv     pair_id, target_clip, speech_clip, ref_frame, n_frames, fps, width, height, files
    OUT/targets/ID.mkv  the target's full frames (lossless) with its own audio
    OUT/speech/ID.wav   the driving speech
    Generate one lossless video per pair (ID.mkv: target size, 25 fps, n_frames, the speech as
    audio) with nothing but ffmpeg on your side, then `lsbench evaluate --generated DIR --name NAME
    --task OUT --data SHARDS`.
    """
    check_output_dir(out)
    from .evaluate.task import export_task

    export_task(data, protocol, out, None if split == "all" else split, seed, limit, filelist,
                progress=not no_progress, echo=click.echo)


# ----------------------------------------------------------------------------- metric-check
@cli.command("metric-check")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--split", default="test", show_default=True, help="Split whose clips are faulted ('all' for every split).")
@click.option("--limit", type=int, default=None, help="Only the first N clips (sorted by clip id).")
@click.option("--metrics", "metric_list", default=None,
              help="Comma-separated metrics to check (default: every registered per-clip metric that can run here).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for metric_check.json and the page what_each_metric_sees.html.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def metric_check(data, split, limit, metric_list, out, device, no_progress) -> None:
    """Does each metric see the fault it claims to measure?

    \b
    From each target clip's own frames and audio, controlled faults: audio shifted by
    +-1..15 frames, another speaker's speech, a frozen mouth, the mouth blurred (sigma 1, 2,
    4), JPEG at quality 90/50/20, another face pasted at the target's boxes, a silent
    stretch, and the ground truth. Every metric scores every fault by its normal route; per
    metric value and fault family: a response curve (mean, 95% bootstrap interval) and a
    verdict: responds, inverted, blind or undefined (rule in the JSON and on the page).
    """
    import json

    check_output_dir(out)
    from leaderboard.metric_page import write_page

    from .evaluate.metric_check import checkable_metrics, run_check, summary_lines

    chosen = [m.strip() for m in metric_list.split(",") if m.strip()] if metric_list else checkable_metrics()
    for m in chosen:
        METRICS.entry(m)
    doc = run_check(data, None if split == "all" else split, limit, chosen, device, progress=not no_progress,
                    echo=click.echo)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metric_check.json").write_text(json.dumps(doc, indent=1) + "\n")
    page = write_page(doc, out)
    for line in summary_lines(doc):
        click.echo(line)
    click.echo(f"metric-check: {len(doc['clips'])} clips, {len(doc['faults'])} faults -> {out / 'metric_check.json'}, {page}")


# ----------------------------------------------------------------------------- validate
@cli.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Shards to re-plan the pairs from (default: the path the results record).")
def validate(path, data) -> None:
    """Check a results JSON before publishing it, or report on a shard folder.

    \b
    results file: schema, protocol version, the pair list (hash, rows, and the plan of its seed
                  when the shards are found), value ranges (LSE-D >= 0, LSE-C >= 0,
                  |offset| <= 15, SSIM <= 1, PSNR > 0, FID >= -0.001), hashes; the coverage
                  (a run that scored nothing fails) and how many pairs came lossy
    shard folder: (OUT or OUT/shards) pipeline version, config, counts and inconsistencies;
                  a folder evaluate would refuse (every clip dropped) fails
    Exits 1 with the reasons when the file or folder fails.
    """
    if path.is_dir():
        from preprocess.validate import validate_shards

        report = validate_shards(path)
        for line in report.lines():
            click.echo(line)
        if not report.ok:
            sys.exit(1)
        return
    if path.suffix == ".json" and _is_metric_check(path):
        from .evaluate.metric_check import check_document

        problems = check_document(json.loads(path.read_text()))
        for p in problems:
            click.echo(f"problem: {p}")
        if problems:
            sys.exit(1)
        click.echo(f"ok: {path}: a metric-check file")
        return
    from .validate import validate_results_file

    info = validate_results_file(path, data)
    if not info["scored"]:
        click.echo(f"{info['file']}: nothing was scored (0/{info['pairs']} pairs): the leaderboard lists it apart, "
                   f"in no table; the rows say why each pair failed")
        sys.exit(1)
    click.echo(f"ok: {info['file']}: {info['model']} / {info['protocol']}, {info['scored']}/{info['pairs']} pairs scored")
    if info["lossy"]:
        click.echo(f"lossy: {info['lossy']} scored pair(s) came in a lossy codec (the task asks for lossless frames "
                   f"and audio); the board marks the row 'lossy'")


def _is_metric_check(path: Path) -> bool:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return False  # validate_results_file says what is wrong with it
    return isinstance(raw, dict) and "metric_check_version" in raw


# ----------------------------------------------------------------------------- generate
@cli.command()
@click.option("--model", type=_choices(MODELS, only=lambda e: e.full_frame, why="has no full-frame mode"),
              default="wav2lip", show_default=True, help="A model that re-voices whole frames (face-crop generators).")
@click.option("--video", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="The face video to re-voice (looped when the speech is longer).")
@click.option("--audio", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The driving speech (any format ffmpeg reads; default: the video's own audio).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output mp4.")
@click.option("--detector", type=_choices(DETECTORS, ("auto",)), default="dlib", show_default=True,
              help="Face detector. The default, dlib, needs no weights; inference.py itself uses s3fd (give s3fd, or "
                   "auto: s3fd when its weights are present, else dlib).")
@click.option("--pads", type=int, nargs=4, default=(0, 10, 0, 0), show_default=True,
              help="Box padding in pixels: top bottom left right (inference.py's default includes the chin).")
@click.option("--no-smooth", is_flag=True, help="Do not average face boxes over 5 frames.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The model's checkpoint file (default: its managed file).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def generate(model, video, audio, out, detector, pads, no_smooth, weights_file, device, no_progress) -> None:
    """Lip-sync a whole video to new speech and paste the faces back (Wav2Lip's inference.py).

    Every frame's face is detected (gaps are interpolated), padded, smoothed over 5 frames,
    generated at 96x96 in batches and pasted back; the mp4 carries the driving audio.
    A video of another frame rate is read at 25 fps (ffmpeg's fps filter drops or repeats
    frames; a note says so) and the output is 25 fps.
    """
    check_output_file(out)
    from .generate import generate_video

    generate_video(model, video, out, audio, detector, pads, not no_smooth, device, weights_file,
                   progress=not no_progress, echo=click.echo)


# ----------------------------------------------------------------------------- train
@cli.command()
@click.option("--model", type=click.Choice(list(trainers())), required=True,
              help="What to train (from the registry): " + "; ".join(f"{n}: {e.summary}" for n, (e, _) in
                                                                   trainers().items()) + ".")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Shard folder from `preprocess`.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint folder (resumable).")
@click.option("--split", default="train", show_default=True, help="Split to train on ('all' for every split).")
@click.option("--steps", type=int, default=1000, show_default=True, help="Optimiser steps in total (a resumed run counts on).")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="Samples per optimiser step (synctalkface needs at least 2).")
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Learning rate (the authors' value).")
@click.option("--img-size", type=click.Choice(["96", "128"]), default="128", show_default=True,
              help="SyncTalkFace face size (the authors': 128).")
@click.option("--expert", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="SyncTalkFace: a lip-sync expert at --img-size for the audio-visual sync loss (off without it).")
@click.option("--slots", type=int, default=96, show_default=True, help="SyncTalkFace memory slots S.")
@click.option("--dim", type=int, default=512, show_default=True, help="SyncTalkFace memory channels C.")
@click.option("--radius", type=float, default=16.0, show_default=True, help="SyncTalkFace addressing scale kappa.")
@click.option("--checkpoint-every", type=int, default=100, show_default=True,
              help="Write the checkpoint every N steps (and at the last step); a resumed run restarts from it.")
@click.option("--resume", is_flag=True, help="Continue from OUT's last checkpoint (weights, optimisers, step).")
@click.option("--overwrite", is_flag=True, help="OUT holds another run: delete it and start afresh.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample choice and the initial weights.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(model, data, out, split, steps, batch_size, lr, img_size, expert, slots, dim, radius, checkpoint_every, resume,
          overwrite, seed, device, no_progress) -> None:
    """Train SyncTalkFace or the colour SyncNet expert from lsbench shards.

    Losses, weights and sampling follow the authors' scripts; checkpoints are written in
    their published formats (so `evaluate --weights` reads them) every --checkpoint-every
    steps; OUT/losses.jsonl logs every step. OUT holds one run: a used folder needs --resume
    (continue it) or --overwrite (replace it).
    """
    check_output_dir(out)
    from .device import pick
    from .train import TrainOptions

    opts = TrainOptions(model, data, out, steps, batch_size, lr, img_size=int(img_size), n_slot=slots, dim=dim,
                        radius=radius, expert=expert,
                        checkpoint_every=checkpoint_every, resume=resume, overwrite=overwrite, seed=seed,
                        device=pick(device),
                        split=None if split == "all" else split)
    import_target(trainers()[model][1])(opts, echo=click.echo, progress=not no_progress)


# ----------------------------------------------------------------------------- leaderboard
@cli.command()
@click.option("--results", type=click.Path(path_type=Path), required=True, multiple=True,
              help="Folder of results JSON files (give it several times to take several folders; other JSON files "
                   "in them, such as a task.json, are named and left out).")
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
    check_output_dir(out)
    from leaderboard.render import build_site, serve as serve_site

    build_site(list(results), out, echo=click.echo)
    if serve:
        serve_site(out, port, echo=click.echo)


# ----------------------------------------------------------------------------- weights
@cli.group()
def weights() -> None:
    """Official checkpoints: list, fetch (sha-256 checked), import, verify, path.

    \b
    Files are cached in $LSBENCH_HOME/weights (default ~/.cache/lsbench/weights).
    LSBENCH_WEIGHTS_DIR names a folder of files you already have; it is searched first.
    fetch tries each file's sources in order (`weights list` shows them): the authors'
    current links first (Google Drive files and folders included); --from URL is tried
    before them, and LSBENCH_MIRROR=URL (URL/<filename>) replaces them. The first official download of a file
    with no published hash pins its sha-256; a later one that differs is refused unless
    --accept-new-hash. Files from mirrors or imports count as non-official.
    """


def _hint_spelling(names) -> None:
    from . import weights as W

    for typed, preferred in W.respelled(names):
        click.echo(f"lsbench: note: weights {typed!r} are now spelled {preferred!r}", err=True)


@weights.command("list")
def weights_list() -> None:
    """Every known file: its state (missing, or verified / pinned / mirror / procedural), where
    it is, and every source fetch tries, in order. Only verified and pinned files count as official."""
    from . import weights as W

    head = ("name", "file", "state", "present at")
    rows, sources = [], []
    for s in W.all_specs():
        found = W.find(s)
        state = W.provenance(s, found)["state"] if found else "missing"
        rows.append((W.public_name(s), s.filename, state, str(found) if found else "-"))
        made = [f"none released: {W.trained_by(s)}"] if W.trained_by(s) else []
        sources.append([src.label() for src in W.sources_of(s)] or made or [f"a web page only: {s.url}"])
    width = [max(len(r[i]) for r in rows + [head]) for i in range(3)]
    click.echo("  ".join(f"{head[i]:{width[i]}}" for i in range(3)) + f"  {head[3]}")
    for r, srcs in zip(rows, sources):
        click.echo("  ".join(f"{r[i]:{width[i]}}" for i in range(3)) + f"  {r[3]}")
        for n, label in enumerate(srcs, 1):
            click.echo(f"    source {n}: {label}")


@weights.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download even if a verified copy exists.")
@click.option("--from", "from_url", default=None, metavar="URL",
              help="Try this URL first (one NAME only); what it delivers is recorded as a mirror.")
@click.option("--accept-new-hash", is_flag=True,
              help="Take a download whose sha-256 differs from the one pinned at the first official download "
                   "(the authors replaced the file); the old and new hashes are recorded in the lock file.")
def weights_fetch(names: List[str], force: bool, from_url: Optional[str], accept_new_hash: bool) -> None:
    """Download NAMES (weight names as `weights list` shows them, or a group: makeittalk = its four
    files) into the cache."""
    from . import weights as W
    from .weight_sources import url as url_source

    _hint_spelling(names)
    specs = W.resolve(names)
    if from_url and len(specs) != 1:
        raise click.UsageError(f"--from names one file's URL; {', '.join(names)} are {len(specs)} files")
    extra = [url_source(from_url, "--from", official=False)] if from_url else []
    failed = 0
    for s in specs:
        try:
            p = W.fetch(s, force=force, extra=extra, accept_new_hash=accept_new_hash,
                        echo=lambda line: click.echo(f"note    {line}", err=True))
            click.echo(f"ok      {W.public_name(s):28} {W.provenance(s, p)['state']:10} {p}")
        except LsbenchError as exc:
            failed += 1
            click.echo(f"failed  {W.public_name(s):28} {exc}", err=True)
    if failed:
        sys.exit(1)


@weights.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--link", is_flag=True, help="Symlink FILE into the cache instead of copying it.")
@click.option("--replace", is_flag=True, help="Replace another file already in the cache under this name.")
def weights_import(name: str, file: Path, link: bool, replace: bool) -> None:
    """Use a checkpoint you already have as NAME: it is loaded through lsbench's own loader for
    NAME first (a file of another model is refused), then copied (or linked) into the cache;
    its sha-256, origin and state (verified / pinned / mirror) are recorded and shown by
    `lsbench weights list` and `lsbench ls models`."""
    from . import weights as W

    _hint_spelling([name])
    s = W.spec(name)
    dest = W.import_file(s, file, link=link, replace=replace)
    rec = W.provenance(s, dest)
    click.echo(f"ok      {W.public_name(s):28} {rec['state']:10} {rec['sha256']}  {dest} ({'link' if link else 'copy'})")
    click.echo(f"        {rec['why']}")


@weights.command("verify")
@click.argument("names", nargs=-1)
def weights_verify(names: List[str]) -> None:
    """Check present files (all known files by default): size and sha-256 against the published
    or pinned hash; where no hash can vouch for a file, load it through lsbench's loader for it,
    which checks every key and shape. Exit 1 if any named or present file fails."""
    from . import weights as W

    _hint_spelling(names)
    bad = 0
    for s in W.resolve(names) if names else W.all_specs():
        name = W.public_name(s)
        p = W.find(s)
        if p is None:
            bad += bool(names)  # asked for by name: its absence is a failure
            click.echo(f"missing {name:28} {s.filename}")
            continue
        try:
            W.verify(s, p)
            rec = W.provenance(s, p)
            detail = rec["why"]
            if rec["state"] not in W.OFFICIAL_STATES:
                loader = W.load_check(s, p)
                detail = (f"{detail}; loads through {loader}: keys and shapes match" if loader
                          else f"{detail}; lsbench has no loader to check it")
            click.echo(f"ok      {name:28} {rec['state']:10} {rec['sha256']}  {detail}")
        except LsbenchError as exc:
            bad += 1
            click.echo(f"BAD     {name:28} {exc}")
    if bad:
        sys.exit(1)


@weights.command("path")
@click.argument("name")
def weights_path(name: str) -> None:
    """Print the local path of NAME (fails with how to get it when absent)."""
    from . import weights as W

    _hint_spelling([name])
    click.echo(W.path(name))


# ----------------------------------------------------------------------------- ls
_KINDS = {"datasets": DATASETS, "detectors": DETECTORS, "models": MODELS, "metrics": METRICS, "protocols": PROTOCOLS}


@cli.command("ls")
@click.argument("kind", required=False, type=HintChoice(list(_KINDS)))
def ls(kind: Optional[str]) -> None:
    """What lsbench knows (all KINDs by default): each registered dataset, detector, model,
    metric and protocol with its summary, and the state of each weights file it loads:
    missing, verified, pinned, mirror or procedural (only verified and pinned are official)."""
    from . import weights as W

    for k in [kind] if kind else list(_KINDS):
        click.echo(k)
        entries = list(_KINDS[k])
        width = max(len(e.name) for e in entries)
        for e in entries:
            click.echo(f"  {e.name:{width}}  {e.summary}" + (f" [planned: {e.planned}]" if e.planned else ""))
            if getattr(e, "lse_route", None):
                click.echo(f"  {'':{width}}    LSE route: {e.lse_route}")
            for s in W.specs_of(e.weights):
                found = W.find(s)
                state = W.provenance(s, found)["state"] if found else "missing"
                extra = f" (none released: {e.trained_by})" if e.trained_by and not found else ""
                click.echo(f"  {'':{width}}    weights {W.public_name(s)} ({s.filename}): {state}{extra}")


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
@click.option("--framewise", is_flag=True, help="With --json: each track's per-frame confidence too (a value per frame).")
def score(video: Path, audio: Optional[Path], mode: str, detector: Optional[str], syncnet_weights: Optional[Path],
          detect_every: int, min_track: int, min_face_size: float, device: str, as_json: bool,
          framewise: bool) -> None:
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
                       min_face_size=min_face_size, detect_every=detect_every,
                       warn=lambda msg: click.echo(f"lsbench: warning: {msg}", err=True))
    weights_file = Path(syncnet_weights) if syncnet_weights else W.path(SYNCNET, check=False)
    meta = {"video": str(video), "audio": str(audio or video), "mode": mode, "syncnet_weights": str(weights_file),
            "syncnet_sha256": W.sha256_file(weights_file), "detector": det.name if det else None}
    if as_json:
        click.echo(json.dumps({**meta, "tracks": [r.to_dict(framewise) for r in rows]}, indent=1))
        _fail_unless_scored(video, rows)
        return
    click.echo(f"{video} (mode {mode}{', detector ' + det.name if det else ''})")
    click.echo(f"{'track':>5}  {'frames':>11}  {'status':9}  {'offset (frames)':>15}  {'LSE-C conf (higher better)':>26}  "
               f"{'LSE-D dist (lower better)':>25}")
    for r in rows:
        if r.status == "ok":
            click.echo(f"{r.track:>5}  {r.first_frame:>5}-{r.last_frame:<5}  {'ok':9}  {r.offset:>15d}  {r.lse_c:>26.3f}  {r.lse_d:>25.3f}"
                       + (f"  ({r.reason})" if r.reason else ""))
        else:
            click.echo(f"{r.track:>5}  {r.first_frame:>5}-{r.last_frame:<5}  {r.status:9}  {r.reason}")
    _fail_unless_scored(video, rows)


def _fail_unless_scored(video: Path, rows) -> None:
    if not any(r.status == "ok" for r in rows):
        raise LsbenchError(f"{video}: nothing scored: " + "; ".join(f"{r.status}: {r.reason}" for r in rows))


# ----------------------------------------------------------------------------- fid
@cli.command()
@click.argument("path_a", type=click.Path(path_type=Path))
@click.argument("path_b", type=click.Path(path_type=Path))
@click.option("--batch-size", type=int, default=50, show_default=True, help="Images per Inception forward pass.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
@click.option("--dims", type=int, default=2048, show_default=True,
              help="Feature dimensionality; only 2048 (pool3, pytorch-fid's default) is ported.")
@click.option("--save-stats", is_flag=True,
              help="Write PATH_A's statistics (mu, sigma) to PATH_B (.npz) instead of scoring.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="pt_inception-2015-12-05-6726825d.pth to use (default: the managed file, sha-256 prefix checked).")
def fid(path_a: Path, path_b: Path, batch_size: int, device: str, dims: int, save_stats: bool,
        weights_file: Optional[Path]) -> None:
    """Frechet Inception Distance between two image folders, as `python -m pytorch_fid A B`.

    \b
    A drop-in for pytorch-fid 0.3.0 (pool3 of its FID Inception, proven equal by the
    `fid` conformance pack) without torchvision. Prints `FID:  <value>`; lower is closer.
    PATH_A, PATH_B  folders of images (*.png, *.jpg, *.jpeg, *.bmp, *.pgm, *.ppm, *.tif,
                    *.tiff, *.webp; lower-case, sorted by name, read as RGB), or .npz
                    statistics written by --save-stats (this tool's or pytorch-fid's)
    --save-stats    lsbench fid --save-stats FOLDER OUT.npz saves FOLDER's statistics
    Weights: `lsbench weights fetch fid_inception`, or --weights FILE.
    """
    from .device import pick
    from .fid import load_inception
    from .fid import save_stats as save_fid_stats
    from .fid import score_folders
    from .fid.folders import image_files

    if dims != 2048:
        raise LsbenchError(f"--dims {dims}: only 2048 (pool3) is ported; pytorch-fid's 64/192/768-d blocks are not")
    if batch_size < 1:
        raise LsbenchError(f"--batch-size {batch_size}: must be at least 1")
    dev = pick(device)
    if save_stats:
        if not path_a.is_dir():
            raise LsbenchError(f"{path_a}: --save-stats needs a folder of images as the first path")
        image_files(path_a)
        check_output_file(path_b)  # before the Inception pass, not after it
        net = load_inception(weights_file, device=dev)
        click.echo(f"Saving statistics for {path_a}")
        out = save_fid_stats(path_a, path_b, batch_size=batch_size, device=dev, net=net)
        click.echo(f"wrote {out}", err=True)
        return
    for p in (path_a, path_b):
        if not p.exists():
            raise LsbenchError(f"{p}: no such folder or statistics file")
        if not str(p).endswith(".npz"):
            image_files(p)  # an empty or wrong folder is named before any weights are looked for
    needs_net = not (str(path_a).endswith(".npz") and str(path_b).endswith(".npz"))
    net = load_inception(weights_file, device=dev) if needs_net else None
    value = score_folders(path_a, path_b, batch_size=batch_size, device=dev, net=net)
    if value < 0:  # sqrtm's rounding on (nearly) equal sets; pytorch-fid prints the raw value
        click.echo("FID:  0.0")
        click.echo(f"note: computed {value:.3g}, below 0 by rounding in sqrtm (the sets are equal or nearly so); "
                   f"FID cannot be negative, so 0 is printed", err=True)
        return
    click.echo(f"FID:  {value}")


# ----------------------------------------------------------------------------- conformance
@cli.command()
@click.argument("packs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write each case's outputs as <case>.npz here.")
@click.option("--case", "cases", multiple=True, help="Only these case ids.")
def conformance(packs: List[Path], as_json: bool, out: Optional[Path], cases: List[str]) -> None:
    """Run conformance PACKS: procedural official checkpoints through lsbench's loaders,
    every case compared with the official outputs. Exit 1 if any judged output fails. A folder
    of packs (../shared/conformance) stands for every pack a registration names."""
    if out is not None:
        check_output_dir(out)
    from .conformance.runner import case_ids, check_case_selection, expand_packs, format_report, run_pack

    packs = expand_packs(list(packs))
    if cases:
        check_case_selection(list(packs), list(cases))
        packs = [p for p in packs if set(case_ids(p)) & set(cases)]  # packs holding none of them are not run
    reports = []
    for pack in packs:
        rep = run_pack(pack, candidate_dir=(out / pack.name) if out else None, cases=list(cases) or None,
                       progress=(lambda s: None) if as_json else (lambda s: click.echo(f"  .. {s}", err=True)))
        reports.append(rep)
        if not as_json:
            click.echo(format_report(rep))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], indent=1))
    empty = [r.pack for r in reports if not r.n_judged]
    if empty:
        raise LsbenchError(f"no judged case ran in {', '.join(empty)}: nothing was compared with the official outputs")
    if not all(r.ok for r in reports):
        sys.exit(1)


# ----------------------------------------------------------------------------- demo
@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo_out"), show_default=True,
              help="Folder for the corpus, shards, results and site the demo makes.")
@click.option("--clips", type=int, default=6, show_default=True, help="Synthetic clips in the corpus (at most 6).")
@click.option("--seconds", type=float, default=2.4, show_default=True, help="Length of each clip.")
@click.option("--workers", type=int, default=None, help="Ray workers for preprocess (default: one per CPU).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def demo(out: Path, clips: int, seconds: float, workers: Optional[int], no_progress: bool) -> None:
    """The main job end to end on a corpus made on the spot, with no download.

    \b
    Writes synthetic talking faces (no real clip is bundled) with known audio shifts in LRS2's
    layout, preprocesses them through Ray (offsets corrected by the weight-free energy estimator,
    or by SyncNet when its official weights are in LSBENCH_WEIGHTS_DIR), evaluates every model the
    present weights allow (always the reference rows ground-truth, static-frame, shifted-audio)
    under random-reference and reconstruction, builds the leaderboard site, and prints what was
    kept and dropped, the scores and the path of index.html.
    """
    from .demo import run_demo

    check_output_dir(out)
    run_demo(out, n_clips=clips, seconds=seconds, workers=workers, progress=not no_progress, echo=click.echo)


def main() -> None:
    cli(prog_name="lsbench")


if __name__ == "__main__":
    main()

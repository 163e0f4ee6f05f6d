"""`lsbench preprocess`: recipe -> Ray Data (stages in actors) -> Parquet shards.

Ray Data runs the stages (actors load the detector and SyncNet once, `num_gpus` when GPUs
exist); the driver streams the results and writes the files itself, so that every file
appears atomically (temporary name, fsync, rename) and a run killed at any point resumes
with exactly the clip set of an uninterrupted run:

  OUT/shards/part-<run>-<n>.parquet     clip rows (SHARD_SCHEMA)
  OUT/errors/part-<run>-<n>.parquet     clips that failed (ERRORS_SCHEMA): stage + reason
  OUT/build.json                        the configuration every row was built with (preprocess/build.py)
  OUT/dataset_card.json                 counts, hours, offset/confidence histograms, config, weights

A clip is done once its row is in a renamed file of either folder; a re-run skips done
clips and removes leftover temporary files. Clips are flushed in file order, so a row is
never written twice.

A failure of the machine (EnvironmentFailure: ffmpeg gone, disk full, out of memory, CUDA,
weights) is never written as a clip's row: an actor answers it with an `environment` marker
row (a Ray traceback would bury the cause), the driver writes the clips already finished
and stops with the one line, and a later run retries the rest.
"""

from __future__ import annotations

import inspect
import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lsbench.errors import EnvironmentFailure, Failure, LsbenchError, environment_failure

from .build import build_record, claim, weight_record, weight_state
from .card import read_errors, write_card  # noqa: F401  (read_errors: pipeline's public reader of OUT/errors)
from .quiet import filtered_stderr
from .schema import ERRORS_SCHEMA, SHARD_SCHEMA, columns_for
from .stages import ENVIRONMENT_STAGE, Config, environment_rows, error_row, process_batch
from .summary import summary_lines


@dataclass
class RunOptions:
    dataset: str
    root: Path
    out: Path
    split: Optional[str] = None
    limit: Optional[int] = None
    detector: str = "auto"  # auto = s3fd when its weights are present, else dlib (resolved before the actors start)
    shard_bytes: int = 512 << 20
    shard_rows: Optional[int] = None  # flush after this many rows too (tests, quick runs)
    ray_address: Optional[str] = None
    num_workers: Optional[int] = None
    progress: bool = True
    split_file: Optional[Path] = None  # a recipe that defines its own split (HDTF): the test clips' list instead


ROW_GROUP_ROWS = 16  # small row groups: `evaluate` reads one clip at a time without reading a whole file


def _atomic_write(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        env = environment_failure(exc)
        tmp.unlink(missing_ok=True)
        if env is not None:
            raise EnvironmentFailure(f"cannot write {path}: {env}") from None
        raise


def done_clip_ids(out: Path) -> set:
    """Clip ids in finished files; leftover temporary files of a killed run are removed."""
    done = set()
    for sub in ("shards", "errors"):
        folder = out / sub
        if not folder.is_dir():
            continue
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink()
        for f in folder.glob("*.parquet"):
            done.update(pq.read_table(f, columns=columns_for("resume")).column("clip_id").to_pylist())
    return done


@dataclass
class Listing:
    """What the recipe found: the clips, and the splits this copy of the corpus lacks."""

    refs: List[dict]
    missing_splits: Dict[str, str]
    unreadable_folders: List[str]  # "path (reason)": their clips could not be listed
    unlisted: List[str] = field(default_factory=list)  # clips on disk in no split list: skipped, and counted
    split_definition: Optional[dict] = None  # a recipe's own split (HDTF): its rule or file, and sha-256


def list_corpus(opts: RunOptions) -> Listing:
    recipe = make_recipe(opts)
    missing = recipe.missing_splits() if opts.split is None else {}
    refs = []
    for ref in recipe.find_clips(opts.split):
        refs.append(ref.to_dict())
        if opts.limit is not None and len(refs) >= opts.limit:
            break
    if not refs:
        raise LsbenchError(f"{opts.root}: the {opts.dataset} recipe found no clips"
                           + (f" in split {opts.split!r}" if opts.split else "")
                           + (f"; {len(recipe.unreadable)} folder(s) could not be read, e.g. {recipe.unreadable[0]}"
                              if recipe.unreadable else ""))
    split_def = recipe.split_definition() if hasattr(recipe, "split_definition") else None
    return Listing(refs, missing, list(recipe.unreadable), recipe.unlisted(), split_def)


def make_recipe(opts: RunOptions):
    """The dataset's recipe; one that cuts clips from longer videos writes them under OUT/clips, and
    --split-file goes to a recipe that defines its own split (refused, in one line, by the others)."""
    from lsbench.registry import DATASETS

    cls = DATASETS.load(opts.dataset)
    if opts.split_file is not None and "split_file" not in inspect.signature(cls.__init__).parameters:
        raise LsbenchError(f"--split-file: {opts.dataset} takes its splits from the corpus itself; only datasets "
                           f"without an official split (hdtf) accept a split file")
    recipe = cls(opts.root, split_file=opts.split_file) if opts.split_file is not None else cls(opts.root)
    if hasattr(recipe, "cut_root"):
        recipe.cut_root = Path(os.path.abspath(opts.out)) / "clips"
    return recipe


def find_refs(opts: RunOptions) -> List[dict]:
    return list_corpus(opts).refs


def resolve_sync(cfg: Config) -> "tuple[Config, str]":
    """The config with `--sync auto` made concrete, and a line saying what sync will do.
    auto = SyncNet when its weights are found, else none: clips are kept unshifted, never
    dropped on the weight-free estimator's guess (that one only runs with --sync energy)."""
    from lsbench import weights as W
    from lsbench.syncnet.specs import SYNCNET

    found = W.find(SYNCNET) if cfg.sync in ("auto", "syncnet") else None
    if cfg.sync == "syncnet" and found is None:
        raise EnvironmentFailure(f"--sync syncnet: {W.missing_message(SYNCNET)}")
    method = ("syncnet" if found else "none") if cfg.sync == "auto" else cfg.sync
    note = {"syncnet": f"sync: syncnet ({found})",
            "energy": "sync: energy (weight-free estimator; drops clips below --energy-min-conf)",
            "none": "sync: none (--sync none: offsets not measured, clips kept unshifted)"}[method]
    if cfg.sync == "auto" and method == "none":
        note = ("sync: none (--sync auto found no SyncNet weights: offsets not measured, clips kept unshifted; "
                "`lsbench weights fetch syncnet` to measure them, --sync energy for the weight-free estimator)")
    return replace(cfg, sync=method), note


LPT_MAX_CLIPS = 64


def longest_first(refs: List[dict], max_clips: int = LPT_MAX_CLIPS) -> List[dict]:
    """Small runs go longest clip first (LPT scheduling): otherwise a long clip that starts
    last runs alone while the other workers idle. Cost ~ frames x (1 + megapixels): the
    SyncNet windows scale with frames, decoding and detection with pixels too. Probing takes
    ~60 ms a clip, so large runs, where the tail is a negligible share, keep the recipe's order."""
    if len(refs) > max_clips:
        return refs
    from lsbench import media

    def cost(ref: dict) -> float:
        try:
            info = media.probe(ref["source_path"])
        except Failure:  # unreadable: cheap to fail, and decode() reports it properly
            return 0.0  # (an EnvironmentFailure, e.g. no ffprobe, stops the run here)
        return (info.video_duration or info.duration) * (1 + info.width * info.height / 1e6)

    costs = [cost(r) for r in refs]
    return [refs[i] for i in sorted(range(len(refs)), key=lambda i: (-costs[i], i))]


def make_scorer(cfg: Config):
    from lsbench import weights as W
    from lsbench.syncnet.specs import SYNCNET

    if cfg.sync in ("energy", "none") or (cfg.sync == "auto" and W.find(SYNCNET) is None):
        return None  # (the driver resolves auto before the actors start: see resolve_sync)
    from lsbench.device import pick
    from lsbench.syncnet.lse import SyncNetScorer
    from lsbench.syncnet.model import load_syncnet

    return SyncNetScorer(load_syncnet(), device=pick("auto"))


class ClipProcessor:
    """Ray actor: loads the detector and SyncNet once, processes batches of ClipRefs.

    It never raises: an EnvironmentFailure (or a failed set-up) comes back as `environment`
    marker rows, which the driver turns into its one-line stop."""

    def __init__(self, cfg: dict, detector: str):
        self.failure: Optional[str] = None
        try:
            import torch

            torch.set_num_threads(1)  # one clip per actor; parallelism comes from the actor pool
            self.cfg = Config(**cfg)
            from lsbench.detectors import create

            self.detector = create(detector)  # an actor Ray gave a GPU sees it through CUDA_VISIBLE_DEVICES
            self.scorer = make_scorer(self.cfg)
        except Exception as exc:
            env = environment_failure(exc)
            self.failure = str(env) if env else f"worker set-up failed: {type(exc).__name__}: {exc}"

    def __call__(self, batch: Dict[str, np.ndarray]) -> pa.Table:
        if self.failure is not None:
            return environment_rows(batch, self.failure)
        try:
            return process_batch(batch, self.detector, self.scorer, self.cfg)
        except EnvironmentFailure as exc:
            return environment_rows(batch, str(exc))


def _flat_refs(refs: List[dict]) -> List[dict]:
    """Ray Data columns must be flat: nested word timings travel as JSON text."""
    return [{**r, "words": json.dumps(r["words"]) if r.get("words") is not None else "",
             "word_duration": float("nan") if r.get("word_duration") is None else float(r["word_duration"]),
             "audio_path": r.get("audio_path") or "", "cut": r.get("cut") or ""} for r in refs]


class ShardWriter:
    def __init__(self, out: Path, run_id: str, shard_bytes: int, shard_rows: Optional[int]):
        self.out, self.run_id = out, run_id
        self.shard_bytes, self.shard_rows = shard_bytes, shard_rows
        self.rows: List[pa.Table] = []
        self.errors: List[dict] = []
        self.n_files = 0
        (out / "shards").mkdir(parents=True, exist_ok=True)
        (out / "errors").mkdir(parents=True, exist_ok=True)

    def add(self, results: pa.Table) -> "tuple[int, int]":
        """Queue a batch's rows; raises EnvironmentFailure for an actor's `environment` marker
        (whose clips get no row: a later run retries them)."""
        stages = results.column("error_stage").to_pylist()
        if ENVIRONMENT_STAGE in stages:
            raise EnvironmentFailure(results.column("error_message")[stages.index(ENVIRONMENT_STAGE)].as_py())
        ok_mask = results.column("ok").to_numpy(zero_copy_only=False)
        if ok_mask.any():
            self.rows.append(results.filter(pa.array(ok_mask)).select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA))
        for r in results.filter(pa.array(~ok_mask)).to_pylist():
            self.errors.append(error_row(r, r["error_stage"], r["error_reason"], r["error_message"]))
        pending_bytes = sum(t.nbytes for t in self.rows)
        pending_rows = sum(t.num_rows for t in self.rows)
        if pending_bytes >= self.shard_bytes or (self.shard_rows and pending_rows + len(self.errors) >= self.shard_rows):
            self.flush()
        return int(ok_mask.sum()), int((~ok_mask).sum())

    def flush(self) -> None:
        # errors first: a clip listed in no file is redone, never lost
        if self.errors:
            _atomic_write(pa.Table.from_pylist(self.errors, schema=ERRORS_SCHEMA),
                          self.out / "errors" / f"part-{self.run_id}-{self.n_files:05d}.parquet")
            self.errors = []
        if self.rows:
            _atomic_write(pa.concat_tables(self.rows), self.out / "shards" / f"part-{self.run_id}-{self.n_files:05d}.parquet")
            self.rows = []
        self.n_files += 1


def _process(opts: RunOptions, cfg: Config, todo: List[dict]) -> "tuple[int, int]":
    """Run the clips through the actor pool and write their rows: (clips in shards, in errors)."""
    import ray
    from tqdm import tqdm

    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # no --ray-address: a Ray of our own ("local"), never the latest cluster started on this machine (a
        # notebook's), which would refuse our num_cpus and run the job on somebody else's resources
        kwargs = dict(address=opts.ray_address or "local", ignore_reinit_error=True, include_dashboard=False,
                      log_to_driver=False, configure_logging=False)
        if opts.ray_address is None:
            kwargs["num_cpus"] = opts.num_workers or os.cpu_count() or 2
        try:
            ray.init(**kwargs)
        except Exception as exc:  # no cluster at --ray-address, a node that timed out starting, ...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            where = f"at {opts.ray_address}" if opts.ray_address else "locally"
            raise EnvironmentFailure(f"Ray could not start {where} ({type(exc).__name__}: {first})") from None
    from lsbench.weights import worker_runtime_env

    from .cluster_paths import check_nodes_see_paths

    check_nodes_see_paths(opts.root.resolve(), opts.out.resolve())
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    n_gpus = int(ray.cluster_resources().get("GPU", 0))
    workers = min(len(todo), opts.num_workers or max(1, int(ray.cluster_resources().get("CPU", 2))))
    ds = ray.data.from_items(_flat_refs(todo), override_num_blocks=min(len(todo), 200))
    # one clip in flight per actor: clips take seconds, so a free worker should take the next one
    # rather than clips queueing behind a long one on a busy actor
    with warnings.catch_warnings():  # max_restarts/max_task_retries have no named parameter yet (Ray 2.60)
        warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated")
        ds = ds.map_batches(ClipProcessor, fn_constructor_kwargs={"cfg": cfg.to_dict(), "detector": opts.detector},
                            batch_size=1, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1),
                            num_gpus=1 if n_gpus else 0, num_cpus=1, max_restarts=3, max_task_retries=3,
                            runtime_env=worker_runtime_env())
    writer = ShardWriter(opts.out, uuid.uuid4().hex[:8], opts.shard_bytes, opts.shard_rows)
    bar = tqdm(total=len(todo), unit="clip", desc="preprocess", disable=not opts.progress)
    n_ok = n_err = 0
    try:
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            a, b = writer.add(batch)
            n_ok, n_err = n_ok + a, n_err + b
            bar.update(a + b)
            bar.set_postfix(ok=n_ok, failed=n_err)
    except EnvironmentFailure as exc:
        bar.close()
        writer.flush()  # the clips finished so far are kept; the others are retried next run
        ray.shutdown()
        raise EnvironmentFailure(f"{exc} -- run stopped: {n_ok + n_err} clips written, the other "
                                 f"{len(todo) - n_ok - n_err} are retried by the next run") from None
    writer.flush()
    bar.close()
    return n_ok, n_err


def resolve_detector(name: str) -> "tuple[str, Dict[str, dict]]":
    """The detector `name` stands for (auto -> s3fd or dlib) and the provenance record of its weights."""
    from lsbench import weights as W
    from lsbench.detectors import resolve_name
    from lsbench.detectors.specs import S3FD

    resolved = resolve_name(name)
    if resolved != "s3fd":
        return resolved, {}
    found = W.find(S3FD)
    if found is None:
        raise EnvironmentFailure(f"--detector s3fd: {W.missing_message(S3FD)}")
    return resolved, {"s3fd": weight_record(S3FD, found)}


def sync_weights(cfg: Config) -> Dict[str, dict]:
    from lsbench import weights as W
    from lsbench.syncnet.specs import SYNCNET

    return {"syncnet": weight_record(SYNCNET, W.find(SYNCNET))} if cfg.sync == "syncnet" else {}


def run(opts: RunOptions, cfg: Config, echo: Callable[[str], None] = print) -> dict:
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")  # before ray.data configures its loggers: our bar and
    # summary say what happened; Ray Data's INFO lines still go to its session log files
    listing = list_corpus(opts)
    refs = listing.refs
    if listing.missing_splits:
        echo(f"note: {opts.dataset} split(s) not in this corpus, skipped: "
             + "; ".join(f"{s} ({why})" for s, why in listing.missing_splits.items()))
    if listing.unreadable_folders:
        n = len(listing.unreadable_folders)
        echo(f"warning: {n} folder(s) could not be read while listing, their clips are not among those found: "
             + "; ".join(listing.unreadable_folders[:3]) + (f"; and {n - 3} more (dataset_card.json)" if n > 3 else ""))
    if listing.unlisted:
        echo(f"note: {len(listing.unlisted)} clip(s) on disk are in no {opts.dataset} split list and are not "
             f"processed, e.g. {listing.unlisted[0]} (dataset_card.json counts them)")
    requested = cfg.sync
    cfg, sync_note = resolve_sync(cfg)
    detector, weights = resolve_detector(opts.detector)
    weights.update(sync_weights(cfg))
    echo(f"detector: {detector} (weights: {weight_state(weights.get(detector))})")
    echo(sync_note)
    out = opts.out
    build = claim(out, build_record(opts.dataset, opts.root, detector, cfg.to_dict(), weights, requested))
    done = done_clip_ids(out)
    todo = longest_first([r for r in refs if r["clip_id"] not in done])
    unread = f" ({len(listing.unreadable_folders)} folder(s) unreadable)" if listing.unreadable_folders else ""
    echo(f"{opts.dataset}: {len(refs)} clips found{unread}, {len(refs) - len(todo)} already done, {len(todo)} to process")
    t0 = time.time()
    if todo:
        with filtered_stderr():
            _process(replace(opts, detector=detector), cfg, todo)
    card = write_card(out, build, {"split": opts.split, "limit": opts.limit, "listed": len(refs),
                                   "processed": len(todo), "seconds": round(time.time() - t0, 2),
                                   "missing_splits": listing.missing_splits,
                                   "unreadable_folders": listing.unreadable_folders,
                                   "unlisted_clips": len(listing.unlisted),
                                   "split_definition": listing.split_definition})
    echo(f"done: {card['counts']['ok']} clips in shards, {card['counts']['failed']} in errors "
         f"({', '.join(f'{k}: {v}' for k, v in card['errors_by_reason'].items()) or 'none'}), "
         f"{card['hours']:.3f} h of video; {out}")
    for line in summary_lines(card):
        echo(line)
    return card

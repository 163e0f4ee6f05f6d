"""The evaluation harness: shards + protocol + model + metrics -> results JSON.

The harness knows nothing model-specific: it builds Pairs, calls model.generate, and
scores what comes back. Rows are appended to a `.partial.jsonl` beside the results as
they finish, so `--resume` continues a killed run without rescoring finished clips.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import pyarrow.parquet as pq

from . import __version__, media, results
from .data import decode_frames, shard_files
from .errors import LsbenchError
from .metrics.base import MetricUnavailable
from .models.base import Pair
from .protocols.base import ALIGNED
from .device import pick as pick_device
from .registry import METRICS, MODELS, PROTOCOLS

SPF = media.SAMPLES_PER_FRAME


def load_clips(data: Path, split: Optional[str], limit: Optional[int]) -> "tuple[Dict[str, dict], dict]":
    files = shard_files(data)
    clips: Dict[str, dict] = {}
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + str(f.stat().st_size).encode())
        for row in pq.read_table(f, columns=["clip_id", "dataset", "split", "n_frames", "frames", "audio"]).to_pylist():
            if split is None or row["split"] == split:
                clips[row["clip_id"]] = row
    if not clips:
        raise LsbenchError(f"{data}: no clips" + (f" in split {split!r}" if split else "") + " in the shards")
    ids = sorted(clips)[:limit] if limit else sorted(clips)
    clips = {k: clips[k] for k in ids}
    datasets = sorted({c["dataset"] for c in clips.values()})
    return clips, {"path": str(data), "datasets": datasets, "split": split, "shard_files": [f.name for f in files],
                   "shards_digest": h.hexdigest()}


def _frames(c: dict, n: int) -> np.ndarray:
    return decode_frames(c["frames"][:n])


def _audio(c: dict, n: int) -> np.ndarray:
    a = np.frombuffer(c["audio"], "<i2")[: n * SPF].astype(np.float32) / 32768.0
    return np.pad(a, (0, n * SPF - len(a)))


def _git_hash() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _make_metric(name: str, device: str):
    cls = METRICS.load(name)
    return cls(device=device) if "device" in inspect.signature(cls.__init__).parameters else cls()


def make_metrics(protocol, device: str, echo: Callable) -> "tuple[list, Dict[str, str]]":
    made, skipped = [], {}
    for entry in METRICS:
        name = entry.name
        if not entry.default or (entry.ground_truth and not protocol.metrics_need_ground_truth):
            continue
        if entry.planned:
            skipped[name] = f"not built yet ({entry.planned})"
            continue
        try:
            made.append(_make_metric(name, device))
        except MetricUnavailable as exc:
            skipped[name] = str(exc)
    for name, why in skipped.items():
        echo(f"metric {name} skipped: {why}")
    return made, skipped


AUTO_RAY_PAIRS = 64


class PairScorer:
    """A model and its metrics scoring one pair: the one code path, in this process or in a Ray actor."""

    def __init__(self, model, metrics: list):
        self.model, self.metrics = model, metrics

    def score(self, spec, target: dict, speech: dict, video_stem: Optional[str] = None) -> dict:
        frames = _frames(target, spec.n_frames)
        reference = frames if spec.ref_frame == ALIGNED else frames[min(spec.ref_frame, spec.n_frames - 1)]
        pair = Pair(frames, reference, _audio(speech, spec.n_frames), _audio(target, spec.n_frames))
        row = {"clip_id": spec.target, "audio_from": spec.audio_from, "ref_frame": spec.ref_frame,
               "n_frames": spec.n_frames, "fit": spec.fit, "status": "ok", "metrics": {}}
        try:
            gen = self.model.generate(pair)
            row["notes"] = gen.notes
            for m in self.metrics:
                row["metrics"].update(m.compute(gen.frames, gen.audio, frames if m.needs_ground_truth else None))
            if video_stem:
                media.write_video(f"{video_stem}.mp4", gen.frames, audio=gen.audio)
                media.write_video(f"{video_stem}.target.mp4", frames, audio=pair.own_audio)
                row["video"], row["target_video"] = f"{video_stem}.mp4", f"{video_stem}.target.mp4"
        except Exception as exc:  # one failing clip is a row with its reason, never a crashed run
            row.update(status="error", reason=f"{type(exc).__name__}: {exc}")
        return row


class _RayScorer:
    """Ray actor body: builds its own model and metrics once, then scores pairs."""

    def __init__(self, model_name: str, device: str, weights_path: Optional[str], metric_names: List[str]):
        metrics = [_make_metric(name, device) for name in metric_names]
        self.scorer = PairScorer(make_model(model_name, device, Path(weights_path) if weights_path else None), metrics)

    def score(self, *job) -> dict:
        return self.scorer.score(*job)


def _score_with_ray(jobs, n_workers: int, model_name: str, device: str, weights_path: Optional[Path],
                    metric_names: List[str], echo: Callable[[str], None]):
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 configure_logging=False)
    echo(f"scoring {len(jobs)} pairs in {n_workers} Ray workers")
    actor = ray.remote(num_cpus=1)(_RayScorer)
    pool = ActorPool([actor.remote(model_name, device, str(weights_path) if weights_path else None, metric_names)
                      for _ in range(n_workers)])
    yield from pool.map_unordered(lambda a, job: a.score.remote(*job), jobs)


def make_protocol(name: str, filelist: Optional[Path] = None):
    cls = PROTOCOLS.load(name)
    if "filelist" in inspect.signature(cls.__init__).parameters:
        return cls(filelist=filelist)
    if filelist is not None:
        raise LsbenchError(f"--filelist goes with --protocol wav2lip-filelist, not {name!r}")
    return cls()


def make_model(name: str, device: str, weights_path: Optional[Path] = None):
    cls = MODELS.load(name)
    params = inspect.signature(cls.__init__).parameters
    if weights_path is not None and "weights_path" not in params:
        raise LsbenchError(f"model {name!r} takes no checkpoint file (--weights)")
    kwargs = {"device": device} if "device" in params else {}
    return cls(**kwargs, **({"weights_path": weights_path} if weights_path is not None else {}))


def results_path(out: Path, model: str, protocol: str, dataset: str, split: Optional[str], seed: int) -> Path:
    return out / f"{model}__{protocol}__{dataset}-{split or 'all'}__seed{seed}.json"


def evaluate(model_name: str, data: Path, protocol_name: str = "random-reference", split: Optional[str] = "test",
             limit: Optional[int] = None, seed: int = 0, device: str = "auto", out: Path = Path("results"),
             save_videos: int = 0, resume: bool = False, progress: bool = True,
             echo: Callable[[str], None] = print, weights_path: Optional[Path] = None,
             filelist: Optional[Path] = None, workers: int = 1) -> Path:
    """workers: 1 scores in this process; N > 1 in N Ray actors (each loads the model and the
    metrics once); 0 picks Ray for splits of AUTO_RAY_PAIRS pairs or more. Same scoring code."""
    from tqdm import tqdm

    t0 = time.time()
    protocol = make_protocol(protocol_name, filelist)
    device = pick_device(device)
    model = make_model(model_name, device, weights_path)
    try:
        clips, dataset = load_clips(data, split, limit)
    except FileNotFoundError as exc:
        raise LsbenchError(str(exc)) from None
    plan = protocol.plan([{"clip_id": k, "n_frames": c["n_frames"]} for k, c in clips.items()], seed)
    metrics, skipped_metrics = make_metrics(protocol, device, echo)
    path = results_path(out, model_name, protocol_name, "+".join(dataset["datasets"]), split, seed)
    partial = path.with_suffix(".partial.jsonl")
    done: Dict[str, dict] = {}
    if resume and partial.exists():
        for line in partial.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the kill: that clip is scored again
            done[row["clip_id"]] = row
        echo(f"resuming: {len(done)} clips already scored in {partial}")
    elif partial.exists():
        partial.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    videos_dir = path.with_suffix("")
    todo = [p for p in plan.pairs if p.target not in done]
    first = {p.target for p in plan.pairs[:save_videos]}  # the plan's first N pairs get their videos saved
    jobs = [(spec, clips[spec.target], clips[spec.audio_from],
             str(path.parent / videos_dir.name / spec.target.replace("/", "_")) if spec.target in first else None)
            for spec in todo]
    n_workers = workers if workers > 0 else (min(os.cpu_count() or 1, 8) if len(jobs) >= AUTO_RAY_PAIRS else 1)
    if n_workers > 1 and jobs:
        rows_iter = _score_with_ray(jobs, n_workers, model_name, device, weights_path, [m.name for m in metrics], echo)
    else:
        scorer = PairScorer(model, metrics)
        rows_iter = (scorer.score(*job) for job in jobs)
    with open(partial, "a") as log:
        for row in tqdm(rows_iter, total=len(jobs), desc=f"evaluate {model_name}", unit="clip", disable=not progress):
            if row.get("video"):  # recorded relative to the results file
                row["video"], row["target_video"] = (str(Path(p).relative_to(path.parent))
                                                     for p in (row["video"], row["target_video"]))
            done[row["clip_id"]] = row
            log.write(json.dumps(results._jsonable(row)) + "\n")
            log.flush()
    rows = [done[p.target] for p in plan.pairs]
    directions = {k: v for m in metrics for k, v in m.higher_is_better.items()}
    columns = [{"key": v.key, "label": v.label, "higher_is_better": v.higher_is_better, "metric": m.name}
               for m in metrics for v in METRICS.entry(m.name).values]
    failed = [r for r in rows if r["status"] != "ok"]
    weights = {k: v for m in metrics for k, v in m.provenance().items()}
    weights.update(model.provenance())
    doc = {
        "schema_version": results.SCHEMA_VERSION,
        "lsbench": {"version": __version__, "git": _git_hash()},
        "model": {"name": model_name, "needs": list(model.needs), "face_size": model.face_size},
        "protocol": {"name": protocol.name, "version": protocol.version, "seed": seed,
                     "pairs": [[p.target, p.audio_from, p.ref_frame] for p in plan.pairs],
                     **({"filelist": {"path": str(protocol.path), "sha256": hashlib.sha256(protocol.path.read_bytes())
                                      .hexdigest(), "lines": len(protocol.lines)}} if filelist else {})},
        "dataset": dataset,
        "weights": weights,
        "official_weights": all(w.get("official", True) for w in weights.values()),
        "metrics": {"columns": columns, "directions": directions, "skipped": skipped_metrics},
        "rows": rows,
        "aggregates": results.aggregate(rows, directions, seed),
        "counts": {"clips": len(clips), "pairs": len(plan.pairs), "scored": len(rows) - len(failed),
                   "failed": len(failed), "skipped": plan.skip_counts(), "fit": plan.fit_counts()},
        "run": {"wall_s": round(time.time() - t0, 2), "device": device, "python": platform.python_version(),
                "machine": platform.machine()},
    }
    results.save(doc, path)
    partial.unlink()
    c = doc["counts"]
    echo(f"{model_name} / {protocol.name}: {c['scored']} scored, {c['failed']} failed, "
         f"{sum(c['skipped'].values())} skipped {c['skipped'] or ''} -> {path}")
    if not doc["official_weights"]:
        echo("WARNING: weights are not verifiably the official files; the results are flagged non-official")
    return path


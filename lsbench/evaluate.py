"""The evaluation harness: shards + protocol + model + metrics -> results JSON.

For every pair the harness does what the official scripts do: it decodes the target clip's
source frames, cuts the model's face crops from them, runs the model, pastes the faces back
into the source frames, writes the mp4 the official inference writes (lsbench.fullframe) and
scores that file by the official LSE route of its dataset. Face-crop metrics (energy sync,
the lip-sync expert, PSNR/SSIM/LMD, FID) are scored on the evaluation crops: the generated
full frames and the real ones cut at the shard's crop geometry, so every model is measured on
the same pixels. The harness knows nothing model-specific.

Rows are appended to a `.partial.jsonl` beside the results as they finish; its first line
records the run's configuration, so `--resume` continues a killed run of the same
configuration without rescoring finished clips and refuses to mix in another one. Shards are
read one clip at a time (lsbench.shards): memory does not grow with the split.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from . import __version__, fullframe, media, results
from .errors import Failure, LsbenchError, environment_failure
from .metrics.base import CropMetric, Undefined
from .metrics.fid import fid_aggregate
from .models.base import Pair
from .protocols.base import ALIGNED, PairSpec
from .device import pick as pick_device
from .registry import METRICS, MODELS, PROTOCOLS
from .shards import ShardIndex, pcm16_to_float
from preprocess.schema import columns_for

SPF = media.SAMPLES_PER_FRAME
WHOLE_FRAME_DATASETS = ("lrs2", "lrs3", "lrw")  # Wav2Lip's calculate_scores_LRS.py; anything else: run_pipeline
ROW_COLUMNS = columns_for("eval")  # what a pair's scoring reads of its target row (preprocess/schema.py)
MODEL_BATCH = 32  # a fixed forward batch: rows must not depend on how much memory happened to be free
EVAL_MAX_PIXELS = 1280 * 720  # source frames are decoded at most this large (preprocess's bound too)


def pick_route(datasets: List[str], override: str = "auto") -> str:
    """The LSE route the published tables used for these datasets (or the override)."""
    if override != "auto":
        return override
    return "whole-frame" if datasets and all(d in WHOLE_FRAME_DATASETS for d in datasets) else "pipeline"


@dataclass(frozen=True)
class Settings:
    """Everything a pair's row depends on besides the model and the pair itself."""

    route: str = "whole-frame"
    pads: Tuple[int, int, int, int] = fullframe.OFFICIAL_PADS
    speech_in_video: str = "window"  # window: the scored frames' speech; whole: all of it (wav2lip-filelist)
    threads: int = 1  # torch threads in the scoring process (0: leave torch's default, which follows the worker count)


def _fit(audio: np.ndarray, n_samples: int) -> np.ndarray:
    out = np.zeros(n_samples, np.float32)
    m = min(n_samples, len(audio))
    out[:m] = audio[:m]
    return out


BLAS_THREADS = 1  # numpy/scipy BLAS threads while a pair is scored, in every process


class PairScorer:
    """A model and its metrics scoring one pair: the one code path, in this process or in a Ray actor."""

    def __init__(self, model, metrics: list, index: ShardIndex, settings: Settings):
        self.model, self.metrics, self.index, self.settings = model, metrics, index, settings
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)

    def _inputs(self, spec: PairSpec, target: dict):
        n = spec.n_frames
        frames, scale = fullframe.source_frames(target, n, EVAL_MAX_PIXELS)
        track = np.asarray(target["boxes"][:n], np.float64) * scale
        real = _eval_crops(frames, track, target)
        boxes = fullframe.official_boxes(track, frames.shape[1:3], self.settings.pads)
        size = self.model.face_size
        if self.model.input_crop == "box":
            crops = fullframe.crop_faces(frames, boxes, size)
        else:
            crops = _resize(real, size)
        return frames, track, real, boxes, crops

    def score(self, spec: PairSpec, video_stem: Optional[str] = None, act_path: Optional[str] = None) -> dict:
        from threadpoolctl import threadpool_limits

        row = {"clip_id": spec.target, "audio_from": spec.audio_from, "ref_frame": spec.ref_frame,
               "n_frames": spec.n_frames, "fit": spec.fit, "lse_route": self.settings.route, "status": "ok",
               "metrics": {}}
        try:
            # one BLAS thread: OpenBLAS sums in another order with more threads (MakeItTalk's numpy
            # moved 1e-4 between a Ray worker, where OMP_NUM_THREADS=1, and the driver)
            with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
                self._score(spec, row, video_stem, act_path)
        except Exception as exc:  # one failing clip is a row with its reason, never a crashed run
            env = environment_failure(exc)
            if env is not None:
                raise env from None
            code = getattr(exc, "code", None)
            row.update(status="error", reason=f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}")
            if code:
                row["error_code"] = code
        return row

    def _score(self, spec: PairSpec, row: dict, video_stem: Optional[str], act_path: Optional[str]) -> None:
        target = self.index.row(spec.target, ROW_COLUMNS)
        own = pcm16_to_float(target["audio"])
        speech = own if spec.audio_from == spec.target else self.index.audio(spec.audio_from)
        n = spec.n_frames
        frames, track, real, boxes, crops = self._inputs(spec, target)
        aligned = spec.ref_frame == ALIGNED
        if not aligned and not 0 <= spec.ref_frame < n:
            raise ValueError(f"reference frame {spec.ref_frame} is outside the {n} decoded frames")
        pair = Pair(crops, crops if aligned else crops[spec.ref_frame], speech, _fit(own, n * SPF),
                    source=frames, ref_index=spec.ref_frame, clip_id=spec.target)
        gen = self.model.generate(pair)
        row["notes"] = gen.notes
        full = self.model.full_frames(pair, gen, boxes)
        if self.model.audio_from_generation:
            scored_audio = video_audio = _fit(gen.audio, n * SPF)
        else:
            scored_audio = _fit(speech, n * SPF)
            video_audio = speech if self.settings.speech_in_video == "whole" else scored_audio
        generated = _eval_crops(full, track, target) if full.shape[1:3] == frames.shape[1:3] else _resize(
            full, real.shape[1])
        for m in self.metrics:
            if isinstance(m, CropMetric):
                _put(row, m.compute(generated, scored_audio, real if m.needs_ground_truth else None))
        video_metrics = [m for m in self.metrics if m.kind == "video"]
        with tempfile.TemporaryDirectory(prefix="lsbench-eval-") as tmp:
            video = None
            if video_metrics or video_stem:
                original = fullframe.is_whole_source(target, n) if self.model.name == "ground-truth" else None
                if original is not None:
                    video = Path(tmp) / f"video{original.suffix}"
                    shutil.copyfile(original, video)
                    row["video_source"] = "the original source file"
                else:
                    video = fullframe.write_official_mp4(Path(tmp) / "video.mp4", full, video_audio)
                    row["video_source"] = "full frames written as the official script writes them"
            for m in video_metrics:
                _put(row, m.compute_video(video, self.settings.route))
            if video_stem:
                Path(video_stem).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(video, f"{video_stem}{video.suffix}")
                media.write_video(f"{video_stem}.target.mp4", frames, audio=_fit(own, n * SPF))
                row["video"], row["target_video"] = f"{video_stem}{video.suffix}", f"{video_stem}.target.mp4"
        fid = next((m for m in self.metrics if m.kind == "set"), None)
        if fid is not None and act_path:
            _save_activations(act_path, fid.activations(generated), fid.activations(real))
            row["fid_activations"] = act_path


def _eval_crops(frames: np.ndarray, track: np.ndarray, target: dict) -> np.ndarray:
    """The shard's crop geometry (box grown by its crop scale, median-smoothed, grey padding) cut from frames."""
    from .syncnet.track import Track, crop_track

    t = Track(np.arange(len(track)), track, np.zeros(0))
    return crop_track(frames, t, float(target.get("crop_scale") or 0.15), int(target.get("crop_size") or 96))


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size)) for f in frames])


def _put(row: dict, values: Dict[str, object]) -> None:
    for k, v in values.items():
        if isinstance(v, Undefined):
            row["metrics"][k] = None
            row.setdefault("undefined", {})[k] = v.reason
        else:
            row["metrics"][k] = v


def _save_activations(path: str, generated: np.ndarray, real: np.ndarray) -> None:
    """float32 on disk: the network's own precision, so nothing is lost."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp.npz")
    np.savez(tmp, generated=generated.astype(np.float32), real=real.astype(np.float32))
    os.replace(tmp, p)


def _load_activations(path: "str | Path") -> Tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["generated"].astype(np.float64), z["real"].astype(np.float64)


def _git_hash() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _make_metric(name: str, device: str):
    cls = METRICS.load(name)
    return cls(device=device) if "device" in inspect.signature(cls.__init__).parameters else cls()


def metric_names(protocol, chosen: Optional[List[str]] = None) -> List[str]:
    """The registry's default metrics that suit the protocol, or the chosen ones, in registry order."""
    out = []
    for entry in METRICS:
        if chosen is not None and entry.name not in chosen:
            continue
        if chosen is None and not entry.default:
            continue
        if entry.ground_truth and not protocol.metrics_need_ground_truth:
            continue
        out.append(entry.name)
    return out


def make_metrics(names: List[str], device: str, echo: Callable) -> "tuple[list, Dict[str, str]]":
    made, skipped = [], {}
    for name in names:
        entry = METRICS.entry(name)
        if entry.planned:
            skipped[name] = f"not built yet ({entry.planned})"
            continue
        try:
            made.append(_make_metric(name, device))
        except Failure as exc:
            skipped[name] = str(exc)
    for name, why in skipped.items():
        echo(f"metric {name} skipped: {why}")
    return made, skipped


AUTO_RAY_PAIRS = 64


class _RayScorer:
    """Ray actor body: builds its own model, metrics and shard reader once, then scores pairs."""

    def __init__(self, model_name: str, device: str, weights_path: Optional[str], metric_names: List[str],
                 index: ShardIndex, settings: Settings):
        metrics = [_make_metric(name, device) for name in metric_names]
        model = make_model(model_name, device, Path(weights_path) if weights_path else None)
        self.scorer = PairScorer(model, metrics, index, settings)

    def score(self, *job) -> dict:
        return self.scorer.score(*job)


def _score_with_ray(jobs, n_workers: int, model_name: str, device: str, weights_path: Optional[Path],
                    metric_names: List[str], index: ShardIndex, settings: Settings, echo: Callable[[str], None]):
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 configure_logging=False)
    echo(f"scoring {len(jobs)} pairs in {n_workers} Ray workers")
    from .weights import worker_runtime_env

    actor = ray.remote(num_cpus=1, runtime_env=worker_runtime_env())(_RayScorer)
    pool = ActorPool([actor.remote(model_name, device, str(weights_path) if weights_path else None, metric_names,
                                   index.locator(), settings) for _ in range(n_workers)])
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
    if "batch_size" in params:
        kwargs["batch_size"] = MODEL_BATCH
    return cls(**kwargs, **({"weights_path": weights_path} if weights_path is not None else {}))


def results_path(out: Path, model: str, protocol: str, dataset: str, split: Optional[str], seed: int) -> Path:
    return out / f"{model}__{protocol}__{dataset}-{split or 'all'}__seed{seed}.json"


def own_audio_plan(pairs: List[PairSpec], light: Dict[str, dict]) -> List[PairSpec]:
    """Reference rows that play a clip's own audio score the whole clip with it, whatever the
    protocol paired it with: the audio and length they record are the ones they used."""
    return [PairSpec(p.target, p.target, p.ref_frame if 0 <= p.ref_frame else ALIGNED,
                     int(light[p.target]["n_frames"]), "none") for p in pairs]


def plan_pairs(protocol, index: ShardIndex, seed: int, limit: Optional[int] = None,
               whole_clip_own_audio: bool = False):
    """The protocol's plan over the whole split, then its first `limit` pairs: a pair (partner,
    reference frame, length) never depends on --limit. Returns (plan, pairs)."""
    plan = protocol.plan([{"clip_id": k, "n_frames": c["n_frames"]} for k, c in index.light.items()], seed)
    pairs = plan.pairs[:limit] if limit else plan.pairs
    return plan, own_audio_plan(pairs, index.light) if whole_clip_own_audio else pairs


@dataclass
class RunConfig:
    """What a run's rows depend on: a resumed run must match it field for field."""

    model: str
    protocol: str
    protocol_version: int
    split: Optional[str]
    seed: int
    limit: Optional[int]
    shards_digest: str
    weights: Dict[str, str]
    lse_route: str
    metrics: List[str]
    pads: List[int]
    filelist_sha256: Optional[str] = None
    fid_bootstrap: int = 0
    lsbench: str = __version__
    threads: int = 1  # torch threads: more may change values in their last digits

    def differences(self, other: dict) -> List[str]:
        mine = asdict(self)
        keys = sorted(set(mine) | set(other))
        return [f"{k}: {other.get(k)!r} in the partial run, {mine.get(k)!r} now" for k in keys
                if _norm(other.get(k)) != _norm(mine.get(k))]


def _norm(v):
    return json.loads(json.dumps(v))


def read_partial(partial: Path, config: RunConfig, echo: Callable[[str], None]) -> Dict[str, dict]:
    """Rows of a killed run of the same configuration; error rows are dropped (retried)."""
    lines = partial.read_text().splitlines()
    header = None
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        pass
    if not isinstance(header, dict) or "config" not in header:
        raise LsbenchError(f"{partial}: no run configuration on its first line (written by an older lsbench?); "
                           f"delete it to start over")
    diff = config.differences(header["config"])
    if diff:
        raise LsbenchError(f"{partial}: --resume refused: that run had another configuration ({'; '.join(diff)}). "
                           f"Re-run with the same options, or without --resume to start over")
    done: Dict[str, dict] = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill: that clip is scored again
        if row.get("status") == "ok" and (not row.get("fid_activations") or Path(row["fid_activations"]).is_file()):
            done[row["clip_id"]] = row
    echo(f"resuming: {len(done)} clips already scored in {partial}")
    return done


def evaluate(model_name: str, data: Path, protocol_name: str = "random-reference", split: Optional[str] = "test",
             limit: Optional[int] = None, seed: int = 0, device: str = "auto", out: Path = Path("results"),
             save_videos: int = 0, resume: bool = False, progress: bool = True,
             echo: Callable[[str], None] = print, weights_path: Optional[Path] = None,
             filelist: Optional[Path] = None, workers: int = 1, lse_route: str = "auto",
             metrics: Optional[List[str]] = None, fid_bootstrap: int = 0, threads: int = 1,
             generated: Optional[Path] = None, task: Optional[Path] = None, url: str = "",
             weights_sha256: str = "", keep_activations: bool = False) -> Path:
    """workers: 1 scores in this process; N > 1 in N Ray actors (each loads the model and the
    metrics once); 0 picks Ray for splits of AUTO_RAY_PAIRS pairs or more. Same scoring code.
    generated: a folder of videos made outside lsbench (lsbench.external), scored as `model_name`
    over the pairs of `task` (a folder from `lsbench pairs`) or of the protocol's plan."""
    from tqdm import tqdm

    t0 = time.time()
    device = pick_device(device)
    # the model first: a missing package or checkpoint is one line before any shard is read
    model = make_model(model_name, device, weights_path) if generated is None else None
    index = ShardIndex.open(data, split)
    light = index.light
    if generated is not None and task is not None:
        from .external import read_task

        spec = read_task(task)
        if spec["shards_digest"] != index.digest():
            raise LsbenchError(f"{task}: the task was exported from other shards than {data} (or with another "
                               f"--split/--limit); export it again from these shards")
        protocol_name, seed, limit = spec["protocol"]["name"], spec["seed"], spec["limit"]
        protocol = PROTOCOLS.load(protocol_name)  # its class: name, version, rules (the pairs come from the task)
        if spec["protocol"]["version"] != protocol.version:
            raise LsbenchError(f"{task}: protocol {protocol_name} v{spec['protocol']['version']}, this lsbench "
                               f"scores v{protocol.version}; export the task again")
        from .protocols.base import Plan

        plan = Plan([PairSpec(line["target_clip"], line["speech_clip"], int(line["ref_frame"]), int(line["n_frames"]))
                     for line in spec["lines"]], dict(spec.get("skipped", {})))
        pairs = plan.pairs
    else:
        protocol = make_protocol(protocol_name, filelist)
        plan, pairs = plan_pairs(protocol, index, seed, limit)
    if generated is not None:
        from .external import ExternalModel

        model = ExternalModel(generated, model_name, {p.target: f"{i:05d}" for i, p in enumerate(pairs)}, url,
                              weights_sha256)
    if model.whole_clip_own_audio:
        pairs = own_audio_plan(pairs, light)
    light = {p.target: light[p.target] for p in pairs} or light  # the clips this run scores
    datasets = sorted({c["dataset"] for c in light.values()})
    route = pick_route(datasets, lse_route)
    chosen = metric_names(protocol, metrics)
    metric_objs, skipped_metrics = make_metrics(chosen, device, echo)
    settings = Settings(route=route, speech_in_video="whole" if protocol.name == "wav2lip-filelist" else "window",
                        threads=threads)
    weights = {k: v for m in metric_objs for k, v in m.provenance().items()}
    weights.update(model.provenance())
    filelist_sha = hashlib.sha256(protocol.path.read_bytes()).hexdigest() if getattr(protocol, "path", None) else None
    config = RunConfig(model_name, protocol.name, protocol.version, split, seed, limit, index.digest(),
                       {k: w.get("sha256", "") for k, w in sorted(weights.items())}, route,
                       [m.name for m in metric_objs], list(settings.pads), filelist_sha, fid_bootstrap,
                       threads=threads)
    path = results_path(out, model_name, protocol_name, "+".join(datasets), split, seed)
    partial = path.with_suffix(".partial.jsonl")
    act_dir = path.with_suffix(".fid")
    done: Dict[str, dict] = read_partial(partial, config, echo) if resume and partial.exists() else {}
    if not done:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"config": asdict(config)}) + "\n")
        shutil.rmtree(act_dir, ignore_errors=True)
    else:
        kept = [json.dumps({"config": asdict(config)})] + [json.dumps(results.jsonable(r)) for r in done.values()]
        partial.write_text("\n".join(kept) + "\n")  # error rows and cut lines go; their clips are scored again
    if route != lse_route and any(m.kind == "video" for m in metric_objs):
        echo(f"LSE route: {route} (datasets {', '.join(datasets)}; --lse-route to override)")
    videos_dir = path.with_suffix("")
    todo = [p for p in pairs if p.target not in done]
    first = {p.target for p in pairs[:save_videos]}  # the plan's first N pairs get their videos saved
    fid_on = any(m.kind == "set" for m in metric_objs)

    def job(spec: PairSpec):
        stem = str(videos_dir / _safe(spec.target)) if spec.target in first else None
        act = str(act_dir / f"{_safe(spec.target)}.npz") if fid_on else None
        return spec, stem, act

    jobs = [job(spec) for spec in todo]
    n_workers = workers if workers > 0 else (min(os.cpu_count() or 1, 8) if len(jobs) >= AUTO_RAY_PAIRS else 1)
    if n_workers > 1 and jobs and generated is None:
        rows_iter = _score_with_ray(jobs, n_workers, model_name, device, weights_path,
                                    [m.name for m in metric_objs], index, settings, echo)
    else:
        scorer = PairScorer(model, metric_objs, index, settings)
        rows_iter = (scorer.score(*j) for j in jobs)
    with open(partial, "a") as log:
        for row in tqdm(rows_iter, total=len(jobs), desc=f"evaluate {model_name}", unit="clip", disable=not progress):
            if row.get("video"):  # recorded relative to the results file
                row["video"], row["target_video"] = (str(Path(p).relative_to(path.parent))
                                                     for p in (row["video"], row["target_video"]))
            done[row["clip_id"]] = row
            log.write(json.dumps(results.jsonable(row)) + "\n")
            log.flush()
    rows = [done[p.target] for p in pairs]
    columns = [{"key": v.key, "label": v.label, "higher_is_better": v.higher_is_better, "metric": m.name}
               for m in metric_objs for v in METRICS.entry(m.name).values]
    directions = {c["key"]: c["higher_is_better"] for c in columns if c["higher_is_better"] is not None}
    aggregates = results.aggregate(rows, {k: v for k, v in directions.items() if k != "fid"}, seed)
    if fid_on:
        ok = [r for r in rows if r["status"] == "ok" and r.get("fid_activations")]
        acts = [_load_activations(r["fid_activations"]) for r in ok]
        aggregates["fid"] = {**fid_aggregate([a[0] for a in acts], [a[1] for a in acts], fid_bootstrap, seed),
                             "higher_is_better": False}
        for r in rows:
            act = r.pop("fid_activations", None)
            if act and keep_activations:
                r["fid_activations"] = str(Path(act).relative_to(path.parent))
    failed = [r for r in rows if r["status"] != "ok"]
    settings_doc = {m.name: m.settings() for m in metric_objs}
    doc = {
        "schema_version": results.SCHEMA_VERSION,
        "lsbench": {"version": __version__, "git": _git_hash()},
        "model": {"name": model_name, "kind": "external" if generated is not None else _model_kind(model_name),
                  "needs": list(model.needs), "face_size": model.face_size, "input_crop": model.input_crop,
                  "full_frame": model.full_frame,
                  **({"url": url, "submission": str(generated), "task": str(task) if task else None}
                     if generated is not None else {})},
        "protocol": {"name": protocol.name, "version": protocol.version, "seed": seed, "limit": limit,
                     "whole_clip_own_audio": model.whole_clip_own_audio,
                     "length_rule": protocol.length_rule,
                     "pairs": [[p.target, p.audio_from, p.ref_frame] for p in pairs],
                     "pairs_sha256": results.pairs_digest([[p.target, p.audio_from, p.ref_frame] for p in pairs]),
                     **({"filelist": {"path": str(protocol.path), "sha256": filelist_sha,
                                      "lines": len(protocol.lines)}} if filelist_sha else {})},
        "dataset": {"path": str(data), "datasets": datasets, "split": split,
                    "shard_files": [f.name for f in index.files], "shards_digest": index.digest()},
        "lse_route": {"name": route, "chosen": "override" if lse_route != "auto" else "by dataset",
                      "whole_frame_datasets": list(WHOLE_FRAME_DATASETS)},
        "video": {"writer": "OpenCV DIVX AVI, then ffmpeg -i speech.wav -i result.avi -strict -2 -q:v 1 out.mp4 "
                            "(gen_videos_from_filelist.py)",
                  "boxes": "the shard's face track in source pixels, as integers, padded, clipped to the frame, "
                           "smoothed over 5 frames in place (get_smoothened_boxes)",
                  "pads": list(settings.pads), "speech": settings.speech_in_video,
                  "evaluation_crops": "the generated and the real full frames cut at the shard's crop geometry "
                                      "(box grown by the shard's crop scale, 13-frame median smoothing, grey "
                                      "padding) at the shard's crop size; FID, PSNR, SSIM, LMD, energy sync and the "
                                      "lip-sync expert are scored on them"},
        "weights": weights,
        "official_weights": all(w.get("official", True) for w in weights.values()),
        "metrics": {"columns": columns, "directions": directions, "skipped": skipped_metrics,
                    "settings": settings_doc},
        "rows": rows,
        "aggregates": aggregates,
        "coverage": {"pairs": len(pairs), "scored": len(rows) - len(failed)},
        "counts": {"clips": len(light), "pairs": len(pairs), "scored": len(rows) - len(failed),
                   "failed": len(failed), "skipped": plan.skip_counts(), "fit": plan.fit_counts()},
        "run": {"wall_s": round(time.time() - t0, 2), "device": device, "python": platform.python_version(),
                "machine": platform.machine(), "workers": n_workers, "threads": threads or None,
                "blas_threads": BLAS_THREADS,
                "config": asdict(config)},
    }
    results.save(doc, path)
    partial.unlink()
    if not keep_activations:
        shutil.rmtree(act_dir, ignore_errors=True)
    c = doc["counts"]
    echo(f"{model_name} / {protocol.name}: {c['scored']} scored, {c['failed']} failed, "
         f"{sum(c['skipped'].values())} skipped {c['skipped'] or ''} -> {path}")
    if not doc["official_weights"]:
        echo("WARNING: weights are not verifiably the official files; the results are flagged non-official")
    return path


def _model_kind(name: str) -> str:
    from .models.reference_rows import REFERENCE_ROWS

    return "reference" if name in REFERENCE_ROWS else "bundled"


def _safe(clip_id: str) -> str:
    return clip_id.replace("/", "_")

"""`lsbench evaluate`: plan the pairs -> produce each pair's full-frame video -> score it with
the metrics -> write the results document. Each step is its own module; this one wires them.

For every pair the harness does what the official scripts do: it decodes the target clip's
source frames, lets the producer (a bundled model, a reference row, or a folder of videos made
elsewhere) make the output's full frames, writes the mp4 the official inference writes and scores
it by the official LSE route of its dataset. Rows are appended to a `.partial.jsonl` beside the
results as they finish (lsbench.evaluate.resume); shards are read one clip at a time
(lsbench.shards), so memory does not grow with the split.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..device import pick as pick_device
from ..errors import LsbenchError
from ..weights import sha256_file
from ..shards import ShardIndex
from . import document, stats
from .metric_set import columns, make_metrics, metric_names
from .options import EvalOptions, Settings
from .plan import RunPlan, plan_run
from .produce import Producer, model_producer
from .resume import PartialLog, RunConfig, read_partial
from .score import PairScorer, load_contribution, safe_name
from .task import task_plan
from .workers import score_with_ray, worker_count


def results_path(out: Path, name: str, protocol: str, dataset: str, split: Optional[str], seed: int,
                 weights_tag: str = "", limit: Optional[int] = None) -> Path:
    """The results file: what makes one run differ from another is in its name (the model's or --name,
    the protocol, data, seed, a checkpoint given with --weights, --limit), so two runs never share it."""
    extra = (f"__w{weights_tag}" if weights_tag else "") + (f"__limit{limit}" if limit else "")
    return out / f"{name}__{protocol}__{dataset}-{split or 'all'}__seed{seed}{extra}.json"


@dataclass
class Run:
    """One evaluation run, once its pieces are made: what the document is built from."""

    name: str  # what the results carry (--name, or the model's)
    model: Optional[str]  # the registered model (None: an external submission)
    data: Path
    opts: EvalOptions
    device: str
    index: ShardIndex
    plan: RunPlan
    producer: Producer
    metrics: list
    skipped_metrics: Dict[str, str]
    settings: Settings
    path: Path
    n_workers: int = 1
    done: Dict[str, dict] = field(default_factory=dict)

    @property
    def set_metrics(self) -> list:
        return [m for m in self.metrics if m.kind == "set"]

    @property
    def partial(self) -> Path:
        return self.path.with_suffix(".partial.jsonl")

    @property
    def stem(self) -> str:
        return str(self.path.with_suffix(""))

    def weights(self) -> Dict[str, dict]:
        out = {k: v for m in self.metrics for k, v in m.provenance().items()}
        out.update(self.producer.provenance())
        return out

    def config(self) -> RunConfig:
        p, opts = self.plan, self.opts
        return RunConfig(self.name if self.model in (None, self.name) else f"{self.name} ({self.model})",
                         p.protocol.name, p.protocol.version, opts.split, p.seed, p.limit,
                         self.index.digest(), {k: w.get("sha256", "") for k, w in sorted(self.weights().items())},
                         p.route, [m.name for m in self.metrics], list(self.settings.pads), p.filelist_sha256,
                         opts.fid_bootstrap, threads=opts.threads)

    def config_dict(self) -> dict:
        return asdict(self.config())


def evaluate(model_name: str, data: "str | Path", protocol: str = "random-reference", split: Optional[str] = "test",
             *, echo: Callable[[str], None] = print, **options) -> Path:
    """Score `model_name` (or, with generated=FOLDER, the videos a model made outside lsbench) on
    the shards at `data`; options are EvalOptions' fields. Returns the results file."""
    t0 = time.time()
    run = prepare(model_name, Path(data), EvalOptions(protocol=protocol, split=split, **options), echo)
    claim(run)
    rows = score_pairs(run, echo)
    doc = document.build(run, rows, aggregate(run, rows), time.time() - t0)
    finish(run, doc, echo)
    return run.path


def prepare(model: str, data: Path, opts: EvalOptions, echo: Callable[[str], None]) -> Run:
    """The run's producer, pairs, metrics and settings. A bundled model is made before any shard is
    read, so a missing package or checkpoint is one line before anything else."""
    device = pick_device(opts.device)
    name = opts.name or model
    producer = model_producer(model, device, opts.weights_path, name) if opts.generated is None else None
    index = ShardIndex.open(data, opts.split)
    task = task_plan(opts.task, index, data) if opts.generated is not None and opts.task is not None else None
    plan = plan_run(index, opts, producer is not None and producer.whole_clip_own_audio, task)
    if producer is None:
        from .external import ExternalProducer

        ids = {p.target: f"{i:05d}" for i, p in enumerate(plan.pairs)}
        producer = ExternalProducer(opts.generated, name, ids, opts.url, opts.weights_sha256)
    quiet = echo if opts.report_skipped_metrics else (lambda line: None)
    metrics, skipped = make_metrics(metric_names(plan.protocol, opts.metrics), device, quiet)
    settings = Settings(route=plan.route, threads=opts.threads,
                        speech_in_video="whole" if plan.protocol.name == "wav2lip-filelist" else "window")
    tag = sha256_file(opts.weights_path)[:8] if opts.weights_path else ""  # a checkpoint of one's own
    path = results_path(opts.out, name, plan.protocol.name, "+".join(plan.datasets), opts.split, plan.seed, tag,
                        plan.limit)
    return Run(name, model if opts.generated is None else None, data, opts, device, index, plan, producer, metrics,
               skipped, settings, path)


def claim(run: Run) -> None:
    """Nothing is replaced or thrown away unasked: a finished results file of the same name, or an
    interrupted run's rows, need --overwrite (or --resume for the latter)."""
    opts, partial = run.opts, run.partial
    if opts.overwrite:
        for old in (partial, run.path):
            old.unlink(missing_ok=True)
        for folder in [run.path.with_suffix("")] + [Path(f"{run.stem}.{m.name}") for m in run.set_metrics]:
            shutil.rmtree(folder, ignore_errors=True)  # the old run's saved videos and contributions go with it
        return
    if opts.resume and partial.exists():
        return  # the interrupted run goes on (its results file, if an older one exists, is then replaced)
    if run.path.exists():
        raise LsbenchError(f"{run.path} exists: a finished run of the same name; pass --overwrite to replace it "
                           f"(its saved videos go too), or give --out another folder or --name another name")
    if partial.exists():
        n = max(0, len(partial.read_text().splitlines()) - 1)
        raise LsbenchError(f"{partial}: an interrupted run's {n} scored pair(s); --resume continues it, --overwrite "
                           f"discards it")


def _jobs(run: Run) -> list:
    """(spec, video stem, contribution stem) of each pair still to score."""
    first = {p.target for p in run.plan.pairs[:run.opts.save_videos]}  # the plan's first N pairs keep their videos
    videos = run.path.with_suffix("")
    contrib = run.stem if run.set_metrics else None
    return [(p, str(videos / safe_name(p.target)) if p.target in first else None, contrib)
            for p in run.plan.pairs if p.target not in run.done]


def score_pairs(run: Run, echo: Callable[[str], None]) -> List[dict]:
    """Every pair's row, in the plan's order; finished rows of a killed run are kept (--resume)."""
    from tqdm import tqdm

    opts, config = run.opts, run.config()
    keys = [m.contribution_key for m in run.set_metrics]
    run.done = read_partial(run.partial, config, keys, echo) if opts.resume and run.partial.exists() else {}
    log = PartialLog(run.partial, config, run.done, [Path(f"{run.stem}.{m.name}") for m in run.set_metrics])
    if run.plan.route != opts.lse_route and any(m.kind == "video" for m in run.metrics):
        echo(f"LSE route: {run.plan.route} (datasets {', '.join(run.plan.datasets)}; --lse-route to override)")
    jobs = _jobs(run)
    run.n_workers = worker_count(opts.workers, len(jobs))
    if run.n_workers > 1 and jobs and opts.generated is None:
        rows = score_with_ray(jobs, run.n_workers, run.model, run.device, opts.weights_path,
                              [m.name for m in run.metrics], run.index, run.settings, echo)
    else:
        scorer = PairScorer(run.producer, run.metrics, run.index, run.settings)
        rows = (scorer.score(*job) for job in jobs)
    try:
        for row in tqdm(rows, total=len(jobs), desc=f"evaluate {run.name}", unit="clip", disable=not opts.progress):
            if row.get("video"):  # recorded relative to the results file
                row["video"], row["target_video"] = (str(Path(p).relative_to(run.path.parent))
                                                     for p in (row["video"], row["target_video"]))
            run.done[row["clip_id"]] = row
            log.add(row)
    except KeyboardInterrupt:
        echo(f"interrupted: {len(run.done)} of {len(run.plan.pairs)} pairs are kept in {run.partial}; run the same "
             f"command with --resume to continue (--overwrite starts over)")
        raise
    finally:
        log.close()
    return [run.done[p.target] for p in run.plan.pairs]


def aggregate(run: Run, rows: List[dict]) -> Dict[str, dict]:
    """The split's figures: means with intervals for per-clip values, the set metrics' own
    aggregates from the clips' contributions (then dropped from the rows unless kept)."""
    per_clip = [m for m in run.metrics if m.kind != "set"]
    directions = {c["key"]: c["higher_is_better"] for c in columns(run.metrics)}
    out = stats.aggregate(rows, {c["key"]: c["higher_is_better"] for c in columns(per_clip)
                                 if c["higher_is_better"] is not None}, run.plan.seed)
    for m in run.set_metrics:
        ok = [r for r in rows if r["status"] == "ok" and r.get(m.contribution_key)]
        values = m.aggregate([load_contribution(r[m.contribution_key]) for r in ok], run.opts.fid_bootstrap,
                             run.plan.seed)
        out.update({k: {**v, "higher_is_better": directions.get(k)} for k, v in values.items()})
        for r in rows:
            kept = r.pop(m.contribution_key, None)
            if kept and run.opts.keep_activations:
                r[m.contribution_key] = str(Path(kept).relative_to(run.path.parent))
    return out


def finish(run: Run, doc: dict, echo: Callable[[str], None]) -> None:
    document.save(doc, run.path)
    run.partial.unlink()
    if not run.opts.keep_activations:
        for m in run.set_metrics:
            shutil.rmtree(f"{run.stem}.{m.name}", ignore_errors=True)
    c = doc["counts"]
    echo(f"{run.name} / {run.plan.protocol.name}: {c['scored']} scored, {c['failed']} failed, "
         f"{sum(c['skipped'].values())} skipped {c['skipped'] or ''} -> {run.path}")
    for line in failure_lines(doc["rows"]):
        echo(line)
    if not doc["official_weights"]:
        echo("WARNING: weights are not verifiably the official files; the results are flagged non-official")
    if c["pairs"] and not c["scored"]:
        first = next(r for r in doc["rows"] if r["status"] != "ok")
        raise LsbenchError(f"nothing was scored: all {c['pairs']} pairs failed (the results file says why for each); "
                           f"first: {first['reason']}")


def failure_lines(rows: List[dict]) -> List[str]:
    """Why pairs failed, a line per reason with its count and its first example."""
    return [f"  failed {code}: {n} pair(s); first: {first}" for code, n, first in document.failures(rows)]

"""`lsbench demo`: the main job, end to end, on a corpus made on the spot (no download).

Synthetic talking faces (scikit-image's astronaut, mouth driven by a speech-like signal) with
known audio shifts are written in LRS2's layout; `preprocess` runs through Ray and corrects
the offsets (the weight-free energy estimator, or SyncNet when its official weights are in
LSBENCH_WEIGHTS_DIR); `evaluate` scores every model that can run with the weights present
(always the three reference rows) under random-reference and reconstruction; the leaderboard
site is built; a summary says what was kept, what was dropped and why, and the scores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from . import synthetic
from . import weights as W

SHIFTS = (0, 3, -2, 4, -3, 9)  # audio delay in frames; 9 is beyond --sync-max-offset 6: dropped, with its reason
PROTOCOLS = ("random-reference", "reconstruction")


def build_corpus(root: Path, shifts: Sequence[int], seconds: float) -> List[str]:
    """mvlrs_v1/main/<videoid>/<clip>.mp4 + .txt and test.txt, 160x160 like LRS2."""
    ids = []
    for i, shift in enumerate(shifts):
        vid, clip = f"{6300000000000000000 + i}", "00001"
        base = root / "mvlrs_v1" / "main" / vid / clip
        base.parent.mkdir(parents=True, exist_ok=True)
        synthetic.write_clip(base.with_suffix(".mp4"), synthetic.make_clip(seconds, shift_frames=shift, seed=i,
                                                                           size=160))
        base.with_suffix(".txt").write_text(f"Text:  SYNTHETIC CLIP {i} AUDIO SHIFTED BY {shift} FRAMES\nConf:  5\n")
        ids.append(f"{vid}/{clip}")
    (root / "test.txt").write_text("\n".join(ids) + "\n")
    return ids


def runnable_models() -> "tuple[List[str], Dict[str, str]]":
    """The reference rows, plus every bundled model whose weights are present (and why the others are not)."""
    from .registry import MODELS

    names, missing = [], {}
    for entry in MODELS:
        specs = W.specs_of(entry.weights)
        absent = [s.filename for s in specs if W.find(s) is None]
        if entry.reference or (specs and not absent):
            names.append(entry.name)
        else:
            missing[entry.name] = ", ".join(absent) or "no released weights"
    return names, missing


def run_demo(out: Path, n_clips: int = 6, seconds: float = 2.4, workers: Optional[int] = None,
             progress: bool = True, echo: Callable[[str], None] = print, shifts: Sequence[int] = SHIFTS) -> dict:
    from leaderboard.metric_page import PAGE
    from leaderboard.render import build_site
    from preprocess.pipeline import RunOptions, run
    from preprocess.stages import Config

    from .evaluate import evaluate
    from .evaluate.document import load
    from .evaluate.metric_check import verdict_table
    from .syncnet.specs import SYNCNET

    out = Path(out)
    corpus, shards, results_dir, site = (out / d for d in ("corpus", "shards", "results", "site"))
    shifts = list(shifts[:n_clips])
    echo(f"demo: {len(shifts)} synthetic talking faces in LRS2 layout, audio shifted by {shifts} frames -> {corpus}")
    build_corpus(corpus, shifts, seconds)
    have_syncnet = W.find(SYNCNET) is not None
    if have_syncnet:
        echo(f"SyncNet weights found ({W.find(SYNCNET)}): offsets by SyncNet, LSE columns on")
    else:
        echo("no SyncNet weights (LSBENCH_WEIGHTS_DIR): offsets by the weight-free energy estimator (--sync energy), "
             "LSE columns skipped")
    card = run(RunOptions(dataset="lrs2", root=corpus, out=shards, split="test", num_workers=workers,
                          progress=progress), Config(sync="syncnet" if have_syncnet else "energy"), echo=echo)
    models, missing = runnable_models()
    for name, why in missing.items():
        echo(f"model {name} not run: {why} not present")
    skipped: Dict[str, str] = {}
    for protocol in PROTOCOLS:
        for name in models:  # each metric's "skipped: weights absent" is said once below, not once per run
            path = evaluate(name, shards, protocol, "test", out=results_dir, progress=progress, echo=echo,
                            report_skipped_metrics=False, overwrite=True)  # the demo's own folder: a rerun replaces it
            for metric, why in load(path)["metrics"]["skipped"].items():
                skipped.setdefault(metric, why.split(" (looked in")[0])
    for name, why in skipped.items():
        echo(f"metric {name} not computed: {why}")
    check = _metric_check(shards, results_dir, progress, echo)
    index = build_site(results_dir, site, echo=echo)
    summary = {"kept": card["counts"]["ok"], "dropped": card["errors_by_reason"], "site": str(index),
               "tables": {p: _table(results_dir, p, load) for p in PROTOCOLS},
               "verdicts": {k: {f: v["verdict"] for f, v in m["families"].items()} for k, m in check["metrics"].items()}}
    echo("")
    echo(f"clips kept: {summary['kept']} of {len(shifts)}; dropped: "
         + (", ".join(f"{k} {v}" for k, v in summary["dropped"].items()) or "none"))
    for protocol, table in summary["tables"].items():
        echo(f"\n{protocol} (mean over clips; n/a: undefined for every clip)")
        for line in table:
            echo(line)
    echo("\nwhat each metric sees (lsbench metric-check on these clips; the rule is on the page):")
    for line in verdict_table(check):
        echo(line)
    echo(f"\nleaderboard: {index}")
    echo(f"what each metric sees: {index.parent / PAGE}")
    echo(f"open it with: lsbench leaderboard --results {results_dir} --out {site} --serve")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


SLOW_TO_CHECK = ("identity",)  # the demo took 294 s with it, 113 s without (2026-12-04): dlib's ResNet on every faulted frame


def _metric_check(shards: Path, results_dir: Path, progress: bool, echo: Callable[[str], None]) -> dict:
    """The check beside the results, where the site finds it and links its page."""
    from .evaluate.metric_check import checkable_metrics, run_check

    metrics = [m for m in checkable_metrics() if m not in SLOW_TO_CHECK]
    echo(f"metric-check: every metric but {', '.join(SLOW_TO_CHECK)} against controlled faults of the kept clips "
         f"(identity would add about 3 min to the demo; `lsbench metric-check --data {shards} --metrics identity "
         f"--out DIR` checks it)")
    def unsaid(line: str) -> None:  # a metric without its weights was named once above
        if not (line.startswith("metric ") and " skipped: " in line):
            echo(line)

    check = run_check(shards, "test", None, metrics, progress=progress, echo=unsaid)
    (results_dir / "metric_check.json").write_text(json.dumps(check, indent=1) + "\n")
    return check


def _table(results_dir: Path, protocol: str, load) -> List[str]:
    docs = [load(p) for p in sorted(results_dir.glob(f"*__{protocol}__*.json"))]
    if not docs:
        return ["(no results)"]
    cols = [c for c in docs[0]["metrics"]["columns"] if c["higher_is_better"] is not None]
    head = f"{'model':16}" + "".join(f"{c['label'] + (' ↑' if c['higher_is_better'] else ' ↓'):>18}" for c in cols)
    lines = [head]
    for d in docs:
        cells = []
        for c in cols:
            agg = d["aggregates"].get(c["key"]) or {}
            mean = agg.get("mean")
            text = (f"{mean:.3f}" if mean is not None else "inf (identical)" if agg.get("n_nonfinite") else "n/a")
            cells.append(f"{text:>18}")
        lines.append(f"{d['model']['name']:16}" + "".join(cells))
    return lines

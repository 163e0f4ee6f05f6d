"""`validate_shards(folder)`: what a shard folder holds and everything in it that disagrees.

Reads only Parquet footers and a few small columns (never frames or audio), so it is quick
on a large folder. A report with problems means the folder should not be evaluated or
trained on as one dataset: rows of two pipeline versions or two crop sizes, rows whose
detector or sync method differ from the build record, a card whose counts are not the
shards' counts, clips listed twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .build import BUILD_FILE, read_build
from .card import CARD_FILE, read_card
from .schema import ERRORS_SCHEMA, PIPELINE_VERSION, SHARD_SCHEMA, VERSION_KEY, columns_for


@dataclass
class ShardReport:
    folder: str
    versions: Dict[str, int] = field(default_factory=dict)  # pipeline version -> shard files
    config: Optional[dict] = None  # build.json
    counts: Dict[str, object] = field(default_factory=dict)
    problems: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)  # not wrong, worth knowing (leftover temporary files)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> List[str]:
        """A human-readable report, one fact a line; the last says OK or how many problems."""
        c = self.counts
        out = [f"folder: {self.folder}",
               f"pipeline version: {', '.join(f'{v} ({n} files)' for v, n in self.versions.items()) or 'none'}"
               f" (this lsbench: {PIPELINE_VERSION})"]
        if self.config:
            cfg = self.config.get("config", {})
            out.append(f"built with: dataset {self.config.get('dataset')}, root {self.config.get('root')}, detector "
                       f"{self.config.get('detector')}, sync {cfg.get('sync')}, crop {cfg.get('crop_size')} px "
                       f"(scale {cfg.get('crop_scale')})")
        out.append(f"rows: {c.get('rows', 0)} in {c.get('shard_files', 0)} shard files, {c.get('error_rows', 0)} "
                   f"errors rows in {c.get('error_files', 0)} files; by split: {c.get('by_split', {})}")
        out += [f"note: {n}" for n in self.notes]
        out += [f"problem: {p}" for p in self.problems]
        out.append("OK" if self.ok else f"{len(self.problems)} problem(s)")
        return out


def _schema_problem(f: Path, schema: pa.Schema, expected: pa.Schema) -> Optional[str]:
    names, want = schema.names, expected.names
    missing = [n for n in want if n not in names]
    extra = [n for n in names if n not in want]
    typed = [n for n in want if n in names and not schema.field(n).type.equals(expected.field(n).type)]
    if missing or extra or typed:
        return (f"{f.name}: columns differ from the schema (missing {missing or 'none'}, unknown {extra or 'none'}, "
                f"other type {typed or 'none'})")
    return None


def _spread(problems: List[str], column: str, values: Counter, what: str) -> None:
    if len(values) > 1:
        problems.append(f"{len(values)} {what} in one folder: "
                        + ", ".join(f"{k} ({n} rows)" for k, n in values.most_common()) + f" (column {column})")


def validate_shards(folder: "str | Path") -> ShardReport:
    from lsbench.data import shard_root

    root = shard_root(folder)  # OUT or OUT/shards, as evaluate takes it
    report = ShardReport(folder=str(root))
    if not root.is_dir():
        report.problems.append(f"{root}: not a folder")
        return report
    shards = sorted((root / "shards").glob("*.parquet"))
    errors = sorted((root / "errors").glob("*.parquet")) if (root / "errors").is_dir() else []
    leftovers = [p.name for sub in ("shards", "errors") if (root / sub).is_dir() for p in (root / sub).glob(".*.tmp")]
    if leftovers:
        report.notes.append(f"{len(leftovers)} temporary file(s) of a killed run (removed by the next run): {leftovers[:3]}")
    if not shards and not errors:
        report.problems.append(f"{root}: no shard files (shards/*.parquet) and no errors files")
    report.config = read_build(root)
    if report.config is None:
        report.problems.append(f"no {BUILD_FILE}: the configuration the rows were built with is unknown")
    rows = _read_shards(shards, report)
    error_ids = _read_errors(errors, report)
    report.counts = {"shard_files": len(shards), "error_files": len(errors), "rows": len(rows),
                     "error_rows": len(error_ids), "by_split": dict(Counter(r.get("split") for r in rows)),
                     "frames": int(sum(r.get("n_frames") or 0 for r in rows))}
    _check_rows(rows, error_ids, report)
    _check_card(root, shards, rows, error_ids, report)
    if not rows and (shards or errors):  # what ShardIndex.open refuses for evaluate: no clip in the shards
        report.problems.append(f"{root}: no clip to evaluate or train on: every clip was dropped "
                               f"({len(error_ids)} in errors/)")
    return report



def _read_shards(shards: List[Path], report: ShardReport) -> List[dict]:
    """The small columns of every shard file; unreadable footers, other schemas and other
    pipeline versions are the report's problems."""
    columns = columns_for("validate")
    tables, versions = [], Counter()
    for f in shards:
        try:
            schema = pq.read_schema(f)
        except Exception as exc:  # any unreadable footer is the folder's problem to report, not a crash
            report.problems.append(f"{f.name}: not a readable Parquet file ({type(exc).__name__}: {exc})")
            continue
        version = (schema.metadata or {}).get(VERSION_KEY, b"").decode() or None
        problem = _schema_problem(f, schema, SHARD_SCHEMA)
        if problem:
            report.problems.append(problem)
        readable = [c for c in columns if c in schema.names]
        t = pq.read_table(f, columns=readable)
        if version is None and "pipeline_version" in t.column_names and t.num_rows:
            version = str(t.column("pipeline_version")[0].as_py())
        versions[version or "unknown"] += 1
        tables.append(t.append_column("file", pa.array([f.name] * t.num_rows)))
    report.versions = dict(versions)
    if set(versions) - {PIPELINE_VERSION}:
        report.problems.append(f"shards of pipeline version {', '.join(sorted(set(versions) - {PIPELINE_VERSION}))}: "
                               f"this lsbench reads version {PIPELINE_VERSION} only; rebuild them")
    return pa.concat_tables(tables, promote_options="permissive").to_pylist() if tables else []


def _read_errors(errors: List[Path], report: ShardReport) -> List[str]:
    error_ids: List[str] = []
    for f in errors:
        try:
            schema = pq.read_schema(f)
            problem = _schema_problem(f, schema, ERRORS_SCHEMA)
            if problem:
                report.problems.append(problem)
            error_ids += pq.read_table(f, columns=["clip_id"]).column("clip_id").to_pylist()
        except Exception as exc:
            report.problems.append(f"{f.name}: not a readable errors file ({type(exc).__name__}: {exc})")
    return error_ids


def _check_rows(rows: List[dict], error_ids: List[str], report: ShardReport) -> None:
    """Rows that disagree with each other or with the build record; clips listed twice."""
    _spread(report.problems, "crop_size", Counter(r.get("crop_size") for r in rows), "crop sizes")
    _spread(report.problems, "detector", Counter(r.get("detector") for r in rows), "detectors")
    _spread(report.problems, "sync_method", Counter(r.get("sync_method") for r in rows), "sync methods")
    _spread(report.problems, "pipeline_version", Counter(r.get("pipeline_version") for r in rows), "row versions")
    if report.config:
        cfg = report.config.get("config", {})
        for column, expected in (("crop_size", cfg.get("crop_size")), ("detector", report.config.get("detector")),
                                 ("sync_method", cfg.get("sync"))):
            off = Counter(r.get(column) for r in rows if r.get(column) != expected)
            if off:
                report.problems.append(f"{sum(off.values())} rows have {column} {', '.join(map(str, off))}, "
                                       f"but {BUILD_FILE} says {expected}")
    ids = Counter(r["clip_id"] for r in rows)
    twice = [k for k, n in ids.items() if n > 1]
    if twice:
        report.problems.append(f"{len(twice)} clip(s) in the shards more than once, e.g. {twice[0]}")
    both = sorted(set(ids) & set(error_ids))
    if both:
        report.problems.append(f"{len(both)} clip(s) both in the shards and in errors, e.g. {both[0]}")
    etwice = [k for k, n in Counter(error_ids).items() if n > 1]
    if etwice:
        report.problems.append(f"{len(etwice)} clip(s) in errors more than once, e.g. {etwice[0]}")


def _check_card(root: Path, shards: List[Path], rows: List[dict], error_ids: List[str], report: ShardReport) -> None:
    card = read_card(root)
    if card is None:
        report.problems.append(f"no readable {CARD_FILE}")
        return
    cc = card.get("counts", {})
    if cc.get("ok") != len(rows) or cc.get("failed") != len(error_ids):
        report.problems.append(f"{CARD_FILE} counts {cc.get('ok')} rows and {cc.get('failed')} errors, the folder "
                               f"holds {len(rows)} and {len(error_ids)}")
    if sorted(card.get("shard_files", [])) != [f.name for f in shards]:
        report.problems.append(f"{CARD_FILE} lists other shard files than the folder holds")
    if report.config and (card.get("config", {}).get("crop_size") != report.config.get("config", {}).get("crop_size")
                          or card.get("detector") != report.config.get("detector")):
        report.problems.append(f"{CARD_FILE} describes another configuration than {BUILD_FILE}")

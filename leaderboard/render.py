"""Static leaderboard site from results JSON files (the only input; see lsbench/results.py).

Every string from a results file is untrusted: templates autoescape, file names on the
site are slugs we make, never paths taken from the file, and videos are copied only from
inside the results folder. All links are relative, so the site works from file:// and
from any sub-path of a web server.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lsbench import results as R
from lsbench.errors import LsbenchError

HERE = Path(__file__).parent
REFERENCE_ROWS = {"ground-truth", "static-frame", "shifted-audio"}
PRIMARY = ("lse_c", "energy_sync")  # the metric that decides the leader and the ties, first present wins


class SiteError(LsbenchError):
    pass


def slug(text: str) -> str:
    """A safe, unique file name for untrusted text."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "x"
    return f"{base}-{hashlib.sha256(text.encode('utf8')).hexdigest()[:8]}"


@dataclass
class Cell:
    mean: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    n: int = 0
    best: bool = False

    @property
    def text(self) -> str:
        return "–" if self.mean is None else _fmt(self.mean)

    @property
    def ci_text(self) -> str:
        return "" if self.lo is None or self.hi is None else f"[{_fmt(self.lo)}, {_fmt(self.hi)}]"


@dataclass
class Entry:
    """One results file as the site shows it."""

    doc: dict
    source: Path
    slug: str
    cells: Dict[str, Cell] = field(default_factory=dict)
    tied: bool = False
    leader: bool = False
    videos: List[Tuple[str, Optional[str], str]] = field(default_factory=list)  # (generated, target, clip id)

    @property
    def model(self) -> str:
        return str(self.doc["model"].get("name", "?"))

    @property
    def reference(self) -> bool:
        return self.model in REFERENCE_ROWS

    @property
    def official(self) -> bool:
        return bool(self.doc.get("official_weights", all(w.get("official", True) for w in self.doc["weights"].values())))

    @property
    def unofficial_reasons(self) -> List[str]:
        return [f"{k}: {w.get('why', 'not verified')}" for k, w in self.doc["weights"].items() if not w.get("official", True)]


def _fmt(x: float) -> str:
    a = abs(x)
    return f"{x:.0f}" if a >= 1000 else f"{x:.2f}" if a >= 10 else f"{x:.3f}" if a >= 0.01 or a == 0 else f"{x:.2e}"


def _num(v) -> Optional[float]:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def load_all(results_dir: Path) -> List[Tuple[Path, dict]]:
    if not results_dir.is_dir():
        raise SiteError(f"{results_dir}: results folder does not exist")
    files = sorted(p for p in results_dir.rglob("*.json") if not p.name.startswith("."))
    if not files:
        raise SiteError(f"{results_dir}: no results JSON files (run `lsbench evaluate` first)")
    from lsbench.validate import check_results

    loaded = []
    for p in files:  # an old schema, a broken or a failing file stops the build, naming the file
        doc = R.load(p)
        problems = check_results(doc)
        if problems:
            raise SiteError(f"{p}: refused: " + "; ".join(problems[:5]))
        loaded.append((p, doc))
    return loaded


def _group_key(doc: dict) -> Tuple[str, str, str]:
    ds = doc["dataset"]
    data = "+".join(map(str, ds.get("datasets", []))) or "?"
    return data, str(ds.get("split") or "all"), f"{doc['protocol']['name']} v{doc['protocol']['version']}"


def _columns(entries: Sequence[Entry]) -> List[str]:
    """Ranked columns in the order the results files give them (the metric registry's order)."""
    order: List[str] = []
    for e in entries:
        for col in e.doc["metrics"].get("columns", []):
            if col.get("higher_is_better") is not None and col["key"] not in order:
                order.append(col["key"])
    names = {m for e in entries for m in e.doc["aggregates"]}
    return [m for m in order if m in names] + sorted(names - set(order))


def _labels(entries: Sequence[Entry]) -> Dict[str, str]:
    return {c["key"]: str(c.get("label", c["key"])) for e in entries for c in e.doc["metrics"].get("columns", [])}


def _direction(entries: Sequence[Entry], metric: str) -> bool:
    for e in entries:
        agg = e.doc["aggregates"].get(metric)
        if isinstance(agg, dict) and "higher_is_better" in agg:
            return bool(agg["higher_is_better"])
    return bool(entries[0].doc["metrics"].get("directions", {}).get(metric, True))


def _score_table(entries: List[Entry], columns: List[str]) -> Optional[str]:
    """Fill cells, mark the best value per column, the leader and the rows tied with it."""
    for e in entries:
        for m in columns:
            agg = e.doc["aggregates"].get(m) or {}
            ci = agg.get("ci95") or [None, None]
            e.cells[m] = Cell(_num(agg.get("mean")), _num(ci[0]), _num(ci[1]), int(_num(agg.get("n")) or 0))
    # reference rows (ground truth, frozen frame, ...) are bounds, not contestants
    contestants = [e for e in entries if not e.reference] or entries
    for m in columns:
        higher = _direction(entries, m)
        vals = [e.cells[m].mean for e in contestants if e.cells[m].mean is not None]
        if vals:
            best = max(vals) if higher else min(vals)
            for e in contestants:
                e.cells[m].best = e.cells[m].mean == best
    primary = next((m for m in PRIMARY if m in columns), columns[0] if columns else None)
    if primary is None:
        return None
    ranked = [e for e in contestants if e.cells[primary].mean is not None]
    if not ranked:
        return primary
    higher = _direction(entries, primary)
    leader = (max if higher else min)(ranked, key=lambda e: e.cells[primary].mean)
    leader.leader = True
    lc = leader.cells[primary]
    for e in ranked:
        c = e.cells[primary]
        if e is not leader and None not in (c.lo, c.hi, lc.lo, lc.hi) and c.lo <= lc.hi and lc.lo <= c.hi:
            e.tied = True
    return primary


def _copy_videos(entry: Entry, results_root: Path, out: Path, limit: int = 12) -> None:
    """Copy the saved clips that lie inside the results folder; anything else is ignored."""
    root = results_root.resolve()
    dest = out / "videos" / entry.slug

    def take(rel) -> Optional[str]:
        if not isinstance(rel, str) or not rel:
            return None
        src = (entry.source.parent / rel).resolve()
        if root not in src.parents or not src.is_file() or src.suffix.lower() != ".mp4":
            return None
        dest.mkdir(parents=True, exist_ok=True)
        name = slug(src.stem) + ".mp4"
        shutil.copyfile(src, dest / name)
        return f"../videos/{entry.slug}/{name}"

    for row in entry.doc["rows"]:
        if len(entry.videos) >= limit:
            break
        gen = take(row.get("video"))
        if gen:
            entry.videos.append((gen, take(row.get("target_video")), str(row.get("clip_id", ""))))


# ------------------------------------------------------------------ plots (inline SVG, no scripts)


def histogram_svg(values: Sequence[float], width: int = 360, height: int = 160) -> dict:
    vals = [int(round(v)) for v in values if _num(v) is not None]
    if not vals:
        return {"bars": [], "width": width, "height": height, "labels": [], "n": 0}
    lo, hi = min(vals + [0]), max(vals + [0])
    bins = list(range(lo, hi + 1))
    counts = [vals.count(b) for b in bins]
    top = max(counts)
    bw = (width - 40) / len(bins)
    bars = [{"x": 30 + i * bw, "y": 10 + (height - 40) * (1 - c / top), "w": max(bw - 2, 1),
             "h": (height - 40) * c / top, "count": c, "bin": b} for i, (b, c) in enumerate(zip(bins, counts))]
    step = max(1, len(bins) // 8)
    labels = [{"x": 30 + i * bw + bw / 2, "text": str(b)} for i, b in enumerate(bins) if i % step == 0 or b == 0]
    return {"bars": bars, "width": width, "height": height, "labels": labels, "n": len(vals), "top": top}


def scatter_svg(xs: Sequence[float], ys: Sequence[float], width: int = 360, height: int = 240) -> dict:
    pts = [(x, y) for x, y in zip(xs, ys) if _num(x) is not None and _num(y) is not None]
    if not pts:
        return {"points": [], "width": width, "height": height, "n": 0}
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    sx = (width - 60) / ((x1 - x0) or 1)
    sy = (height - 50) / ((y1 - y0) or 1)
    points = [{"cx": 40 + (x - x0) * sx, "cy": height - 30 - (y - y0) * sy, "x": _fmt(x), "y": _fmt(y)} for x, y in pts]
    return {"points": points, "width": width, "height": height, "n": len(points),
            "x_range": (_fmt(x0), _fmt(x1)), "y_range": (_fmt(y0), _fmt(y1))}


# ------------------------------------------------------------------ the site


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = lambda v: "–" if _num(v) is None else _fmt(float(v))
    return env


def build_site(results_dir: "str | Path", out: "str | Path", echo: Callable[[str], None] = print) -> Path:
    results_dir, out = Path(results_dir), Path(out)
    loaded = load_all(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("models", "results", "videos", "static"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "results").mkdir(parents=True)
    (out / "models").mkdir()
    shutil.copytree(HERE / "static", out / "static")

    entries: List[Entry] = []
    for path, doc in loaded:
        rel = str(path.relative_to(results_dir))
        e = Entry(doc, path, slug(rel[:-5]))
        shutil.copyfile(path, out / "results" / f"{e.slug}.json")
        _copy_videos(e, results_dir, out)
        entries.append(e)

    groups: Dict[Tuple[str, str, str], List[Entry]] = {}
    for e in entries:
        groups.setdefault(_group_key(e.doc), []).append(e)
    tables = []
    for key in sorted(groups):
        rows = sorted(groups[key], key=lambda e: (e.reference, e.model))
        cols = _columns(rows)
        primary = _score_table(rows, cols)
        directions = {m: _direction(rows, m) for m in cols}
        tables.append({"dataset": key[0], "split": key[1], "protocol": key[2], "rows": rows, "columns": cols,
                       "directions": directions, "primary": primary, "id": slug("|".join(key))})

    env = _env()
    env.globals.update(labels=_labels(entries))
    (out / "index.html").write_text(env.get_template("index.html").render(tables=tables, n_files=len(entries)))
    for e in entries:
        rows = e.doc["rows"]
        metrics = _columns([e])
        offsets = [r["metrics"].get("lse_offset", r["metrics"].get("energy_offset")) for r in rows if r.get("status") == "ok"]
        offset_name = "LSE offset (frames)" if any("lse_offset" in r["metrics"] for r in rows) else "energy offset (frames)"
        scatter = scatter_svg([r["metrics"].get("lse_d") for r in rows if r.get("status") == "ok"],
                              [r["metrics"].get("lse_c") for r in rows if r.get("status") == "ok"])
        page = env.get_template("model.html").render(
            e=e, rows=rows, metrics=metrics, hist=histogram_svg(offsets), offset_name=offset_name, scatter=scatter,
            directions={m: _direction([e], m) for m in metrics})
        (out / "models" / f"{e.slug}.html").write_text(page)
    echo(f"leaderboard: {len(entries)} results files, {len(tables)} tables -> {out / 'index.html'}")
    return out / "index.html"


def serve(site: "str | Path", port: int = 8000, echo: Callable[[str], None] = print) -> None:
    """Serve the site on 127.0.0.1 until interrupted."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(Path(site)))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        echo(f"serving {site} at http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C to stop)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


__all__ = ["build_site", "serve", "slug", "SiteError"]

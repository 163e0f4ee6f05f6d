"""Static leaderboard site from results JSON files (the only input; see lsbench/evaluate/document.py).

Every string from a results file is untrusted: templates autoescape, file names on the
site are slugs or digests we make, never paths taken from the file, videos are copied only
from inside the results folder, and a submitter's link is shown only when it is http(s).
All links between pages are relative, so the site works from file:// and from any sub-path
of a web server.

The board claims only what holds. Two rows are compared only when they cover the same
pairs (identical `protocol.pairs`) and every pair was scored; reference rows are bounds,
never contestants; a value undefined for some clips (n/a, with its reasons) or averaged
over fewer clips than the row scored is never called best; an interval is shown only when
the results file has one, with the method it states.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lsbench.evaluate import document as R

from .ranking import (Cell, Entry, column_labels, direction, fmt, group_key, interval_notes, lacking_metrics, num,
                      row_order, score_table, table_columns)
from . import metric_page
from .public import public_copy
from .site_files import SiteError, copy_videos, slug, write_pairs

HERE = Path(__file__).parent


SITE_FOLDERS = ("models", "results", "videos", "static", "pairs")  # what a build writes under --out


def _results_files(root: Path, out: Path) -> List[Path]:
    """The JSON files under a results folder, leaving out a site built inside it (--out under --results)."""
    site = out.resolve()
    return sorted(p for p in root.rglob("*.json") if not p.name.startswith(".")
                  and not any(site / sub in p.resolve().parents for sub in SITE_FOLDERS))


def load_all(results_dirs: Sequence[Path], out: Path, echo: Callable[[str], None] = print,
             checks: Optional[List[Tuple[Path, dict]]] = None) -> List[Tuple[Path, Path, dict]]:
    """(results folder, file, document) of every results file, validated; another JSON file (a task.json,
    notes) is named and left out, while a results file of another version, broken or failing stops the build.
    Metric-check files (lsbench metric-check) go to `checks`, checked as `lsbench validate` checks them."""
    from lsbench.evaluate.metric_check import check_document
    from lsbench.validate import check_results

    loaded = []
    for root in results_dirs:
        if not root.is_dir():
            raise SiteError(f"{root}: results folder does not exist")
        if root.resolve() == out.resolve():
            raise SiteError(f"{out}: the site would be built into the results folder itself (its results/, models/ "
                            f"... would mix with yours); give --out {root / 'site'}")
        for p in _results_files(root, out):
            try:
                raw = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise SiteError(f"{p}: cannot read results JSON ({exc})") from None
            if isinstance(raw, dict) and "metric_check_version" in raw and checks is not None:
                problems = check_document(raw)
                if problems:
                    raise SiteError(f"{p}: refused: " + "; ".join(problems[:5]))
                checks.append((p, raw))
                continue
            if not (isinstance(raw, dict) and "schema_version" in raw):
                echo(f"leaderboard: {p}: not a results file (no schema_version), left out")
                continue
            doc = R.validate(raw, str(p))
            problems = check_results(doc)
            if problems:
                raise SiteError(f"{p}: refused: " + "; ".join(problems[:5]))
            loaded.append((root, p, doc))
    if not loaded:
        raise SiteError(f"{', '.join(map(str, results_dirs))}: no results JSON files (run `lsbench evaluate` first)")
    return loaded


# ------------------------------------------------------------------ plots (inline SVG, no scripts)


def histogram_svg(values: Sequence[float], width: int = 360, height: int = 160) -> dict:
    vals = [int(round(v)) for v in values if num(v) is not None]
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
    pts = [(x, y) for x, y in zip(xs, ys) if num(x) is not None and num(y) is not None]
    if not pts:
        return {"points": [], "width": width, "height": height, "n": 0}
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    sx = (width - 60) / ((x1 - x0) or 1)
    sy = (height - 50) / ((y1 - y0) or 1)
    points = [{"cx": 40 + (x - x0) * sx, "cy": height - 30 - (y - y0) * sy, "x": fmt(x), "y": fmt(y)} for x, y in pts]
    return {"points": points, "width": width, "height": height, "n": len(points),
            "x_range": (fmt(x0), fmt(x1)), "y_range": (fmt(y0), fmt(y1))}


def _settings_lines(settings: object, prefix: str = "") -> List[Tuple[str, str]]:
    """A nested settings dict as (dotted key, value) lines for the model page."""
    if isinstance(settings, dict):
        out: List[Tuple[str, str]] = []
        for k, v in settings.items():
            out += _settings_lines(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}")
        return out
    if isinstance(settings, list):
        return [(prefix, ", ".join(map(str, settings)))]
    return [(prefix.rstrip("."), str(settings))]


def _metric_settings(settings: object) -> Dict[str, List[Tuple[str, str]]]:
    """Per metric, its recorded settings as lines; the LSE routes' texts are left to the route line."""
    if not isinstance(settings, dict):
        return {}
    return {str(name): [(k, v) for k, v in _settings_lines(s) if not (name == "lse" and k.startswith("routes."))]
            for name, s in settings.items()}


def _row_value(row: dict, metric: str) -> Tuple[Optional[float], str]:
    """A clip's value and, when it has none, why (its `undefined` reason, or 'not finite')."""
    v = row.get("metrics", {}).get(metric)
    if v is None and metric in row.get("metrics", {}):
        undefined = row.get("undefined") if isinstance(row.get("undefined"), dict) else {}
        return None, str(undefined.get(metric, "undefined"))
    if v is not None and num(v) is None:
        return None, {"inf": "∞", "-inf": "−∞"}.get(str(v), f"not finite ({v})")
    return num(v), ""


# ------------------------------------------------------------------ the site


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = lambda v: "–" if num(v) is None else fmt(float(v))
    env.filters["short"] = lambda s, n=48: s if len(str(s)) <= n else str(s)[: n - 1] + "…"
    return env


def build_site(results: "str | Path | Sequence[str | Path]", out: "str | Path",
               echo: Callable[[str], None] = print) -> Path:
    """The site of every results file under `results` (a folder, or several). Rebuilding into the same
    folder replaces the site's own files; names on the site and its JSON copies hold no local path."""
    dirs = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    out = Path(out)
    checks: List[Tuple[Path, dict]] = []
    loaded = load_all(dirs, out, echo, checks)
    out.mkdir(parents=True, exist_ok=True)
    (out / metric_page.PAGE).unlink(missing_ok=True)
    if checks:  # the newest metric-check: "what each metric sees"
        path, check = max(checks, key=lambda c: c[0].stat().st_mtime)
        metric_page.write_page(check, out, path.name)
    for sub in SITE_FOLDERS:
        shutil.rmtree(out / sub, ignore_errors=True)
    for sub in ("results", "models", "pairs"):
        (out / sub).mkdir(parents=True)
    shutil.copytree(HERE / "static", out / "static")

    entries: List[Entry] = []
    for root, path, doc in loaded:
        rel = str(path.relative_to(root)) if len(dirs) == 1 else f"{dirs.index(root)}/{path.relative_to(root)}"
        e = Entry(public_copy(doc), path, slug(rel[:-5]))
        (out / "results" / f"{e.slug}.json").write_text(json.dumps(e.doc, indent=1) + "\n")
        copy_videos(e, root, out, echo)
        entries.append(e)
    pair_links = {e.slug: write_pairs(e, out) for e in entries}
    unscored = [e for e in entries if e.coverage[0] == 0]  # shown apart, never in a table
    entries = [e for e in entries if e.coverage[0] > 0]

    groups: Dict[Tuple[str, str, str, str], List[Entry]] = {}
    for e in entries:
        groups.setdefault(group_key(e), []).append(e)
    labels = column_labels(entries)
    tables = []
    for key in sorted(groups):
        rows = list(groups[key])
        cols = table_columns(rows)
        primary = score_table(rows, cols)
        rows.sort(key=row_order(primary, direction(rows, primary) if primary else True))
        ranked = [e for e in rows if e.ranked]
        route_text = next((e.lse_route_text for e in rows if e.has_lse and e.lse_route_text), "")
        tables.append({"dataset": key[0], "split": key[1], "protocol": key[2], "lse_route": key[3],
                       "lacks": lacking_metrics(rows, cols, labels),
                       "lse_route_text": route_text, "has_lse": any(e.has_lse for e in rows),
                       "rows": rows, "columns": cols, "directions": {m: direction(rows, m) for m in cols},
                       "primary": primary, "id": slug("|".join(key)), "ranked": ranked,
                       "ranked_pairs": pair_links[ranked[0].slug] if ranked else None,
                       "ranked_n_pairs": len(ranked[0].pairs) if ranked else 0,
                       "n_by_primary": sum(e.cells[primary].complete for e in ranked) if primary else 0,
                       "interval_notes": interval_notes(rows, cols, labels)})

    env = _env()
    env.globals.update(labels=labels)
    (out / "index.html").write_text(env.get_template("index.html").render(
        tables=tables, n_files=len(entries) + len(unscored), pair_links=pair_links, unscored=unscored,
        metric_page=metric_page.PAGE if checks else None))
    for e in entries + unscored:
        rows = e.doc["rows"]
        metrics = table_columns([e])
        per_clip = [m for m in metrics if any(m in r.get("metrics", {}) for r in rows)]  # FID is a set statistic
        ok = [r for r in rows if r.get("status") == "ok"]
        offsets = [r["metrics"].get("lse_offset", r["metrics"].get("energy_offset")) for r in ok]
        offset_name = "LSE offset (frames)" if any("lse_offset" in r["metrics"] for r in rows) else "energy offset (frames)"
        scatter = scatter_svg([r["metrics"].get("lse_d") for r in ok], [r["metrics"].get("lse_c") for r in ok])
        scored = e.coverage[0]
        summary = [(m, e.cells.get(m) or Cell.of(e.doc["aggregates"].get(m), scored), e.doc["aggregates"].get(m) or {})
                   for m in metrics]
        settings = e.doc["metrics"].get("settings") or {}
        page = env.get_template("model.html").render(
            e=e, rows=rows, metrics=metrics, per_clip=per_clip, hist=histogram_svg(offsets), offset_name=offset_name,
            scatter=scatter, directions={m: direction([e], m) for m in metrics}, summary=summary,
            settings=_metric_settings(settings),
            skipped=e.doc["metrics"].get("skipped") or {}, video=_settings_lines(e.doc.get("video") or {}),
            pairs_link="../" + pair_links[e.slug], row_value=_row_value)
        (out / "models" / f"{e.slug}.html").write_text(page)
    echo(f"leaderboard: {len(entries) + len(unscored)} results files, {len(tables)} tables"
         + (f", {len(unscored)} run(s) that scored nothing listed apart" if unscored else "") + f" -> {out / 'index.html'}")
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

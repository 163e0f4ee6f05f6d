"""What the board claims, decided from results files alone.

Two rows are compared only when they cover the same pairs (identical `protocol.pairs`) and
scored every one of them; reference rows (`model.kind == "reference"`) are bounds, never
contestants, so they never carry `leader`, `tied` or `best`. A value undefined for some
clips (n/a, with its reasons) or averaged over fewer clips than the row scored is never
called best; an interval is shown only when the results file has one, with the method it
states.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from lsbench.evaluate import document as R

PRIMARY = ("lse_c", "energy_sync")  # the metrics that may decide the leader and the ties, in order of preference


def safe_url(url: object) -> Optional[str]:
    """The submitter's link, only when it is a plain http(s) URL with a host (never javascript:, data:, ...)."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def fmt(x: float) -> str:
    """Numbers as the tables show them: 4 significant digits or so, never a long tail."""
    a = abs(x)
    return f"{x:.0f}" if a >= 1000 else f"{x:.2f}" if a >= 10 else f"{x:.3f}" if a >= 0.01 or a == 0 else f"{x:.2e}"


def num(v) -> Optional[float]:
    if isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def _count(v) -> int:
    f = num(v)
    return int(f) if f is not None and f >= 0 else 0


def _reasons(agg: dict) -> Dict[str, int]:
    raw = agg.get("undefined_reasons")
    return {str(k): _count(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _no_interval_reason(text: str) -> str:
    """'none: fewer than 2 clips' -> 'fewer than 2 clips'."""
    return text[5:].strip() if text.startswith("none:") else text


@dataclass
class Cell:
    """One aggregate as the site shows it; `measured` is False when the run did not compute it."""

    mean: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    n: int = 0
    measured: bool = True
    n_undefined: int = 0
    n_nonfinite: int = 0
    n_inf: int = 0  # of the non-finite values, those that are +inf (PSNR of identical frames)
    reasons: Dict[str, int] = field(default_factory=dict)
    interval: str = ""
    complete: bool = False  # defined for every clip the row scored: only then comparable
    best: bool = False

    @classmethod
    def of(cls, agg: object, scored: int) -> "Cell":
        if not isinstance(agg, dict):
            return cls(None, None, None, measured=False)
        ci = agg.get("ci95")
        lo, hi = (num(ci[0]), num(ci[1])) if isinstance(ci, list) and len(ci) == 2 else (None, None)
        if lo is None or hi is None:
            lo = hi = None
        mean, n = num(agg.get("mean")), _count(agg.get("n"))
        nu, nf = _count(agg.get("n_undefined")), _count(agg.get("n_nonfinite"))
        interval = str(agg.get("interval") or ("" if lo is not None else "none: not stated in the results file"))
        return cls(mean, lo, hi, n, True, nu, nf, _count(agg.get("n_inf")), _reasons(agg), interval,
                   complete=mean is not None and nu == 0 and nf == 0 and n == scored > 0)

    @property
    def text(self) -> str:
        if not self.measured:
            return "–"
        if self.mean is None and self.n == 0 and self.n_inf and self.n_inf == self.n_nonfinite:
            return "∞"  # every value is +inf (PSNR of frames equal to their target): the honest mean
        return "n/a" if self.mean is None else fmt(self.mean)

    @property
    def ci_text(self) -> str:
        return "" if self.lo is None or self.hi is None else f"[{fmt(self.lo)}, {fmt(self.hi)}]"

    @property
    def no_interval(self) -> str:
        """The stated reason there is no interval ('' when there is one, or no value at all)."""
        return "" if self.mean is None or self.lo is not None else _no_interval_reason(self.interval)

    @property
    def na_note(self) -> str:
        """Clips whose value is n/a or not finite, with the reasons, e.g. '2 n/a: no mouth motion'."""
        parts = []
        if self.n_undefined:
            why = "; ".join(f"{k} ×{v}" if v != self.n_undefined else k for k, v in self.reasons.items())
            parts.append(f"{self.n_undefined} n/a" + (f": {why}" if why else ""))
        if self.n_inf:
            parts.append(f"{self.n_inf} ∞ (identical to the target)")
        if self.n_nonfinite - self.n_inf:
            parts.append(f"{self.n_nonfinite - self.n_inf} not finite")
        return "; ".join(parts)

    @property
    def title(self) -> str:
        bits = []
        if not self.measured:
            return "not measured in this run"
        if self.mean is not None:
            bits.append(f"mean over {self.n} clip(s)")
        if self.na_note:
            bits.append(self.na_note + " (never averaged in)")
        bits.append(f"interval: {self.interval}" if self.interval else "")
        if self.mean is not None and not self.complete:
            bits.append("not compared: not defined for every scored clip")
        return "; ".join(b for b in bits if b)


@dataclass
class Entry:
    """One results file as the site shows it."""

    doc: dict
    source: Path
    slug: str
    cells: Dict[str, Cell] = field(default_factory=dict)
    tied: bool = False
    leader: bool = False
    ranked: bool = False
    unranked_why: str = ""
    videos: List[dict] = field(default_factory=list)  # {generated, target, poster, target_poster, clip}

    @property
    def model(self) -> str:
        return str(self.doc["model"].get("name", "?"))

    @property
    def kind(self) -> str:
        return str(self.doc["model"].get("kind", "bundled"))

    @property
    def reference(self) -> bool:
        return self.kind == "reference"

    @property
    def external(self) -> bool:
        return self.kind == "external"

    @property
    def url(self) -> Optional[str]:
        return safe_url(self.doc["model"].get("url")) if self.external else None

    @property
    def url_host(self) -> str:
        return urlsplit(self.url).netloc if self.url else ""

    @property
    def official(self) -> bool:
        return bool(self.doc.get("official_weights", all(w.get("official", True) for w in self.doc["weights"].values())))

    @property
    def unofficial_reasons(self) -> List[str]:
        return [f"{k}: {w.get('why', 'not verified')}" for k, w in self.doc["weights"].items() if not w.get("official", True)]

    @property
    def pairs(self) -> list:
        pairs = self.doc["protocol"].get("pairs")
        return pairs if isinstance(pairs, list) else []

    @property
    def pairs_sha256(self) -> str:
        """Recomputed from the list itself (the build refuses a file whose stated hash differs)."""
        return R.pairs_digest(self.pairs)

    @property
    def coverage(self) -> Tuple[int, int]:
        """(scored, pairs): pairs this row has a score for, of the pairs of its task."""
        cov = self.doc.get("coverage")
        if isinstance(cov, dict) and num(cov.get("pairs")) is not None:
            return _count(cov.get("scored")), _count(cov.get("pairs"))
        return sum(r.get("status") == "ok" for r in self.doc["rows"]), len(self.pairs)

    @property
    def full_coverage(self) -> bool:
        scored, total = self.coverage
        return total > 0 and scored == total

    @property
    def coverage_text(self) -> str:
        scored, total = self.coverage
        return f"scored {scored:,} / {total:,} pairs"

    @property
    def lse_route(self) -> str:
        route = self.doc.get("lse_route")
        return str(route.get("name", "?")) if isinstance(route, dict) else "?"

    @property
    def lse_route_text(self) -> str:
        routes = ((self.doc["metrics"].get("settings") or {}).get("lse") or {}).get("routes") or {}
        return str(routes.get(self.lse_route, "")) if isinstance(routes, dict) else ""

    @property
    def lossy_pairs(self) -> int:
        """Pairs of an external submission that came in a lossy codec (scored all the same)."""
        return _count(self.doc["model"].get("lossy_pairs"))

    @property
    def failures(self) -> List[Tuple[str, int, str]]:
        """(reason code, count, first message) of the pairs that failed."""
        return R.failures(self.doc["rows"])

    @property
    def has_lse(self) -> bool:
        return any(k.startswith("lse_") for k in self.doc["aggregates"])



def group_key(e: Entry) -> Tuple[str, str, str, str]:
    """One table per dataset, split, protocol and LSE route (LSE values of two routes are two measurements)."""
    ds = e.doc["dataset"]
    data = "+".join(map(str, ds.get("datasets", []))) or "?"
    return data, str(ds.get("split") or "all"), f"{e.doc['protocol']['name']} v{e.doc['protocol']['version']}", e.lse_route


def table_columns(entries: Sequence[Entry]) -> List[str]:
    """Ranked columns in the order the results files give them (the metric registry's order)."""
    order: List[str] = []
    for e in sorted(entries, key=lambda e: -len(e.doc["metrics"].get("columns", []))):  # the fullest file's order first
        for col in e.doc["metrics"].get("columns", []):
            if col.get("higher_is_better") is not None and col["key"] not in order:
                order.append(col["key"])
    names = {m for e in entries for m in e.doc["aggregates"]}
    return [m for m in order if m in names] + sorted(names - set(order))


def column_labels(entries: Sequence[Entry]) -> Dict[str, str]:
    return {c["key"]: str(c.get("label", c["key"])) for e in entries for c in e.doc["metrics"].get("columns", [])}


def direction(entries: Sequence[Entry], metric: str) -> bool:
    for e in entries:
        agg = e.doc["aggregates"].get(metric)
        if isinstance(agg, dict) and "higher_is_better" in agg:
            return bool(agg["higher_is_better"])
    return bool(entries[0].doc["metrics"].get("directions", {}).get(metric, True))


def _ranked_pairs(entries: Sequence[Entry]) -> Optional[str]:
    """The pair list the table ranks on: the one most full-coverage contestants share (then the
    longer list, then the smaller digest, so the choice never depends on file order)."""
    count = Counter(e.pairs_sha256 for e in entries if not e.reference and e.full_coverage)
    if not count:
        return None
    size = {e.pairs_sha256: len(e.pairs) for e in entries}
    return min(count, key=lambda d: (-count[d], -size[d], d))


def score_table(entries: List[Entry], columns: List[str]) -> Optional[str]:
    """Fill cells; mark the best value per column, the leader and the rows tied with it, all
    only among ranked rows: contestants (not reference rows) that scored every pair of the
    table's pair list. Returns the ranking metric (None when nothing can be ranked)."""
    ranked_pairs = _ranked_pairs(entries)
    for e in entries:
        scored, _ = e.coverage
        e.cells = {m: Cell.of(e.doc["aggregates"].get(m), scored) for m in columns}
        e.ranked, e.leader, e.tied = False, False, False
        if e.reference:
            e.unranked_why = "reference rows are bounds, not contestants"
        elif not e.full_coverage:
            e.unranked_why = f"{e.coverage_text}: only rows that scored every pair are ranked"
        elif e.pairs_sha256 != ranked_pairs:
            e.unranked_why = "another pair list than the ranked rows: not comparable"
        else:
            e.ranked, e.unranked_why = True, ""
    ranked = [e for e in entries if e.ranked]
    for m in columns:
        higher = direction(entries, m)
        vals = [e.cells[m].mean for e in ranked if e.cells[m].complete]
        if vals:
            best = max(vals) if higher else min(vals)
            for e in ranked:
                e.cells[m].best = e.cells[m].complete and e.cells[m].mean == best
    # the ranking metric: of PRIMARY, the one complete for the most ranked rows (then PRIMARY's order)
    complete = {m: [e for e in ranked if e.cells[m].complete] for m in PRIMARY if m in columns}
    complete = {m: rows for m, rows in complete.items() if rows}
    if not complete:
        return None
    primary = max(complete, key=lambda m: (len(complete[m]), -PRIMARY.index(m)))
    contenders = complete[primary]
    higher = direction(entries, primary)
    leader = (max if higher else min)(contenders, key=lambda e: e.cells[primary].mean)
    leader.leader = True
    lc = leader.cells[primary]
    for e in contenders:
        c = e.cells[primary]
        if e is not leader and None not in (c.lo, c.hi, lc.lo, lc.hi) and c.lo <= lc.hi and lc.lo <= c.hi:
            e.tied = True
    return primary


def row_order(primary: Optional[str], higher: bool) -> Callable[[Entry], tuple]:
    """Ranked rows first (by the ranking metric, rows without it after), then unranked, then reference rows."""
    def key(e: Entry) -> tuple:
        c = e.cells.get(primary) if primary else None
        v = c.mean if c is not None and c.complete and e.ranked else None
        return e.reference, not e.ranked, v is None, (-v if higher else v) if v is not None else 0.0, e.model

    return key


def lacking_metrics(entries: Sequence[Entry], columns: Sequence[str], label_of: Dict[str, str]) -> List[str]:
    """The metrics a table has no column for, and why, from the runs' own record of what they skipped."""
    shown = {c.get("metric") for e in entries for c in e.doc["metrics"].get("columns", []) if c.get("key") in columns}
    why: Dict[str, Counter] = {}
    for e in entries:
        skipped = e.doc["metrics"].get("skipped")
        for name, reason in (skipped.items() if isinstance(skipped, dict) else []):
            if name not in shown:
                why.setdefault(str(name), Counter())[str(reason)] += 1
    notes = []
    for name, reasons in sorted(why.items()):
        reason, n = reasons.most_common(1)[0]
        runs = "" if n == len(entries) else f" (in {n} of {len(entries)} runs)"
        notes.append(f"{name}: not computed: {reason}{runs}")
    return notes


def interval_notes(entries: Sequence[Entry], columns: Sequence[str], label_of: Dict[str, str]) -> List[str]:
    """What each interval is: the common method once, then every other statement with where it applies."""
    where: Dict[str, List[Tuple[str, str]]] = {}
    for e in entries:
        for m in columns:
            c = e.cells[m]
            if c.mean is not None and c.interval:
                where.setdefault(c.interval, []).append((e.model, m))
    if not where:
        return []
    common = max(where, key=lambda t: (len(where[t]), t))
    notes = []
    if not common.startswith("none"):
        notes.append(f"Intervals: {common}.")
    for text, cells in sorted(where.items()):
        if text == common and not common.startswith("none"):
            continue
        by_model: Dict[str, List[str]] = {}
        for name, m in cells:
            by_model.setdefault(name, []).append(label_of.get(m, m))
        if len({tuple(c) for c in by_model.values()}) == 1:
            which = f"{', '.join(next(iter(by_model.values())))} of {', '.join(sorted(by_model))}"
        else:
            which = "; ".join(f"{', '.join(c)} of {name}" for name, c in sorted(by_model.items()))
        notes.append(f"No interval for {which}: {_no_interval_reason(text)}." if text.startswith("none")
                     else f"{which}: {text}.")
    return notes

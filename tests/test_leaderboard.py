"""`lsbench leaderboard`: the static site from results JSON, checked as HTML and in headless
Chromium (Debian's chromium + chromium-driver, installed by .ci/run).

The results are real: two real LRS2-layout test clips scored by `evaluate` (reference rows,
Wav2Lip with procedural weights, and external submissions made with ffmpeg alone from an
exported task), plus one hostile copy. What each row is there to show:

  random-reference, seed 1 pairs (one table)
    ground-truth, static-frame   reference rows: never leader, tied or best
    wav2lip                      bundled, LSE + energy, 2 videos saved (posters)
    static-frame-ffmpeg          external, 2/2 pairs: ranked, the leader by energy sync
    half-gray                    external, 2/2, pair 00001 a grey video: energy corr@0 and
                                 |energy offset| n/a there (no mouth motion), so those means
                                 cover 1 clip: never best
    gray                         external, 2/2, all grey: those values n/a, with the reason
                                 (energy sync is 0 by definition for a face that never moves)
    partial-ffmpeg               external, pair 00001 missing: 1/2 pairs, not ranked
    other-pairs                  external, the seed 2 task: another pair list, not ranked
    evil                         hostile strings, a javascript: link, a path out of the folder
  reconstruction (second table, reference rows only: nothing ranked)
    ground-truth (all default metrics: the widest table), static-frame (PSNR, SSIM, LMD)

Only Wav2Lip and the reconstruction ground truth run LSE; the other rows run the energy
metric alone, to keep the fixture cheap on a shared machine.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leaderboard import ranking, render, site_files
from lsbench import media
from lsbench.evaluate import document as results
from lsbench.cli import cli
from lsbench.evaluate import evaluate
from lsbench.evaluate.task import export_task

pytestmark = pytest.mark.slow  # the module's results come from evaluate runs; half of it drives Chromium

ROOT = Path(__file__).resolve().parents[1]
XSS = "<img src=x onerror=alert(1)>"
URL = "https://example.org/models/static?v=1&x=<2>"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
QUIET = dict(progress=False, echo=lambda s: None, device="cpu")
ENERGY = ["energy"]
RR = "__random-reference__lrs2-test__seed1.json"


def _submission(task: Path, sub: Path, gray=(), drop=()) -> Path:
    """bench/external_static_frame.sh (ffmpeg only), then the named pairs replaced by a flat grey
    video of the right size, length and audio (a model whose mouth never moves), or removed."""
    subprocess.run(["bash", str(ROOT / "bench" / "external_static_frame.sh"), str(task), str(sub)], check=True,
                   capture_output=True)
    with open(task / "pairs.csv", newline="") as f:
        lines = {line["pair_id"]: line for line in csv.DictReader(f)}
    for pid in gray:
        line = lines[pid]
        media.ffmpeg("-f", "lavfi", "-i", f"color=c=gray:s={line['width']}x{line['height']}:r=25",
                     "-i", str(task / line["speech_wav"]), "-frames:v", line["n_frames"], "-map", "0:v", "-map", "1:a",
                     "-c:v", "ffv1", "-pix_fmt", "bgr0", "-c:a", "pcm_s16le", str(sub / f"{pid}.mkv"))
    for pid in drop:
        (sub / f"{pid}.mkv").unlink()
    return sub


def make_results(shards: Path, out: Path, work: Path) -> Path:
    """Every results file of the fixture (see the module docstring); LSBENCH_WEIGHTS_DIR must be set."""
    for model in ("ground-truth", "static-frame"):
        evaluate(model, shards, "random-reference", "test", out=out, seed=1, metrics=ENERGY, **QUIET)
    evaluate("wav2lip", shards, "random-reference", "test", out=out, seed=1, save_videos=2, metrics=["lse", "energy"],
             **QUIET)
    tasks = {seed: export_task(shards, "random-reference", work / f"task{seed}", "test", seed, progress=False,
                               echo=lambda s: None) for seed in (1, 2)}
    for name, seed, gray, drop in (("static-frame-ffmpeg", 1, (), ()), ("half-gray", 1, ("00001",), ()),
                                   ("gray", 1, ("00000", "00001"), ()), ("partial-ffmpeg", 1, (), ("00001",)),
                                   ("other-pairs", 2, (), ())):
        sub = _submission(tasks[seed], work / f"sub-{name}", gray, drop)
        evaluate(name, shards, out=out, generated=sub, task=tasks[seed], url=URL, weights_sha256="ab" * 32,
                 metrics=ENERGY, **QUIET)
    evaluate("ground-truth", shards, "reconstruction", "test", out=out, seed=1, **QUIET)
    evaluate("static-frame", shards, "reconstruction", "test", out=out, seed=1, metrics=["psnr", "ssim", "lmd"],
             **QUIET)
    evil = json.loads((out / f"static-frame{RR}").read_text())
    evil["model"].update(name=XSS, kind="external", url="javascript:alert(1)")
    evil["rows"][0]["video"] = "../../../../etc/passwd"
    evil["rows"][0]["clip_id"] = evil["protocol"]["pairs"][0][0] = '"><script>window.pwned=1</script>'
    evil["protocol"]["pairs_sha256"] = results.pairs_digest(evil["protocol"]["pairs"])  # a self-consistent forgery
    evil["dataset"]["path"] = ""  # no shards to re-plan from: the file passes validation, and is not comparable
    (out / "evil.json").write_text(json.dumps(evil))
    return out


@pytest.fixture(scope="module")
def results_dir(real_shards, procedural_weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    old = os.environ.get("LSBENCH_WEIGHTS_DIR")
    os.environ["LSBENCH_WEIGHTS_DIR"] = str(procedural_weights)
    try:
        return make_results(real_shards, out, tmp_path_factory.mktemp("submissions"))
    finally:
        os.environ.pop("LSBENCH_WEIGHTS_DIR") if old is None else os.environ.__setitem__("LSBENCH_WEIGHTS_DIR", old)


@pytest.fixture(scope="module")
def site(results_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    render.build_site(results_dir, out, echo=lambda s: None)
    return out


def _docs(results_dir):
    return {p.name: results.load(p) for p in results_dir.glob("*.json")}


def _doc(results_dir, model):
    """The random-reference results of `model` (seed 1, or seed 2 for other-pairs)."""
    return results.load(next(results_dir.glob(f"{model}__random-reference__lrs2-test__seed*.json")))


def _rows(page: str) -> dict:
    """Each index table row's HTML by model name (the first table: random-reference)."""
    first = page.split("<section", 2)[1]
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr class="[^"]*" data-model="([^"]*)".*?</tr>', first, re.S)}


def _cell(row_html: str, metric: str) -> str:
    return re.search(rf'<td [^>]*data-metric="{metric}".*?</td>', row_html, re.S).group(0)


def test_index_has_a_table_per_protocol_with_every_model_and_its_values(site, results_dir):
    page = (site / "index.html").read_text()
    assert page.count('<table class="sortable board-table">') == 2
    assert "random-reference v2" in page and "reconstruction v1" in page
    rows = _rows(page)
    assert set(rows) == {"ground-truth", "static-frame", "wav2lip", "static-frame-ffmpeg", "half-gray", "gray",
                         "partial-ffmpeg", "other-pairs", "&lt;img src=x onerror=alert(1)&gt;"}
    w2l = _doc(results_dir, "wav2lip")
    mean = w2l["aggregates"]["lse_c"]["mean"]
    assert f'data-v="{mean}"' in rows["wav2lip"] and ranking.fmt(mean) in _cell(rows["wav2lip"], "lse_c")
    lo, hi = w2l["aggregates"]["lse_c"]["ci95"]
    assert f"[{ranking.fmt(lo)},<wbr> {ranking.fmt(hi)}]" in _cell(rows["wav2lip"], "lse_c")
    assert "non-official weights" in page  # procedural weights: every row is flagged
    assert "seed 1" in page and "seed 2" in page and "lsbench 0." in page
    assert "Intervals: 95% percentile bootstrap over clips, 2000 resamples." in page  # the method the files state
    assert "LSE columns: the <strong>whole-frame</strong> route" in page


def test_links_are_relative_and_resolve(site, results_dir):
    for page in [site / "index.html", *sorted((site / "models").glob("*.html"))]:
        text = page.read_text()
        for tag in re.findall(r"<a [^>]*>|<(?:video|link|script)[^>]*>", text):
            for ref in re.findall(r'(?:href|src|poster)="([^"]*)"', tag):
                if 'class="submitter"' in tag:  # the submitter's own page: absolute, http(s) only
                    assert ref == URL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), (page.name, ref)
                    assert 'rel="noopener noreferrer"' in tag
                    continue
                assert not ref.startswith(("/", "http:", "https:", "file:", "javascript:")), (page.name, ref)
                assert (page.parent / ref.replace("&amp;", "&")).resolve().is_file(), (page.name, ref)
    raw = list((site / "results").glob("*.json"))
    assert len(raw) == len(list(results_dir.glob("*.json"))) == 11
    assert all(json.loads(p.read_text())["schema_version"] == results.SCHEMA_VERSION for p in raw)


def test_untrusted_strings_are_escaped_and_paths_not_followed(site):
    pages = [(site / "index.html").read_text()] + [p.read_text() for p in (site / "models").glob("*.html")]
    joined = "\n".join(pages)
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    assert "<img" not in joined and "<script>window" not in joined
    assert "javascript:" not in joined  # the hostile file's link is not shown at all
    assert not any("passwd" in p.name for p in (site / "videos").rglob("*"))
    assert not any("passwd" in p.read_text() for p in (site / "pairs").glob("*.csv"))


def test_every_row_links_to_its_pair_list_written_from_the_results_file(site, results_dir):
    page = (site / "index.html").read_text()
    docs = _docs(results_dir)
    for doc in docs.values():
        digest = results.pairs_digest(doc["protocol"]["pairs"])
        assert digest == doc["protocol"]["pairs_sha256"]
        with open(site / "pairs" / f"{digest}.csv", newline="") as f:
            lines = list(csv.DictReader(f))
        assert [[r["target_clip"], r["speech_clip"], int(r["ref_frame"])] for r in lines] == doc["protocol"]["pairs"]
    for name, row in _rows(page).items():
        link = re.search(r'href="(pairs/[0-9a-f]{64}\.csv)"', row).group(1)
        assert (site / link).is_file() and f'data-pairs="{link[6:-4]}"' in row, name
    assert len({results.pairs_digest(d["protocol"]["pairs"]) for d in docs.values()}) >= 4  # seed 1, 2, own audio, evil
    assert "Two rows are comparable only when they cover the same pairs" in page


def test_external_rows_carry_badge_link_and_coverage(site, results_dir):
    rows = _rows((site / "index.html").read_text())
    for name in ("static-frame-ffmpeg", "half-gray", "gray", "partial-ffmpeg", "other-pairs"):
        assert 'class="badge ext"' in rows[name], name
        assert f'href="{URL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}"' in rows[name]
        assert 'rel="noopener noreferrer"' in rows[name] and ">example.org</a>" in rows[name]
    for name in ("wav2lip", "ground-truth", "static-frame"):
        assert 'class="badge ext"' not in rows[name] and "submitter" not in rows[name]
    assert _doc(results_dir, "partial-ffmpeg")["coverage"] == {"pairs": 2, "scored": 1}
    assert "scored 1 / 2 pairs" in rows["partial-ffmpeg"] and "scored 2 / 2 pairs" in rows["static-frame-ffmpeg"]
    assert re.search(r'class="badge ext".*?class="badge unranked"', rows["&lt;img src=x onerror=alert(1)&gt;"], re.S)
    assert "submitter" not in rows["&lt;img src=x onerror=alert(1)&gt;"]  # javascript: is never a link
    big = ranking.Entry({"coverage": {"pairs": 1243, "scored": 1187}}, Path("x"), "x")
    assert big.coverage_text == "scored 1,187 / 1,243 pairs" and not big.full_coverage


def test_only_rows_over_the_same_full_pair_list_are_ranked(site, results_dir):
    """The leader, the ties and the best values come from the rows that scored every pair of one
    list. A partial submission and one over other pairs have values that would win, and do not."""
    rows = _rows((site / "index.html").read_text())
    ranked = {n for n, r in rows.items() if " ranked" in r.split('"')[1]}
    assert ranked == {"wav2lip", "static-frame-ffmpeg", "half-gray", "gray"}
    agg = {n: _doc(results_dir, n)["aggregates"] for n in ("static-frame-ffmpeg", "wav2lip", "partial-ffmpeg",
                                                               "other-pairs", "half-gray")}
    # energy sync decides (lse_c is measured for wav2lip only); the leader has the highest complete mean
    assert 'class="badge lead"' in rows["static-frame-ffmpeg"]
    assert [n for n, r in rows.items() if 'class="badge lead"' in r] == ["static-frame-ffmpeg"]
    assert agg["static-frame-ffmpeg"]["energy_sync"]["mean"] > agg["wav2lip"]["energy_sync"]["mean"]
    w_lo, w_hi = agg["wav2lip"]["energy_sync"]["ci95"]
    s_lo, s_hi = agg["static-frame-ffmpeg"]["energy_sync"]["ci95"]
    assert ('class="badge tied"' in rows["wav2lip"]) == (w_lo <= s_hi and s_lo <= w_hi)
    # the partial row (1/2 pairs) and the other-pairs row would win these columns; they are not ranked
    assert agg["partial-ffmpeg"]["energy_sync"]["mean"] > agg["static-frame-ffmpeg"]["energy_sync"]["mean"]
    assert agg["partial-ffmpeg"]["energy_offset_abs"]["mean"] < agg["static-frame-ffmpeg"]["energy_offset_abs"]["mean"]
    assert agg["other-pairs"]["energy_offset_abs"]["mean"] <= agg["static-frame-ffmpeg"]["energy_offset_abs"]["mean"]
    for name, why in (("partial-ffmpeg", "scored 1 / 2 pairs: only rows that scored every pair are ranked"),
                      ("other-pairs", "another pair list than the ranked rows: not comparable")):
        assert 'class="badge unranked"' in rows[name] and why in rows[name]
        assert " best" not in rows[name] and "badge lead" not in rows[name] and "badge tied" not in rows[name]
    assert " best" in _cell(rows["static-frame-ffmpeg"], "energy_offset_abs")
    assert " best" in _cell(rows["wav2lip"], "lse_c")  # the only ranked row with LSE: best of its column


def test_reference_rows_are_never_leader_tied_or_best_even_alone(site):
    page = (site / "index.html").read_text()
    reference_rows = re.findall(r'<tr class="[^"]*reference[^"]*".*?</tr>', page, re.S)
    assert len(reference_rows) == 4  # two per table
    for row in reference_rows:
        assert "leader" not in row.split('"')[1] and "badge lead" not in row and "badge tied" not in row
        assert " best" not in row and 'class="badge ref"' in row
    recon = page.split("<section")[2]
    assert "reconstruction v1" in recon and "Nothing is ranked in this table" in recon
    assert " best" not in recon and "badge lead" not in recon
    assert recon.count('data-metric="lmd" class="num') == 2 and recon.count('data-metric="ssim" class="num') == 2


def test_undefined_values_are_na_with_reasons_never_averaged_nor_best(site, results_dir):
    rows = _rows((site / "index.html").read_text())
    gray, half = _doc(results_dir, "gray")["aggregates"], _doc(results_dir, "half-gray")["aggregates"]
    assert gray["energy_sync"]["mean"] == 0.0 and gray["energy_sync"]["n_undefined"] == 0  # defined: no motion scores 0
    for key in ("energy_corr0", "energy_offset_abs"):
        assert gray[key]["mean"] is None and gray[key]["undefined_reasons"] == {"no mouth motion": 2}
        cell = _cell(rows["gray"], key)
        assert ">n/a<" in cell and "2 n/a: no mouth motion" in cell and " best" not in cell and 'data-v=""' in cell
        # half grey: the mean covers the one clip with motion; the other is counted, not averaged in
        assert half[key]["n"] == 1 and half[key]["n_undefined"] == 1
        cell = _cell(rows["half-gray"], key)
        assert "1 n/a: no mouth motion" in cell and " best" not in cell and " partial" in cell
        assert ranking.fmt(half[key]["mean"]) in cell
    # half-gray's |energy offset| is the lowest number in the column, yet over 1 of 2 clips: not best
    offsets = {n: _doc(results_dir, n)["aggregates"]["energy_offset_abs"]["mean"]
               for n in ("static-frame-ffmpeg", "wav2lip", "half-gray")}
    assert offsets["half-gray"] < offsets["static-frame-ffmpeg"] <= offsets["wav2lip"]
    assert 'class="badge lead"' not in rows["half-gray"] and 'class="badge lead"' not in rows["gray"]
    page = next((site / "models").glob("gray__*.html")).read_text()
    assert page.count("n/a<small") == 4 and "no mouth motion" in page  # per clip: 2 clips x 2 undefined values


def test_no_interval_is_shown_as_none_with_its_reason(site, results_dir):
    rows = _rows((site / "index.html").read_text())
    partial = _doc(results_dir, "partial-ffmpeg")["aggregates"]["energy_sync"]
    assert partial["ci95"] is None and partial["interval"] == "none: fewer than 2 clips"
    cell = _cell(rows["partial-ffmpeg"], "energy_sync")
    assert "no interval" in cell and "[" not in cell and "fewer than 2 clips" in cell  # in its title
    page = (site / "index.html").read_text()
    assert ("No interval for energy corr@0, |energy offset| of half-gray; energy sync, energy corr@0, |energy offset| "
            "of partial-ffmpeg: fewer than 2 clips.") in page


def test_fid_shows_no_interval_unless_bootstrapped(results_dir, tmp_path):
    """FID is a set statistic: without --fid-bootstrap the results say so and the board shows no
    interval with that reason; with it, the bracket and the stated resamples. The FID aggregate is
    written in the form lsbench.metrics.fid.fid_aggregate gives it, into a real results file."""
    doc = json.loads((results_dir / "ground-truth__reconstruction__lrs2-test__seed1.json").read_text())
    doc["metrics"]["columns"].append({"key": "fid", "label": "FID", "higher_is_better": False, "metric": "fid"})
    why = "none: FID is a set statistic with no per-clip value; bootstrap off (--fid-bootstrap N)"
    base = {"n": 2, "frames_generated": 100, "frames_real": 100, "n_nonfinite": 0, "n_undefined": 0,
            "mean": 3.25, "higher_is_better": False}
    for name, extra in (("off", {"ci95": None, "interval": why}),
                        ("on", {"ci95": [1.5, 6.75], "interval": "95% percentile bootstrap over clips, 200 resamples"})):
        doc["aggregates"]["fid"] = {**base, **extra}
        folder = tmp_path / name
        folder.mkdir()
        (folder / "gt.json").write_text(json.dumps(doc))
        render.build_site(folder, tmp_path / f"site-{name}", echo=lambda s: None)
        page = (tmp_path / f"site-{name}" / "index.html").read_text()
        cell = re.search(r'<td [^>]*data-metric="fid".*?</td>', page, re.S).group(0)
        model = next((tmp_path / f"site-{name}" / "models").glob("*.html")).read_text()
        assert ">3.250<" in cell and "Set statistics (FID) have no per-clip value" in model
        if name == "off":
            assert "no interval" in cell and "[" not in cell
            assert ("No interval for FID of ground-truth: FID is a set statistic with no per-clip value; bootstrap "
                    "off (--fid-bootstrap N).") in page
        else:
            assert "[1.500,<wbr> 6.750]" in cell and "no interval" not in cell
            assert "FID of ground-truth: 95% percentile bootstrap over clips, 200 resamples." in page


def _entry(name, mean, lo, hi, kind="bundled", pairs=(("a", "b", 1), ("b", "a", 2)), scored=2, n=None, undefined=0):
    """A results document reduced to what ranking reads."""
    ci = None if lo is None else [lo, hi]
    doc = {"model": {"name": name, "kind": kind}, "protocol": {"pairs": [list(p) for p in pairs]},
           "coverage": {"pairs": len(pairs), "scored": scored}, "rows": [], "weights": {"w": {"official": True}},
           "aggregates": {"lse_c": {"mean": mean, "ci95": ci, "n": scored if n is None else n, "n_undefined": undefined,
                                    "n_nonfinite": 0, "higher_is_better": True,
                                    "interval": "95% percentile bootstrap over clips, 2000 resamples"}},
           "metrics": {"directions": {"lse_c": True}}}
    return ranking.Entry(doc, Path(name), name)


def test_best_leader_and_ties():
    entries = [_entry("a", 7.0, 6.5, 7.5), _entry("b", 6.8, 6.0, 6.6), _entry("c", 5.0, 4.0, 5.5),
               _entry("ground-truth", 9.0, 8.5, 9.5, kind="reference")]
    assert ranking.score_table(entries, ["lse_c"]) == "lse_c"
    a, b, c, gt = entries
    assert a.leader and a.cells["lse_c"].best and not gt.leader and not gt.cells["lse_c"].best
    assert b.tied and not c.tied  # b's interval touches a's, c's does not


def test_ranking_rules_on_their_own():
    # reference rows alone: no leader, nothing best
    alone = [_entry("ground-truth", 9.0, 8.5, 9.5, kind="reference"), _entry("static", 2.0, 1.0, 3.0, kind="reference")]
    assert ranking.score_table(alone, ["lse_c"]) is None
    assert not any(e.leader or e.tied or e.cells["lse_c"].best for e in alone)
    # a higher value over other pairs, over fewer pairs, or with an n/a clip is never best nor leader
    rows = [_entry("a", 5.0, 4.0, 6.0), _entry("other", 9.0, 8.0, 10.0, pairs=(("a", "b", 3), ("b", "a", 2))),
            _entry("partial", 9.0, None, None, scored=1), _entry("na", 9.0, 8.0, 10.0, n=1, undefined=1),
            _entry("external", 4.0, 3.0, 6.0, kind="external")]
    assert ranking.score_table(rows, ["lse_c"]) == "lse_c"
    a, other, partial, na, ext = rows
    assert a.leader and a.cells["lse_c"].best and ext.tied and ext.ranked
    assert not other.ranked and "another pair list" in other.unranked_why
    assert not partial.ranked and "scored 1 / 2 pairs" in partial.unranked_why
    assert na.ranked and not na.cells["lse_c"].complete and not na.cells["lse_c"].best and not na.leader
    # the pair list most full-coverage contestants share is the ranked one, whatever the file order
    two = [_entry("x", 1.0, 0.5, 1.5, pairs=(("q", "r", 0),)), _entry("y", 2.0, 1.5, 2.5), _entry("z", 3.0, 2.0, 4.0)]
    for order in (two, two[::-1]):
        ranking.score_table(list(order), ["lse_c"])
        assert [e.ranked for e in two] == [False, True, True] and two[2].leader
    # a column with no value in any ranked row has no best
    empty = [_entry("p", None, None, None, undefined=2, n=0), _entry("q", None, None, None, undefined=2, n=0)]
    assert ranking.score_table(empty, ["lse_c"]) is None and not any(e.cells["lse_c"].best for e in empty)
    assert [e.cells["lse_c"].text for e in empty] == ["n/a", "n/a"]


def test_submitter_links_are_http_only():
    assert ranking.safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert ranking.safe_url("http://lab.example/x") == "http://lab.example/x"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//example.org", "ftp://x.org",
                "https://", "https://exa mple.org", "https://example.org/\n", None, 3, ""):
        assert ranking.safe_url(bad) is None, bad


def test_posters_are_the_videos_first_frames(site):
    videos = sorted((site / "videos").rglob("*.mp4"))
    assert len(videos) == 4  # wav2lip's two saved pairs: generated and target
    for v in videos:
        poster = v.with_suffix(".jpg")
        assert poster.is_file() and poster.stat().st_size < 40_000
        import cv2

        img = cv2.cvtColor(cv2.imread(str(poster)), cv2.COLOR_BGR2RGB)
        first = media.read_frames(v, max_frames=1)[0]
        assert img.shape[1] == site_files.POSTER_WIDTH and img.mean() > 30  # a picture, not a black box
        small = cv2.resize(first, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
        assert np.abs(small.astype(float) - img).mean() < 8, v.name
    page = next((site / "models").glob("wav2lip*.html")).read_text()
    assert len(re.findall(r'<video [^>]*poster="\.\./videos/[^"]+\.jpg"', page)) == 4


def test_a_video_ffmpeg_cannot_read_is_left_off_and_a_missing_ffmpeg_is_one_line(results_dir, tmp_path, monkeypatch):
    folder = tmp_path / "res"
    name = f"wav2lip{RR}"
    folder.mkdir()
    shutil.copyfile(results_dir / name, folder / name)
    shutil.copytree(results_dir / name[:-5], folder / name[:-5])
    doc = results.load(folder / name)
    (folder / doc["rows"][0]["video"]).write_bytes(b"not an mp4 at all" * 100)
    said = []
    render.build_site(folder, tmp_path / "site", echo=said.append)
    assert any("ffmpeg cannot read its first frame; left off the site" in s and doc["rows"][0]["video"] in s
               for s in said), said
    assert len(list((tmp_path / "site" / "videos").rglob("*.mp4"))) == 2  # the second pair, both videos
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = CliRunner().invoke(cli, ["leaderboard", "--results", str(folder), "--out", str(tmp_path / "site2")])
    assert r.exit_code == 1 and "ffmpeg not found" in r.output and "Traceback" not in r.output, r.output


def test_old_schema_is_refused_with_the_file_named(tmp_path, results_dir):
    folder = tmp_path / "old"
    folder.mkdir()
    doc = json.loads(next(results_dir.glob("wav2lip*.json")).read_text())
    doc["schema_version"] = 0
    (folder / "old.json").write_text(json.dumps(doc))
    r = CliRunner().invoke(cli, ["leaderboard", "--results", str(folder), "--out", str(tmp_path / "site")])
    assert r.exit_code == 1
    assert f"{folder / 'old.json'}: results schema version 0 is not supported" in r.output
    assert not (tmp_path / "site" / "index.html").exists()


def test_serve_answers_on_localhost_from_a_sub_path(site, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "lsbench.cli", "leaderboard", "--results", str(site / "results"),
                             "--out", str(tmp_path / "www" / "lab" / "board"), "--serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not answer")
        assert "wav2lip" in body and "static/style.css" in body
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/style.css", timeout=2)
        assert css.status == 200
    finally:
        proc.terminate()
        proc.wait(10)


# ------------------------------------------------------------------ headless Chromium


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium / chromium-driver missing: .ci/run must install them")
        pytest.skip("chromium and chromium-driver are not installed (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--allow-file-access-from-files"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _shot(driver, tmp_path, name):
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    keep = os.environ.get("LSBENCH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(keep) / path.name)
    assert path.stat().st_size > 10_000  # a real rendered page, not a blank


def _models_in_order(driver, table=0):
    return driver.execute_script(f"return Array.from(document.querySelectorAll('table.board-table')[{table}].tBodies[0]"
                                 ".rows).map(r => r.getAttribute('data-model'))")


def test_browser_table_renders_and_sorts(browser, site, results_dir, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(1400, 1000)
    browser.get((site / "index.html").as_uri())
    models = _models_in_order(browser)
    assert sorted(models) == sorted(["ground-truth", "static-frame", "wav2lip", "static-frame-ffmpeg", "half-gray",
                                     "gray", "partial-ffmpeg", "other-pairs", XSS])
    docs = _docs(results_dir)
    cells = browser.execute_script(
        "var h = Array.from(document.querySelectorAll('thead th')).findIndex(t => t.dataset.metric === 'lse_d');"
        "return Array.from(document.querySelectorAll('tbody tr')).map(r => [r.dataset.model, r.cells[h].innerText]);")
    w2l_text = dict(cells)["wav2lip"]
    assert w2l_text.startswith(ranking.fmt(_doc(results_dir, "wav2lip")["aggregates"]["lse_d"]["mean"]))
    _shot(browser, tmp_path, "leaderboard_index")

    header = browser.find_element(By.CSS_SELECTOR, "th[data-metric='energy_offset_abs']")  # gray's is n/a
    means = {d["model"]["name"]: d["aggregates"]["energy_offset_abs"]["mean"] for d in docs.values()
             if d["protocol"]["name"] == "random-reference"}
    assert means["gray"] is None and len({v for v in means.values() if v is not None}) >= 3
    header.click()
    asc = _models_in_order(browser)
    shown = [means[m] for m in asc if means[m] is not None]
    assert shown == sorted(shown) and shown != sorted(shown, reverse=True)
    assert asc[-1] == "gray"  # the n/a cell goes last either way
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    desc = _models_in_order(browser)
    shown = [means[m] for m in desc if means[m] is not None]
    assert shown == sorted(shown, reverse=True) and desc[-1] == "gray"
    assert header.get_attribute("aria-sort") == "descending"
    name_header = browser.find_element(By.CSS_SELECTOR, "thead th")  # the Model column sorts as text
    name_header.click()
    by_name = _models_in_order(browser)
    assert by_name.index("ground-truth") < by_name.index("static-frame") < by_name.index("wav2lip")
    name_header.click()
    assert _models_in_order(browser) == by_name[::-1]
    _shot(browser, tmp_path, "leaderboard_sorted")


def test_browser_external_row_reference_rows_and_undefined_values(browser, site, tmp_path):
    """Issue 18's browser check: the external row shows its badge, link and coverage; no reference
    row carries `leader`; an undefined value is never highlighted."""
    browser.set_window_size(1400, 1000)
    browser.get((site / "index.html").as_uri())
    ext = browser.execute_script("""
        var r = document.querySelector("tr[data-model='partial-ffmpeg']");
        var a = r.querySelector('a.submitter'), b = r.querySelector('.badge.ext');
        return {badge: b && b.offsetWidth > 0 && b.innerText, href: a && a.href, rel: a && a.rel, link: a && a.innerText,
                visible: a && a.offsetWidth > 0, cov: r.querySelector('td.cov').innerText,
                unranked: r.querySelector('.badge.unranked').innerText};""")
    assert ext == {"badge": "external", "href": URL.replace("<", "%3C").replace(">", "%3E"), "rel": "noopener noreferrer",
                   "link": "example.org", "visible": True, "cov": ext["cov"], "unranked": "not ranked"}
    assert "scored 1 / 2 pairs" in ext["cov"] and "pair list" in ext["cov"]
    refs = browser.execute_script("""
        return Array.from(document.querySelectorAll('tr.reference')).map(r => [r.dataset.model,
            r.classList.contains('leader'), r.querySelectorAll('.badge.lead, .badge.tied, td.best').length]);""")
    assert len(refs) == 4 and all(not leader and n == 0 for _, leader, n in refs), refs
    leaders = browser.execute_script("return Array.from(document.querySelectorAll('tr.leader')).map(r => r.dataset.model)")
    assert leaders == ["static-frame-ffmpeg"]
    best_bg = browser.execute_script("return getComputedStyle(document.querySelector('td.best')).backgroundColor")
    na = browser.execute_script("""
        return Array.from(document.querySelectorAll('td.na, td.partial')).map(td => [td.closest('tr').dataset.model,
            td.dataset.metric, td.classList.contains('best'), getComputedStyle(td).backgroundColor, td.innerText]);""")
    assert len(na) >= 2 + 2 + 1  # gray: 2 n/a; half-gray: 2 partial means; ground-truth PSNR (reconstruction)
    for model, metric, best, bg, text in na:
        assert not best and bg != best_bg, (model, metric, bg)
    gray = {m: t for model, m, _, _, t in na if model == "gray"}
    assert set(gray) == {"energy_corr0", "energy_offset_abs"}
    assert all(t.startswith("n/a") and "2 n/a: no mouth motion" in t for t in gray.values()), gray
    _shot(browser, tmp_path, "leaderboard_ranking")


def _overflow(driver):
    return driver.execute_script("""
        var d = document.documentElement;
        return {doc: [d.scrollWidth, d.clientWidth], tables: Array.from(document.querySelectorAll('.table-wrap')).map(
            w => [w.closest('section') ? w.closest('section').querySelector('h2').innerText : document.title,
                  w.scrollWidth, w.clientWidth])};""")


def test_browser_tables_fit_1300px_without_horizontal_scrolling(browser, site, tmp_path):
    """Issue 20: at 1300 px the reconstruction table (the widest: every default metric) shows every
    column, the LMD column included, with no horizontal scrollbar, on the page or in its container."""
    browser.set_window_size(1300, 1000)
    try:
        browser.get((site / "index.html").as_uri())
        assert browser.execute_script("return window.innerWidth") == 1300
        info = _overflow(browser)
        assert info["doc"][0] <= info["doc"][1], info
        recon = [t for t in info["tables"] if "reconstruction" in t[0]]
        assert len(recon) == 1 and len(info["tables"]) == 2
        for name, scroll, client in info["tables"]:
            assert scroll <= client, (name, scroll, client)
        lmd = browser.execute_script("""
            var s = Array.from(document.querySelectorAll('section.board')).find(s => s.innerText.includes('reconstruction'));
            var th = s.querySelector("th[data-metric='lmd']"), r = th.getBoundingClientRect();
            return [r.right, document.documentElement.clientWidth, s.querySelectorAll('thead th').length];""")
        assert lmd[0] <= lmd[1] and lmd[2] >= 14, lmd  # Model, Weights, 10 metric columns, Pairs, Run
        browser.execute_script("document.querySelector('section.board:last-of-type').scrollIntoView()")
        _shot(browser, tmp_path, "leaderboard_1300px")
        for page in sorted((site / "models").glob("*.html")):
            browser.get(page.as_uri())
            info = _overflow(browser)
            assert info["doc"][0] <= info["doc"][1], (page.name, info)
            assert all(scroll <= client for _, scroll, client in info["tables"]), (page.name, info)
    finally:
        browser.set_window_size(1400, 1000)


def test_browser_model_page_loads_videos_posters_and_plots(browser, site, tmp_path):
    page = next(p for p in (site / "models").glob("wav2lip*.html"))
    browser.set_window_size(1400, 1000)
    browser.get(page.as_uri())
    for _ in range(50):
        state = browser.execute_script("return Array.from(document.querySelectorAll('video'))"
                                       ".map(v => [v.className, v.readyState, v.duration, v.error && v.error.code])")
        if state and all(s[1] >= 1 for s in state):
            break
        time.sleep(0.1)
    assert {s[0] for s in state} == {"generated", "target"} and len(state) == 4
    assert all(s[1] >= 1 and s[3] is None and 1.0 < s[2] < 3.0 for s in state), state  # metadata read: real mp4s
    posters = browser.execute_async_script("""
        var done = arguments[arguments.length - 1], vs = Array.from(document.querySelectorAll('video')), out = [];
        vs.forEach(function (v) {
            var img = new Image();
            img.onload = function () { out.push([v.getAttribute('poster'), img.naturalWidth, img.naturalHeight]);
                                       if (out.length === vs.length) done(out); };
            img.onerror = function () { out.push([v.getAttribute('poster'), 0, 0]); if (out.length === vs.length) done(out); };
            img.src = v.poster;
        });""")
    assert len(posters) == 4 and all(p[0].endswith(".jpg") and p[1] == site_files.POSTER_WIDTH and p[2] > 0
                                     for p in posters), posters
    bars = browser.execute_script("return document.querySelectorAll('svg.hist rect').length")
    dots = browser.execute_script("return document.querySelectorAll('svg.scatter circle').length")
    assert bars >= 1 and dots == 2
    route = browser.execute_script("return document.querySelector('dd.lse-route').innerText")
    assert route.startswith("whole-frame") and "calculate_scores_LRS.py" in route
    _shot(browser, tmp_path, "leaderboard_model")
    browser.execute_script("document.querySelector('section.videos').scrollIntoView()")
    _shot(browser, tmp_path, "leaderboard_model_videos")


def test_browser_runs_no_script_from_a_results_file(browser, site, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException

    browser.set_window_size(1400, 1000)
    for page in [site / "index.html", *(site / "models").glob("*.html")]:
        browser.get(page.as_uri())
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        assert browser.execute_script("return document.querySelectorAll('img').length") == 0
        assert browser.execute_script("return window.pwned === undefined")
    browser.get((site / "index.html").as_uri())
    assert XSS in browser.find_element("css selector", f"tr[data-model='{XSS}'] a.model").text
    _shot(browser, tmp_path, "leaderboard_hostile_name")

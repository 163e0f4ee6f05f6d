"""`lsbench leaderboard`: the static site from results JSON, checked as HTML and in headless
Chromium (Debian's chromium + chromium-driver, installed by .ci/run)."""

from __future__ import annotations

import copy
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

import pytest
from click.testing import CliRunner

from leaderboard import render
from lsbench import results
from lsbench.cli import cli
from lsbench.evaluate import evaluate

XSS = "<img src=x onerror=alert(1)>"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def results_dir(real_shards, procedural_weights, tmp_path_factory):
    """Results of three reference rows and Wav2Lip on two real clips (videos saved), plus a
    hostile copy: a script-like model name and a video path pointing out of the folder."""
    out = tmp_path_factory.mktemp("results")
    old = os.environ.get("LSBENCH_WEIGHTS_DIR")
    os.environ["LSBENCH_WEIGHTS_DIR"] = str(procedural_weights)
    try:
        for model in ("ground-truth", "static-frame", "wav2lip"):
            evaluate(model, real_shards, "random-reference", "test", out=out, seed=1, save_videos=2, progress=False,
                     echo=lambda s: None, device="cpu")
    finally:
        os.environ.pop("LSBENCH_WEIGHTS_DIR") if old is None else os.environ.__setitem__("LSBENCH_WEIGHTS_DIR", old)
    doc = json.loads((out / "static-frame__random-reference__lrs2-test__seed1.json").read_text())
    evil = copy.deepcopy(doc)
    evil["model"]["name"] = XSS
    evil["rows"][0]["video"] = "../../../../etc/passwd"
    evil["rows"][0]["clip_id"] = '"><script>window.pwned=1</script>'
    (out / "evil.json").write_text(json.dumps(evil))
    return out


@pytest.fixture(scope="module")
def site(results_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    render.build_site(results_dir, out, echo=lambda s: None)
    return out


def _docs(results_dir):
    return {p.name: results.load(p) for p in results_dir.glob("*.json")}


def test_index_has_one_table_with_every_model_and_its_values(site, results_dir):
    page = (site / "index.html").read_text()
    assert page.count("<table class=\"sortable\">") == 1 and "random-reference v1" in page
    for name in ("ground-truth", "static-frame", "wav2lip"):
        assert f'data-model="{name}"' in page
    w2l = _docs(results_dir)["wav2lip__random-reference__lrs2-test__seed1.json"]
    mean = w2l["aggregates"]["lse_c"]["mean"]
    assert f'data-v="{mean}"' in page and render._fmt(mean) in page
    assert "non-official weights" in page  # procedural weights: every row is flagged
    assert "seed 1" in page and "lsbench 0." in page


def test_links_are_relative_and_resolve(site):
    for page in [site / "index.html", *sorted((site / "models").glob("*.html"))]:
        for ref in re.findall(r'(?:href|src)="([^"]+)"', page.read_text()):
            assert not ref.startswith(("/", "http:", "https:", "file:", "javascript:")), (page.name, ref)
            assert (page.parent / ref).resolve().is_file(), (page.name, ref)
    raw = list((site / "results").glob("*.json"))
    assert len(raw) == 4 and all(json.loads(p.read_text())["schema_version"] == results.SCHEMA_VERSION for p in raw)


def test_untrusted_strings_are_escaped_and_paths_not_followed(site):
    pages = [(site / "index.html").read_text()] + [p.read_text() for p in (site / "models").glob("*.html")]
    joined = "\n".join(pages)
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    assert "<img" not in joined and "<script>window" not in joined
    assert not any("passwd" in p.name for p in (site / "videos").rglob("*"))


def test_best_leader_and_ties():
    def doc(name, mean, lo, hi, official=True):
        return {"model": {"name": name}, "aggregates": {"lse_c": {"mean": mean, "ci95": [lo, hi], "n": 9,
                                                                  "higher_is_better": True}},
                "metrics": {"directions": {"lse_c": True}}, "weights": {"w": {"official": official}}}

    entries = [render.Entry(doc("a", 7.0, 6.5, 7.5), Path("a"), "a"), render.Entry(doc("b", 6.8, 6.0, 6.6), Path("b"), "b"),
               render.Entry(doc("c", 5.0, 4.0, 5.5), Path("c"), "c"), render.Entry(doc("ground-truth", 9.0, 8.5, 9.5), Path("g"), "g")]
    assert render._score_table(entries, ["lse_c"]) == "lse_c"
    a, b, c, gt = entries
    assert a.leader and a.cells["lse_c"].best and not gt.leader and not gt.cells["lse_c"].best
    assert b.tied and not c.tied  # b's interval touches a's, c's does not


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


def _models_in_order(driver):
    return driver.execute_script("return Array.from(document.querySelectorAll('table.sortable tbody tr'))"
                                 ".map(r => r.getAttribute('data-model'))")


def test_browser_table_renders_and_sorts(browser, site, results_dir, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    models = _models_in_order(browser)
    assert sorted(models) == sorted(["ground-truth", "static-frame", "wav2lip", XSS])
    docs = _docs(results_dir)
    cells = browser.execute_script(
        "var h = Array.from(document.querySelectorAll('thead th')).findIndex(t => t.dataset.metric === 'lse_d');"
        "return Array.from(document.querySelectorAll('tbody tr')).map(r => [r.dataset.model, r.cells[h].innerText]);")
    w2l_text = dict(cells)["wav2lip"]
    assert w2l_text.startswith(render._fmt(docs["wav2lip__random-reference__lrs2-test__seed1.json"]["aggregates"]["lse_d"]["mean"]))
    _shot(browser, tmp_path, "leaderboard_index")

    header = browser.find_element(By.CSS_SELECTOR, "th[data-metric='lse_c']")
    means = {d["model"]["name"]: d["aggregates"]["lse_c"]["mean"] for d in docs.values()}
    header.click()
    asc = _models_in_order(browser)
    shown = [means[m] for m in asc]
    assert shown == sorted(shown) and shown != sorted(shown, reverse=True)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    shown = [means[m] for m in _models_in_order(browser)]
    assert shown == sorted(shown, reverse=True) and header.get_attribute("aria-sort") == "descending"
    name_header = browser.find_element(By.CSS_SELECTOR, "thead th")  # the Model column sorts as text
    name_header.click()
    by_name = _models_in_order(browser)
    assert by_name.index("ground-truth") < by_name.index("static-frame") < by_name.index("wav2lip")
    name_header.click()
    assert _models_in_order(browser) == by_name[::-1]
    _shot(browser, tmp_path, "leaderboard_sorted")


def test_browser_model_page_loads_videos_and_plots(browser, site, tmp_path):
    page = next(p for p in (site / "models").glob("wav2lip*.html"))
    browser.get(page.as_uri())
    for _ in range(50):
        state = browser.execute_script("return Array.from(document.querySelectorAll('video'))"
                                       ".map(v => [v.className, v.readyState, v.duration, v.error && v.error.code])")
        if state and all(s[1] >= 1 for s in state):
            break
        time.sleep(0.1)
    assert {s[0] for s in state} == {"generated", "target"} and len(state) == 4
    assert all(s[1] >= 1 and s[3] is None and 1.0 < s[2] < 3.0 for s in state), state  # metadata read: real mp4s
    bars = browser.execute_script("return document.querySelectorAll('svg.hist rect').length")
    dots = browser.execute_script("return document.querySelectorAll('svg.scatter circle').length")
    assert bars >= 1 and dots == 2
    _shot(browser, tmp_path, "leaderboard_model")


def test_browser_runs_no_script_from_a_results_file(browser, site, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException

    for page in [site / "index.html", *(site / "models").glob("*.html")]:
        browser.get(page.as_uri())
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        assert browser.execute_script("return document.querySelectorAll('img').length") == 0
        assert browser.execute_script("return window.pwned === undefined")
    browser.get((site / "index.html").as_uri())
    assert XSS in browser.find_element("css selector", f"tr[data-model='{XSS}'] a.model").text
    _shot(browser, tmp_path, "leaderboard_hostile_name")

"""report.html in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) via Selenium.

Each test opens a page, fails on any console error, checks that the map, the
heatmap and the rosters are drawn (in the page's SVG, not just in its data),
clicks an unmet order and a volunteer, and saves a full-page screenshot: to
``$MATCHER_SCREENSHOTS`` when set (for a person to look at), else the test's
temporary folder.

Without a browser these tests skip, unless ``MATCHER_BROWSER_TESTS=required``
(``.ci/run`` sets it): then a missing browser is a failure, so CI cannot pass
by skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.model import UnmetReason

ROOT = Path(__file__).parent.parent.parent
REQUIRED = os.environ.get("MATCHER_BROWSER_TESTS") == "required"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (MATCHER_BROWSER_TESTS=required)")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    chrome = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
    driver = shutil.which("chromedriver")
    if chrome is None or driver is None:
        _missing("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = str(chrome)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(executable_path=str(driver)))
    try:
        yield session
    finally:
        session.quit()


def open_report(browser: Any, page: Path) -> list[dict[str, Any]]:
    """Open the page, wait until its script has drawn everything, and return the browser's console log."""
    browser.get(page.resolve().as_uri())
    deadline = time.monotonic() + 60
    while not browser.execute_script("return window.reportReady === true"):
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        assert time.monotonic() < deadline, "the page never finished drawing"
        time.sleep(0.2)
    log: list[dict[str, Any]] = browser.get_log("browser")
    return log


def screenshot(browser: Any, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot (the window grown to the page's height)."""
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(1400, min(height, 15000))
    time.sleep(0.5)  # plotly redraws at the new size
    folder = Path(os.environ.get("MATCHER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 50_000  # a page, not a blank
    return path


def errors_in(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["level"] == "SEVERE"]


def count(browser: Any, selector: str) -> int:
    n: int = browser.execute_script(f"return document.querySelectorAll({selector!r}).length")
    return n


def test_the_readme_run_opens_with_map_heatmap_and_rosters(browser: Any, tmp_path: Path) -> None:
    # the README's first command, after its install step
    r = subprocess.run([sys.executable, "-m", "matcher.cli", "run", "matcher/data/sample_problem.json", "--out",
                        str(tmp_path / "runs")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    page = tmp_path / "runs" / "latest" / "report.html"
    log = open_report(browser, page)
    assert errors_in(log) == []
    # the summary: the fill rate a person wants, and the reasons with what to do
    assert "需求满足率" in browser.find_element("id", "summary").text
    assert count(browser, "#summary tbody tr") == len(UnmetReason)
    # the map: one marker per grid area (12), each labelled with its id
    assert count(browser, "#fig-map .scatterlayer .trace:first-child .point") == 12
    labels = browser.execute_script(
        "return [...document.querySelectorAll('#fig-map .scatterlayer .textpoint')].map(t => t.textContent)")
    assert sorted(labels) == [f"S01C01G{k:02d}" for k in range(1, 13)]
    # the heatmap: two weekday x hour grids, drawn as images by plotly
    assert count(browser, "#fig-heat .heatmaplayer image") == 2
    assert count(browser, "#fig-heat .ytick") >= 7
    # an unmet order's explanation, one click away
    assert count(browser, "#unmet tbody tr.row") == 50
    browser.execute_script("document.querySelector('#unmet tbody tr.row').click()")
    detail = browser.find_element("css selector", "#unmet tr.detail").text
    assert "附近志愿者" in detail and "公里" in detail
    # the roster: a volunteer's week, and a team's members
    assert count(browser, "#roster tbody tr.row") > 10
    browser.execute_script("document.querySelector('#roster tbody tr.row').click()")
    assert count(browser, "#roster tr.detail .week .day") == 7 and count(browser, "#roster tr.detail .task") >= 1
    browser.execute_script("document.querySelector('#teams tbody tr.row').click()")
    assert count(browser, "#teams tr.detail .member") >= 1
    shot = screenshot(browser, tmp_path, "report_run_zh.png")
    # a volunteer named in an explanation: their week opens over it
    browser.execute_script("document.querySelector('#unmet tr.detail a.vol').click()")
    assert browser.execute_script("return document.getElementById('week-dialog').open") is True
    assert count(browser, "#week-dialog .week .day") == 7
    assert errors_in(browser.get_log("browser")) == [], shot


def test_a_scenario_report_in_english(browser: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text("name: flu in a community\nbase: {preset: community, seed: 2}\noptions: {time_limit_s: 5}\n"
                        "variants:\n  - name: flu\n    edits:\n      - remove_volunteers: {share: 0.3, seed: 1}\n",
                        encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "matcher.cli", "scenario", "run", str(scenario), "--out",
                        str(tmp_path / "out"), "--lang", "en", "--no-charts"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    log = open_report(browser, tmp_path / "out" / "small-latest" / "report.html")
    assert errors_in(log) == []
    text = browser.find_element("id", "comparison").text
    assert "Base and variants compared" in text and "flu vs base" in text and "fill rate" in text
    assert count(browser, "#comparison tbody tr") > 20
    assert count(browser, "#fig-map .scatterlayer .point") >= 12
    assert count(browser, "#fig-change .scatterlayer .point") >= 12
    assert count(browser, "#fig-heat .heatmaplayer image") >= 2
    screenshot(browser, tmp_path, "report_scenario_en.png")
    assert errors_in(browser.get_log("browser")) == []

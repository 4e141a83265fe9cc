"""The labelling page in headless Chromium (Debian's), driven by Playwright, offline.

Starts ``foxdog label`` on a generated folder, answers 100 photos over the API
from the known labels (so the curve has a history), labels 30 more by keyboard
(one ``z`` undo and one ``x`` among them), sees the estimate and its curve
update, kills the server with SIGKILL, restarts it and finds every label and
the position intact. Every request the page makes must go to the app itself.

Chromium must be installed (``chromium`` on PATH, or ``$CHROMIUM``): a missing
browser fails the test. ``FOXDOG_LABEL_SCREENSHOT=docs/label_app.png`` writes
the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pytest
from label_photos import make_folder

from foxdog.label.log import read_events

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return str(shutil.which(name))
    pytest.fail("chromium not found: install Debian's chromium (make chromium) or set $CHROMIUM")


def label_command(photos: Path, project: Path) -> list[str]:
    command = [sys.executable, "-m", "foxdog.cli", "label", str(photos), "--classes", "fox,dog"]
    return [*command, "--project", str(project)]


def start_server(photos: Path, project: Path) -> tuple[subprocess.Popen, str]:
    """``foxdog label`` on a free port; returns the process and the address it printed."""
    command = [*label_command(photos, project), "--port", "0"]
    env = {**os.environ, "FOXDOG_QUIET": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "open http://" in line:
            return proc, line.split("open ")[1].split()[0].rstrip("/")
    proc.wait(10)
    pytest.fail(f"foxdog label exited ({proc.returncode}) without printing its address")


def test_label_by_keyboard_survives_kill_9(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    photos, project = tmp_path / "photos", tmp_path / "project"
    truth = make_folder(photos, 140)
    proc, url = start_server(photos, project)
    paths = pd.read_csv(project / "index.csv")["path"]
    key_of = {i: "1" if truth[p] == "fox" else "2" for i, p in enumerate(paths)}
    # 100 answers over the API first (an oracle, through the same routes the page uses).
    with httpx.Client(base_url=url, timeout=60) as api:
        state = api.get("/api/state").json()
        for _ in range(100):
            body = {"id": state["current"], "class": key_of[state["current"]]}
            state = api.post("/api/label", json=body).json()
    foreign: list[str] = []
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium(),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})

            def request(req) -> None:
                if not req.url.startswith((url, "data:", "blob:")):
                    foreign.append(req.url)

            page.on("request", request)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("document.body.dataset.seq !== undefined")
            page.wait_for_function("document.getElementById('photo').complete")
            first_estimate = page.inner_text("#estimate")
            assert "%" in first_estimate, first_estimate
            page.wait_for_function("document.querySelectorAll('#curve svg path').length > 0")
            points = "fetch('/api/state').then(r => r.json()).then(s => s.curve_points)"
            first_points = page.evaluate(points)

            def press(key: str) -> None:
                seq = page.evaluate("document.body.dataset.seq")
                page.keyboard.press(key)
                page.wait_for_function(f"document.body.dataset.seq !== '{seq}'")

            def current() -> int:
                return int(page.get_attribute("#photo", "data-id"))

            for n in range(30):
                shown = current()
                if n == 7:
                    press("x")
                elif n == 12:
                    press("1" if key_of[shown] == "2" else "2")  # a slip ...
                    press("z")  # ... taken back: the same photo is shown again
                    assert current() == shown
                    press(key_of[shown])
                else:
                    press(key_of[shown])
            estimate = page.inner_text("#estimate")
            assert "%" in estimate and estimate != first_estimate, estimate
            assert page.evaluate(points) == first_points + 2  # at 110 and 120 labels
            counts = page.inner_text("#counts")
            before = {
                "current": current(),
                "counts": counts,
                "estimate": estimate,
                "stop": page.inner_text("#stop"),
                "events": list(read_events(project / "log.jsonl")),
            }
            # 100 replayed + 28 keyed + x + the slip and its correction
            assert sum(e["event"] == "label" for e in before["events"]) == 131
            assert [e["event"] for e in before["events"]].count("undo") == 1
            if target := os.environ.get("FOXDOG_LABEL_SCREENSHOT"):
                page.wait_for_timeout(300)  # let the chart finish its transition
                page.screenshot(path=str(ROOT / target))

            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            proc, url2 = start_server(photos, project)
            url = url2
            page.goto(url)
            page.wait_for_function("document.body.dataset.seq !== undefined")
            assert current() == before["current"]
            assert page.inner_text("#counts") == before["counts"]
            assert page.inner_text("#estimate") == before["estimate"]
            assert page.inner_text("#stop") == before["stop"]  # the same models, refitted
            after = list(read_events(project / "log.jsonl"))
            assert after[: len(before["events"])] == before["events"]
            press(key_of[current()])  # and labelling goes on where it stopped
            browser.close()
    finally:
        proc.kill()
        proc.wait(10)
    assert not foreign, foreign
    assert not errors, errors

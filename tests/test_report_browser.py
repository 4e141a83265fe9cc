"""Open every rendered report page in headless Chromium and check it works offline.

For each page: every chart container holds a non-empty SVG (or canvas), the
console shows no error and no uncaught exception, and no request goes anywhere
but the local test server (or ``data:``/``blob:`` URLs). Console and network
events come from the Chrome DevTools Protocol, spoken over
``--remote-debugging-pipe`` (file descriptors 3 and 4), so no websocket
client is needed.

Chromium must be installed (``chromium`` on PATH, or ``$CHROMIUM``): CI installs
it, and a missing browser fails this test instead of silently skipping it.
Set ``FOXDOG_SCREENSHOTS=<dir>`` to keep a full-page PNG of every page (the top
``$FOXDOG_SCREENSHOT_HEIGHT`` pixels only, when set; ``make screenshots`` writes docs/), and
``FOXDOG_SITE=_site`` to check the pipeline's real site instead of the fake one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_render import PAGES, build_site

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-pipe",
]
CHART_TIMEOUT_S = 30.0
# Counts the chart containers and those whose Vega view has drawn something.
CHART_PROBE = """
(() => {
  const boxes = Array.from(document.querySelectorAll('.fd-chart, .vega-embed'))
    .filter(el => !el.parentElement.closest('.fd-chart, .vega-embed'));
  const drawn = boxes.filter(el => {
    const svg = el.querySelector('svg');
    if (svg) {
      const r = svg.getBoundingClientRect();
      const marks = svg.querySelectorAll('path, rect, line, text').length;
      return r.width > 0 && r.height > 0 && marks > 0;
    }
    const canvas = el.querySelector('canvas');
    return !!canvas && canvas.width > 0 && canvas.height > 0;
  });
  return JSON.stringify({charts: boxes.length, drawn: drawn.length,
                         nav: document.querySelectorAll('nav a').length});
})()
"""


def chromium_path() -> str:
    """The browser to drive; fail (not skip) with a clear message when there is none."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return str(shutil.which(name))
    pytest.fail(
        "Chromium not found: install it (Debian: apt-get install chromium) or set $CHROMIUM; "
        "the report's browser test needs a real browser and must not be skipped"
    )


def _high_fd(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or above; ``fd`` itself is closed."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class DevTools:
    """A headless Chromium driven through the DevTools protocol over a pipe."""

    def __init__(self, binary: str, user_data_dir: Path) -> None:
        # Chromium reads commands from fd 3 and writes replies/events to fd 4. The
        # child's ends are moved above fd 9 first: were one of them 3 or 4 already,
        # the shell's "3<&x 4>&y" redirections would clobber it.
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        to_browser_r, from_browser_w = (_high_fd(to_browser_r), _high_fd(from_browser_w))
        cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"]
        self.proc = subprocess.Popen(
            # bash, not sh: dash accepts only one-digit descriptors in redirections.
            ["bash", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "bash", *cmd],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._replies.get(message["id"])
                    if box is not None:
                        box.put(message)
                else:
                    with self._lock:
                        self.events.append(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command and wait for its result; raise on a protocol error."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[msg_id] = box
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=30)
        except queue.Empty:
            raise AssertionError(f"Chromium did not answer {method} within 30 s") from None
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def session_events(self, session: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("sessionId") == session]

    def wait_for(self, session: str, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e["method"] == method for e in self.session_events(session)):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {method} within {timeout} s")

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The rendered fake project's ``_site`` (or ``$FOXDOG_SITE``), served on 127.0.0.1."""
    chosen = os.environ.get("FOXDOG_SITE")
    site = Path(chosen).resolve() if chosen else build_site(tmp_path_factory)
    if not (site / "index.html").is_file():
        pytest.fail(f"{site}: no index.html (FOXDOG_SITE must name a rendered _site)")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    binary = chromium_path()
    with tempfile.TemporaryDirectory(prefix="foxdog-chromium-") as profile:
        tools = DevTools(binary, Path(profile))
        try:
            yield tools
        finally:
            tools.close()


def _console_problems(events: list[dict[str, Any]]) -> list[str]:
    problems = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
            )
            problems.append(f"console.{p['type']}: {args}")
        elif e["method"] == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {text}")
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            problems.append(
                f"log error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}"
            )
        elif e["method"] == "Network.loadingFailed" and not p.get("canceled"):
            problems.append(f"request failed: {p.get('errorText')}")
    return problems


def _foreign_requests(events: list[dict[str, Any]], base_url: str) -> list[str]:
    allowed = (base_url, "data:", "blob:", "about:")
    urls = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    return [u for u in urls if not u.startswith(allowed)]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline_without_errors(
    page: str, served_site: tuple[str, Path], browser: DevTools
) -> None:
    base_url, site = served_site
    check_page(browser, base_url, site, page)


def check_page(browser: DevTools, base_url: str, site: Path, page: str) -> None:
    """Open ``page`` of ``site`` served at ``base_url``: every chart drawn, nothing else loaded."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    try:
        for domain in ("Network", "Runtime", "Log", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        browser.send("Page.navigate", {"url": base_url + page}, session=session)
        browser.wait_for(session, "Page.loadEventFired", timeout=30)

        deadline = time.monotonic() + CHART_TIMEOUT_S
        while True:
            probe = browser.send(
                "Runtime.evaluate", {"expression": CHART_PROBE, "returnByValue": True}, session
            )
            state = json.loads(probe["result"]["value"])
            if state["drawn"] == state["charts"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)

        if os.environ.get("FOXDOG_SCREENSHOTS"):
            options: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
            # FOXDOG_SCREENSHOT_HEIGHT: keep only the top of a long page (docs/ screenshots).
            if os.environ.get("FOXDOG_SCREENSHOT_HEIGHT"):
                height = int(os.environ["FOXDOG_SCREENSHOT_HEIGHT"])
                options["clip"] = {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1}
            shot = browser.send("Page.captureScreenshot", options, session)
            out = Path(os.environ["FOXDOG_SCREENSHOTS"])
            out.mkdir(parents=True, exist_ok=True)
            (out / (Path(page).stem + ".png")).write_bytes(base64.b64decode(shot["data"]))

        events = browser.session_events(session)
        assert state["nav"] >= len(PAGES), f"{page}: navigation bar missing ({state})"
        assert state["drawn"] == state["charts"], f"{page}: charts not drawn: {state}"
        expected = _expected_charts(site / page)
        assert state["charts"] == expected, f"{page}: {state['charts']} charts, expected {expected}"
        assert _console_problems(events) == [], f"{page}: console errors"
        assert _foreign_requests(events, base_url) == [], f"{page}: requests left 127.0.0.1"
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


def _expected_charts(html_file: Path) -> int:
    """Charts the page should show: one per embed script the renderer wrote."""
    return html_file.read_text(encoding="utf-8").count('vegaEmbed("#fd-chart-')


LINE_OPACITIES = """
Array.from(document.querySelector('.fd-chart').querySelectorAll('.mark-line path'))
  .map(p => parseFloat(p.getAttribute('opacity') ?? '1'))
"""
LEGEND_ENTRY = """
(() => {
  const chart = document.querySelector('.fd-chart');
  chart.scrollIntoView();
  const entry = chart.querySelectorAll('.role-legend-symbol path')[%d];
  const r = entry.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2];
})()
"""


def test_legend_click_toggles_strategies(served_site: tuple[str, Path], browser: DevTools) -> None:
    """Clicking legend entries (real mouse input) shows only the clicked strategies."""
    base_url, _site = served_site
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]

    def evaluate(expression: str) -> Any:
        reply = browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return reply["result"]["value"]

    def click_legend(index: int) -> list[int]:
        x, y = evaluate(LEGEND_ENTRY % index)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            browser.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                session,
            )
        time.sleep(0.3)
        return [k for k, v in enumerate(evaluate(LINE_OPACITIES)) if v > 0.9]

    try:
        browser.send("Page.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        browser.send("Page.navigate", {"url": base_url + "experiments.html"}, session=session)
        browser.wait_for(session, "Page.loadEventFired", timeout=30)
        deadline = time.monotonic() + CHART_TIMEOUT_S
        while not evaluate(LINE_OPACITIES) and time.monotonic() < deadline:
            time.sleep(0.2)
        everything = list(range(len(evaluate(LINE_OPACITIES))))
        assert len(everything) >= 2, "the learning-curve chart shows fewer than two strategies"
        assert [k for k, v in enumerate(evaluate(LINE_OPACITIES)) if v > 0.9] == everything
        assert click_legend(0) == [0]  # one click: only that strategy stays opaque
        assert click_legend(1) == [0, 1]  # a second entry is added, no shift key needed
        assert click_legend(0) == [1]  # clicking again removes it
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


LINE_PATHS = """
Array.from(document.querySelector('.fd-chart').querySelectorAll('.mark-line path'))
  .map(p => p.getAttribute('d'))
"""
REGIME_SELECT = """
(() => {
  const select = document.querySelector('.fd-chart select');
  if (!select) return null;
  return {value: select.value, options: Array.from(select.options).map(o => o.value),
          label: select.closest('.vega-bind').textContent};
})()
"""
CHOOSE_REGIME = """
(() => {
  const select = document.querySelector('.fd-chart select');
  select.value = %s;
  select.dispatchEvent(new Event('input', {bubbles: true}));
  select.dispatchEvent(new Event('change', {bubbles: true}));
  return select.value;
})()
"""


def test_regime_selector_switches_the_learning_curves(
    served_site: tuple[str, Path], browser: DevTools
) -> None:
    """The starting-model drop-down under the first chart redraws it for the chosen regime."""
    base_url, site = served_site
    if '"name": "regime"' not in (site / "experiments.html").read_text(encoding="utf-8"):
        # Only with $FOXDOG_SITE: the synthetic site has three regimes (test_render checks).
        pytest.skip(f"{site}: one starting model only, so no drop-down to test")
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]

    def evaluate(expression: str) -> Any:
        reply = browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return reply["result"].get("value")

    try:
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": base_url + "experiments.html"}, session=session)
        browser.wait_for(session, "Page.loadEventFired", timeout=30)
        deadline = time.monotonic() + CHART_TIMEOUT_S
        while not evaluate(LINE_PATHS) and time.monotonic() < deadline:
            time.sleep(0.2)
        select = evaluate(REGIME_SELECT)
        assert select is not None, "no starting-model drop-down under the learning curves"
        assert "starting model" in select["label"]
        assert len(select["options"]) >= 2 and select["value"] == select["options"][0]
        drawn = {select["value"]: evaluate(LINE_PATHS)}
        for option in select["options"][1:]:
            assert evaluate(CHOOSE_REGIME % json.dumps(option)) == option
            deadline = time.monotonic() + 5
            while evaluate(LINE_PATHS) in drawn.values() and time.monotonic() < deadline:
                time.sleep(0.1)
            drawn[option] = evaluate(LINE_PATHS)
        # Every regime draws its own curves, one line per strategy each time.
        assert len({tuple(d) for d in drawn.values()}) == len(select["options"]), drawn.keys()
        assert len({len(d) for d in drawn.values()}) == 1
        assert _console_problems(browser.session_events(session)) == []
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


BUDGET_CHART = """
(() => {
  const chart = Array.from(document.querySelectorAll('.fd-chart'))
    .find(c => c.querySelector('input[type=range]'));
  if (!chart) return null;
  const select = chart.querySelector('select');
  const slider = chart.querySelector('input[type=range]');
  const marks = chart.querySelectorAll('.mark-text.role-mark text');
  return {texts: Array.from(marks).map(t => t.textContent),
          options: select ? Array.from(select.options).map(o => o.value) : [],
          min: slider.min, max: slider.max, value: slider.value};
})()
"""
SET_BUDGET_INPUT = """
(() => {
  const chart = Array.from(document.querySelectorAll('.fd-chart'))
    .find(c => c.querySelector('input[type=range]'));
  const el = chart.querySelector(%s);
  el.value = %s;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return el.value;
})()
"""


def test_budget_control_changes_the_numbers_shown(
    served_site: tuple[str, Path], browser: DevTools
) -> None:
    """The Overview's "your budget" slider and condition drop-down change the numbers shown."""
    base_url, _site = served_site
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]

    def evaluate(expression: str) -> Any:
        reply = browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return reply["result"].get("value")

    def texts_after(selector: str, value: str, before: list[str]) -> list[str]:
        evaluate(SET_BUDGET_INPUT % (json.dumps(selector), json.dumps(value)))
        deadline = time.monotonic() + 5
        while (state := evaluate(BUDGET_CHART))["texts"] == before and time.monotonic() < deadline:
            time.sleep(0.1)
        return state["texts"]

    try:
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": base_url + "index.html"}, session=session)
        browser.wait_for(session, "Page.loadEventFired", timeout=30)
        deadline = time.monotonic() + CHART_TIMEOUT_S
        while not (evaluate(BUDGET_CHART) or {}).get("texts") and time.monotonic() < deadline:
            time.sleep(0.2)
        state = evaluate(BUDGET_CHART)
        assert state is not None, "no budget control (a chart with a slider) on the Overview"
        first = state["texts"]
        assert first and all("%" in t and "labels" in t for t in first), first
        assert any("vs random" in t for t in first), first
        # The slider moves every strategy to another round: other labels, other numbers.
        moved = texts_after("input[type=range]", state["max"], first)
        assert moved != first, moved
        # Every strategy is read at the same round: one number of labels in every label.
        assert len({t.split(" at ")[1].split(" labels")[0] for t in moved}) == 1, moved
        # Another condition: other curves, other numbers at the same budget.
        assert len(state["options"]) >= 2, state["options"]
        other = texts_after("select", state["options"][1], moved)
        assert other != moved, other
        assert _console_problems(browser.session_events(session)) == []
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


def test_missing_chromium_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a browser the check must fail (CI installs Chromium), never skip."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CHROMIUM", raising=False)
    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        chromium_path()

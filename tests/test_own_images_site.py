"""A user's own 3-class folder, end to end: index -> curate -> AL -> analyze -> report -> browser.

The generated collection (:mod:`own_images`: circles, squares and noise, in
sub-folders per "camera") goes through the same commands a user runs, with a
tiny budget (one start, two strategies, two seeds, two rounds), and the rendered
site must name the three classes and draw every chart offline in headless
Chromium (the checks of ``test_report_browser.py``).
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from own_images import CLASSES, make_collection, own_balance
from test_cli import full_params
from test_render import PAGES, copy_report_sources
from test_report_browser import _QuietHandler, browser, check_page  # noqa: F401

from foxdog.cli import main

pytestmark = pytest.mark.browser

SMALL = {
    "data": {"image_size": 16, "contact_sheet_size": 8},
    # Same architecture / step count as tests/test_model.py's SMALL: compiled code is shared.
    "model": {"widths": [8, 16], "dense": 16},
    "train": {"batch_size": 16, "steps": 40, "warmup_steps": 4, "max_shift": 2, "epochs": 0},
    "baseline": {"seeds": [0, 1]},
    "active": {
        "starts": ["scratch"],
        "strategies": ["random", "margin"],
        "seeds": [0, 1],
        "initial_size": 6,
        "query_size": 6,
        "rounds": 2,
    },
    "ablations": {"start": "scratch", "strategies": [], "seeds": [0]},
}


@pytest.fixture(scope="module")
def own_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project of a user with three classes of photos, rendered; its ``_site``."""
    root = tmp_path_factory.mktemp("own_site")
    photos = root / "photos"
    make_collection(photos, n_per_class=30)
    assert main(["data", "index", str(photos)]) == 0
    sections = {
        **SMALL,
        "data": {**SMALL["data"], "raw_dir": str(photos), "classes": CLASSES},
        "balance": own_balance(CLASSES),
    }
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(full_params(sections)), encoding="utf-8")
    copy_report_sources(root)
    run = ["--params", str(params)]
    commands = [
        ["curate"],
        ["baseline", "--start", "scratch"],
        *(["al", "--start", "scratch", "--strategy", s] for s in SMALL["active"]["strategies"]),
        ["analyze"],
        ["report", "--engine", "jupyter"],
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for command in commands:
            assert main([*command, *run]) == 0, command
    return root / "_site"


def page_text(site: Path, page: str) -> str:
    text = (site / page).read_text(encoding="utf-8")
    text = re.sub(r"<script.*?</script>", " ", text, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(text)).split())


def test_pages_name_the_users_classes_not_fox_or_dog(own_site: Path) -> None:
    for page in ("index.html", "dataset.html", "gallery.html"):
        text = page_text(own_site, page)
        for name in CLASSES:
            assert name in text, f"{page} does not name the class {name!r}"
    for page in PAGES:
        words = set(re.findall(r"[a-z]+", page_text(own_site, page).lower()))
        assert not {"fox", "foxes", "dog", "dogs"} & words, f"{page} speaks of foxes or dogs"
    assert (own_site.parent / "curated" / "contact_noise.png").is_file()


def test_a_one_start_site_words_it_for_one_start(own_site: Path) -> None:
    # Issue 19: "from each of 1 starting model", ablations listed that never ran, and a
    # bold "Leakage check (failed)" for a study that never used the pretraining corpus.
    index = page_text(own_site, "index.html")
    assert "each of 1 starting model" not in index
    insights = page_text(own_site, "insights.html")
    assert "Every strategy ran from the scratch starting model" in insights
    assert "Each of 1 starting model" not in insights
    method = page_text(own_site, "method.html")
    assert "Ablations. None ran in this study" in method
    dataset = page_text(own_site, "dataset.html")
    assert "No starting model of this study (scratch) is pretrained" in dataset
    assert "Leakage check" not in dataset and "curated_pretrain" not in dataset


@pytest.fixture(scope="module")
def served(own_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(own_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_draws_offline(page: str, own_site: Path, served: str, browser) -> None:  # noqa: ANN001, F811
    check_page(browser, served, own_site, page)

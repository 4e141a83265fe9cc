"""The "Accuracy by photo source" table (foxdog/site/sources.py) from a hand-made analysis.json."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from foxdog.site import insights, sources
from foxdog.site.render import render_site


def row(condition: str, source: str, cls: str, n: int, acc: float) -> dict:
    return {
        "condition": condition, "start": condition, "source": source, "class": cls, "n": n,
        "accuracy": acc, "low": acc - 0.05, "high": min(1.0, acc + 0.05),
        "seed_min": acc, "seed_max": acc, "n_seeds": 3,
    }  # fmt: skip


def doc(available: bool = True) -> dict:
    """Two measured starts (scratch, transfer) and a subsampled condition the page skips."""
    rows = [
        row(c, s, k, n, acc)
        for c, shift in (("scratch", 0.0), ("transfer", 0.1), ("imagenet-fox05", 0.2))
        for s, k, n, acc in (
            ("awa2", "dog", 108, 0.8 + shift),
            ("awa2", "fox", 118, 0.5 + shift),
            ("<b>randomfox</b>", "fox", 51, 0.7 + shift),
        )
    ]
    conditions = {
        c: {
            "overall": {"n": 277, "accuracy": 0.7, "low": 0.65, "high": 0.75},
            "worst": rows[3 * i + 1] | {"image_share": 0.43, "error_share": 0.6},
            "rest": {"n": 159, "accuracy": 0.78, "low": 0.72, "high": 0.83},
            "below_rest": True,
        }
        for i, c in enumerate(("scratch", "transfer", "imagenet-fox05"))
    }
    fact = (
        {"available": True, "confidence": 0.95, "rows": rows, "conditions": conditions,
         "missing": {}}
        if available
        else {"available": False, "confidence": 0.95, "missing": {"scratch": "gone"},
              "reason": "results/baseline/scratch/test_predictions.csv not found"}
    )  # fmt: skip
    return {"starts": ["scratch", "transfer"], "facts": {"per_source": fact}}


def test_one_row_per_source_and_class_one_column_per_start_then_the_whole_split() -> None:
    table = sources.accuracy_table(doc())
    assert list(table.columns) == ["source", "class", "test images", "scratch", "transfer"]
    assert list(zip(table["source"], table["class"], strict=True)) == [
        ("awa2", "dog"), ("awa2", "fox"), ("<b>randomfox</b>", "fox"), (sources.ALL, ""),
    ]  # fmt: skip
    assert list(table["test images"]) == [108, 118, 51, 277]
    assert table.loc[1, "scratch"] == "50.0% [45.0%, 55.0%]"
    assert table.loc[1, "transfer"] == "60.0% [55.0%, 65.0%]"
    assert table.loc[3, "scratch"] == "70.0% [65.0%, 75.0%]"
    # A condition asked for explicitly is shown, in the order asked.
    chosen = sources.accuracy_table(doc(), ["imagenet-fox05", "scratch"])
    assert list(chosen.columns)[3:] == ["imagenet-fox05", "scratch"]
    assert chosen.loc[0, "imagenet-fox05"] == "100.0% [95.0%, 100.0%]"


def test_the_html_is_an_escaped_table_or_the_reason_it_is_missing() -> None:
    html = sources.accuracy_by_source_html(doc())
    assert html.count("<tr>") == 1 + 4 and "Wilson interval" in html
    assert "&lt;b&gt;randomfox&lt;/b&gt;" in html and "<b>randomfox" not in html
    assert "imagenet-fox05" not in html
    missing = sources.accuracy_by_source_html(doc(available=False))
    assert "<table" not in missing
    assert missing.startswith("<p>Accuracy per photo source is not measured yet: results/")
    assert sources.accuracy_table(doc(available=False)) is None


def test_the_cell_reads_the_projects_analysis(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "analysis.json").write_text(json.dumps(doc()))
    monkeypatch.setenv("FOXDOG_PROJECT", str(tmp_path))
    assert sources.accuracy_by_source_html() == sources.accuracy_by_source_html(doc())


def test_the_insights_claim_is_the_analysis_sentence_for_the_pages_starts() -> None:
    text = insights.per_source(doc())
    assert text.startswith("The full-pool models' errors concentrate on fox photos from awa2: ")
    assert "in scratch" in text and "in transfer" in text and "imagenet-fox05" not in text
    assert insights.per_source({"starts": ["scratch"], "facts": {}}) == ""


def test_the_insights_page_cell_renders_the_table(tmp_path, monkeypatch) -> None:
    """The cell under "Accuracy by photo source" in report/insights.qmd, rendered alone."""
    repo = Path(__file__).resolve().parents[1]
    page = (repo / "report" / "insights.qmd").read_text(encoding="utf-8")
    cell = re.search(r"## Accuracy by photo source\n\n(```\{python\}\n.*?\n```)\n", page, re.S)
    assert cell, "report/insights.qmd lost its 'Accuracy by photo source' cell"
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "analysis.json").write_text(json.dumps(doc()))
    (tmp_path / "report").mkdir()
    shutil.copytree(repo / "report" / "_template", tmp_path / "report" / "_template")
    shutil.copy2(repo / "report" / "styles.css", tmp_path / "report" / "styles.css")
    config = {
        "project": {"type": "website", "output-dir": "_site", "execute-dir": "project"},
        "website": {"title": "t", "navbar": {"left": [{"href": "report/index.qmd", "text": "H"}]}},
        "format": {"html": {"css": "report/styles.css"}},
        "execute": {"echo": False},
    }
    (tmp_path / "_quarto.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    body = "---\ntitle: t\n---\n\n## Accuracy by photo source\n\n" + cell.group(1) + "\n"
    (tmp_path / "report" / "index.qmd").write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    html = (render_site(tmp_path, engine="jupyter") / "index.html").read_text(encoding="utf-8")
    assert "50.0% [45.0%, 55.0%]" in html and "&lt;b&gt;randomfox&lt;/b&gt;" in html

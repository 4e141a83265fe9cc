"""README.md's numbers block is what the committed result files say (no typed numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foxdog.config import load_params
from foxdog.readme import END, START, numbers_block, update_readme

ROOT = Path(__file__).resolve().parents[1]


def test_committed_readme_matches_result_files() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    expected = numbers_block(load_params(ROOT / "params.yaml"), ROOT).strip()
    assert block == expected, "README numbers are stale: run `foxdog readme`"


def test_update_rewrites_only_the_block(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    baseline = {
        "accuracy": {"mean": 0.8, "low": 0.75, "high": 0.85},
        "seeds": [0, 1],
        "n_train": 10,
        "n_test": 5,
    }
    (tmp_path / "metrics" / "baseline.json").write_text(json.dumps(baseline))
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{START}\nold\n{END}\ntail\n")
    params = load_params(ROOT / "params.yaml")
    assert update_readme(params, readme, tmp_path)
    text = readme.read_text()
    assert text.startswith("# title\n") and text.endswith("tail\n")
    assert "**80.0%**" in text and "75.0%–85.0%" in text and "old" not in text
    assert not update_readme(params, readme, tmp_path)  # idempotent


def test_missing_markers_is_a_clear_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="markers"):
        update_readme(load_params(ROOT / "params.yaml"), readme, tmp_path)


def test_block_names_the_strategies_that_beat_random(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    summary = {
        "best_strategy": "margin",
        "random.aulc": 0.70,
        "margin.aulc": 0.75,
        "margin.p_adjusted_vs_random": 0.01,
        "bald.aulc": 0.60,  # significant, but worse: not a win
        "bald.p_adjusted_vs_random": 0.001,
        "entropy.aulc": 0.74,
        "entropy.p_adjusted_vs_random": 0.2,
    }
    (tmp_path / "metrics" / "summary.json").write_text(json.dumps(summary))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert "**margin**" in block and "p = 0.01, significant" in block
    assert "adjusted p < 0.05): **margin** of 3." in block

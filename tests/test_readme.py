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
        "accuracy": {"mean": 0.8, "per_seed": [0.75, 0.85]},
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
    assert "**80.0%**" in text and "16.5%–143.5%" in text and "old" not in text
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
        "best_arm": "margin = entropy",
        "random.aulc": 0.70,
        "margin.aulc": 0.75,
        "margin.aulc_difference_vs_random": 0.05,
        "margin.aulc_difference_vs_random_low": 0.02,
        "margin.aulc_difference_vs_random_high": 0.08,
        "margin.p_adjusted_vs_random": 0.01,
        "bald.aulc": 0.60,  # significant, but worse: not a win
        "bald.aulc_difference_vs_random": -0.1,
        "bald.p_adjusted_vs_random": 0.001,
        "entropy.aulc": 0.75,
        "entropy.aulc_difference_vs_random": 0.05,
        "entropy.p_adjusted_vs_random": 0.01,
    }
    (tmp_path / "metrics" / "summary.json").write_text(json.dumps(summary))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert "**margin = entropy**, significantly better" in block
    assert "+5.00 points vs random (95% interval +2.00 to +8.00" in block
    assert "adjusted p < 0.05): **margin, entropy** of 3; significantly worse: **bald**." in block


def test_block_says_when_no_strategy_is_distinguishable(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    summary = {
        "best_strategy": None,
        "best_arm": "coreset",
        "random.aulc": 0.70,
        "coreset.aulc": 0.71,
        "coreset.aulc_difference_vs_random": 0.01,
        "coreset.aulc_difference_vs_random_low": None,
        "coreset.aulc_difference_vs_random_high": None,
        "coreset.p_adjusted_vs_random": 0.4,
    }
    (tmp_path / "metrics" / "summary.json").write_text(json.dumps(summary))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert "No strategy is significantly better than random sampling" in block
    assert "**coreset**: AULC +1.00 points vs random (95% interval – to –" in block


def test_one_baseline_seed_has_no_interval(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    baseline = {
        "accuracy": {"mean": 0.8, "low": None, "high": None, "per_seed": [0.8]},
        "seeds": [0],
        "n_train": 10,
        "n_test": 5,
    }
    (tmp_path / "metrics" / "baseline.json").write_text(json.dumps(baseline))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert "**80.0%** (95% interval –, 1 seeds" in block

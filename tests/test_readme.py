"""README.md's numbers block is what the committed result files say (no typed numbers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from foxdog.analysis import narrative
from foxdog.config import AnalysisConfig, load_params
from foxdog.model.baseline import interval
from foxdog.site.readme import END, START, numbers_block, update_readme
from foxdog.stages import analyze

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import STARTS, make_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_committed_readme_matches_result_files() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    expected = numbers_block(load_params(ROOT / "params.yaml"), ROOT).strip()
    assert block == expected, "README numbers are stale: run `foxdog readme`"


def write_baseline(root: Path, start: str, per_seed: list[float]) -> None:
    baseline = {
        "start": start,
        "accuracy": interval(per_seed, AnalysisConfig()),  # what the baseline stage writes
        "seeds": list(range(len(per_seed))),
        "n_train": 10,
        "n_test": 5,
    }
    (root / "metrics" / "baseline").mkdir(parents=True, exist_ok=True)
    (root / "metrics" / "baseline" / f"{start}.json").write_text(json.dumps(baseline))


def test_update_rewrites_only_the_block(tmp_path: Path) -> None:
    write_baseline(tmp_path, "scratch", [0.75, 0.85])
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{START}\nold\n{END}\ntail\n")
    params = load_params(ROOT / "params.yaml")
    assert update_readme(params, readme, tmp_path)
    text = readme.read_text()
    assert text.startswith("# title\n") and text.endswith("tail\n")
    assert "**80.0%**" in text and "16.5%–143.5%" in text and "old" not in text
    # The other regimes' baselines are not there yet: the block says how to make them.
    assert "- Full-pool baseline from transfer: not computed yet " in text
    assert "(`dvc repro baseline@selfsup`)." in text
    assert not update_readme(params, readme, tmp_path)  # idempotent


def test_missing_markers_is_a_clear_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="markers"):
        update_readme(load_params(ROOT / "params.yaml"), readme, tmp_path)


def test_block_names_the_strategies_that_beat_random(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    transfer = {
        "best_strategy": "margin",
        "best_arm": "margin = entropy",
        "random.aulc": 0.70,
        "margin.aulc": 0.75,
        "margin.aulc_difference_vs_random": 0.05,
        "margin.aulc_difference_vs_random_low": 0.02,
        "margin.aulc_difference_vs_random_high": 0.08,
        "margin.p_adjusted_vs_random": 0.01,
        "coreset.aulc": 0.60,  # significant, but worse: not a win
        "coreset.aulc_difference_vs_random": -0.1,
        "coreset.p_adjusted_vs_random": 0.001,
        "typiclust.aulc": 0.75,
        "typiclust.aulc_difference_vs_random": 0.05,
        "typiclust.p_adjusted_vs_random": 0.01,
    }
    summary = {"transfer": transfer, "starting_model": {"best_start": "transfer"}}
    (tmp_path / "metrics" / "summary.json").write_text(json.dumps(summary))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    line = next(x for x in block.splitlines() if x.startswith("- From transfer"))
    assert "best strategy **margin = entropy**, significantly better" in line
    assert "+5.00 points vs random (95% interval +2.00 to +8.00" in line
    assert (
        "adjusted p < 0.05): **margin, typiclust** of 3; significantly worse: **coreset**." in line
    )
    assert "- From scratch" not in block  # no results for that regime: no line


def test_block_says_when_no_strategy_is_distinguishable(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    scratch = {
        "best_strategy": None,
        "best_arm": "coreset",
        "random.aulc": 0.70,
        "coreset.aulc": 0.71,
        "coreset.aulc_difference_vs_random": 0.01,
        "coreset.aulc_difference_vs_random_low": None,
        "coreset.aulc_difference_vs_random_high": None,
        "coreset.p_adjusted_vs_random": 0.4,
    }
    (tmp_path / "metrics" / "summary.json").write_text(json.dumps({"scratch": scratch}))
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert (
        "- From scratch (`metrics/summary.json` `scratch`): no strategy is significantly" in block
    )
    assert "**coreset**: AULC +1.00 points vs random (95% interval – to –" in block


def test_one_baseline_seed_has_no_interval(tmp_path: Path) -> None:
    write_baseline(tmp_path, "selfsup", [0.8])
    block = numbers_block(load_params(ROOT / "params.yaml"), tmp_path)
    assert "from selfsup (`metrics/baseline/selfsup.json`): test accuracy **80.0%** " in block
    assert "**80.0%** (95% interval –, 1 seeds" in block


def test_block_quotes_the_analysis_for_every_regime(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=range(3), rounds=2)
    params = load_params(root / "params.yaml")
    analyze.run(params, root / "results", root / "metrics", root / "plots")
    block = numbers_block(params, root)
    lines = block.splitlines()
    doc = json.loads((root / "metrics" / "analysis.json").read_text())
    # The answer is the Overview's first paragraph, the same text as the site's.
    answer = narrative.answer(doc)["text"]
    assert (
        f"- The answer (the Overview's first paragraph, `metrics/analysis.json`): {answer}" in lines
    )
    for start in STARTS:
        accuracy = doc["regimes"][start]["baseline"]["accuracy"]
        assert any(
            x.startswith(f"- Full-pool baseline from {start} ")
            and f"**{100 * accuracy:.1f}%**" in x
            for x in lines
        )
        assert any(
            x.startswith(f"- From {start} (`metrics/summary.json` `{start}`)") for x in lines
        )
    assert [x.split(" ")[4] for x in lines if x.startswith("- Full-pool")] == list(STARTS)
    times = next(x for x in lines if x.startswith("- Training + query time"))
    assert all(f"{start} " in times for start in STARTS)
    assert lines[-1].startswith("- Ablations (2 stages, from transfer): ")

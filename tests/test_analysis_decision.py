"""The decision map on hand-made curves: exact factors, censored seeds, verdicts, discovery."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog.analysis import decision, stats
from foxdog.config import load_params
from foxdog.stages import analyze

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import make_project  # noqa: E402

LABELS = np.arange(10, 911, 100)  # 10, 110, ..., 910


def run(strategy: str, seed: int, rate: float, rare_rate: float = 0.0) -> pd.DataFrame:
    """A linear curve: ``accuracy = rate * n_labels``; ``n_rare = rare_rate * n_labels``."""
    return pd.DataFrame(
        {
            "strategy": strategy,
            "seed": seed,
            "round": range(len(LABELS)),
            "n_labels": LABELS,
            "accuracy": rate * LABELS,
            "n_rare": np.floor(rare_rate * LABELS),
        }
    )


def rounds_of(rates: dict[str, list[float]], rare: dict[str, float] | None = None) -> pd.DataFrame:
    rare = rare or {}
    return pd.concat(
        [
            run(s, seed, r, rare.get(s, 0.0))
            for s, per_seed in rates.items()
            for seed, r in enumerate(per_seed)
        ],
        ignore_index=True,
    )


def rows_by(rounds: pd.DataFrame, budgets: list[int]) -> dict[tuple[str, int], dict]:
    rows = decision.decision_rows(rounds, budgets, "accuracy", 0.95, 2)
    return {(r["strategy"], r["budget"]): r for r in rows}


def test_twice_as_fast_is_a_factor_of_exactly_two_and_pays() -> None:
    rounds = rounds_of({"random": [1e-3] * 4, "margin": [2e-3] * 4})
    row = rows_by(rounds, [210, 510])[("margin", 210)]
    # random reaches 0.21 at 210 labels; margin at 105 (interpolated between 10 and 110).
    assert row["factor"] == pytest.approx(2.0)
    assert row["low"] == pytest.approx(2.0) and row["high"] == pytest.approx(2.0)
    assert row["labels_needed"] == pytest.approx(105.0)
    assert row["verdict"] == decision.PAYS
    assert row["n_seeds"] == 4 and row["n_censored"] == 0
    assert row["score"] == pytest.approx(0.42) and row["random_score"] == pytest.approx(0.21)


def test_half_as_fast_costs() -> None:
    rounds = rounds_of({"random": [2e-3] * 3, "coreset": [1e-3] * 3})
    row = rows_by(rounds, [310])[("coreset", 310)]
    assert row["factor"] == pytest.approx(0.5)
    assert row["verdict"] == decision.COSTS


def test_a_seed_that_never_gets_there_is_counted_not_dropped() -> None:
    # Seed 2 of coreset is far slower: random's 0.91 at 910 is never reached.
    rounds = rounds_of({"random": [1e-3] * 3, "coreset": [2e-3, 2e-3, 0.5e-3]})
    row = rows_by(rounds, [910])[("coreset", 910)]
    assert row["n_seeds"] == 3 and row["n_censored"] == 1
    # Two seeds at 910 / 455 = 2; the slow one scores 0.455 at 910, which random had at
    # 455 labels: 455 / 910 = 0.5 (not 1, as counting it at the budget would say).
    assert row["factor"] == pytest.approx((2 * 2 * 0.5) ** (1 / 3))
    found = decision.speedups(
        rounds[rounds.strategy == "random"], rounds[rounds.strategy == "coreset"], 910, "accuracy"
    )
    assert found.censored.tolist() == [False, False, True]
    assert found.ratio.tolist() == pytest.approx([2.0, 2.0, 0.5])


def test_at_the_last_budget_a_strategy_behind_can_cost() -> None:
    rounds = rounds_of({"random": [1e-3] * 3, "coreset": [0.9e-3] * 3})
    row = rows_by(rounds, [910])[("coreset", 910)]
    assert row["factor"] == pytest.approx(0.9) and row["verdict"] == decision.COSTS
    assert row["n_censored"] == 3


def test_noisy_twins_of_random_average_a_factor_of_one() -> None:
    rng = np.random.default_rng(0)
    frames = []
    for seed in range(200):
        for strategy in ("random", "twin"):
            curve = run(strategy, seed, 1e-3)
            curve["accuracy"] += rng.normal(0, 0.02, len(curve))
            frames.append(curve)
    rounds = pd.concat(frames, ignore_index=True)
    for budget in (110, 510, 910):
        row = rows_by(rounds, [budget])[("twin", budget)]
        assert row["low"] < 1 < row["high"], budget


def test_mixed_seeds_make_no_difference() -> None:
    rounds = rounds_of({"random": [1e-3] * 4, "typiclust": [2e-3, 0.5e-3, 2e-3, 0.5e-3]})
    row = rows_by(rounds, [210])[("typiclust", 210)]
    assert row["factor"] == pytest.approx(1.0)
    assert row["low"] < 1 < row["high"]
    assert row["verdict"] == decision.NO_DIFFERENCE


def test_budgets_off_random_curve_are_skipped() -> None:
    rounds = rounds_of({"random": [1e-3] * 2, "margin": [2e-3] * 2})
    assert set(rows_by(rounds, [200, 210])) == {("margin", 210)}


def test_discovery_ratio_is_the_paired_geometric_mean_with_half_an_example() -> None:
    rounds = rounds_of(
        {"random": [1e-3] * 3, "margin": [1e-3] * 3}, rare={"random": 0.05, "margin": 0.1}
    )
    row = rows_by(rounds, [310])[("margin", 310)]
    # 31 vs 15 rare examples at 310 labels on every seed.
    assert row["rare_found"] == 31 and row["rare_found_random"] == 15
    assert row["discovery"] == pytest.approx(31.5 / 15.5)
    assert row["verdict"] == decision.NO_DIFFERENCE  # same accuracy curve: factor 1


def test_no_rare_column_leaves_discovery_empty() -> None:
    rounds = rounds_of({"random": [1e-3] * 2, "margin": [2e-3] * 2}).drop(columns="n_rare")
    row = rows_by(rounds, [110])[("margin", 110)]
    assert math.isnan(row["discovery"]) and math.isnan(row["rare_found"])
    assert decision.discovery_curves(rounds, 0.95, 2).empty


def test_verdict_needs_the_whole_interval_on_one_side() -> None:
    assert decision.verdict_of(1.01, 3.0) == decision.PAYS
    assert decision.verdict_of(0.2, 0.99) == decision.COSTS
    assert decision.verdict_of(0.9, 1.1) == decision.NO_DIFFERENCE
    assert decision.verdict_of(math.nan, math.nan) == decision.NO_DIFFERENCE


def test_condition_summary_and_headline() -> None:
    rounds = rounds_of({"random": [1e-3] * 3, "margin": [2e-3] * 3, "coreset": [0.5e-3] * 3})
    rows = [
        r | {"condition": "c1"}
        for r in decision.decision_rows(rounds, [210, 410], "accuracy", 0.95, 2)
    ]
    summary = decision.condition_summary(
        rows, {"mean": 0.9, "low": 0.8, "high": 1.0}, {"start": "s"}
    )
    assert summary["pays_at"] == [210, 410] and summary["costs_at"] == [210, 410]
    assert summary["best"]["strategy"] == "margin"
    flat = decision.condition_summary([], {"mean": 0.9}, {"start": "t"})
    head = decision.headline({"c1": summary, "c2": flat}, rows, 0.95)
    assert head["any_pays"] and set(head["pays"]) == {"c1"}
    assert head["no_pay"] == ["c2"] and head["costs"] == ["c1"]
    assert head["largest"]["factor"] == pytest.approx(2.0)
    assert (head["n_rows"], head["n_pays"], head["n_costs"]) == (4, 2, 2)
    assert head["expected_by_chance"] == pytest.approx(0.2)
    keys = decision.summary_keys(rows)
    assert keys["c1.margin.b210.factor"] == pytest.approx(2.0)


def test_discovery_curves_band_over_seeds() -> None:
    rounds = rounds_of({"random": [1e-3] * 3}, rare={"random": 0.05})
    curve = decision.discovery_curves(rounds, 0.95, 2)
    at = curve.set_index("n_labels").loc[310]
    assert at["mean"] == 15 and at["low"] == at["high"] == 15


# --------------------------------------------------------------------------- the stage


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic project (margin 2.5x random's pace) analysed by the stage."""
    root = make_project(
        tmp_path_factory.mktemp("decision"),
        starts=("scratch", "transfer"),
        strategies=("random", "margin", "entropy"),
        seeds=(0, 1, 2, 3),
        ablations=False,
    )
    analyze.run(
        load_params(root / "params.yaml"),
        results_dir=root / "results",
        metrics_dir=root / "metrics",
        plots_dir=root / "plots",
    )
    return root


def test_the_stage_writes_the_decision_map(written: Path) -> None:
    table = pd.read_csv(written / "metrics" / "decision.csv")
    assert list(table.columns) == list(decision.COLUMNS)
    params = load_params(written / "params.yaml")
    budgets = list(params.protocol("scratch").budgets)
    assert table["budget"].drop_duplicates().tolist() == budgets
    assert table["condition"].drop_duplicates().tolist() == ["scratch", "transfer"]
    assert set(table["metric"]) == {"accuracy"}  # the natural balance
    margin = table[table["strategy"] == "margin"]
    assert (margin["factor"] > 1).all() and (margin["rare_found"] >= 0).all()
    # margin picks the rare class first in the synthetic runs: it finds more of it.
    assert (margin["discovery"] > 1).all()
    doc = json.loads((written / "metrics" / "analysis.json").read_text())["decision"]
    assert len(doc["rows"]) == len(table)
    scratch = doc["conditions"]["scratch"]
    assert scratch["full_pool"]["mean"] == pytest.approx(
        json.loads((written / "metrics" / "baseline" / "scratch.json").read_text())["accuracy"][
            "mean"
        ]
    )
    assert set(doc["headline"]) >= {"any_pays", "pays", "largest", "no_pay", "costs"}
    summary = json.loads((written / "metrics" / "summary.json").read_text())["decision"]
    key = f"scratch.margin.b{budgets[-1]}.factor"
    row = table[(table.condition == "scratch") & (table.strategy == "margin")].iloc[-1]
    assert summary[key] == pytest.approx(row["factor"], rel=1e-5)
    plot = pd.read_csv(written / "plots" / "decision.csv")
    assert "scratch / margin" in set(plot["series"])
    found = pd.read_csv(written / "plots" / "discovery.csv")
    assert {"scratch / random", "transfer / margin"} <= set(found["series"])
    assert (found["low"] <= found["mean"]).all() and (found["mean"] <= found["high"]).all()


def test_the_stage_states_power_and_what_stopping_costs(written: Path) -> None:
    doc = json.loads((written / "metrics" / "analysis.json").read_text())
    regime = doc["regimes"]["scratch"]
    power = regime["power"]
    assert power["n_seeds"] == 4 and power["effect"] == 0.01
    assert power["enough"] == (power["seeds_needed"] <= 4)
    stop = regime["strategies"]["margin"]["stop"]
    assert {"labels_saved", "accuracy_cost", "best_window_kappa", "can_fire"} <= set(stop)
    assert regime["target_reference"]["reference"] == "full_pool_baseline"
    facts = doc["facts"]
    shares = facts["class_shares"]["scratch"]
    assert shares["pool"]["source"] == "pool_share of rounds.csv"
    assert shares["picks"]["margin"]["mean"] > shares["picks"]["random"]["mean"]
    assert facts["per_source"]["available"] is False
    gain = facts["starting_model_vs_strategy"]["starts"]["transfer"]
    assert gain["random_aulc_gain"]["mean_difference"] > 0  # transfer starts higher


def test_between_seed_kappa_of_identical_and_opposite_predictions() -> None:
    same = {0: np.array([0, 1, 1, 0]), 1: np.array([0, 1, 1, 0])}
    assert stats.between_seed_kappa(same)["mean"] == pytest.approx(1.0)
    flipped = {0: np.array([0, 1, 1, 0]), 1: np.array([1, 0, 0, 1])}
    assert stats.between_seed_kappa(flipped)["mean"] == pytest.approx(-1.0)
    assert stats.between_seed_kappa({0: np.array([0, 1])})["n_pairs"] == 0

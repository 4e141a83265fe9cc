"""Tests of the ``analyze`` stage: pure statistics on hand-made data with known answers,
then the whole stage on projects from :mod:`synthetic_results`."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog.active.protocol import QUERY_COLUMNS, ROUND_COLUMNS
from foxdog.analysis import curves, read, stats
from foxdog.analysis import groups as group_analysis
from foxdog.config import (
    AblationConfig,
    ActiveConfig,
    AnalysisConfig,
    BalanceConfig,
    Params,
    load_params,
)
from foxdog.data.arrays import load_split
from foxdog.stages import analyze

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import NASTY_BREED, STARTS, make_project  # noqa: E402

# --------------------------------------------------------------------------- helpers

# plots/curves.csv, as docs/formats.md documents it (curve_bands gives it without start).
BANDS_COLUMNS = ["strategy", "round", "n_labels", "metric", "mean", "low", "high"]
CURVES_COLUMNS = ["condition", "start", *BANDS_COLUMNS]
ALL_FACTORS = ("initial_size", "query_size", "label_noise")


def analyse_project(root: Path, params: Params | None = None, out: Path | None = None) -> dict:
    """Run the stage on ``root``; outputs go to ``out`` (default ``root``), baselines from root."""
    params = params or load_params(root / "params.yaml")
    out = out or root
    return analyze.run(
        params, root / "results", out / "metrics", out / "plots", root / "metrics" / "baseline"
    )


def output_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("metrics", "plots")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5-seed fake project with three regimes and every ablation factor, analysed once."""
    root = make_project(tmp_path_factory.mktemp("p5"), seeds=range(5), ablation_factors=ALL_FACTORS)
    analyse_project(root)
    return root


# --------------------------------------------------------------------------- generator


def test_generator_writes_the_formats_and_is_deterministic(tmp_path: Path) -> None:
    a = make_project(tmp_path / "a", seeds=(0, 1), rounds=3)
    b = make_project(tmp_path / "b", seeds=(0, 1), rounds=3)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)

    params = load_params(a / "params.yaml")
    assert params.active.starts == STARTS and params.ablations.start == "transfer"
    assert params.active.strategies == ("random", "margin", "entropy")
    assert params.active.seeds == (0, 1) and params.active.rounds == 3
    pool = load_split(a / "curated", "pool")
    assert pool.images.shape[1:] == (16, 16, 3)
    manifest = pd.read_csv(a / "curated" / "manifest.csv", dtype={"id": str})
    assert set(pool.ids) <= set(manifest["id"])
    assert NASTY_BREED in set(manifest["breed"])
    sheet = json.loads((a / "curated" / "datasheet.json").read_text())
    assert {"image_size", "counts", "dropped", "label_conflicts", "near_duplicate_groups"} <= set(
        sheet
    )
    assert {"kept", "by_source", "by_split"} <= set(sheet["counts"])

    for start in STARTS:
        base = json.loads((a / "metrics" / "baseline" / f"{start}.json").read_text())
        assert base["start"] == start and {"accuracy", "macro_f1"} <= set(base)
        rounds = pd.read_csv(a / "results" / start / "margin" / "rounds.csv")
        assert list(rounds.columns) == list(ROUND_COLUMNS) and set(rounds["start"]) == {start}
        assert len(rounds) == 2 * 4 and rounds["round"].max() == 3
        assert rounds.loc[rounds["round"] == 0, "kappa_stop"].isna().all()
        queries = pd.read_csv(a / "results" / start / "margin" / "queries.csv", dtype={"id": str})
        assert list(queries.columns) == list(QUERY_COLUMNS)
        assert len(queries) == 2 * 3 * 20 and set(queries["id"]) <= set(pool.ids)
    ablated = pd.read_csv(a / "results" / "ablations" / "label_noise" / "random" / "rounds.csv")
    assert sorted(ablated["label_noise"].unique()) == [0.1, 0.2]
    assert set(ablated["start"]) == {"transfer"}
    assert not (a / "results" / "ablations" / "query_size").exists()  # not in ablations.factors


# --------------------------------------------------------------------------- intervals, AULC


def test_t_interval_is_the_student_interval() -> None:
    values = [0.70, 0.72, 0.75, 0.71, 0.80]
    mean, low, high = stats.t_interval(values, 0.95)
    half = 2.7764451051977987 * np.std(values, ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert (mean, low, high) == pytest.approx((np.mean(values), mean - half, mean + half))
    assert stats.t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    one = stats.t_interval([0.3, math.nan])  # one seed: no interval, not a fake zero width
    assert one[0] == 0.3 and math.isnan(one[1]) and math.isnan(one[2])
    assert stats.t_interval([0.0, 0.1, 0.2], bounds=(0.0, 1.0))[1] == 0.0


@pytest.mark.parametrize("n_seeds", [5, 10])
def test_t_interval_covers_the_true_mean_at_its_nominal_rate(n_seeds: int) -> None:
    rng = np.random.default_rng(n_seeds)
    true_mean, trials = 0.7, 2000
    draws = rng.normal(true_mean, 0.03, size=(trials, n_seeds))
    covered = 0
    for row in draws:
        _, low, high = stats.t_interval(row, 0.95)
        covered += low <= true_mean <= high
    assert covered / trials >= 0.93


def test_aulc_is_the_mean_height_of_the_curve() -> None:
    assert stats.aulc([10, 20, 30], [0.7, 0.7, 0.7]) == pytest.approx(0.7)
    assert stats.aulc([0, 10], [0.0, 1.0]) == pytest.approx(0.5)
    assert stats.aulc([30, 10, 20], [0.7, 0.5, 0.6]) == pytest.approx(0.6)  # order-free
    assert stats.aulc([20], [0.8]) == pytest.approx(0.8)
    assert math.isnan(stats.aulc([], []))


# --------------------------------------------------------------------------- targets, savings


def test_crossing_labels_interpolates_between_rounds() -> None:
    n = [20, 40, 60, 80, 100]
    acc = [0.60, 0.70, 0.79, 0.81, 0.80]
    # 0.80 lies halfway between 0.79 (60 labels) and 0.81 (80 labels): 70, not 80.
    assert stats.crossing_labels(n, acc, 0.80) == pytest.approx(70)
    assert stats.crossing_labels(n, acc, 0.75) == pytest.approx(40 + 20 * 5 / 9)
    assert stats.crossing_labels(n, acc, 0.60) == 20
    assert math.isnan(stats.crossing_labels(n, acc, 0.82))
    # Equal to the target up to the 6-decimal rounding of the stored accuracies.
    assert stats.crossing_labels([10, 20], [0.5, round(0.8 * 0.95, 6)], 0.8 * 0.95) == 20


def test_censored_median_counts_never_as_infinity() -> None:
    assert stats.censored_median([100.0, 120.0, math.nan]) == 120
    assert math.isnan(stats.censored_median([100.0, math.nan, math.nan]))
    assert stats.censored_median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert math.isnan(stats.censored_median([]))


def test_saving_is_paired_over_the_seeds_where_both_reached() -> None:
    cfg = AnalysisConfig()
    mine = pd.Series({0: 80.0, 1: 90.0, 2: 100.0, 3: 70.0, 4: math.nan})
    random = pd.Series({0: 120.0, 1: 110.0, 2: 130.0, 3: math.nan, 4: math.nan})
    s = group_analysis.paired_saving(mine, random, cfg)
    assert s["status"] == "ok" and s["n_pairs"] == 3
    assert s["labels"] == pytest.approx(np.mean([40, 20, 30]))
    assert s["low"] < s["labels"] < s["high"]
    assert (s["n_strategy_only"], s["n_random_only"], s["n_neither"]) == (1, 0, 1)
    only_mine = group_analysis.paired_saving(pd.Series({0: 80.0}), pd.Series({0: math.nan}), cfg)
    assert only_mine["status"] == "random_not_reached" and math.isnan(only_mine["labels"])
    none = group_analysis.paired_saving(pd.Series({0: math.nan}), pd.Series({0: 90.0}), cfg)
    assert none["status"] == "strategy_not_reached"


def test_targets_are_shares_of_the_full_pool_whatever_the_outcome() -> None:
    rounds = hand_rounds()  # finals: random 0.705, margin 0.905
    reachable = curves.target_reference(rounds, 0.9, [0.9, 0.95])
    assert reachable["reference"] == "full_pool_baseline" and reachable["accuracy"] == 0.9
    assert reachable["targets_in_reach"] == [0.9, 0.95]
    far = curves.target_reference(rounds, 1.0, [0.9, 0.95])  # 95% of 1.0 > 0.905
    # Never switched to the best arm's final accuracy: the share reached is reported instead.
    assert far["reference"] == "full_pool_baseline" and far["accuracy"] == 1.0
    assert far["strategy"] == "margin" and far["share_reached"] == pytest.approx(0.905)
    assert far["targets_in_reach"] == [0.9]


def test_censored_seeds_are_counted_in_the_saving_at_the_final_labels() -> None:
    cfg = AnalysisConfig()
    mine = pd.Series({0: 80.0, 1: 90.0, 2: 100.0, 3: 70.0, 4: math.nan})
    random = pd.Series({0: 120.0, 1: 110.0, 2: 130.0, 3: math.nan, 4: math.nan})
    s = group_analysis.paired_saving(mine, random, cfg, 910.0, 910.0)
    # Seed 3: random censored at 910 (saving 840, a lower bound); seed 4: neither (0).
    assert s["n_pairs"] == 5 and s["n_reached_both"] == 3 and s["censored_counted"]
    assert s["labels"] == pytest.approx(np.mean([40, 20, 30, 840, 0]))
    worse = group_analysis.paired_saving(
        pd.Series({0: math.nan, 1: 200.0}), pd.Series({0: 100.0, 1: 100.0}), cfg, 910.0, 910.0
    )
    assert worse["labels"] == pytest.approx(np.mean([-810, -100]))
    assert worse["n_pairs"] == 2 and worse["n_random_only"] == 1


def test_power_counts_the_seeds_a_one_point_effect_needs() -> None:
    # SD 1 point: about 10 seeds for 80% power at 1 point (n = ((1.96 + 0.84) * 1)^2 + ~2).
    n = stats.seeds_for_power(0.01, 0.01, 0.05, 0.8)
    assert 9 <= n <= 11
    assert stats.seeds_for_power(0.02, 0.01, 0.05, 0.8) > 3 * n
    assert stats.seeds_for_power(0.0, 0.01, 0.05, 0.8) == 2
    assert math.isnan(stats.seeds_for_power(math.nan, 0.01, 0.05, 0.8))
    # A window whose slope SD is tiny shows a flat curve flat; a noisy one rarely does.
    assert stats.flat_power(1e-5, 1e-4, 8, 0.95) > 0.99
    assert stats.flat_power(1e-3, 1e-4, 8, 0.95) < 0.1


def test_target_keys_are_integer_percents() -> None:
    assert [curves.target_key(t) for t in (0.9, 0.95, 0.98, 1.0)] == ["90", "95", "98", "100"]
    assert curves.target_key(0.975) == "97_5"


# --------------------------------------------------------------------------- stopping, plateau


def test_stop_round_needs_the_window_mean_at_the_threshold() -> None:
    kappa = [math.nan, 0.95, 0.99, 0.995, 0.98, 0.999, 1.0, 1.0]
    # Windows of 3 ending at 3: (0.95, 0.99, 0.995) mean 0.978; at 4: 0.988; at 5: 0.991.
    assert stats.stop_round(kappa, 0.99, 3) == 5
    assert stats.stop_round(kappa, 0.99, 1) == 2
    assert stats.stop_round(kappa, 0.999, 2) == 6
    assert stats.stop_round([math.nan, 0.5, 0.6], 0.99, 1) is None
    assert stats.stop_round([math.nan, 1.0], 0.99, 2) is None  # round 0 has no kappa


def linear_seeds(slopes: list[float], noise: float = 0.0) -> pd.DataFrame:
    """Rounds 0-6 at 20 + 50 r labels, each seed a straight line of its slope (per label)."""
    rows = []
    for seed, slope in enumerate(slopes):
        for r in range(7):
            n = 20 + 50 * r
            wiggle = noise * (-1) ** (r + seed)
            rows.append(
                {"seed": seed, "round": r, "n_labels": n, "accuracy": 0.6 + slope * n + wiggle}
            )
    return pd.DataFrame(rows)


def test_a_curve_still_gaining_is_not_called_flat() -> None:
    cfg = AnalysisConfig(slope_threshold=1e-4, slope_window=3)
    # Mean gain 0.9 points per 100 labels, seeds spread 0.5 to 1.3: every step of the
    # mean curve gains less than the threshold (the old rule: flat from the start), but
    # the upper confidence bound of the slope (0.9 + 2.78 * 0.14 = 1.29) exceeds it.
    climbing = linear_seeds([0.5e-4, 0.7e-4, 0.9e-4, 1.1e-4, 1.3e-4])
    mean_gain = np.diff(climbing.groupby("round")["accuracy"].mean()) / 50
    assert (mean_gain < cfg.slope_threshold).all()
    by_seed = {s: p for s, p in climbing.groupby("seed")}
    labels = np.arange(7) * 50.0 + 20
    result = group_analysis.plateau(by_seed, labels, cfg)
    assert result["round"] is None and math.isnan(result["n_labels"])
    assert result["final_slope"]["high"] > cfg.slope_threshold
    # A flat curve (slopes around 0 with noise) is called flat from the start.
    flat = linear_seeds([-0.1e-4, 0.0, 0.1e-4, 0.05e-4, -0.05e-4], noise=0.001)
    result = group_analysis.plateau({s: p for s, p in flat.groupby("seed")}, labels, cfg)
    assert result["round"] == 0 and result["n_labels"] == 20


def test_flat_from_needs_every_later_window_flat() -> None:
    assert stats.flat_from([5e-4, 2e-4, 5e-5, 1e-5], 1e-4) == 2
    assert stats.flat_from([5e-5, 2e-4, 5e-5], 1e-4) == 2
    assert stats.flat_from([5e-5, 5e-5, 2e-4], 1e-4) is None
    assert stats.flat_from([5e-5, math.nan, 5e-5], 1e-4) == 2


# --------------------------------------------------------------------------- tests, win/loss


def seeds_series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=range(len(values)), dtype=float)


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_better_on_every_seed_gives_the_smallest_exact_p(n: int) -> None:
    ref = seeds_series([0.70 + 0.01 * k for k in range(n)])
    better = ref + np.linspace(0.02, 0.05, n)
    test = stats.paired_difference(better, ref, AnalysisConfig())
    assert test["method"] == "exact sign-flip permutation"
    assert test["p_value"] == pytest.approx(2 / 2**n)
    assert test["min_p_value"] == pytest.approx(2 / 2**n)
    assert test["mean_difference"] == pytest.approx(0.035)
    assert test["low"] < 0.035 < test["high"]
    assert stats.paired_difference(ref, better, AnalysisConfig())["p_value"] == pytest.approx(
        2 / 2**n
    )


def test_sign_flip_test_on_a_small_case_by_hand() -> None:
    # Sums of +-1 +-2 +-3: 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8 patterns.
    assert stats.sign_flip_test([1.0, 2.0, 3.0]) == (0.25, "exact sign-flip permutation")
    # Observed sum 1 - 2 + 3 = 2: |sum| >= 2 in 6 of 8 patterns.
    assert stats.sign_flip_test([1.0, -2.0, 3.0])[0] == pytest.approx(0.75)
    # |mean| of patterns of (3, 1): 2, 1, 1, 2 -> p = 2/4.
    assert stats.sign_flip_test([3.0, 1.0])[0] == pytest.approx(0.5)


def test_sign_flip_test_with_ties_and_many_seeds() -> None:
    # Zero differences are the same under either sign: (0, 0, 1) behaves like (1).
    assert stats.sign_flip_test([0.0, 0.0, 1.0])[0] == pytest.approx(1.0)
    assert stats.sign_flip_test([0.0, 2.0, 2.0, 2.0])[0] == pytest.approx(0.25)
    assert stats.sign_flip_test([0.0, 0.0]) == (1.0, "none (identical on every seed)")
    p, method = stats.sign_flip_test(np.linspace(0.01, 0.03, 18), max_exact=12)
    assert method == "Monte Carlo sign-flip permutation" and p < 0.001


def test_identical_strategies_are_not_different() -> None:
    ref = seeds_series([0.7, 0.72, 0.71])
    test = stats.paired_difference(ref.copy(), ref, AnalysisConfig())
    assert test["p_value"] == 1.0 and test["n_nonzero"] == 0
    assert test["method"].startswith("none") and test["mean_difference"] == 0


def test_win_tie_loss() -> None:
    per_seed = pd.DataFrame(
        {
            "random": [0.70, 0.71, 0.72, 0.73],
            "margin": [0.75, 0.76, 0.77, 0.78],
            "twin": [0.70, 0.714, 0.716, 0.73],  # within the tie tolerance of random
        }
    )
    table = stats.win_tie_loss(per_seed, 0.005).set_index(["strategy", "opponent"])
    assert len(table) == 6
    assert table.loc[("margin", "random")].tolist() == [4, 0, 0]
    assert table.loc[("random", "margin")].tolist() == [0, 0, 4]
    assert table.loc[("twin", "random")].tolist() == [0, 4, 0]


def test_identical_arms_are_found_from_the_queries() -> None:
    def queries(ids: list[str]) -> pd.DataFrame:
        rows = [(0, 1, rank, i) for rank, i in enumerate(ids)]
        return pd.DataFrame(rows, columns=["seed", "round", "rank", "id"])

    same = queries(["a", "b"])
    arms = stats.identical_arms(
        {
            "random": queries(["b", "a"]),
            "margin": same,
            "entropy": same.iloc[::-1].reset_index(drop=True),  # row order does not matter
            "bald": None,  # no queries.csv: its own arm
        }
    )
    assert arms == [["random"], ["margin", "entropy"], ["bald"]]
    assert stats.arm_name(arms[1]) == "margin = entropy"


def test_identical_arms_are_tested_once_and_adjusted_over_distinct_arms() -> None:
    cfg = AnalysisConfig()
    ref = seeds_series([0.70 + 0.01 * k for k in range(7)])

    def group(aulcs: pd.Series) -> dict:
        return {"per_seed_aulc": aulcs, "targets": {}}

    groups = {
        "random": group(ref),
        "margin": group(ref + 0.03),
        "entropy": group(ref + 0.03),
        "bald": group(ref + np.array([0.01, -0.01, 0.02, -0.02, 0.01, 0.0, 0.005])),
    }
    group_analysis.compare_to_reference(groups, cfg, [["random"], ["margin", "entropy"], ["bald"]])
    margin, entropy = groups["margin"]["test_vs_random"], groups["entropy"]["test_vs_random"]
    assert margin == entropy and margin["n_comparisons"] == 2  # not 3: one arm, one test
    assert margin["p_value"] == pytest.approx(2 / 2**7)
    assert margin["p_adjusted"] == pytest.approx(2 * 2 / 2**7)  # BH over two arms
    assert margin["significant"] and margin["verdict"] == "better"
    assert groups["margin"]["arm"] == "margin = entropy"
    decided = group_analysis.verdict(groups, cfg)
    assert decided["best_strategy"] == "margin" and decided["best_arm"] == "margin = entropy"
    assert decided["text"].startswith("margin = entropy is significantly better")


def test_no_best_strategy_without_a_significant_difference() -> None:
    cfg = AnalysisConfig()
    ref = seeds_series([0.70 + 0.01 * k for k in range(5)])
    groups = {
        "random": {"per_seed_aulc": ref, "targets": {}},
        "margin": {"per_seed_aulc": ref + 0.03, "targets": {}},  # 5 seeds: p >= 1/16
    }
    group_analysis.compare_to_reference(groups, cfg)
    decided = group_analysis.verdict(groups, cfg)
    assert decided["best_strategy"] is None and decided["significant"] is False
    assert decided["arm"] == "margin" and decided["mean_difference"] == pytest.approx(0.03)
    assert decided["text"].startswith("No strategy is distinguishable from random sampling")
    assert "+3.00 points" in decided["text"]


def test_one_lucky_strategy_among_many_is_not_significant() -> None:
    cfg = AnalysisConfig()
    ref = seeds_series([0.70 + 0.01 * k for k in range(6)])
    rng = np.random.default_rng(1)
    groups = {"random": {"per_seed_aulc": ref, "targets": {}}}
    groups["lucky"] = {"per_seed_aulc": ref + np.linspace(0.001, 0.006, 6), "targets": {}}
    for k in range(7):
        groups[f"s{k}"] = {"per_seed_aulc": ref + rng.normal(0, 0.01, 6), "targets": {}}
    group_analysis.compare_to_reference(groups, cfg)
    lucky = groups["lucky"]["test_vs_random"]
    assert lucky["p_value"] == pytest.approx(2 / 2**6) and lucky["p_value"] < cfg.alpha
    assert lucky["n_comparisons"] == 8 and lucky["p_adjusted"] >= lucky["p_value"]


# --------------------------------------------------------------------------- curves


def hand_rounds() -> pd.DataFrame:
    """Two strategies x two seeds x rounds 0-2 at 10/20/30 labels, known curves."""
    rows = []
    curves = {"random": [0.5, 0.6, 0.7], "margin": [0.5, 0.8, 0.9]}
    kappas = {"random": [math.nan, 0.5, 0.6], "margin": [math.nan, 0.99, 0.995]}
    for strategy, acc in curves.items():
        for seed in (0, 1):
            for r in range(3):
                rows.append(
                    {
                        "strategy": strategy,
                        "initial_size": 10,
                        "query_size": 10,
                        "label_noise": 0.0,
                        "seed": seed,
                        "round": r,
                        "n_labels": 10 + 10 * r,
                        "accuracy": acc[r] + 0.01 * seed,
                        "balanced_accuracy": acc[r],
                        "macro_f1": acc[r],
                        "log_loss": 1 - acc[r],
                        "ece": 0.05,
                        "noisy_labels": 0,
                        "kappa_stop": kappas[strategy][r],
                        "fit_seconds": 1.0,
                        "query_seconds": 0.0 if r == 0 else 0.5,
                    }
                )
    return pd.DataFrame(rows)


def test_curve_bands_long_form() -> None:
    bands = curves.curve_bands(hand_rounds(), AnalysisConfig())
    assert list(bands.columns) == BANDS_COLUMNS
    # Not in the data: no rows.
    assert set(bands["metric"]) == set(read.CURVE_METRICS) - {
        "val_accuracy",
        "rare_recall",
        "n_rare",
    }
    assert bands["strategy"].unique().tolist() == ["random", "margin"]
    kappa = bands[bands["metric"] == "kappa_stop"]
    assert 0 not in set(kappa["round"])  # no kappa at round 0: no row
    acc = bands[(bands["metric"] == "accuracy") & (bands["strategy"] == "margin")]
    assert acc["mean"].tolist() == pytest.approx([0.505, 0.805, 0.905])
    assert acc["n_labels"].tolist() == [10, 20, 30]
    assert ((bands["low"] <= bands["mean"]) & (bands["mean"] <= bands["high"])).all()
    lc = curves.learning_curves(bands)
    assert list(lc.columns) == ["strategy", "n_labels", "accuracy"] and len(lc) == 6


def hand_queries(strategy: str, start: str) -> pd.DataFrame:
    """10 queries per seed and round of :func:`hand_rounds`, alternately of class 0 and 1."""
    rows = [
        {
            "start": start,
            "strategy": strategy,
            "initial_size": 10,
            "query_size": 10,
            "label_noise": 0.0,
            "seed": seed,
            "round": r,
            "rank": k,
            "id": f"{strategy}{seed}{r}{k:02d}",
            "score": 1.0,
            "predicted": k % 2,
            "confidence": 0.6,
            "true_label": k % 2,
            "oracle_label": k % 2,
        }  # fmt: skip
        for seed in (0, 1)
        for r in (1, 2)
        for k in range(10)
    ]
    return pd.DataFrame(rows)


def write_hand_project(
    root: Path,
    regimes: dict[str, tuple[float, list[float]]] | None = None,
    baseline_seeds: dict[str, list[int]] | None = None,
) -> Params:
    """Hand-made results: per start ``(accuracy shift, full-pool per-seed accuracies)``.

    Default: one regime, scratch, with :func:`hand_rounds` and a baseline of 1.0.
    """
    regimes = regimes or {"scratch": (0.0, [1.0])}
    (root / "metrics" / "baseline").mkdir(parents=True, exist_ok=True)
    for start, (shift, per_seed) in regimes.items():
        frame = hand_rounds().assign(start=start)
        # An accuracy is at most 1 (the analysis refuses more): margin's 0.91 + 0.1 ends at 1.
        frame["accuracy"] = (frame["accuracy"] + shift).clip(upper=1.0)
        for strategy, part in frame.groupby("strategy"):
            (root / "results" / start / strategy).mkdir(parents=True)
            part.to_csv(root / "results" / start / strategy / "rounds.csv", index=False)
            hand_queries(strategy, start).to_csv(
                root / "results" / start / strategy / "queries.csv", index=False
            )
        seeds = (baseline_seeds or {}).get(start, list(range(len(per_seed))))
        baseline = {"accuracy": {"mean": float(np.mean(per_seed)), "per_seed": per_seed}}
        baseline["seeds"] = seeds
        (root / "metrics" / "baseline" / f"{start}.json").write_text(json.dumps(baseline))
    return Params(
        active=ActiveConfig(
            starts=tuple(regimes),
            strategies=("random", "margin"),
            seeds=(0, 1),
            initial_size=10,
            query_size=10,
            rounds=2,
            budgets=(20, 30),
        ),
        ablations=AblationConfig(strategies=()),
        analysis=AnalysisConfig(targets=(0.5, 0.95), stop_window=2),
        balance=BalanceConfig(starts=(), conditions=()),
    )


def test_each_protocol_stops_by_its_own_kappa() -> None:
    # margin's kappa_stop is 0.99, 0.995 (window-2 mean 0.9925): above the head's threshold,
    # below the CNN's. The same rounds stop as a frozen-feature start only.
    from foxdog.analysis.regime import analyse_regime
    from foxdog.config import HeadConfig

    cnn = dict(initial_size=10, query_size=10, rounds=2, budgets=(20, 30), seeds=(0, 1))
    params = Params(
        active=ActiveConfig(starts=("scratch",), strategies=("random", "margin"), **cnn),
        head=HeadConfig(strategies=("random", "margin"), **cnn),
        ablations=AblationConfig(strategies=()),
        analysis=AnalysisConfig(
            targets=(0.5,), stop_kappa=0.995, stop_window=2, head_stop_kappa=0.99
        ),
        balance=BalanceConfig(starts=(), conditions=()),
    )
    assert params.analysis_for("scratch") == params.analysis
    head = params.analysis_for("imagenet")
    assert (head.stop_kappa, head.stop_window) == (0.99, params.analysis.head_stop_window)
    with pytest.raises(ValueError, match="unknown start 'nope'"):
        params.analysis_for("nope")
    params = dataclasses.replace(
        params, analysis=dataclasses.replace(params.analysis, head_stop_window=2)
    )
    baseline = {"accuracy": {"mean": 1.0, "per_seed": [1.0]}}
    stops = {}
    for condition in ("scratch", "imagenet-fox10"):
        rounds = hand_rounds().assign(start=condition.split("-")[0], condition=condition)
        queries = {s: hand_queries(s, condition) for s in ("random", "margin")}
        regime = analyse_regime(params, condition, rounds, queries, baseline)
        settings = regime.document["settings"]
        stop = regime.groups["margin"]["stop"]
        stops[condition] = (settings["stop_kappa"], stop["seeds_stopped"], stop["labels_saved"])
    assert stops["scratch"][:2] == (0.995, 0.0)
    assert stops["imagenet-fox10"][:2] == (0.99, 1.0)  # at 30 labels, the last round
    assert stops["imagenet-fox10"][2]["mean"] == 0


def test_run_analysis_on_hand_made_results(tmp_path: Path) -> None:
    params = write_hand_project(tmp_path, {"scratch": (0.0, [0.9])})
    summary = analyse_project(tmp_path, params)["scratch"]
    # Random: (0.55 + 0.65) / 2 + 0.005 (seed 1 is 0.01 higher); margin: (0.65 + 0.85) / 2.
    assert summary["random.aulc"] == pytest.approx(0.605)
    assert summary["margin.aulc"] == pytest.approx(0.755)
    # Two seeds: the smallest possible p is 2/4, so no strategy is named best.
    assert summary["best_strategy"] is None and summary["best_arm"] == "margin"
    assert summary["margin.p_value_vs_random"] == pytest.approx(0.5)
    # Targets are shares of the full-pool baseline (0.9), whatever the runs reach.
    assert summary["target_reference"] == "full_pool_baseline"
    assert summary["target_reference_accuracy"] == pytest.approx(0.9)
    # 50% of 0.9 = 0.45: both start above it.
    assert summary["random.labels_to_50"] == 10 and summary["margin.labels_to_50"] == 10
    assert summary["margin.saving_vs_random_50"] == 0
    # 95% of 0.9 = 0.855: margin seed 0 crosses between 0.8 (20) and 0.9 (30) at 25.5
    # labels, seed 1 between 0.81 and 0.91 at 24.5; the median is 25.
    assert summary["margin.labels_to_95"] == pytest.approx(25.0)
    assert summary["random.labels_to_95"] is None and summary["random.seeds_reached_95"] == 0
    # Random never got there: counted at its 30 labels, a saving of at least 4.5 and 5.5.
    assert summary["margin.saving_vs_random_95"] == pytest.approx(5.0)
    # kappa_stop 0.99, 0.995 at rounds 1-2: window-2 mean 0.9925 >= 0.99 at round 2.
    assert summary["margin.stop_labels"] == 30 and summary["margin.stop_seeds"] == 1
    assert summary["random.stop_labels"] is None and summary["random.stop_seeds"] == 0

    table = pd.read_csv(tmp_path / "metrics" / "strategies.csv").set_index("strategy")
    assert table.loc["margin", "saving_vs_random_95_status"] == "random_not_reached"
    assert table.loc["margin", "test_vs_random"] == "exact sign-flip permutation"
    assert table.loc["margin", "stop_accuracy_change"] == 0  # stops at the last round
    assert table.loc["margin", "final_balanced_accuracy"] == pytest.approx(0.9)
    assert pd.isna(table.loc["random", "p_value_vs_random"])
    assert table.loc["margin", "share_fox"] == pytest.approx(0.5)  # every other query a fox
    diff = pd.read_csv(tmp_path / "plots" / "diff_vs_random.csv")
    assert diff["mean_difference"].tolist() == pytest.approx([0.0, 0.2, 0.2])
    assert diff["arm"].unique().tolist() == ["margin"]
    assert diff["series"].unique().tolist() == ["scratch / margin"]
    ablations = pd.read_csv(tmp_path / "metrics" / "ablations.csv")
    assert ablations.empty and "aulc" in ablations.columns
    assert strict_json(tmp_path / "metrics" / "summary.json")["scratch"] == summary


# --------------------------------------------------------------------------- missing inputs


def test_missing_results_name_the_stage(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=(0, 1), rounds=2)
    (root / "results" / "selfsup" / "margin" / "rounds.csv").unlink()
    with pytest.raises(FileNotFoundError) as err:
        analyse_project(root)
    message = str(err.value)
    assert "\n" not in message
    assert str(root / "results" / "selfsup" / "margin" / "rounds.csv") in message
    assert "dvc repro al@selfsup-margin" in message
    assert not (root / "metrics" / "summary.json").exists()


def test_missing_ablation_and_baseline_name_their_stages(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=(0, 1), rounds=2)
    (root / "results" / "ablations" / "label_noise" / "margin" / "rounds.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"dvc repro ablate@label_noise-margin"):
        analyse_project(root)
    (root / "metrics" / "baseline" / "transfer.json").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"baseline/transfer.json: not found .*dvc repro baseline@transfer"
    ):
        analyse_project(root)
    assert not (root / "metrics" / "summary.json").exists()


def test_malformed_results_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "rounds.csv"
    path.write_text("strategy,seed\nrandom,0\n")
    with pytest.raises(ValueError, match=r"rounds.csv: missing columns .*al@random"):
        read.read_rounds(path, "al@random")
    path.write_text("")
    with pytest.raises(ValueError, match=r"not a readable CSV"):
        read.read_rounds(path, "al@random")


def test_results_of_another_regime_and_unknown_classes_are_refused(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=(0, 1), rounds=2, ablations=False)
    path = root / "results" / "transfer" / "random" / "rounds.csv"
    pd.read_csv(path).assign(start="scratch").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"start 'scratch' in the results of 'transfer'"):
        analyse_project(root)
    path.unlink()
    make_project(tmp_path, seeds=(0, 1), rounds=2, ablations=False)  # restore
    path = root / "results" / "scratch" / "margin" / "queries.csv"
    pd.read_csv(path).assign(true_label=2).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"true_label '2' is not a class index of data.classes"):
        analyse_project(root)


# --------------------------------------------------------------------------- whole stage


def test_outputs_exist_with_the_documented_columns(project: Path) -> None:
    curves = pd.read_csv(project / "plots" / "curves.csv")
    assert list(curves.columns) == CURVES_COLUMNS
    assert ((curves["low"] <= curves["mean"]) & (curves["mean"] <= curves["high"])).all()
    assert {"share_dog", "share_fox", "macro_f1", "kappa_stop"} <= set(curves["metric"])
    lc = pd.read_csv(project / "plots" / "learning_curves.csv")
    assert list(lc.columns) == ["condition", "start", "strategy", "series", "n_labels", "accuracy"]
    assert len(lc) == 3 * 3 * 7 and "transfer / margin" in set(lc["series"])
    diff = pd.read_csv(project / "plots" / "diff_vs_random.csv")
    assert list(diff.columns) == [
        "condition",
        "start",
        "strategy",
        "arm",
        "series",
        "round",
        "n_labels",
        "mean_difference",
        "low",
        "high",
        "n_pairs",
    ]
    winloss = pd.read_csv(project / "metrics" / "winloss.csv")
    assert list(winloss.columns) == [
        "condition",
        "start",
        "strategy",
        "opponent",
        "wins",
        "ties",
        "losses",
    ]
    assert (winloss[["wins", "ties", "losses"]].sum(axis=1) == 5).all()
    table = pd.read_csv(project / "metrics" / "strategies.csv")
    assert list(table.columns[:2]) == ["condition", "start"]
    assert table["strategy"].tolist() == ["random", "margin", "entropy"] * 3
    for k in ("90", "95", "98"):
        assert {f"labels_to_{k}", f"saving_vs_random_{k}", f"saving_vs_random_{k}_status"} <= set(
            table.columns
        )
    for c in ("dog", "fox"):
        assert {f"share_{c}", f"share_{c}_low", f"share_{c}_high"} <= set(table.columns)
    assert not [c for c in table.columns if "fox_share" in c]
    ablations = pd.read_csv(project / "metrics" / "ablations.csv")
    assert ablations.columns[0] == "start" and set(ablations["start"]) == {"transfer"}
    assert len(ablations) == 3 * 3 * 2  # factors x (two levels + default) x strategies
    assert ablations["is_default"].sum() == 3 * 2


def test_every_table_leads_with_the_regime_in_study_order(project: Path) -> None:
    for path in (
        "metrics/strategies.csv",
        "metrics/winloss.csv",
        "plots/curves.csv",
        "plots/learning_curves.csv",
        "plots/diff_vs_random.csv",
    ):
        frame = pd.read_csv(project / path)
        assert list(frame.columns[:2]) == ["condition", "start"], path
        assert frame["condition"].drop_duplicates().tolist() == list(STARTS), path
    doc = strict_json(project / "metrics" / "analysis.json")
    assert doc["starts"] == list(STARTS) and list(doc["regimes"]) == sorted(STARTS)
    assert doc["conditions"] == list(STARTS)
    assert doc["classes"] == ["dog", "fox"] and doc["ablations"]["start"] == "transfer"
    summary = strict_json(project / "metrics" / "summary.json")
    assert set(summary) == {*STARTS, "starting_model", "overview", "decision"}


def test_margin_beats_random_and_entropy_ties(project: Path) -> None:
    summary = strict_json(project / "metrics" / "summary.json")["scratch"]
    # Five seeds: the exact test cannot go below 1/16, so no strategy is named best.
    assert summary["best_strategy"] is None and summary["best_arm"] == "margin"
    assert summary["margin.aulc"] > summary["random.aulc"] + 0.03
    assert summary["margin.aulc_difference_vs_random_low"] > 0
    assert summary["margin.labels_to_95"] < summary["random.labels_to_95"]
    assert summary["margin.saving_vs_random_95"] > 0
    assert summary["random.labels_to_98"] is None  # the fake random never gets there
    assert summary["margin.p_value_vs_random"] == pytest.approx(0.0625)
    assert summary["entropy.p_value_vs_random"] > 0.2
    winloss = pd.read_csv(project / "metrics" / "winloss.csv")
    winloss = winloss[winloss["start"] == "scratch"].drop(columns=["condition", "start"])
    winloss = winloss.set_index(["strategy", "opponent"])
    assert winloss.loc[("margin", "random")].tolist() == [5, 0, 0]
    assert winloss.loc[("entropy", "random")].tolist() == [0, 5, 0]

    doc = strict_json(project / "metrics" / "analysis.json")["regimes"]["scratch"]
    assert doc["tests"]["min_p_value"] == pytest.approx(0.0625)
    assert doc["tests"]["significance_possible"] is False
    margin = doc["strategies"]["margin"]
    assert margin["test_vs_random"]["significant"] is False
    assert doc["verdict"]["text"].startswith("No strategy is distinguishable")
    # margin ends above 98% of the baseline, so the targets are shares of the baseline.
    assert doc["target_reference"]["reference"] == "full_pool_baseline"
    assert doc["targets"][1] == {"fraction": 0.95, "key": "95", "accuracy": 0.836475}
    assert margin["targets"]["98"]["saving_vs_random"]["status"] == "random_not_reached"
    assert doc["ranking"][0] == "margin" and doc["strategies"]["random"]["test_vs_random"] is None


def test_summary_is_flat_per_regime_and_matches_the_tables(project: Path) -> None:
    full = strict_json(project / "metrics" / "summary.json")
    for part in full.values():
        assert all(not isinstance(v, dict | list) for v in part.values())
    summary = full["scratch"]
    assert summary["baseline.accuracy"] == pytest.approx(0.8805)
    assert full["transfer"]["baseline.accuracy"] == pytest.approx(0.94)
    table = pd.read_csv(project / "metrics" / "strategies.csv").set_index(["start", "strategy"])
    for start in STARTS:
        for s in ("random", "margin", "entropy"):
            assert full[start][f"{s}.aulc"] == pytest.approx(table.loc[(start, s), "aulc"])
            assert full[start][f"{s}.stop_seeds"] == pytest.approx(
                table.loc[(start, s), "stop_seeds"]
            )
    ablations = pd.read_csv(project / "metrics" / "ablations.csv")
    default = ablations[(ablations["factor"] == "label_noise") & ablations["is_default"]]
    # The ablations run in transfer: their default level is transfer's main run.
    assert default.set_index("strategy").loc["margin", "aulc"] == pytest.approx(
        full["transfer"]["margin.aulc"]
    )
    noisy = ablations[(ablations["factor"] == "label_noise")].set_index(["strategy", "level"])
    assert noisy.loc[("margin", 0.2), "aulc"] < noisy.loc[("margin", 0.0), "aulc"]


def test_ablation_levels_share_the_ablation_seeds(tmp_path: Path) -> None:
    # The main run has more seeds than the ablations; the default level must not use them.
    root = make_project(tmp_path, seeds=range(7), rounds=3, ablation_factors=("query_size",))
    analyse_project(root)
    ablations = pd.read_csv(root / "metrics" / "ablations.csv")
    assert set(ablations["n_seeds"]) == {len(AblationConfig().seeds)}
    summary = strict_json(root / "metrics" / "summary.json")["transfer"]
    default = ablations[(ablations["factor"] == "query_size") & ablations["is_default"]]
    assert default.set_index("strategy").loc["margin", "aulc"] != pytest.approx(
        summary["margin.aulc"], abs=1e-9
    )


def test_outputs_are_byte_identical_on_rerun(project: Path) -> None:
    before = output_bytes(project)
    analyse_project(project)
    assert output_bytes(project) == before
    assert b"NaN" not in before["metrics/summary.json"]
    assert b"NaN" not in before["metrics/analysis.json"]


def test_significance_with_enough_seeds(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=range(8), rounds=4, ablations=False)
    full = analyse_project(root)
    doc = strict_json(root / "metrics" / "analysis.json")
    for start in STARTS:
        summary, regime = full[start], doc["regimes"][start]
        test = regime["strategies"]["margin"]["test_vs_random"]
        assert test["method"] == "exact sign-flip permutation"
        assert summary["margin.p_value_vs_random"] == pytest.approx(2 / 2**8)
        assert summary["entropy.p_value_vs_random"] > 0.2
        # Two strategies against random: Benjamini-Hochberg doubles the smaller p-value.
        assert summary["margin.p_adjusted_vs_random"] == pytest.approx(2 * 2 / 2**8)
        assert test["significant"] is True and test["n_comparisons"] == 2
        assert summary["best_strategy"] == "margin" and summary["best_significant"] is True


def test_identical_arms_in_a_project_are_one_arm(tmp_path: Path) -> None:
    # least_confident makes exactly margin's run (tests/synthetic_results.py TWINS).
    strategies = ("random", "least_confident", "margin", "entropy")
    root = make_project(
        tmp_path,
        starts=("scratch",),
        strategies=strategies,
        seeds=range(8),
        rounds=4,
        ablations=False,
    )
    summary = analyse_project(root)["scratch"]
    doc = strict_json(root / "metrics" / "analysis.json")["regimes"]["scratch"]
    assert ["least_confident", "margin"] in [a["members"] for a in doc["arms"]]
    test = doc["strategies"]["margin"]["test_vs_random"]
    assert test["n_comparisons"] == 2  # entropy and the one least_confident = margin arm
    assert summary["best_arm"] == "least_confident = margin"
    assert doc["verdict"]["text"].startswith("least_confident = margin is significantly better")
    diff = pd.read_csv(root / "plots" / "diff_vs_random.csv")
    assert diff["arm"].unique().tolist() == ["least_confident = margin", "entropy"]


def test_query_size_levels_are_compared_at_a_common_budget(project: Path) -> None:
    ablations = pd.read_csv(project / "metrics" / "ablations.csv")
    sizes = ablations[ablations["factor"] == "query_size"]
    # 20 + 6 x {20, 50, 150} labels: the smallest common final budget is 140.
    assert sorted(sizes["final_labels"].unique()) == [140, 320, 920]
    assert set(sizes["budget"]) == {140}
    margin = sizes[sizes["strategy"] == "margin"].set_index("level")
    assert margin["gain_at_budget_low"].notna().all()
    # At the default level the budget is its last round: accuracy at budget = final.
    assert margin.loc[20.0, "accuracy_at_budget"] == pytest.approx(
        margin.loc[20.0, "final_accuracy"], abs=1e-6
    )


def test_missing_kappa_stop_gives_no_stop_but_no_crash(tmp_path: Path) -> None:
    params = write_hand_project(tmp_path)
    for strategy in ("random", "margin"):
        path = tmp_path / "results" / "scratch" / strategy / "rounds.csv"
        frame = pd.read_csv(path).drop(columns=["kappa_stop"]).assign(kappa_prev=0.5)
        frame.to_csv(path, index=False)
    summary = analyse_project(tmp_path, params)["scratch"]
    assert summary["margin.stop_labels"] is None and summary["margin.stop_seeds"] is None
    doc = strict_json(tmp_path / "metrics" / "analysis.json")["regimes"]["scratch"]
    assert doc["strategies"]["margin"]["stop"]["available"] is False


def expected_shares(queries: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """Per seed (rows), each class's share (columns) among all queried images, by hand."""
    counts = np.zeros((queries["seed"].nunique(), n_classes))
    seeds = sorted(queries["seed"].unique())
    for (seed, label), n in queries.groupby(["seed", "true_label"]).size().items():
        counts[seeds.index(seed), label] = n
    return pd.DataFrame(counts / counts.sum(axis=1, keepdims=True), index=seeds)


def test_class_shares_and_baseline_use_the_same_t_interval(project: Path) -> None:
    queries = pd.read_csv(project / "results" / "transfer" / "margin" / "queries.csv")
    per_seed = expected_shares(queries, 2)
    table = pd.read_csv(project / "metrics" / "strategies.csv").set_index(["start", "strategy"])
    for label, name in enumerate(("dog", "fox")):
        mean, low, high = stats.t_interval(per_seed[label], 0.95)
        columns = [f"share_{name}", f"share_{name}_low", f"share_{name}_high"]
        got = table.loc[("transfer", "margin"), columns].tolist()
        assert got == pytest.approx([mean, low, high], abs=1e-6)
    doc = strict_json(project / "metrics" / "analysis.json")
    base = json.loads((project / "metrics" / "baseline" / "transfer.json").read_text())
    _, low, high = stats.t_interval(base["accuracy"]["per_seed"], 0.95)
    baseline = doc["regimes"]["transfer"]["baseline"]
    assert (baseline["low"], baseline["high"]) == pytest.approx((low, high))


def test_class_shares_with_three_classes(tmp_path: Path) -> None:
    classes = ("cat", "dog", "fox")
    root = make_project(
        tmp_path, starts=("scratch",), classes=classes, seeds=range(4), rounds=3, ablations=False
    )
    params = load_params(root / "params.yaml")
    assert params.data.classes == classes
    analyse_project(root)
    table = pd.read_csv(root / "metrics" / "strategies.csv").set_index("strategy")
    doc = strict_json(root / "metrics" / "analysis.json")
    assert doc["classes"] == list(classes)
    for strategy in ("random", "margin"):
        queries = pd.read_csv(root / "results" / "scratch" / strategy / "queries.csv")
        per_seed = expected_shares(queries, 3)
        shares = doc["regimes"]["scratch"]["strategies"][strategy]["class_shares"]
        assert list(shares) == list(classes)
        for label, name in enumerate(classes):
            mean, low, high = stats.t_interval(per_seed[label], 0.95, bounds=(0.0, 1.0))
            assert table.loc[strategy, f"share_{name}"] == pytest.approx(mean, abs=1e-6)
            assert table.loc[strategy, f"share_{name}_low"] == pytest.approx(low, abs=1e-6)
            assert shares[name]["high"] == pytest.approx(high, abs=1e-6)
        assert sum(shares[c]["mean"] for c in classes) == pytest.approx(1.0, abs=1e-5)
    # Per round, each class's share of the batch is a curve.
    curves = pd.read_csv(root / "plots" / "curves.csv")
    cat = curves[(curves["metric"] == "share_cat") & (curves["strategy"] == "margin")]
    queries = pd.read_csv(root / "results" / "scratch" / "margin" / "queries.csv")
    first = (
        queries[queries["round"] == 1]
        .groupby("seed")["true_label"]
        .apply(lambda x: (x == 0).mean())
    )
    assert cat["round"].tolist() == [1, 2, 3]
    assert cat["mean"].iloc[0] == pytest.approx(first.mean(), abs=1e-6)


def test_the_analysis_code_names_no_class() -> None:
    for path in Path(curves.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        assert not re.findall(r"\b(fox|dog|foxes|dogs)\b", text), path


# --------------------------------------------------------------------------- regimes


def test_each_regime_is_analysed_as_if_it_were_alone(project: Path, tmp_path: Path) -> None:
    params = load_params(project / "params.yaml")
    doc = strict_json(project / "metrics" / "analysis.json")
    summary = strict_json(project / "metrics" / "summary.json")
    tables = {
        path: pd.read_csv(project / path)
        for path in ("metrics/strategies.csv", "metrics/winloss.csv", "plots/curves.csv")
    }
    for start in STARTS:
        alone = dataclasses.replace(
            params,
            active=dataclasses.replace(params.active, starts=(start,)),
            ablations=dataclasses.replace(params.ablations, start=start, strategies=()),
        )
        out = tmp_path / start
        one = analyse_project(project, alone, out)
        assert one[start] == summary[start]
        one_doc = strict_json(out / "metrics" / "analysis.json")
        assert one_doc["regimes"][start] == doc["regimes"][start]
        for path, frame in tables.items():
            mine = frame[frame["start"] == start].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, pd.read_csv(out / path), check_dtype=False)


def hand_regimes(tmp_path: Path) -> tuple[Params, dict]:
    """Scratch and transfer (curves 0.1 higher), full-pool seeds listed in another order."""
    params = write_hand_project(
        tmp_path,
        {"scratch": (0.0, [0.80, 0.82, 0.81]), "transfer": (0.1, [0.91, 0.90, 0.93])},
        # transfer's file lists seed 2 first: 0.91 is seed 2, 0.90 seed 0, 0.93 seed 1.
        baseline_seeds={"scratch": [0, 1, 2], "transfer": [2, 0, 1]},
    )
    analyse_project(tmp_path, params)
    return params, strict_json(tmp_path / "metrics" / "analysis.json")


def test_starting_model_is_paired_by_seed(tmp_path: Path) -> None:
    _, doc = hand_regimes(tmp_path)
    model = doc["starting_model"]
    assert model["reference_start"] == "scratch" and model["best_start"] == "transfer"
    scratch, transfer = model["starts"]["scratch"], model["starts"]["transfer"]
    assert scratch["full_pool_vs_reference"] is None
    # Paired by seed: 0.90 - 0.80, 0.93 - 0.82, 0.91 - 0.81 (not by position in the files).
    d = [0.10, 0.11, 0.10]
    mean, low, high = stats.t_interval(d, 0.95)
    vs = transfer["full_pool_vs_reference"]
    assert (vs["mean_difference"], vs["low"], vs["high"]) == pytest.approx(
        (mean, low, high), rel=1e-5
    )
    assert vs["n_pairs"] == 3 and model["best_start_vs_reference"] == vs
    assert transfer["full_pool"]["accuracy"] == pytest.approx(np.mean([0.91, 0.90, 0.93]))
    # Random from transfer is 0.1 higher on every seed and round.
    rnd = transfer["random"]
    assert rnd["aulc_vs_reference"]["mean_difference"] == pytest.approx(0.1)
    assert rnd["final_accuracy_vs_reference"]["mean_difference"] == pytest.approx(0.1)
    assert rnd["aulc"]["mean"] == pytest.approx(0.705)
    assert scratch["random"]["aulc_vs_reference"] is None
    # Common targets: shares of scratch's full-pool accuracy 0.81, the same in every regime.
    levels = {t["key"]: t["accuracy"] for t in model["common_targets"]}
    assert levels == pytest.approx({"50": 0.405, "95": 0.7695})
    # transfer's random reaches 0.7695 between 0.7 (20) and 0.8 (30): 26.95 and 25.95
    # labels; scratch's random (0.7 at the end) never does.
    common = transfer["common_targets"]["95"]
    assert common["strategies"]["random"]["labels"] == pytest.approx(26.45)
    assert scratch["common_targets"]["95"]["strategies"]["random"]["labels"] is None
    assert common["random_saving_vs_reference"]["status"] == "reference_not_reached"
    summary = strict_json(tmp_path / "metrics" / "summary.json")["starting_model"]
    assert summary["transfer.full_pool_vs_scratch"] == pytest.approx(mean, rel=1e-5)
    assert summary["transfer.random_aulc_vs_scratch"] == pytest.approx(0.1)
    assert summary["transfer.random_labels_to_common_95"] == pytest.approx(26.45)
    assert summary["best_start"] == "transfer"


def test_second_sentence_gives_the_worth_of_the_starting_model(tmp_path: Path) -> None:
    _, doc = hand_regimes(tmp_path)
    view = doc["overview"]
    orders = {tuple(regime["ranking"]) for regime in doc["regimes"].values()}
    assert view["ranking_changes"] is (len(orders) > 1)
    # scratch's random reaches only the 50% level (0.405, at round 0 in both regimes).
    assert view["level"]["key"] == "50"
    second = view["sentences"][1]
    assert second.startswith(
        "Trained on the full pool, the CNN's test accuracy is 81.0% from scratch and "
        "91.3% from transfer (+10.33 points vs scratch, 95% interval "
    )
    assert second.endswith(
        "; to reach 40.5% (50% of the scratch full-pool accuracy), random sampling needs a "
        "median of 10 labels from scratch and 10 labels from transfer (transfer saves 0 "
        "labels, 95% interval 0 to 0, over 2 paired seeds)."
    )


def overview_of(tmp_path: Path, **kw: object) -> dict:
    root = make_project(tmp_path, rounds=4, ablations=False, **kw)
    analyse_project(root)
    return strict_json(root / "metrics" / "analysis.json")["overview"]


def test_overview_when_a_strategy_wins_in_every_regime(tmp_path: Path) -> None:
    view = overview_of(tmp_path, seeds=range(8))
    assert view["any_significant"] is True and view["significant_starts"] == list(STARTS)
    first = view["sentences"][0]
    assert first.startswith(
        "Active learning beats random sampling significantly (Benjamini–Hochberg over the "
        "distinct arms of each regime, α = 0.05) in the scratch, transfer and selfsup regimes: "
        "in scratch, margin needs "
    )
    for start in STARTS:
        e = view["per_start"][start]
        assert e["best_strategy"] == "margin" and e["saving"]["labels"] > 0
        assert f"in {start}, margin needs {e['saving']['labels']:.0f} fewer labels" in first
    # Every margin arm is better on all 8 seeds: p = 2/256. Within a regime BH over two
    # arms doubles it; over all six tests the three margin arms get 6/3 x 2/256 too.
    assert view["n_comparisons_all"] == 6
    for e in view["per_start"].values():
        assert e["p_adjusted"] == pytest.approx(4 / 2**8)
        assert e["p_adjusted_all"] == pytest.approx(4 / 2**8) and e["significant_all"]
    assert "no strategy does" not in first


def test_overview_when_no_strategy_wins(tmp_path: Path) -> None:
    view = overview_of(tmp_path, seeds=range(5))  # 5 seeds: p >= 1/16 after BH
    assert view["any_significant"] is False and view["significant_starts"] == []
    first = view["sentences"][0]
    assert first.startswith(
        "No strategy beats random sampling significantly in any of the 3 regimes "
        "(Benjamini–Hochberg over the distinct arms of each regime, α = 0.05); the arms with the "
        "largest mean AULC (negative: behind random): margin in scratch, AULC +"
    )
    assert "margin in transfer, AULC +" in first and "margin in selfsup, AULC +" in first
    assert "adjusted p = 0.125 within the regime" in first
    assert all(e["best_strategy"] is None for e in view["per_start"].values())
    assert "best" not in first and "beats random sampling significantly (" not in first


def test_overview_when_a_strategy_wins_in_one_regime_only(tmp_path: Path) -> None:
    # margin is random's indistinguishable twin from scratch and selfsup, 2.5x from transfer.
    same = {"margin": 1.0}
    view = overview_of(tmp_path, seeds=range(8), speedups={"scratch": same, "selfsup": same})
    assert view["significant_starts"] == ["transfer"]
    transfer = view["per_start"]["transfer"]
    saving = transfer["saving"]
    # The saving quoted is at a target both reach in at least half the 8 seeds.
    assert saving["labels"] > 0 and saving["low"] > 0 and saving["n_pairs"] >= 4
    assert saving["fraction"] < 0.98  # not a target random and margin miss in most seeds
    first = view["sentences"][0]
    assert first.startswith(
        "Active learning beats random sampling significantly (Benjamini–Hochberg over the "
        f"distinct arms of each regime, α = 0.05) in the transfer regime: margin needs "
        f"{saving['labels']:.0f} fewer labels than random sampling to reach "
    )
    # Targets stay shares of transfer's full pool, never switched by the outcome.
    assert saving["target_reference"] == "full_pool_baseline"
    assert "; in scratch and selfsup no strategy does (largest mean AULC: " in first
    for start in ("scratch", "selfsup"):
        assert view["per_start"][start]["significant"] is False
        assert view["per_start"][start]["best_strategy"] is None
    # The study-wide adjustment is reported next to the per-regime one.
    assert transfer["p_adjusted"] == pytest.approx(2 * 2 / 2**8)
    assert transfer["p_adjusted_all"] >= transfer["p_adjusted"]
    assert f"over all {view['n_comparisons_all']} regime × arm tests" in first


def test_detectable_effect_is_the_inverse_of_seeds_for_power() -> None:
    from foxdog.analysis.stats import detectable_effect, paired_t_power, seeds_for_power

    sd = 0.0159
    effect = detectable_effect(sd, 8, 0.05, 0.8)
    assert paired_t_power(effect, sd, 8, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert seeds_for_power(sd, effect, 0.05, 0.8) == 8
    # More seeds see smaller differences; a smaller one at 8 seeds is under-powered.
    assert detectable_effect(sd, 30, 0.05, 0.8) < effect
    assert paired_t_power(0.9 * effect, sd, 8, 0.05) < 0.8
    assert detectable_effect(0.0, 8, 0.05, 0.8) == 0.0
    assert math.isnan(detectable_effect(float("nan"), 8, 0.05, 0.8))
    assert math.isnan(detectable_effect(sd, 1, 0.05, 0.8))

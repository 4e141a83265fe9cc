"""Tests of the ``analyze`` stage: pure statistics on hand-made data with known answers,
then the whole stage on projects from :mod:`synthetic_results`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog import analysis as an
from foxdog.config import AblationConfig, ActiveConfig, AnalysisConfig, Params, load_params
from foxdog.data.arrays import load_split

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import NASTY_BREED, make_project  # noqa: E402

# --------------------------------------------------------------------------- helpers

# plots/curves.csv, as docs/formats.md documents it.
CURVES_COLUMNS = ["strategy", "round", "n_labels", "metric", "mean", "low", "high"]


def analyse_project(root: Path, params: Params | None = None) -> dict:
    params = params or load_params(root / "params.yaml")
    return an.run_analysis(
        params,
        root / "results",
        root / "metrics" / "baseline.json",
        root / "metrics",
        root / "plots",
    )


def output_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("metrics", "plots")
        for p in sorted((root / folder).glob("*"))
    }


def strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5-seed fake project, analysed once."""
    root = make_project(tmp_path_factory.mktemp("p5"), seeds=range(5))
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

    rounds = pd.read_csv(a / "results" / "margin" / "rounds.csv")
    assert len(rounds) == 2 * 4 and rounds["round"].max() == 3
    assert rounds.loc[rounds["round"] == 0, "kappa_stop"].isna().all()
    queries = pd.read_csv(a / "results" / "margin" / "queries.csv", dtype={"id": str})
    assert len(queries) == 2 * 3 * 20 and set(queries["id"]) <= set(pool.ids)
    ablated = pd.read_csv(a / "results" / "ablations" / "label_noise" / "random" / "rounds.csv")
    assert sorted(ablated["label_noise"].unique()) == [0.1, 0.2]


# --------------------------------------------------------------------------- intervals, AULC


def test_t_interval_is_the_student_interval() -> None:
    values = [0.70, 0.72, 0.75, 0.71, 0.80]
    mean, low, high = an.t_interval(values, 0.95)
    half = 2.7764451051977987 * np.std(values, ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert (mean, low, high) == pytest.approx((np.mean(values), mean - half, mean + half))
    assert an.t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    one = an.t_interval([0.3, math.nan])  # one seed: no interval, not a fake zero width
    assert one[0] == 0.3 and math.isnan(one[1]) and math.isnan(one[2])
    assert an.t_interval([0.0, 0.1, 0.2], bounds=(0.0, 1.0))[1] == 0.0


@pytest.mark.parametrize("n_seeds", [5, 10])
def test_t_interval_covers_the_true_mean_at_its_nominal_rate(n_seeds: int) -> None:
    rng = np.random.default_rng(n_seeds)
    true_mean, trials = 0.7, 2000
    draws = rng.normal(true_mean, 0.03, size=(trials, n_seeds))
    covered = 0
    for row in draws:
        _, low, high = an.t_interval(row, 0.95)
        covered += low <= true_mean <= high
    assert covered / trials >= 0.93


def test_aulc_is_the_mean_height_of_the_curve() -> None:
    assert an.aulc([10, 20, 30], [0.7, 0.7, 0.7]) == pytest.approx(0.7)
    assert an.aulc([0, 10], [0.0, 1.0]) == pytest.approx(0.5)
    assert an.aulc([30, 10, 20], [0.7, 0.5, 0.6]) == pytest.approx(0.6)  # order-free
    assert an.aulc([20], [0.8]) == pytest.approx(0.8)
    assert math.isnan(an.aulc([], []))


# --------------------------------------------------------------------------- targets, savings


def test_crossing_labels_interpolates_between_rounds() -> None:
    n = [20, 40, 60, 80, 100]
    acc = [0.60, 0.70, 0.79, 0.81, 0.80]
    # 0.80 lies halfway between 0.79 (60 labels) and 0.81 (80 labels): 70, not 80.
    assert an.crossing_labels(n, acc, 0.80) == pytest.approx(70)
    assert an.crossing_labels(n, acc, 0.75) == pytest.approx(40 + 20 * 5 / 9)
    assert an.crossing_labels(n, acc, 0.60) == 20
    assert math.isnan(an.crossing_labels(n, acc, 0.82))
    # Equal to the target up to the 6-decimal rounding of the stored accuracies.
    assert an.crossing_labels([10, 20], [0.5, round(0.8 * 0.95, 6)], 0.8 * 0.95) == 20


def test_censored_median_counts_never_as_infinity() -> None:
    assert an.censored_median([100.0, 120.0, math.nan]) == 120
    assert math.isnan(an.censored_median([100.0, math.nan, math.nan]))
    assert an.censored_median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert math.isnan(an.censored_median([]))


def test_saving_is_paired_over_the_seeds_where_both_reached() -> None:
    cfg = AnalysisConfig()
    mine = pd.Series({0: 80.0, 1: 90.0, 2: 100.0, 3: 70.0, 4: math.nan})
    random = pd.Series({0: 120.0, 1: 110.0, 2: 130.0, 3: math.nan, 4: math.nan})
    s = an.paired_saving(mine, random, cfg)
    assert s["status"] == "ok" and s["n_pairs"] == 3
    assert s["labels"] == pytest.approx(np.mean([40, 20, 30]))
    assert s["low"] < s["labels"] < s["high"]
    assert (s["n_strategy_only"], s["n_random_only"], s["n_neither"]) == (1, 0, 1)
    only_mine = an.paired_saving(pd.Series({0: 80.0}), pd.Series({0: math.nan}), cfg)
    assert only_mine["status"] == "random_not_reached" and math.isnan(only_mine["labels"])
    none = an.paired_saving(pd.Series({0: math.nan}), pd.Series({0: 90.0}), cfg)
    assert none["status"] == "strategy_not_reached"


def test_targets_fall_back_to_the_best_final_accuracy_when_out_of_budget() -> None:
    rounds = hand_rounds()  # finals: random 0.705, margin 0.905
    reachable = an.target_reference(rounds, 0.9, [0.9, 0.95])
    assert reachable == {"reference": "full_pool_baseline", "accuracy": 0.9, "strategy": None}
    far = an.target_reference(rounds, 1.0, [0.9, 0.95])  # 95% of 1.0 > 0.905
    assert far["reference"] == "best_final_accuracy" and far["strategy"] == "margin"
    assert far["accuracy"] == pytest.approx(0.905)


def test_target_keys_are_integer_percents() -> None:
    assert [an.target_key(t) for t in (0.9, 0.95, 0.98, 1.0)] == ["90", "95", "98", "100"]
    assert an.target_key(0.975) == "97_5"


# --------------------------------------------------------------------------- stopping, plateau


def test_stop_round_needs_the_window_mean_at_the_threshold() -> None:
    kappa = [math.nan, 0.95, 0.99, 0.995, 0.98, 0.999, 1.0, 1.0]
    # Windows of 3 ending at 3: (0.95, 0.99, 0.995) mean 0.978; at 4: 0.988; at 5: 0.991.
    assert an.stop_round(kappa, 0.99, 3) == 5
    assert an.stop_round(kappa, 0.99, 1) == 2
    assert an.stop_round(kappa, 0.999, 2) == 6
    assert an.stop_round([math.nan, 0.5, 0.6], 0.99, 1) is None
    assert an.stop_round([math.nan, 1.0], 0.99, 2) is None  # round 0 has no kappa


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
    result = an.plateau(by_seed, labels, cfg)
    assert result["round"] is None and math.isnan(result["n_labels"])
    assert result["final_slope"]["high"] > cfg.slope_threshold
    # A flat curve (slopes around 0 with noise) is called flat from the start.
    flat = linear_seeds([-0.1e-4, 0.0, 0.1e-4, 0.05e-4, -0.05e-4], noise=0.001)
    result = an.plateau({s: p for s, p in flat.groupby("seed")}, labels, cfg)
    assert result["round"] == 0 and result["n_labels"] == 20


def test_flat_from_needs_every_later_window_flat() -> None:
    assert an.flat_from([5e-4, 2e-4, 5e-5, 1e-5], 1e-4) == 2
    assert an.flat_from([5e-5, 2e-4, 5e-5], 1e-4) == 2
    assert an.flat_from([5e-5, 5e-5, 2e-4], 1e-4) is None
    assert an.flat_from([5e-5, math.nan, 5e-5], 1e-4) == 2


# --------------------------------------------------------------------------- tests, win/loss


def seeds_series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=range(len(values)), dtype=float)


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_better_on_every_seed_gives_the_smallest_exact_p(n: int) -> None:
    ref = seeds_series([0.70 + 0.01 * k for k in range(n)])
    better = ref + np.linspace(0.02, 0.05, n)
    test = an.paired_difference(better, ref, AnalysisConfig())
    assert test["method"] == "exact sign-flip permutation"
    assert test["p_value"] == pytest.approx(2 / 2**n)
    assert test["min_p_value"] == pytest.approx(2 / 2**n)
    assert test["mean_difference"] == pytest.approx(0.035)
    assert test["low"] < 0.035 < test["high"]
    assert an.paired_difference(ref, better, AnalysisConfig())["p_value"] == pytest.approx(2 / 2**n)


def test_sign_flip_test_on_a_small_case_by_hand() -> None:
    # Sums of +-1 +-2 +-3: 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8 patterns.
    assert an.sign_flip_test([1.0, 2.0, 3.0]) == (0.25, "exact sign-flip permutation")
    # Observed sum 1 - 2 + 3 = 2: |sum| >= 2 in 6 of 8 patterns.
    assert an.sign_flip_test([1.0, -2.0, 3.0])[0] == pytest.approx(0.75)
    # |mean| of patterns of (3, 1): 2, 1, 1, 2 -> p = 2/4.
    assert an.sign_flip_test([3.0, 1.0])[0] == pytest.approx(0.5)


def test_sign_flip_test_with_ties_and_many_seeds() -> None:
    # Zero differences are the same under either sign: (0, 0, 1) behaves like (1).
    assert an.sign_flip_test([0.0, 0.0, 1.0])[0] == pytest.approx(1.0)
    assert an.sign_flip_test([0.0, 2.0, 2.0, 2.0])[0] == pytest.approx(0.25)
    assert an.sign_flip_test([0.0, 0.0]) == (1.0, "none (identical on every seed)")
    p, method = an.sign_flip_test(np.linspace(0.01, 0.03, 18), max_exact=12)
    assert method == "Monte Carlo sign-flip permutation" and p < 0.001


def test_identical_strategies_are_not_different() -> None:
    ref = seeds_series([0.7, 0.72, 0.71])
    test = an.paired_difference(ref.copy(), ref, AnalysisConfig())
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
    table = an.win_tie_loss(per_seed, 0.005).set_index(["strategy", "opponent"])
    assert len(table) == 6
    assert table.loc[("margin", "random")].tolist() == [4, 0, 0]
    assert table.loc[("random", "margin")].tolist() == [0, 0, 4]
    assert table.loc[("twin", "random")].tolist() == [0, 4, 0]


def test_identical_arms_are_found_from_the_queries() -> None:
    def queries(ids: list[str]) -> pd.DataFrame:
        rows = [(0, 1, rank, i) for rank, i in enumerate(ids)]
        return pd.DataFrame(rows, columns=["seed", "round", "rank", "id"])

    same = queries(["a", "b"])
    arms = an.identical_arms(
        {
            "random": queries(["b", "a"]),
            "margin": same,
            "entropy": same.iloc[::-1].reset_index(drop=True),  # row order does not matter
            "bald": None,  # no queries.csv: its own arm
        }
    )
    assert arms == [["random"], ["margin", "entropy"], ["bald"]]
    assert an.arm_name(arms[1]) == "margin = entropy"


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
    an.compare_to_reference(groups, cfg, [["random"], ["margin", "entropy"], ["bald"]])
    margin, entropy = groups["margin"]["test_vs_random"], groups["entropy"]["test_vs_random"]
    assert margin == entropy and margin["n_comparisons"] == 2  # not 3: one arm, one test
    assert margin["p_value"] == pytest.approx(2 / 2**7)
    assert margin["p_adjusted"] == pytest.approx(2 * 2 / 2**7)  # BH over two arms
    assert margin["significant"] and margin["verdict"] == "better"
    assert groups["margin"]["arm"] == "margin = entropy"
    decided = an.verdict(groups, cfg)
    assert decided["best_strategy"] == "margin" and decided["best_arm"] == "margin = entropy"
    assert decided["text"].startswith("margin = entropy is significantly better")


def test_no_best_strategy_without_a_significant_difference() -> None:
    cfg = AnalysisConfig()
    ref = seeds_series([0.70 + 0.01 * k for k in range(5)])
    groups = {
        "random": {"per_seed_aulc": ref, "targets": {}},
        "margin": {"per_seed_aulc": ref + 0.03, "targets": {}},  # 5 seeds: p >= 1/16
    }
    an.compare_to_reference(groups, cfg)
    decided = an.verdict(groups, cfg)
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
    an.compare_to_reference(groups, cfg)
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
                        "f1": acc[r],
                        "log_loss": 1 - acc[r],
                        "ece": 0.05,
                        "fox_fraction_queried": math.nan if r == 0 else 0.5,
                        "noisy_labels": 0,
                        "kappa_stop": kappas[strategy][r],
                        "fit_seconds": 1.0,
                        "query_seconds": 0.0 if r == 0 else 0.5,
                    }
                )
    return pd.DataFrame(rows)


def test_curve_bands_long_form() -> None:
    curves = an.curve_bands(hand_rounds(), AnalysisConfig())
    assert list(curves.columns) == CURVES_COLUMNS
    assert set(curves["metric"]) == set(an.CURVE_METRICS) - {"val_accuracy"}  # not in the data
    assert curves["strategy"].unique().tolist() == ["random", "margin"]
    kappa = curves[curves["metric"] == "kappa_stop"]
    assert 0 not in set(kappa["round"])  # no kappa at round 0: no row
    acc = curves[(curves["metric"] == "accuracy") & (curves["strategy"] == "margin")]
    assert acc["mean"].tolist() == pytest.approx([0.505, 0.805, 0.905])
    assert acc["n_labels"].tolist() == [10, 20, 30]
    assert ((curves["low"] <= curves["mean"]) & (curves["mean"] <= curves["high"])).all()
    lc = an.learning_curves(curves)
    assert list(lc.columns) == ["strategy", "n_labels", "accuracy"] and len(lc) == 6


def write_hand_project(root: Path) -> Params:
    frame = hand_rounds()
    for strategy, part in frame.groupby("strategy"):
        (root / "results" / strategy).mkdir(parents=True)
        part.to_csv(root / "results" / strategy / "rounds.csv", index=False)
    (root / "metrics").mkdir()
    (root / "metrics" / "baseline.json").write_text(json.dumps({"accuracy": {"mean": 1.0}}))
    return Params(
        active=ActiveConfig(
            strategies=("random", "margin"), seeds=(0, 1), initial_size=10, query_size=10, rounds=2
        ),
        ablations=AblationConfig(strategies=()),
        analysis=AnalysisConfig(targets=(0.5, 0.95), stop_window=2),
    )


def test_run_analysis_on_hand_made_results(tmp_path: Path) -> None:
    params = write_hand_project(tmp_path)
    summary = analyse_project(tmp_path, params)
    # Random: (0.55 + 0.65) / 2 + 0.005 (seed 1 is 0.01 higher); margin: (0.65 + 0.85) / 2.
    assert summary["random.aulc"] == pytest.approx(0.605)
    assert summary["margin.aulc"] == pytest.approx(0.755)
    # Two seeds: the smallest possible p is 2/4, so no strategy is named best.
    assert summary["best_strategy"] is None and summary["best_arm"] == "margin"
    assert summary["margin.p_value_vs_random"] == pytest.approx(0.5)
    # 95% of the baseline (1.0) is out of reach: targets are shares of margin's final 0.905.
    assert summary["target_reference"] == "best_final_accuracy"
    assert summary["target_reference_strategy"] == "margin"
    # 50% of 0.905 = 0.4525: both start above it.
    assert summary["random.labels_to_50"] == 10 and summary["margin.labels_to_50"] == 10
    assert summary["margin.saving_vs_random_50"] == 0
    # 95% of 0.905 = 0.85975: margin seed 0 crosses between 0.8 (20) and 0.9 (30) at
    # 25.975 labels, seed 1 between 0.81 and 0.91 at 24.975; the median is 25.475.
    assert summary["margin.labels_to_95"] == pytest.approx(25.475)
    assert summary["random.labels_to_95"] is None and summary["random.seeds_reached_95"] == 0
    assert summary["margin.saving_vs_random_95"] is None  # random never got there
    # kappa_stop 0.99, 0.995 at rounds 1-2: window-2 mean 0.9925 >= 0.99 at round 2.
    assert summary["margin.stop_labels"] == 30 and summary["margin.stop_seeds"] == 1
    assert summary["random.stop_labels"] is None and summary["random.stop_seeds"] == 0

    table = pd.read_csv(tmp_path / "metrics" / "strategies.csv").set_index("strategy")
    assert table.loc["margin", "saving_vs_random_95_status"] == "random_not_reached"
    assert table.loc["margin", "test_vs_random"] == "exact sign-flip permutation"
    assert table.loc["margin", "stop_accuracy_change"] == 0  # stops at the last round
    assert table.loc["margin", "final_balanced_accuracy"] == pytest.approx(0.9)
    assert pd.isna(table.loc["random", "p_value_vs_random"])
    diff = pd.read_csv(tmp_path / "plots" / "diff_vs_random.csv")
    assert diff["mean_difference"].tolist() == pytest.approx([0.0, 0.2, 0.2])
    assert diff["arm"].unique().tolist() == ["margin"]
    ablations = pd.read_csv(tmp_path / "metrics" / "ablations.csv")
    assert ablations.empty and "aulc" in ablations.columns
    assert strict_json(tmp_path / "metrics" / "summary.json") == summary


# --------------------------------------------------------------------------- missing inputs


def test_missing_results_name_the_stage(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=(0, 1), rounds=2)
    (root / "results" / "margin" / "rounds.csv").unlink()
    with pytest.raises(FileNotFoundError) as err:
        analyse_project(root)
    message = str(err.value)
    assert "\n" not in message
    assert str(root / "results" / "margin" / "rounds.csv") in message
    assert "dvc repro al@margin" in message
    assert not (root / "metrics" / "summary.json").exists()


def test_missing_ablation_and_baseline_name_their_stages(tmp_path: Path) -> None:
    root = make_project(tmp_path, seeds=(0, 1), rounds=2)
    (root / "results" / "ablations" / "query_size" / "margin" / "rounds.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"dvc repro ablate@query_size-margin"):
        analyse_project(root)
    (root / "metrics" / "baseline.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"baseline.json: not found .*dvc repro baseline"):
        analyse_project(root)


def test_malformed_results_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "rounds.csv"
    path.write_text("strategy,seed\nrandom,0\n")
    with pytest.raises(ValueError, match=r"rounds.csv: missing columns .*al@random"):
        an.read_rounds(path, "al@random")
    path.write_text("")
    with pytest.raises(ValueError, match=r"not a readable CSV"):
        an.read_rounds(path, "al@random")


# --------------------------------------------------------------------------- whole stage


def test_outputs_exist_with_the_documented_columns(project: Path) -> None:
    curves = pd.read_csv(project / "plots" / "curves.csv")
    assert list(curves.columns) == CURVES_COLUMNS
    assert ((curves["low"] <= curves["mean"]) & (curves["mean"] <= curves["high"])).all()
    lc = pd.read_csv(project / "plots" / "learning_curves.csv")
    assert list(lc.columns) == ["strategy", "n_labels", "accuracy"] and len(lc) == 3 * 7
    winloss = pd.read_csv(project / "metrics" / "winloss.csv")
    assert list(winloss.columns) == ["strategy", "opponent", "wins", "ties", "losses"]
    assert (winloss[["wins", "ties", "losses"]].sum(axis=1) == 5).all()
    table = pd.read_csv(project / "metrics" / "strategies.csv")
    assert table["strategy"].tolist() == ["random", "margin", "entropy"]
    for k in ("90", "95", "98"):
        assert {f"labels_to_{k}", f"saving_vs_random_{k}", f"saving_vs_random_{k}_status"} <= set(
            table.columns
        )
    ablations = pd.read_csv(project / "metrics" / "ablations.csv")
    assert len(ablations) == 3 * 3 * 2  # factors x (two levels + default) x strategies
    assert ablations["is_default"].sum() == 3 * 2


def test_margin_beats_random_and_entropy_ties(project: Path) -> None:
    summary = strict_json(project / "metrics" / "summary.json")
    # Five seeds: the exact test cannot go below 1/16, so no strategy is named best.
    assert summary["best_strategy"] is None and summary["best_arm"] == "margin"
    assert summary["margin.aulc"] > summary["random.aulc"] + 0.03
    assert summary["margin.aulc_difference_vs_random_low"] > 0
    assert summary["margin.labels_to_95"] < summary["random.labels_to_95"]
    assert summary["margin.saving_vs_random_95"] > 0
    assert summary["random.labels_to_98"] is None  # the fake random never gets there
    assert summary["margin.p_value_vs_random"] == pytest.approx(0.0625)
    assert summary["entropy.p_value_vs_random"] > 0.2
    winloss = pd.read_csv(project / "metrics" / "winloss.csv").set_index(["strategy", "opponent"])
    assert winloss.loc[("margin", "random")].tolist() == [5, 0, 0]
    assert winloss.loc[("entropy", "random")].tolist() == [0, 5, 0]

    doc = strict_json(project / "metrics" / "analysis.json")
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


def test_summary_is_flat_and_matches_the_tables(project: Path) -> None:
    summary = strict_json(project / "metrics" / "summary.json")
    assert all(not isinstance(v, dict | list) for v in summary.values())
    assert summary["baseline.accuracy"] == pytest.approx(0.8805)
    table = pd.read_csv(project / "metrics" / "strategies.csv").set_index("strategy")
    for s in ("random", "margin", "entropy"):
        assert summary[f"{s}.aulc"] == pytest.approx(table.loc[s, "aulc"])
        assert summary[f"{s}.stop_seeds"] == pytest.approx(table.loc[s, "stop_seeds"])
    ablations = pd.read_csv(project / "metrics" / "ablations.csv")
    default = ablations[(ablations["factor"] == "label_noise") & ablations["is_default"]]
    assert default.set_index("strategy").loc["margin", "aulc"] == pytest.approx(
        summary["margin.aulc"]
    )
    noisy = ablations[(ablations["factor"] == "label_noise")].set_index(["strategy", "level"])
    assert noisy.loc[("margin", 0.2), "aulc"] < noisy.loc[("margin", 0.0), "aulc"]


def test_ablation_levels_share_the_ablation_seeds(tmp_path: Path) -> None:
    # The main run has more seeds than the ablations; the default level must not use them.
    root = make_project(tmp_path, seeds=range(7), rounds=3)
    analyse_project(root)
    ablations = pd.read_csv(root / "metrics" / "ablations.csv")
    assert set(ablations["n_seeds"]) == {len(AblationConfig().seeds)}
    summary = strict_json(root / "metrics" / "summary.json")
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
    summary = analyse_project(root)
    doc = strict_json(root / "metrics" / "analysis.json")
    assert doc["strategies"]["margin"]["test_vs_random"]["method"] == "exact sign-flip permutation"
    assert summary["margin.p_value_vs_random"] == pytest.approx(2 / 2**8)
    assert summary["entropy.p_value_vs_random"] > 0.2
    # Two strategies against random: Benjamini-Hochberg doubles the smaller p-value.
    assert summary["margin.p_adjusted_vs_random"] == pytest.approx(2 * 2 / 2**8)
    margin = doc["strategies"]["margin"]["test_vs_random"]
    assert margin["significant"] is True and margin["n_comparisons"] == 2
    assert summary["best_strategy"] == "margin" and summary["best_significant"] is True


def test_identical_arms_in_a_project_are_one_arm(tmp_path: Path) -> None:
    # least_confident makes exactly margin's run (tests/synthetic_results.py TWINS).
    strategies = ("random", "least_confident", "margin", "entropy")
    root = make_project(tmp_path, strategies=strategies, seeds=range(8), rounds=4, ablations=False)
    summary = analyse_project(root)
    doc = strict_json(root / "metrics" / "analysis.json")
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
    # 20 + 6 x {20, 25, 100} labels: the smallest common final budget is 140.
    assert sorted(sizes["final_labels"].unique()) == [140, 170, 620]
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
        path = tmp_path / "results" / strategy / "rounds.csv"
        frame = pd.read_csv(path).drop(columns=["kappa_stop"]).assign(kappa_prev=0.5)
        frame.to_csv(path, index=False)
    summary = analyse_project(tmp_path, params)
    assert summary["margin.stop_labels"] is None and summary["margin.stop_seeds"] is None
    doc = strict_json(tmp_path / "metrics" / "analysis.json")
    assert doc["strategies"]["margin"]["stop"]["available"] is False


def test_fox_share_and_baseline_use_the_same_t_interval(project: Path) -> None:
    rounds = pd.read_csv(project / "results" / "margin" / "rounds.csv")
    per_seed = rounds[rounds["round"] >= 1].groupby("seed")["fox_fraction_queried"].mean()
    mean, low, high = an.t_interval(per_seed, 0.95)
    table = pd.read_csv(project / "metrics" / "strategies.csv").set_index("strategy")
    got = table.loc["margin", ["fox_share", "fox_share_low", "fox_share_high"]].tolist()
    assert got == pytest.approx([mean, low, high], abs=1e-6)
    doc = strict_json(project / "metrics" / "analysis.json")
    base = json.loads((project / "metrics" / "baseline.json").read_text())
    _, low, high = an.t_interval(base["accuracy"]["per_seed"], 0.95)
    assert (doc["baseline"]["low"], doc["baseline"]["high"]) == pytest.approx((low, high))

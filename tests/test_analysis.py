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


def analyse_project(root: Path) -> dict:
    params = load_params(root / "params.yaml")
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
    assert rounds.loc[rounds["round"] == 0, "kappa_prev"].isna().all()
    queries = pd.read_csv(a / "results" / "margin" / "queries.csv", dtype={"id": str})
    assert len(queries) == 2 * 3 * 20 and set(queries["id"]) <= set(pool.ids)
    ablated = pd.read_csv(a / "results" / "ablations" / "label_noise" / "random" / "rounds.csv")
    assert sorted(ablated["label_noise"].unique()) == [0.1, 0.2]


# --------------------------------------------------------------------------- bootstrap, AULC


def test_bootstrap_band_contains_the_mean_and_is_deterministic() -> None:
    values = [0.70, 0.72, 0.75, 0.71, 0.80]
    mean, low, high = an.bootstrap_ci(values, 1000)
    assert mean == pytest.approx(np.mean(values))
    assert low <= mean <= high and low >= min(values) and high <= max(values)
    assert an.bootstrap_ci(values, 1000) == (mean, low, high)
    assert an.bootstrap_ci([0.5, 0.5, 0.5], 200) == (0.5, 0.5, 0.5)
    assert an.bootstrap_ci([0.3, math.nan], 200) == (0.3, 0.3, 0.3)
    assert all(math.isnan(v) for v in an.bootstrap_ci([math.nan], 200))


def test_aulc_is_the_mean_height_of_the_curve() -> None:
    assert an.aulc([10, 20, 30], [0.7, 0.7, 0.7]) == pytest.approx(0.7)
    assert an.aulc([0, 10], [0.0, 1.0]) == pytest.approx(0.5)
    assert an.aulc([30, 10, 20], [0.7, 0.5, 0.6]) == pytest.approx(0.6)  # order-free
    assert an.aulc([20], [0.8]) == pytest.approx(0.8)
    assert math.isnan(an.aulc([], []))


# --------------------------------------------------------------------------- targets, savings


def test_labels_to_reach_finds_the_first_crossing() -> None:
    n = [20, 40, 60, 80, 100]
    acc = [0.60, 0.70, 0.79, 0.81, 0.80]
    assert an.labels_to_reach(n, acc, 0.80) == 80
    assert an.labels_to_reach(n, acc, 0.60) == 20
    assert math.isnan(an.labels_to_reach(n, acc, 0.82))
    # 0.95 * 0.8 is 0.7599999999999999 in floating point; a stored 0.76 reaches it,
    # and so must a value equal to the target up to the 6-decimal rounding.
    assert an.labels_to_reach([10, 20], [0.5, 0.76], 0.95 * 0.8) == 20
    assert an.labels_to_reach([10, 20], [0.5, round(0.8 * 0.95, 6)], 0.8 * 0.95) == 20


def test_label_saving_says_why_it_is_missing() -> None:
    ok = an.label_saving(120.0, 80.0, 140.0)
    assert (ok["labels"], ok["status"]) == (40, "ok")
    assert ok["percent"] == pytest.approx(100 * 40 / 120)
    beyond = an.label_saving(math.nan, 80.0, 140.0)
    assert beyond["status"] == "random_not_reached" and beyond["lower_bound"] == 60
    assert math.isnan(beyond["labels"])
    assert an.label_saving(120.0, math.nan, 140.0)["status"] == "strategy_not_reached"
    assert an.label_saving(math.nan, math.nan, 140.0)["status"] == "neither_reached"


def test_target_keys_are_integer_percents() -> None:
    assert [an.target_key(t) for t in (0.9, 0.95, 0.98, 1.0)] == ["90", "95", "98", "100"]
    assert an.target_key(0.975) == "97_5"


# --------------------------------------------------------------------------- plateaus


def test_kappa_plateau_needs_a_window_of_stable_rounds() -> None:
    kappa = [math.nan, 0.90, 0.96, 0.97, 0.99]
    assert an.kappa_plateau_round(kappa, 0.95, 2) == 3
    assert an.kappa_plateau_round(kappa, 0.95, 1) == 2
    assert an.kappa_plateau_round(kappa, 0.95, 3) == 4
    assert an.kappa_plateau_round([math.nan, 0.96, 0.90, 0.96, 0.97], 0.95, 2) == 4
    assert an.kappa_plateau_round([math.nan, 0.5, 0.6], 0.95, 1) is None


def test_pooled_plateau_is_the_upper_median_with_never_as_infinity() -> None:
    assert an.pooled_plateau([1, 2, None]) == 2
    assert an.pooled_plateau([1, None, None]) is None
    assert an.pooled_plateau([1, 2, 3, 4]) == 3
    assert an.pooled_plateau([]) is None


def test_slope_plateau_is_where_gains_stay_small() -> None:
    n = [20, 40, 60, 80, 100]
    # Gains per label: 0.005, 0.002, 0.0001, 0.0002 -> flat from index 2 on.
    acc = [0.60, 0.70, 0.74, 0.742, 0.746]
    assert an.slope_plateau_round(n, acc, 5e-4) == 2
    assert an.slope_plateau_round(n, acc, 1e-2) == 0
    assert an.slope_plateau_round(n, acc, 1e-4) is None  # last gain 2e-4 is not below
    # A late jump resets the plateau.
    assert an.slope_plateau_round(n, [0.6, 0.6, 0.6, 0.7, 0.7], 5e-4) == 3


# --------------------------------------------------------------------------- tests, win/loss


def seeds_series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=range(len(values)), dtype=float)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_better_on_every_seed_gives_the_smallest_exact_p(n: int) -> None:
    ref = seeds_series([0.70 + 0.01 * k for k in range(n)])
    better = ref + np.linspace(0.02, 0.05, n)
    test = an.paired_test(better, ref)
    assert test["method"] == "exact sign-flip permutation"
    assert test["p_value"] == pytest.approx(2 / 2**n)
    assert test["min_p_value"] == pytest.approx(2 / 2**n)
    assert an.paired_test(ref, better)["p_value"] == pytest.approx(2 / 2**n)


def test_wilcoxon_from_six_differing_seeds() -> None:
    ref = seeds_series([0.70 + 0.01 * k for k in range(8)])
    test = an.paired_test(ref + np.linspace(0.01, 0.08, 8), ref)
    assert test["method"] == "wilcoxon signed-rank"
    assert test["p_value"] == pytest.approx(2 / 2**8)


def test_identical_strategies_are_not_different() -> None:
    ref = seeds_series([0.7, 0.72, 0.71])
    test = an.paired_test(ref.copy(), ref)
    assert test["p_value"] == 1.0 and test["n_nonzero"] == 0
    assert test["method"].startswith("none")


def test_sign_flip_p_value_counts_patterns_as_extreme() -> None:
    assert an.sign_flip_p_value([0.1, -0.1]) == 1.0
    # |mean| of patterns of (3, 1): 2 (++), 1 (+-), 1 (-+), 2 (--) -> p = 2/4.
    assert an.sign_flip_p_value([3.0, 1.0]) == 0.5
    assert an.sign_flip_p_value([0.0, 0.0]) == 1.0


def test_win_tie_loss() -> None:
    per_seed = pd.DataFrame(
        {
            "random": [0.70, 0.71, 0.72, 0.73],
            "margin": [0.75, 0.76, 0.77, 0.78],
            "twin": [0.70, 0.714, 0.716, 0.73],  # within the tie tolerance of random
        }
    )
    table = an.win_tie_loss(per_seed).set_index(["strategy", "opponent"])
    assert len(table) == 6
    assert table.loc[("margin", "random")].tolist() == [4, 0, 0]
    assert table.loc[("random", "margin")].tolist() == [0, 0, 4]
    assert table.loc[("twin", "random")].tolist() == [0, 4, 0]


# --------------------------------------------------------------------------- curves


def hand_rounds() -> pd.DataFrame:
    """Two strategies x two seeds x rounds 0-2 at 10/20/30 labels, known curves."""
    rows = []
    curves = {"random": [0.5, 0.6, 0.7], "margin": [0.5, 0.8, 0.9]}
    kappas = {"random": [math.nan, 0.5, 0.6], "margin": [math.nan, 0.96, 0.97]}
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
                        "kappa_prev": kappas[strategy][r],
                        "fit_seconds": 1.0,
                        "query_seconds": 0.0 if r == 0 else 0.5,
                    }
                )
    return pd.DataFrame(rows)


def test_curve_bands_long_form() -> None:
    curves = an.curve_bands(hand_rounds(), 200)
    assert list(curves.columns) == CURVES_COLUMNS
    assert set(curves["metric"]) == set(an.CURVE_METRICS)
    assert curves["strategy"].unique().tolist() == ["random", "margin"]
    kappa = curves[curves["metric"] == "kappa_prev"]
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
        analysis=AnalysisConfig(targets=(0.5, 0.9), bootstrap=100, kappa_window=2),
    )


def test_run_analysis_on_hand_made_results(tmp_path: Path) -> None:
    params = write_hand_project(tmp_path)
    summary = an.run_analysis(
        params,
        tmp_path / "results",
        tmp_path / "metrics" / "baseline.json",
        tmp_path / "metrics",
        tmp_path / "plots",
    )
    # Random: (0.55 + 0.65) / 2 + 0.005 (seed 1 is 0.01 higher); margin: (0.65 + 0.85) / 2.
    assert summary["random.aulc"] == pytest.approx(0.605)
    assert summary["margin.aulc"] == pytest.approx(0.755)
    assert summary["best_strategy"] == "margin"
    assert summary["random.labels_to_50"] == 10 and summary["margin.labels_to_50"] == 10
    assert summary["margin.saving_vs_random_50"] == 0
    assert summary["margin.labels_to_90"] == 30 and summary["random.labels_to_90"] is None
    assert summary["margin.saving_vs_random_90"] is None  # random never got there
    assert summary["margin.p_value_vs_random"] == pytest.approx(0.5)  # 2 seeds: 2/4
    assert summary["margin.plateau_kappa_labels"] == 30  # stable at rounds 1 and 2
    assert summary["random.plateau_kappa_labels"] is None

    table = pd.read_csv(tmp_path / "metrics" / "strategies.csv").set_index("strategy")
    assert table.loc["margin", "saving_vs_random_90_status"] == "random_not_reached"
    assert table.loc["margin", "saving_vs_random_90_lower_bound"] == 0  # 30 - 30: "> 0"
    assert table.loc["margin", "test_vs_random"] == "exact sign-flip permutation"
    assert table.loc["margin", "plateau_kappa_round"] == 2
    assert pd.isna(table.loc["random", "p_value_vs_random"])
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
    assert summary["best_strategy"] == "margin"
    assert summary["margin.aulc"] > summary["random.aulc"] + 0.03
    assert summary["margin.labels_to_95"] < summary["random.labels_to_95"]
    assert summary["margin.saving_vs_random_95"] > 0
    assert summary["random.labels_to_98"] is None  # the fake random never gets there
    # Five seeds: the exact test cannot go below 1/16, so margin is not "significant".
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
    assert margin["targets"]["98"]["saving_vs_random"]["status"] == "random_not_reached"
    assert doc["targets"][1] == {"fraction": 0.95, "key": "95", "accuracy": 0.836475}
    assert doc["ranking"][0] == "margin" and doc["strategies"]["random"]["test_vs_random"] is None


def test_summary_is_flat_and_matches_the_tables(project: Path) -> None:
    summary = strict_json(project / "metrics" / "summary.json")
    assert all(not isinstance(v, dict | list) for v in summary.values())
    assert summary["baseline.accuracy"] == pytest.approx(0.8805)
    table = pd.read_csv(project / "metrics" / "strategies.csv").set_index("strategy")
    for s in ("random", "margin", "entropy"):
        assert summary[f"{s}.aulc"] == pytest.approx(table.loc[s, "aulc"])
        assert summary[f"{s}.plateau_kappa_labels"] == table.loc[s, "plateau_kappa_labels"]
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
    assert doc["strategies"]["margin"]["test_vs_random"]["method"] == "wilcoxon signed-rank"
    assert summary["margin.p_value_vs_random"] == pytest.approx(2 / 2**8)
    assert summary["entropy.p_value_vs_random"] > 0.2
    # Two strategies against random: Benjamini-Hochberg doubles the smaller p-value.
    assert summary["margin.p_adjusted_vs_random"] == pytest.approx(2 * 2 / 2**8)
    margin = doc["strategies"]["margin"]["test_vs_random"]
    assert margin["significant"] is True and margin["n_comparisons"] == 2


def test_one_lucky_strategy_among_many_is_not_significant() -> None:
    raw = {"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5, "e": math.nan}
    groups: dict = {"random": {"test_vs_random": None}}
    groups.update({k: {"test_vs_random": {"p_value": p}} for k, p in raw.items()})
    an.adjust_for_multiple_comparisons(groups, alpha=0.05)
    tests = {k: groups[k]["test_vs_random"] for k in raw}
    # Sorted 0.01, 0.03, 0.04, 0.5 over 4 finite tests: 0.04, 0.0533, 0.0533, 0.5.
    assert [round(tests[k]["p_adjusted"], 4) for k in "abcd"] == [0.04, 0.0533, 0.0533, 0.5]
    assert [tests[k]["significant"] for k in "abcde"] == [True, False, False, False, False]
    assert math.isnan(tests["e"]["p_adjusted"]) and tests["a"]["n_comparisons"] == 4

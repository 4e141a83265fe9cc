"""Across regimes: the starting-model comparison, study-wide tests, every headline choice."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foxdog.analysis.curves import target_key
from foxdog.analysis.groups import paired_saving
from foxdog.analysis.narrative import model_sentence, strategy_sentence
from foxdog.analysis.read import REFERENCE, reference_start
from foxdog.analysis.regime import Regime
from foxdog.analysis.stats import (
    arm_name,
    as_count,
    as_float,
    censored_median,
    crossing_labels,
    interval_dict,
    paired_difference,
    rank_value,
)
from foxdog.config import AnalysisConfig, Params


def baseline_seeds(baseline: Mapping[str, Any]) -> pd.Series:
    """Per-seed full-pool accuracy, indexed by baseline seed (position if seeds are missing)."""
    per = [float(v) for v in (baseline["accuracy"].get("per_seed") or [])]
    seeds = baseline.get("seeds") or []
    index = [int(s) for s in seeds] if len(seeds) == len(per) else list(range(len(per)))
    return pd.Series(per, index=index, dtype=np.float64)


def seed_crossings(rounds: pd.DataFrame, accuracy: float) -> pd.Series:
    """Per seed, the labels at which the accuracy curve first reaches ``accuracy``."""
    return pd.Series(
        {
            int(s): crossing_labels(p["n_labels"], p["accuracy"], accuracy)
            for s, p in rounds.sort_values(["seed", "round"]).groupby("seed", sort=True)
        },
        dtype=np.float64,
    )


# Choosing images "costs little next to training" when the slowest strategy's query time
# per seed is below this share of the mean training time per seed (the Insights page).
CHEAP_QUERY_SHARE = 0.1

# paired_saving's statuses, read with the reference start in random's place.
START_SAVING_STATUS = {
    "ok": "ok",
    "random_not_reached": "reference_not_reached",
    "strategy_not_reached": "start_not_reached",
    "neither_reached": "neither_reached",
}


def starting_model(regimes: Mapping[str, Regime], params: Params) -> dict[str, Any]:
    """``starting_model`` of ``metrics/analysis.json``: what each start is worth (module doc)."""
    cfg = params.analysis
    starts = list(regimes)
    ref = reference_start(starts)
    ref_regime = regimes[ref]
    ref_base = baseline_seeds(ref_regime.baseline)
    ref_random = ref_regime.groups.get(REFERENCE)
    ref_accuracy = float(ref_regime.baseline["accuracy"]["mean"])
    levels = [
        {"fraction": f, "key": target_key(f), "accuracy": f * ref_accuracy} for f in cfg.targets
    ]
    out_starts: dict[str, Any] = {}
    for start, regime in regimes.items():
        base = baseline_seeds(regime.baseline)
        band = interval_dict(base, cfg)
        entry: dict[str, Any] = {
            "full_pool": {
                "accuracy": float(regime.baseline["accuracy"]["mean"]),
                "low": band["low"],
                "high": band["high"],
                "n_seeds": len(base),
                "per_seed": {str(k): v for k, v in base.items()},
            },
            "full_pool_vs_reference": None
            if start == ref
            else paired_difference(base, ref_base, cfg),
            "random": None,
        }
        rnd = regime.groups.get(REFERENCE)
        if rnd is not None:
            compared = start != ref and ref_random is not None
            entry["random"] = {
                "aulc": {k: rnd["aulc"][k] for k in ("mean", "low", "high")},
                "final_accuracy": dict(rnd["final_accuracy"]),
                "final_labels": rnd["final_labels"],
                "aulc_vs_reference": paired_difference(
                    rnd["per_seed_aulc"], ref_random["per_seed_aulc"], cfg
                )
                if compared
                else None,
                "final_accuracy_vs_reference": paired_difference(
                    rnd["per_seed_final"], ref_random["per_seed_final"], cfg
                )
                if compared
                else None,
            }
        common = {}
        for level in levels:
            labels = {
                s: seed_crossings(regime.rounds[regime.rounds["strategy"] == s], level["accuracy"])
                for s in regime.groups
            }
            saving = None
            if rnd is not None and ref_random is not None and start != ref:
                ref_labels = seed_crossings(
                    ref_regime.rounds[ref_regime.rounds["strategy"] == REFERENCE],
                    level["accuracy"],
                )
                saving = paired_saving(labels[REFERENCE], ref_labels, cfg)
                saving["status"] = START_SAVING_STATUS[saving["status"]]
                saving["n_start_only"] = saving.pop("n_strategy_only")
                saving["n_reference_only"] = saving.pop("n_random_only")
            common[level["key"]] = {
                "fraction": level["fraction"],
                "accuracy": level["accuracy"],
                "strategies": {
                    s: {
                        "labels": as_count(censored_median(v)),
                        "seeds_reached": float(v.notna().mean()) if len(v) else math.nan,
                        "per_seed_labels": v,
                    }
                    for s, v in labels.items()
                },
                "random_saving_vs_reference": saving,
            }
        entry["common_targets"] = common
        out_starts[start] = entry
    best = max(starts, key=lambda s: rank_value(out_starts[s]["full_pool"]["accuracy"]))
    return {
        "reference_start": ref,
        "best_start": best,
        "best_start_vs_reference": out_starts[best]["full_pool_vs_reference"],
        "common_targets": levels,
        "starts": out_starts,
    }


def study_tests(regimes: Mapping[str, Regime], cfg: AnalysisConfig) -> list[dict[str, Any]]:
    """Every regime's distinct tested arm, with BH over all of them (``p_adjusted_all``)."""
    rows = []
    for start, regime in regimes.items():
        for members in regime.arms:
            if REFERENCE in members or members[0] not in regime.groups:
                continue
            test = regime.groups[members[0]].get("test_vs_random")
            if not test or "n_comparisons" not in test:
                continue
            rows.append(
                {
                    "start": start,
                    "arm": arm_name(members),
                    "strategy": members[0],
                    **{
                        k: test.get(k, math.nan)
                        for k in ("mean_difference", "low", "high", "p_value", "p_adjusted")
                    },
                    "n_pairs": test["n_pairs"],
                    "significant": bool(test["significant"]),
                    "verdict": test["verdict"],
                }
            )
    finite = [r for r in rows if not math.isnan(r["p_value"])]
    adjusted = (
        stats.false_discovery_control([r["p_value"] for r in finite], method="bh") if finite else []
    )
    for row, p in zip(finite, adjusted, strict=True):
        row["p_adjusted_all"] = float(p)
    for row in rows:
        row.setdefault("p_adjusted_all", math.nan)
        row["n_comparisons_all"] = len(finite)
        row["significant_all"] = bool(row["p_adjusted_all"] < cfg.alpha)
    return rows


def headline_saving(regime: Regime, strategy: str, cfg: AnalysisConfig) -> dict[str, Any] | None:
    """The strategy's paired saving at the highest regime target with enough paired seeds.

    Enough: both it and random reach the target in at least half the seeds, and in at
    least ``analysis.min_seeds`` (a saving over 2 of 8 seeds would say little).
    """
    group = regime.groups.get(strategy)
    if group is None:
        return None
    need = max(cfg.min_seeds, math.ceil(group["n_seeds"] / 2))
    for target in sorted(regime.targets, key=lambda t: -t["fraction"]):
        saving = group["targets"][target["key"]].get("saving_vs_random") or {}
        reached = saving.get("n_reached_both", saving.get("n_pairs", 0))
        if reached >= need and math.isfinite(saving["labels"]):
            return {
                "key": target["key"],
                "fraction": target["fraction"],
                "accuracy": target["accuracy"],
                "target_reference": regime.document["target_reference"]["reference"],
                **{k: saving[k] for k in ("labels", "low", "high", "percent", "n_pairs")},
            }
    return None


def headline_level(model: Mapping[str, Any]) -> dict[str, Any] | None:
    """The common target the overview quotes: the highest the reference's random arm reaches.

    The highest common target whose median over seeds the reference start's random arm
    reaches; the lowest if it reaches none; ``None`` without a random arm there.
    """
    ref = model["starts"][model["reference_start"]]
    if ref["random"] is None or not model["common_targets"]:
        return None
    levels = sorted(model["common_targets"], key=lambda t: -t["fraction"])
    for level in levels:
        if math.isfinite(
            as_float(ref["common_targets"][level["key"]]["strategies"][REFERENCE]["labels"])
        ):
            return dict(level)
    return dict(levels[-1])


def overview(
    regimes: Mapping[str, Regime],
    model: Mapping[str, Any],
    tests: Sequence[Mapping[str, Any]],
    cfg: AnalysisConfig,
) -> dict[str, Any]:
    """``overview`` of ``metrics/analysis.json``: the report's first two sentences, as data."""
    per_start = {}
    n_all = tests[0]["n_comparisons_all"] if tests else 0
    for start, regime in regimes.items():
        decided = regime.document["verdict"]
        arm = decided.get("arm")
        row = next((t for t in tests if t["start"] == start and t["arm"] == arm), {})
        strategy = (decided.get("members") or [None])[0]
        per_start[start] = {
            "significant": bool(decided["significant"]),
            "best_strategy": decided["best_strategy"],
            "arm": arm,
            "mean_difference": decided.get("mean_difference", math.nan),
            "low": decided.get("low", math.nan),
            "high": decided.get("high", math.nan),
            "p_adjusted": decided.get("p_adjusted", math.nan),
            "p_adjusted_all": row.get("p_adjusted_all", math.nan),
            "significant_all": bool(row.get("significant_all", False)),
            "saving": headline_saving(regime, strategy, cfg) if strategy else None,
            "also_better": [
                t["arm"]
                for t in tests
                if t["start"] == start and t["arm"] != arm and t["verdict"] == "better"
            ],
            "worse": list(decided.get("worse", [])),
            "text": decided["text"],
        }
    level = headline_level(model)
    significant = [s for s, e in per_start.items() if e["significant"]]
    # An order of mean AULC, not a test: the pages say so and quote each regime's verdict.
    orders = {tuple(regime.document["ranking"]) for regime in regimes.values()}
    return {
        "any_significant": bool(significant),
        "ranking_changes": len(orders) > 1,
        "significant_starts": significant,
        "n_comparisons_all": n_all,
        "per_start": per_start,
        "tests": list(tests),
        "level": level,
        "sentences": [strategy_sentence(per_start, cfg, n_all), model_sentence(model, level, cfg)],
    }


def starting_model_summary(model: Mapping[str, Any]) -> dict[str, Any]:
    """Flat keys of ``starting_model`` for ``dvc metrics diff``."""
    ref = model["reference_start"]
    out: dict[str, Any] = {"reference_start": ref, "best_start": model["best_start"]}
    for level in model["common_targets"]:
        out[f"common_target_{level['key']}"] = level["accuracy"]

    def put(name: str, value: Mapping[str, Any] | None, mean: str = "mean") -> None:
        if value is not None:
            out[name] = value[mean]
            out[f"{name}_low"] = value["low"]
            out[f"{name}_high"] = value["high"]

    for s, e in model["starts"].items():
        put(f"{s}.full_pool_accuracy", e["full_pool"], "accuracy")
        put(f"{s}.full_pool_vs_{ref}", e["full_pool_vs_reference"], "mean_difference")
        rnd = e["random"]
        if rnd is not None:
            out[f"{s}.random_aulc"] = rnd["aulc"]["mean"]
            out[f"{s}.random_final_accuracy"] = rnd["final_accuracy"]["mean"]
            put(f"{s}.random_aulc_vs_{ref}", rnd["aulc_vs_reference"], "mean_difference")
            put(
                f"{s}.random_final_accuracy_vs_{ref}",
                rnd["final_accuracy_vs_reference"],
                "mean_difference",
            )
        for key, common in e["common_targets"].items():
            if REFERENCE in common["strategies"]:
                out[f"{s}.random_labels_to_common_{key}"] = common["strategies"][REFERENCE][
                    "labels"
                ]
            put(
                f"{s}.random_saving_vs_{ref}_common_{key}",
                common["random_saving_vs_reference"],
                "labels",
            )
    return out

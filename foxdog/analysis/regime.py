"""One regime's analysis: its groups, targets and arms, and its part of every output document."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from foxdog.analysis.curves import curve_bands, difference_curves, target_key, target_reference
from foxdog.analysis.groups import analyse_group, compare_to_reference, power, verdict
from foxdog.analysis.narrative import slope_words
from foxdog.analysis.read import (
    REFERENCE,
    condition_of,
    curve_metrics,
    strategies_of,
    with_shares,
)
from foxdog.analysis.stats import (
    PERMUTATION_SEED,
    arm_name,
    identical_arms,
    interval_dict,
    rank_value,
    win_tie_loss,
)
from foxdog.analysis.tables import strategies_table
from foxdog.config import AnalysisConfig, Params


def ranking(groups: Mapping[str, dict[str, Any]]) -> list[str]:
    """Strategies by mean AULC, best first (ties keep the configured order)."""
    scored = [(name, rank_value(g["aulc"]["mean"])) for name, g in groups.items()]
    return [n for n, _ in sorted(scored, key=lambda item: -item[1])]


def summary_metrics(
    groups: Mapping[str, dict[str, Any]],
    baseline_accuracy: float,
    reference: Mapping[str, Any],
    decided: Mapping[str, Any],
    keys: Sequence[str],
) -> dict[str, Any]:
    """Flat keys for ``dvc metrics show/diff`` (NaN left as NaN; cleaned on write)."""
    out: dict[str, Any] = {"baseline.accuracy": baseline_accuracy}
    out["target_reference"] = reference["reference"]
    out["target_reference_accuracy"] = reference["accuracy"]
    out["target_reference_strategy"] = reference["strategy"]
    out["best_strategy"] = decided["best_strategy"]
    out["best_arm"] = decided.get("arm")
    out["best_significant"] = decided["significant"]
    for name, g in groups.items():
        out[f"{name}.aulc"] = g["aulc"]["mean"]
        out[f"{name}.final_accuracy"] = g["final_accuracy"]["mean"]
        out[f"{name}.final_balanced_accuracy"] = g["final_balanced_accuracy"]["mean"]
        out[f"{name}.final_rare_recall"] = g["final_rare_recall"]["mean"]
        for k in keys:
            t = g["targets"][k]
            out[f"{name}.labels_to_{k}"] = t["labels"]
            out[f"{name}.seeds_reached_{k}"] = t["seeds_reached"]
            if name != REFERENCE:
                s = t["saving_vs_random"]
                out[f"{name}.saving_vs_random_{k}"] = s.get("labels", math.nan)
                out[f"{name}.saving_vs_random_{k}_low"] = s.get("low", math.nan)
                out[f"{name}.saving_vs_random_{k}_high"] = s.get("high", math.nan)
        if name != REFERENCE:
            test = g.get("test_vs_random") or {}
            out[f"{name}.aulc_difference_vs_random"] = test.get("mean_difference", math.nan)
            out[f"{name}.aulc_difference_vs_random_low"] = test.get("low", math.nan)
            out[f"{name}.aulc_difference_vs_random_high"] = test.get("high", math.nan)
            out[f"{name}.p_value_vs_random"] = test.get("p_value", math.nan)
            out[f"{name}.p_adjusted_vs_random"] = test.get("p_adjusted", math.nan)
        out[f"{name}.stop_labels"] = g["stop"]["labels"]
        out[f"{name}.stop_seeds"] = g["stop"]["seeds_stopped"]
        out[f"{name}.plateau_labels"] = g["plateau"]["n_labels"]
    return out


def settings(cfg: AnalysisConfig) -> dict[str, Any]:
    """The analysis constants, written next to the results they produced."""
    return {
        "confidence": cfg.confidence,
        "stop_kappa": cfg.stop_kappa,
        "stop_window": cfg.stop_window,
        "head_stop_kappa": cfg.head_stop_kappa,
        "head_stop_window": cfg.head_stop_window,
        "slope_threshold": cfg.slope_threshold,
        "slope_threshold_words": slope_words(cfg.slope_threshold),
        "slope_window": cfg.slope_window,
        "alpha": cfg.alpha,
        "tie_tolerance": cfg.tie_tolerance,
        "min_seeds": cfg.min_seeds,
        "max_exact_seeds": cfg.max_exact_seeds,
        "permutation_seed": PERMUTATION_SEED,
        "reference": REFERENCE,
    }


def analysis_document(
    groups: Mapping[str, dict[str, Any]],
    baseline: Mapping[str, Any],
    params: Params,
    reference: Mapping[str, Any],
    targets: Sequence[Mapping[str, Any]],
    arms: Sequence[Sequence[str]],
    decided: Mapping[str, Any],
    cfg: AnalysisConfig | None = None,
) -> dict[str, Any]:
    """One regime's part of ``metrics/analysis.json`` (keys in docs/formats.md).

    ``cfg``: the regime's analysis settings (default ``params.analysis``; the stop rule
    is per protocol, :meth:`foxdog.config.Params.analysis_for`).
    """
    cfg = params.analysis if cfg is None else cfg
    acc = baseline["accuracy"]
    tests = [g["test_vs_random"] for g in groups.values() if g.get("test_vs_random")]
    min_p = min((t["min_p_value"] for t in tests), default=math.nan)
    hidden = ("per_seed_aulc", "per_seed_aulc_secondary", "per_seed_final", "per_seed_at_budget")
    strategies = {
        name: {k: v for k, v in g.items() if k not in hidden} for name, g in groups.items()
    }
    pct = f"{round(100 * cfg.confidence)}%"
    base = interval_dict(acc.get("per_seed") or [], cfg)
    return {
        "baseline": {
            "accuracy": float(acc["mean"]),
            "low": base["low"],
            "high": base["high"],
            "n_seeds": len(acc.get("per_seed", [])),
        },
        "target_reference": dict(reference),
        "targets": list(targets),
        "settings": settings(cfg),
        "arms": [{"name": arm_name(a), "members": list(a)} for a in arms],
        "tests": {
            "min_p_value": min_p,
            "significance_possible": bool(min_p < cfg.alpha),
            "note": (
                "One pre-declared test per distinct arm: the paired difference of per-seed "
                "AULC from random, with its mean and "
                f"{pct} t-interval, and an exact two-sided sign-flip permutation test over "
                f"all 2^n sign patterns (for more than {cfg.max_exact_seeds} seeds, "
                f"2^{cfg.max_exact_seeds} random patterns). With n differing seeds no p-value "
                "can be below 2/2^n (0.0625 for 5 seeds). Benjamini-Hochberg over the distinct "
                f"arms; 'significant' means adjusted p < {cfg.alpha}."
            ),
        },
        "verdict": dict(decided),
        "power": power(groups, cfg),
        "strategies": strategies,
        "ranking": ranking(groups),
        "best_strategy": decided["best_strategy"],
    }


def ablations_document(params: Params) -> dict[str, Any]:
    """``ablations`` of ``metrics/analysis.json``: what was ablated, in which regime."""
    return {
        "start": params.ablations.start,
        "strategies": list(params.ablations.strategies),
        "factors": {
            f: {"default": getattr(params.active, f), "levels": list(getattr(params.ablations, f))}
            for f in params.ablations.factors
        },
    }


@dataclass
class Regime:
    """One regime's analysis: its part of every output, and what the cross-regime layer uses."""

    start: str
    rounds: pd.DataFrame  # with n_queried and share_<class> columns
    baseline: Mapping[str, Any]
    groups: dict[str, dict[str, Any]]
    targets: list[dict[str, Any]]
    arms: list[list[str]]
    document: dict[str, Any]
    summary: dict[str, Any]
    curves: pd.DataFrame
    differences: pd.DataFrame
    winloss: pd.DataFrame
    strategies: pd.DataFrame


def analyse_regime(
    params: Params,
    start: str,
    rounds: pd.DataFrame,
    queries: Mapping[str, pd.DataFrame | None],
    baseline: Mapping[str, Any],
) -> Regime:
    """Everything about one regime that needs no other regime (today's per-study analysis)."""
    # The start's protocol's stop rule (Params.analysis_for); everything else is shared.
    cfg = params.analysis_for(condition_of(params, start).start)
    classes = params.data.classes
    rounds = with_shares(rounds, queries, classes)
    baseline_accuracy = float(baseline["accuracy"]["mean"])
    reference = target_reference(rounds, baseline_accuracy, cfg.targets)
    targets = [
        {"fraction": f, "key": target_key(f), "accuracy": f * reference["accuracy"]}
        for f in cfg.targets
    ]
    keys = [t["key"] for t in targets]
    arms = identical_arms(queries)
    groups = {
        s: analyse_group(rounds[rounds["strategy"] == s], targets, cfg, classes)
        for s in strategies_of(params, start)
    }
    compare_to_reference(groups, cfg, arms)
    decided = verdict(groups, cfg)
    per_seed = pd.DataFrame({s: g["per_seed_aulc"] for s, g in groups.items()})
    return Regime(
        start=start,
        rounds=rounds,
        baseline=baseline,
        groups=groups,
        targets=targets,
        arms=arms,
        document=analysis_document(
            groups, baseline, params, reference, targets, arms, decided, cfg
        ),
        summary=summary_metrics(groups, baseline_accuracy, reference, decided, keys),
        curves=curve_bands(rounds, cfg, curve_metrics(classes)),
        differences=difference_curves(rounds, arms, cfg),
        winloss=win_tie_loss(per_seed, cfg.tie_tolerance),
        strategies=strategies_table(groups, keys),
    )

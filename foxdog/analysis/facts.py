"""Facts the report states besides the decision map, as data: each number with its interval.

- **Stop calibration**: between-seed κ of random's final models on the validation split
  (the agreement two seeds reach at the same labels) next to ``analysis.stop_kappa``.
- **Class shares**: per condition and strategy, the rare class's share of the picks
  against its share of the pool (``pool_share`` of rounds.csv; for results without it,
  random's picks estimate the pool's share, with their interval).
- **Starting model vs strategy**: per start, random's paired AULC gain over the reference
  start next to the largest strategy effect (|AULC difference from random|) in either
  start, and random's paired accuracy gain at each budget.
- **At budgets**: per condition, strategy and budget, the paired accuracy difference from
  random (what "TypiClust is worst at 110 labels and catches up by 810" rests on).
- **Per source** (``per_source``): added by the analyze stage from
  :mod:`foxdog.analysis.sources` (the baselines' per-image test predictions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from foxdog.analysis.groups import at_budget
from foxdog.analysis.read import REFERENCE
from foxdog.analysis.regime import Regime
from foxdog.analysis.stats import between_seed_kappa, interval_dict
from foxdog.config import AnalysisConfig, Params, Protocol


def stop_calibration(
    predictions: Mapping[int, np.ndarray], protocol: Protocol, cfg: AnalysisConfig
) -> dict[str, Any]:
    """The κ threshold against the agreement of two seeds' final random models."""
    kappa = between_seed_kappa(predictions)
    return {
        "strategy": REFERENCE,
        "labels": protocol.final_labels(),
        "between_seed_kappa": kappa,
        "threshold": cfg.stop_kappa,
        "window": cfg.stop_window,
        # Above seed-to-seed agreement, consecutive rounds would have to agree more than
        # two equally trained models do: the rule can then hardly fire.
        "threshold_above_between_seed": bool(kappa["mean"] < cfg.stop_kappa)
        if math.isfinite(kappa["mean"])
        else None,
    }


def class_shares(regime: Regime, rare_class: str, cfg: AnalysisConfig) -> dict[str, Any]:
    """The rare class's share of each strategy's picks against its share of the pool."""
    rounds = regime.rounds
    random = regime.groups.get(REFERENCE, {}).get("class_shares", {}).get(rare_class)
    if "pool_share" in rounds.columns and rounds["pool_share"].notna().any():
        per_seed = rounds.groupby("seed")["pool_share"].mean()
        pool = interval_dict(per_seed, cfg) | {"source": "pool_share of rounds.csv"}
    elif random is not None:
        pool = dict(random) | {"source": "random's picks (an unbiased estimate)"}
    else:
        pool = {"mean": math.nan, "low": math.nan, "high": math.nan, "source": None}
    return {
        "rare_class": rare_class,
        "pool": pool,
        "picks": {s: g["class_shares"].get(rare_class) for s, g in regime.groups.items()},
    }


def _largest_effect(regime: Regime) -> dict[str, Any] | None:
    """The arm with the largest |AULC difference from random| in a regime, with its interval."""
    tests = [
        (name, g["test_vs_random"])
        for name, g in regime.groups.items()
        if name != REFERENCE and g.get("test_vs_random")
    ]
    tests = [(n, t) for n, t in tests if math.isfinite(t.get("mean_difference", math.nan))]
    if not tests:
        return None
    name, test = max(tests, key=lambda nt: abs(nt[1]["mean_difference"]))
    return {"strategy": name, **{k: test[k] for k in ("mean_difference", "low", "high")}}


def starting_model_vs_strategy(
    natural: Mapping[str, Regime], model: Mapping[str, Any], params: Params
) -> dict[str, Any]:
    """Per start, random's AULC gain over the reference start vs the largest strategy effect."""
    cfg = params.analysis
    ref = model["reference_start"]
    ref_regime = natural.get(ref)
    out: dict[str, Any] = {"reference_start": ref, "starts": {}}
    for start, regime in natural.items():
        entry = model["starts"].get(start, {})
        rnd = entry.get("random") or {}
        gain = rnd.get("aulc_vs_reference")
        effects = [e for e in (_largest_effect(regime), _largest_effect(ref_regime)) if e]
        largest = max(effects, key=lambda e: abs(e["mean_difference"])) if effects else None
        ratio = (
            gain["mean_difference"] / abs(largest["mean_difference"])
            if gain and largest and largest["mean_difference"]
            else math.nan
        )
        at_budgets = {}
        mine, theirs = regime.groups.get(REFERENCE), ref_regime.groups.get(REFERENCE)
        if start != ref and mine and theirs:
            budgets = params.protocol(regime.rounds["start"].iloc[0]).round_labels()
            a = regime.rounds[regime.rounds["strategy"] == REFERENCE]
            b = ref_regime.rounds[ref_regime.rounds["strategy"] == REFERENCE]
            for budget in budgets:
                d = (at_budget(a, budget) - at_budget(b, budget)).dropna()
                at_budgets[str(budget)] = interval_dict(d, cfg) | {"n_pairs": len(d)}
        out["starts"][start] = {
            "random_aulc_gain": gain,
            "largest_strategy_effect": largest,
            "ratio": ratio,
            "random_accuracy_gain_at": at_budgets,
        }
    return out


def at_budgets(regime: Regime, budgets: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per distinct arm and budget: the paired accuracy difference from random, with interval."""
    diff = regime.differences
    keep = diff[diff["n_labels"].astype(float).isin([float(b) for b in budgets])]
    return [
        {
            "strategy": r.strategy,
            "arm": r.arm,
            "budget": int(r.n_labels),
            "mean_difference": float(r.mean_difference),
            "low": float(r.low),
            "high": float(r.high),
            "n_pairs": int(r.n_pairs),
        }
        for r in keep.itertuples(index=False)
    ]


def report_facts(
    regimes: Mapping[str, Regime],
    natural: Mapping[str, Regime],
    model: Mapping[str, Any],
    params: Params,
) -> dict[str, Any]:
    """``facts`` of ``metrics/analysis.json`` (see the module docstring)."""
    cfg = params.analysis
    rare = params.balance.rare_class
    return {
        "class_shares": {s: class_shares(r, rare, cfg) for s, r in regimes.items()},
        "starting_model_vs_strategy": starting_model_vs_strategy(natural, model, params)
        if natural
        else None,
        "at_budgets": {
            s: at_budgets(r, params.protocol(r.rounds["start"].iloc[0]).budgets)
            for s, r in regimes.items()
        },
    }

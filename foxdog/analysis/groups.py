"""One strategy or ablation level in a regime: stopping, plateau, shares, tests, the verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foxdog.analysis.curves import per_seed_aulc, per_seed_aulc_log, per_seed_final
from foxdog.analysis.narrative import p_text, points_text
from foxdog.analysis.read import REFERENCE, SHARE_PREFIX
from foxdog.analysis.stats import (
    arm_name,
    as_count,
    censored_median,
    crossing_labels,
    detectable_effect,
    flat_from,
    flat_power,
    interval_dict,
    paired_difference,
    rank_value,
    seeds_for_power,
    stop_round,
    t_interval,
    window_slopes,
)
from foxdog.config import AnalysisConfig, Params


def _labels_at(rounds: pd.DataFrame, index: int | None) -> float:
    """``n_labels`` of the ``index``-th round of one seed's rows (NaN for none)."""
    if index is None:
        return math.nan
    return float(rounds["n_labels"].iloc[index])


def stopping(by_seed: Mapping[int, pd.DataFrame], cfg: AnalysisConfig) -> dict[str, Any]:
    """The stabilising-predictions stopping rule on ``kappa_stop``, per seed and pooled.

    What stopping would have cost, against the test curve: ``accuracy_cost`` (accuracy at
    the end of the budget minus at the stop) and ``labels_saved``, over every seed (a seed
    that never stops costs and saves nothing). ``best_window_kappa`` is the highest window
    mean reached, and ``can_fire`` whether any seed reached the threshold.
    """
    out: dict[str, Any] = {"kappa": cfg.stop_kappa, "window": cfg.stop_window}
    available = all(
        "kappa_stop" in p.columns and pd.to_numeric(p["kappa_stop"], errors="coerce").notna().any()
        for p in by_seed.values()
    )
    out["available"] = bool(available and by_seed)
    if not out["available"]:
        nan = {"mean": math.nan, "low": math.nan, "high": math.nan}
        return (
            out
            | {"labels": math.nan, "seeds_stopped": math.nan, "per_seed": {}}
            | {
                "accuracy_at_stop": nan,
                "accuracy_change": nan | {"n_pairs": 0},
                "labels_saved": nan,
                "accuracy_cost": nan,
                "best_window_kappa": {"mean": math.nan, "max": math.nan},
                "can_fire": False,
            }
        )
    per_seed, labels, at_stop, change, saved, cost, best = {}, [], [], [], [], [], []
    for s, p in by_seed.items():
        kappa = pd.to_numeric(p["kappa_stop"], errors="coerce").to_numpy(np.float64)
        idx = stop_round(kappa, cfg.stop_kappa, cfg.stop_window)
        n = _labels_at(p, idx)
        per_seed[str(s)] = {"round": None if idx is None else int(p["round"].iloc[idx])}
        per_seed[str(s)]["n_labels"] = as_count(n)
        labels.append(n)
        windows = pd.Series(kappa).rolling(cfg.stop_window).mean()
        best.append(float(windows.max()) if windows.notna().any() else math.nan)
        acc = p["accuracy"].to_numpy(np.float64)
        final = float(p["n_labels"].iloc[-1])
        if idx is not None:
            at_stop.append(acc[idx])
            change.append(acc[idx] - acc[-1])
        # Over every seed: a seed that never stops labels the whole budget (saves nothing).
        saved.append(final - n if idx is not None else 0.0)
        cost.append(acc[-1] - acc[idx] if idx is not None else 0.0)
    out.update(
        labels=as_count(censored_median(labels)),
        seeds_stopped=float(np.mean([not math.isnan(v) for v in labels])),
        per_seed=per_seed,
        accuracy_at_stop=interval_dict(at_stop, cfg),
        accuracy_change=interval_dict(change, cfg) | {"n_pairs": len(change)},
        labels_saved=interval_dict(saved, cfg),
        accuracy_cost=interval_dict(cost, cfg),
        best_window_kappa={
            "mean": float(np.nanmean(best)) if np.isfinite(best).any() else math.nan,
            "max": float(np.nanmax(best)) if np.isfinite(best).any() else math.nan,
        },
        can_fire=bool(np.nanmax(best) >= cfg.stop_kappa) if np.isfinite(best).any() else False,
    )
    return out


def _slopes(by_seed: Mapping[int, pd.DataFrame], rounds: int, window: int) -> np.ndarray:
    """Seeds x windows of per-seed accuracy slopes (seeds with every round only)."""
    return np.array(
        [
            window_slopes(
                p["n_labels"].to_numpy(np.float64), p["accuracy"].to_numpy(np.float64), window
            )
            for p in by_seed.values()
            if len(p) == rounds
        ]
    )


def slope_sd(slopes: np.ndarray) -> float:
    """Between-seed SD of a window's slope, pooled over windows (root mean variance)."""
    if slopes.ndim != 2 or slopes.shape[0] < 2 or slopes.shape[1] == 0:
        return math.nan
    variances = np.nanvar(slopes, axis=0, ddof=1)
    return float(math.sqrt(np.nanmean(variances)))


def plateau(
    by_seed: Mapping[int, pd.DataFrame], curve_labels: np.ndarray, cfg: AnalysisConfig
) -> dict[str, Any]:
    """Flat-curve rule: the upper bound of the mean per-seed slope under the threshold.

    ``power``: the chance the configured window shows a truly flat curve flat (equally, tells
    a slope of ``analysis.slope_threshold`` from none), from the observed between-seed SD of
    window slopes; ``power_by_window`` the same for every window length the run allows.
    """
    slopes = _slopes(by_seed, len(curve_labels), cfg.slope_window)
    n = slopes.shape[0] if slopes.ndim == 2 else 0
    out: dict[str, Any] = {"threshold": cfg.slope_threshold, "window": cfg.slope_window}
    by_window = {}
    for w in range(2, len(curve_labels) + 1):
        sd = slope_sd(_slopes(by_seed, len(curve_labels), w))
        by_window[str(w)] = flat_power(sd, cfg.slope_threshold, n, cfg.confidence)
    out["power"] = by_window.get(str(cfg.slope_window), math.nan)
    out["power_by_window"] = by_window
    out["slope_sd"] = slope_sd(slopes)
    if slopes.ndim != 2 or slopes.shape[1] == 0:
        nan = {"mean": math.nan, "low": math.nan, "high": math.nan}
        return out | {"round": None, "n_labels": math.nan, "final_slope": nan}
    bands = [
        t_interval(slopes[:, k], cfg.confidence, cfg.min_seeds) for k in range(slopes.shape[1])
    ]
    start = flat_from([b[2] for b in bands], cfg.slope_threshold)
    mean, low, high = bands[-1]
    return out | {
        "round": start,  # rounds are 0..R in every seed: the window index is the round
        "n_labels": math.nan if start is None else as_count(curve_labels[start]),
        "final_slope": {"mean": mean, "low": low, "high": high},
    }


def class_shares(
    rounds: pd.DataFrame, classes: Sequence[str], cfg: AnalysisConfig
) -> dict[str, dict[str, float]]:
    """Per class, its share among all images queried in a seed: mean and t-interval over seeds.

    Reads the ``n_queried`` and ``share_<class>`` columns of :func:`with_shares`; a
    class without them gets an empty interval.
    """
    out = {}
    queried = rounds[rounds["round"] >= 1]
    for c in classes:
        column = SHARE_PREFIX + c
        if column not in queried.columns or "n_queried" not in queried.columns:
            out[c] = {"mean": math.nan, "low": math.nan, "high": math.nan}
            continue
        share = pd.to_numeric(queried[column], errors="coerce")
        weight = pd.to_numeric(queried["n_queried"], errors="coerce").where(share.notna())
        picked = (share * weight).groupby(queried["seed"]).sum(min_count=1)
        per_seed = picked / weight.groupby(queried["seed"]).sum(min_count=1)
        out[c] = interval_dict(per_seed, cfg, bounds=(0.0, 1.0))
    return out


def analyse_group(
    rounds: pd.DataFrame,
    targets: Sequence[Mapping[str, Any]],
    cfg: AnalysisConfig,
    classes: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything about one strategy's runs (one protocol) that needs no other strategy.

    ``targets``: ``[{fraction, key, accuracy}]`` (see :func:`target_reference`);
    ``classes``: the names whose query shares are reported (see :func:`class_shares`).
    """
    rounds = rounds.sort_values(["seed", "round"], kind="stable")
    by_seed = {int(s): part for s, part in rounds.groupby("seed", sort=True)}
    curve_labels = rounds.groupby("round", sort=True)["n_labels"].median().to_numpy(np.float64)
    linear, logged = per_seed_aulc(rounds), per_seed_aulc_log(rounds)
    # The primary axis (analysis.aulc_axis) is what the pre-declared test uses.
    aulcs, other = (logged, linear) if cfg.aulc_axis == "log" else (linear, logged)
    final = per_seed_final(rounds)

    target_info = {}
    for t in targets:
        seed_labels = {
            s: crossing_labels(p["n_labels"], p["accuracy"], t["accuracy"])
            for s, p in by_seed.items()
        }
        target_info[t["key"]] = {
            "fraction": t["fraction"],
            "accuracy": t["accuracy"],
            "labels": censored_median(seed_labels.values()),
            "seeds_reached": float(np.mean([not math.isnan(v) for v in seed_labels.values()])),
            "per_seed_labels": pd.Series(seed_labels, dtype=np.float64),
        }
    seconds = rounds.groupby("seed")[["fit_seconds", "query_seconds"]].sum(min_count=1)
    return {
        "n_seeds": len(by_seed),
        "seeds": sorted(by_seed),
        "final_labels": as_count(curve_labels[-1]),
        "label_range": [as_count(curve_labels[0]), as_count(curve_labels[-1])],
        "aulc": interval_dict(aulcs, cfg) | {"per_seed": {str(s): v for s, v in aulcs.items()}},
        "aulc_axis": cfg.aulc_axis,
        "aulc_secondary": interval_dict(other, cfg)
        | {"axis": "linear" if cfg.aulc_axis == "log" else "log"},
        "per_seed_aulc": aulcs,  # removed before writing JSON
        "per_seed_aulc_secondary": other,  # removed before writing JSON
        "per_seed_final": final,  # removed before writing JSON
        "final_accuracy": interval_dict(final, cfg),
        "final_balanced_accuracy": interval_dict(per_seed_final(rounds, "balanced_accuracy"), cfg),
        "final_rare_recall": interval_dict(per_seed_final(rounds, "rare_recall"), cfg)
        if "rare_recall" in rounds.columns
        else {"mean": math.nan, "low": math.nan, "high": math.nan},
        "targets": target_info,
        "stop": stopping(by_seed, cfg),
        "plateau": plateau(by_seed, curve_labels, cfg),
        "class_shares": class_shares(rounds, classes, cfg),
        "fit_seconds": float(seconds["fit_seconds"].mean()),
        "query_seconds": float(seconds["query_seconds"].mean()),
    }


def paired_saving(
    mine: pd.Series,
    random: pd.Series,
    cfg: AnalysisConfig,
    mine_cap: float = math.nan,
    random_cap: float = math.nan,
) -> dict[str, Any]:
    """Labels saved vs random per seed; a seed that never reached the target is counted.

    A censored seed counts at its run's final label count (``*_cap``): a lower bound on
    the labels it needs, so a censored random arm can only shrink a saving and a censored
    strategy only flatter it; a seed where neither reached counts as no saving. With no
    caps given (NaN), censored seeds are left out, as before. ``n_pairs`` is every seed
    counted; ``n_reached_both`` those measured without censoring.
    """
    seeds = mine.index.intersection(random.index)
    a, r = mine.loc[seeds], random.loc[seeds]
    both = a.notna() & r.notna()
    counted = both.copy()
    a_full, r_full = a.copy(), r.copy()
    if math.isfinite(mine_cap) and math.isfinite(random_cap):
        a_full, r_full = a.fillna(mine_cap), r.fillna(random_cap)
        # Neither reached: both at their caps (no saving); one reached: the other at its cap.
        counted = a.notna() | r.notna() | (a.isna() & r.isna())
    saved = (r_full - a_full)[counted]
    mean, low, high = t_interval(saved, cfg.confidence, cfg.min_seeds)
    percent = t_interval(100.0 * saved / r_full[counted], cfg.confidence, cfg.min_seeds)[0]
    out = {
        "labels": mean if (a.notna() | r.notna()).any() else math.nan,
        "low": low,
        "high": high,
        "percent": percent,
        "n_pairs": int(counted.sum()),
        "n_reached_both": int(both.sum()),
        "n_strategy_only": int((a.notna() & r.isna()).sum()),
        "n_random_only": int((a.isna() & r.notna()).sum()),
        "n_neither": int((a.isna() & r.isna()).sum()),
        "censored_counted": bool(math.isfinite(mine_cap) and math.isfinite(random_cap)),
    }
    if out["n_reached_both"]:
        out["status"] = "ok"
    elif out["n_strategy_only"]:
        out["status"] = "random_not_reached"
    elif out["n_random_only"]:
        out["status"] = "strategy_not_reached"
    else:
        out["status"] = "neither_reached"
    return out


def compare_to_reference(
    groups: Mapping[str, dict[str, Any]],
    cfg: AnalysisConfig,
    arms: Sequence[Sequence[str]] | None = None,
    reference: str = REFERENCE,
) -> None:
    """Add savings, the pre-declared test (per distinct arm) and BH adjustment, in place."""
    arms = [list(a) for a in (arms or [[n] for n in groups])]
    arms = [[n for n in a if n in groups] for a in arms]
    arms = [a for a in arms if a]
    ref = groups.get(reference)
    for name, group in groups.items():
        group["arm"] = arm_name(next(a for a in arms if name in a))
        for key, target in group["targets"].items():
            if ref is None:
                target["saving_vs_random"] = {"status": "no_random", "labels": math.nan}
            elif name == reference:
                target["saving_vs_random"] = {"status": "reference", "labels": math.nan}
            else:
                target["saving_vs_random"] = paired_saving(
                    target["per_seed_labels"],
                    ref["targets"][key]["per_seed_labels"],
                    cfg,
                    float(group["final_labels"]),
                    float(ref["final_labels"]),
                )
        group["test_vs_random"] = None
        if ref is not None and name != reference and "per_seed_aulc_secondary" in group:
            # The other label axis: reported with its interval, not tested (not primary).
            group["secondary_vs_random"] = paired_difference(
                group["per_seed_aulc_secondary"], ref["per_seed_aulc_secondary"], cfg
            )
    if ref is None:
        return
    tested = []
    for members in arms:
        if reference in members:
            for name in members:
                if name != reference:
                    test = paired_difference(
                        groups[name]["per_seed_aulc"], ref["per_seed_aulc"], cfg
                    )
                    groups[name]["test_vs_random"] = test | {"verdict": "identical to random"}
            continue
        test = paired_difference(groups[members[0]]["per_seed_aulc"], ref["per_seed_aulc"], cfg)
        tested.append((members, test))
    finite = [t for _, t in tested if not math.isnan(t["p_value"])]
    adjusted = (
        stats.false_discovery_control([t["p_value"] for t in finite], method="bh") if finite else []
    )
    for test, p in zip(finite, adjusted, strict=True):
        test["p_adjusted"] = float(p)
    for members, test in tested:
        test.setdefault("p_adjusted", math.nan)
        test["n_comparisons"] = len(finite)
        test["significant"] = bool(test["p_adjusted"] < cfg.alpha)  # NaN compares False
        if test["significant"]:
            test["verdict"] = "better" if test["mean_difference"] > 0 else "worse"
        else:
            test["verdict"] = "not distinguishable"
        for name in members:
            groups[name]["test_vs_random"] = dict(test)
    for test in (g["test_vs_random"] for g in groups.values() if g["test_vs_random"]):
        test.setdefault("p_adjusted", math.nan)
        test.setdefault("n_comparisons", len(finite))
        test.setdefault("significant", False)


def power(groups: Mapping[str, dict[str, Any]], cfg: AnalysisConfig) -> dict[str, Any]:
    """Seeds needed for ``analysis.power`` at an AULC difference of ``analysis.effect``.

    Per strategy from the observed SD over seeds of its paired AULC difference from random;
    the regime needs the most any strategy needs, and ``enough`` says whether it has them.
    """
    ref = groups.get(REFERENCE)
    per: dict[str, Any] = {}
    n_seeds = max((g["n_seeds"] for g in groups.values()), default=0)
    for name, g in groups.items():
        if ref is None or name == REFERENCE:
            continue
        seeds = g["per_seed_aulc"].index.intersection(ref["per_seed_aulc"].index)
        d = (g["per_seed_aulc"].loc[seeds] - ref["per_seed_aulc"].loc[seeds]).dropna()
        sd = float(d.std(ddof=1)) if len(d) >= 2 else math.nan
        per[name] = {
            "sd": sd,
            "n_pairs": len(d),
            "seeds_needed": seeds_for_power(sd, cfg.effect, cfg.alpha, cfg.power),
            "detectable": detectable_effect(sd, len(d), cfg.alpha, cfg.power),
        }
    needed = [v["seeds_needed"] for v in per.values() if not math.isnan(v["seeds_needed"])]
    most = max(needed) if needed else math.nan
    seen = [v["detectable"] for v in per.values() if not math.isnan(v["detectable"])]
    return {
        "effect": cfg.effect,
        "power": cfg.power,
        "alpha": cfg.alpha,
        "axis": cfg.aulc_axis,
        "n_seeds": n_seeds,
        "seeds_needed": most,
        "enough": bool(needed) and n_seeds >= most,
        # The AULC difference every strategy's test sees with ``power`` at these seeds.
        "detectable": max(seen) if seen else math.nan,
        "strategies": per,
    }


def verdict(groups: Mapping[str, dict[str, Any]], cfg: AnalysisConfig) -> dict[str, Any]:
    """The headline as data: the best strategy only if significantly better than random."""
    seen, candidates = set(), []
    for name, g in groups.items():
        test = g.get("test_vs_random")
        if (
            test
            and "n_comparisons" in test
            and g["arm"] not in seen
            and test.get("verdict") != ("identical to random")
        ):
            seen.add(g["arm"])
            candidates.append((name, g["arm"], test))
    pct = f"{round(100 * cfg.confidence)}%"
    out: dict[str, Any] = {"best_strategy": None, "best_arm": None, "significant": False}
    if not candidates:
        out["text"] = "There is no strategy to compare with random sampling."
        return out
    better = [c for c in candidates if c[2]["verdict"] == "better"]
    worse = [c[1] for c in candidates if c[2]["verdict"] == "worse"]
    pick = max(better or candidates, key=lambda c: rank_value(c[2]["mean_difference"]))
    name, arm, test = pick
    numbers = (
        f"AULC {points_text(test['mean_difference'])} points ({pct} interval "
        f"{points_text(test['low'])} to {points_text(test['high'])}; {test['method']} test, "
        f"Benjamini–Hochberg adjusted p = {p_text(test['p_adjusted'])} over "
        f"{test['n_comparisons']} distinct arms)"
    )
    out.update(
        arm=arm,
        members=arm.split(" = "),
        mean_difference=test["mean_difference"],
        low=test["low"],
        high=test["high"],
        p_value=test["p_value"],
        p_adjusted=test["p_adjusted"],
        method=test["method"],
        n_pairs=test["n_pairs"],
        worse=worse,
    )
    if better:
        out.update(best_strategy=name, best_arm=arm, significant=True)
        out["text"] = f"{arm} is significantly better than random sampling: {numbers}."
    else:
        # With an arm significantly worse, "indistinguishable" would be false.
        claim = "significantly better than" if worse else "distinguishable from"
        # "Closest to beating" would flatter an arm that is behind: say which side it is on.
        side = "still behind it" if test["mean_difference"] < 0 else "ahead, within chance"
        out["text"] = (
            f"No strategy is {claim} random sampling; the arm with the largest mean AULC, "
            f"{arm}, is {side}: {numbers}."
        )
    if worse:
        out["text"] += f" Significantly worse than random: {', '.join(worse)}."
    return out


def at_budget(rounds: pd.DataFrame, budget: float) -> pd.Series:
    """Per-seed test accuracy at ``budget`` labels, linearly interpolated between rounds."""
    values = {}
    for seed, part in rounds.sort_values("n_labels").groupby("seed", sort=True):
        x, y = part["n_labels"].to_numpy(np.float64), part["accuracy"].to_numpy(np.float64)
        values[int(seed)] = float(np.interp(budget, x, y)) if x[0] <= budget <= x[-1] else math.nan
    return pd.Series(values, dtype=np.float64)


def ablation_groups(
    ablation_rounds: pd.DataFrame,
    main_rounds: pd.DataFrame,
    params: Params,
    targets: Sequence[Mapping[str, Any]],
) -> list[tuple[str, float, bool, dict[str, dict[str, Any]]]]:
    """``(factor, level, is_default, {strategy: group})`` for every ablated factor and level.

    ``main_rounds`` are the rounds of the regime ``ablations.start`` (its default level),
    ``targets`` that regime's. Each group also gets ``budget`` (the smallest final label
    count common to all levels of the factor), ``accuracy_at_budget`` and
    ``gain_at_budget`` (paired vs random).
    """
    out = []
    cfg = params.analysis
    for factor in params.ablations.factors:
        default = getattr(params.active, factor)
        levels = sorted({float(v) for v in getattr(params.ablations, factor)} | {float(default)})
        sources = {}
        for level in levels:
            if level == float(default):
                # The ablation seeds only, so every level is compared over the same seeds.
                sources[level] = main_rounds[main_rounds["seed"].isin(params.ablations.seeds)]
            else:
                at_level = ablation_rounds["level"].astype(float) == level
                sources[level] = ablation_rounds[(ablation_rounds["factor"] == factor) & at_level]
        finals = [
            part.groupby("seed")["n_labels"].max().min()
            for src in sources.values()
            for _, part in src.groupby("strategy")
        ]
        budget = float(min(finals)) if finals else math.nan
        for level, source in sources.items():
            groups = {}
            for s in params.ablations.strategies:
                part = source[source["strategy"] == s]
                if part.empty:
                    continue
                groups[s] = analyse_group(part, targets, cfg)
                acc = at_budget(part, budget)
                groups[s]["budget"] = as_count(budget)
                groups[s]["accuracy_at_budget"] = interval_dict(acc, cfg)
                groups[s]["per_seed_at_budget"] = acc
            compare_to_reference(groups, cfg)
            ref = groups.get(REFERENCE)
            for s, g in groups.items():
                if ref is None or s == REFERENCE:
                    g["gain_at_budget"] = {"mean": math.nan, "low": math.nan, "high": math.nan}
                    continue
                d = (g["per_seed_at_budget"] - ref["per_seed_at_budget"]).dropna()
                g["gain_at_budget"] = interval_dict(d, cfg)
            out.append((factor, level, level == float(default), groups))
    return out

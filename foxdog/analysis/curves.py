"""Learning curves over seeds: mean bands, differences from random, per-seed AULC and targets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from foxdog.analysis.read import CURVE_METRICS, REFERENCE, SHARE_PREFIX
from foxdog.analysis.stats import REACH_TOLERANCE, arm_name, as_count, aulc, t_interval
from foxdog.config import AnalysisConfig


def curve_bands(
    rounds: pd.DataFrame, cfg: AnalysisConfig, metrics: Sequence[str] = CURVE_METRICS
) -> pd.DataFrame:
    """Long form ``strategy,round,n_labels,metric,mean,low,high`` over seeds (t-intervals).

    Rows come in the strategies' order of appearance, then ``metrics`` order, then
    round; a metric missing from ``rounds`` or a (strategy, round, metric) without any
    value is left out.
    """
    rows = []
    metrics = [m for m in metrics if m in rounds.columns]
    for strategy, runs in rounds.groupby("strategy", sort=False):
        by_round = list(runs.groupby("round", sort=True))
        for metric in metrics:
            bounds = (0.0, 1.0) if metric.startswith(SHARE_PREFIX) else None
            for rnd, part in by_round:
                values = pd.to_numeric(part[metric], errors="coerce")
                mean, low, high = t_interval(values, cfg.confidence, cfg.min_seeds, bounds=bounds)
                if math.isnan(mean):
                    continue
                rows.append(
                    {
                        "strategy": strategy,
                        "round": int(rnd),
                        "n_labels": as_count(part["n_labels"].median()),
                        "metric": metric,
                        "mean": mean,
                        "low": low,
                        "high": high,
                    }
                )
    columns = ["strategy", "round", "n_labels", "metric", "mean", "low", "high"]
    return pd.DataFrame(rows, columns=columns)


def learning_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """``[condition,start,]strategy,n_labels,accuracy`` (mean) from :func:`curve_bands`."""
    acc = curves[curves["metric"] == "accuracy"]
    keys = [c for c in ("condition", "start", "strategy") if c in acc.columns]
    out = acc[[*keys, "n_labels", "mean"]].rename(columns={"mean": "accuracy"})
    return out.reset_index(drop=True)


def difference_curves(
    rounds: pd.DataFrame, arms: Sequence[Sequence[str]], cfg: AnalysisConfig
) -> pd.DataFrame:
    """``plots/diff_vs_random.csv``: per distinct arm and round, paired accuracy difference.

    ``strategy`` is the arm's first member, ``arm`` its name; ``mean_difference`` is the
    mean over seeds of (arm - random) test accuracy at that round, with its t-interval.
    """
    columns = ["strategy", "arm", "round", "n_labels", "mean_difference", "low", "high"]
    columns.append("n_pairs")
    ref = rounds[rounds["strategy"] == REFERENCE]
    rows = []
    if ref.empty:
        return pd.DataFrame(rows, columns=columns)
    ref = ref.set_index(["round", "seed"])["accuracy"]
    for members in arms:
        if REFERENCE in members:
            continue
        mine = rounds[rounds["strategy"] == members[0]]
        labels = mine.groupby("round")["n_labels"].median()
        acc = mine.set_index(["round", "seed"])["accuracy"]
        d = (acc - ref).dropna()
        for rnd, part in d.groupby(level="round", sort=True):
            mean, low, high = t_interval(part, cfg.confidence, cfg.min_seeds)
            rows.append(
                {
                    "strategy": members[0],
                    "arm": arm_name(members),
                    "round": int(rnd),
                    "n_labels": as_count(labels.loc[rnd]),
                    "mean_difference": mean,
                    "low": low,
                    "high": high,
                    "n_pairs": len(part),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def per_seed_aulc(rounds: pd.DataFrame) -> pd.Series:
    """AULC of each seed of one run group, indexed by seed."""
    values = {
        int(seed): aulc(part["n_labels"], part["accuracy"])
        for seed, part in rounds.groupby("seed", sort=True)
    }
    return pd.Series(values, dtype=np.float64, name="aulc")


def per_seed_aulc_log(rounds: pd.DataFrame) -> pd.Series:
    """AULC of each seed on a log-label axis (early rounds weigh as much as late ones)."""
    values = {
        int(seed): aulc(np.log(part["n_labels"].astype(float)), part["accuracy"])
        for seed, part in rounds.groupby("seed", sort=True)
    }
    return pd.Series(values, dtype=np.float64, name="aulc_log")


def per_seed_final(rounds: pd.DataFrame, metric: str = "accuracy") -> pd.Series:
    """``metric`` at each seed's last round, indexed by seed."""
    last = rounds.sort_values("round").groupby("seed", sort=True).tail(1)
    return pd.Series(
        last[metric].to_numpy(np.float64), index=last["seed"].astype(int), name=metric
    ).sort_index()


def target_key(fraction: float) -> str:
    """``0.95`` -> ``"95"`` (``0.975`` -> ``"97_5"``: dots would read as nesting in DVC)."""
    percent = round(fraction * 100, 6)
    if percent == int(percent):
        return f"{int(percent)}"
    return f"{percent:g}".replace(".", "_")


def target_reference(
    rounds: pd.DataFrame, baseline_accuracy: float, targets: Sequence[float]
) -> dict[str, Any]:
    """The accuracy the targets are shares of: always the start's full-pool baseline.

    Pre-declared, never switched by outcome (the baseline trains with the runs' recipe).
    ``share_reached`` is the best strategy's mean final accuracy over that baseline, so a
    reader sees at once which targets the budget can reach; ``strategy`` names that arm.
    """
    finals = {
        s: float(per_seed_final(part).mean()) for s, part in rounds.groupby("strategy", sort=False)
    }
    best = max(finals, key=lambda s: finals[s]) if finals else None
    share = finals[best] / baseline_accuracy if best and baseline_accuracy > 0 else math.nan
    return {
        "reference": "full_pool_baseline",
        "accuracy": baseline_accuracy,
        "strategy": best,
        "share_reached": share,
        "targets_in_reach": [t for t in targets if t <= share + REACH_TOLERANCE],
    }

"""The decision map: per condition and budget, the labels each strategy needs for random's score.

Pre-declared (``params.yaml`` ``analysis``; nothing here is chosen after seeing the numbers):

- The metric is ``analysis.metric_natural`` (accuracy) for a pool at its natural class
  balance and ``analysis.metric_subsampled`` (balanced accuracy) for a subsampled one.
- For seed *i* and budget *b*, the target is random's own score at *b* on that seed (paired
  by seed: the same initial set, the same test split). The strategy needs ``n_i`` labels to
  reach it (first crossing, linear interpolation between rounds).
- The speed-up is ``b / n_i``; the factor is the geometric mean over seeds with the
  exponentiated t-interval of ``log(b / n_i)``. A seed whose strategy never reaches the
  target within its run (``B`` labels) is *censored*: counted, not dropped, at ``b / B``, the
  largest speed-up it could have — censoring can only flatter a strategy that loses, never
  one that wins. ``n_censored`` says how many seeds were.
- Verdict: ``pays`` when the interval lies above 1, ``costs`` when it lies below 1, else
  ``no difference``.
- Rare-class discovery: examples of the rare class labelled by *b* (initial set included,
  ``n_rare`` of rounds.csv) over random's, per seed, as the geometric mean of
  ``(found + 0.5) / (random + 0.5)`` with its interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from foxdog.analysis.read import REFERENCE
from foxdog.analysis.stats import crossing_labels, t_interval

PAYS, NO_DIFFERENCE, COSTS = "pays", "no difference", "costs"
# Half an example added to both counts: a ratio stays finite when random has found none yet.
DISCOVERY_PRIOR = 0.5
# Columns of metrics/decision.csv, in order (docs/formats.md).
COLUMNS = (
    "condition",
    "start",
    "rare_class",
    "pool_share",
    "budget",
    "strategy",
    "metric",
    "n_seeds",
    "n_censored",
    "factor",
    "low",
    "high",
    "labels_needed",
    "verdict",
    "random_score",
    "score",
    "discovery",
    "discovery_low",
    "discovery_high",
    "rare_found",
    "rare_found_random",
)


@dataclass(frozen=True)
class Speedups:
    """Per paired seed: ``budget / labels needed`` and whether that seed was censored."""

    ratio: pd.Series  # indexed by seed
    censored: pd.Series  # bool, same index


def verdict_of(low: float, high: float) -> str:
    """``pays`` or ``costs`` when a factor's interval lies above or below 1, else no difference."""
    if math.isfinite(low) and low > 1.0:
        return PAYS
    if math.isfinite(high) and high < 1.0:
        return COSTS
    return NO_DIFFERENCE


def score_at(seed_rows: pd.DataFrame, budget: float, metric: str) -> float:
    """``metric`` of one seed's run at exactly ``budget`` labels (NaN when no round has it)."""
    hit = seed_rows.loc[seed_rows["n_labels"].astype(float) == float(budget), metric]
    return float(hit.iloc[0]) if len(hit) else math.nan


def speedups(random: pd.DataFrame, other: pd.DataFrame, budget: float, metric: str) -> Speedups:
    """Per seed both arms ran, ``budget / labels the other arm needs for random's score``.

    A seed that never reaches random's score is censored at its largest label count.
    """
    ratio, censored = {}, {}
    other_by_seed = {int(s): p for s, p in other.groupby("seed", sort=True)}
    for seed, mine in random.groupby("seed", sort=True):
        theirs = other_by_seed.get(int(seed))
        target = score_at(mine, budget, metric)
        if theirs is None or not math.isfinite(target):
            continue
        theirs = theirs.sort_values("n_labels")
        needed = crossing_labels(theirs["n_labels"], theirs[metric], target)
        cut = not math.isfinite(needed)
        ratio[int(seed)] = budget / (float(theirs["n_labels"].max()) if cut else max(needed, 1.0))
        censored[int(seed)] = cut
    return Speedups(
        pd.Series(ratio, dtype=np.float64, name="speedup"),
        pd.Series(censored, dtype=bool, name="censored"),
    )


def geometric_interval(
    ratios: Sequence[float], confidence: float, min_seeds: int
) -> dict[str, float]:
    """Geometric mean of positive ratios and the exponentiated t-interval of their logs."""
    logs = np.log(np.asarray(list(ratios), dtype=np.float64))
    mean, low, high = t_interval(logs, confidence, min_seeds)
    return {
        "factor": math.exp(mean) if math.isfinite(mean) else math.nan,
        "low": math.exp(low) if math.isfinite(low) else math.nan,
        "high": math.exp(high) if math.isfinite(high) else math.nan,
    }


def rare_found(rounds: pd.DataFrame, budget: float) -> pd.Series:
    """Per seed, rare-class examples labelled by ``budget`` (``n_rare`` of rounds.csv)."""
    at = rounds.loc[rounds["n_labels"].astype(float) == float(budget)]
    return pd.Series(
        pd.to_numeric(at["n_rare"], errors="coerce").to_numpy(np.float64),
        index=at["seed"].astype(int),
    ).sort_index()


def discovery(
    mine: pd.Series, random: pd.Series, confidence: float, min_seeds: int
) -> dict[str, float]:
    """Rare examples found over random's, paired by seed (geometric mean, with its interval)."""
    both = mine.index.intersection(random.index)
    ratios = ((mine[both] + DISCOVERY_PRIOR) / (random[both] + DISCOVERY_PRIOR)).dropna()
    found = geometric_interval(ratios, confidence, min_seeds)
    return {
        "discovery": found["factor"],
        "discovery_low": found["low"],
        "discovery_high": found["high"],
        "rare_found": float(mine[both].mean()) if len(both) else math.nan,
        "rare_found_random": float(random[both].mean()) if len(both) else math.nan,
    }


def decision_rows(
    rounds: pd.DataFrame,
    budgets: Sequence[float],
    metric: str,
    confidence: float,
    min_seeds: int,
    reference: str = REFERENCE,
) -> list[dict[str, Any]]:
    """One row per (strategy other than the reference, budget on random's curve)."""
    rows: list[dict[str, Any]] = []
    random = rounds.loc[rounds["strategy"] == reference]
    on_curve = set(random["n_labels"].astype(float))
    has_rare = "n_rare" in rounds.columns and rounds["n_rare"].notna().any()
    for strategy, other in rounds.groupby("strategy", sort=False):
        if strategy == reference:
            continue
        for budget in budgets:
            if float(budget) not in on_curve:
                continue
            found = speedups(random, other, float(budget), metric)
            at = rounds["n_labels"].astype(float) == float(budget)
            row: dict[str, Any] = {
                "strategy": strategy,
                "budget": int(budget),
                "metric": metric,
                "n_seeds": int(len(found.ratio)),
                "n_censored": int(found.censored.sum()),
                "random_score": float(random.loc[at[random.index], metric].mean()),
                "score": float(other.loc[at[other.index], metric].mean()),
                **geometric_interval(found.ratio, confidence, min_seeds),
            }
            factor = row["factor"]
            row["labels_needed"] = budget / factor if factor > 0 else math.nan
            row["verdict"] = verdict_of(row["low"], row["high"])
            if has_rare:
                row.update(
                    discovery(
                        rare_found(other, budget), rare_found(random, budget), confidence, min_seeds
                    )
                )
            else:
                row.update(
                    dict.fromkeys(
                        (
                            "discovery",
                            "discovery_low",
                            "discovery_high",
                            "rare_found",
                            "rare_found_random",
                        ),
                        math.nan,
                    )
                )
            rows.append(row)
    return rows


def discovery_curves(rounds: pd.DataFrame, confidence: float, min_seeds: int) -> pd.DataFrame:
    """``strategy,n_labels,mean,low,high`` of rare examples found (``n_rare``) over seeds."""
    columns = ["strategy", "n_labels", "mean", "low", "high"]
    if "n_rare" not in rounds.columns:
        return pd.DataFrame(columns=columns)
    rows = []
    for strategy, runs in rounds.groupby("strategy", sort=False):
        for n, part in runs.groupby("n_labels", sort=True):
            mean, low, high = t_interval(
                pd.to_numeric(part["n_rare"], errors="coerce"), confidence, min_seeds
            )
            if math.isfinite(mean):
                rows.append(
                    {"strategy": strategy, "n_labels": n, "mean": mean, "low": low, "high": high}
                )
    return pd.DataFrame(rows, columns=columns)


def condition_summary(
    rows: Sequence[Mapping[str, Any]], full_pool: Mapping[str, float], about: Mapping[str, Any]
) -> dict[str, Any]:
    """One condition's part of ``analysis.json["decision"]["conditions"]``.

    ``pays_at``: budgets where some strategy pays; ``best``: the row with the largest factor
    among the paying rows (among all rows when none pays).
    """
    paying = [r for r in rows if r["verdict"] == PAYS]
    pool = paying or [r for r in rows if math.isfinite(r["factor"])]
    best = max(pool, key=lambda r: r["factor"]) if pool else None
    return {
        **dict(about),
        "full_pool": dict(full_pool),
        "pays_at": sorted({r["budget"] for r in paying}),
        "costs_at": sorted({r["budget"] for r in rows if r["verdict"] == COSTS}),
        "best": dict(best) if best else None,
    }


def headline(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The facts the Overview's first paragraph is generated from (no wording here).

    ``pays``: per condition where a strategy pays, its best row; ``largest``: the largest
    paying factor of the study; ``no_pay``: conditions where nothing pays at any budget;
    ``costs``: conditions with a budget where some strategy costs.
    """
    pays = {c: s["best"] for c, s in conditions.items() if s["pays_at"]}
    largest = max(pays.values(), key=lambda r: r["factor"]) if pays else None
    return {
        "any_pays": bool(pays),
        "pays": pays,
        "largest": dict(largest) if largest else None,
        "no_pay": [c for c, s in conditions.items() if not s["pays_at"]],
        "costs": [c for c, s in conditions.items() if s["costs_at"]],
    }


def summary_keys(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """``decision.<condition>.<strategy>.b<budget>.{factor,low,high}`` for ``dvc metrics``."""
    out = {}
    for r in rows:
        stem = f"decision.{r['condition']}.{r['strategy']}.b{r['budget']}"
        for k in ("factor", "low", "high"):
            out[f"{stem}.{k}"] = r[k]
    return out

"""The decision map: per condition and budget, the labels each strategy needs for random's score.

Pre-declared (``params.yaml`` ``analysis``; nothing here is chosen after seeing the numbers):

- The metric is ``analysis.metric_natural`` (accuracy) for a pool at its natural class
  balance and ``analysis.metric_subsampled`` (balanced accuracy) for a subsampled one.
- Per seed *i* and budget *b* (paired by seed: the same initial set, the same test split),
  the speed-up is random's labels over the strategy's for the same score: ``b / n_i`` when
  the strategy scores at least random's score ``R_i`` at *b* (``n_i``: labels it needs for
  ``R_i``), else ``m_i / b`` (``m_i``: labels random needs for the strategy's score at *b*).
  First crossings, linearly interpolated between rounds, both at or before *b*.
- Why not always ``b / n_i``: a strategy that is behind at *b* may never reach ``R_i``
  within its run of ``B`` labels; counted at ``b / B`` such seeds bias the factor upwards,
  and at ``b = B`` the factor could never fall below 1. The two-sided definition needs no
  rounds after *b*, so no seed is cut off and a twin of random scores 1 on average.
  ``n_censored`` still counts the seeds whose strategy never reaches ``R_i`` in its run
  (they are in the factor, below 1).
- The factor is the geometric mean over seeds with the exponentiated t-interval of the
  log speed-ups.
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
from foxdog.config import AnalysisConfig
from foxdog.registry import Condition

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


def _up_to(rows: pd.DataFrame, budget: float) -> pd.DataFrame:
    rows = rows.sort_values("n_labels")
    return rows.loc[rows["n_labels"].astype(float) <= float(budget)]


def speedups(random: pd.DataFrame, other: pd.DataFrame, budget: float, metric: str) -> Speedups:
    """Per seed both arms ran: random's labels over the strategy's for the same score.

    With ``R`` and ``S`` random's and the strategy's scores at ``budget``: when ``S >= R``,
    ``budget / n`` with ``n`` the labels the strategy needs for ``R``; else ``m / budget``
    with ``m`` the labels random needs for ``S``. Both crossings lie at or before
    ``budget``, so no seed is cut off by the end of a run and arms that are alike give
    factors symmetric about 1 (at the last budget too). ``censored`` marks the seeds whose
    strategy never reaches ``R`` within its whole run (bookkeeping: they are counted, with
    a factor below 1).
    """
    ratio, censored = {}, {}
    other_by_seed = {int(s): p for s, p in other.groupby("seed", sort=True)}
    for seed, mine in random.groupby("seed", sort=True):
        theirs = other_by_seed.get(int(seed))
        if theirs is None:
            continue
        target, reached = score_at(mine, budget, metric), score_at(theirs, budget, metric)
        if not (math.isfinite(target) and math.isfinite(reached)):
            continue
        if reached >= target:
            part = _up_to(theirs, budget)
            needed = crossing_labels(part["n_labels"], part[metric], target)
            ratio[int(seed)] = budget / max(needed, 1.0)
        else:
            part = _up_to(mine, budget)
            needed = crossing_labels(part["n_labels"], part[metric], reached)
            ratio[int(seed)] = max(needed, 1.0) / budget
        whole = theirs.sort_values("n_labels")
        censored[int(seed)] = not math.isfinite(
            crossing_labels(whole["n_labels"], whole[metric], target)
        )
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


def headline(
    conditions: Mapping[str, Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]] = (),
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The facts the Overview's first paragraph is generated from (no wording here).

    ``pays``: per condition where a strategy pays, its best row; ``largest``: the largest
    paying factor of the study; ``no_pay``: conditions where nothing pays at any budget;
    ``costs``: conditions with a budget where some strategy costs. ``n_rows`` intervals
    were computed; about ``expected_by_chance`` of them would exclude 1 with no effect at
    all (each at ``1 - confidence``), next to ``n_pays`` and ``n_costs`` that do.
    """
    pays = {c: s["best"] for c, s in conditions.items() if s["pays_at"]}
    largest = max(pays.values(), key=lambda r: r["factor"]) if pays else None
    return {
        "any_pays": bool(pays),
        "pays": pays,
        "largest": dict(largest) if largest else None,
        "no_pay": [c for c, s in conditions.items() if not s["pays_at"]],
        "costs": [c for c, s in conditions.items() if s["costs_at"]],
        "n_rows": len(rows),
        "n_pays": sum(r["verdict"] == PAYS for r in rows),
        "n_costs": sum(r["verdict"] == COSTS for r in rows),
        "expected_by_chance": len(rows) * (1.0 - confidence),
    }


def summary_keys(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """``<condition>.<strategy>.b<budget>.{factor,low,high}``, flat: under ``decision`` of
    ``metrics/summary.json`` ``dvc metrics`` shows ``decision.<condition>.…``."""
    out = {}
    for r in rows:
        stem = f"{r['condition']}.{r['strategy']}.b{r['budget']}"
        for k in ("factor", "low", "high"):
            out[f"{stem}.{k}"] = r[k]
    return out


def metric_of(condition: Condition, cfg: AnalysisConfig) -> str:
    """The decision metric of a condition: natural balance or a subsampled pool."""
    return cfg.metric_natural if condition.natural else cfg.metric_subsampled


def condition_about(
    condition: Condition, rounds: pd.DataFrame, rare_class: str, cfg: AnalysisConfig
) -> dict[str, Any]:
    """What names a condition in every row: start, rare class, the pool share it ran on."""
    share = (
        float(pd.to_numeric(rounds["pool_share"], errors="coerce").mean())
        if "pool_share" in rounds.columns
        else math.nan
    )
    return {
        "condition": condition.name,
        "start": condition.start,
        "rare_class": condition.rare_class or rare_class,
        "pool_share": share,
        "metric": metric_of(condition, cfg),
    }


def full_pool(baseline: Mapping[str, Any], metric: str, cfg: AnalysisConfig) -> dict[str, float]:
    """The condition's full-pool ``metric``: mean and t-interval over the baseline's seeds."""
    entry = baseline.get(metric) or {}
    per_seed = [float(v) for v in entry.get("per_seed") or []]
    mean, low, high = t_interval(per_seed, cfg.confidence, cfg.min_seeds)
    if not per_seed and "mean" in entry:
        mean = float(entry["mean"])
    return {"mean": mean, "low": low, "high": high, "n_seeds": len(per_seed)}


def analyse_condition(
    condition: Condition,
    rounds: pd.DataFrame,
    budgets: Sequence[int],
    baseline: Mapping[str, Any],
    rare_class: str,
    cfg: AnalysisConfig,
) -> tuple[list[dict[str, Any]], dict[str, Any], pd.DataFrame]:
    """One condition's decision rows, its summary and its discovery curves."""
    about = condition_about(condition, rounds, rare_class, cfg)
    metric = about["metric"]
    rows = [
        {**about, **row}
        for row in decision_rows(rounds, budgets, metric, cfg.confidence, cfg.min_seeds)
    ]
    rows = [{k: row.get(k, math.nan) for k in COLUMNS} for row in rows]
    summary = condition_summary(rows, full_pool(baseline, metric, cfg), about)
    curves = discovery_curves(rounds, cfg.confidence, cfg.min_seeds)
    curves.insert(0, "condition", condition.name)
    return rows, summary, curves

"""The statistics every analysis uses: the one t-interval, AULC, crossings, sign-flip test, BH.

Every interval over seeds comes from :func:`t_interval` at ``analysis.confidence``; a
proportion over images (accuracy per photo source, the labelling app's estimate) from
:func:`wilson`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from foxdog.config import AnalysisConfig

PERMUTATION_SEED = 0  # Monte Carlo sign patterns above analysis.max_exact_seeds


# Accuracies are stored with 6 decimals; a curve that equals the target up to
# that rounding counts as reaching it.
REACH_TOLERANCE = 1e-9


def t_interval(
    values: Iterable[float],
    confidence: float = 0.95,
    min_seeds: int = 2,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float, float]:
    """Mean of ``values`` (NaNs dropped) and its Student-t interval.

    Fewer than ``min_seeds`` values: the interval is NaN. ``bounds`` clips it (a share).
    """
    x = np.asarray(list(values), dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < max(min_seeds, 2):
        return mean, math.nan, math.nan
    # quantile * std / sqrt(n), in this order: the baseline JSON's bytes were written so.
    quantile = float(stats.t.ppf(0.5 + confidence / 2.0, len(x) - 1))
    half = quantile * float(x.std(ddof=1)) / math.sqrt(len(x))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return mean, low, high


def interval_dict(values: Iterable[float], cfg: AnalysisConfig, **kw: Any) -> dict[str, float]:
    """``{"mean", "low", "high"}`` of :func:`t_interval` at the configured level."""
    mean, low, high = t_interval(values, cfg.confidence, cfg.min_seeds, **kw)
    return {"mean": mean, "low": low, "high": high}


def aulc(n_labels: Sequence[float], accuracy: Sequence[float]) -> float:
    """Trapezoid area under accuracy vs labels, divided by the label range (NaN if empty)."""
    x = np.asarray(n_labels, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) == 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if x[-1] == x[0]:
        return float(y.mean())
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def crossing_labels(n_labels: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """Labels at which the curve first reaches ``target``, interpolated linearly; NaN if never."""
    x = np.asarray(n_labels, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    hit = np.flatnonzero(y >= target - REACH_TOLERANCE)  # NaN never reaches
    if len(hit) == 0:
        return math.nan
    i = int(hit[0])
    if i == 0 or not np.isfinite(y[i - 1]) or y[i] <= y[i - 1]:
        return float(x[i])
    # The previous round is below the target: where the straight line crosses it.
    frac = (target - y[i - 1]) / (y[i] - y[i - 1])
    return float(x[i - 1] + min(max(frac, 0.0), 1.0) * (x[i] - x[i - 1]))


def censored_median(values: Iterable[float]) -> float:
    """Median with NaN read as 'never' (+inf); NaN when the median itself is 'never'."""
    x = np.asarray([math.inf if math.isnan(v) else v for v in values], dtype=np.float64)
    if len(x) == 0:
        return math.nan
    median = float(np.median(x))
    return median if math.isfinite(median) else math.nan


def as_count(value: float) -> int | float:
    """A whole number of labels as ``int`` (so JSON says 140, not 140.0); NaN stays NaN."""
    value = float(value)
    return int(round(value)) if math.isfinite(value) and value == round(value) else value


def _mean(x: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis)


def sign_flip_test(differences: Sequence[float], max_exact: int = 16) -> tuple[float, str]:
    """Two-sided paired sign-flip permutation p-value of the mean difference, and the method.

    Exact (all ``2**n`` sign patterns) for ``n <= max_exact`` differences; above, a
    seeded Monte Carlo over ``2**max_exact`` random patterns.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return math.nan, "none (no paired seeds)"
    if not np.any(d != 0):
        return 1.0, "none (identical on every seed)"
    exact = len(d) <= max_exact
    result = stats.permutation_test(
        (d,),
        _mean,
        permutation_type="samples",  # one sample: every sign pattern of the differences
        n_resamples=2**max_exact,
        alternative="two-sided",
        vectorized=True,
        random_state=PERMUTATION_SEED,
    )
    method = "exact sign-flip permutation" if exact else "Monte Carlo sign-flip permutation"
    return float(min(result.pvalue, 1.0)), method


def paired_difference(
    strategy: pd.Series, reference: pd.Series, cfg: AnalysisConfig
) -> dict[str, Any]:
    """Mean paired difference (indexed by seed) from the reference, its t-interval and test."""
    seeds = strategy.index.intersection(reference.index).sort_values()
    d = (strategy.loc[seeds] - reference.loc[seeds]).to_numpy(dtype=np.float64)
    d = d[~np.isnan(d)]
    n_nonzero = int(np.count_nonzero(d))
    mean, low, high = t_interval(d, cfg.confidence, cfg.min_seeds)
    if len(d) < cfg.min_seeds:
        p, method = math.nan, f"none (fewer than {cfg.min_seeds} paired seeds)"
    else:
        p, method = sign_flip_test(d, cfg.max_exact_seeds)
    return {
        "n_pairs": len(d),
        "n_nonzero": n_nonzero,
        "mean_difference": mean,
        "low": low,
        "high": high,
        "min_p_value": 2.0 / 2**n_nonzero if n_nonzero else 1.0,
        "method": method,
        "p_value": p,
    }


def win_tie_loss(per_seed: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Wins/ties/losses of every ordered pair of columns of a seed x strategy table."""
    rows = []
    for strategy, opponent in itertools.permutations(per_seed.columns, 2):
        d = (per_seed[strategy] - per_seed[opponent]).dropna().to_numpy()
        rows.append(
            {
                "strategy": strategy,
                "opponent": opponent,
                "wins": int(np.sum(d > tolerance)),
                "ties": int(np.sum(np.abs(d) <= tolerance)),
                "losses": int(np.sum(d < -tolerance)),
            }
        )
    return pd.DataFrame(rows, columns=["strategy", "opponent", "wins", "ties", "losses"])


def stop_round(kappa: Sequence[float], threshold: float, window: int) -> int | None:
    """First index r with mean ``kappa`` over the ``window`` entries ending at r >= threshold."""
    k = np.asarray(kappa, dtype=np.float64)
    for r in range(window - 1, len(k)):
        part = k[r - window + 1 : r + 1]
        if not np.isnan(part).any() and part.mean() >= threshold - REACH_TOLERANCE:
            return r
    return None


def window_slopes(n_labels: np.ndarray, accuracy: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope (accuracy per label) over each ``window`` consecutive points."""
    n = len(n_labels) - window + 1
    out = np.full(max(n, 0), np.nan)
    for k in range(max(n, 0)):
        x, y = n_labels[k : k + window], accuracy[k : k + window]
        if np.isnan(y).any() or np.ptp(x) == 0:
            continue
        out[k] = stats.linregress(x, y).slope
    return out


def flat_from(upper_bounds: Sequence[float], threshold: float) -> int | None:
    """First window index from which on every slope upper bound is below ``threshold``."""
    below = np.asarray(upper_bounds, dtype=np.float64) < threshold  # NaN: not shown flat
    if len(below) == 0 or not below[-1]:
        return None
    not_flat = np.flatnonzero(~below)
    return int(not_flat[-1] + 1) if len(not_flat) else 0


def identical_arms(queries: Mapping[str, pd.DataFrame | None]) -> list[list[str]]:
    """Strategies grouped by identical query sequences (every seed, round, rank), in order.

    A strategy without a ``queries.csv`` (``None``) is its own arm.
    """
    keys = ["seed", "round", "rank"]
    groups: dict[Any, list[str]] = {}
    for name, frame in queries.items():
        if frame is None or not set([*keys, "id"]) <= set(frame.columns):
            sig: Any = ("missing", name)
        else:
            sig = tuple(frame.sort_values(keys)[[*keys, "id"]].astype(str).itertuples(index=False))
        groups.setdefault(sig, []).append(name)
    return list(groups.values())


def arm_name(members: Sequence[str]) -> str:
    """``"least_confident = margin = entropy"``."""
    return " = ".join(members)


def rank_value(value: float) -> float:
    """``value`` for ranking: a missing value (None/NaN) ranks below everything."""
    return -math.inf if value is None or math.isnan(value) else value


def as_float(value: Any) -> float:
    """A JSON number as float: ``None`` (written for NaN) back to NaN."""
    return math.nan if value is None else float(value)


def paired_t_power(effect: float, sd: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test at ``alpha`` for a mean difference ``effect``.

    From the noncentral t distribution of the paired t statistic with per-seed SD ``sd``.
    """
    crit = stats.t.ppf(1 - alpha / 2, n - 1)
    shift = effect / sd * math.sqrt(n)
    reached = float(stats.nct.sf(crit, n - 1, shift) + stats.nct.cdf(-crit, n - 1, shift))
    if math.isnan(reached):  # scipy's nct fails far out in the tail, where power is 0 or 1
        return 1.0 if abs(shift) > crit else 0.0
    return reached


def seeds_for_power(sd: float, effect: float, alpha: float, power: float) -> int | float:
    """Fewest paired seeds for ``power`` to detect a mean difference ``effect`` (two-sided t).

    NaN when ``sd`` is unknown, 2 when it is 0 (identical runs need no more seeds).
    """
    if not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 2
    for n in range(2, 100_001):
        if paired_t_power(effect, sd, n, alpha) >= power:
            return n
    return math.inf


def detectable_effect(sd: float, n: int, alpha: float, power: float) -> float:
    """Smallest mean difference ``n`` paired seeds detect with ``power`` (two-sided t at alpha).

    The inverse of :func:`seeds_for_power` in the effect: what a study of ``n`` seeds can
    and cannot see. NaN when ``sd`` is unknown or ``n < 2``; 0 when ``sd`` is 0.
    """
    if not math.isfinite(sd) or n < 2:
        return math.nan
    if sd == 0:
        return 0.0
    hi = sd  # doubled until it is detectable (nct is NaN far out, so never start there)
    while paired_t_power(hi, sd, n, alpha) < power:
        hi *= 2.0
    return float(optimize.brentq(lambda e: paired_t_power(e, sd, n, alpha) - power, 0.0, hi))


def flat_power(sd: float, threshold: float, n: int, confidence: float) -> float:
    """Chance that a truly flat curve is shown flat: the slope's upper bound under ``threshold``.

    ``sd``: the between-seed SD of one window's slope; ``n`` seeds. The same number is the
    power to tell a slope of ``threshold`` from a flat one.
    """
    if not math.isfinite(sd) or n < 2:
        return math.nan
    if sd == 0:
        return 1.0
    q = stats.t.ppf(0.5 + confidence / 2.0, n - 1)
    return float(stats.t.cdf(threshold * math.sqrt(n) / sd - q, n - 1))


def between_seed_kappa(predictions: Mapping[int, np.ndarray]) -> dict[str, Any]:
    """Cohen's κ between every two seeds' predictions on the same images (the stop set).

    The agreement two equally trained models reach by chance of seed alone: a stop rule
    whose κ threshold lies above it asks consecutive rounds for more than seeds give.
    Pairs share seeds, so the mean comes with its range, not an interval.
    """
    from sklearn.metrics import cohen_kappa_score

    seeds = sorted(predictions)
    values = [
        float(cohen_kappa_score(predictions[a], predictions[b]))
        for a, b in itertools.combinations(seeds, 2)
        if len(predictions[a]) == len(predictions[b])
    ]
    if not values:
        return {"mean": math.nan, "min": math.nan, "max": math.nan, "n_pairs": 0}
    return {
        "mean": float(np.mean(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "n_pairs": len(values),
    }


def wilson(correct: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``correct / n`` (good at small n and near 0/1)."""
    if n == 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))

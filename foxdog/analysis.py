"""Stage ``analyze``: learning curves, AULC, labels to a target, stopping, plateaus, tests.

Reads ``results/<strategy>/rounds.csv`` (and ``queries.csv``, to find identical
arms) for every ``active.strategies``, ``results/ablations/<factor>/<strategy>/rounds.csv``
for every factor and ``ablations.strategies``, and ``metrics/baseline.json``; writes
the files below, each atomically, with deterministic bytes (floats to 6 significant
digits, JSON keys sorted, NaN written as an empty CSV cell or JSON ``null``). Every
constant that drives a conclusion is in ``params.yaml`` ``analysis:``.

Definitions
-----------
- **Intervals** (one function, :func:`t_interval`, everywhere: curves, baseline,
  AULC, fox share, paired differences): mean over seeds ± the Student-t quantile at
  ``analysis.confidence`` times the standard error; none (NaN) below
  ``analysis.min_seeds`` seeds.
- **AULC**: trapezoid area under accuracy-vs-``n_labels`` divided by the label
  range (a mean accuracy over the run); per seed, then mean and t-interval.
- **Arms**: strategies whose ``queries.csv`` holds the same images in every seed,
  round and rank made the same run: they are one arm (``"least_confident = margin"``),
  tested once and named together.
- **Pre-declared test**: per distinct arm, the paired difference of per-seed AULC
  from random; two-sided exact sign-flip permutation test of its mean over all
  ``2**n`` sign patterns (``scipy.stats.permutation_test``) for
  ``n <= analysis.max_exact_seeds``, above that ``2**max_exact_seeds`` random sign
  patterns (seeded; a Monte Carlo p-value). Reported with the mean difference and its
  t-interval. Benjamini–Hochberg over the distinct arms; ``significant`` = adjusted
  p < ``analysis.alpha``. With ``n`` non-zero differences no p-value is below ``2/2**n``.
- **Verdict**: a strategy is named best only if its arm is significantly better than
  random (largest mean difference among those); otherwise the verdict says no
  strategy is distinguishable from random and quotes the arm closest to beating it.
- **Targets**: ``analysis.targets`` shares of the full-pool baseline accuracy when the
  best arm's mean final accuracy reaches the largest of them, else of that best final
  accuracy (``target_reference`` says which).
- **labels_to_<k>**: per seed, the labels at which the learning curve first crosses
  the target, linearly interpolated between rounds; reported as the median over seeds
  (a seed that never reaches it counts as +inf, so the median is empty when half the
  seeds or more never reach it) and the share of seeds reaching it.
- **saving_vs_random_<k>**: per seed, random's labels minus the strategy's, over the
  seeds where both reached the target (others are censored and counted in
  ``n_strategy_only``/``n_random_only``/``n_neither``); mean and t-interval.
- **Stopping rule** (Bloodgood & Vijay-Shanker 2009): per seed, the first round at
  which the mean of ``kappa_stop`` over ``analysis.stop_window`` consecutive rounds is
  at least ``analysis.stop_kappa``; labels at stop (median, censored as above), share
  of seeds stopping, and accuracy at stop minus accuracy at the end of the budget
  (paired over the seeds that stop). Empty when ``rounds.csv`` has no ``kappa_stop``.
- **Plateau**: per seed, least-squares slope of accuracy per label over every window
  of ``analysis.slope_window`` consecutive rounds; the curve is flat from the first
  window start from which on the upper confidence bound of the mean slope stays below
  ``analysis.slope_threshold``.
- **Ablations**: levels are compared at a fixed label budget, the smallest final
  budget common to all levels of the factor (accuracy interpolated per seed), and by
  the paired difference from random at that budget.
- **Win/tie/loss**: per seed, strategy vs opponent AULC difference; a tie when
  ``|difference| <= analysis.tie_tolerance``.

Outputs: see the ``metrics/`` and ``plots/`` section of ``docs/formats.md``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foxdog import io
from foxdog.config import ABLATION_FACTORS, AnalysisConfig, Params
from foxdog.metrics import METRICS

# Columns every rounds.csv has; the stop-set columns come with the newer loop.
REQUIRED_COLUMNS = ("strategy", "seed", "round", "n_labels", *METRICS, "fox_fraction_queried")
OPTIONAL_CURVE_METRICS = ("val_accuracy", "kappa_stop")
CURVE_METRICS = (*METRICS, "fox_fraction_queried", *OPTIONAL_CURVE_METRICS)
REFERENCE = "random"
PERMUTATION_SEED = 0  # Monte Carlo sign patterns above analysis.max_exact_seeds
# Significant digits written: enough for accuracies stored with 6 decimals, and
# unlike fixed decimals it keeps small p-values (2/2**8 = 0.0078125) exact.
SIGNIFICANT = 6
# Accuracies are stored with 6 decimals; a curve that equals the target up to
# that rounding counts as reaching it.
REACH_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- reading


def read_rounds(path: Path, stage: str) -> pd.DataFrame:
    """Read one ``rounds.csv``; a missing or malformed file is a one-line error naming it."""
    path = Path(path)
    if not path.is_file():
        # No ``filename`` attribute: the CLI then prints this message as is.
        raise FileNotFoundError(f"{path}: not found — produced by `dvc repro {stage}`")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: not a readable CSV ({err}); re-run `dvc repro {stage}`"
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; re-run `dvc repro {stage}`")
    if frame.empty:
        raise ValueError(f"{path}: no rows; re-run `dvc repro {stage}`")
    return frame


def load_strategy_rounds(params: Params, results_dir: Path) -> pd.DataFrame:
    """All ``results/<strategy>/rounds.csv`` of ``active.strategies``, concatenated."""
    frames = []
    for strategy in params.active.strategies:
        frame = read_rounds(Path(results_dir) / strategy / "rounds.csv", f"al@{strategy}")
        frames.append(frame.assign(strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def load_ablation_rounds(params: Params, results_dir: Path) -> pd.DataFrame:
    """Every ablation ``rounds.csv``, with ``factor`` and ``level`` columns added."""
    frames = []
    for factor in ABLATION_FACTORS:
        for strategy in params.ablations.strategies:
            path = Path(results_dir) / "ablations" / factor / strategy / "rounds.csv"
            frame = read_rounds(path, f"ablate@{factor}-{strategy}")
            if factor not in frame.columns:
                raise ValueError(f"{path}: missing column {factor!r}")
            frames.append(frame.assign(strategy=strategy, factor=factor, level=frame[factor]))
    if not frames:
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, "factor", "level"])
    return pd.concat(frames, ignore_index=True)


def load_baseline(path: Path) -> dict[str, Any]:
    """``metrics/baseline.json``; its ``accuracy.mean`` defines the targets."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found — produced by `dvc repro baseline`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        float(data["accuracy"]["mean"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: no readable accuracy.mean ({err})") from None
    return data


# --------------------------------------------------------------------------- statistics


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
    sem = float(x.std(ddof=1)) / math.sqrt(len(x))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, len(x) - 1)) * sem
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


# --------------------------------------------------------------------------- curves


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
            bounds = (0.0, 1.0) if metric == "fox_fraction_queried" else None
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
    """``strategy,n_labels,accuracy`` (mean) from :func:`curve_bands` output."""
    acc = curves[curves["metric"] == "accuracy"]
    out = acc[["strategy", "n_labels", "mean"]].rename(columns={"mean": "accuracy"})
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


def per_seed_final(rounds: pd.DataFrame, metric: str = "accuracy") -> pd.Series:
    """``metric`` at each seed's last round, indexed by seed."""
    last = rounds.sort_values("round").groupby("seed", sort=True).tail(1)
    return pd.Series(
        last[metric].to_numpy(np.float64), index=last["seed"].astype(int), name=metric
    ).sort_index()


# --------------------------------------------------------------------------- targets


def target_key(fraction: float) -> str:
    """``0.95`` -> ``"95"`` (``0.975`` -> ``"97_5"``: dots would read as nesting in DVC)."""
    percent = round(fraction * 100, 6)
    if percent == int(percent):
        return f"{int(percent)}"
    return f"{percent:g}".replace(".", "_")


def target_reference(
    rounds: pd.DataFrame, baseline_accuracy: float, targets: Sequence[float]
) -> dict[str, Any]:
    """Which accuracy the targets are shares of: the baseline if the budget reaches it.

    The full-pool baseline when the best strategy's mean final accuracy reaches the
    largest target share of it; else that best final accuracy itself, so that every
    target is reachable within the budget by at least the best arm.
    """
    finals = {
        s: float(per_seed_final(part).mean()) for s, part in rounds.groupby("strategy", sort=False)
    }
    best = max(finals, key=lambda s: finals[s]) if finals else None
    top = max(targets)
    if best is None or finals[best] >= top * baseline_accuracy - REACH_TOLERANCE:
        return {"reference": "full_pool_baseline", "accuracy": baseline_accuracy, "strategy": None}
    return {"reference": "best_final_accuracy", "accuracy": finals[best], "strategy": best}


# --------------------------------------------------------------------------- per run group


def _labels_at(rounds: pd.DataFrame, index: int | None) -> float:
    """``n_labels`` of the ``index``-th round of one seed's rows (NaN for none)."""
    if index is None:
        return math.nan
    return float(rounds["n_labels"].iloc[index])


def stopping(by_seed: Mapping[int, pd.DataFrame], cfg: AnalysisConfig) -> dict[str, Any]:
    """The stabilising-predictions stopping rule on ``kappa_stop``, per seed and pooled."""
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
            }
        )
    per_seed, labels, at_stop, change = {}, [], [], []
    for s, p in by_seed.items():
        kappa = pd.to_numeric(p["kappa_stop"], errors="coerce").to_numpy(np.float64)
        idx = stop_round(kappa, cfg.stop_kappa, cfg.stop_window)
        n = _labels_at(p, idx)
        per_seed[str(s)] = {"round": None if idx is None else int(p["round"].iloc[idx])}
        per_seed[str(s)]["n_labels"] = as_count(n)
        labels.append(n)
        if idx is not None:
            acc = p["accuracy"].to_numpy(np.float64)
            at_stop.append(acc[idx])
            change.append(acc[idx] - acc[-1])
    out.update(
        labels=as_count(censored_median(labels)),
        seeds_stopped=float(np.mean([not math.isnan(v) for v in labels])),
        per_seed=per_seed,
        accuracy_at_stop=interval_dict(at_stop, cfg),
        accuracy_change=interval_dict(change, cfg) | {"n_pairs": len(change)},
    )
    return out


def plateau(
    by_seed: Mapping[int, pd.DataFrame], curve_labels: np.ndarray, cfg: AnalysisConfig
) -> dict[str, Any]:
    """Flat-curve rule: the upper bound of the mean per-seed slope under the threshold."""
    slopes = np.array(
        [
            window_slopes(
                p["n_labels"].to_numpy(np.float64),
                p["accuracy"].to_numpy(np.float64),
                cfg.slope_window,
            )
            for p in by_seed.values()
            if len(p) == len(curve_labels)
        ]
    )
    out: dict[str, Any] = {"threshold": cfg.slope_threshold, "window": cfg.slope_window}
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


def analyse_group(
    rounds: pd.DataFrame, targets: Sequence[Mapping[str, Any]], cfg: AnalysisConfig
) -> dict[str, Any]:
    """Everything about one strategy's runs (one protocol) that needs no other strategy.

    ``targets``: ``[{fraction, key, accuracy}]`` (see :func:`target_reference`).
    """
    rounds = rounds.sort_values(["seed", "round"], kind="stable")
    by_seed = {int(s): part for s, part in rounds.groupby("seed", sort=True)}
    curve_labels = rounds.groupby("round", sort=True)["n_labels"].median().to_numpy(np.float64)
    aulcs = per_seed_aulc(rounds)
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
    fox = rounds[rounds["round"] >= 1].groupby("seed")["fox_fraction_queried"].mean()
    seconds = rounds.groupby("seed")[["fit_seconds", "query_seconds"]].sum(min_count=1)
    return {
        "n_seeds": len(by_seed),
        "seeds": sorted(by_seed),
        "final_labels": as_count(curve_labels[-1]),
        "label_range": [as_count(curve_labels[0]), as_count(curve_labels[-1])],
        "aulc": interval_dict(aulcs, cfg) | {"per_seed": {str(s): v for s, v in aulcs.items()}},
        "per_seed_aulc": aulcs,  # removed before writing JSON
        "final_accuracy": interval_dict(final, cfg),
        "final_balanced_accuracy": interval_dict(per_seed_final(rounds, "balanced_accuracy"), cfg),
        "targets": target_info,
        "stop": stopping(by_seed, cfg),
        "plateau": plateau(by_seed, curve_labels, cfg),
        "fox_share": interval_dict(fox, cfg, bounds=(0.0, 1.0)),
        "fit_seconds": float(seconds["fit_seconds"].mean()),
        "query_seconds": float(seconds["query_seconds"].mean()),
    }


def paired_saving(mine: pd.Series, random: pd.Series, cfg: AnalysisConfig) -> dict[str, Any]:
    """Labels saved vs random per seed, over the seeds where both reached the target."""
    seeds = mine.index.intersection(random.index)
    a, r = mine.loc[seeds], random.loc[seeds]
    both = a.notna() & r.notna()
    saved = (r - a)[both]
    mean, low, high = t_interval(saved, cfg.confidence, cfg.min_seeds)
    percent = t_interval(100.0 * saved / r[both], cfg.confidence, cfg.min_seeds)[0]
    out = {
        "labels": mean,
        "low": low,
        "high": high,
        "percent": percent,
        "n_pairs": int(both.sum()),
        "n_strategy_only": int((a.notna() & r.isna()).sum()),
        "n_random_only": int((a.isna() & r.notna()).sum()),
        "n_neither": int((a.isna() & r.isna()).sum()),
    }
    if out["n_pairs"]:
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
                    target["per_seed_labels"], ref["targets"][key]["per_seed_labels"], cfg
                )
        group["test_vs_random"] = None
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
    pick = max(better or candidates, key=lambda c: _finite(c[2]["mean_difference"]))
    name, arm, test = pick
    numbers = (
        f"AULC {_points(test['mean_difference'])} points ({pct} interval "
        f"{_points(test['low'])} to {_points(test['high'])}; {test['method']} test, "
        f"Benjamini–Hochberg adjusted p = {_p(test['p_adjusted'])} over "
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
        out["text"] = (
            f"No strategy is {claim} random sampling; the arm closest to beating it, "
            f"{arm}, is {numbers}."
        )
    if worse:
        out["text"] += f" Significantly worse than random: {', '.join(worse)}."
    return out


def _finite(value: float) -> float:
    return -math.inf if value is None or math.isnan(value) else value


def _points(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:+.2f}"


def _p(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3g}"


# --------------------------------------------------------------------------- tables


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _interval_columns(name: str, interval: Mapping[str, Any]) -> dict[str, Any]:
    """``name``, ``name_low``, ``name_high`` from a ``{"mean", "low", "high"}`` interval."""
    return {
        name: interval["mean"],
        f"{name}_low": interval["low"],
        f"{name}_high": interval["high"],
    }


def strategies_table(groups: Mapping[str, dict[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    """``metrics/strategies.csv``: one row per strategy (columns in docs/formats.md)."""
    rows = []
    for name, g in groups.items():
        test = g.get("test_vs_random") or {}
        row: dict[str, Any] = {"strategy": name, "arm": g.get("arm", name)}
        row.update(n_seeds=g["n_seeds"], final_labels=g["final_labels"])
        for what in ("final_accuracy", "final_balanced_accuracy", "aulc"):
            row.update(_interval_columns(what, g[what]))
        row.update(
            {
                "aulc_difference_vs_random": test.get("mean_difference", math.nan),
                "aulc_difference_vs_random_low": test.get("low", math.nan),
                "aulc_difference_vs_random_high": test.get("high", math.nan),
                "p_value_vs_random": test.get("p_value", math.nan),
                "p_adjusted_vs_random": test.get("p_adjusted", math.nan),
                "test_vs_random": test.get("method", ""),
                "min_p_value_vs_random": test.get("min_p_value", math.nan),
                "verdict_vs_random": test.get("verdict", ""),
            }
        )
        for k in keys:
            t = g["targets"][k]
            s = t["saving_vs_random"]
            row.update(
                {
                    f"target_accuracy_{k}": t["accuracy"],
                    f"labels_to_{k}": t["labels"],
                    f"seeds_reached_{k}": t["seeds_reached"],
                    f"saving_vs_random_{k}": s.get("labels", math.nan),
                    f"saving_vs_random_{k}_low": s.get("low", math.nan),
                    f"saving_vs_random_{k}_high": s.get("high", math.nan),
                    f"saving_vs_random_{k}_pairs": s.get("n_pairs", math.nan),
                    f"saving_vs_random_{k}_status": s["status"],
                }
            )
        stop, flat = g["stop"], g["plateau"]
        row.update(
            {
                "stop_labels": stop["labels"],
                "stop_seeds": stop["seeds_stopped"],
                **_interval_columns("stop_accuracy_change", stop["accuracy_change"]),
                "plateau_round": _nan(flat["round"]),
                "plateau_labels": flat["n_labels"],
                "final_slope": flat["final_slope"]["mean"],
                "final_slope_high": flat["final_slope"]["high"],
                **_interval_columns("fox_share", g["fox_share"]),
                "fit_seconds": g["fit_seconds"],
                "query_seconds": g["query_seconds"],
            }
        )
        rows.append(row)
    return _integer_columns(pd.DataFrame(rows))


def _is_count(column: str) -> bool:
    """Columns holding label counts, rounds or seed counts (integers, possibly missing)."""
    if column in ("n_seeds", "final_labels", "plateau_round", "plateau_labels", "budget"):
        return True
    return column.endswith("_pairs")


def _integer_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as nullable integers, so the CSV says 140 rather than 140.0."""
    for column in filter(_is_count, frame.columns):
        values = pd.to_numeric(frame[column], errors="coerce")
        known = values.dropna()
        if (known == known.round()).all():
            frame[column] = values.round().astype("Int64")
    return frame


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

    Each group also gets ``budget`` (the smallest final label count common to all
    levels of the factor), ``accuracy_at_budget`` and ``gain_at_budget`` (paired vs random).
    """
    out = []
    cfg = params.analysis
    for factor in ABLATION_FACTORS:
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


def ablations_table(
    ablated: Sequence[tuple[str, float, bool, dict[str, dict[str, Any]]]],
) -> pd.DataFrame:
    """``metrics/ablations.csv``: one row per (factor, level, strategy)."""
    rows = []
    for factor, level, is_default, groups in ablated:
        for name, g in groups.items():
            test = g.get("test_vs_random") or {}
            rows.append(
                {
                    "factor": factor,
                    "level": level,
                    "is_default": is_default,
                    "strategy": name,
                    "n_seeds": g["n_seeds"],
                    "final_labels": g["final_labels"],
                    "final_accuracy": g["final_accuracy"]["mean"],
                    **_interval_columns("aulc", g["aulc"]),
                    "aulc_difference_vs_random": test.get("mean_difference", math.nan),
                    "budget": g["budget"],
                    **_interval_columns("accuracy_at_budget", g["accuracy_at_budget"]),
                    **_interval_columns("gain_at_budget", g["gain_at_budget"]),
                }
            )
    columns = ["factor", "level", "is_default", "strategy", "n_seeds", "final_labels"]
    columns += ["final_accuracy", "aulc", "aulc_low", "aulc_high", "aulc_difference_vs_random"]
    columns += ["budget", "accuracy_at_budget", "accuracy_at_budget_low", "accuracy_at_budget_high"]
    columns += ["gain_at_budget", "gain_at_budget_low", "gain_at_budget_high"]
    return _integer_columns(pd.DataFrame(rows, columns=columns))


def ranking(groups: Mapping[str, dict[str, Any]]) -> list[str]:
    """Strategies by mean AULC, best first (ties keep the configured order)."""
    scored = [(name, _finite(g["aulc"]["mean"])) for name, g in groups.items()]
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


def round_float(value: float) -> float:
    """``value`` to ``SIGNIFICANT`` digits (-0.0 becomes 0.0, so the bytes are stable)."""
    return float(f"{value:.{SIGNIFICANT}g}") + 0.0 if math.isfinite(value) else value


def clean_json(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, floats rounded, Series dropped."""
    if isinstance(value, pd.Series):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return None
        return as_count(value) if value == round(value) and abs(value) >= 1 else round_float(value)
    return value


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns rounded with :func:`round_float` for stable CSV bytes."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(round_float)
    return out


def settings(cfg: AnalysisConfig) -> dict[str, Any]:
    """The analysis constants, written next to the results they produced."""
    return {
        "confidence": cfg.confidence,
        "stop_kappa": cfg.stop_kappa,
        "stop_window": cfg.stop_window,
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


def slope_words(threshold: float) -> str:
    """``1e-4`` -> ``"less than 1 point of accuracy per 100 labels"``."""
    points = 100 * 100 * threshold
    return f"less than {points:g} point{'' if points == 1 else 's'} of accuracy per 100 labels"


def analysis_document(
    groups: Mapping[str, dict[str, Any]],
    baseline: Mapping[str, Any],
    params: Params,
    reference: Mapping[str, Any],
    targets: Sequence[Mapping[str, Any]],
    arms: Sequence[Sequence[str]],
    decided: Mapping[str, Any],
) -> dict[str, Any]:
    """The nested ``metrics/analysis.json`` (keys in docs/formats.md)."""
    cfg = params.analysis
    acc = baseline["accuracy"]
    tests = [g["test_vs_random"] for g in groups.values() if g.get("test_vs_random")]
    min_p = min((t["min_p_value"] for t in tests), default=math.nan)
    hidden = ("per_seed_aulc", "per_seed_at_budget")
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
        "strategies": strategies,
        "ranking": ranking(groups),
        "best_strategy": decided["best_strategy"],
        "ablations": {
            "strategies": list(params.ablations.strategies),
            "factors": {
                f: {
                    "default": getattr(params.active, f),
                    "levels": list(getattr(params.ablations, f)),
                }
                for f in ABLATION_FACTORS
            },
        },
    }


# --------------------------------------------------------------------------- stage


def load_queries(params: Params, results_dir: Path) -> dict[str, pd.DataFrame | None]:
    """``results/<strategy>/queries.csv`` per strategy (``None`` when absent or unreadable)."""
    out: dict[str, pd.DataFrame | None] = {}
    for strategy in params.active.strategies:
        path = Path(results_dir) / strategy / "queries.csv"
        try:
            out[strategy] = pd.read_csv(path) if path.is_file() else None
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            out[strategy] = None
    return out


def run_analysis(
    params: Params,
    results_dir: Path = Path("results"),
    baseline_path: Path = Path("metrics/baseline.json"),
    metrics_dir: Path = Path("metrics"),
    plots_dir: Path = Path("plots"),
) -> dict[str, Any]:
    """Stage ``analyze``: read results, write metrics/ and plots/, return the summary."""
    cfg = params.analysis
    baseline = load_baseline(baseline_path)
    main = load_strategy_rounds(params, results_dir)
    ablation = load_ablation_rounds(params, results_dir)
    baseline_accuracy = float(baseline["accuracy"]["mean"])
    reference = target_reference(main, baseline_accuracy, cfg.targets)
    targets = [
        {"fraction": f, "key": target_key(f), "accuracy": f * reference["accuracy"]}
        for f in cfg.targets
    ]
    keys = [t["key"] for t in targets]
    arms = identical_arms(load_queries(params, results_dir))

    curves = curve_bands(main, cfg)
    groups = {
        s: analyse_group(main[main["strategy"] == s], targets, cfg)
        for s in params.active.strategies
    }
    compare_to_reference(groups, cfg, arms)
    decided = verdict(groups, cfg)
    per_seed = pd.DataFrame({s: g["per_seed_aulc"] for s, g in groups.items()})
    ablated = ablation_groups(ablation, main, params, targets)

    summary = clean_json(summary_metrics(groups, baseline_accuracy, reference, decided, keys))
    document = analysis_document(groups, baseline, params, reference, targets, arms, decided)
    metrics_dir, plots_dir = Path(metrics_dir), Path(plots_dir)
    io.write_csv(plots_dir / "curves.csv", _rounded(curves))
    io.write_csv(plots_dir / "learning_curves.csv", _rounded(learning_curves(curves)))
    io.write_csv(plots_dir / "diff_vs_random.csv", _rounded(difference_curves(main, arms, cfg)))
    io.write_csv(metrics_dir / "winloss.csv", win_tie_loss(per_seed, cfg.tie_tolerance))
    io.write_csv(metrics_dir / "strategies.csv", _rounded(strategies_table(groups, keys)))
    io.write_csv(metrics_dir / "ablations.csv", _rounded(ablations_table(ablated)))
    io.write_json(metrics_dir / "analysis.json", clean_json(document))
    io.write_json(metrics_dir / "summary.json", summary)
    return summary

"""Stage ``analyze``: learning curves, AULC, labels to a target, stopping, plateaus, tests.

The study has regimes (``active.starts``: where the network starts — from scratch or a
pretrained trunk) and runs the same strategies and seeds in each. For every regime
``<start>`` it reads ``results/<start>/<strategy>/rounds.csv`` (and ``queries.csv``:
identical arms and class shares of the picks) for every ``active.strategies`` and
``metrics/baseline/<start>.json``, and analyses the regime on its own — exactly what a
one-regime study would get. Ablations (``results/ablations/<factor>/<strategy>/rounds.csv``
for every ``ablations.factors`` and ``ablations.strategies``) belong to the regime
``ablations.start``. A cross-regime layer then compares the starting models and writes
the overview's first two sentences as data. Every output is written atomically, with
deterministic bytes (floats to 6 significant digits, JSON keys sorted, NaN written as
an empty CSV cell or JSON ``null``). Every constant that drives a conclusion is in
``params.yaml`` ``analysis:``; class names come from ``data.classes`` (label i =
``classes[i]``), any number of them.

Definitions (per regime)
------------------------
- **Intervals** (one function, :func:`t_interval`, everywhere: curves, baselines,
  AULC, class shares, paired differences): mean over seeds ± the Student-t quantile at
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
  t-interval. Benjamini–Hochberg over the distinct arms of the regime; ``significant`` =
  adjusted p < ``analysis.alpha``. With ``n`` non-zero differences no p-value is below
  ``2/2**n``.
- **Verdict**: a strategy is named best only if its arm is significantly better than
  random (largest mean difference among those); otherwise the verdict says no
  strategy is distinguishable from random and quotes the arm closest to beating it.
- **Targets**: ``analysis.targets`` shares of the regime's full-pool baseline accuracy
  when the regime's best arm's mean final accuracy reaches the largest of them, else of
  that best final accuracy (``target_reference`` says which).
- **labels_to_<k>**: per seed, the labels at which the learning curve first crosses
  the target, linearly interpolated between rounds; reported as the median over seeds
  (a seed that never reaches it counts as +inf, so the median is empty when half the
  seeds or more never reach it) and the share of seeds reaching it.
- **saving_vs_random_<k>**: per seed, random's labels minus the strategy's, over the
  seeds where both reached the target (others are censored and counted in
  ``n_strategy_only``/``n_random_only``/``n_neither``); mean and t-interval.
- **Class shares**: per seed, the share of each class (``true_label`` of
  ``queries.csv``) among all images the strategy queried; mean and t-interval (clipped
  to [0, 1]). Per round, ``share_<class>`` of that round's batch is a curve metric.
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

Across regimes (``starting_model``, ``overview``)
-------------------------------------------------
- **Reference start**: ``scratch`` when it is one of ``active.starts``, else the first
  of them. Seeds pair across regimes: baseline seeds (``baseline.seeds``) and AL seeds
  (``active.seeds``) are the same in every regime.
- **Full-pool value of a start**: its baseline accuracy (t-interval over seeds) and the
  paired-by-seed difference from the reference start; ``best_start`` has the highest
  mean full-pool accuracy.
- **Value for a random-labelling user**: per regime the random arm's AULC and final
  accuracy, and their paired-by-seed differences from the reference start's random arm.
- **Common targets** (comparable across regimes): ``analysis.targets`` shares of the
  *reference start's* full-pool accuracy, the same absolute accuracies in every regime;
  labels to reach them per start and strategy (median, censored as above) and random's
  paired saving against the reference start's random arm. No new constant: the shares
  are the pre-declared ``analysis.targets``.
- **Study-wide adjustment**: Benjamini–Hochberg over every regime's distinct tested arms
  together (``p_adjusted_all``), reported next to the per-regime verdict; the verdicts
  themselves use the per-regime family.
- **Overview sentences**: (1) in which regimes a strategy is significantly better than
  random (per-regime verdict) and its paired saving at the highest per-regime target
  that it and random both reach in at least half the seeds (and at least
  ``analysis.min_seeds``); else that none is, with each
  regime's closest arm, its interval and adjusted p. (2) the full-pool accuracy per
  start (difference from the reference start) and the labels random sampling needs in
  each regime to reach the highest common target whose median the reference start's
  random arm reaches (the lowest common target if none), with the best start's paired
  saving. Never names a best strategy without significance.

Outputs: see the ``metrics/`` and ``plots/`` section of ``docs/formats.md``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foxdog import io
from foxdog.config import AnalysisConfig, Params
from foxdog.metrics import METRICS
from foxdog.results_check import check_queries, check_rounds, expected_ablation, expected_arm

# Columns every rounds.csv has; the stop-set columns come with the newer loop.
REQUIRED_COLUMNS = ("strategy", "seed", "round", "n_labels", *METRICS)
OPTIONAL_CURVE_METRICS = ("val_accuracy", "kappa_stop")
# Per-round class shares of the queried batch are curve metrics ``share_<class>``.
SHARE_PREFIX = "share_"
CURVE_METRICS = (*METRICS, *OPTIONAL_CURVE_METRICS)
REFERENCE = "random"
REFERENCE_START = "scratch"  # the starting model the others are compared with, when run
PERMUTATION_SEED = 0  # Monte Carlo sign patterns above analysis.max_exact_seeds
# Significant digits written: enough for accuracies stored with 6 decimals, and
# unlike fixed decimals it keeps small p-values (2/2**8 = 0.0078125) exact.
SIGNIFICANT = 6
# Accuracies are stored with 6 decimals; a curve that equals the target up to
# that rounding counts as reaching it.
REACH_TOLERANCE = 1e-9


def curve_metrics(classes: Sequence[str]) -> tuple[str, ...]:
    """Metrics of ``plots/curves.csv``: the test metrics, one share per class, the stop set."""
    return (*METRICS, *(SHARE_PREFIX + c for c in classes), *OPTIONAL_CURVE_METRICS)


def reference_start(starts: Sequence[str]) -> str:
    """``scratch`` when it is a regime of the study, else the first regime."""
    return REFERENCE_START if REFERENCE_START in starts else starts[0]


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


def _check_start(frame: pd.DataFrame, start: str, path: Path, stage: str) -> None:
    """A ``start`` column, when present, must name the regime of the folder."""
    if "start" in frame.columns:
        found = sorted(set(frame["start"].astype(str)) - {start})
        if found:
            raise ValueError(
                f"{path}: start {found} in a file of regime {start!r}; re-run `dvc repro {stage}`"
            )


def load_strategy_rounds(params: Params, results_dir: Path, start: str) -> pd.DataFrame:
    """All ``results/<start>/<strategy>/rounds.csv`` of ``active.strategies``, concatenated."""
    frames = []
    for strategy in params.active.strategies:
        path = Path(results_dir) / start / strategy / "rounds.csv"
        stage = f"al@{start}-{strategy}"
        frame = read_rounds(path, stage)
        _check_start(frame, start, path, stage)
        check_rounds(path, expected_arm(params, start, strategy))  # issue 19
        frames.append(frame.assign(start=start, strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def load_ablation_rounds(params: Params, results_dir: Path) -> pd.DataFrame:
    """Every ablation ``rounds.csv``, with ``factor`` and ``level`` columns added."""
    frames = []
    start = params.ablations.start
    for factor in params.ablations.factors:
        for strategy in params.ablations.strategies:
            path = Path(results_dir) / "ablations" / factor / strategy / "rounds.csv"
            stage = f"ablate@{factor}-{strategy}"
            frame = read_rounds(path, stage)
            if factor not in frame.columns:
                raise ValueError(f"{path}: missing column {factor!r}")
            _check_start(frame, start, path, stage)
            check_rounds(path, expected_ablation(params, factor, strategy))  # issue 19
            frames.append(
                frame.assign(start=start, strategy=strategy, factor=factor, level=frame[factor])
            )
    if not frames:
        return pd.DataFrame(columns=[*REQUIRED_COLUMNS, "start", "factor", "level"])
    return pd.concat(frames, ignore_index=True)


def load_baseline(path: Path, start: str = REFERENCE_START) -> dict[str, Any]:
    """``metrics/baseline/<start>.json``; its ``accuracy.mean`` defines the regime's targets."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found — produced by `dvc repro baseline@{start}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        float(data["accuracy"]["mean"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: no readable accuracy.mean ({err})") from None
    return data


def load_queries(params: Params, results_dir: Path, start: str) -> dict[str, pd.DataFrame | None]:
    """``results/<start>/<strategy>/queries.csv`` per strategy (``None`` when absent or unreadable).

    ``true_label`` must be a class index of ``data.classes``.
    """
    out: dict[str, pd.DataFrame | None] = {}
    n_classes = len(params.data.classes)
    for strategy in params.active.strategies:
        path = Path(results_dir) / start / strategy / "queries.csv"
        frame = check_queries(path, expected_arm(params, start, strategy))  # issue 19
        if frame is not None and "true_label" in frame.columns:
            labels = pd.to_numeric(frame["true_label"], errors="coerce")
            bad = frame["true_label"][~labels.isin(range(n_classes))]
            if len(bad):
                raise ValueError(
                    f"{path}: true_label {str(bad.iloc[0])!r} is not a class index of "
                    f"data.classes={list(params.data.classes)!r} (0 … {n_classes - 1})"
                )
        out[strategy] = frame
    return out


def query_shares(queries: pd.DataFrame | None, classes: Sequence[str]) -> pd.DataFrame:
    """``seed, round, n_queried, share_<class>…``: each class's share of a round's batch."""
    columns = ["seed", "round", "n_queried", *(SHARE_PREFIX + c for c in classes)]
    needed = {"seed", "round", "true_label"}
    if queries is None or queries.empty or not needed <= set(queries.columns):
        return pd.DataFrame(columns=columns)
    counts = pd.crosstab([queries["seed"], queries["round"]], queries["true_label"].astype(int))
    counts = counts.reindex(columns=range(len(classes)), fill_value=0)
    n = counts.sum(axis=1)
    shares = counts.div(n, axis=0)
    shares.columns = [SHARE_PREFIX + c for c in classes]
    out = shares.assign(n_queried=n).reset_index()
    return out[columns]


def with_shares(
    rounds: pd.DataFrame, queries: Mapping[str, pd.DataFrame | None], classes: Sequence[str]
) -> pd.DataFrame:
    """``rounds`` with ``n_queried`` and ``share_<class>`` per (strategy, seed, round) added.

    Empty (NaN) at round 0 and for a strategy without ``queries.csv``.
    """
    parts = []
    for strategy, part in rounds.groupby("strategy", sort=False):
        shares = query_shares(queries.get(strategy), classes)
        shares = shares.astype({"seed": "int64", "round": "int64"})
        keys = part[["seed", "round"]].astype("int64")
        merged = keys.merge(shares, on=["seed", "round"], how="left")
        merged.index = part.index
        parts.append(pd.concat([part, merged.drop(columns=["seed", "round"])], axis=1))
    return pd.concat(parts) if parts else rounds


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
    """``[start,]strategy,n_labels,accuracy`` (mean) from :func:`curve_bands` output."""
    acc = curves[curves["metric"] == "accuracy"]
    keys = [c for c in ("start", "strategy") if c in acc.columns]
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
    seconds = rounds.groupby("seed")[["fit_seconds", "query_seconds"]].sum(min_count=1)
    return {
        "n_seeds": len(by_seed),
        "seeds": sorted(by_seed),
        "final_labels": as_count(curve_labels[-1]),
        "label_range": [as_count(curve_labels[0]), as_count(curve_labels[-1])],
        "aulc": interval_dict(aulcs, cfg) | {"per_seed": {str(s): v for s, v in aulcs.items()}},
        "per_seed_aulc": aulcs,  # removed before writing JSON
        "per_seed_final": final,  # removed before writing JSON
        "final_accuracy": interval_dict(final, cfg),
        "final_balanced_accuracy": interval_dict(per_seed_final(rounds, "balanced_accuracy"), cfg),
        "targets": target_info,
        "stop": stopping(by_seed, cfg),
        "plateau": plateau(by_seed, curve_labels, cfg),
        "class_shares": class_shares(rounds, classes, cfg),
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
                **{
                    k: v
                    for c, share in g.get("class_shares", {}).items()
                    for k, v in _interval_columns(SHARE_PREFIX + c, share).items()
                },
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


def ablations_table(
    ablated: Sequence[tuple[str, float, bool, dict[str, dict[str, Any]]]], start: str
) -> pd.DataFrame:
    """``metrics/ablations.csv``: one row per (factor, level, strategy) of regime ``start``."""
    rows = []
    for factor, level, is_default, groups in ablated:
        for name, g in groups.items():
            test = g.get("test_vs_random") or {}
            rows.append(
                {
                    "start": start,
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
    columns = ["start", "factor", "level", "is_default", "strategy", "n_seeds", "final_labels"]
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
    """One regime's part of ``metrics/analysis.json`` (keys in docs/formats.md)."""
    cfg = params.analysis
    acc = baseline["accuracy"]
    tests = [g["test_vs_random"] for g in groups.values() if g.get("test_vs_random")]
    min_p = min((t["min_p_value"] for t in tests), default=math.nan)
    hidden = ("per_seed_aulc", "per_seed_final", "per_seed_at_budget")
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


# --------------------------------------------------------------------------- one regime


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
    cfg = params.analysis
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
        for s in params.active.strategies
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
        document=analysis_document(groups, baseline, params, reference, targets, arms, decided),
        summary=summary_metrics(groups, baseline_accuracy, reference, decided, keys),
        curves=curve_bands(rounds, cfg, curve_metrics(classes)),
        differences=difference_curves(rounds, arms, cfg),
        winloss=win_tie_loss(per_seed, cfg.tie_tolerance),
        strategies=strategies_table(groups, keys),
    )


# --------------------------------------------------------------------------- across regimes


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
    best = max(starts, key=lambda s: _finite(out_starts[s]["full_pool"]["accuracy"]))
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
        if saving.get("n_pairs", 0) >= need and math.isfinite(saving["labels"]):
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
            _nan(ref["common_targets"][level["key"]]["strategies"][REFERENCE]["labels"])
        ):
            return dict(level)
    return dict(levels[-1])


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _labels(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f}"


def _aulc_numbers(entry: Mapping[str, Any], cfg: AnalysisConfig, n_all: int | None) -> str:
    """``+0.80 points (95% interval -0.20 to +1.80; adjusted p = 0.094[ within ...])``."""
    level = f"{round(100 * cfg.confidence)}%"
    if math.isnan(_nan(entry["p_adjusted"])) and math.isnan(_nan(entry["low"])):
        return (
            f"{_points(entry['mean_difference'])} points (no interval and no test with "
            f"fewer than {cfg.min_seeds} seeds)"
        )
    text = (
        f"{_points(entry['mean_difference'])} points ({level} interval "
        f"{_points(entry['low'])} to {_points(entry['high'])}; adjusted p = "
        f"{_p(entry['p_adjusted'])}"
    )
    if n_all:
        study = _p(entry["p_adjusted_all"])
        text += f" within the regime, {study} over all {n_all} regime × arm tests"
    return text + ")"


def strategy_sentence(
    per_start: Mapping[str, Mapping[str, Any]], cfg: AnalysisConfig, n_all: int
) -> str:
    """The overview's first sentence: where a strategy beats random, by how many labels."""
    starts = list(per_start)
    several = len(starts) > 1
    study = n_all if several else None
    compared = [s for s in starts if per_start[s]["arm"]]
    if not compared:
        return "There is no strategy to compare with random sampling in any regime."
    level = f"{round(100 * cfg.confidence)}%"
    family = f"Benjamini–Hochberg over the distinct arms of each regime, α = {cfg.alpha:g}"
    significant = [s for s in starts if per_start[s]["significant"]]

    def where(s: str) -> str:
        return f" in {s}" if several else ""

    if significant:
        clauses = []
        for s in significant:
            e = per_start[s]
            saving = e["saving"]
            clause = f"{e['arm']} "
            if saving:
                more = saving["labels"] < 0
                reference = (
                    "the regime's full-pool accuracy"
                    if saving["target_reference"] == "full_pool_baseline"
                    else "the best arm's final accuracy in the regime"
                )
                clause += (
                    f"needs {_labels(abs(saving['labels']))} {'more' if more else 'fewer'} "
                    f"labels than random sampling to reach {_pct(saving['accuracy'])} test "
                    f"accuracy ({100 * saving['fraction']:g}% of {reference}; {level} interval "
                    f"{_labels(saving['low'])} to {_labels(saving['high'])} labels saved over "
                    f"{saving['n_pairs']} paired seeds) and gains "
                )
            else:
                clause += "gains "
            clause += f"AULC {_aulc_numbers(e, cfg, study)}"
            if e["also_better"]:
                clause += f", also significantly better: {', '.join(e['also_better'])}"
            clauses.append(f"in {s}, {clause}" if len(significant) > 1 else clause)
        regimes = "regimes" if len(significant) > 1 else "regime"
        text = (
            f"Active learning beats random sampling significantly ({family}) in the "
            f"{_and(significant)} {regimes}: {'; '.join(clauses)}"
        )
        others = [s for s in compared if s not in significant]
        if others:
            closest = "; ".join(
                f"{per_start[s]['arm']} in {s}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
                for s in others
            )
            text += f"; in {_and(others)} no strategy does (closest: {closest})"
    else:
        scope = f"in any of the {len(starts)} regimes" if several else f"in the {starts[0]} regime"
        closest = "; ".join(
            f"{per_start[s]['arm']}{where(s)}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
            for s in compared
        )
        arms = f"the arm{'s' if len(compared) > 1 else ''} closest to beating it"
        text = (
            f"No strategy beats random sampling significantly {scope} ({family}); {arms}: {closest}"
        )
    worse = [f"{arm}{where(s)}" for s in starts for arm in per_start[s]["worse"]]
    if worse:
        text += f"; significantly worse than random: {', '.join(worse)}"
    return text + "."


def model_sentence(
    model: Mapping[str, Any], level: Mapping[str, Any] | None, cfg: AnalysisConfig
) -> str:
    """The overview's second sentence: the full-pool accuracy per start, random's labels."""
    ref = model["reference_start"]
    starts = model["starts"]
    pct_level = f"{round(100 * cfg.confidence)}%"
    parts = []
    for s, e in starts.items():
        fp, d = e["full_pool"], e["full_pool_vs_reference"]
        text = f"{_pct(fp['accuracy'])} from {s}"
        if d:
            text += (
                f" ({_points(d['mean_difference'])} points vs {ref}, {pct_level} interval "
                f"{_points(d['low'])} to {_points(d['high'])})"
            )
        elif len(starts) == 1 and math.isfinite(_nan(fp["low"])):
            text += f" ({pct_level} interval {_pct(fp['low'])}–{_pct(fp['high'])})"
        parts.append(text)
    text = f"Trained on the full pool, the CNN's test accuracy is {_and(parts)}"
    if level is not None:
        key = level["key"]
        needs = []
        for s, e in starts.items():
            if e["random"] is None:
                continue
            labels = _nan(e["common_targets"][key]["strategies"][REFERENCE]["labels"])
            if math.isfinite(labels):
                needs.append(f"{_labels(labels)} labels from {s}")
            else:  # half the seeds or more never get there within the budget
                final = _labels(_nan(e["random"]["final_labels"]))
                needs.append(f"more than {final} labels from {s}")
        text += (
            f"; to reach {_pct(level['accuracy'])} ({100 * level['fraction']:g}% of the {ref} "
            f"full-pool accuracy), random sampling needs a median of {_and(needs)}"
        )
        best = model["best_start"]
        saving = starts[best]["common_targets"][key]["random_saving_vs_reference"]
        if (
            best != ref
            and saving
            and saving["status"] == "ok"
            and saving["n_pairs"] >= cfg.min_seeds
        ):
            text += (
                f" ({best} saves {_labels(saving['labels'])} labels, {pct_level} interval "
                f"{_labels(saving['low'])} to {_labels(saving['high'])}, over "
                f"{saving['n_pairs']} paired seeds)"
            )
    return text + "."


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
    return {
        "any_significant": bool(significant),
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


# --------------------------------------------------------------------------- stage


def _with_start(frame: pd.DataFrame, start: str) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "start", start)
    return out


def _series(frame: pd.DataFrame, name: str, after: str) -> pd.DataFrame:
    """Add ``series`` = ``"<start> / <name>"`` after column ``after`` (one line per regime)."""
    out = frame.copy()
    out.insert(out.columns.get_loc(after) + 1, "series", out["start"] + " / " + out[name])
    return out


def _stack(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = list(frames)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def run_analysis(
    params: Params,
    results_dir: Path = Path("results"),
    metrics_dir: Path = Path("metrics"),
    plots_dir: Path = Path("plots"),
    baseline_dir: Path | None = None,
) -> dict[str, Any]:
    """Stage ``analyze``: read results, write metrics/ and plots/, return the summary.

    Baselines are read from ``baseline_dir`` (default: ``<metrics_dir>/baseline``) as
    ``<start>.json``, one per start of ``active.starts``.
    """
    cfg = params.analysis
    results_dir, metrics_dir, plots_dir = Path(results_dir), Path(metrics_dir), Path(plots_dir)
    baseline_dir = metrics_dir / "baseline" if baseline_dir is None else Path(baseline_dir)
    starts = list(params.active.starts)
    # Every input is read before anything is written: a missing one changes no output.
    inputs = {
        s: (
            load_strategy_rounds(params, results_dir, s),
            load_queries(params, results_dir, s),
            load_baseline(baseline_dir / f"{s}.json", s),
        )
        for s in starts
    }
    ablation = load_ablation_rounds(params, results_dir)
    regimes = {s: analyse_regime(params, s, *inputs[s]) for s in starts}

    ablated: list[tuple[str, float, bool, dict[str, dict[str, Any]]]] = []
    if params.ablations.strategies and params.ablations.factors:
        home = regimes.get(params.ablations.start)
        if home is None:
            raise ValueError(
                f"params.yaml: ablations.start={params.ablations.start!r} must be one of "
                f"active.starts={starts!r}"
            )
        ablated = ablation_groups(ablation, home.rounds, params, home.targets)
    model = starting_model(regimes, params)
    tests = study_tests(regimes, cfg)
    view = overview(regimes, model, tests, cfg)

    document = {
        "classes": list(params.data.classes),
        "starts": starts,
        "regimes": {s: r.document for s, r in regimes.items()},
        "ablations": ablations_document(params),
        "starting_model": model,
        "overview": view,
        "settings": settings(cfg) | {"reference_start": model["reference_start"]},
    }
    summary = clean_json(
        {
            **{s: r.summary for s, r in regimes.items()},
            "starting_model": starting_model_summary(model),
            "overview": {
                "any_significant": view["any_significant"],
                "n_significant_starts": len(view["significant_starts"]),
            },
        }
    )
    curves = _stack(_with_start(r.curves, s) for s, r in regimes.items())
    learning = _series(learning_curves(curves), "strategy", "strategy")
    differences = _stack(_with_start(r.differences, s) for s, r in regimes.items())
    differences = _series(differences, "arm", "arm")
    io.write_csv(plots_dir / "curves.csv", _rounded(curves))
    io.write_csv(plots_dir / "learning_curves.csv", _rounded(learning))
    io.write_csv(plots_dir / "diff_vs_random.csv", _rounded(differences))
    io.write_csv(
        metrics_dir / "winloss.csv", _stack(_with_start(r.winloss, s) for s, r in regimes.items())
    )
    io.write_csv(
        metrics_dir / "strategies.csv",
        _rounded(_stack(_with_start(r.strategies, s) for s, r in regimes.items())),
    )
    io.write_csv(
        metrics_dir / "ablations.csv", _rounded(ablations_table(ablated, params.ablations.start))
    )
    io.write_json(metrics_dir / "analysis.json", clean_json(document))
    io.write_json(metrics_dir / "summary.json", summary)
    return summary

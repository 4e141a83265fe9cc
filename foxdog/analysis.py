"""Stage ``analyze``: learning curves, AULC, label savings, plateaus and paired tests.

Reads ``results/<strategy>/rounds.csv`` for every ``active.strategies``,
``results/ablations/<factor>/<strategy>/rounds.csv`` for every factor and
``ablations.strategies``, and ``metrics/baseline.json``; writes the files below,
each atomically, with deterministic bytes (floats to 6 significant digits, JSON
keys sorted, NaN written as an empty CSV cell or JSON ``null``).

Definitions
-----------
- **Bands**: mean over seeds and a 95% percentile-bootstrap interval of that mean
  (``analysis.bootstrap`` resamples of the seeds, generator seeded with
  ``BOOTSTRAP_SEED``, so the bytes do not change between runs).
- **AULC**: trapezoid area under accuracy-vs-``n_labels`` divided by the label
  range (a mean accuracy over the run, in [0, 1]); per seed, then mean + band.
  Only comparable between runs over the same label range (not across the levels
  of the ``initial_size``/``query_size`` ablations).
- **labels_to_<k>**: first ``n_labels`` at which the *mean* accuracy curve reaches
  ``k``% of the full-pool baseline accuracy mean (``analysis.targets``); empty
  when never reached.  ``<k>`` is the integer percent (``0.95`` -> ``95``).
- **saving_vs_random_<k>**: ``labels_to_<k>(random) - labels_to_<k>(strategy)``
  (positive = fewer labels needed); ``_pct`` divides by random's labels. Empty
  unless both reached the target; ``_status`` then says why:
  ``ok``, ``random_not_reached`` (``_lower_bound`` holds random's final labels
  minus the strategy's labels: the saving is larger than that),
  ``strategy_not_reached``, ``neither_reached``, ``reference`` (random itself)
  or ``no_random`` (random was not run).
- **plateau_kappa**: stabilising predictions (Bloodgood & Vijay-Shanker 2009):
  per seed, the first round ``r`` with ``kappa_prev >= analysis.kappa_threshold``
  for ``analysis.kappa_window`` consecutive rounds ending at ``r``.  Pooled as
  the median over seeds, counting a seed that never stops as +inf (so the
  pooled value is empty when half the seeds or more never stop) and taking the
  upper median for an even count (an observed round, erring late).
- **plateau_slope**: first round after which every later gain of the mean
  accuracy curve per added label stays below ``analysis.slope_threshold``;
  empty when the last gain is still above it.
- **Paired test vs random** on per-seed AULC (seeds present in both): when at
  least ``MIN_WILCOXON`` seeds differ, the Wilcoxon signed-rank test
  (``scipy.stats.wilcoxon``, two-sided, exact for small n); otherwise an exact
  sign-flip permutation test of the mean difference over all ``2**n`` sign
  patterns (it uses magnitudes and is exact where the normal approximation
  is meaningless). Both are two-sided; with ``n`` differing seeds neither can
  give p below ``2 / 2**n`` (``min_p_value``): 0.0625 for 5 seeds, so nothing
  is "significant" at alpha = 0.05 with 5 seeds or fewer.
- **Several strategies, one reference**: the p-values of all strategies compared
  with random are adjusted together by Benjamini–Hochberg
  (``scipy.stats.false_discovery_control``); ``significant`` means the adjusted
  p-value is below alpha, so one lucky strategy among many is not called a win.
- **Win/tie/loss**: per seed, strategy vs opponent AULC difference; a tie when
  ``|difference| <= TIE_TOLERANCE``.

Outputs
-------
``plots/curves.csv``: ``strategy,round,n_labels,metric,mean,low,high`` for the
metrics in ``CURVE_METRICS`` (rows without data, e.g. ``kappa_prev`` at round 0,
left out).

``plots/learning_curves.csv``: ``strategy,n_labels,accuracy`` (mean).

``metrics/winloss.csv``: ``strategy,opponent,wins,ties,losses`` (every ordered
pair of distinct strategies).

``metrics/strategies.csv`` (one row per strategy, in ``active.strategies`` order):
``strategy, n_seeds, final_labels, final_accuracy, final_accuracy_low,
final_accuracy_high, aulc, aulc_low, aulc_high, aulc_gain_vs_random,
p_value_vs_random, p_adjusted_vs_random, test_vs_random, min_p_value_vs_random``,
then for each
target ``<k>``: ``target_accuracy_<k>, labels_to_<k>, reached_<k>,
seeds_reached_<k>, saving_vs_random_<k>, saving_vs_random_<k>_pct,
saving_vs_random_<k>_status, saving_vs_random_<k>_lower_bound``, then
``plateau_kappa_round, plateau_kappa_labels, plateau_kappa_seeds_reached,
plateau_slope_round, plateau_slope_labels, fox_fraction_queried,
fit_seconds, query_seconds``.
``seeds_reached_<k>`` and ``plateau_kappa_seeds_reached`` are fractions of seeds;
``fox_fraction_queried`` is the mean over seeds and rounds >= 1;
``fit_seconds``/``query_seconds`` are per-seed totals, mean over seeds.
Random's ``p_value_vs_random``/``test_vs_random`` are empty.

``metrics/ablations.csv`` (one row per factor, level, strategy; the default
level comes from the main results at ``active.<factor>``): ``factor, level,
is_default, strategy, n_seeds, final_labels, final_accuracy, aulc, aulc_low,
aulc_high``, then per target ``labels_to_<k>, saving_vs_random_<k>,
saving_vs_random_<k>_status`` (against random at the same factor and level).

``metrics/summary.json`` (flat, for ``dvc metrics show/diff``):
``baseline.accuracy``, ``best_strategy`` (largest AULC, random included),
and per strategy ``<s>.aulc``, ``<s>.final_accuracy``, ``<s>.labels_to_<k>``,
``<s>.plateau_kappa_labels``, ``<s>.plateau_slope_labels``; for non-random
strategies also ``<s>.saving_vs_random_<k>``, ``<s>.p_value_vs_random`` and
``<s>.p_adjusted_vs_random``.

``metrics/analysis.json`` (nested, for the report): ``baseline`` {accuracy,
low, high, n_seeds}; ``targets`` [{fraction, key, accuracy}]; ``settings``
{bootstrap, bootstrap_seed, confidence, kappa_threshold, kappa_window,
slope_threshold, alpha, tie_tolerance, reference, min_wilcoxon}; ``tests``
{note, min_p_value, significance_possible}; ``strategies`` {<s>: {n_seeds, seeds,
final_labels, label_range, aulc {mean, low, high, per_seed {seed: v}},
final_accuracy {mean, low, high}, targets {<k>: {fraction, accuracy, labels,
reached, seeds_reached, per_seed_labels {seed: labels|null}, saving_vs_random
{labels, percent, status, lower_bound}}}, test_vs_random (null for random)
{method, p_value, p_adjusted, n_comparisons, n_pairs, n_nonzero, min_p_value,
mean_difference, significant}, plateau {kappa {threshold, window, round, n_labels, seeds_reached,
per_seed {seed: {round, n_labels}}}, slope {threshold, round, n_labels}}}};
``ranking`` (strategies by AULC, best first); ``best_strategy``; ``ablations``
{strategies, factors {<factor>: {default, levels}}}.
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

CURVE_METRICS = (*METRICS, "fox_fraction_queried", "kappa_prev")
REQUIRED_COLUMNS = ("strategy", "seed", "round", "n_labels", *CURVE_METRICS)
REFERENCE = "random"
TIE_TOLERANCE = 0.005  # AULC difference below which two runs tie (about half a point)
MIN_WILCOXON = 6  # differing seeds from which the Wilcoxon test replaces the exact one
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
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


def bootstrap_ci(
    values: Iterable[float],
    n_resamples: int,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Mean of ``values`` (NaNs dropped) and its percentile-bootstrap interval."""
    x = np.asarray(list(values), dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_resamples, len(x)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    # With very few seeds the bootstrap distribution is coarse; keep the band
    # around the mean it describes.
    return mean, float(min(low, mean)), float(max(high, mean))


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


def labels_to_reach(n_labels: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """First ``n_labels`` (in label order) whose accuracy reaches ``target``; NaN if none."""
    x = np.asarray(n_labels, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    hit = np.flatnonzero(y[order] >= target - REACH_TOLERANCE)  # NaN never reaches
    return float(x[order][hit[0]]) if len(hit) else math.nan


def as_count(value: float) -> int | float:
    """A whole number of labels as ``int`` (so JSON says 140, not 140.0); NaN stays NaN."""
    value = float(value)
    return int(round(value)) if math.isfinite(value) and value == round(value) else value


def label_saving(random_labels: float, labels: float, random_final_labels: float) -> dict[str, Any]:
    """Labels saved versus random at one target, with why it is missing when it is."""
    out: dict[str, Any] = {"labels": math.nan, "percent": math.nan, "lower_bound": math.nan}
    random_ok, mine_ok = not math.isnan(random_labels), not math.isnan(labels)
    if random_ok and mine_ok:
        saved = random_labels - labels
        out.update(labels=as_count(saved), percent=100.0 * saved / random_labels, status="ok")
    elif mine_ok:
        # Random would need more than all it was given: the saving exceeds this.
        lower = as_count(random_final_labels - labels)
        out.update(status="random_not_reached", lower_bound=lower)
    elif random_ok:
        out["status"] = "strategy_not_reached"
    else:
        out["status"] = "neither_reached"
    return out


def kappa_plateau_round(kappa: Sequence[float], threshold: float, window: int) -> int | None:
    """First index r with ``kappa >= threshold`` on the ``window`` entries ending at r."""
    ok = np.asarray(kappa, dtype=np.float64) >= threshold  # NaN (round 0) is never stable
    run = 0
    for r, stable in enumerate(ok):
        run = run + 1 if stable else 0
        if run >= window:
            return r
    return None


def slope_plateau_round(
    n_labels: Sequence[float], accuracy: Sequence[float], threshold: float
) -> int | None:
    """First index r after which every gain in accuracy per label stays below ``threshold``."""
    x = np.asarray(n_labels, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if len(x) < 2:
        return None
    gains = np.diff(y) / np.diff(x)  # gains[k] is from point k to k + 1
    if not gains[-1] < threshold:
        return None  # still climbing (or undefined) at the end of the run
    flat = gains < threshold
    # The last index with a gain at or above the threshold ends before the plateau.
    steep = np.flatnonzero(~flat)
    return int(steep[-1] + 1) if len(steep) else 0


def pooled_plateau(rounds: Sequence[int | None]) -> int | None:
    """Upper median of per-seed plateau rounds, a seed that never stops counting as +inf."""
    if not rounds:
        return None
    values = sorted(math.inf if r is None else r for r in rounds)
    median = values[len(values) // 2]
    return None if math.isinf(median) else int(median)


def sign_flip_p_value(differences: Sequence[float]) -> float:
    """Exact two-sided sign-flip permutation p-value of the mean paired difference."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[d != 0]  # a zero difference is the same under either sign
    if len(d) == 0:
        return 1.0
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    means = np.abs(signs @ d) / len(d)
    observed = abs(d.mean())
    # Relative tolerance: sign patterns giving the same |mean| must count as "as extreme".
    return float(np.mean(means >= observed * (1 - 1e-12)))


def paired_test(strategy: pd.Series, reference: pd.Series) -> dict[str, Any]:
    """Two-sided paired test of per-seed values (indexed by seed) against the reference."""
    seeds = strategy.index.intersection(reference.index).sort_values()
    d = (strategy.loc[seeds] - reference.loc[seeds]).to_numpy(dtype=np.float64)
    d = d[~np.isnan(d)]
    n_nonzero = int(np.count_nonzero(d))
    out: dict[str, Any] = {
        "n_pairs": len(d),
        "n_nonzero": n_nonzero,
        "mean_difference": float(d.mean()) if len(d) else math.nan,
        "min_p_value": 2.0 / 2**n_nonzero if n_nonzero else 1.0,
    }
    if len(d) == 0:
        out.update(method="none (no paired seeds)", p_value=math.nan)
    elif n_nonzero == 0:
        out.update(method="none (identical on every seed)", p_value=1.0)
    elif n_nonzero >= MIN_WILCOXON:
        result = stats.wilcoxon(d[d != 0], alternative="two-sided")
        out.update(method="wilcoxon signed-rank", p_value=float(result.pvalue))
    else:
        out.update(method="exact sign-flip permutation", p_value=sign_flip_p_value(d))
    return out


def win_tie_loss(per_seed: pd.DataFrame, tolerance: float = TIE_TOLERANCE) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- curves


def curve_bands(
    rounds: pd.DataFrame, n_resamples: int, metrics: Sequence[str] = CURVE_METRICS
) -> pd.DataFrame:
    """Long form ``strategy,round,n_labels,metric,mean,low,high`` over seeds.

    Rows come in the strategies' order of appearance, then ``metrics`` order, then
    round; a (strategy, round, metric) without any value is left out.
    """
    rows = []
    for strategy, runs in rounds.groupby("strategy", sort=False):
        by_round = list(runs.groupby("round", sort=True))
        for metric in metrics:
            for rnd, part in by_round:
                mean, low, high = bootstrap_ci(part[metric], n_resamples)
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


def mean_curve(rounds: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """``round, n_labels, mean`` of one run group's ``metric`` over seeds."""
    grouped = rounds.groupby("round", sort=True)
    return pd.DataFrame(
        {"n_labels": grouped["n_labels"].median(), "mean": grouped[metric].mean()}
    ).reset_index()


def per_seed_aulc(rounds: pd.DataFrame) -> pd.Series:
    """AULC of each seed of one run group, indexed by seed."""
    values = {
        int(seed): aulc(part["n_labels"], part["accuracy"])
        for seed, part in rounds.groupby("seed", sort=True)
    }
    return pd.Series(values, dtype=np.float64, name="aulc")


# --------------------------------------------------------------------------- per run group


def target_key(fraction: float) -> str:
    """``0.95`` -> ``"95"`` (``0.975`` -> ``"97_5"``: dots would read as nesting in DVC)."""
    percent = round(fraction * 100, 6)
    if percent == int(percent):
        return f"{int(percent)}"
    return f"{percent:g}".replace(".", "_")


def _labels_at_round(rounds: pd.DataFrame, rnd: int | None) -> float:
    """``n_labels`` of round ``rnd`` in one seed's rows (NaN for no round)."""
    if rnd is None:
        return math.nan
    return as_count(rounds.loc[rounds["round"] == rnd, "n_labels"].iloc[0])


def analyse_group(
    rounds: pd.DataFrame, baseline_accuracy: float, cfg: AnalysisConfig
) -> dict[str, Any]:
    """Everything about one strategy's runs (one protocol) that needs no other strategy."""
    rounds = rounds.sort_values(["seed", "round"], kind="stable")
    curve = mean_curve(rounds)
    per_seed = per_seed_aulc(rounds)
    last = rounds[rounds["round"] == rounds["round"].max()]
    aulc_mean, aulc_low, aulc_high = bootstrap_ci(per_seed, cfg.bootstrap)
    final_mean, final_low, final_high = bootstrap_ci(last["accuracy"], cfg.bootstrap)
    by_seed = {int(s): part for s, part in rounds.groupby("seed", sort=True)}

    targets = {}
    for fraction in cfg.targets:
        accuracy = fraction * baseline_accuracy
        labels = labels_to_reach(curve["n_labels"], curve["mean"], accuracy)
        seed_labels = {
            s: labels_to_reach(p["n_labels"], p["accuracy"], accuracy) for s, p in by_seed.items()
        }
        targets[target_key(fraction)] = {
            "fraction": fraction,
            "accuracy": accuracy,
            "labels": as_count(labels),
            "reached": not math.isnan(labels),
            "seeds_reached": float(np.mean([not math.isnan(v) for v in seed_labels.values()])),
            "per_seed_labels": {str(s): as_count(v) for s, v in seed_labels.items()},
        }

    kappa_rounds = {}
    for s, p in by_seed.items():
        idx = kappa_plateau_round(p["kappa_prev"], cfg.kappa_threshold, cfg.kappa_window)
        kappa_rounds[s] = None if idx is None else int(p["round"].iloc[idx])
    labels_at = dict(zip(curve["round"], curve["n_labels"], strict=True))
    pooled = pooled_plateau(list(kappa_rounds.values()))
    slope_idx = slope_plateau_round(curve["n_labels"], curve["mean"], cfg.slope_threshold)
    slope_round = None if slope_idx is None else int(curve["round"].iloc[slope_idx])
    seconds = rounds.groupby("seed")[["fit_seconds", "query_seconds"]].sum(min_count=1)
    return {
        "n_seeds": len(by_seed),
        "seeds": sorted(by_seed),
        "final_labels": as_count(curve["n_labels"].iloc[-1]),
        "label_range": [as_count(curve["n_labels"].iloc[0]), as_count(curve["n_labels"].iloc[-1])],
        "aulc": {
            "mean": aulc_mean,
            "low": aulc_low,
            "high": aulc_high,
            "per_seed": {str(s): v for s, v in per_seed.items()},
        },
        "per_seed_aulc": per_seed,  # removed before writing JSON
        "final_accuracy": {"mean": final_mean, "low": final_low, "high": final_high},
        "targets": targets,
        "plateau": {
            "kappa": {
                "threshold": cfg.kappa_threshold,
                "window": cfg.kappa_window,
                "round": pooled,
                "n_labels": math.nan if pooled is None else as_count(labels_at[pooled]),
                "seeds_reached": float(np.mean([r is not None for r in kappa_rounds.values()])),
                "per_seed": {
                    str(s): {"round": r, "n_labels": _labels_at_round(by_seed[s], r)}
                    for s, r in kappa_rounds.items()
                },
            },
            "slope": {
                "threshold": cfg.slope_threshold,
                "round": slope_round,
                "n_labels": math.nan if slope_round is None else as_count(labels_at[slope_round]),
            },
        },
        "fox_fraction_queried": float(rounds["fox_fraction_queried"].mean()),
        "fit_seconds": float(seconds["fit_seconds"].mean()),
        "query_seconds": float(seconds["query_seconds"].mean()),
    }


def compare_to_reference(
    groups: Mapping[str, dict[str, Any]], alpha: float, reference: str = REFERENCE
) -> None:
    """Add label savings and the paired test against ``reference`` to each group, in place."""
    ref = groups.get(reference)
    for name, group in groups.items():
        for key, target in group["targets"].items():
            if name == reference:
                saving = {"labels": 0, "percent": 0.0, "lower_bound": math.nan}
                saving["status"] = "reference" if target["reached"] else "neither_reached"
                if not target["reached"]:
                    saving.update(labels=math.nan, percent=math.nan)
            elif ref is None:
                saving = {"labels": math.nan, "percent": math.nan, "lower_bound": math.nan}
                saving["status"] = "no_random"
            else:
                saving = label_saving(
                    ref["targets"][key]["labels"], target["labels"], ref["final_labels"]
                )
            target["saving_vs_random"] = saving
        if name == reference or ref is None:
            group["test_vs_random"] = None
            continue
        group["test_vs_random"] = paired_test(group["per_seed_aulc"], ref["per_seed_aulc"])
    adjust_for_multiple_comparisons(groups, alpha)


def adjust_for_multiple_comparisons(groups: Mapping[str, dict[str, Any]], alpha: float) -> None:
    """Benjamini–Hochberg over every test against the reference; set ``significant`` from it."""
    tests = [g["test_vs_random"] for g in groups.values() if g.get("test_vs_random")]
    finite = [t for t in tests if not math.isnan(t["p_value"])]
    adjusted = (
        stats.false_discovery_control([t["p_value"] for t in finite], method="bh") if finite else []
    )
    for test, p in zip(finite, adjusted, strict=True):
        test["p_adjusted"] = float(p)
    for test in tests:
        test.setdefault("p_adjusted", math.nan)
        test["n_comparisons"] = len(finite)
        test["significant"] = bool(test["p_adjusted"] < alpha)  # NaN compares False


# --------------------------------------------------------------------------- tables


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def strategies_table(
    groups: Mapping[str, dict[str, Any]], targets: Sequence[float]
) -> pd.DataFrame:
    """``metrics/strategies.csv``: one row per strategy (columns in the module docstring)."""
    ref = groups.get(REFERENCE)
    rows = []
    for name, g in groups.items():
        test = g.get("test_vs_random") or {}
        row: dict[str, Any] = {
            "strategy": name,
            "n_seeds": g["n_seeds"],
            "final_labels": g["final_labels"],
            "final_accuracy": g["final_accuracy"]["mean"],
            "final_accuracy_low": g["final_accuracy"]["low"],
            "final_accuracy_high": g["final_accuracy"]["high"],
            "aulc": g["aulc"]["mean"],
            "aulc_low": g["aulc"]["low"],
            "aulc_high": g["aulc"]["high"],
            "aulc_gain_vs_random": g["aulc"]["mean"] - ref["aulc"]["mean"] if ref else math.nan,
            "p_value_vs_random": test.get("p_value", math.nan),
            "p_adjusted_vs_random": test.get("p_adjusted", math.nan),
            "test_vs_random": test.get("method", ""),
            "min_p_value_vs_random": test.get("min_p_value", math.nan),
        }
        for fraction in targets:
            k = target_key(fraction)
            t = g["targets"][k]
            s = t["saving_vs_random"]
            row.update(
                {
                    f"target_accuracy_{k}": t["accuracy"],
                    f"labels_to_{k}": t["labels"],
                    f"reached_{k}": t["reached"],
                    f"seeds_reached_{k}": t["seeds_reached"],
                    f"saving_vs_random_{k}": s["labels"],
                    f"saving_vs_random_{k}_pct": s["percent"],
                    f"saving_vs_random_{k}_status": s["status"],
                    f"saving_vs_random_{k}_lower_bound": s["lower_bound"],
                }
            )
        kappa, slope = g["plateau"]["kappa"], g["plateau"]["slope"]
        row.update(
            {
                "plateau_kappa_round": _nan(kappa["round"]),
                "plateau_kappa_labels": kappa["n_labels"],
                "plateau_kappa_seeds_reached": kappa["seeds_reached"],
                "plateau_slope_round": _nan(slope["round"]),
                "plateau_slope_labels": slope["n_labels"],
                "fox_fraction_queried": g["fox_fraction_queried"],
                "fit_seconds": g["fit_seconds"],
                "query_seconds": g["query_seconds"],
            }
        )
        rows.append(row)
    return _integer_columns(pd.DataFrame(rows))


def _is_count(column: str) -> bool:
    """Columns holding label counts, rounds or seed counts (integers, possibly missing)."""
    if column in ("n_seeds", "final_labels") or column.startswith("labels_to_"):
        return True
    if column.startswith("plateau_") and column.endswith(("_round", "_labels")):
        return True
    if column.startswith("saving_vs_random_"):
        return not column.endswith(("_pct", "_status"))
    return False


def _integer_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as nullable integers, so the CSV says 140 rather than 140.0."""
    for column in filter(_is_count, frame.columns):
        values = pd.to_numeric(frame[column], errors="coerce")
        known = values.dropna()
        if (known == known.round()).all():  # a median over an even count may be x.5
            frame[column] = values.round().astype("Int64")
    return frame


def ablation_groups(
    ablation_rounds: pd.DataFrame,
    main_rounds: pd.DataFrame,
    params: Params,
    baseline_accuracy: float,
) -> list[tuple[str, float, bool, dict[str, dict[str, Any]]]]:
    """``(factor, level, is_default, {strategy: group})`` for every ablated factor and level."""
    out = []
    cfg = params.analysis
    for factor in ABLATION_FACTORS:
        default = getattr(params.active, factor)
        levels = sorted({float(v) for v in getattr(params.ablations, factor)} | {float(default)})
        for level in levels:
            is_default = level == float(default)
            if is_default:
                # The ablation seeds only, so every level is compared over the same seeds.
                source = main_rounds[main_rounds["seed"].isin(params.ablations.seeds)]
            else:
                at_level = ablation_rounds["level"].astype(float) == level
                source = ablation_rounds[(ablation_rounds["factor"] == factor) & at_level]
            groups = {
                s: analyse_group(source[source["strategy"] == s], baseline_accuracy, cfg)
                for s in params.ablations.strategies
                if (source["strategy"] == s).any()
            }
            compare_to_reference(groups, cfg.alpha)
            out.append((factor, level, is_default, groups))
    return out


def ablations_table(
    ablated: Sequence[tuple[str, float, bool, dict[str, dict[str, Any]]]],
    targets: Sequence[float],
) -> pd.DataFrame:
    """``metrics/ablations.csv``: one row per (factor, level, strategy)."""
    rows = []
    for factor, level, is_default, groups in ablated:
        for name, g in groups.items():
            row: dict[str, Any] = {
                "factor": factor,
                "level": level,
                "is_default": is_default,
                "strategy": name,
                "n_seeds": g["n_seeds"],
                "final_labels": g["final_labels"],
                "final_accuracy": g["final_accuracy"]["mean"],
                "aulc": g["aulc"]["mean"],
                "aulc_low": g["aulc"]["low"],
                "aulc_high": g["aulc"]["high"],
            }
            for fraction in targets:
                k = target_key(fraction)
                t = g["targets"][k]
                row[f"labels_to_{k}"] = t["labels"]
                row[f"saving_vs_random_{k}"] = t["saving_vs_random"]["labels"]
                row[f"saving_vs_random_{k}_status"] = t["saving_vs_random"]["status"]
            rows.append(row)
    columns = ["factor", "level", "is_default", "strategy", "n_seeds", "final_labels"]
    columns += ["final_accuracy", "aulc", "aulc_low", "aulc_high"]
    for fraction in targets:
        k = target_key(fraction)
        columns += [f"labels_to_{k}", f"saving_vs_random_{k}", f"saving_vs_random_{k}_status"]
    return _integer_columns(pd.DataFrame(rows, columns=columns))


def ranking(groups: Mapping[str, dict[str, Any]]) -> list[str]:
    """Strategies by mean AULC, best first (ties keep the configured order)."""
    scored = [(name, g["aulc"]["mean"]) for name, g in groups.items()]
    scored = [(n, -math.inf if math.isnan(v) else v) for n, v in scored]
    return [n for n, _ in sorted(scored, key=lambda item: -item[1])]


def summary_metrics(
    groups: Mapping[str, dict[str, Any]], baseline_accuracy: float, targets: Sequence[float]
) -> dict[str, Any]:
    """Flat keys for ``dvc metrics show/diff`` (NaN left as NaN; cleaned on write)."""
    out: dict[str, Any] = {"baseline.accuracy": baseline_accuracy}
    order = ranking(groups)
    out["best_strategy"] = order[0] if order else None
    for name, g in groups.items():
        out[f"{name}.aulc"] = g["aulc"]["mean"]
        out[f"{name}.final_accuracy"] = g["final_accuracy"]["mean"]
        for fraction in targets:
            k = target_key(fraction)
            out[f"{name}.labels_to_{k}"] = g["targets"][k]["labels"]
            if name != REFERENCE:
                out[f"{name}.saving_vs_random_{k}"] = g["targets"][k]["saving_vs_random"]["labels"]
        if name != REFERENCE:
            test = g.get("test_vs_random") or {}
            out[f"{name}.p_value_vs_random"] = test.get("p_value", math.nan)
            out[f"{name}.p_adjusted_vs_random"] = test.get("p_adjusted", math.nan)
        out[f"{name}.plateau_kappa_labels"] = g["plateau"]["kappa"]["n_labels"]
        out[f"{name}.plateau_slope_labels"] = g["plateau"]["slope"]["n_labels"]
    return out


def round_float(value: float) -> float:
    """``value`` to ``SIGNIFICANT`` digits (-0.0 becomes 0.0, so the bytes are stable)."""
    return float(f"{value:.{SIGNIFICANT}g}") + 0.0 if math.isfinite(value) else value


def clean_json(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, floats rounded."""
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
        return round_float(value) if math.isfinite(value) else None
    return value


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns rounded with :func:`round_float` for stable CSV bytes."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(round_float)
    return out


def analysis_document(
    groups: Mapping[str, dict[str, Any]],
    baseline: Mapping[str, Any],
    params: Params,
) -> dict[str, Any]:
    """The nested ``metrics/analysis.json`` (keys in the module docstring)."""
    cfg = params.analysis
    acc = baseline["accuracy"]
    tests = [g["test_vs_random"] for g in groups.values() if g.get("test_vs_random")]
    min_p = min((t["min_p_value"] for t in tests), default=math.nan)
    strategies = {
        name: {k: v for k, v in g.items() if k != "per_seed_aulc"} for name, g in groups.items()
    }
    order = ranking(groups)
    return {
        "baseline": {
            "accuracy": float(acc["mean"]),
            "low": float(acc.get("low", math.nan)),
            "high": float(acc.get("high", math.nan)),
            "n_seeds": len(acc.get("per_seed", [])),
        },
        "targets": [
            {"fraction": f, "key": target_key(f), "accuracy": f * float(acc["mean"])}
            for f in cfg.targets
        ],
        "settings": {
            "bootstrap": cfg.bootstrap,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "confidence": CONFIDENCE,
            "kappa_threshold": cfg.kappa_threshold,
            "kappa_window": cfg.kappa_window,
            "slope_threshold": cfg.slope_threshold,
            "alpha": cfg.alpha,
            "tie_tolerance": TIE_TOLERANCE,
            "reference": REFERENCE,
            "min_wilcoxon": MIN_WILCOXON,
        },
        "tests": {
            "min_p_value": min_p,
            "significance_possible": bool(min_p < cfg.alpha),
            "note": (
                "Paired two-sided tests on per-seed AULC against random: Wilcoxon "
                f"signed-rank when at least {MIN_WILCOXON} seeds differ, otherwise an exact "
                "sign-flip permutation test. With n differing seeds no p-value can be "
                "below 2/2**n (0.0625 for 5 seeds). The p-values of all strategies "
                "compared with random are adjusted together (Benjamini-Hochberg); "
                "'significant' uses the adjusted value."
            ),
        },
        "strategies": strategies,
        "ranking": order,
        "best_strategy": (order or [None])[0],
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

    curves = curve_bands(main, cfg.bootstrap)
    groups = {
        s: analyse_group(main[main["strategy"] == s], baseline_accuracy, cfg)
        for s in params.active.strategies
    }
    compare_to_reference(groups, cfg.alpha)
    per_seed = pd.DataFrame({s: g["per_seed_aulc"] for s, g in groups.items()})
    ablated = ablation_groups(ablation, main, params, baseline_accuracy)

    summary = clean_json(summary_metrics(groups, baseline_accuracy, cfg.targets))
    metrics_dir, plots_dir = Path(metrics_dir), Path(plots_dir)
    io.write_csv(plots_dir / "curves.csv", _rounded(curves))
    io.write_csv(plots_dir / "learning_curves.csv", _rounded(learning_curves(curves)))
    io.write_csv(metrics_dir / "winloss.csv", win_tie_loss(per_seed))
    io.write_csv(metrics_dir / "strategies.csv", _rounded(strategies_table(groups, cfg.targets)))
    io.write_csv(metrics_dir / "ablations.csv", _rounded(ablations_table(ablated, cfg.targets)))
    io.write_json(
        metrics_dir / "analysis.json", clean_json(analysis_document(groups, baseline, params))
    )
    io.write_json(metrics_dir / "summary.json", summary)
    return summary

"""The CSV tables the analysis writes, and deterministic rounding of floats for stable bytes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from foxdog.analysis.read import SHARE_PREFIX
from foxdog.analysis.stats import as_count, as_float

# Significant digits written: enough for accuracies stored with 6 decimals, and
# unlike fixed decimals it keeps small p-values (2/2**8 = 0.0078125) exact.
SIGNIFICANT = 6


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
        for what in ("final_accuracy", "final_balanced_accuracy", "final_rare_recall", "aulc"):
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
                "plateau_round": as_float(flat["round"]),
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


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns rounded with :func:`round_float` for stable CSV bytes."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(round_float)
    return out

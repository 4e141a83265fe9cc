"""Reading the study's result files: rounds.csv, queries.csv and baseline JSON, validated.

One reader per file kind — :func:`read_rounds`, :func:`read_queries`,
:func:`load_baseline`, :func:`load_final_val_predictions`, :func:`load_test_predictions` —
so a check of a file's contents hooks in at one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog import paths
from foxdog.active.state import unpack_predictions
from foxdog.analysis.validate import (
    Expected,
    check_queries,
    check_rounds,
    check_test_predictions,
    expected_ablation,
    expected_arm,
)
from foxdog.config import Params
from foxdog.metrics import METRICS
from foxdog.registry import FEATURE_STARTS, Condition, parse_condition

# Columns every rounds.csv has; the stop-set columns come with the newer loop.
REQUIRED_COLUMNS = ("strategy", "seed", "round", "n_labels", *METRICS)


# Rare-class recall and rare examples found come with the conditions' loop.
OPTIONAL_CURVE_METRICS = ("rare_recall", "n_rare", "val_accuracy", "kappa_stop")


# Per-round class shares of the queried batch are curve metrics ``share_<class>``.
SHARE_PREFIX = "share_"


CURVE_METRICS = (*METRICS, *OPTIONAL_CURVE_METRICS)


REFERENCE = "random"


REFERENCE_START = "scratch"  # the starting model the others are compared with, when run


def curve_metrics(classes: Sequence[str]) -> tuple[str, ...]:
    """Metrics of ``plots/curves.csv``: the test metrics, one share per class, the stop set."""
    return (*METRICS, *(SHARE_PREFIX + c for c in classes), *OPTIONAL_CURVE_METRICS)


def reference_start(starts: Sequence[str]) -> str:
    """``scratch`` when it is a regime of the study, else the first regime."""
    return REFERENCE_START if REFERENCE_START in starts else starts[0]


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
    """A ``start`` column, when present, must name the start of the folder's condition."""
    if "start" in frame.columns:
        found = sorted(set(frame["start"].astype(str)) - {start})
        if found:
            raise ValueError(
                f"{path}: start {found} in a file of regime {start!r}; re-run `dvc repro {stage}`"
            )


def condition_of(params: Params, name: str) -> Condition:
    """The :class:`~foxdog.registry.Condition` a results folder name spells."""
    return parse_condition(name, params.data.classes)


def strategies_of(params: Params, condition: str) -> tuple[str, ...]:
    """The strategies a condition runs: its start's protocol's (``Params.protocol``)."""
    return params.protocol(condition_of(params, condition).start).strategies


def load_strategy_rounds(params: Params, results_dir: Path, start: str) -> pd.DataFrame:
    """All ``results/<condition>/<strategy>/rounds.csv`` of the condition, concatenated.

    ``start`` is the condition's name (a start's name at the natural balance). Adds the
    columns ``condition`` and ``start`` (the condition's start) when the file lacks them.
    """
    cond = condition_of(params, start)
    frames = []
    for strategy in strategies_of(params, start):
        path = paths.rounds_csv(paths.strategy_dir(results_dir, start, strategy))
        stage = f"al@{start}-{strategy}"
        frame = read_rounds(path, stage)
        check_rounds(path, expected_arm(params, start, strategy))  # issue 19: whole, in range
        _check_start(frame, cond.start, path, stage)
        if "condition" in frame.columns:
            found = sorted(set(frame["condition"].astype(str)) - {start})
            if found:
                raise ValueError(
                    f"{path}: condition {found} in a file of condition {start!r}; "
                    f"re-run `dvc repro {stage}`"
                )
        frames.append(frame.assign(condition=start, start=cond.start, strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def load_ablation_rounds(params: Params, results_dir: Path) -> pd.DataFrame:
    """Every ablation ``rounds.csv``, with ``factor`` and ``level`` columns added."""
    frames: list[pd.DataFrame] = []
    start = params.ablations.start
    for factor in params.ablations.factors:
        for strategy in params.ablations.strategies:
            path = paths.rounds_csv(paths.ablation_dir(results_dir, factor, strategy))
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


def baseline_stage(params: Params, condition: str) -> str:
    """The stage writing the baseline of ``condition``: ``baseline@…`` or ``baseline_head@…``."""
    head = condition_of(params, condition).start in FEATURE_STARTS
    return f"{'baseline_head' if head else 'baseline'}@{condition}"


def load_test_predictions(
    params: Params, results_dir: Path, condition: str, test: pd.Series
) -> pd.DataFrame | None:
    """``results/baseline/<condition>/test_predictions.csv``, checked; None when it is absent.

    ``test`` maps each curated test id to its label. Absent: a study run before the
    baseline stages wrote predictions (the per-source accuracy then says so); damaged: a
    :class:`~foxdog.analysis.validate.ResultsError` naming the file and the fault.
    """
    path = paths.baseline_predictions(condition, results_dir)
    if not path.is_file():
        return None
    start = condition_of(params, condition).start
    seeds = params.head.seeds if start in FEATURE_STARTS else params.baseline.seeds
    return check_test_predictions(
        path, params.data.classes, seeds, test, baseline_stage(params, condition)
    )


def read_queries(path: Path, classes: Sequence[str], expected: Expected) -> pd.DataFrame:
    """Read one ``queries.csv`` of the stage ``expected`` describes (missing or cut: an error).

    ``true_label`` must be a class index of ``classes``; otherwise a one-line error.
    """
    frame = check_queries(Path(path), expected)  # issue 19: required, whole
    if frame is not None and "true_label" in frame.columns:
        labels = pd.to_numeric(frame["true_label"], errors="coerce")
        bad = frame["true_label"][~labels.isin(range(len(classes)))]
        if len(bad):
            raise ValueError(
                f"{path}: true_label {str(bad.iloc[0])!r} is not a class index of "
                f"data.classes={list(classes)!r} (0 … {len(classes) - 1})"
            )
    return frame


def load_queries(params: Params, results_dir: Path, start: str) -> dict[str, pd.DataFrame | None]:
    """``results/<condition>/<strategy>/queries.csv`` per strategy (see :func:`read_queries`)."""
    return {
        strategy: read_queries(
            paths.queries_csv(paths.strategy_dir(results_dir, start, strategy)),
            params.data.classes,
            expected_arm(params, start, strategy),
        )
        for strategy in strategies_of(params, start)
    }


def load_final_val_predictions(
    strategy_dir: Path, initial_size: int, query_size: int, label_noise: float
) -> dict[int, np.ndarray]:
    """Per seed, the final model's validation predictions (``val_pred`` of the run state).

    Only states of this protocol (``spec``); a state without predictions, unreadable or of
    another protocol is skipped (they calibrate the stop rule, nothing else).
    """
    out: dict[int, np.ndarray] = {}
    for path in sorted(Path(strategy_dir).glob("state/**/seed_*.json")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            spec, packed = state["spec"], state["val_pred"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        same = (
            spec.get("initial_size") == initial_size
            and spec.get("query_size") == query_size
            and float(spec.get("label_noise", math.nan)) == float(label_noise)
        )
        if same and isinstance(packed, str) and int(spec["seed"]) not in out:
            out[int(spec["seed"])] = unpack_predictions(packed, len(packed) // 2)
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

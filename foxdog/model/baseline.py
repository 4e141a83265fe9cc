"""The full-pool baseline: the accuracy active learning is measured against.

For each of ``baseline.seeds`` the CNN is trained on *every* curated pool image
with the runs' own recipe — ``max(train.steps, ceil(train.epochs * n / batch_size))``
steps, as every active-learning fit — then evaluated on the test split. The targets
are shares of this accuracy, so the runs and their yardstick differ only in the labels. The
result, ``metrics/baseline/<start>.json``, holds each metric's mean, t-interval over
seeds at ``analysis.confidence`` and per-seed values (format: ``docs/formats.md``).
Beside it, ``results/baseline/<condition>/test_predictions.csv`` records every seed's final
model on every test image (what accuracy per photo source is computed from).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog.analysis.stats import t_interval
from foxdog.config import AnalysisConfig, Params, TrainConfig
from foxdog.data.arrays import Split, load_split
from foxdog.io import write_csv, write_json
from foxdog.metrics import METRICS, classification_metrics
from foxdog.progress import Progress


def interval(values: list[float], cfg: AnalysisConfig) -> dict[str, Any]:
    """Mean and the study's t-interval (:func:`foxdog.analysis.stats.t_interval`) of ``values``.

    At ``analysis.confidence``; the bounds are None below ``analysis.min_seeds`` seeds.
    """
    mean, low, high = t_interval(values, cfg.confidence, cfg.min_seeds)
    return {
        "mean": mean,
        "low": None if math.isnan(low) else low,
        "high": None if math.isnan(high) else high,
        "per_seed": [float(v) for v in values],
    }


# The analysis reads these back (foxdog.analysis.validate.check_test_predictions; the tests
# check the round trip). Spelled here, not imported: the stage must not depend on the analysis.
PREDICTION_COLUMNS = ("id", "label", "seed", "pred")
PROBABILITY_PREFIX = "p_"
# Probabilities to 4 decimals keep the file small (~40 bytes a row); ``pred`` is the argmax of
# the unrounded probabilities, exactly what the metrics scored.
PROBABILITY_DECIMALS = 4


def prediction_rows(
    test: Split, seed: int, proba: np.ndarray, classes: tuple[str, ...]
) -> pd.DataFrame:
    """One seed's rows of ``test_predictions.csv``: ``id, label, seed, pred, p_<class>…``."""
    frame = pd.DataFrame(
        {
            "id": test.ids.astype(str),
            "label": test.labels.astype(np.int64),
            "seed": seed,
            "pred": proba.argmax(axis=1).astype(np.int64),
        },
        columns=list(PREDICTION_COLUMNS),
    )
    for k, name in enumerate(classes):
        frame[PROBABILITY_PREFIX + name] = np.round(
            proba[:, k].astype(np.float64), PROBABILITY_DECIMALS
        )
    return frame


def full_pool_steps(train: TrainConfig, n: int) -> int:
    """Optimiser steps of a fit on ``n`` images with the runs' recipe."""
    return max(train.steps, math.ceil(train.epochs * n / train.batch_size))


def run_baseline(
    params: Params, curated_dir: Path, out_path: Path, start: str, predictions_path: Path
) -> dict:
    """Train on the whole pool once per seed from ``start``, evaluate on test, write atomically.

    The summary goes to ``out_path``, every seed's test predictions to ``predictions_path``.
    The CNN is built as the active-learning runs build theirs
    (:func:`foxdog.active.protocol.estimator_factory`), so the yardstick and the runs
    differ only in the labels.
    """
    from foxdog.active.protocol import estimator_factory

    make = estimator_factory(params, start)
    pool = load_split(curated_dir, "pool")
    test = load_split(curated_dir, "test")
    per_seed: dict[str, list[float]] = {name: [] for name in (*METRICS, "train_seconds")}
    predictions = []
    bar = Progress(len(params.baseline.seeds), f"baseline {start}", "seed")
    for seed in params.baseline.seeds:
        clf = make(seed)
        t0 = time.perf_counter()
        clf.fit(pool.images, pool.labels)
        # Includes compilation for the first seed: that is what a user waits for.
        per_seed["train_seconds"].append(time.perf_counter() - t0)
        proba = clf.predict_proba(test.images)
        for name, value in classification_metrics(test.labels, proba).items():
            per_seed[name].append(value)
        predictions.append(prediction_rows(test, seed, proba, params.data.classes))
        bar.update(note=f"seed {seed}: accuracy {per_seed['accuracy'][-1]:.3f}")
    bar.close()
    result = {
        "start": start,
        "n_train": len(pool),
        "n_test": len(test),
        "seeds": list(params.baseline.seeds),
        "steps": full_pool_steps(params.train, len(pool)),
        "recipe": "train.steps / train.epochs (the runs' recipe)",
        **{name: interval(values, params.analysis) for name, values in per_seed.items()},
    }
    # The predictions first: a run killed between the two writes leaves no summary behind
    # that claims predictions it lacks.
    write_csv(predictions_path, pd.concat(predictions, ignore_index=True))
    write_json(out_path, result)
    return result


def run_head_baseline(
    params: Params, condition: Any, out_path: Path, predictions_path: Path
) -> dict:
    """The frozen-feature head on the whole pool of ``condition``, once per ``head.seeds``.

    The same recipe as the active-learning rounds (``params.head``: steps, learning
    rate, class weights), so the full-pool reference is the runs' own ceiling; for a
    subsampled condition each seed's reference is trained on that seed's subsampled
    pool (:func:`foxdog.active.pools.condition_pool`), the pool its runs see. Every seed's
    test predictions go to ``predictions_path``.
    """
    from foxdog.active.pools import condition_pool
    from foxdog.active.protocol import estimator_factory
    from foxdog.stages.common import start_splits

    pool, test, _ = start_splits(params, condition.start)
    rare_label = params.data.classes.index(condition.rare_class or params.balance.rare_class)
    make = estimator_factory(params, condition.start)
    per_seed: dict[str, list[float]] = {
        name: [] for name in (*METRICS, "rare_recall", "pool_share", "train_seconds")
    }
    sizes, predictions = [], []
    for seed in params.head.seeds:
        seed_pool = condition_pool(pool, condition, rare_label, seed)
        sizes.append(len(seed_pool))
        clf = make(seed)
        t0 = time.perf_counter()
        clf.fit(seed_pool.images, seed_pool.labels)
        per_seed["train_seconds"].append(time.perf_counter() - t0)
        proba = clf.predict_proba(test.images)
        for name, value in classification_metrics(test.labels, proba).items():
            per_seed[name].append(value)
        rare = test.labels == rare_label
        per_seed["rare_recall"].append(float((proba[rare].argmax(axis=1) == rare_label).mean()))
        per_seed["pool_share"].append(float((seed_pool.labels == rare_label).mean()))
        predictions.append(prediction_rows(test, seed, proba, params.data.classes))
    result = {
        "start": condition.start,
        "condition": condition.name,
        "rare_class": condition.rare_class or params.balance.rare_class,
        "n_train": int(min(sizes)),
        "n_test": len(test),
        "seeds": list(params.head.seeds),
        "steps": params.head.steps,
        **{name: interval(values, params.analysis) for name, values in per_seed.items()},
    }
    write_csv(predictions_path, pd.concat(predictions, ignore_index=True))
    write_json(out_path, result)
    return result

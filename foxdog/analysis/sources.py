"""Full-pool test accuracy per photo source and class, from the baselines' test predictions.

Input: ``results/baseline/<condition>/test_predictions.csv`` (every baseline seed's final
model on every curated test image) and the source of each test image
(:func:`foxdog.data.sources.curated_sources`). Output: one row per condition x source x
class (``metrics/per_source.csv``) and ``facts.per_source`` of ``metrics/analysis.json``.

Accuracy is the mean over seeds of the share of the group's test images predicted right,
which equals the mean over images of each image's share of seeds right (its *correctness*
``c_i``). The interval is a Wilson score interval at ``analysis.confidence`` on
``sum(c_i)`` correct out of ``n`` images. Why this one:

- The test images are the sampling unit: a source's accuracy is uncertain because it rests
  on its 51-234 test photos, far more than because of the seeds (the seeds share the photos).
- The images' correctness varies at most as a 0/1 outcome would (``c_i`` in [0, 1] gives
  ``Var(c_i) <= p (1 - p)``), so the binomial interval is, if anything, conservative.
- Wilson, not a t-interval over images: a group every seed gets wrong (or right) has
  ``c_i = 0`` for all its images, and a t-interval collapses to the point 0; Wilson's stays
  honest at the bounds ([0, 7%] for 51 images at 95%).

Seed-to-seed spread is reported beside it (``seed_min``/``seed_max``: the group's accuracy
under the worst and best seed), not folded in. The *worst* group of a condition is its
lowest-accuracy source x class; it is *below the rest* when its interval lies wholly under
that of the condition's other test images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from foxdog import paths
from foxdog.analysis.read import baseline_stage, condition_of, load_test_predictions
from foxdog.analysis.stats import wilson
from foxdog.config import Params
from foxdog.data.sources import curated_sources

COLUMNS = (
    "condition",
    "start",
    "source",
    "class",
    "n",
    "accuracy",
    "low",
    "high",
    "seed_min",
    "seed_max",
    "n_seeds",
)


def correctness(predictions: pd.DataFrame) -> pd.Series:
    """Per test image (index: id), the share of seeds that predict its label."""
    right = (predictions["pred"] == predictions["label"]).astype(float)
    return right.groupby(predictions["id"], sort=False).mean()


def proportion(c: pd.Series, confidence: float) -> dict[str, Any]:
    """``{n, accuracy, low, high}`` of per-image correctness ``c`` (Wilson, see the docstring)."""
    n = len(c)
    low, high = wilson(float(c.sum()), n, confidence)
    return {"n": n, "accuracy": float(c.mean()) if n else float("nan"), "low": low, "high": high}


def group_rows(
    condition: str, start: str, predictions: pd.DataFrame, test: pd.DataFrame, confidence: float
) -> list[dict[str, Any]]:
    """One row per source x class (``COLUMNS``), in source then class order.

    ``test`` (index: id) gives each test image's ``source`` and ``class`` name.
    """
    c = correctness(predictions)
    groups = test.loc[c.index, ["source", "class"]]
    right = predictions.assign(right=(predictions["pred"] == predictions["label"]).astype(float))
    right = right.join(test[["source", "class"]], on="id")
    seed_acc = right.groupby(["source", "class", "seed"])["right"].mean()
    rows = []
    for (source, name), part in groups.groupby(["source", "class"], sort=True):
        per_seed = seed_acc.loc[(source, name)]
        rows.append(
            {
                "condition": condition,
                "start": start,
                "source": str(source),
                "class": str(name),
                **proportion(c[part.index], confidence),
                "seed_min": float(per_seed.min()),
                "seed_max": float(per_seed.max()),
                "n_seeds": int(per_seed.size),
            }
        )
    return rows


def condition_summary(
    rows: Sequence[Mapping[str, Any]], c: pd.Series, test: pd.DataFrame, confidence: float
) -> dict[str, Any]:
    """The whole test split, its worst source x class, and the rest of the split beside it.

    The worst group also carries its share of the test images and of the errors (the
    expected number of wrong predictions, summed over its images).
    """
    worst = dict(min(rows, key=lambda r: (r["accuracy"], r["source"], r["class"])))
    groups = test.loc[c.index]
    inside = (
        (groups["source"] == worst["source"]) & (groups["class"] == worst["class"])
    ).to_numpy()
    errors = 1.0 - c
    total = float(errors.sum())
    worst["image_share"] = float(inside.mean())
    worst["error_share"] = float(errors[inside].sum() / total) if total else 0.0
    rest = proportion(c[~inside], confidence)
    return {
        "overall": proportion(c, confidence),
        "worst": worst,
        "rest": rest,
        "below_rest": bool(worst["high"] < rest["low"]),
    }


def per_source(
    params: Params, results_dir: Path, curated_dir: Path, conditions: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``metrics/per_source.csv``'s table and ``facts.per_source`` of ``analysis.json``.

    Conditions without a predictions file are listed under ``missing`` with the reason;
    with none at all the fact is ``{available: false, reason, missing}`` and the table empty.
    The manifest is read only when some predictions exist. Writes nothing.
    """
    confidence = params.analysis.confidence
    missing: dict[str, str] = {}
    found: dict[str, pd.DataFrame] = {}
    test: pd.DataFrame | None = None
    for name in conditions:
        path = paths.baseline_predictions(name, results_dir)
        if not path.is_file():
            missing[name] = (
                f"{path} not found (the baseline stages write it: "
                f"`dvc repro {baseline_stage(params, name)}`)"
            )
            continue
        if test is None:
            test = curated_sources(curated_dir, "test")
            classes = list(params.data.classes)
            test = test.assign(**{"class": [classes[int(k)] for k in test["label"]]})
        found[name] = load_test_predictions(params, results_dir, name, test["label"])
    rows: list[dict[str, Any]] = []
    summaries: dict[str, Any] = {}
    for name, predictions in found.items():
        mine = group_rows(name, condition_of(params, name).start, predictions, test, confidence)
        rows += mine
        summaries[name] = condition_summary(mine, correctness(predictions), test, confidence)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    fact: dict[str, Any] = {
        "available": bool(found),
        "confidence": confidence,
        "interval": "Wilson over the test images (mean correctness over seeds)",
        "missing": missing,
    }
    if not found:
        first = next(iter(missing.values()), "no condition to measure")
        return table, fact | {"reason": first}
    return table, fact | {"rows": rows, "conditions": summaries}

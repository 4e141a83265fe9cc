"""Re-check the CNN's architecture and training-length defaults on the validation split only.

Usage (from the project root, after ``dvc checkout curated``)::

    python benchmarks/validation_defaults.py                      # scratch, seeds 0-2
    python benchmarks/validation_defaults.py --starts scratch,transfer --seeds 0,1,2,3,4

``benchmarks/README.md`` §§3-5 chose the widths (16-32-64), the step floor
(``train.steps`` 300) and the batch (32) on the *test* split. This script compares
those candidates again, one factor at a time around the current defaults
(``params.yaml``), on the curated validation split: labelled sets are drawn from
the pool (one random order per seed, nested: the first 110 / 510 / 910 images, the
same for every row), each row is fitted from the seed's weights and scored on
``curated/val_*`` (with ``model.tta_flip`` as configured), and every row is paired
per seed with the default row: mean difference and its Student-t interval.

The test split is never read: an audit hook refuses to open its images or labels
(``test_images.npy``, ``test_labels.npy``, the features' ``test.npy``), so a mistake
fails loudly; only ``test_ids.npy`` is opened, by ``load_split``'s check that no image
id sits in two splits.

A row whose fits equal the default's (the step floor does not bind when
``epochs * n / batch`` exceeds it) is not refitted: the fit would be bitwise the
same, so the paired difference is exactly 0.

Widths rows run from scratch only: a pretrained start loads an encoder of the
default architecture, so another width would need its own pretraining first.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from foxdog.config import load_params
from foxdog.data.arrays import load_split
from foxdog.model.estimator import FlaxCNNClassifier

# One factor at a time around the default; the values §§3-5 chose between.
ROWS: dict[str, dict] = {
    "default": {},
    "widths 32-64-128": {"widths": (32, 64, 128)},
    "widths 16-32-64-128": {"widths": (16, 32, 64, 128)},
    "steps floor 150": {"steps": 150},
    "steps floor 600": {"steps": 600},
    "batch 64": {"batch_size": 64},
}
TEST_ARRAYS = {"test_images.npy", "test_labels.npy", "test.npy"}


def refuse_test_reads(event: str, args: tuple) -> None:
    """Audit hook: fail on any attempt to open the test split's images or labels."""
    if event != "open" or not isinstance(args[0], (str, bytes, Path)):
        return
    name = Path(args[0] if not isinstance(args[0], bytes) else args[0].decode()).name
    if name in TEST_ARRAYS:
        raise RuntimeError(f"validation_defaults: refused to open {args[0]} (test split)")


def fit_steps(clf: FlaxCNNClassifier, n: int) -> int:
    """Optimiser steps of one fit on ``n`` labels (``foxdog.model.train.n_steps``)."""
    return max(int(clf.steps), math.ceil(float(clf.epochs) * n / int(clf.batch_size)))


def paired(diffs: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its t-interval half-width bounds."""
    d = np.asarray(diffs, dtype=np.float64)
    mean = float(d.mean())
    if len(d) < 2 or not d.any():
        return mean, mean, mean
    half = stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return mean, mean - half, mean + half


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--curated", default="curated")
    ap.add_argument("--sizes", default="110,510,910")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--starts", default="scratch", help="comma-separated: scratch, transfer")
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated row names")
    args = ap.parse_args(argv)
    sys.addaudithook(refuse_test_reads)

    params = load_params(args.params)
    pool = load_split(args.curated, "pool")
    val = load_split(args.curated, "val")
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = [r.strip() for r in args.rows.split(",")]
    if rows[0] != "default" or any(r not in ROWS for r in rows):
        raise SystemExit(f"validation_defaults: --rows must start with default, of {list(ROWS)}")
    # One random order of the pool per seed; every row and size takes a prefix of it.
    orders = {s: np.random.default_rng(s).permutation(len(pool)) for s in seeds}
    print(
        f"{len(pool)} pool images to label from, {len(val)} validation images "
        f"(1 image = {100 / len(val):.2f} points); seeds {seeds}; test split never opened",
        flush=True,
    )

    def make(start: str, seed: int, overrides: dict) -> FlaxCNNClassifier:
        clf = FlaxCNNClassifier.from_config(
            params.model, params.train, seed=seed, pretrain=params.pretrain, start=start
        )
        return clf.set_params(**overrides)

    header = (
        "| start | row | labels | steps | val accuracy (mean ± sd) | − default [95% t] "
        "| s / fit |\n|---|---|---:|---:|---|---|---:|"
    )
    lines, total = [], time.perf_counter()
    for start in args.starts.split(","):
        acc: dict[tuple[str, int, int], float] = {}
        secs: dict[tuple[str, int, int], float] = {}
        for row in rows:
            if start != "scratch" and "widths" in ROWS[row]:
                print(f"{start}: skip {row} (needs an encoder pretrained at those widths)")
                continue
            # Compile this row's programs outside the timed fits (a short fit, then scoring).
            warm = make(start, 0, ROWS[row]).set_params(steps=int(params.train.warmup_steps) + 1)
            warm.set_params(epochs=0).fit(
                pool.images[orders[seeds[0]][:64]], pool.labels[orders[seeds[0]][:64]]
            ).score(val.images, val.labels)
            for size in sizes:
                steps = fit_steps(make(start, 0, ROWS[row]), size)
                same = row != "default" and steps == fit_steps(make(start, 0, {}), size)
                same = same and set(ROWS[row]) <= {"steps"}
                for seed in seeds:
                    if same:  # bitwise the default's fit: reuse it
                        acc[row, size, seed] = acc["default", size, seed]
                        secs[row, size, seed] = math.nan
                        continue
                    lab = orders[seed][:size]
                    clf = make(start, seed, ROWS[row])
                    t = time.perf_counter()
                    clf.fit(pool.images[lab], pool.labels[lab])
                    secs[row, size, seed] = time.perf_counter() - t
                    acc[row, size, seed] = float(clf.score(val.images, val.labels))
                a = [acc[row, size, s] for s in seeds]
                d = [acc[row, size, s] - acc["default", size, s] for s in seeds]
                m, lo, hi = paired(d)
                fit_s = [secs[row, size, s] for s in seeds]
                diff = (
                    "—"
                    if row == "default"
                    else f"{100 * m:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
                )
                if same:
                    diff += " (= default: floor does not bind)"
                line = (
                    f"| {start} | {row} | {size} | {steps} | {np.mean(a):.3f} ± "
                    f"{np.std(a, ddof=1):.3f} | {diff} | "
                    f"{'—' if same else f'{np.nanmean(fit_s):.1f}'} |"
                )
                lines.append(line)
                print(line, f" per seed {', '.join(f'{x:.3f}' for x in a)}", flush=True)
    print(f"\n{header}\n" + "\n".join(lines))
    print(
        f"\ndifferences in points of validation accuracy; total {time.perf_counter() - total:.0f} s"
    )


if __name__ == "__main__":
    main()

"""The report's test project: the analysis's synthetic study with a class-neutral datasheet.

:func:`make_regime_project` writes a fake project with ``tests/synthetic_results.py``
(owned by the analysis: ``params.yaml``, ``curated/``, ``metrics/baseline_<start>.json``,
``results/<start>/<strategy>/``, the ablations), runs the real ``foxdog.analysis`` on it,
and gives a few images of the first class a breed name holding ``<script>`` and ``&`` (so
the pages' escaping is tested whatever the classes), re-deriving ``curated/datasheet.json``.

The defaults give each regime a different story: with 8 seeds ``margin`` is
significantly better than random from ``transfer`` and ``selfsup``, nothing is from
``scratch`` (``margin`` and ``coreset`` are random's twins there), and ``coreset`` is
worse than random from ``selfsup``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

NASTY_BREED = '<script>alert("woof")</script> & Co'
STARTS = ("scratch", "transfer", "selfsup")
SPEEDUPS = {"scratch": {"margin": 1.0, "coreset": 1.0}, "selfsup": {"coreset": 0.8}}


def make_regime_project(
    root: Path,
    *,
    classes: Sequence[str] = ("dog", "fox"),
    starts: Sequence[str] = STARTS,
    strategies: Sequence[str] = ("random", "margin", "coreset"),
    seeds: Sequence[int] = tuple(range(8)),
    rounds: int = 5,
    speedups: Mapping[str, Mapping[str, float]] | None = None,
) -> Path:
    """Write the fake project under ``root``, analysis included; return ``root``."""
    from synthetic_results import datasheet, make_project

    from foxdog.config import load_params
    from foxdog.stages import analyze

    root = Path(root)
    make_project(
        root,
        starts=starts,
        strategies=strategies,
        classes=classes,
        seeds=seeds,
        rounds=rounds,
        speedups=SPEEDUPS if speedups is None else speedups,
    )
    curated = root / "curated"
    manifest = pd.read_csv(curated / "manifest.csv", dtype={"id": str})
    first = manifest["label"] == 0
    manifest.loc[first & (manifest.index % 5 == 0), "breed"] = NASTY_BREED
    manifest.loc[first, "format"] = "PNG"  # formats differ by class, as in the real data
    manifest.to_csv(curated / "manifest.csv", index=False, lineterminator="\n")
    size = int(load_params(root / "params.yaml").data.image_size)
    # Breeds and formats changed: the datasheet's counts follow the manifest again.
    sheet = datasheet(manifest, classes, size)
    (curated / "datasheet.json").write_text(json.dumps(sheet, indent=2, sort_keys=True) + "\n")
    analyze.run(
        load_params(root / "params.yaml"),
        results_dir=root / "results",
        metrics_dir=root / "metrics",
        plots_dir=root / "plots",
    )
    return root

"""Stage ``ablate``: one protocol factor for one strategy -> results/ablations/<factor>/..."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.registry import ABLATION_FACTORS
from foxdog.stages.common import check_pool, run_experiment, splits


def run(
    params: Params,
    factor: str,
    strategy: str,
    results_dir: Path = paths.RESULTS,
    params_file: str | Path = "params.yaml",
    workers: int | None = None,
) -> Path:
    """Run (or resume) the non-default levels of ``factor`` for ``strategy``; return the folder.

    They run in the regime ``ablations.start``, with ``ablations.seeds``, ``workers`` at a
    time (default: one per core), each on one core.
    """
    check_pool(params, params_file)
    from foxdog.active.protocol import specs_for

    if factor not in ABLATION_FACTORS:
        raise ValueError(f"unknown ablation factor {factor!r}; known: {ABLATION_FACTORS}")
    levels = getattr(params.ablations, factor)
    base = replace(params.active, seeds=params.ablations.seeds)
    specs = [
        spec for level in levels for spec in specs_for(replace(base, **{factor: level}), strategy)
    ]
    out_dir = run_experiment(
        params,
        specs,
        params.ablations.start,
        splits(params),
        paths.ablation_dir(results_dir, factor, strategy),
        params.balance.rare_class,
        workers=workers,
    )
    print(f"{factor} ablation of {strategy}: results in {out_dir}/")
    return out_dir

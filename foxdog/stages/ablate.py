"""Stage ``ablate``: one protocol factor for one strategy -> results/ablations/<factor>/..."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.registry import ABLATION_FACTORS
from foxdog.stages.common import check_pool, splits, write_results


def run(
    params: Params,
    factor: str,
    strategy: str,
    results_dir: Path = paths.RESULTS,
    params_file: str | Path = "params.yaml",
) -> Path:
    """Run (or resume) the non-default levels of ``factor`` for ``strategy``; return the folder.

    They run in the regime ``ablations.start``, with ``ablations.seeds``.
    """
    check_pool(params, params_file)
    from foxdog.active.loop import run_specs
    from foxdog.active.protocol import estimator_factory, specs_for

    if factor not in ABLATION_FACTORS:
        raise ValueError(f"unknown ablation factor {factor!r}; known: {ABLATION_FACTORS}")
    pool, test, val = splits(params)
    levels = getattr(params.ablations, factor)
    base = replace(params.active, seeds=params.ablations.seeds)
    specs = [
        spec for level in levels for spec in specs_for(replace(base, **{factor: level}), strategy)
    ]
    out_dir = paths.ablation_dir(results_dir, factor, strategy)
    start = params.ablations.start
    rounds, queries = run_specs(
        specs,
        estimator_factory(params, start),
        pool,
        test,
        out_dir / "state",
        val=val,
        start=start,
        rare_class=params.balance.rare_class,
        rare_label=params.data.classes.index(params.balance.rare_class),
    )
    write_results(out_dir, rounds, queries)
    print(f"{factor} ablation of {strategy}: results in {out_dir}/")
    return out_dir

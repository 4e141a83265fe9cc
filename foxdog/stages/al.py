"""Stage ``al``: one start x one query strategy, every seed -> results/<start>/<strategy>/."""

from __future__ import annotations

from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.stages.common import check_pool, splits, write_results


def run(
    params: Params,
    strategy: str,
    start: str,
    results_dir: Path = paths.RESULTS,
    params_file: str | Path = "params.yaml",
) -> Path:
    """Run (or resume) every seed of ``strategy`` from ``start``; return the output folder.

    Layout of the folder (see docs/formats.md): ``rounds.csv`` (one row per seed and
    round), ``queries.csv`` (one row per queried image) and
    ``state/<machine>/<protocol>/seed_<k>.json`` (the resumable per-seed state).
    """
    check_pool(params, params_file)
    from foxdog.active.loop import run_specs
    from foxdog.active.protocol import estimator_factory, specs_for

    pool, test, val = splits(params)
    out_dir = paths.strategy_dir(results_dir, start, strategy)
    rounds, queries = run_specs(
        specs_for(params.active, strategy),
        estimator_factory(params, start),
        pool,
        test,
        out_dir / "state",
        val=val,
        start=start,
    )
    write_results(out_dir, rounds, queries)
    print(f"{start} / {strategy}: results in {out_dir}/")
    return out_dir

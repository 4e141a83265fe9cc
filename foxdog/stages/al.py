"""Stage ``al``: one condition x one strategy, every seed -> results/<condition>/<strategy>/."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.stages.common import (
    check_pool,
    condition,
    features_hash,
    run_experiment,
    start_splits,
)


def run(
    params: Params,
    strategy: str,
    condition_name: str,
    results_dir: Path = paths.RESULTS,
    params_file: str | Path = "params.yaml",
    workers: int | None = None,
) -> Path:
    """Run (or resume) every seed of ``strategy`` in ``condition_name``; return the output folder.

    ``condition_name`` is a start (natural balance) or ``<start>-<class><pct>`` (the pool's
    ``<class>`` subsampled to ``<pct>`` % per seed, :mod:`foxdog.active.pools`). The start's
    protocol is ``params.protocol(start)``: the CNN's (``active``) or the head's (``head``).
    Layout of the folder (see docs/formats.md): ``rounds.csv`` (one row per seed and
    round), ``queries.csv`` (one row per queried image) and
    ``state/<machine>/<protocol>/seed_<k>.json`` (the resumable per-seed state).
    Seeds run ``workers`` at a time (default: one per core), each on one core.
    """
    check_pool(params, params_file)
    from foxdog.active.pools import condition_pool
    from foxdog.active.protocol import specs_for

    cond = condition(params, condition_name)
    rare_class = cond.rare_class or params.balance.rare_class
    rare_label = params.data.classes.index(rare_class)
    splits = start_splits(params, cond.start)
    out_dir = run_experiment(
        params,
        specs_for(params.protocol(cond.start), strategy, params.active),
        cond.start,
        splits,
        paths.strategy_dir(results_dir, cond.name, strategy),
        rare_class,
        condition=cond.name,
        pool_for=partial(condition_pool, splits[0], cond, rare_label),
        context={"features": features_hash(params, cond.start), "share": cond.share},
        workers=workers,
    )
    print(f"{cond.name} / {strategy}: results in {out_dir}/")
    return out_dir

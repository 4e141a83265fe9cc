"""What several stages share: budgets checked against the pool, the splits, one experiment run."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog import io, paths
from foxdog.config import Params, check_against_data
from foxdog.data.arrays import Split, load_npy, load_split
from foxdog.registry import FEATURE_STARTS, Condition, parse_condition


def check_pool(params: Params, params_file: str | Path) -> None:
    """Fail now, in one line naming the keys, when the pool cannot cover the budgets.

    Not rounds into a run with an error from deep inside numpy.
    """
    from foxdog.data.arrays import load_split

    pool = load_split(Path(params.data.out_dir), "pool")
    check_against_data(params, pool.labels, params_file, image_size=pool.images.shape[1])


def write_results(out_dir: Path, rounds: pd.DataFrame, queries: pd.DataFrame) -> Path:
    """Write ``rounds.csv`` and ``queries.csv`` (floats to 6 decimals) into ``out_dir``."""
    io.write_csv(paths.rounds_csv(out_dir), rounds.round(6))
    io.write_csv(paths.queries_csv(out_dir), queries.round(6))
    return out_dir


def run_experiment(
    params: Params,
    specs: list[Any],
    start: str,
    splits: tuple[Split, Split, Split | None],
    out_dir: Path,
    rare_class: str,
    workers: int | None = None,
    **loop_args: Any,
) -> Path:
    """Run (or resume) ``specs`` from ``start``, write their results into ``out_dir``.

    What the ``al`` and ``ablate`` stages share: the start's estimator
    (:func:`foxdog.active.protocol.estimator_factory`), the resumable per-seed state
    under ``out_dir/state/``, and ``rounds.csv`` / ``queries.csv``. ``loop_args`` go to
    :func:`foxdog.active.loop.run_specs` as they are (condition, pool_for, context).
    Seeds run in single-core worker processes, ``workers`` at once (None: one per core).
    """
    from foxdog.active.loop import run_specs
    from foxdog.active.protocol import estimator_factory

    pool, test, val = splits
    rounds, queries = run_specs(
        specs,
        estimator_factory(params, start),
        pool,
        test,
        paths.state_dir(out_dir),
        val=val,
        start=start,
        rare_class=rare_class,
        rare_label=params.data.classes.index(rare_class),
        workers=_workers(workers, len(specs)),
        **loop_args,
    )
    return write_results(out_dir, rounds, queries)


def _workers(asked: int | None, n_specs: int) -> int | None:
    """Worker processes for ``n_specs`` seeds: as asked, else one per core; None (the stage's
    own process) where the OS cannot pin a process to a core."""
    from foxdog.active.workers import CAN_PIN, default_workers

    if not CAN_PIN:
        if asked and asked > 1:
            print(
                "foxdog: warning: --workers: this OS cannot pin a process to a core; "
                "the seeds run one after another",
                file=sys.stderr,
            )
        return None
    return asked or default_workers(n_specs)


def splits(params: Params) -> tuple[Split, Split, Split | None]:
    """Pool, test and (when curated has one) validation split."""
    curated = Path(params.data.out_dir)
    val = None
    if paths.curated_array(curated, "val", "images").is_file():
        val = load_split(curated, "val")
    else:
        print(
            f"foxdog: warning: {curated}/val_images.npy not found: kappa_stop and val_accuracy "
            "stay empty (re-run `dvc repro curate`)",
            file=sys.stderr,
        )
    return load_split(curated, "pool"), load_split(curated, "test"), val


def condition(params: Params, name: str) -> Condition:
    """The condition ``name`` spells; a one-line error when it is not one."""
    from foxdog.config import ConfigError

    try:
        return parse_condition(name, params.data.classes)
    except ValueError as err:
        raise ConfigError(f"foxdog: --condition: {err}") from None


def feature_split(split: Split, features_dir: Path, name: str) -> Split:
    """``split`` with its images replaced by the frozen features of the same ids, same order.

    The embed stage writes ``<name>.npy`` and ``<name>_ids.npy`` in the curated order;
    a mismatch (a re-curated pool, stale features) is an error, never a silent reorder.
    """
    features = load_npy(paths.feature_array(features_dir, name), "embed")
    ids = load_npy(paths.feature_ids(features_dir, name), "embed").astype(str)
    if len(ids) != len(features) or not np.array_equal(ids, split.ids.astype(str)):
        raise ValueError(
            f"{features_dir}/{name}_ids.npy: does not list the curated {name} ids in order "
            "(re-run `dvc repro embed`)"
        )
    return Split(images=features, labels=split.labels, ids=split.ids)


def start_splits(params: Params, start: str) -> tuple[Split, Split, Split | None]:
    """Pool, test and validation as ``start`` sees them: images, or frozen features."""
    pool, test, val = splits(params)
    if start not in FEATURE_STARTS:
        return pool, test, val
    where = paths.features_dir(params)
    return (
        feature_split(pool, where, "pool"),
        feature_split(test, where, "test"),
        None if val is None else feature_split(val, where, "val"),
    )


def features_hash(params: Params, start: str) -> str | None:
    """sha256 of the feature files ``start`` reads (None for a CNN start)."""
    if start not in FEATURE_STARTS:
        return None
    where = paths.features_dir(params)
    files = [
        f(where, s)
        for s in ("pool", "test", "val")
        for f in (paths.feature_array, paths.feature_ids)
    ]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}:{io.sha256_file(f) if f.is_file() else '-'}".encode())
    return f"sha256:{digest.hexdigest()}"

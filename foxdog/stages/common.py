"""What several stages share: checking budgets against the pool, the splits, writing results."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from foxdog import io
from foxdog.config import Params, check_against_data
from foxdog.data.arrays import Split, load_split


def check_pool(params: Params, params_file: str | Path) -> None:
    """Fail now, in one line naming the keys, when the pool cannot cover the budgets.

    Not rounds into a run with an error from deep inside numpy.
    """
    from foxdog.data.arrays import load_split

    pool = load_split(Path(params.data.out_dir), "pool")
    check_against_data(params, pool.labels, params_file, image_size=pool.images.shape[1])


def write_results(out_dir: Path, rounds: pd.DataFrame, queries: pd.DataFrame) -> Path:
    """Write ``rounds.csv`` and ``queries.csv`` (floats to 6 decimals) into ``out_dir``."""
    io.write_csv(out_dir / "rounds.csv", rounds.round(6))
    io.write_csv(out_dir / "queries.csv", queries.round(6))
    return out_dir


def splits(params: Params) -> tuple[Split, Split, Split | None]:
    """Pool, test and (when curated has one) validation split."""
    curated = Path(params.data.out_dir)
    val = None
    if (curated / "val_images.npy").is_file():
        val = load_split(curated, "val")
    else:
        print(
            f"foxdog: warning: {curated}/val_images.npy not found: kappa_stop and val_accuracy "
            "stay empty (re-run `dvc repro curate`)",
            file=sys.stderr,
        )
    return load_split(curated, "pool"), load_split(curated, "test"), val

"""What several stages share: checking the budgets against the curated pool."""

from __future__ import annotations

from pathlib import Path

from foxdog.config import Params, check_against_data


def check_pool(params: Params, params_file: str | Path) -> None:
    """Fail now, in one line naming the keys, when the pool cannot cover the budgets.

    Not rounds into a run with an error from deep inside numpy.
    """
    from foxdog.data.arrays import load_split

    pool = load_split(Path(params.data.out_dir), "pool")
    check_against_data(params, pool.labels, params_file, image_size=pool.images.shape[1])

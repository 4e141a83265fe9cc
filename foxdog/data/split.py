"""The group-aware, stratified held-out split (pool / val / test) of the curated photos."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from foxdog.errors import CurationError


def split_by_group(
    strata: np.ndarray,
    groups: np.ndarray,
    test_fraction: float,
    seed: int,
    key: str = "data.test_fraction",
) -> np.ndarray:
    """Boolean held-out mask: whole groups go to one side, strata kept in proportion.

    Uses scikit-learn's StratifiedGroupKFold with ``round(1 / test_fraction)``
    folds and takes the first fold as held out, so the realised share is
    ``1 / round(1 / test_fraction)`` up to group granularity. ``key`` names the
    parameter in the error raised when there are too few groups.
    """
    n_splits = max(2, round(1 / test_fraction))
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise CurationError(
            f"only {n_groups} independent image groups left after curation; "
            f"{key}={test_fraction} needs at least {n_splits}"
        )
    counts = Counter(strata)
    # Strata smaller than the number of folds cannot be spread; merge them so
    # scikit-learn does not warn and their images still land somewhere.
    strata = np.array([s if counts[s] >= n_splits else "other" for s in strata])
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A merged "other" stratum may still be smaller than n_splits; that is expected.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        _, test_idx = next(splitter.split(np.zeros(len(strata)), strata, groups))
    mask = np.zeros(len(strata), dtype=bool)
    mask[test_idx] = True
    return mask

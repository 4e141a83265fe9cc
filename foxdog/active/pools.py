"""The pool a condition runs on: the rare class subsampled to a share, paired by seed.

A condition (:class:`foxdog.registry.Condition`) with a ``share`` keeps, for each seed,
every pool image of the other classes and a random subset of the rare class's pool
images, so that the rare class makes up ``share`` of the kept pool (rounded to whole
images). The subset depends on (seed, share) only, never on the strategy, so every
strategy of a seed sees the same pool (paired comparisons); test and validation
splits are never subsampled.
"""

from __future__ import annotations

import numpy as np

from foxdog.data.arrays import Split
from foxdog.registry import Condition, share_percent


def kept_rare(n_rare: int, n_other: int, share: float) -> int:
    """How many rare images to keep so that they are ``share`` of the pool (at least 1)."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share!r}")
    want = max(1, round(share * n_other / (1 - share)))
    if want > n_rare:
        natural = n_rare / (n_rare + n_other) if n_rare + n_other else 0.0
        raise ValueError(
            f"a pool share of {share:g} needs {want} rare images, the pool has {n_rare} "
            f"(natural share {natural:.3f}): choose shares below it"
        )
    return want


def subsample_indices(labels: np.ndarray, rare_label: int, share: float, seed: int) -> np.ndarray:
    """Sorted indices of the pool kept for (seed, share): all others + a seeded rare subset."""
    labels = np.asarray(labels)
    rare = np.flatnonzero(labels == rare_label)
    other = np.flatnonzero(labels != rare_label)
    n_keep = kept_rare(len(rare), len(other), share)
    # The stream is keyed by (seed, 4, percent): independent of the strategy, of the
    # initial-set stream [seed, 1] and of the oracle's [seed, 2].
    rng = np.random.default_rng([seed, 4, share_percent(share)])
    keep = rng.choice(rare, n_keep, replace=False)
    return np.sort(np.concatenate([other, keep]))


def condition_pool(pool: Split, condition: Condition, rare_label: int, seed: int) -> Split:
    """The pool ``condition`` runs seed ``seed`` on (``pool`` itself at the natural balance)."""
    if condition.share is None:
        return pool
    idx = subsample_indices(pool.labels, rare_label, condition.share, seed)
    return Split(images=pool.images[idx], labels=pool.labels[idx], ids=pool.ids[idx])


def rare_share(labels: np.ndarray, rare_label: int) -> float:
    """The rare class's share of ``labels``."""
    return float(np.mean(np.asarray(labels) == rare_label)) if len(labels) else 0.0

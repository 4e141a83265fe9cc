"""ProbCover's δ and its sensitivity on the study's embeddings (``metrics/probcover_delta.csv``).

ProbCover chooses its ball radius δ by a purity heuristic
(:func:`foxdog.active.probcover.choose_delta`): the largest δ whose balls hold a
single k-means pseudo-label for at least α of the points. The statistics issue
asks to report how sensitive that trade-off is, so for each of the first
:data:`N_SEEDS` active-learning seeds this module rebuilds the embedding the
first ProbCover query sees — the seed's CNN (``FlaxCNNClassifier.from_config``)
fitted on the loop's initial labelled set with the oracle's labels, then the
penultimate features of the whole pool — and tabulates
:func:`foxdog.active.probcover.delta_sensitivity` over a δ grid plus the δ the
heuristic picks.

Columns: ``seed, delta, purity, coverage, mean_ball_size, chosen, budget,
n_labelled``; ``chosen`` is true on the row of the δ :func:`choose_delta` picks
(added to the grid when it is not on it), ``budget`` the number of greedy picks
the coverage is measured after (``active.query_size``: one round).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from foxdog import io
from foxdog.active.probcover import choose_delta, delta_sensitivity

if TYPE_CHECKING:
    from foxdog.config import Params
    from foxdog.data.arrays import Split

COLUMNS = [
    "seed",
    "delta",
    "purity",
    "coverage",
    "mean_ball_size",
    "chosen",
    "budget",
    "n_labelled",
]
#: Seeds tabulated: the first few active seeds show whether the choice is stable;
#: each costs one fit and ~10 s of ball graphs on 2 cores.
N_SEEDS = 3
#: δ grid of the table. The CNN's embeddings are non-negative (after a ReLU), so
#: unit vectors are at most √2 apart and purity has fallen to 0 well before δ = 1:
#: larger δ would only add rows where one ball covers everything.
DELTAS = np.round(np.arange(1, 21) / 20, 2)


def seed_table(
    embeddings: np.ndarray,
    n_classes: int,
    budget: int,
    random_state: int,
    deltas: np.ndarray = DELTAS,
) -> pd.DataFrame:
    """δ sensitivity of one embedding, with the heuristic's δ added and marked ``chosen``.

    The same ``random_state`` seeds the k-means pseudo-labels of both the choice and
    the table, so the purity in the ``chosen`` row is the one the choice saw.
    """
    delta = choose_delta(embeddings, n_classes, random_state=random_state)
    grid = np.union1d(np.asarray(deltas, dtype=np.float64), [delta])
    table = delta_sensitivity(embeddings, n_classes, budget, random_state, deltas=grid)
    table["chosen"] = np.isclose(table["delta"], delta)
    return table


def pool_embeddings(
    make_estimator: Callable[[int], Any],
    images: np.ndarray,
    labels: np.ndarray,
    labelled: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Fit the seed's estimator on ``images[labelled]`` / ``labels[labelled]``; embed ``images``."""
    estimator = make_estimator(seed).fit(images[labelled], labels[labelled])
    return np.asarray(estimator.embed(images))


def initial_set(
    params: Params, make_estimator: Callable[[int], Any], pool: Split, seed: int
) -> np.ndarray:
    """The loop's initial labelled set for ``seed`` (``active.initial``: random or typiclust)."""
    from foxdog.active import strategies
    from foxdog.active.protocol import initial_indices

    size = params.active.initial_size
    if params.active.initial == "typiclust":
        emb = make_estimator(seed).pretrained_embed(pool.images)
        return np.asarray(strategies.typiclust_initial(emb, size, random_state=seed), np.int64)
    return initial_indices(pool.labels, size, seed)


def probcover_delta_table(
    params: Params,
    pool: Split,
    seeds: Sequence[int],
    make_estimator: Callable[[int], Any] | None = None,
) -> pd.DataFrame:
    """The sensitivity table (:data:`COLUMNS`) for ``seeds`` on the pool ``Split``."""
    from foxdog.active.protocol import estimator_factory, oracle_labels

    # The delta of the scratch network: the regime in which ProbCover was first studied here.
    make_estimator = make_estimator or estimator_factory(params, "scratch")
    n_classes = len(np.unique(pool.labels))
    budget = params.active.query_size
    parts = []
    for seed in seeds:
        labelled = initial_set(params, make_estimator, pool, seed)
        answers = oracle_labels(
            pool.labels, params.active.label_noise, seed, len(params.data.classes)
        )
        emb = pool_embeddings(make_estimator, pool.images, answers, labelled, seed)
        table = seed_table(emb, n_classes, budget, random_state=seed)
        parts.append(table.assign(seed=seed, budget=budget, n_labelled=len(labelled)))
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def run_probcover_delta(
    params: Params, out: Path = Path("metrics/probcover_delta.csv"), n_seeds: int = N_SEEDS
) -> pd.DataFrame:
    """Compute the table for the first ``n_seeds`` active seeds and write ``out`` atomically."""
    from foxdog.data.arrays import load_split

    pool = load_split(Path(params.data.out_dir), "pool")
    seeds = list(params.active.seeds)[:n_seeds]
    table = probcover_delta_table(params, pool, seeds)
    io.write_csv(out, table)
    return table

"""Query strategies: one registry, names used everywhere (params, results, report).

Every strategy has modAL's signature ``(classifier, X_pool, n_instances) ->
(indices, scores)`` plus a ``random_state`` keyword, so the experiment loop can
seed each round. ``scores`` are the strategy's utilities for the chosen images
(higher = more wanted). modAL's own functions are used where they exist;
``bald`` and ``coreset`` are written in the same style because modAL's BALD is
PyTorch-only and modAL has no core-set method.

For two classes, least-confident, margin and entropy sampling rank the pool
identically (all are monotone in |p - 0.5|); they are kept separate because a
user comparing them should see that in the results, not take it on trust.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from foxdog.active import modal_compat

modal_compat.apply()

from modAL.batch import ranked_batch  # noqa: E402
from modAL.disagreement import consensus_entropy_sampling  # noqa: E402
from modAL.uncertainty import (  # noqa: E402
    classifier_uncertainty,
    entropy_sampling,
    margin_sampling,
    uncertainty_sampling,
)
from modAL.utils.selection import multi_argmax  # noqa: E402

Strategy = Callable[..., tuple[np.ndarray, np.ndarray]]


def _estimator(classifier: Any) -> Any:
    """The CNN behind a modAL learner (its ``embed``/``predict_proba_mc`` are needed)."""
    return getattr(classifier, "estimator", classifier)


def random_sampling(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random images: the baseline every strategy must beat."""
    rng = np.random.default_rng(random_state)
    idx = rng.choice(len(X_pool), size=n_instances, replace=False)
    return idx, np.zeros(n_instances)


def least_confident(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL uncertainty sampling: lowest top-class probability."""
    return uncertainty_sampling(classifier, X_pool, n_instances=n_instances)


def margin(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL margin sampling: smallest gap between the two top classes (score = -margin)."""
    return margin_sampling(classifier, X_pool, n_instances=n_instances)


def entropy(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL entropy sampling: highest predictive entropy."""
    return entropy_sampling(classifier, X_pool, n_instances=n_instances)


def ranked_batch_embeddings(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL's ranked batch-mode sampling (Cardoso et al. 2017) in the CNN's embedding space.

    modAL's ``uncertainty_batch_sampling`` measures similarity on the raw input;
    on pixels that mostly reflects colour and background, so the same algorithm
    (``modAL.batch.ranked_batch``) is run on penultimate-layer features instead.
    """
    cnn = _estimator(classifier)
    uncertainty = classifier_uncertainty(classifier, X_pool)
    labelled = types.SimpleNamespace(
        on_transformed=False, X_training=cnn.embed(classifier.X_training)
    )
    idx, _ = ranked_batch(
        labelled,
        unlabeled=cnn.embed(X_pool),
        uncertainty_scores=uncertainty,
        n_instances=n_instances,
        metric="euclidean",
        n_jobs=None,
    )
    # modAL returns the uncertainties; the rank is the utility it optimises.
    return idx, np.linspace(1.0, 0.0, len(idx), endpoint=False)


def committee_consensus(
    committee: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL query-by-committee with consensus entropy.

    Consensus (not vote) entropy: with a small committee and two classes, vote
    entropy takes only two values and degenerates into random tie-breaking.
    """
    return consensus_entropy_sampling(committee, X_pool, n_instances=n_instances)


def bald(
    classifier: Any,
    X_pool: np.ndarray,
    n_instances: int = 1,
    random_state: int | None = None,
    mc_samples: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """BALD (Houlsby et al. 2011) with MC-dropout (Gal et al. 2017).

    Mutual information between the prediction and the weights: entropy of the
    mean prediction minus the mean entropy of the dropout samples.
    """
    seed = 0 if random_state is None else int(random_state)
    samples = _estimator(classifier).predict_proba_mc(X_pool, n_samples=mc_samples, seed=seed)
    scores = bald_scores(samples)
    return multi_argmax(scores, n_instances=n_instances)


def bald_scores(samples: np.ndarray) -> np.ndarray:
    """Mutual information from MC samples of shape (n_samples, N, classes)."""
    eps = 1e-12
    mean = samples.mean(axis=0)
    entropy_of_mean = -(mean * np.log(mean + eps)).sum(axis=1)
    mean_entropy = -(samples * np.log(samples + eps)).sum(axis=2).mean(axis=0)
    return np.maximum(entropy_of_mean - mean_entropy, 0.0)


def k_center_greedy(
    pool: np.ndarray, labelled: np.ndarray, n_instances: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center selection (Sener & Savarese 2018) on feature rows.

    Repeatedly picks the pool point farthest from everything chosen or
    labelled so far; scores are those distances at the time of picking.
    """
    pool = np.asarray(pool, dtype=np.float64)
    labelled = np.asarray(labelled, dtype=np.float64)
    sq_pool = (pool**2).sum(axis=1)

    def sq_dist(centre: np.ndarray) -> np.ndarray:
        return np.maximum(sq_pool - 2 * pool @ centre + centre @ centre, 0.0)

    if len(labelled):
        cross = sq_pool[:, None] - 2 * pool @ labelled.T + (labelled**2).sum(axis=1)[None, :]
        nearest = np.maximum(cross.min(axis=1), 0.0)
    else:
        nearest = np.full(len(pool), np.inf)
    chosen, scores = [], []
    for _ in range(n_instances):
        i = int(np.argmax(nearest))
        chosen.append(i)
        scores.append(float(np.sqrt(nearest[i])))
        nearest = np.minimum(nearest, sq_dist(pool[i]))
        nearest[i] = -1.0  # never pick it twice
    return np.array(chosen), np.array(scores)


def coreset(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Core-set selection: k-center greedy in the CNN's embedding space (diversity only)."""
    cnn = _estimator(classifier)
    return k_center_greedy(cnn.embed(X_pool), cnn.embed(classifier.X_training), n_instances)


REGISTRY: dict[str, Strategy] = {
    "random": random_sampling,
    "least_confident": least_confident,
    "margin": margin,
    "entropy": entropy,
    "ranked_batch": ranked_batch_embeddings,
    "committee": committee_consensus,
    "bald": bald,
    "coreset": coreset,
}
COMMITTEE_STRATEGIES = frozenset({"committee"})


def get_strategy(name: str) -> Strategy:
    """The query function registered under ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(REGISTRY)}") from None

"""Query strategies: one registry, names used everywhere (params, results, report).

Every strategy has modAL's signature ``(classifier, X_pool, n_instances) ->
(indices, scores)`` plus a ``random_state`` keyword, so the experiment loop can
seed each round. The contract: ``scores`` are the strategy's utilities for the
chosen images, higher = more wanted, and the batch is sorted by score
descending, then index ascending (random: zeros, so indices ascending).
Sequential methods (ranked batch, TypiClust, BADGE) score by pick order,
``1, (n-1)/n, ..., 1/n``; greedy ones (core-set, ProbCover) by their gain at
pick time, which never increases.

Strategies are written "measure, then select", modAL's own functional style:
modAL's measures (``classifier_uncertainty``, ``classifier_margin``,
``classifier_entropy``, ``consensus_entropy``) and one sorted top-k. modAL's
``*_sampling`` helpers are not used: ``margin_sampling`` returns the raw
margin (lower = more wanted) and ``multi_argmax`` returns the batch unsorted.
``bald`` and ``coreset`` are written in the same style because modAL's BALD is
PyTorch-only and modAL has no core-set method; the low-budget methods live in
:mod:`foxdog.active.typiclust`, :mod:`foxdog.active.probcover` and
:mod:`foxdog.active.badge`.

For two classes, least-confident, margin and entropy sampling rank the pool
identically (all are monotone in |p - 0.5|); they are kept separate because a
user comparing them should see that in the results, not take it on trust.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.preprocessing import normalize

from foxdog.active import modal_compat

modal_compat.apply()

from modAL.batch import ranked_batch  # noqa: E402
from modAL.disagreement import consensus_entropy  # noqa: E402
from modAL.uncertainty import (  # noqa: E402
    classifier_entropy,
    classifier_margin,
    classifier_uncertainty,
)

from foxdog.active.badge import gradient_embeddings, kmeans_pp_select  # noqa: E402
from foxdog.active.probcover import probcover_select  # noqa: E402
from foxdog.active.typiclust import typiclust_initial as typiclust_initial  # noqa: E402
from foxdog.active.typiclust import typiclust_select  # noqa: E402

Strategy = Callable[..., tuple[np.ndarray, np.ndarray]]


def _estimator(classifier: Any) -> Any:
    """The CNN behind a modAL learner (its ``embed``/``predict_proba_mc`` are needed)."""
    return getattr(classifier, "estimator", classifier)


def top_k(utility: np.ndarray, n_instances: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_instances`` highest utilities: indices sorted by utility desc, then index asc."""
    utility = np.asarray(utility, dtype=np.float64)
    if n_instances > len(utility):
        raise ValueError(f"n_instances={n_instances} exceeds the pool size {len(utility)}")
    # lexsort: the last key is primary. Stable and total, so ties never depend on numpy's
    # partition algorithm (multi_argmax's argpartition does).
    order = np.lexsort((np.arange(len(utility)), -utility))[:n_instances]
    return order, utility[order]


def sort_batch(idx: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chosen batch in contract order: score descending, then index ascending."""
    idx, scores = np.asarray(idx, dtype=np.int64), np.asarray(scores, dtype=np.float64)
    order = np.lexsort((idx, -scores))
    return idx[order], scores[order]


def _pick_order(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``1, (n-1)/n, ..., 1/n`` for a batch given in the order it was picked."""
    n = len(idx)
    return np.asarray(idx, dtype=np.int64), np.arange(n, 0, -1) / max(n, 1)


def _embeddings(
    classifier: Any, X_pool: np.ndarray, pretrained: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Pool and labelled-set embeddings from the model behind ``classifier``.

    ``pretrained``: the start's own embedding untouched by labels where the model has
    one (``pretrained_embed``: a frozen-feature head's features, or the CNN's pretrained
    encoder as loaded, SimCLR's for scratch), as TypiClust's authors cluster a
    self-supervised embedding; else (or for models without one, such as the labelling
    app's head) the trained model's ``embed``.
    """
    model = _estimator(classifier)
    embed = getattr(model, "pretrained_embed", None) if pretrained else None
    embed = embed or model.embed
    X_training = getattr(classifier, "X_training", None)
    pool = embed(X_pool)
    if X_training is None or len(X_training) == 0:
        return pool, pool[:0]
    return pool, embed(X_training)


def random_sampling(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random images: the baseline every strategy must beat."""
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(len(X_pool), size=n_instances, replace=False))
    return idx, np.zeros(n_instances)


def least_confident(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Uncertainty sampling: score = 1 - top-class probability."""
    return top_k(classifier_uncertainty(classifier, X_pool), n_instances)


def margin(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Margin sampling: score = -(gap between the two top class probabilities)."""
    return top_k(-classifier_margin(classifier, X_pool), n_instances)


def entropy(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Entropy sampling: score = predictive entropy (nats)."""
    return top_k(classifier_entropy(classifier, X_pool), n_instances)


def ranked_batch_embeddings(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """modAL's ranked batch-mode sampling (Cardoso et al. 2017) on L2-normalised embeddings.

    Each pick maximises ``α (1 - 1 / (1 + d)) + (1 - α) u``: d is the distance
    to the nearest labelled-or-already-picked point (diversity), u the
    least-confident uncertainty, and modAL fixes ``α = |U| / (|U| + |L|)``. With
    a large pool and few labels α is close to 1 (2868 / 2888 ≈ 0.99 for 20
    labels in a 2888-image pool; still ≈ 0.84 at 470 labels), so the method is
    nearly a farthest-first diversity traversal in which uncertainty acts
    mostly as a tie-breaker. Embeddings are L2-normalised first so that
    d ∈ [0, 2] (a cosine-like, scale-free distance): on raw ReLU features the
    distance term saturates near 1 and follows the embedding norm, which
    changes as the network trains. modAL's ``uncertainty_batch_sampling``
    would measure d on raw pixels (colour and background), hence the
    penultimate-layer features.
    """
    pool, labelled = _embeddings(classifier, X_pool)
    learner = types.SimpleNamespace(on_transformed=False, X_training=normalize(labelled))
    idx, _ = ranked_batch(
        learner,
        unlabeled=normalize(pool),
        uncertainty_scores=classifier_uncertainty(classifier, X_pool),
        n_instances=n_instances,
        metric="euclidean",
        n_jobs=None,
    )
    # modAL returns the uncertainties; the pick order is the utility it optimises.
    return _pick_order(idx)


def committee_consensus(
    committee: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Query-by-committee: score = entropy of the committee's mean prediction.

    Consensus (not vote) entropy: with a small committee and two classes, vote
    entropy takes only two values and degenerates into random tie-breaking.
    """
    return top_k(consensus_entropy(committee, X_pool), n_instances)


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
    return top_k(bald_scores(samples), n_instances)


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
    return sort_batch(*k_center_greedy(*_embeddings(classifier, X_pool), n_instances))


def typiclust(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """TypiClust (Hacohen et al. 2022): the most typical point of each uncovered cluster.

    Clusters the start's own label-free embedding (``pretrained_embed``), never the
    network fine-tuned on the labels: the picks do not depend on the labels given.
    See :mod:`foxdog.active.typiclust`; scores are the pick order.
    """
    pool, labelled = _embeddings(classifier, X_pool, pretrained=True)
    return _pick_order(typiclust_select(pool, labelled, n_instances, random_state=random_state))


def probcover(
    classifier: Any,
    X_pool: np.ndarray,
    n_instances: int = 1,
    random_state: int | None = None,
    n_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ProbCover (Yehuda et al. 2022): greedy δ-ball coverage, δ re-chosen each round.

    See :mod:`foxdog.active.probcover`; scores are the number of newly covered
    points. ``n_classes`` (k of the pseudo-labels) defaults to the estimator's
    ``classes_``.
    """
    if n_classes is None:
        n_classes = len(_estimator(classifier).classes_)
    pool, labelled = _embeddings(classifier, X_pool)
    idx, gains, _ = probcover_select(pool, labelled, n_instances, n_classes, random_state)
    return sort_batch(idx, gains)


def badge(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """BADGE (Ash et al. 2020): k-means++ on last-layer gradient embeddings.

    See :mod:`foxdog.active.badge`; scores are the pick order.
    """
    cnn = _estimator(classifier)
    G = gradient_embeddings(cnn.predict_proba(X_pool), cnn.embed(X_pool))
    return _pick_order(kmeans_pp_select(G, n_instances, random_state))


def class_quotas(predicted: np.ndarray, n_classes: int, n_instances: int) -> np.ndarray:
    """Equal shares of the batch per predicted class, capped by how many the pool predicts.

    ``n_instances // k`` each over the k classes predicted at least once; the remainder
    goes one each to the classes predicted least often (the rare class first). A class
    with fewer candidates than its quota gets them all; its unused slots are left for
    :func:`balanced_margin` to fill by margin alone.
    """
    counts = np.bincount(predicted, minlength=n_classes)
    present = np.flatnonzero(counts)
    quotas = np.zeros(n_classes, dtype=np.int64)
    if len(present) == 0:
        return quotas
    quotas[present] = n_instances // len(present)
    rarest = present[np.lexsort((present, counts[present]))]
    quotas[rarest[: n_instances - quotas.sum()]] += 1
    return np.minimum(quotas, counts)


def balanced_margin(
    classifier: Any, X_pool: np.ndarray, n_instances: int = 1, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Margin sampling within equal quotas per predicted class (class-balancing uncertainty).

    Plain margin sampling spends the batch where the boundary is, which with a rare
    class is mostly among images predicted as the common class. Here each predicted
    class gets an equal quota (:func:`class_quotas`), filled by its smallest margins;
    slots a class cannot fill go to the smallest margins left in the pool. Scores are
    ``-margin``, as in :func:`margin`. For a batch of one it is margin sampling.
    """
    proba = np.asarray(classifier.predict_proba(X_pool), dtype=np.float64)
    utility = -classifier_margin(classifier, X_pool)
    if n_instances > len(utility):
        raise ValueError(f"n_instances={n_instances} exceeds the pool size {len(utility)}")
    predicted = proba.argmax(axis=1)
    quotas = class_quotas(predicted, proba.shape[1], n_instances)
    chosen = np.zeros(len(utility), dtype=bool)
    order = np.lexsort((np.arange(len(utility)), -utility))  # most uncertain first
    for c, quota in enumerate(quotas):
        chosen[order[predicted[order] == c][:quota]] = True
    rest = order[~chosen[order]][: n_instances - int(chosen.sum())]
    chosen[rest] = True
    return sort_batch(np.flatnonzero(chosen), utility[chosen])


REGISTRY: dict[str, Strategy] = {
    "random": random_sampling,
    "least_confident": least_confident,
    "margin": margin,
    "entropy": entropy,
    "ranked_batch": ranked_batch_embeddings,
    "committee": committee_consensus,
    "bald": bald,
    "coreset": coreset,
    "typiclust": typiclust,
    "probcover": probcover,
    "badge": badge,
    "balanced_margin": balanced_margin,
}
COMMITTEE_STRATEGIES = frozenset({"committee"})


def get_strategy(name: str) -> Strategy:
    """The query function registered under ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(REGISTRY)}") from None

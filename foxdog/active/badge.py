"""BADGE (Ash et al., ICLR 2020): k-means++ seeding on last-layer gradient embeddings.

For each pool image, the gradient of the cross-entropy loss w.r.t. the final
dense layer's weights, taking the model's own prediction ŷ as the label, is

    g(x) = (p(x) - onehot(ŷ(x))) ⊗ h(x)

where h(x) is the penultimate representation (the input of that layer:
``FlaxCNNClassifier.embed``; dropout sits between them but is the identity at
inference). Its norm grows with uncertainty and its direction encodes the
features, so k-means++ seeding on g picks points that are uncertain *and*
diverse, with no trade-off weight to set.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus


def gradient_embeddings(proba: np.ndarray, features: np.ndarray) -> np.ndarray:
    """(N, C * D) hypothetical-label gradients of the last layer from (N, C) and (N, D)."""
    proba = np.asarray(proba, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    residual = proba.copy()
    residual[np.arange(len(proba)), proba.argmax(axis=1)] -= 1.0
    return (residual[:, :, None] * features[:, None, :]).reshape(len(proba), -1)


def kmeans_pp_select(G: np.ndarray, n_instances: int, random_state: int | None) -> np.ndarray:
    """Row indices of ``G`` chosen by k-means++ (D² sampling), in the order chosen.

    ``n_local_trials=1`` is plain k-means++ as in the paper (scikit-learn's
    default is its greedy variant). The first centre is uniformly random, as in
    Arthur & Vassilvitskii's k-means++ and scikit-activeml; the BADGE authors'
    code starts from the largest gradient instead, which differs in one pick.
    When fewer than ``n_instances`` rows are distinct, D² sampling can only
    repeat a point; the rest of the batch is then filled with the
    largest-gradient rows not yet chosen.
    """
    G = np.asarray(G, dtype=np.float64)
    if n_instances > len(G):
        raise ValueError(f"n_instances={n_instances} exceeds the pool size {len(G)}")
    _, idx = kmeans_plusplus(G, n_instances, random_state=random_state, n_local_trials=1)
    _, first = np.unique(idx, return_index=True)
    chosen = idx[np.sort(first)]
    if len(chosen) < n_instances:
        rest = np.setdiff1d(np.arange(len(G)), chosen)
        norms = np.linalg.norm(G[rest], axis=1)
        extra = rest[np.lexsort((rest, -norms))][: n_instances - len(chosen)]
        chosen = np.concatenate([chosen, extra])
    return chosen.astype(np.int64)

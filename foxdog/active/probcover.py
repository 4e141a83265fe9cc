"""ProbCover (Yehuda, Dekel, Hacohen & Weinshall, NeurIPS 2022): greedy δ-ball coverage.

Low-budget active learning as max coverage: every point "covers" the points
within distance δ of it (on L2-normalised embeddings); the query greedily adds
the pool point that covers the most still-uncovered points, counting points
already within δ of a labelled image as covered. It uses no model
uncertainty, only the geometry of the embedding.

δ trades coverage against purity: a ball is *pure* when every point in it has
the same k-means pseudo-label as its centre (k = number of classes), and the
paper takes the largest δ whose balls are pure for at least α = 0.95 of the
points. :func:`choose_delta` does that on a grid; :func:`delta_sensitivity`
tabulates purity and the coverage a budget buys over the same grid.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

ALPHA = 0.95
# Distances between unit vectors lie in [0, 2]; a 0.01 grid is fine enough for the
# heuristic and cheap, since purity is read off one distance per point.
DELTAS = np.round(np.arange(1, 201) / 100, 2)


def pseudo_labels(X: np.ndarray, n_classes: int, random_state: int | None) -> np.ndarray:
    """k-means (k = ``n_classes``) cluster of each row: the paper's stand-in for labels."""
    return KMeans(n_clusters=n_classes, random_state=random_state).fit_predict(X)


def impure_distance(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance from each row to the nearest row with a different label (inf if none).

    A δ-ball around a row is pure exactly when δ is below this distance.
    """
    out = np.full(len(X), np.inf)
    for c in np.unique(labels):
        inside = labels == c
        if inside.all():
            break
        _, out[inside] = pairwise_distances_argmin_min(X[inside], X[~inside])
    return out


def purity(impure: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Fraction of points whose closed δ-ball is pure, for each δ."""
    return (impure[None, :] > np.asarray(deltas, dtype=np.float64)[:, None]).mean(axis=1)


def choose_delta(
    X: np.ndarray,
    n_classes: int,
    random_state: int | None = None,
    alpha: float = ALPHA,
    deltas: np.ndarray = DELTAS,
) -> float:
    """Largest δ in ``deltas`` with ball purity >= ``alpha`` on L2-normalised ``X``.

    If no δ is pure enough, the smallest one is returned with a warning.
    """
    X = normalize(np.asarray(X, dtype=np.float64))
    deltas = np.sort(np.asarray(deltas, dtype=np.float64))
    pure = purity(impure_distance(X, pseudo_labels(X, n_classes, random_state)), deltas)
    ok = np.flatnonzero(pure >= alpha)
    if len(ok) == 0:
        warnings.warn(
            f"ProbCover: no δ in [{deltas[0]}, {deltas[-1]}] has purity >= {alpha} "
            f"(best {pure.max():.3f}); using δ={deltas[0]}",
            stacklevel=2,
        )
        return float(deltas[0])
    return float(deltas[ok[-1]])


def ball_graph(pool: np.ndarray, X: np.ndarray, delta: float) -> sp.csr_matrix:
    """Sparse (n_pool, n_X) 0/1 matrix: pool row i covers X row j when ||pool_i - X_j|| <= δ."""
    graph = NearestNeighbors(radius=delta).fit(X).radius_neighbors_graph(pool, mode="connectivity")
    return graph.tocsr().astype(np.float64)


def greedy_cover(
    graph: sp.csr_matrix,
    covered: np.ndarray,
    n_instances: int,
    random_state: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy max coverage: pool rows of ``graph`` and how many new points each covered.

    Ties go to the lowest index. Once everything is covered (gain 0), the
    remaining picks are uniformly random among the unpicked rows, as in the paper.
    """
    covered = np.asarray(covered, dtype=bool).copy()
    picked = np.zeros(graph.shape[0], dtype=bool)
    chosen, gains = [], []
    for _ in range(n_instances):
        gain = graph @ (~covered).astype(np.float64)
        gain[picked] = -1.0
        i = int(np.argmax(gain))
        if gain[i] <= 0:
            break
        chosen.append(i)
        gains.append(float(gain[i]))
        picked[i] = True
        covered[graph.indices[graph.indptr[i] : graph.indptr[i + 1]]] = True
    rest = n_instances - len(chosen)
    if rest:
        rng = np.random.default_rng(random_state)
        extra = rng.choice(np.flatnonzero(~picked), size=rest, replace=False)
        chosen.extend(int(i) for i in extra)
        gains.extend([0.0] * rest)
    return np.asarray(chosen, dtype=np.int64), np.asarray(gains)


def probcover_select(
    pool: np.ndarray,
    labelled: np.ndarray,
    n_instances: int,
    n_classes: int,
    random_state: int | None = None,
    delta: float | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """ProbCover picks into ``pool``, their coverage gains, and the δ used.

    ``delta=None`` chooses δ by the purity heuristic on pool + labelled embeddings.
    """
    pool = normalize(np.asarray(pool, dtype=np.float64))
    labelled = np.asarray(labelled, dtype=np.float64).reshape(-1, pool.shape[1])
    if n_instances > len(pool):
        raise ValueError(f"n_instances={n_instances} exceeds the pool size {len(pool)}")
    X = np.vstack([pool, normalize(labelled)]) if len(labelled) else pool
    if delta is None:
        delta = choose_delta(X, n_classes, random_state)
    graph = ball_graph(pool, pool, delta)
    covered = np.zeros(len(pool), dtype=bool)
    if len(labelled):
        covered[ball_graph(normalize(labelled), pool, delta).indices] = True
    idx, gains = greedy_cover(graph, covered, n_instances, random_state)
    return idx, gains, float(delta)


def delta_sensitivity(
    X: np.ndarray,
    n_classes: int,
    budget: int,
    random_state: int | None = None,
    deltas: np.ndarray | None = None,
) -> pd.DataFrame:
    """Purity, coverage after ``budget`` greedy picks, and mean ball size for each δ.

    One row per δ (columns ``delta, purity, coverage, mean_ball_size``) on
    L2-normalised ``X`` with no labelled set: the trade-off the δ heuristic
    resolves, for the report.
    """
    X = normalize(np.asarray(X, dtype=np.float64))
    if deltas is None:
        deltas = np.round(np.arange(1, 41) / 20, 2)
    deltas = np.sort(np.asarray(deltas, dtype=np.float64))
    pure = purity(impure_distance(X, pseudo_labels(X, n_classes, random_state)), deltas)
    rows = []
    for delta, p in zip(deltas, pure, strict=True):
        graph = ball_graph(X, X, float(delta))
        idx, _ = greedy_cover(graph, np.zeros(len(X), dtype=bool), budget, random_state)
        coverage = np.unique(graph[idx].indices).size / len(X)
        rows.append((float(delta), float(p), coverage, graph.nnz / len(X)))
    return pd.DataFrame(rows, columns=["delta", "purity", "coverage", "mean_ball_size"])

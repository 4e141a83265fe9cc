"""Query strategies on fake classifiers with known probabilities and embeddings (no CNN)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from foxdog.active import badge as badge_mod
from foxdog.active import probcover as pc
from foxdog.active import strategies as st
from foxdog.active.typiclust import typicality, typiclust_initial, typiclust_select
from foxdog.registry import STRATEGIES


class FakeCNN:
    """Rows of X are ids into fixed tables of probabilities and embeddings."""

    def __init__(self, proba=None, emb=None, mc=None, n_classes=2):
        self.proba, self.emb, self.mc = proba, emb, mc
        self.classes_ = np.arange(n_classes)

    def predict_proba(self, X):
        return self.proba[X[:, 0]]

    def embed(self, X):
        return self.emb[X[:, 0]]

    def predict_proba_mc(self, X, n_samples, seed=0):
        return self.mc[:n_samples, X[:, 0]]


def learner(cnn: FakeCNN, labelled: np.ndarray | list[int]) -> SimpleNamespace:
    """A modAL-like learner: ``estimator``, ``X_training`` and ``predict_proba``."""
    X_training = np.asarray(labelled, dtype=np.int64).reshape(-1, 1)
    return SimpleNamespace(estimator=cnn, X_training=X_training, predict_proba=cnn.predict_proba)


def ids(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n).reshape(-1, 1)


def brute_top_k(utility: np.ndarray, k: int) -> list[int]:
    return sorted(range(len(utility)), key=lambda i: (-utility[i], i))[:k]


def assert_contract(idx: np.ndarray, scores: np.ndarray, n: int, pool_size: int) -> None:
    assert idx.shape == scores.shape == (n,)
    assert len(set(idx.tolist())) == n and idx.min() >= 0 and idx.max() < pool_size
    keys = list(zip((-scores).tolist(), idx.tolist(), strict=True))
    assert keys == sorted(keys), "batch not sorted by score desc, then index asc"


@pytest.fixture
def proba() -> np.ndarray:
    rng = np.random.default_rng(0)
    p = rng.dirichlet([0.7, 0.7, 0.7], size=60)
    p[[10, 30, 50]] = p[5]  # exact ties: index order decides
    return p


def _entropy(p: np.ndarray) -> np.ndarray:
    return np.array([-sum(q * np.log(q) for q in row if q > 0) for row in p])


@pytest.mark.parametrize(
    ("name", "utility"),
    [
        ("least_confident", lambda p: 1 - p.max(axis=1)),
        ("margin", lambda p: -(np.sort(p, axis=1)[:, -1] - np.sort(p, axis=1)[:, -2])),
        ("entropy", _entropy),
    ],
)
def test_uncertainty_strategies_pick_the_exact_top_k(name, utility, proba) -> None:
    clf = learner(FakeCNN(proba=proba, n_classes=3), [])
    u = utility(proba)
    for k in (1, 7, 25, 60):
        idx, scores = st.REGISTRY[name](clf, ids(60), n_instances=k, random_state=0)
        assert_contract(idx, scores, k, 60)
        assert idx.tolist() == brute_top_k(u, k)
        assert scores == pytest.approx(u[idx])
    # Higher score = more uncertain: the first pick is the most uncertain image.
    first = st.REGISTRY[name](clf, ids(60), n_instances=1)[0][0]
    assert np.sort(proba[first])[-1] <= np.median(proba.max(axis=1))


def test_margin_scores_are_negated_margins(proba) -> None:
    idx, scores = st.margin(learner(FakeCNN(proba=proba, n_classes=3), []), ids(60), 5)
    top2 = np.sort(proba[idx], axis=1)[:, -2:]
    assert np.all(scores <= 0) and scores == pytest.approx(top2[:, 0] - top2[:, 1])
    smallest = np.sort(np.sort(proba, axis=1)[:, -1] - np.sort(proba, axis=1)[:, -2])[:5]
    assert -scores == pytest.approx(smallest)


def test_committee_scores_entropy_of_the_mean_prediction(proba) -> None:
    members = [proba, np.roll(proba, 1, axis=1)]
    mean = (members[0] + members[1]) / 2
    committee = SimpleNamespace(predict_proba=lambda X: mean[X[:, 0]])
    idx, scores = st.committee_consensus(committee, ids(60), n_instances=9)
    assert_contract(idx, scores, 9, 60)
    assert idx.tolist() == brute_top_k(_entropy(mean), 9)
    assert scores == pytest.approx(_entropy(mean)[idx])


def test_bald_picks_top_mutual_information() -> None:
    rng = np.random.default_rng(1)
    mc = rng.dirichlet([1.0, 1.0], size=(8, 30))
    mean = mc.mean(axis=0)
    mi = _entropy(mean) - np.mean([_entropy(s) for s in mc], axis=0)
    clf = learner(FakeCNN(mc=mc), [])
    idx, scores = st.bald(clf, ids(30), n_instances=6, random_state=3, mc_samples=8)
    assert_contract(idx, scores, 6, 30)
    assert idx.tolist() == brute_top_k(mi, 6) and scores == pytest.approx(mi[idx])


def test_random_is_seeded_sorted_and_zero_scored() -> None:
    a = st.random_sampling(None, ids(100), n_instances=10, random_state=4)
    b = st.random_sampling(None, ids(100), n_instances=10, random_state=4)
    assert_contract(*a, 10, 100)
    assert np.array_equal(a[0], b[0]) and not a[1].any()
    assert not np.array_equal(a[0], st.random_sampling(None, ids(100), 10, random_state=5)[0])


def _brute_ranked_batch(pool, labelled, u, n):
    pool = pool / np.linalg.norm(pool, axis=1, keepdims=True)
    lab = list(labelled / np.linalg.norm(labelled, axis=1, keepdims=True))
    left, chosen = list(range(len(pool))), []
    for _ in range(n):
        alpha = len(left) / (len(left) + len(lab))
        d = [min(np.linalg.norm(pool[i] - x) for x in lab) for i in left]
        s = [alpha * (1 - 1 / (1 + di)) + (1 - alpha) * u[i] for di, i in zip(d, left, strict=True)]
        best = left[int(np.argmax(s))]
        chosen.append(best)
        left.remove(best)
        lab.append(pool[best])
    return chosen


def test_ranked_batch_follows_cardoso_on_normalised_embeddings() -> None:
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(40, 5))
    p1 = rng.uniform(size=40)
    proba = np.column_stack([1 - p1, p1])
    cnn = FakeCNN(proba=proba, emb=emb)
    clf = learner(cnn, [30, 31, 32])  # rows 30.. are the labelled images
    idx, scores = st.ranked_batch_embeddings(clf, ids(30), n_instances=8)
    assert_contract(idx, scores, 8, 30)
    u = 1 - proba[:30].max(axis=1)
    assert idx.tolist() == _brute_ranked_batch(emb[:30], emb[30:33], u, 8)
    # Scale-free: rescaling single embeddings changes nothing after normalisation.
    cnn.emb = emb * rng.uniform(0.1, 10.0, size=(40, 1))
    assert np.array_equal(st.ranked_batch_embeddings(clf, ids(30), n_instances=8)[0], idx)


def blobs(sizes, dim=8, spread=0.05, seed=0):
    """Well-separated Gaussian blobs around scaled unit axes; returns (X, blob id, centres)."""
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(dim)[: len(sizes)]
    X = np.vstack(
        [c + 10 * spread * rng.normal(size=(n, dim)) for c, n in zip(centres, sizes, strict=True)]
    )
    return X, np.repeat(np.arange(len(sizes)), sizes), centres


def _near_centre(X, blob, picks, quantile=0.25):
    """Each pick is among the ``quantile`` of its blob closest to its centre (on the sphere)."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i in picks:
        members = Xn[blob == blob[i]]
        d = np.linalg.norm(members - members.mean(axis=0), axis=1)
        assert np.linalg.norm(Xn[i] - members.mean(axis=0)) <= np.quantile(d, quantile)


def test_typiclust_picks_typical_points_of_uncovered_blobs_largest_first() -> None:
    X, blob, _ = blobs([40, 40, 50, 70, 60])
    labelled = [0, 40]  # one point each in blobs 0 and 1
    pool_ids = np.setdiff1d(np.arange(len(X)), labelled)
    cnn = FakeCNN(emb=X)
    idx, scores = st.typiclust(learner(cnn, labelled), pool_ids[:, None], 3, random_state=0)
    assert_contract(idx, scores, 3, len(pool_ids))
    picks = pool_ids[idx]
    assert blob[picks].tolist() == [3, 4, 2]  # uncovered blobs, largest first
    _near_centre(X, blob, picks)
    again = st.typiclust(learner(cnn, labelled), pool_ids[:, None], 3, random_state=0)
    assert np.array_equal(again[0], idx)


def test_typiclust_initial_takes_one_typical_point_per_blob() -> None:
    X, blob, _ = blobs([30, 45, 60, 35], seed=3)
    idx = typiclust_initial(X, 4, random_state=1)
    assert sorted(blob[idx].tolist()) == [0, 1, 2, 3]
    _near_centre(X, blob, idx)
    assert np.array_equal(idx, typiclust_initial(X, 4, random_state=1))
    # A budget beyond the number of clusters worth keeping still gives distinct points.
    many = typiclust_select(X, X[:0], 40, random_state=0)
    assert len(np.unique(many)) == 40


def test_typicality_is_highest_in_the_dense_core() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(scale=0.1, size=(30, 2)), [[3.0, 3.0]]])
    t = typicality(X)
    assert np.argmin(t) == 30 and t[:30].min() > t[30]


def test_probcover_delta_is_pure_below_the_blob_distance_and_covers_each_blob() -> None:
    X, blob, _ = blobs([40, 50, 60], spread=0.02, seed=1)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    dist = np.linalg.norm(Xn[:, None] - Xn[None], axis=2)
    same = blob[:, None] == blob[None]
    delta = pc.choose_delta(X, n_classes=3, random_state=0)
    # Wide enough for one ball to hold a blob, below the distance between blob
    # centres (sqrt 2 on the sphere), and >= 95 % of balls hold one blob only.
    assert dist[same].max() <= delta < np.sqrt(2)
    assert ((dist <= delta) & ~same).any(axis=1).mean() <= 0.05
    idx, gains, used = pc.probcover_select(X, X[:0], 3, n_classes=3, random_state=0)
    assert used == delta and sorted(blob[idx].tolist()) == [0, 1, 2]
    assert gains.sum() == len(X) and (dist[idx] <= delta).any(axis=0).all()
    # Through the strategy: a labelled point in blob 2 covers it, so picks go to 1 and 0.
    lab = int(np.flatnonzero(blob == 2)[0])
    pool_ids = np.setdiff1d(np.arange(len(X)), [lab])
    clf = learner(FakeCNN(emb=X, n_classes=3), [lab])
    idx, scores = st.probcover(clf, pool_ids[:, None], n_instances=4, random_state=0)
    assert_contract(idx, scores, 4, len(pool_ids))
    assert blob[pool_ids[idx[:2]]].tolist() == [1, 0]
    assert scores[:2].min() >= 35 and not scores[2:].any()  # then everything is covered


def test_probcover_warns_and_uses_smallest_delta_when_nothing_is_pure() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    with pytest.warns(UserWarning, match="no δ"):
        assert pc.choose_delta(X, 2, random_state=0, deltas=np.array([1.5, 2.0])) == 1.5


def test_probcover_delta_sensitivity_table() -> None:
    X, _, _ = blobs([30, 30], seed=2)
    table = pc.delta_sensitivity(X, n_classes=2, budget=2, random_state=0)
    assert list(table.columns) == ["delta", "purity", "coverage", "mean_ball_size"]
    assert (np.diff(table["purity"]) <= 0).all() and (np.diff(table["mean_ball_size"]) >= 0).all()
    assert table["coverage"].iloc[-1] == 1.0  # δ = 2 covers the whole sphere
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        delta = pc.choose_delta(X, 2, random_state=0, deltas=table["delta"].to_numpy())
    row = table.index[table["delta"] == delta][0]
    assert table["purity"][row] >= 0.95 and table["purity"][row + 1] < 0.95


def test_gradient_embedding_is_residual_times_features() -> None:
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    h = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    g = badge_mod.gradient_embeddings(proba, h)
    assert g[0] == pytest.approx(np.concatenate([-0.3 * h[0], 0.3 * h[0]]))
    assert g[1] == pytest.approx(np.concatenate([0.2 * h[1], -0.2 * h[1]]))


def test_badge_prefers_uncertain_diverse_points_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    emb = np.abs(rng.normal(size=(60, 6)))
    emb[:5] = 3 * np.eye(6)[:5]  # five uncertain images, in different directions
    p1 = np.where(np.arange(60) < 5, 0.5, 0.9999)
    clf = learner(FakeCNN(proba=np.column_stack([1 - p1, p1]), emb=emb), [])
    idx, scores = st.badge(clf, ids(60), n_instances=6, random_state=0)
    assert_contract(idx, scores, 6, 60)
    assert set(range(5)) <= set(idx.tolist())
    assert np.array_equal(st.badge(clf, ids(60), n_instances=6, random_state=0)[0], idx)
    # Only 5 non-zero gradients (the rest confident to 1.0): picks stay distinct.
    p1 = np.where(np.arange(60) < 5, 0.5, 1.0)
    clf = learner(FakeCNN(proba=np.column_stack([1 - p1, p1]), emb=emb), [])
    idx, _ = st.badge(clf, ids(60), n_instances=20, random_state=1)
    assert len(np.unique(idx)) == 20 and set(range(5)) <= set(idx.tolist())


def test_coreset_batch_is_sorted_by_distance() -> None:
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(50, 4))
    idx, scores = st.coreset(learner(FakeCNN(emb=emb), [45, 46]), ids(45), n_instances=10)
    assert_contract(idx, scores, 10, 45)
    assert scores[0] == pytest.approx(
        np.linalg.norm(emb[:45, None] - emb[45:47], axis=2).min(1).max()
    )


def test_registry_matches_config_and_every_strategy_is_deterministic() -> None:
    assert tuple(st.REGISTRY) == STRATEGIES
    rng = np.random.default_rng(6)
    emb = rng.normal(size=(80, 6))
    p1 = rng.uniform(size=80)
    cnn = FakeCNN(
        proba=np.column_stack([1 - p1, p1]), emb=emb, mc=rng.dirichlet([1, 1], size=(5, 80))
    )
    clf = learner(cnn, [70, 71, 72])
    for name, fn in st.REGISTRY.items():
        kw = {"mc_samples": 5} if name == "bald" else {}
        a = fn(clf, ids(70), n_instances=12, random_state=11, **kw)
        b = fn(clf, ids(70), n_instances=12, random_state=11, **kw)
        assert_contract(*a, 12, 70)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), name

"""Class-balance conditions: seed-paired subsampling, balanced_margin's rule, the head's loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from foxdog.active.pools import condition_pool, kept_rare, subsample_indices
from foxdog.active.strategies import balanced_margin, class_quotas
from foxdog.data.arrays import Split
from foxdog.registry import Condition


def test_subsample_keeps_every_other_image_and_the_share_paired_by_seed() -> None:
    labels = np.array([0] * 90 + [1] * 40)
    kept = subsample_indices(labels, 1, 0.10, seed=3)
    assert np.array_equal(kept, np.sort(kept))
    assert (labels[kept] == 0).sum() == 90
    assert (labels[kept] == 1).sum() == 10  # 10 / 100 = 0.10
    assert np.array_equal(kept, subsample_indices(labels, 1, 0.10, seed=3))  # same for a seed
    assert not np.array_equal(kept, subsample_indices(labels, 1, 0.10, seed=4))
    with pytest.raises(ValueError, match="choose shares below it"):
        kept_rare(5, 90, 0.5)


def test_condition_pool_is_the_pool_at_the_natural_balance() -> None:
    pool = Split(images=np.zeros((6, 2)), labels=np.array([0, 0, 0, 0, 1, 1]), ids=np.arange(6))
    assert condition_pool(pool, Condition("imagenet", "imagenet", None, None), 1, 0) is pool
    sub = condition_pool(pool, Condition("imagenet-fox20", "imagenet", "fox", 0.2), 1, 0)
    assert list(sub.labels) == [0, 0, 0, 0, 1] and len(sub.ids) == 5


class _Fixed:
    """A classifier whose probabilities are given."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.proba[np.asarray(X, dtype=int).ravel()]


@pytest.mark.parametrize("seed", range(20))
def test_balanced_margin_maximises_uncertainty_subject_to_the_quotas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_pool, n_classes = 9, int(rng.integers(2, 4))
    proba = rng.dirichlet(np.full(n_classes, 0.5), n_pool)
    proba[:, 0] += rng.random() * (rng.random() < 0.5)  # sometimes one class dominates
    proba /= proba.sum(axis=1, keepdims=True)
    n = int(rng.integers(1, 6))
    idx, scores = balanced_margin(_Fixed(proba), np.arange(n_pool)[:, None], n)
    top2 = np.sort(proba, axis=1)[:, -2:]
    utility = -(top2[:, 1] - top2[:, 0])
    predicted = proba.argmax(axis=1)
    quotas = class_quotas(predicted, n_classes, n)
    # Brute force: of all n-subsets giving each predicted class at least its quota, the
    # chosen one has the largest total uncertainty.
    feasible = [
        s
        for s in itertools.combinations(range(n_pool), n)
        if all((predicted[list(s)] == c).sum() >= q for c, q in enumerate(quotas))
    ]
    best = max(utility[list(s)].sum() for s in feasible)
    assert len(set(idx)) == n
    assert utility[idx].sum() == pytest.approx(best)
    assert np.allclose(scores, utility[idx]) and list(scores) == sorted(scores, reverse=True)


def test_class_quotas_split_the_batch_evenly_rarest_class_first() -> None:
    predicted = np.array([0] * 8 + [1] * 3)
    assert class_quotas(predicted, 2, 5).tolist() == [2, 3]
    assert class_quotas(predicted, 2, 10).tolist() == [5, 3]  # capped by the candidates
    assert class_quotas(np.zeros(4, dtype=int), 2, 3).tolist() == [3, 0]


def test_typiclust_projects_wide_embeddings_only_and_keeps_their_geometry() -> None:
    from foxdog.active.typiclust import PROJECTED_DIM, project

    rng = np.random.default_rng(0)
    narrow = rng.standard_normal((30, 16))
    assert np.allclose(project(narrow), narrow / np.linalg.norm(narrow, axis=1, keepdims=True))
    # Two well-separated groups of 1280-d points stay separated after the projection.
    centres = rng.standard_normal((2, 1280))
    wide = np.repeat(centres, 20, axis=0) + 0.1 * rng.standard_normal((40, 1280))
    z = project(wide)
    assert z.shape == (40, PROJECTED_DIM) and np.array_equal(z, project(wide))
    d = np.linalg.norm(z[:, None] - z[None], axis=2)
    assert d[:20, :20].max() < d[:20, 20:].min()


def test_the_head_runs_a_subsampled_condition_through_the_loop_paired_by_seed(tmp_path) -> None:
    from functools import partial

    from foxdog.active.loop import run_specs
    from foxdog.active.protocol import ROUND_COLUMNS, RunSpec
    from foxdog.model.head import FeatureHeadClassifier

    rng = np.random.default_rng(0)

    def split(n: int, share: float) -> Split:
        labels = (rng.random(n) < share).astype(np.int64)
        x = rng.standard_normal((n, 8)).astype(np.float32) + 2.0 * labels[:, None]
        return Split(images=x, labels=labels, ids=np.array([f"i{k}" for k in range(n)]))

    pool, test = split(120, 0.4), split(40, 0.5)
    cond = Condition("feat-b10", "imagenet", "b", 0.1)
    runs = {}
    for strategy in ("random", "balanced_margin"):
        specs = [RunSpec(strategy, seed, 6, 4, 3) for seed in (0, 1)]
        rounds, queries = run_specs(
            specs,
            lambda seed: FeatureHeadClassifier(steps=20, class_weight="balanced", seed=seed),
            pool,
            test,
            tmp_path / strategy,
            progress=False,
            start="imagenet",
            condition=cond.name,
            rare_class="b",
            rare_label=1,
            pool_for=partial(condition_pool, pool, cond, 1),
        )
        runs[strategy] = (rounds, queries)
        assert list(rounds.columns) == list(ROUND_COLUMNS)
        assert set(rounds["condition"]) == {"feat-b10"} and set(rounds["rare_class"]) == {"b"}
        for seed in (0, 1):
            kept = condition_pool(pool, cond, 1, seed)
            assert set(rounds.loc[rounds.seed == seed, "pool_share"]) == {
                round(float(np.mean(kept.labels == 1)), 6)
            }
            assert set(queries.loc[queries.seed == seed, "id"]) <= set(kept.ids)
        # Round 0: the stratified initial set holds at least one rare image.
        assert (rounds.loc[rounds["round"] == 0, "n_rare"] >= 1).all()
        assert rounds.groupby("seed")["n_rare"].apply(lambda s: s.is_monotonic_increasing).all()
    # Paired: both strategies of a seed start from the same labelled set and pool.
    r0 = {s: runs[s][0].query("round == 0").reset_index(drop=True) for s in runs}
    assert r0["random"][["seed", "n_rare", "pool_share"]].equals(
        r0["balanced_margin"][["seed", "n_rare", "pool_share"]]
    )

"""The frozen-feature head: scikit-learn contract, determinism, padding, class weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from foxdog.model.head import FeatureHeadClassifier, bucket


def blobs(n: int, share: float = 0.5, seed: int = 0, d: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian classes; ``share`` of the rows are class 1."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < share).astype(int)
    centre = np.zeros(d)
    centre[:4] = 1.2
    X = rng.normal(size=(n, d)) + y[:, None] * centre
    return X.astype(np.float32), y


def test_bucket_is_the_next_power_of_two_from_64() -> None:
    assert [bucket(n) for n in (1, 64, 65, 1000, 1024, 1025)] == [64, 64, 128, 1024, 1024, 2048]


def test_matches_logistic_regression_and_is_deterministic() -> None:
    X, y = blobs(600)
    Xt, yt = blobs(2000, seed=1)
    head = FeatureHeadClassifier(steps=200, class_weight=None).fit(X, y)
    ref = LogisticRegression(max_iter=1000).fit(X, y)
    acc, ref_acc = head.score(Xt, yt), ref.score(Xt, yt)
    assert acc > 0.85 and abs(acc - ref_acc) < 0.02, (acc, ref_acc)
    assert np.mean(head.predict(Xt) == ref.predict(Xt)) > 0.95
    again = clone(head).fit(X, y)
    np.testing.assert_array_equal(head.predict_proba(Xt), again.predict_proba(Xt))
    proba = head.predict_proba(Xt)
    assert proba.shape == (2000, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)


def test_clone_keeps_hyper_parameters_only() -> None:
    head = FeatureHeadClassifier(hidden=16, steps=30, class_weight="balanced", seed=3)
    head.fit(*blobs(100))
    copy = clone(head)
    assert copy.get_params() == head.get_params()
    assert not hasattr(copy, "params_") and hasattr(head, "params_")


def test_hidden_layer_seed_changes_the_fit_but_padding_does_not_change_a_prediction() -> None:
    X, y = blobs(200)
    a = FeatureHeadClassifier(hidden=8, steps=50, seed=0).fit(X, y)
    b = FeatureHeadClassifier(hidden=8, steps=50, seed=1).fit(X, y)
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))
    # 200 rows go out padded to 256; 5 of them padded to 64: same numbers.
    np.testing.assert_allclose(a.predict_proba(X[:5]), a.predict_proba(X)[:5], rtol=1e-5)


def test_columns_follow_the_given_classes_even_when_the_order_is_not_sorted() -> None:
    X, y = blobs(300)
    names = np.array(["fox", "dog"])[y]  # class 1 -> "dog"
    head = FeatureHeadClassifier(classes=("fox", "dog"), steps=100).fit(X, names)
    assert head.classes_.tolist() == ["fox", "dog"]
    assert np.mean(head.predict(X) == names) > 0.85
    dog_rows = names == "dog"
    assert head.predict_proba(X)[dog_rows, 1].mean() > 0.5


def test_balanced_class_weight_finds_more_of_a_rare_class() -> None:
    X, y = blobs(500, share=0.05)
    Xt, yt = blobs(4000, share=0.05, seed=2)
    plain = FeatureHeadClassifier(steps=200, class_weight=None).fit(X, y)
    weighted = FeatureHeadClassifier(steps=200, class_weight="balanced").fit(X, y)
    recall = [np.mean(m.predict(Xt)[yt == 1] == 1) for m in (plain, weighted)]
    assert recall[1] > recall[0] + 0.1, recall


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.full((4, 3), np.nan), [0, 1, 0, 1], "NaN or infinity"),
        (np.ones((4, 3)), [0, 1, 0], "1-D with 4 labels"),
        (np.ones((4, 3)), [0, 1, 2, 1], "label 2, not one of"),
        (np.ones((4, 3)), [1, 1, 1, 1], "at least two classes"),
        (np.ones(4), [0, 1, 0, 1], "shape \\(N, D\\)"),
    ],
)
def test_bad_input_is_refused_in_one_line(X, y, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureHeadClassifier().fit(X, y)

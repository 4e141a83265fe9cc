"""The labelling app's head and background trainer (foxdog/label/trainer.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from foxdog.config import LABEL_STRATEGIES
from foxdog.label.trainer import FeatureHead, Model, Trainer, fit_model


def _features(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 8)) + y[:, None] * 1.5
    return X.astype(np.float32), y


def test_head_has_a_column_for_every_class_even_unlabelled_ones() -> None:
    X, y = _features()
    keep = y < 2
    head = FeatureHead(n_classes=3).fit(X[keep], y[keep])
    proba = head.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1)
    assert (proba[:, 2] == 0).all()
    assert (head.predict(X[keep]) == y[keep]).mean() > 0.8


@pytest.mark.parametrize("strategy", LABEL_STRATEGIES)
def test_every_offered_strategy_ranks_unlabelled_photos(strategy: str) -> None:
    X, y = _features()
    labels = {i: int(y[i]) for i in range(12)}
    candidates = np.arange(12, len(X))
    model = fit_model(X, labels, candidates, strategy, 20, 3, 1.0, version=4)
    assert model is not None and model.version == 4 and model.n_labels == 12
    assert len(model.ranking) == 20 and len(set(model.ranking.tolist())) == 20
    assert set(model.ranking.tolist()) <= set(candidates.tolist())


def test_no_model_from_one_class() -> None:
    X, _ = _features()
    assert fit_model(X, {0: 1, 3: 1}, np.arange(5, 9), "margin", 2, 3, 1.0, 1) is None


def test_trainer_fits_every_request_in_order_and_reads_churn_by_labels() -> None:
    gate = threading.Event()
    proba = np.eye(2)[[0, 1, 0, 1]]

    def fit(labels, candidates, strategy, version):
        gate.wait(10)  # hold the first fit so the others queue behind it
        flipped = proba if version < 3 else proba[:, ::-1]
        return Model(version, len(labels), flipped, candidates, strategy)

    trainer = Trainer(fit, first_version=1)
    for n in (10, 20, 30, 40):
        trainer.submit({i: 0 for i in range(n)}, np.arange(3), "margin")
    assert trainer.busy and trainer.latest is None
    gate.set()
    trainer.wait()
    assert [m.n_labels for m in trainer.history] == [10, 20, 30, 40]
    assert trainer.latest.version == 4 and not trainer.busy
    unlabelled = np.arange(4)
    assert trainer.churn(10, unlabelled) == (1.0, 4)  # 40 vs 30: both flipped
    kappa, n = trainer.churn(20, unlabelled)  # 40 vs 20: every prediction changed
    assert kappa < 0 and n == 4
    assert trainer.churn(40, unlabelled) is None
    trainer.close()

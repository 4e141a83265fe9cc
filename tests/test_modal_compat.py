"""modAL works with today's numpy / scikit-learn / pandas once the shim is applied."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import foxdog.active  # noqa: F401  (applies the shim)
from foxdog.active import modal_compat


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_active_learner_and_committee_round_trip() -> None:
    from modAL.disagreement import consensus_entropy_sampling
    from modAL.models import ActiveLearner, Committee
    from modAL.uncertainty import margin_sampling

    X, y = _data()
    learner = ActiveLearner(
        LogisticRegression(), margin_sampling, X_training=X[:6], y_training=y[:6]
    )
    idx, _, scores = learner.query(X[6:], n_instances=4, return_metrics=True)
    assert len(set(idx.tolist())) == 4 and scores.shape == (4,)
    learner.teach(X[6:][idx], y[6:][idx])  # check_X_y(force_all_finite=...) must not raise
    assert learner.X_training.shape == (10, 3)
    members = [
        ActiveLearner(LogisticRegression(C=c), X_training=X[:6], y_training=y[:6]) for c in (0.1, 1)
    ]
    committee = Committee(members, query_strategy=consensus_entropy_sampling)
    idx, _ = committee.query(X[6:], n_instances=3)
    committee.teach(X[6:][idx], y[6:][idx])
    assert all(m.X_training.shape == (9, 3) for m in committee)


def test_expected_error_module_imports() -> None:
    import modAL.expected_error  # uses np.float in annotations

    assert callable(modAL.expected_error.expected_error_reduction)


def test_data_vstack_handles_dataframes() -> None:
    from modAL.models import learners
    from modAL.utils.data import data_vstack

    a, b = pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]})
    for fn in (data_vstack, learners.data_vstack):
        assert fn([a, b])["x"].tolist() == [1, 2, 3]
    assert modal_compat.data_vstack([np.zeros((1, 2)), np.ones((2, 2))]).shape == (3, 2)


def test_apply_is_idempotent() -> None:
    from modAL.models import learners

    before = learners.check_X_y
    modal_compat.apply()
    assert learners.check_X_y is before


def test_unpatched_modal_is_still_broken() -> None:
    """If this fails, modAL fixed itself: delete foxdog/active/modal_compat.py."""
    code = (
        "import numpy as np\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from modAL.models import ActiveLearner\n"
        "X = np.random.rand(10, 2); y = np.arange(10) % 2\n"
        "ActiveLearner(LogisticRegression(), X_training=X, y_training=y).teach(X[:2], y[:2])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode == 0:
        pytest.fail("modAL now works without foxdog.active.modal_compat; remove the shim")
    assert "force_all_finite" in proc.stderr

"""Live estimate, curve and stop signal (foxdog/label/estimate.py), and the picks' mix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import binom

from foxdog.config import LabelConfig
from foxdog.label.estimate import curve, estimate_at, kappa, stop_signal, wilson
from foxdog.label.log import Answer, Pick
from foxdog.label.picks import next_batch
from foxdog.label.trainer import Model

CFG = LabelConfig(batch_size=10, estimate_window=20, min_random=5, stop_batches=2)


def test_wilson_matches_known_values_and_covers() -> None:
    low, high = wilson(0, 10, 0.95)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(8, 10, 0.95)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    # Exact coverage over accuracies 0.5..0.95 at n = 40: 95% on average, never below 92%.
    coverage = []
    for p in np.linspace(0.5, 0.95, 46):
        covered = [lo <= p <= hi for lo, hi in (wilson(k, 40, 0.95) for k in range(41))]
        coverage.append(binom.pmf(np.arange(41), 40, p)[covered].sum())
    assert np.mean(coverage) == pytest.approx(0.95, abs=0.005) and min(coverage) > 0.92


def _answers(outcomes: list[bool | None]) -> list[Answer]:
    """Every 5th answer a random check (right / wrong); the others strategy picks."""
    answers = []
    for i, right in enumerate(outcomes):
        random = right is not None
        pick = Pick(i, random, predicted="fox" if random else None, model=1)
        answers.append(Answer(i + 1, pick, "fox" if right in (True, None) else "dog", i))
    return answers


def test_only_random_checks_with_a_prior_prediction_count() -> None:
    outcomes = [True if i % 5 == 0 else None for i in range(50)]
    outcomes[5] = False
    answers = _answers(outcomes)
    unsure = Answer(99, Pick(99, True, predicted="fox"), None, 50)
    cold = Answer(100, Pick(100, True), "fox", 50)  # drawn before any model: no prediction
    est = estimate_at([*answers, unsure, cold], 60, CFG)
    assert (est.n, est.correct) == (10, 9)
    assert estimate_at(answers, 1, CFG).n == 1  # only what was known at 1 label
    points = curve(answers, CFG)
    assert [p.labels for p in points] == [10, 20, 30, 40, 50]
    assert [p.n for p in points] == [2, 4, 6, 8, 10]


def test_stop_signal_needs_a_flat_estimate_and_settled_predictions() -> None:
    flat = curve(_answers([True if i % 5 == 0 else None for i in range(60)]), CFG)
    early = stop_signal(flat[:1], flat[0], None, CFG)
    assert not early.stop and "needs 5 random checks, it has 2" in early.text
    assert not stop_signal(flat, flat[-1], (0.95, 500), CFG).stop
    waiting = stop_signal(flat, flat[-1], None, CFG)
    assert not waiting.stop and "once a model 20 labels older exists" in waiting.text
    done = stop_signal(flat, flat[-1], (0.995, 500), CFG)
    assert done.stop and done.text.startswith("You can stop") and "500 unlabelled" in done.text
    rising = [True if i % 5 == 0 else None for i in range(60)]
    for i in range(0, 30, 5):
        rising[i] = False
    points = curve(_answers(rising), CFG)
    signal = stop_signal(points, points[-1], (1.0, 500), CFG)
    assert not signal.stop and signal.gain > 0 and "more than its" in signal.text


def test_kappa_of_identical_and_opposite_predictions() -> None:
    a = np.array([0, 1, 0, 1, 1])
    assert kappa(a, a) == 1.0 and kappa(a, 1 - a) < 0
    assert kappa(np.zeros(4), np.zeros(4)) == 1.0


def test_batches_mix_random_checks_with_the_ranking_and_record_predictions() -> None:
    n = 100
    proba = np.tile([0.3, 0.7], (n, 1))
    model = Model(3, 20, proba, np.arange(n - 1, -1, -1), "margin")
    cfg = dataclasses.replace(CFG, random_share=0.2)
    available = np.arange(0, n, 2)
    batch = next_batch(model, available, ("fox", "dog"), cfg, batch_number=4)
    assert len(batch) == 10 and len({p.id for p in batch}) == 10
    assert set(p.id for p in batch) <= set(available.tolist())
    randoms = [p for p in batch if p.random]
    assert len(randoms) == 2
    assert all(p.predicted == "dog" and p.confidence == 0.7 and p.model == 3 for p in randoms)
    ranked = [p.id for p in batch if not p.random]
    assert sorted(ranked, reverse=True) == [i for i in range(98, -1, -2) if i in ranked][:8]
    assert next_batch(model, available, ("fox", "dog"), cfg, 4) == batch  # deterministic
    cold = next_batch(None, available, ("fox", "dog"), cfg, 0)
    assert len(cold) == 10 and all(p.predicted is None for p in cold)

"""The live accuracy estimate, its curve against labels, and the stop signal in words.

Only *random* picks count: photos drawn uniformly from those not yet asked,
whose prediction the log holds from before their label. Agreement between that
prediction and the label is then an unbiased, prequential ("test, then train")
estimate of the accuracy of the model's predictions on the photos still
unlabelled. The estimate pools the most recent ``label.estimate_window`` random
answers (older ones describe older, usually weaker models: the pooled estimate
lags a rising curve, it never runs ahead of it) and carries a Wilson score
interval at ``label.confidence``. "Unsure" answers are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import cohen_kappa_score

from foxdog.analysis.stats import wilson
from foxdog.config import LabelConfig
from foxdog.label.log import Answer


@dataclass(frozen=True)
class Estimate:
    """Agreement of predictions with labels on ``n`` random picks, and its interval."""

    n: int
    correct: int
    accuracy: float
    low: float
    high: float
    labels: int  # labels given when it was computed

    def to_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "low": self.low,
            "high": self.high,
            "labels": self.labels,
        }


def scored(answers: Sequence[Answer]) -> list[Answer]:
    """The answers that count: random picks with a recorded prediction and a real label."""
    return [a for a in answers if a.pick.random and a.pick.predicted and a.label is not None]


def estimate_at(answers: Sequence[Answer], n_labels: int, cfg: LabelConfig) -> Estimate | None:
    """The estimate as it stood when ``n_labels`` labels had been given (None: no data yet)."""
    pool = [a for a in scored(answers) if a.n_before < n_labels][-cfg.estimate_window :]
    if not pool:
        return None
    correct = sum(a.pick.predicted == a.label for a in pool)
    low, high = wilson(correct, len(pool), cfg.confidence)
    return Estimate(len(pool), correct, correct / len(pool), low, high, n_labels)


def curve(answers: Sequence[Answer], cfg: LabelConfig) -> list[Estimate]:
    """The estimate after every ``label.batch_size`` labels, where there is one."""
    n_labels = sum(a.label is not None for a in answers)
    marks = range(cfg.batch_size, n_labels + 1, cfg.batch_size)
    points = [estimate_at(answers, n, cfg) for n in marks]
    return [p for p in points if p is not None]


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa between two predicted-class vectors; 1.0 when they are identical."""
    if len(a) == 0 or np.array_equal(a, b):
        return 1.0
    value = cohen_kappa_score(a, b)
    return 0.0 if np.isnan(value) else float(value)


@dataclass(frozen=True)
class StopSignal:
    """Whether labelling more is likely to pay, in words, with the numbers behind it."""

    stop: bool
    text: str
    gain: float | None = None
    kappa: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"stop": self.stop, "text": self.text, "gain": self.gain, "kappa": self.kappa}


def stop_signal(
    points: Sequence[Estimate],
    now: Estimate | None,
    churn: tuple[float, int] | None,
    cfg: LabelConfig,
) -> StopSignal:
    """Stop once the estimate has stopped rising and the predictions have settled.

    Both must hold: the estimate's gain over the last ``label.stop_batches``
    batches is within its own interval's half-width (more labels no longer move
    it by more than its uncertainty), and the predictions on the unlabelled
    photos of the latest model agree with those of the model ``stop_batches``
    batches earlier at kappa >= ``label.stop_kappa`` (Bloodgood & Vijay-Shanker
    2009). ``churn`` is (that kappa, photos compared) or None before there are
    two such models. ``now`` is the estimate at the current label count,
    ``points`` its history (:func:`curve`).
    """
    if now is None or now.n < cfg.min_random:
        have = 0 if now is None else now.n
        return StopSignal(
            False,
            f"Keep labelling: the estimate needs {cfg.min_random} random checks, "
            f"it has {have} (about 1 photo in {round(1 / max(cfg.random_share, 1e-9))} is one).",
        )
    half = (now.high - now.low) / 2
    back_labels = cfg.stop_batches * cfg.batch_size
    back = now.labels - cfg.stop_batches * cfg.batch_size
    before = next((p for p in reversed(points) if p.labels <= back), None)
    estimate_text = (
        f"the estimate is {now.accuracy:.0%} ({now.low:.0%}–{now.high:.0%}, "
        f"{now.correct} of {now.n} random checks right)"
    )
    if before is None:
        return StopSignal(
            False,
            f"Keep labelling: {estimate_text}; its trend shows after "
            f"{cfg.stop_batches} more batches of {cfg.batch_size}.",
        )
    gain = now.accuracy - before.accuracy
    flat = gain <= half
    gain_text = (
        f"over the last {now.labels - before.labels} labels it moved {gain * 100:+.1f} points "
        f"({'within' if flat else 'more than'} its ±{half * 100:.1f})"
    )
    if churn is None:
        wait = f"prediction churn shows once a model {back_labels} labels older exists"
        return StopSignal(False, f"Keep labelling: {estimate_text}; {gain_text}; {wait}.", gain)
    k, n = churn
    settled = k >= cfg.stop_kappa
    churn_text = (
        f"predictions on {n:,} unlabelled photos {'have' if settled else 'have not'} settled "
        f"(kappa {k:.3f} vs {cfg.stop_kappa} with the model of {back_labels} labels earlier)"
    )
    if flat and settled:
        return StopSignal(
            True, f"You can stop: {estimate_text}; {gain_text}; {churn_text}.", gain, k
        )
    return StopSignal(
        False, f"Keep labelling: {estimate_text}; {gain_text}; {churn_text}.", gain, k
    )

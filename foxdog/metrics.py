"""Classification metrics shared by the baseline and the active-learning loop."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    log_loss,
)

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "ece")


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> float:
    """Confidence-binned ECE (Guo et al. 2017): bin-size-weighted |accuracy - confidence|."""
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_true)
    # Right-closed bins so that confidence 1.0 falls in the last bin.
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Test-set metrics from class probabilities (N, n_classes); labels are 0 .. n_classes - 1.

    Macro-F1 and balanced accuracy weigh every class alike, so a majority class
    cannot carry them; with two classes macro-F1 is the mean of both classes' F1.
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2 or len(proba) != len(y_true):
        raise ValueError(
            f"proba must have shape ({len(y_true)}, n_classes >= 2), got {proba.shape}"
        )
    labels = np.arange(proba.shape[1])
    pred = proba.argmax(axis=1)
    # Clipped away from 0 for the log, then rows renormalised (log_loss wants sums of 1).
    clipped = np.clip(proba, 1e-7, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    return {
        "accuracy": float(accuracy_score(y_true, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, pred)),
        "macro_f1": float(
            f1_score(y_true, pred, labels=labels, average="macro", zero_division=0.0)
        ),
        "log_loss": float(log_loss(y_true, clipped, labels=labels)),
        "ece": expected_calibration_error(y_true, proba),
    }


def agreement_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa between two sets of predicted classes (1.0 when identical)."""
    a, b = np.asarray(a), np.asarray(b)
    if np.array_equal(a, b):
        return 1.0  # scikit-learn returns NaN when both raters use a single class
    return float(cohen_kappa_score(a, b))

"""The tiny CNN the active-learning tests train: a few steps on 12-px images, in seconds."""

from __future__ import annotations

from foxdog.model.estimator import FlaxCNNClassifier

# epochs 0: exactly ``steps`` steps; no flip TTA (params.yaml's defaults are 40 / true).
TINY = dict(
    widths=(4, 8),
    dense=8,
    batch_size=16,
    steps=6,
    epochs=0.0,
    warmup_steps=1,
    max_shift=1,
    tta_flip=False,
)


def tiny_cnn(seed: int, **kw: object) -> FlaxCNNClassifier:
    """The tiny CNN with ``seed``; module-level, so spawned worker processes can unpickle it."""
    return FlaxCNNClassifier(**{**TINY, **kw}, seed=seed)

"""Choose the next batch of photos: the strategy's most wanted, with random checks mixed in.

A batch of ``label.batch_size`` photos holds ``round(batch_size *
label.random_share)`` photos drawn uniformly at random from those that may
still be asked, at random positions and not marked to the labeller: their
predictions, recorded in the batch event before any label exists, feed the
live estimate (:mod:`foxdog.label.estimate`). The rest come from the latest
model's ranking (:mod:`foxdog.label.trainer`), skipping photos answered or
queued since it was made; without a model yet (fewer than two classes
labelled), they are drawn at random too.
"""

from __future__ import annotations

import numpy as np

from foxdog.config import LabelConfig
from foxdog.label.log import Pick
from foxdog.label.trainer import Model


def next_batch(
    model: Model | None,
    available: np.ndarray,
    classes: tuple[str, ...],
    cfg: LabelConfig,
    batch_number: int,
) -> list[Pick]:
    """Picks for batch ``batch_number`` among photo ids ``available`` (sorted, unique).

    Deterministic given its inputs: the generator is seeded by ``label.seed``
    and the batch number.
    """
    rng = np.random.default_rng([cfg.seed, batch_number])
    n = min(cfg.batch_size, len(available))
    if n == 0:
        return []
    n_random = min(n, round(n * cfg.random_share))
    version = None if model is None else model.version
    randoms = rng.choice(available, size=n_random, replace=False) if n_random else []
    picks = []
    for photo in randoms:
        pick = Pick(id=int(photo), random=True, model=version)
        if model is not None:
            proba = model.proba[int(photo)]
            pick.predicted = classes[int(proba.argmax())]
            pick.confidence = round(float(proba.max()), 4)
        picks.append(pick)
    taken = {p.id for p in picks}
    allowed = set(available.tolist()) - taken
    if model is not None:
        for photo in model.ranking.tolist():
            if len(picks) == n:
                break
            if photo in allowed:
                picks.append(Pick(id=int(photo), random=False, model=version))
                allowed.discard(photo)
    if len(picks) < n:
        # No model yet, or its ranking is used up: fill uniformly.
        rest = np.array(sorted(allowed), dtype=np.int64)
        fill = rng.choice(rest, size=n - len(picks), replace=False)
        picks += [Pick(id=int(photo), random=False, model=version) for photo in fill]
    order = rng.permutation(len(picks))
    return [picks[i] for i in order]

"""The active-learning protocol: what a run is (RunSpec), its initial set, its oracle.

Protocol (Beck et al. 2021; Munjal et al. 2022; Lüth et al. 2023):

* For a seed, every strategy starts from the same initial labelled set
  (``initial="random"``: stratified random; ``"typiclust"``: TypiClust's
  cold-start pick on the start's own label-free embedding, ``pretrained_embed``:
  the frozen features, or the CNN start's pretrained encoder as loaded, SimCLR's
  for scratch) and the same initial network weights (the CNN is retrained from its
  seed every round, so "same weights" holds every round, not just the first).
* The oracle answers from the ground truth, flipping a label with probability
  ``label_noise``. Which images get flipped is fixed per (seed, image), so all
  strategies face the same annotator.
* Each round: the strategy picks ``query_size`` unlabelled pool images, the
  oracle labels them, the model is retrained on all labels so far and evaluated
  on the test split; its predicted classes on the validation split (the stop
  set, never queried: it is a separate split) give ``kappa_stop``.

The rounds themselves are :mod:`foxdog.active.loop`; saved states :mod:`foxdog.active.state`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from foxdog.active.strategies import COMMITTEE_STRATEGIES, get_strategy
from foxdog.config import ActiveConfig, Params, Protocol
from foxdog.metrics import METRICS
from foxdog.registry import FEATURE_STARTS

ROUND_KEYS = (
    "round",
    "n_labels",
    *METRICS,
    "n_rare",  # rare-class images labelled so far (true labels, initial set included)
    "rare_recall",  # test recall of the rare class
    "val_accuracy",
    "noisy_labels",
    "kappa_stop",
    "fit_seconds",
    "query_seconds",
)


# ``predicted``/``confidence``: the querying model's most probable class and its probability.
QUERY_KEYS = (
    "round",
    "rank",
    "id",
    "score",
    "predicted",
    "confidence",
    "true_label",
    "oracle_label",
)


@dataclass(frozen=True)
class RunSpec:
    """What one run (strategy x seed) does; everything that changes its numbers."""

    strategy: str
    seed: int
    initial_size: int
    query_size: int
    rounds: int
    label_noise: float = 0.0
    committee_size: int = 3
    mc_samples: int = 20
    initial: str = "random"

    def identity(self) -> dict[str, Any]:
        """The fields a saved state is keyed by: all but ``rounds``, and only the ones used.

        ``rounds`` is left out because the first k rounds of a longer run are the
        k-round run; ``committee_size``/``mc_samples`` only count for the strategies
        that use them, so changing them does not invalidate the other strategies.
        """
        ident = asdict(self)
        del ident["rounds"]
        if self.strategy not in COMMITTEE_STRATEGIES:
            del ident["committee_size"]
        if "mc_samples" not in inspect.signature(get_strategy(self.strategy)).parameters:
            del ident["mc_samples"]
        return ident

    def tag(self) -> str:
        """Folder name of this protocol's states, e.g. ``n20-q50-noise0-random``."""
        tag = f"n{self.initial_size}-q{self.query_size}-noise{self.label_noise:g}-{self.initial}"
        ident = self.identity()
        if "committee_size" in ident:
            tag += f"-c{self.committee_size}"
        if "mc_samples" in ident:
            tag += f"-mc{self.mc_samples}"
        return tag


EstimatorFactory = Callable[[int], Any]


def initial_indices(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Stratified random initial labelled set; depends on the seed only, not the strategy."""
    rng = np.random.default_rng([seed, 1])
    classes = np.unique(labels)
    if size < len(classes):
        raise ValueError(f"active.initial_size={size} must be >= the {len(classes)} classes")
    # Proportional allocation, at least one image per class.
    share = np.array([np.mean(labels == c) for c in classes])
    counts = np.maximum(1, np.floor(share * size).astype(int))
    while counts.sum() < size:
        counts[np.argmax(share * size - counts)] += 1
    while counts.sum() > size:
        counts[np.argmax(counts)] -= 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), n, replace=False)
        for c, n in zip(classes, counts, strict=True)
    ]
    return rng.permutation(np.concatenate(chosen))


def oracle_labels(labels: np.ndarray, noise: float, seed: int, n_classes: int) -> np.ndarray:
    """The labels a noisy annotator gives for every pool image.

    With probability ``noise`` an image gets a wrong label, drawn uniformly from
    the other ``n_classes - 1`` classes (labels are ``0 .. n_classes - 1``).
    """
    rng = np.random.default_rng([seed, 2])
    wrong = rng.random(len(labels)) < noise
    offset = rng.integers(1, n_classes, len(labels)) if n_classes > 2 else 1
    return np.where(wrong, (labels + offset) % n_classes, labels)


PROTOCOL_COLUMNS = (
    "condition",
    "start",
    "rare_class",  # balance.rare_class at the natural balance too, so discovery compares
    "pool_share",  # the rare class's share of the pool the seed actually ran on
    "strategy",
    "initial_size",
    "query_size",
    "label_noise",
    "seed",
)
ROUND_COLUMNS = (*PROTOCOL_COLUMNS, *ROUND_KEYS, "machine")
QUERY_COLUMNS = (*PROTOCOL_COLUMNS, *QUERY_KEYS)


def estimator_factory(params: Params, start: str) -> EstimatorFactory:
    """Seed -> unfitted classifier of ``start``: the CNN, or for a frozen-feature start the
    head on its features (``params.head``). Picklable, so worker processes can build it."""
    return functools.partial(_estimator, params, start)


def _estimator(params: Params, start: str, seed: int) -> Any:
    n_classes = len(params.data.classes)
    if start in FEATURE_STARTS:
        from foxdog.model.head import FeatureHeadClassifier

        return FeatureHeadClassifier.from_config(params.head, n_classes, seed)
    from foxdog.model.estimator import FlaxCNNClassifier

    return FlaxCNNClassifier.from_config(
        params.model,
        params.train,
        seed=seed,
        pretrain=params.pretrain,
        start=start,
        n_classes=n_classes,
    )


def specs_for(
    active: ActiveConfig | Protocol, strategy: str, extra: ActiveConfig | None = None
) -> list[RunSpec]:
    """One RunSpec per seed of ``active`` (an ActiveConfig, or a start's Protocol whose
    label noise, committee, MC samples and initial-set method come from ``extra``)."""
    extra = extra if extra is not None else active
    return [
        RunSpec(
            strategy=strategy,
            seed=seed,
            initial_size=active.initial_size,
            query_size=active.query_size,
            rounds=active.rounds,
            label_noise=extra.label_noise,
            committee_size=extra.committee_size,
            mc_samples=extra.mc_samples,
            initial=extra.initial,
        )
        for seed in active.seeds
    ]

"""The labelling app's model: a small head on cached features, retrained in the background.

The head is scikit-learn's logistic regression on standardised features,
wrapped so that the project's strategy registry
(:mod:`foxdog.active.strategies`) can drive it like the CNN: ``predict_proba``
with a column for every class, ``embed`` for the diversity strategies,
``X_training`` for ranked batch. Each retrain produces an immutable
:class:`Model`: predictions for every photo and the strategy's ranking of the
photos that were unlabelled. The page reads whichever model finished last;
nothing ever waits for a fit.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from foxdog.active.strategies import get_strategy
from foxdog.label.estimate import kappa

RANKED_BATCHES = 4  # a ranking covers this many batches: the queue refills without a fit


class FeatureHead(ClassifierMixin, BaseEstimator):
    """Logistic regression on standardised features, one probability column per class."""

    def __init__(self, n_classes: int = 2, C: float = 1.0, seed: int = 0):
        self.n_classes = n_classes
        self.C = C
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> FeatureHead:
        """Fit on features ``X`` and class indices ``y`` (at least two distinct)."""
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        self.model_.fit(self.scaler_.transform(X), y)
        self.classes_ = np.arange(self.n_classes)
        self.X_training = X  # what modAL's ranked batch reads as the labelled set
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (N, n_classes); classes never labelled get probability 0."""
        out = np.zeros((len(X), self.n_classes))
        out[:, self.model_.classes_] = self.model_.predict_proba(self.scaler_.transform(X))
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class index per row."""
        return self.predict_proba(X).argmax(axis=1)

    def embed(self, X: np.ndarray) -> np.ndarray:
        """The standardised features: the space the diversity strategies measure in."""
        return self.scaler_.transform(X)


@dataclass(frozen=True)
class Model:
    """One finished retrain: what the page and the picks read."""

    version: int
    n_labels: int
    proba: np.ndarray  # (n_photos, n_classes) for every photo
    ranking: np.ndarray  # photo ids, the strategy's most wanted first (unlabelled at fit time)
    strategy: str

    def predicted(self) -> np.ndarray:
        """Predicted class index per photo."""
        return self.proba.argmax(axis=1)


def fit_model(
    features: np.ndarray,
    labels: dict[int, int],
    candidates: np.ndarray,
    strategy: str,
    n_rank: int,
    n_classes: int,
    C: float,
    version: int,
) -> Model | None:
    """Train the head on ``labels`` ({photo id: class index}) and rank ``candidates``.

    Returns None while the labels hold fewer than two classes (no model can be
    fitted). The strategy is called with modAL's signature on the candidates'
    features; its indices are mapped back to photo ids.
    """
    ids = np.array(sorted(labels), dtype=np.int64)
    y = np.array([labels[i] for i in ids])
    if len(np.unique(y)) < 2:
        return None
    head = FeatureHead(n_classes, C, seed=version).fit(features[ids], y)
    proba = head.predict_proba(features)
    n = min(n_rank, len(candidates))
    if n:
        picked, _ = get_strategy(strategy)(head, features[candidates], n, random_state=version)
        ranking = candidates[np.asarray(picked, dtype=np.int64)]
    else:
        ranking = np.zeros(0, dtype=np.int64)
    return Model(version, len(ids), proba, ranking, strategy)


class Trainer:
    """Retrains in one background thread; :attr:`latest` is the last model that finished.

    Requests are fitted in order, none dropped (one per batch of labels; a fit
    takes a fraction of a second), so :attr:`history` holds a model at every
    batch mark: the prediction churn of the stop signal compares two of them.
    """

    def __init__(
        self,
        fit: Callable[[dict[int, int], np.ndarray, str, int], Model | None],
        first_version: int = 1,
    ):
        self._fit = fit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foxdog-train")
        self._lock = threading.Lock()
        self._waiting: collections.deque[tuple] = collections.deque()
        self._running: Future | None = None
        self._version = first_version - 1
        self.latest: Model | None = None
        self.history: list[Model] = []  # every finished model, oldest first
        self.error: str | None = None

    @property
    def busy(self) -> bool:
        """Whether a fit is running or waiting."""
        with self._lock:
            return self._running is not None

    def submit(self, labels: dict[int, int], candidates: np.ndarray, strategy: str) -> None:
        """Ask for a retrain on ``labels``; returns at once."""
        with self._lock:
            self._version += 1
            self._waiting.append((dict(labels), candidates.copy(), strategy, self._version))
            if self._running is None:
                self._running = self._pool.submit(self._run)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._running = None
                    return
                job = self._waiting.popleft()
            try:
                model = self._fit(*job)
            except Exception as err:  # noqa: BLE001 - the page shows it; labelling goes on
                self.error = f"retraining failed: {type(err).__name__}: {err}"
                continue
            if model is not None:
                self.history.append(model)
                self.latest = model  # one reference swap: readers see old or new, never half

    def wait(self) -> None:
        """Block until no fit is running or waiting (replay mode and tests)."""
        while True:
            with self._lock:
                running = self._running
            if running is None:
                return
            running.result()

    def churn(self, back: int, unlabelled: np.ndarray) -> tuple[float, int] | None:
        """(kappa, photos) between the latest model and the last one ``back`` labels before it.

        None when no model is that old (e.g. in the first batches).
        """
        if not self.history:
            return None
        new = self.history[-1]
        older = [m for m in self.history if m.n_labels <= new.n_labels - back]
        if not older:
            return None
        old = older[-1]
        return kappa(new.predicted()[unlabelled], old.predicted()[unlabelled]), len(unlabelled)

    def close(self) -> None:
        """Stop the thread (a running fit finishes first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

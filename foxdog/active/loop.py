"""The pool-based active-learning experiment for one strategy and one seed.

Protocol (Beck et al. 2021; Munjal et al. 2022; Lüth et al. 2023):

* For a seed, every strategy starts from the same stratified initial labelled
  set and the same initial network weights (the CNN is retrained from its seed
  every round, so "same weights" holds every round, not just the first).
* The oracle answers from the ground truth, flipping a label with probability
  ``label_noise``. Which images get flipped is fixed per (seed, image), so all
  strategies face the same annotator.
* Each round: the strategy picks ``query_size`` unlabelled images, the oracle
  labels them, the model is retrained on all labels so far and evaluated on the
  test split.

The run state is saved atomically after every round; a re-run resumes from the
last completed round and, because every round is a pure function of (seed,
labelled indices), ends with exactly the records of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score
from tqdm.auto import tqdm

from foxdog import io
from foxdog.active import modal_compat
from foxdog.active.strategies import COMMITTEE_STRATEGIES, get_strategy
from foxdog.data.arrays import Split
from foxdog.metrics import classification_metrics

modal_compat.apply()

from modAL.models import ActiveLearner, Committee  # noqa: E402

STATE_VERSION = 1


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


EstimatorFactory = Callable[[int], Any]
"""Builds an unfitted scikit-learn classifier from a seed."""


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


def oracle_labels(labels: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """The labels a noisy annotator gives for every pool image (flip with prob. ``noise``)."""
    rng = np.random.default_rng([seed, 2])
    flip = rng.random(len(labels)) < noise
    return np.where(flip, 1 - labels, labels)


def code_version() -> str:
    """Hash of the code whose behaviour a run's numbers depend on, and its key libraries.

    The same files as the ``al`` stage's DVC dependencies, so a change that makes DVC
    re-run a stage also invalidates its saved states instead of silently resuming them.
    """
    import flax
    import jax
    import optax
    import sklearn

    package = Path(__file__).resolve().parents[1]
    files = sorted([*(package / "model").glob("*.py"), *(package / "active").glob("*.py")])
    digest = hashlib.sha256()
    for path in [*files, package / "metrics.py"]:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for module in (jax, flax, optax, sklearn, np):
        digest.update(f"{module.__name__}=={module.__version__}".encode())
    return digest.hexdigest()


def fingerprint(spec: RunSpec, estimator_params: dict[str, Any], pool: Split, test: Split) -> str:
    """Hash of everything a saved state depends on; a mismatch means start over.

    The protocol, the estimator's hyper-parameters, the data (pixels included: a new
    resolution keeps the ids but changes every number) and :func:`code_version`.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [STATE_VERSION, spec.__dict__, estimator_params, code_version()],
            sort_keys=True,
            default=str,
        ).encode()
    )
    for split in (pool, test):
        for array in (split.ids, split.labels, split.images):
            digest.update(str((array.dtype, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _load_state(path: Path, fp: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # a torn file cannot happen with atomic writes, but never trust it
    return state if state.get("fingerprint") == fp else None


def _pack(pred: np.ndarray) -> str:
    return np.packbits(pred.astype(bool)).tobytes().hex()


def _unpack(text: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(text), dtype=np.uint8))[:n].astype(np.int64)


class Experiment:
    """One strategy x seed run over a pool, resumable from ``state_path``."""

    def __init__(
        self,
        spec: RunSpec,
        make_estimator: EstimatorFactory,
        pool: Split,
        test: Split,
        state_path: Path,
        progress: bool = False,
    ) -> None:
        self.spec = spec
        self.make_estimator = make_estimator
        self.pool = pool
        self.test = test
        self.state_path = state_path
        self.progress = progress
        self.strategy = get_strategy(spec.strategy)
        self.answers = oracle_labels(pool.labels, spec.label_noise, spec.seed)
        params = make_estimator(spec.seed).get_params()
        self.fp = fingerprint(spec, params, pool, test)

    # -- model -------------------------------------------------------------
    def _query_fn(self) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
        if self.spec.strategy == "bald":
            mc = self.spec.mc_samples
            return lambda clf, X, n_instances=1, random_state=None: self.strategy(
                clf, X, n_instances=n_instances, random_state=random_state, mc_samples=mc
            )
        return self.strategy

    def _build_learner(self, labelled: np.ndarray) -> Any:
        X, y = self.pool.images[labelled], self.answers[labelled]
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"seed {self.spec.seed}: the oracle's labels for the initial set have one class; "
                "raise active.initial_size or lower the label noise"
            )
        query = self._query_fn()
        if self.spec.strategy in COMMITTEE_STRATEGIES:
            # Member 0 has the experiment's seed, i.e. the same network as every
            # other strategy's; it is the one evaluated, so the comparison is of
            # labelled sets, not of an ensemble against single models.
            members = [
                ActiveLearner(
                    estimator=self.make_estimator(self.spec.seed + 1000 * k),
                    X_training=X,
                    y_training=y,
                )
                for k in range(self.spec.committee_size)
            ]
            return Committee(learner_list=members, query_strategy=query)
        return ActiveLearner(
            estimator=self.make_estimator(self.spec.seed),
            query_strategy=query,
            X_training=X,
            y_training=y,
        )

    @staticmethod
    def _evaluated_model(learner: Any) -> Any:
        if isinstance(learner, Committee):
            return learner.learner_list[0].estimator
        return learner.estimator

    # -- loop ----------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run (or resume) all rounds; return the final state with ``rounds`` and ``queries``."""
        spec = self.spec
        state = _load_state(self.state_path, self.fp)
        if state is None:
            labelled = initial_indices(self.pool.labels, spec.initial_size, spec.seed)
            t0 = time.perf_counter()
            learner = self._build_learner(labelled)
            fit_seconds = time.perf_counter() - t0
            state = {"fingerprint": self.fp, "spec": spec.__dict__, "rounds": [], "queries": []}
            pool_pred = self._record_round(
                state, learner, labelled, None, [], fit_seconds, float("nan")
            )
        else:
            labelled = np.array(state["labelled"], dtype=np.int64)
            pool_pred = _unpack(state["pool_pred"], len(self.pool))
            learner = None
        done = len(state["rounds"]) - 1
        bar = tqdm(
            total=spec.rounds,
            initial=done,
            desc=f"{spec.strategy} seed {spec.seed}",
            leave=False,
            disable=not self.progress,
        )
        for r in range(done + 1, spec.rounds + 1):
            if learner is None:  # resuming: refit on the saved labels (deterministic)
                learner = self._build_learner(labelled)
            unlabelled = np.setdiff1d(np.arange(len(self.pool)), labelled)
            t0 = time.perf_counter()
            idx, _rows, scores = learner.query(
                self.pool.images[unlabelled],
                return_metrics=True,
                n_instances=min(spec.query_size, len(unlabelled)),
                random_state=int(np.random.default_rng([spec.seed, 3, r]).integers(2**31)),
            )
            query_seconds = time.perf_counter() - t0
            chosen = unlabelled[np.asarray(idx, dtype=np.int64)]
            if len(np.unique(chosen)) != len(chosen):
                raise RuntimeError(f"{spec.strategy}: query returned repeated images")
            p_fox = self._p_fox(learner, chosen)
            queries = [
                {
                    "round": r,
                    "rank": k,
                    "id": str(self.pool.ids[i]),
                    "score": float(s),
                    "p_fox": float(p),
                    "true_label": int(self.pool.labels[i]),
                    "oracle_label": int(self.answers[i]),
                }
                for k, (i, s, p) in enumerate(zip(chosen, np.asarray(scores), p_fox, strict=True))
            ]
            t0 = time.perf_counter()
            learner.teach(self.pool.images[chosen], self.answers[chosen])
            fit_seconds = time.perf_counter() - t0
            labelled = np.concatenate([labelled, chosen])
            pool_pred = self._record_round(
                state, learner, labelled, pool_pred, queries, fit_seconds, query_seconds
            )
            bar.update(1)
        bar.close()
        return state

    def _p_fox(self, learner: Any, chosen: np.ndarray) -> np.ndarray:
        proba = self._evaluated_model(learner).predict_proba(self.pool.images[chosen])
        return proba[:, 1]

    def _record_round(
        self,
        state: dict[str, Any],
        learner: Any,
        labelled: np.ndarray,
        prev_pred: np.ndarray | None,
        queries: list[dict[str, Any]],
        fit_seconds: float,
        query_seconds: float,
    ) -> np.ndarray:
        model = self._evaluated_model(learner)
        metrics = classification_metrics(self.test.labels, model.predict_proba(self.test.images))
        pool_pred = model.predict_proba(self.pool.images).argmax(axis=1)
        unlabelled = np.setdiff1d(np.arange(len(self.pool)), labelled)
        kappa = float("nan")
        if prev_pred is not None and len(unlabelled):
            kappa = _kappa(prev_pred[unlabelled], pool_pred[unlabelled])
        true_added = [q["true_label"] for q in queries]
        record = {
            "round": len(state["rounds"]),
            "n_labels": len(labelled),
            **metrics,
            "fox_fraction_queried": float(np.mean(true_added)) if true_added else float("nan"),
            "noisy_labels": int((self.answers[labelled] != self.pool.labels[labelled]).sum()),
            "kappa_prev": kappa,
            "fit_seconds": fit_seconds,
            "query_seconds": query_seconds,
        }
        state["rounds"].append(record)
        state["queries"].extend(queries)
        state["labelled"] = labelled.tolist()
        state["pool_pred"] = _pack(pool_pred)
        io.write_json(self.state_path, state)
        return pool_pred


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    if np.array_equal(a, b):
        return 1.0  # sklearn returns NaN when both raters use one class
    return float(cohen_kappa_score(a, b))

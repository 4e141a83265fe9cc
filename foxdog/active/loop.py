"""The rounds of pool-based active learning: one run (strategy x seed), then all seeds of a stage.

Each round the strategy queries, the oracle answers, the model is retrained and
evaluated; the protocol is :mod:`foxdog.active.protocol`, the saved state after each
round :mod:`foxdog.active.state`.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from foxdog import io
from foxdog.active import modal_compat, strategies
from foxdog.active.protocol import (
    QUERY_COLUMNS,
    QUERY_KEYS,
    ROUND_COLUMNS,
    ROUND_KEYS,
    EstimatorFactory,
    RunSpec,
    initial_indices,
    oracle_labels,
)
from foxdog.active.state import (
    STATE_KEYS,
    STATE_VERSION,
    StateError,
    dumps_state,
    estimator_identity,
    fingerprint,
    is_int,
    is_number,
    machine_kind,
    pack_predictions,
    state_path,
    unpack_predictions,
)
from foxdog.active.state_check import nonfinite_keys
from foxdog.active.strategies import COMMITTEE_STRATEGIES, get_strategy
from foxdog.data.arrays import Split
from foxdog.metrics import agreement_kappa, classification_metrics
from foxdog.progress import Progress

modal_compat.apply()

from modAL.models import ActiveLearner, Committee  # noqa: E402


class Experiment:
    """One strategy x seed run over a pool, resumable from ``state_path``.

    ``val`` is the validation split, whose images are the stop set (``kappa_stop``)
    and whose labels give ``val_accuracy``; without it both are NaN.
    """

    def __init__(
        self,
        spec: RunSpec,
        make_estimator: EstimatorFactory,
        pool: Split,
        test: Split,
        state_path: Path,
        progress: bool = False,
        *,
        val: Split | None = None,
        rare_label: int = 1,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.rare_label = int(rare_label)
        self.make_estimator = make_estimator
        self.pool = pool
        self.test = test
        self.val = val
        self.state_path = Path(state_path)
        self.progress = progress
        self.strategy = get_strategy(spec.strategy)
        estimator = make_estimator(spec.seed)
        self.n_classes = len(estimator.classes)
        self.answers = oracle_labels(pool.labels, spec.label_noise, spec.seed, self.n_classes)
        # ``context``: what else the numbers depend on (condition, feature files' hash).
        ident = {**estimator_identity(estimator.get_params()), "context": context or {}}
        ident["rare_label"] = self.rare_label
        self.fp = fingerprint(spec, ident, pool, test, val)

    # -- protocol --------------------------------------------------------------
    def n_labels(self, r: int) -> int:
        """Labelled images after round ``r`` (the pool may run out)."""
        return min(self.spec.initial_size + r * self.spec.query_size, len(self.pool))

    @functools.cached_property
    def initial(self) -> np.ndarray:
        """The seed's initial labelled set (pool indices), shared by every strategy."""
        spec = self.spec
        if spec.initial == "random":
            return initial_indices(self.pool.labels, spec.initial_size, spec.seed)
        if spec.initial == "typiclust":
            # The start's own label-free embedding (frozen features, or the CNN's
            # pretrained encoder as loaded: registry.TYPICLUST_METHOD).
            emb = self.make_estimator(spec.seed).pretrained_embed(self.pool.images)
            idx = strategies.typiclust_initial(emb, spec.initial_size, random_state=spec.seed)
            idx = np.asarray(idx, dtype=np.int64)
            if len(idx) != spec.initial_size or len(np.unique(idx)) != len(idx):
                raise RuntimeError(f"typiclust_initial returned {len(idx)} indices, not distinct")
            return idx
        raise ValueError(f"active.initial={spec.initial!r} is not one of random, typiclust")

    # -- model -----------------------------------------------------------------
    def _build_learner(self, labelled: np.ndarray) -> Any:
        X, y = self.pool.images[labelled], self.answers[labelled]
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"seed {self.spec.seed}: the oracle's labels for the initial set have one class; "
                "raise active.initial_size or lower the label noise"
            )
        # modAL's learners keep the labelled set and (re)fit on teach; queries are
        # made by calling the strategy directly (see _query).
        if self.spec.strategy in COMMITTEE_STRATEGIES:
            members = [
                ActiveLearner(
                    estimator=self.make_estimator(self.spec.seed + 1000 * k),
                    X_training=X,
                    y_training=y,
                )
                for k in range(self.spec.committee_size)
            ]
            return Committee(learner_list=members)
        return ActiveLearner(
            estimator=self.make_estimator(self.spec.seed), X_training=X, y_training=y
        )

    @staticmethod
    def _evaluated_model(learner: Any) -> Any:
        # Committee: member 0 has the experiment's seed, i.e. the same network as
        # every other strategy's; it is the one evaluated, so the comparison is of
        # labelled sets, not of an ensemble against single models. The committee's
        # consensus is what queries, so predicted/confidence are the consensus' (_belief).
        if isinstance(learner, Committee):
            return learner.learner_list[0].estimator
        return learner.estimator

    def _query(self, learner: Any, X: np.ndarray, n: int, r: int) -> tuple[np.ndarray, np.ndarray]:
        # Called directly, not through modAL's learner.query, whose bare `except:`
        # would swallow Ctrl-C (KeyboardInterrupt) inside a strategy.
        kwargs: dict[str, Any] = {}
        if "mc_samples" in inspect.signature(self.strategy).parameters:
            kwargs["mc_samples"] = self.spec.mc_samples
        seed = int(np.random.default_rng([self.spec.seed, 3, r]).integers(2**31))
        idx, scores = self.strategy(learner, X, n_instances=n, random_state=seed, **kwargs)
        return np.asarray(idx, dtype=np.int64), np.asarray(scores, dtype=np.float64)

    def _belief(self, learner: Any, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The querying model's belief: for a committee its consensus (mean) probability.
        proba = np.asarray(learner.predict_proba(self.pool.images[chosen]))
        return proba.argmax(axis=1), proba.max(axis=1)

    # -- state -----------------------------------------------------------------
    def check_state(self, state: Any) -> None:
        """Raise :class:`StateError` unless ``state`` is a complete, self-consistent run state."""

        def need(ok: bool, why: str) -> None:
            if not ok:
                raise StateError(why)

        need(isinstance(state, dict), "not a JSON object")
        for key in STATE_KEYS:
            need(key in state, f"missing key {key!r}")
        extra = sorted(set(state) - set(STATE_KEYS))
        need(not extra, f"unexpected key {extra[0]!r}" if extra else "")
        need(state["version"] == STATE_VERSION, f"version {state['version']!r} != {STATE_VERSION}")
        need(state["fingerprint"] == self.fp, "made by other code, data, parameters or machine")
        need(state["spec"] == self.spec.identity(), "'spec' disagrees with the run's protocol")
        need(state["machine"] == machine_kind(), "'machine' is not this machine kind")
        rounds, queries, labelled = state["rounds"], state["queries"], state["labelled"]
        need(isinstance(rounds, list) and len(rounds) >= 1, "'rounds' is not a non-empty list")
        for r, rec in enumerate(rounds):
            need(isinstance(rec, dict) and set(rec) == set(ROUND_KEYS), f"rounds[{r}]: wrong keys")
            need(all(is_number(rec[k]) for k in ROUND_KEYS), f"rounds[{r}]: non-numeric value")
            bad = nonfinite_keys(rec, r)  # issue 19: JSON reads NaN, the loop must not
            need(not bad, f"rounds[{r}]: {', '.join(bad)} not a finite number")
            need(rec["round"] == r, f"rounds[{r}] is numbered {rec['round']!r}")
            need(
                rec["n_labels"] == self.n_labels(r),
                f"rounds[{r}]: n_labels {rec['n_labels']!r} != {self.n_labels(r)}",
            )
        k = len(rounds) - 1
        n = self.n_labels(k)
        need(
            isinstance(labelled, list) and all(is_int(i) for i in labelled),
            "'labelled' is not a list of integers",
        )
        need(len(labelled) == n, f"{len(labelled)} labelled images, round {k} needs {n}")
        idx = np.asarray(labelled, dtype=np.int64)
        need(bool(((idx >= 0) & (idx < len(self.pool))).all()), "labelled index out of range")
        need(len(np.unique(idx)) == n, "labelled indices repeat")
        need(
            np.array_equal(idx[: self.spec.initial_size], self.initial),
            "initial set differs from the seed's",
        )
        need(
            isinstance(queries, dict) and set(queries) == set(QUERY_KEYS),
            "'queries' has wrong columns",
        )
        m = n - self.spec.initial_size
        for key in QUERY_KEYS:
            need(
                isinstance(queries[key], list) and len(queries[key]) == m,
                f"queries.{key} has not {m} entries",
            )
        added = idx[self.spec.initial_size :]
        expect_round = np.concatenate(
            [[r] * (self.n_labels(r) - self.n_labels(r - 1)) for r in range(1, k + 1)] or [[]]
        )
        expect_rank = np.concatenate(
            [np.arange(self.n_labels(r) - self.n_labels(r - 1)) for r in range(1, k + 1)] or [[]]
        )
        need(queries["round"] == expect_round.astype(int).tolist(), "queries' rounds disagree")
        need(queries["rank"] == expect_rank.astype(int).tolist(), "queries' ranks disagree")
        need(queries["id"] == [str(i) for i in self.pool.ids[added]], "queries' ids disagree")
        need(queries["true_label"] == self.pool.labels[added].tolist(), "true labels disagree")
        need(queries["oracle_label"] == self.answers[added].tolist(), "oracle labels disagree")
        need(
            all(is_number(x) for key in ("score", "confidence") for x in queries[key]),
            "non-numeric query score or confidence",
        )
        need(
            all(is_int(x) and 0 <= x < self.n_classes for x in queries["predicted"]),
            "query predicted class out of range",
        )
        if self.val is None:
            need(state["val_pred"] is None, "'val_pred' without a validation split")
        else:
            width = 2 * len(self.val)
            need(
                isinstance(state["val_pred"], str)
                and len(state["val_pred"]) == width
                and re.fullmatch(r"[0-9a-f]*", state["val_pred"]) is not None,
                "'val_pred' is not the packed validation predictions",
            )

    def load_state(self) -> dict[str, Any] | None:
        """The saved state if it exists and passes :meth:`check_state`, else None (warned)."""
        if not self.state_path.is_file():
            return None
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.check_state(state)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, StateError) as err:
            why = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(
                f"foxdog: warning: {self.state_path}: run state ignored ({why}); starting over",
                file=sys.stderr,
            )
            return None
        return state

    def _new_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "fingerprint": self.fp,
            "machine": machine_kind(),
            "spec": self.spec.identity(),
            "rounds": [],
            "queries": {key: [] for key in QUERY_KEYS},
            "labelled": [],
            "val_pred": None,
        }

    def _result(self, state: dict[str, Any]) -> dict[str, Any]:
        """The first ``spec.rounds`` rounds of ``state`` (a longer saved run serves a shorter)."""
        k = self.spec.rounds
        m = self.n_labels(k) - self.spec.initial_size
        return {
            "fingerprint": state["fingerprint"],
            "machine": state["machine"],
            "spec": state["spec"],
            "rounds": state["rounds"][: k + 1],
            "queries": {key: values[:m] for key, values in state["queries"].items()},
            "labelled": state["labelled"][: self.n_labels(k)],
        }

    # -- loop ------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run (or resume, or extend) ``spec.rounds`` rounds; return ``rounds``, ``queries``, ...

        ``queries`` is column-wise (``{"id": [...], "score": [...], ...}``).
        """
        spec = self.spec
        state = self.load_state()
        learner = None
        if state is None:
            state = self._new_state()
            labelled = self.initial
            t0 = time.perf_counter()
            learner = self._build_learner(labelled)
            fit_seconds = time.perf_counter() - t0
            self._record_round(state, learner, labelled, {}, fit_seconds, float("nan"))
        labelled = np.array(state["labelled"], dtype=np.int64)
        done = len(state["rounds"]) - 1
        bar = tqdm(
            total=spec.rounds,
            initial=min(done, spec.rounds),
            desc=f"{spec.strategy} seed {spec.seed}",
            leave=False,
            disable=not self.progress,
        )
        for r in range(done + 1, spec.rounds + 1):
            if learner is None:  # resuming: refit on the saved labels (deterministic)
                learner = self._build_learner(labelled)
            unlabelled = np.setdiff1d(np.arange(len(self.pool)), labelled)
            n = min(spec.query_size, len(unlabelled))
            t0 = time.perf_counter()
            idx, scores = self._query(learner, self.pool.images[unlabelled], n, r)
            query_seconds = time.perf_counter() - t0
            if len(idx) != n or len(np.unique(idx)) != n:
                raise RuntimeError(
                    f"{spec.strategy}: query returned {len(idx)} images, not {n} distinct"
                )
            chosen = unlabelled[idx]
            predicted, confidence = self._belief(learner, chosen)
            queries = {
                "round": [r] * n,
                "rank": list(range(n)),
                "id": [str(i) for i in self.pool.ids[chosen]],
                "score": [float(s) for s in scores],
                "predicted": [int(c) for c in predicted],
                "confidence": [float(p) for p in confidence],
                "true_label": [int(x) for x in self.pool.labels[chosen]],
                "oracle_label": [int(x) for x in self.answers[chosen]],
            }
            t0 = time.perf_counter()
            learner.teach(self.pool.images[chosen], self.answers[chosen])
            fit_seconds = time.perf_counter() - t0
            labelled = np.concatenate([labelled, chosen])
            self._record_round(state, learner, labelled, queries, fit_seconds, query_seconds)
            bar.update(1)
        bar.close()
        return self._result(state)

    def _record_round(
        self,
        state: dict[str, Any],
        learner: Any,
        labelled: np.ndarray,
        queries: dict[str, list[Any]],
        fit_seconds: float,
        query_seconds: float,
    ) -> None:
        model = self._evaluated_model(learner)
        proba = model.predict_proba(self.test.images)
        metrics = classification_metrics(self.test.labels, proba)
        rare_test = self.test.labels == self.rare_label
        rare_recall = (
            float(np.mean(proba[rare_test].argmax(axis=1) == self.rare_label))
            if rare_test.any()
            else float("nan")
        )
        val_accuracy = kappa = float("nan")
        val_pred = None
        if self.val is not None:
            val_pred = model.predict_proba(self.val.images).argmax(axis=1)
            val_accuracy = float(np.mean(val_pred == self.val.labels))
            if state["val_pred"] is not None:
                kappa = agreement_kappa(
                    unpack_predictions(state["val_pred"], len(self.val)), val_pred
                )
        record = {
            "round": len(state["rounds"]),
            "n_labels": len(labelled),
            **metrics,
            "n_rare": int((self.pool.labels[labelled] == self.rare_label).sum()),
            "rare_recall": rare_recall,
            "val_accuracy": val_accuracy,
            "noisy_labels": int((self.answers[labelled] != self.pool.labels[labelled]).sum()),
            "kappa_stop": kappa,
            "fit_seconds": fit_seconds,
            "query_seconds": query_seconds,
        }
        state["rounds"].append(record)
        for key, values in queries.items():
            state["queries"][key].extend(values)
        state["labelled"] = [int(i) for i in labelled]
        state["val_pred"] = None if val_pred is None else pack_predictions(val_pred)
        io.write_text(self.state_path, dumps_state(state))


def show_progress() -> bool:
    """Progress bars on an interactive terminal, quiet under CI or when piped."""
    return not os.environ.get("CI") and sys.stderr.isatty()


@dataclass(frozen=True)
class SeedRun:
    """Everything one seed's :class:`Experiment` needs but its spec: picklable, sent to a
    worker process once (:func:`foxdog.active.workers.run_pinned`)."""

    make_estimator: EstimatorFactory
    pool: Split
    test: Split
    state_dir: Path
    progress: bool
    val: Split | None
    rare_label: int
    context: dict[str, Any]
    pool_for: Callable[[int], Split] | None

    def seed_pool(self, spec: RunSpec) -> Split:
        """The pool ``spec``'s seed runs on."""
        return self.pool if self.pool_for is None else self.pool_for(spec.seed)

    def __call__(self, spec: RunSpec) -> dict[str, Any]:
        """Run (or resume) ``spec``; its state (the path names the machine this runs on)."""
        return Experiment(
            spec,
            self.make_estimator,
            self.seed_pool(spec),
            self.test,
            state_path(self.state_dir, spec),
            self.progress,
            val=self.val,
            rare_label=self.rare_label,
            context=self.context,
        ).run()


def run_specs(
    specs: Iterable[RunSpec],
    make_estimator: EstimatorFactory,
    pool: Split,
    test: Split,
    state_dir: Path,
    progress: bool | None = None,
    val: Split | None = None,
    start: str = "scratch",
    *,
    condition: str | None = None,
    rare_class: str = "",
    rare_label: int = 1,
    pool_for: Callable[[int], Split] | None = None,
    context: dict[str, Any] | None = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) each spec; return all round records and all queries.

    ``val`` is the validation split (the stop set); see :class:`Experiment`.
    ``start``, ``condition`` (default: ``start``) and ``rare_class`` label the rows:
    ``make_estimator`` decides where the network starts. ``pool_for(seed)``, when
    given, is the pool seed ``seed`` runs on (a subsampled condition); otherwise ``pool``.
    ``rare_label`` is the label whose recall and count the rows report.
    ``workers``: None runs the seeds here, one after another, on the cores this process
    has; a number runs them in that many worker processes pinned to one core each
    (:mod:`foxdog.active.workers`: the numbers then do not depend on how many), and
    ``make_estimator`` and ``pool_for`` must be picklable. Rows come in ``specs`` order.
    """
    progress = show_progress() if progress is None else progress
    specs = list(specs)
    run = SeedRun(
        make_estimator,
        pool,
        test,
        Path(state_dir),
        progress and workers is None,  # per-round bars from several processes would collide
        val,
        int(rare_label),
        {"condition": condition or start, **(context or {})},
        pool_for,
    )
    # One line per finished seed where stderr is no terminal (dvc repro's log); on a
    # terminal a bar over seeds, and the Experiment's own bar over rounds below it.
    names = "/".join(dict.fromkeys(spec.strategy for spec in specs))
    bar = Progress(len(specs), f"al {start}/{names}", "run")
    if workers is None:
        finished = ((i, run(spec)) for i, spec in enumerate(specs))
    else:
        from foxdog.active.workers import run_pinned

        finished = run_pinned(run, specs, workers)
    states: dict[int, dict[str, Any]] = {}
    for i, state in finished:
        states[i] = state
        note = f"seed {specs[i].seed}: accuracy {state['rounds'][-1]['accuracy']:.3f}"
        bar.update(note=note)
    bar.close()
    rounds: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        state, seed_pool = states[i], run.seed_pool(spec)
        protocol = {
            "condition": condition or start,
            "start": start,
            "rare_class": rare_class,
            "pool_share": round(float(np.mean(seed_pool.labels == rare_label)), 6),
            "strategy": spec.strategy,
            "initial_size": spec.initial_size,
            "query_size": spec.query_size,
            "label_noise": spec.label_noise,
            "seed": spec.seed,
        }
        rounds.extend({**protocol, **r, "machine": state["machine"]} for r in state["rounds"])
        queries.extend({**protocol, **q} for q in pd.DataFrame(state["queries"]).to_dict("records"))
    return (
        pd.DataFrame(rounds, columns=list(ROUND_COLUMNS)),
        pd.DataFrame(queries, columns=list(QUERY_COLUMNS)),
    )

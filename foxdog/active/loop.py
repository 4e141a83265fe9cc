"""The pool-based active-learning experiment for one strategy and one seed.

Protocol (Beck et al. 2021; Munjal et al. 2022; Lüth et al. 2023):

* For a seed, every strategy starts from the same initial labelled set
  (``initial="random"``: stratified random; ``"typiclust"``: TypiClust's
  cold-start pick on the embeddings of the seed's initialised-but-untrained
  network) and the same initial network weights (the CNN is retrained from its
  seed every round, so "same weights" holds every round, not just the first).
* The oracle answers from the ground truth, flipping a label with probability
  ``label_noise``. Which images get flipped is fixed per (seed, image), so all
  strategies face the same annotator.
* Each round: the strategy picks ``query_size`` unlabelled pool images, the
  oracle labels them, the model is retrained on all labels so far and evaluated
  on the test split; its predicted classes on the validation split (the stop
  set, never queried: it is a separate split) give ``kappa_stop``.

The run state is saved atomically after every round; a re-run resumes from the
last completed round and, because every round is a pure function of (seed,
labelled indices), ends with exactly the records of an uninterrupted run. The
number of rounds is not part of a state's identity: the first k rounds of a
longer run are the k-round run, so a longer request extends a saved state and a
shorter one is served from its first rounds (see docs/formats.md).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import json
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from foxdog import io
from foxdog.active import modal_compat, strategies
from foxdog.active.state_check import nonfinite_keys
from foxdog.active.strategies import COMMITTEE_STRATEGIES, get_strategy
from foxdog.data.arrays import Split
from foxdog.metrics import METRICS, agreement_kappa, classification_metrics

modal_compat.apply()

from modAL.models import ActiveLearner, Committee  # noqa: E402

STATE_VERSION = 3
# The model code an AL run executes (the al/ablate stages' DVC deps list the same files):
# pretraining and the baseline live beside them but cannot change a run's numbers.
AL_MODEL_FILES = ("cnn.py", "train.py", "estimator.py", "encoder.py")
ROUND_KEYS = (
    "round",
    "n_labels",
    *METRICS,
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
STATE_KEYS = (
    "version",
    "fingerprint",
    "machine",
    "spec",
    "rounds",
    "queries",
    "labelled",
    "val_pred",
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
"""Builds an unfitted scikit-learn classifier from a seed."""


# -- machine kind --------------------------------------------------------------


def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    match = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


@functools.cache
def machine_kind() -> str:
    """Short, stable name of what XLA compiles for, e.g. ``cpu:x86_64:avx512``, ``gpu:NVIDIA H200``.

    The same program gives different floating-point results on different kinds
    (XLA's CPU code uses the widest vector unit and FMA it finds), so the kind is
    part of a run's fingerprint and is written to ``rounds.csv``.
    """
    import jax

    backend = jax.default_backend()
    if backend != "cpu":
        return f"{backend}:{jax.devices()[0].device_kind}"
    arch, flags = platform.machine(), _cpu_flags()
    if "avx512f" in flags:
        tier = "avx512"
    elif {"avx2", "fma"} <= flags:
        tier = "avx2"
    elif "sve" in flags:
        tier = "sve"
    elif "asimd" in flags or "neon" in flags:
        tier = "neon"
    else:
        tier = "base"
    return f"cpu:{arch}:{tier}"


def machine_slug(kind: str) -> str:
    """``machine_kind()`` as a folder name: ``cpu-x86_64-avx512``, ``gpu-NVIDIA-H200``."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", kind).strip("-")


def state_path(state_dir: Path, spec: RunSpec) -> Path:
    """Where the state of ``spec`` lives: ``<state_dir>/<machine>/<tag>/seed_<k>.json``.

    Machine kind and protocol are in the path, so no finished run of another
    machine or protocol is ever overwritten; ``rounds`` is not, so a longer run
    extends the shorter one in place.
    """
    return Path(state_dir) / machine_slug(machine_kind()) / spec.tag() / f"seed_{spec.seed}.json"


# -- initial set and oracle ------------------------------------------------------


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


def scratch_embeddings(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Penultimate features of ``X`` under the estimator's seed's initial (untrained) weights.

    The same weights ``FlaxCNNClassifier.fit`` starts from (its first key of
    ``split(key(seed))``), so a typiclust initial set depends on the seed only.
    """
    import jax

    from foxdog.model import train
    from foxdog.model.estimator import check_images

    model = estimator._model_spec(len(estimator.classes))
    k_init, _ = jax.random.split(jax.random.key(int(estimator.seed)))
    return train.embed(model, train.init_params(model, k_init), check_images(X))


def oracle_labels(labels: np.ndarray, noise: float, seed: int, n_classes: int) -> np.ndarray:
    """The labels a noisy annotator gives for every pool image.

    With probability ``noise`` an image gets a wrong label, drawn uniformly from
    the other ``n_classes - 1`` classes (labels are ``0 .. n_classes - 1``).
    """
    rng = np.random.default_rng([seed, 2])
    wrong = rng.random(len(labels)) < noise
    offset = rng.integers(1, n_classes, len(labels)) if n_classes > 2 else 1
    return np.where(wrong, (labels + offset) % n_classes, labels)


# -- fingerprint -----------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def estimator_identity(estimator_params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's hyper-parameters with its encoder file replaced by the file's hash.

    A re-trained encoder at the same path must invalidate every saved state that
    started from the old one; a moved but identical file need not.
    """
    ident = dict(estimator_params)
    if ident.get("encoder"):
        path = Path(ident["encoder"])
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: encoder not found (run `dvc repro pretrain`, or drop the "
                "pretrained starts from active.starts)"
            )
        ident["encoder"] = f"sha256:{file_sha256(path)}"
    return ident


def source_hash(source: str) -> str:
    """Hash of Python source that ignores comments, docstrings, blank lines and layout.

    It hashes ``ast.dump`` of the parsed module (no line numbers) after removing
    every docstring, so only edits that can change behaviour change the hash.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def code_version(package: Path | None = None) -> str:
    """Hash of the code whose behaviour a run's numbers depend on, and its key libraries.

    The same files as the ``al`` stage's DVC dependencies, so a change that makes DVC
    re-run a stage also invalidates its saved states instead of silently resuming
    them; comments and docstrings do not count (:func:`source_hash`).
    """
    import flax
    import jax
    import optax
    import sklearn

    package = Path(__file__).resolve().parents[1] if package is None else Path(package)
    files = sorted(
        [*(package / "model" / name for name in AL_MODEL_FILES), *(package / "active").glob("*.py")]
    )
    digest = hashlib.sha256()
    for path in [*files, package / "metrics.py"]:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(source_hash(path.read_text(encoding="utf-8")).encode())
    for module in (jax, flax, optax, sklearn, np):
        digest.update(f"{module.__name__}=={module.__version__}".encode())
    return digest.hexdigest()


def fingerprint(
    spec: RunSpec,
    estimator_params: dict[str, Any],
    pool: Split,
    test: Split,
    val: Split | None = None,
) -> str:
    """Hash of everything a saved state depends on; a mismatch means start over.

    The protocol without ``rounds`` (:meth:`RunSpec.identity`), the estimator's
    hyper-parameters, the data (pixels included: a new resolution keeps the ids
    but changes every number), :func:`code_version` and :func:`machine_kind`.
    """
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                STATE_VERSION,
                spec.identity(),
                estimator_params,
                code_version(),
                machine_kind(),
                val is not None,
            ],
            sort_keys=True,
            default=str,
        ).encode()
    )
    for split in (pool, test) if val is None else (pool, test, val):
        for array in (split.ids, split.labels, split.images):
            digest.update(str((array.dtype, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


# -- state file ------------------------------------------------------------------


class StateError(ValueError):
    """A saved run state cannot be trusted; the message says why (one line)."""


def _pack(pred: np.ndarray) -> str:
    # One byte per image: up to 256 classes (checked where the classes are read).
    return np.asarray(pred, dtype=np.uint8).tobytes().hex()


def _unpack(text: str, n: int) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8)[:n].astype(np.int64)


def dumps_state(state: dict[str, Any]) -> str:
    """Compact JSON: one top-level key per line, arrays without spaces (diffable, ~4x smaller)."""
    lines = [
        f"{json.dumps(key)}:{json.dumps(state[key], separators=(',', ':'), sort_keys=True)}"
        for key in sorted(state)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


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
    ) -> None:
        self.spec = spec
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
        self.fp = fingerprint(spec, estimator_identity(estimator.get_params()), pool, test, val)

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
            emb = scratch_embeddings(self.make_estimator(spec.seed), self.pool.images)
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
            need(all(_is_number(rec[k]) for k in ROUND_KEYS), f"rounds[{r}]: non-numeric value")
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
            isinstance(labelled, list) and all(_is_int(i) for i in labelled),
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
            all(_is_number(x) for key in ("score", "confidence") for x in queries[key]),
            "non-numeric query score or confidence",
        )
        need(
            all(_is_int(x) and 0 <= x < self.n_classes for x in queries["predicted"]),
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
        metrics = classification_metrics(self.test.labels, model.predict_proba(self.test.images))
        val_accuracy = kappa = float("nan")
        val_pred = None
        if self.val is not None:
            val_pred = model.predict_proba(self.val.images).argmax(axis=1)
            val_accuracy = float(np.mean(val_pred == self.val.labels))
            if state["val_pred"] is not None:
                kappa = agreement_kappa(_unpack(state["val_pred"], len(self.val)), val_pred)
        record = {
            "round": len(state["rounds"]),
            "n_labels": len(labelled),
            **metrics,
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
        state["val_pred"] = None if val_pred is None else _pack(val_pred)
        io.write_text(self.state_path, dumps_state(state))

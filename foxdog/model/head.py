"""A small Flax head on frozen features, trained with optax: the imagenet start's classifier.

:class:`FeatureHeadClassifier` follows the scikit-learn estimator API (what modAL
drives): ``__init__`` stores hyper-parameters only, ``fit`` returns ``self``,
learned state ends in ``_``, clones are independent. ``hidden=0`` is a
multinomial logistic regression (one ``nnx.Linear``); ``hidden>0`` adds one
ReLU layer. Training is full-batch AdamW for a fixed number of steps inside one
compiled loop, so a fit costs milliseconds.

Fixed shapes: the labelled set is padded to the next power of two (at least
``MIN_BUCKET`` rows) with zero-weight rows, and ``predict_proba`` scores in
chunks of ``PREDICT_CHUNK`` rows padded the same way, so a growing labelled set
compiles once per doubling, not per round.
Same data, hyper-parameters and seed give identical predictions.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from foxdog.config import HeadConfig

MIN_BUCKET = 64
# predict_proba scores a large pool in chunks of this many rows: padding a 2,600-row pool
# to 4,096 would copy more zeros than features; chunks keep one compiled shape above it.
PREDICT_CHUNK = 1024


def bucket(n: int) -> int:
    """The padded row count for ``n`` rows: the next power of two, at least ``MIN_BUCKET``."""
    return max(MIN_BUCKET, 1 << max(0, int(n) - 1).bit_length())


@jax.custom_vjp
def _matmul_fixed_input(x: jax.Array, xt: jax.Array, kernel: jax.Array) -> jax.Array:
    """``x @ kernel`` whose gradient reads the precomputed ``xt = x.T``.

    XLA's CPU backend computes the kernel gradient ``x.T @ g`` ~15x slower than
    the same product with ``x.T`` laid out in memory (measured: 50 full-batch
    steps on 1024 x 1280 features, 300 ms vs 19 ms); the features are frozen,
    so their transpose is computed once per fit instead of once per step.
    """
    return x @ kernel


def _matmul_fwd(x: jax.Array, xt: jax.Array, kernel: jax.Array) -> tuple[jax.Array, jax.Array]:
    return x @ kernel, xt


def _matmul_bwd(xt: jax.Array, g: jax.Array) -> tuple[None, None, jax.Array]:
    return None, None, xt @ g  # inputs are data, not parameters: no gradient for them


_matmul_fixed_input.defvjp(_matmul_fwd, _matmul_bwd)


class Head(nnx.Module):
    """Features -> logits: linear, or one hidden ReLU layer then linear."""

    def __init__(self, d_in: int, hidden: int, n_out: int, *, rngs: nnx.Rngs) -> None:
        # Zero output weights: a linear head starts at the uniform prediction whatever the seed.
        zeros = nnx.initializers.zeros
        first_init = nnx.initializers.lecun_normal() if hidden else zeros
        self.first = nnx.Linear(d_in, hidden or n_out, kernel_init=first_init, rngs=rngs)
        self.out = nnx.Linear(hidden, n_out, kernel_init=zeros, rngs=rngs) if hidden else None

    def __call__(self, x: jax.Array, xt: jax.Array | None = None) -> jax.Array:
        """Logits of ``x``; ``xt`` (= ``x.T``), when given, makes the training gradient fast."""
        kernel = self.first.kernel[...]
        h = x @ kernel if xt is None else _matmul_fixed_input(x, xt, kernel)
        h = h + self.first.bias[...]
        return h if self.out is None else self.out(jax.nn.relu(h))


@functools.partial(jax.jit, static_argnames=("hidden", "n_out", "steps"))
def _fit(
    seed: jax.Array,
    x: jax.Array,
    y: jax.Array,
    w: jax.Array,
    learning_rate: jax.Array,
    weight_decay: jax.Array,
    *,
    hidden: int,
    n_out: int,
    steps: int,
) -> nnx.State:
    graphdef, params = nnx.split(
        Head(x.shape[1], hidden, n_out, rngs=nnx.Rngs(jax.random.key(seed)))
    )
    # Weight decay on the kernels only, as in an L2-penalised logistic regression.
    mask = jax.tree.map(lambda p: p.ndim == 2, params)
    tx = optax.adamw(learning_rate, weight_decay=weight_decay, mask=mask)

    xt = x.T

    def loss(p: nnx.State) -> jax.Array:
        ce = optax.softmax_cross_entropy_with_integer_labels(nnx.merge(graphdef, p)(x, xt), y)
        return jnp.sum(w * ce) / jnp.sum(w)

    def step(_: int, carry: tuple[nnx.State, Any]) -> tuple[nnx.State, Any]:
        p, state = carry
        updates, state = tx.update(jax.grad(loss)(p), state, p)
        return optax.apply_updates(p, updates), state

    params, _ = jax.lax.fori_loop(0, steps, step, (params, tx.init(params)))
    return params


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _proba(graphdef: nnx.GraphDef, params: nnx.State, x: jax.Array) -> jax.Array:
    return jax.nn.softmax(nnx.merge(graphdef, params)(x), axis=-1)


@functools.cache
def _graphdef(d_in: int, hidden: int, n_out: int) -> nnx.GraphDef:
    return nnx.split(nnx.eval_shape(lambda: Head(d_in, hidden, n_out, rngs=nnx.Rngs(0))))[0]


def _pad(x: np.ndarray, rows: int) -> np.ndarray:
    if len(x) == rows:
        return x
    return np.concatenate([x, np.zeros((rows - len(x), *x.shape[1:]), x.dtype)])


def check_features(X: Any, name: str = "X") -> np.ndarray:
    """Validate a feature matrix and return it as float32 (N, D); raise ValueError otherwise."""
    X = np.asarray(X)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{name} must be features of shape (N, D) with N >= 1, got {X.shape}")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return X


def class_weight_arg(name: str) -> str | None:
    """``head.class_weight`` as params.yaml spells it (none | balanced) -> the estimator's."""
    return None if name == "none" else name


class FeatureHeadClassifier(ClassifierMixin, BaseEstimator):
    """Linear or one-hidden-layer Flax classifier on frozen features (scikit-learn API).

    ``classes`` fixes the columns of ``predict_proba`` (default ``(0, 1)``) even
    for a labelled set lacking a class; ``None`` takes the sorted labels of ``y``.
    ``class_weight="balanced"`` weights each example by ``n / (k * n_class)``
    over the classes present, as scikit-learn does. Fitted attributes:
    ``classes_``, ``params_``, ``n_features_in_``.
    """

    # The defaults are params.yaml's (through foxdog.config.HeadConfig, whose defaults a
    # test holds equal to the committed file): one set of defaults, not two.
    def __init__(
        self,
        hidden: int = HeadConfig.hidden,
        steps: int = HeadConfig.steps,
        learning_rate: float = HeadConfig.learning_rate,
        weight_decay: float = HeadConfig.weight_decay,
        class_weight: str | None = class_weight_arg(HeadConfig.class_weight),
        classes: tuple[Any, ...] | None = (0, 1),
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.steps = steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.classes = classes
        self.seed = seed

    @classmethod
    def from_config(
        cls, head: HeadConfig, n_classes: int = 2, seed: int = 0
    ) -> FeatureHeadClassifier:
        """Build from ``params.head``; labels are ``0 .. n_classes - 1`` (``data.classes``)."""
        return cls(
            hidden=head.hidden,
            steps=head.steps,
            learning_rate=head.learning_rate,
            weight_decay=head.weight_decay,
            class_weight=class_weight_arg(head.class_weight),
            classes=tuple(range(n_classes)),
            seed=seed,
        )

    def fit(self, X: Any, y: Any) -> FeatureHeadClassifier:
        """Train from the weights ``seed`` gives on (X, y); returns ``self``."""
        X = check_features(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with {len(X)} labels, got shape {y.shape}")
        if self.class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        if self.hidden < 0 or self.steps < 1 or self.learning_rate <= 0 or self.weight_decay < 0:
            raise ValueError("hidden >= 0, steps >= 1, learning_rate > 0, weight_decay >= 0")
        classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
        if unknown := sorted(set(y.tolist()) - set(classes.tolist())):
            raise ValueError(f"y holds label {unknown[0]!r}, not one of classes={classes.tolist()}")
        if len(np.unique(y)) < 2:
            raise ValueError("y must hold at least two classes")
        index = np.searchsorted(classes, y) if self.classes is None else _positions(classes, y)
        weights = np.ones(len(y), np.float32)
        if self.class_weight == "balanced":
            counts = np.bincount(index, minlength=len(classes))
            present = np.count_nonzero(counts)
            weights = (len(y) / (present * counts[index])).astype(np.float32)
        rows = bucket(len(X))
        self.params_ = _fit(
            jnp.uint32(self.seed),
            _pad(X, rows),
            _pad(index.astype(np.int32), rows),
            _pad(weights, rows),  # padded rows weigh nothing
            jnp.float32(self.learning_rate),
            jnp.float32(self.weight_decay),
            hidden=int(self.hidden),
            n_out=len(classes),
            steps=int(self.steps),
        )
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, len(classes_)) class probabilities."""
        check_is_fitted(self, "params_")
        X = check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, the head was fitted on {self.n_features_in_}"
            )
        graphdef = _graphdef(self.n_features_in_, int(self.hidden), len(self.classes_))
        out = []
        for start in range(0, len(X), PREDICT_CHUNK):
            chunk = X[start : start + PREDICT_CHUNK]
            padded = _pad(chunk, min(bucket(len(chunk)), PREDICT_CHUNK))
            out.append(np.asarray(_proba(graphdef, self.params_, padded))[: len(chunk)])
        return np.concatenate(out)

    def embed(self, X: Any) -> np.ndarray:
        """The input of the output layer (what BADGE's gradient and core-set use).

        The features themselves for a linear head; the hidden ReLU layer otherwise.
        """
        X = check_features(X)
        if not self.hidden:
            return X
        check_is_fitted(self, "params_")
        kernel = np.asarray(self.params_["first"]["kernel"][...])
        bias = np.asarray(self.params_["first"]["bias"][...])
        return np.maximum(X @ kernel + bias, 0.0)

    def pretrained_embed(self, X: Any) -> np.ndarray:
        """The start's own embedding, untouched by labels: the frozen features (TypiClust)."""
        return check_features(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _positions(classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    return np.array([lookup[v] for v in y.tolist()], dtype=np.int64)

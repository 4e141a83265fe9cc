"""Jitted training and inference for :class:`foxdog.model.cnn.CNN`, compiled once per configuration.

The story, Flax-examples style: :func:`init_params` makes parameters from a
key; :func:`train_step` is one AdamW step on one augmented batch;
:func:`fit_params` runs :func:`n_steps` of them; :func:`predict_logits`,
:func:`embed` and :func:`predict_logits_mc` score images in fixed-size chunks.

No recompilation as the labelled set grows: every step sees a batch of exactly
``batch_size`` images gathered on the host (with repeats when fewer images are
labelled), and the step index and the fit's step count enter the compiled step
as traced scalars (the learning-rate schedule is computed inside it), so a fit
of 300 steps and one of 900 share one program. A fit runs ``steps`` steps, or
``epochs`` passes over the labelled set where that is more: a fixed step count
under-trains a large labelled set and over-trains a tiny one. Scoring pads the last chunk. Compiled
functions live in module-level caches keyed by the frozen, hashable specs
below, so fresh estimators and ``sklearn.base.clone`` copies reuse them.
:data:`TRACES` counts how often each function was traced (tests assert on it).

Why a Python loop over a jitted step rather than one ``lax.scan`` per fit:
on XLA:CPU (jax 0.10) a convolution's gradient inside a loop body ran 15-30x
slower than the same step jitted on its own (``benchmarks/README.md``), and
per-step dispatch costs well under 1 % of a ~3 ms step. Dispatch is
asynchronous, so the host gathers the next batch while the previous step runs.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax import lax

from foxdog.model.cnn import CNN

#: Images per scoring call; the last chunk is zero-padded to this size.
PREDICT_CHUNK = 256

#: Number of times each jitted function body was traced (= compiled), by name.
TRACES: collections.Counter[str] = collections.Counter()


@dataclass(frozen=True)
class ModelSpec:
    """Everything that fixes the network's compiled shape."""

    widths: tuple[int, ...] = (16, 32, 64)
    dense: int = 64
    dropout: float = 0.3
    n_classes: int = 2
    stem: int = 2  # space-to-depth factor applied before the first block


@dataclass(frozen=True)
class TrainSpec:
    """Everything that fixes the compiled training step (plus the step-count rule)."""

    model: ModelSpec = ModelSpec()
    batch_size: int = 32
    steps: int = 300
    epochs: float = 0.0
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    flip: bool = True
    max_shift: int = 4
    trunk_lr: float = 1.0  # trunk (conv blocks) learning rate relative to the head's


class State(NamedTuple):
    params: Any  # nnx.State of the CNN's parameters
    opt_state: Any


# ---------------------------------------------------------------- model + optimiser


@functools.cache
def graphdef(model: ModelSpec) -> nnx.GraphDef:
    """The (static) structure of the CNN for ``model``; parameters live apart from it."""
    abstract = nnx.eval_shape(lambda: _make_cnn(model, 0))
    return nnx.split(abstract)[0]


def _make_cnn(model: ModelSpec, key: Any) -> CNN:
    return CNN(
        model.widths, model.dense, model.dropout, model.n_classes, model.stem, rngs=nnx.Rngs(key)
    )


def _decay_mask(params: Any) -> Any:
    # Usual AdamW practice: decay kernels only, not biases or norm scales and offsets.
    return jax.tree.map(lambda p: p.ndim > 1, params)


def optimizer(spec: TrainSpec) -> optax.GradientTransformation:
    """AdamW with unit learning rate; :func:`learning_rate` scales its updates per step.

    optax's AdamW multiplies both the Adam direction and the decoupled weight
    decay by the learning rate, so scaling the unit-rate update by ``lr_t`` is
    exactly AdamW at ``lr_t``; keeping ``lr_t`` out of the optimiser lets the
    schedule's length be a traced value instead of a compile-time constant.

    With ``trunk_lr != 1`` (a pretrained trunk) the conv blocks' updates are
    scaled by ``trunk_lr`` (``optax.multi_transform``); 0 freezes them.
    """
    adamw = optax.adamw(1.0, weight_decay=spec.weight_decay, mask=_decay_mask)
    if spec.trunk_lr == 1.0:
        return adamw
    trunk = (
        optax.set_to_zero()
        if spec.trunk_lr == 0
        else optax.chain(adamw, optax.scale(spec.trunk_lr))
    )
    return optax.multi_transform({"trunk": trunk, "head": adamw}, _trunk_labels)


def _trunk_labels(params: Any) -> Any:
    return jax.tree_util.tree_map_with_path(
        lambda path, _: "trunk" if path[0].key == "blocks" else "head", params
    )


def learning_rate(spec: TrainSpec, i: jax.Array, total: jax.Array) -> jax.Array:
    """Linear warm-up over ``warmup_steps`` then cosine decay to 0 at step ``total``."""
    i = jnp.asarray(i, jnp.float32)
    total = jnp.asarray(total, jnp.float32)
    warm = jnp.float32(max(spec.warmup_steps, 1))
    progress = jnp.clip((i - spec.warmup_steps) / jnp.maximum(total - spec.warmup_steps, 1.0), 0, 1)
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
    return spec.learning_rate * jnp.where(i < spec.warmup_steps, i / warm, cosine)


def n_steps(spec: TrainSpec, n_labelled: int) -> int:
    """Steps of one fit: ``spec.steps``, or ``spec.epochs`` passes over the data if more."""
    return max(spec.steps, int(np.ceil(spec.epochs * n_labelled / spec.batch_size)))


# ---------------------------------------------------------------- augmentation


def augment(images: jax.Array, key: jax.Array, spec: TrainSpec) -> jax.Array:
    """Label-preserving random horizontal flip and shift of a uint8 batch -> float32 in [0, 255].

    Brightness/contrast jitter was tried (amplitude 0.1 and 0.2) and gave no
    measurable gain at 60-500 labels, so it is not offered.
    """
    n, h, w, _ = images.shape
    k_flip, k_shift = jax.random.split(key)
    x = images
    if spec.flip:
        flip = jax.random.bernoulli(k_flip, 0.5, (n, 1, 1, 1))
        x = jnp.where(flip, x[:, :, ::-1, :], x)
    m = spec.max_shift
    if m > 0:
        # Reflect-pad then crop: a shift without the black borders that would
        # tell the network where the image edge is.
        padded = jnp.pad(x, ((0, 0), (m, m), (m, m), (0, 0)), mode="reflect")
        offsets = jax.random.randint(k_shift, (n, 2), 0, 2 * m + 1)

        def crop(img: jax.Array, off: jax.Array) -> jax.Array:
            return lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, 3))

        x = jax.vmap(crop)(padded, offsets)
    return x.astype(jnp.float32)


# ---------------------------------------------------------------- training


def train_step(
    gdef: nnx.GraphDef,
    tx: optax.GradientTransformation,
    spec: TrainSpec,
    state: State,
    images: jax.Array,
    labels: jax.Array,
    key: jax.Array,
    lr: jax.Array,
) -> tuple[State, jax.Array]:
    """One AdamW step at learning rate ``lr`` on an augmented batch; returns state and loss."""
    k_aug, k_drop = jax.random.split(key)
    x = augment(images, k_aug, spec)

    def loss_fn(params: Any) -> jax.Array:
        logits = nnx.merge(gdef, params)(x, dropout_key=k_drop)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    updates = jax.tree.map(lambda u: lr * u, updates)
    return State(optax.apply_updates(state.params, updates), opt_state), loss


class _TrainFns(NamedTuple):
    opt_init: Callable[[Any], Any]
    step: Callable[..., tuple[State, jax.Array]]


@functools.cache
def _train_fns(spec: TrainSpec) -> _TrainFns:
    gdef = graphdef(spec.model)
    tx = optimizer(spec)

    @functools.partial(jax.jit, donate_argnums=0)
    def step(
        state: State,
        images: jax.Array,
        labels: jax.Array,
        key: jax.Array,
        i: jax.Array,
        total: jax.Array,
    ) -> tuple[State, jax.Array]:
        TRACES["train_step"] += 1  # the Python body runs once per trace
        lr = learning_rate(spec, i, total)
        return train_step(gdef, tx, spec, state, images, labels, jax.random.fold_in(key, i), lr)

    return _TrainFns(jax.jit(tx.init), step)


def batch_indices(n: int, steps: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, batch_size) indices into ``n`` labelled images.

    Concatenated random permutations: every image is seen equally often (±1),
    and when ``n < batch_size`` a batch simply repeats images.
    """
    total = steps * batch_size
    perms = [rng.permutation(n) for _ in range(-(-total // n))]
    return np.concatenate(perms)[:total].reshape(steps, batch_size)


def fit_params(
    spec: TrainSpec,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    trunk: dict | None = None,
) -> tuple[Any, np.ndarray]:
    """Train from the seed's initial weights; return (parameters, per-step losses).

    ``images`` is uint8 (N, H, W, 3), ``labels`` int class indices in
    ``[0, n_classes)``. Same inputs and seed -> bitwise-identical parameters.
    ``trunk`` (the pure-dict ``blocks`` of a pretrained encoder) replaces the
    seed's conv blocks; the head (hidden + output layer) still comes from the seed.
    """
    # The compiled step does not depend on the step count: share it across counts.
    fns = _train_fns(dataclasses.replace(spec, steps=1, epochs=0.0))
    steps = n_steps(spec, len(images))
    k_init, k_train = jax.random.split(jax.random.key(seed))
    params = init_params(spec.model, k_init)
    if trunk is not None:
        params = with_trunk(params, trunk)
    state = State(params, fns.opt_init(params))
    idx = batch_indices(len(images), steps, spec.batch_size, np.random.default_rng(seed))
    labels = np.asarray(labels, dtype=np.int32)
    losses = []
    for i, sel in enumerate(idx):
        state, loss = fns.step(
            state, images[sel], labels[sel], k_train, np.int32(i), np.int32(steps)
        )
        losses.append(loss)
    return state.params, np.array([float(x) for x in losses], dtype=np.float32)


@functools.cache
def _init_fn(model: ModelSpec) -> Callable[[jax.Array], Any]:
    @jax.jit
    def init(key: jax.Array) -> Any:
        TRACES["init"] += 1
        return nnx.split(_make_cnn(model, key))[1]

    return init


def init_params(model: ModelSpec, key: jax.Array) -> Any:
    """Freshly initialised CNN parameters for ``key`` (same key -> same weights)."""
    return _init_fn(model)(key)


def trunk_of(params: Any) -> dict:
    """The conv blocks' parameters as a pure dict of numpy arrays (what an encoder file holds)."""
    return jax.tree.map(np.asarray, nnx.to_pure_dict(params)["blocks"])


def with_trunk(params: Any, trunk: dict) -> Any:
    """A copy of ``params`` whose conv blocks are ``trunk``; ValueError on a shape mismatch."""
    pure = nnx.to_pure_dict(params)
    want = jax.tree.map(np.shape, pure["blocks"])
    got = jax.tree.map(np.shape, trunk)
    if want != got:
        raise ValueError(f"encoder trunk has shapes {got}, the model needs {want}")
    pure["blocks"] = jax.tree.map(jnp.asarray, trunk)
    out = jax.tree.map(lambda x: x, params)  # a fresh State: do not mutate the caller's
    nnx.replace_by_pure_dict(out, pure)
    return out


# ---------------------------------------------------------------- inference


class _PredictFns(NamedTuple):
    logits: Callable[[Any, jax.Array], jax.Array]
    embed: Callable[[Any, jax.Array], jax.Array]
    logits_mc: Callable[[Any, jax.Array, jax.Array], jax.Array]


@functools.cache
def _predict_fns(model: ModelSpec, n_samples: int = 0) -> _PredictFns:
    gdef = graphdef(model)

    @jax.jit
    def logits(params: Any, images: jax.Array) -> jax.Array:
        TRACES["predict"] += 1
        return nnx.merge(gdef, params)(images)

    @jax.jit
    def embed(params: Any, images: jax.Array) -> jax.Array:
        TRACES["embed"] += 1
        cnn = nnx.merge(gdef, params)
        return cnn.embed(cnn.trunk(images))

    @jax.jit
    def logits_mc(params: Any, images: jax.Array, key: jax.Array) -> jax.Array:
        TRACES["predict_mc"] += 1
        cnn = nnx.merge(gdef, params)
        # Dropout sits only in the head: run the trunk once, the head n_samples times.
        emb = cnn.embed(cnn.trunk(images))
        keys = jax.random.split(key, n_samples)
        return jax.vmap(lambda k: cnn.classify(emb, dropout_key=k))(keys)

    return _PredictFns(logits, embed, logits_mc)


def _chunked(fn: Callable[[np.ndarray, int], jax.Array], images: np.ndarray, axis: int = 0):
    """Apply ``fn(chunk, i)`` to fixed-size, zero-padded chunks; concatenate along ``axis``."""
    outs = []
    for i, start in enumerate(range(0, len(images), PREDICT_CHUNK)):
        chunk = images[start : start + PREDICT_CHUNK]
        n = len(chunk)
        if n < PREDICT_CHUNK:
            pad = np.zeros((PREDICT_CHUNK - n, *chunk.shape[1:]), chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        outs.append((fn(chunk, i), n))  # asynchronous: don't block per chunk
    return np.concatenate([np.asarray(o).take(np.arange(n), axis=axis) for o, n in outs], axis=axis)


def predict_logits(model: ModelSpec, params: Any, images: np.ndarray) -> np.ndarray:
    """Logits (N, n_classes) float32, dropout off, no augmentation."""
    fn = _predict_fns(model).logits
    return _chunked(lambda x, _: fn(params, x), images)


def embed(model: ModelSpec, params: Any, images: np.ndarray) -> np.ndarray:
    """Penultimate features (N, dense) float32: pooled conv features after hidden dense + ReLU."""
    fn = _predict_fns(model).embed
    return _chunked(lambda x, _: fn(params, x), images)


def predict_logits_mc(
    model: ModelSpec, params: Any, images: np.ndarray, n_samples: int, seed: int
) -> np.ndarray:
    """MC-dropout logits (n_samples, N, n_classes) float32: dropout active, no augmentation."""
    fn = _predict_fns(model, n_samples).logits_mc
    key = jax.random.key(seed)
    return _chunked(lambda x, i: fn(params, x, jax.random.fold_in(key, i)), images, axis=1)


def softmax64(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64 (keeps tiny probabilities for log-loss)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)

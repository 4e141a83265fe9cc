"""Pretrain the CNN's conv trunk on the corpus (the ``pretrain`` stage): supervised or SimCLR.

The story, Flax-examples style: :func:`make_state` builds the network and an
AdamW optimiser on an ``optax.warmup_cosine_decay_schedule``; a jitted step
(:func:`supervised_loss` or :func:`simclr_loss`) updates it on one batch;
:func:`pretrain` loops over epochs and logs the mean loss; :func:`evaluate`
measures corpus accuracy on held-out corpus images; :func:`run_pretrain` writes
the encoder (:mod:`foxdog.model.encoder`) and ``metrics/pretrain_<method>.json``.

Both methods train the project's :class:`~foxdog.model.cnn.CNN` with the
study's ``model.widths`` / ``stem`` / ``dense``; only its conv blocks (the
trunk) are kept:

- ``supervised``: 84-way softmax on the corpus classes, flip + shift augmentation
  (:func:`foxdog.model.train.augment`).
- ``simclr`` (Chen et al. 2020): two views per image (random resized crop,
  flip, colour jitter, greyscale), the CNN's hidden + output layers act as the
  projection head (output width ``pretrain.projection``), NT-Xent loss
  (``optax.losses.ntxent``) at ``pretrain.temperature``. Images: the corpus plus
  the curated *pool* pixels (no labels; the test and validation splits are
  never read).

Corpus accuracy: a stratified ``pretrain.holdout_fraction`` of the corpus is
never trained on; on it we report the supervised head's top-1 and, for both
methods, a linear probe (scikit-learn logistic regression on the trunk's
pooled features). Deterministic given ``pretrain.seed``; outputs are written
atomically (an interrupted run leaves the previous files intact, and re-runs
from the start).
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from foxdog import io
from foxdog.config import ModelConfig, PretrainConfig, to_dict
from foxdog.model import train
from foxdog.model.encoder import save_encoder

#: Corpus images used to fit the linear probe (keeps it to seconds on 2 cores).
PROBE_TRAIN = 5000


class Spec(NamedTuple):
    """What fixes the compiled step (hashable: compiled functions are cached per spec)."""

    model: train.ModelSpec
    method: str
    batch_size: int
    total_steps: int
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    temperature: float


def make_spec(model: ModelConfig, cfg: PretrainConfig, n_classes: int, n_images: int) -> Spec:
    """The network (no dropout) and schedule for ``cfg.epochs`` passes over ``n_images``."""
    out = n_classes if cfg.method == "supervised" else cfg.projection
    net = train.ModelSpec(tuple(model.widths), model.dense, 0.0, out, model.stem)
    steps = cfg.epochs * max(n_images // cfg.batch_size, 1)
    return Spec(
        net,
        cfg.method,
        cfg.batch_size,
        steps,
        cfg.learning_rate,
        cfg.weight_decay,
        min(cfg.warmup_steps, steps - 1),
        cfg.temperature,
    )


def schedule(spec: Spec) -> optax.Schedule:
    """Linear warm-up then cosine decay to 0 over the whole run."""
    return optax.warmup_cosine_decay_schedule(
        0.0, spec.learning_rate, spec.warmup_steps, spec.total_steps
    )


def optimizer(spec: Spec) -> optax.GradientTransformation:
    return optax.adamw(schedule(spec), weight_decay=spec.weight_decay, mask=train._decay_mask)


# ---------------------------------------------------------------- augmentation


def simclr_view(image: jax.Array, key: jax.Array) -> jax.Array:
    """One SimCLR view of a uint8 (H, W, 3) image -> float32 in [0, 255].

    Random resized crop (area 35-100 %, aspect 3/4-4/3, bilinear), horizontal
    flip, colour jitter with probability 0.8 (brightness, contrast, saturation
    each x U(0.6, 1.4)), greyscale with probability 0.2.
    """
    h, w, _ = image.shape
    k = jax.random.split(key, 8)
    area = jax.random.uniform(k[0], minval=0.35, maxval=1.0)
    log_ratio = jax.random.uniform(k[1], minval=jnp.log(3 / 4), maxval=jnp.log(4 / 3))
    ch = jnp.clip(jnp.sqrt(area / jnp.exp(log_ratio)) * h, 4.0, h)
    cw = jnp.clip(jnp.sqrt(area * jnp.exp(log_ratio)) * w, 4.0, w)
    y0 = jax.random.uniform(k[2]) * (h - ch)
    x0 = jax.random.uniform(k[3]) * (w - cw)
    scale = jnp.stack([h / ch, w / cw])
    x = jax.image.scale_and_translate(
        image.astype(jnp.float32),
        (h, w, 3),
        (0, 1),
        scale,
        -jnp.stack([y0, x0]) * scale,
        method="linear",
    )
    x = jnp.where(jax.random.bernoulli(k[4]), x[:, ::-1, :], x)
    f = jax.random.uniform(k[5], (3,), minval=0.6, maxval=1.4)
    grey = x @ jnp.array([0.299, 0.587, 0.114])
    jit = x * f[0]
    jit = (jit - jit.mean()) * f[1] + jit.mean()
    g = (jit @ jnp.array([0.299, 0.587, 0.114]))[..., None]
    jit = (jit - g) * f[2] + g
    x = jnp.where(jax.random.bernoulli(k[6], 0.8), jit, x)
    x = jnp.where(jax.random.bernoulli(k[7], 0.2), jnp.repeat(grey[..., None], 3, -1), x)
    return jnp.clip(x, 0.0, 255.0)


# ---------------------------------------------------------------- losses and step


def supervised_loss(gdef: nnx.GraphDef, spec: Spec, params: Any, images, labels, key) -> jax.Array:
    """Cross-entropy of the corpus classes on a flipped/shifted batch."""
    x = train.augment(images, key, train.TrainSpec(max_shift=4))
    logits = nnx.merge(gdef, params)(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def simclr_loss(gdef: nnx.GraphDef, spec: Spec, params: Any, images, labels, key) -> jax.Array:
    """NT-Xent between two views of every image (``labels`` unused)."""
    n = images.shape[0]
    keys = jax.random.split(key, 2 * n)
    views = jax.vmap(simclr_view)(jnp.concatenate([images, images]), keys)
    z = nnx.merge(gdef, params)(views)
    ids = jnp.concatenate([jnp.arange(n), jnp.arange(n)])
    return optax.losses.ntxent(z, ids, spec.temperature)


class _Fns(NamedTuple):
    init: Callable[[jax.Array], tuple[Any, Any]]
    step: Callable[..., tuple[Any, Any, jax.Array]]


@functools.cache
def _fns(spec: Spec) -> _Fns:
    gdef = train.graphdef(spec.model)
    tx = optimizer(spec)
    loss_fn = supervised_loss if spec.method == "supervised" else simclr_loss

    @jax.jit
    def init(key: jax.Array) -> tuple[Any, Any]:
        params = train.init_params(spec.model, key)
        return params, tx.init(params)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, images, labels, key):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(gdef, spec, p, images, labels, key))(
            params
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return _Fns(init, step)


# ---------------------------------------------------------------- training loop


def pretrain(
    spec: Spec, images: np.ndarray, labels: np.ndarray, seed: int, log: Callable | None = None
) -> tuple[Any, list[dict[str, float]]]:
    """Train for ``spec.total_steps``; return (parameters, per-epoch curve).

    Each epoch is a fresh permutation (the incomplete last batch dropped), so
    same data and seed give bitwise-identical parameters.
    """
    fns = _fns(spec)
    k_init, k_train = jax.random.split(jax.random.key(seed))
    params, opt_state = fns.init(k_init)
    rng = np.random.default_rng(seed)
    per_epoch = max(len(images) // spec.batch_size, 1)
    lr = schedule(spec)
    labels = np.asarray(labels, dtype=np.int32)
    curve, i = [], 0
    start = time.perf_counter()
    while i < spec.total_steps:
        order = rng.permutation(len(images))
        losses = []
        for b in range(per_epoch):
            if i >= spec.total_steps:
                break
            sel = order[b * spec.batch_size : (b + 1) * spec.batch_size]
            if len(sel) < spec.batch_size:  # fewer images than one batch: repeat some
                sel = np.resize(order, spec.batch_size)
            key = jax.random.fold_in(k_train, i)
            params, opt_state, loss = fns.step(params, opt_state, images[sel], labels[sel], key)
            losses.append(loss)
            i += 1
        point = {
            "epoch": len(curve) + 1,
            "step": i,
            "loss": float(np.mean([float(x) for x in losses])),
            "learning_rate": float(lr(i)),
            "seconds": round(time.perf_counter() - start, 2),
        }
        curve.append(point)
        if log:
            log(point)
    return params, curve


@functools.cache
def _features_fn(model: train.ModelSpec) -> Callable:
    gdef = train.graphdef(model)

    @jax.jit
    def features(params: Any, images: jax.Array) -> tuple[jax.Array, jax.Array]:
        cnn = nnx.merge(gdef, params)
        pooled = cnn.trunk(images)
        return jnp.concatenate([pooled, cnn(images)], axis=1)

    return features


def evaluate(
    spec: Spec, params: Any, train_x, train_y, test_x, test_y, seed: int
) -> dict[str, float]:
    """Held-out corpus accuracy: the supervised head's top-1 and a linear probe on the trunk."""
    fn = _features_fn(spec.model)
    width = spec.model.widths[-1]

    def feats(x: np.ndarray) -> np.ndarray:
        return train._chunked(lambda c, _: fn(params, c), x)

    sub = np.random.default_rng(seed).permutation(len(train_x))[:PROBE_TRAIN]
    f_train, f_test = feats(train_x[sub]), feats(test_x)
    probe = LogisticRegression(max_iter=300)
    with warnings.catch_warnings():
        # On 84 classes lbfgs often stops at max_iter a hair short of its tolerance; the
        # probe is a descriptive number (its accuracy is recorded), and sklearn's
        # multi-line warning buried the stage's own output (issue 19).
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(f_train[:, :width], train_y[sub])
    out = {"linear_probe_accuracy": float(probe.score(f_test[:, :width], test_y))}
    if spec.method == "supervised":
        out["top1_accuracy"] = float((f_test[:, width:].argmax(axis=1) == test_y).mean())
    return out


def run_pretrain(
    method: str,
    model: ModelConfig,
    cfg: PretrainConfig,
    corpus_images: np.ndarray,
    corpus_labels: np.ndarray,
    n_classes: int,
    pool_images: np.ndarray | None,
    encoder_out: Path,
    metrics_out: Path,
    log: Callable | None = None,
) -> dict[str, Any]:
    """Hold out corpus images, pretrain, evaluate; write the encoder and the metrics JSON."""
    import dataclasses

    cfg = dataclasses.replace(cfg, method=method)
    idx = np.arange(len(corpus_labels))
    tr, te = train_test_split(
        idx, test_size=cfg.holdout_fraction, stratify=corpus_labels, random_state=cfg.seed
    )
    tr, te = np.sort(tr), np.sort(te)
    x, y = corpus_images[tr], corpus_labels[tr]
    n_pool = 0
    if method == "simclr" and pool_images is not None:
        if pool_images.shape[1:] != corpus_images.shape[1:]:
            raise ValueError(
                f"curated pool images are {pool_images.shape[1:]}, the corpus "
                f"{corpus_images.shape[1:]}: curate both at data.image_size"
            )
        n_pool = len(pool_images)
        x = np.concatenate([x, pool_images])
        y = np.concatenate([y, np.full(n_pool, -1, y.dtype)])
    spec = make_spec(model, cfg, n_classes, len(x))
    start = time.perf_counter()
    params, curve = pretrain(spec, x, y, cfg.seed, log)
    seconds = time.perf_counter() - start
    accuracy = evaluate(
        spec, params, corpus_images[tr], corpus_labels[tr],
        corpus_images[te], corpus_labels[te], cfg.seed,
    )  # fmt: skip
    meta = {
        "method": method,
        "widths": list(spec.model.widths),
        "stem": spec.model.stem,
        "dense": spec.model.dense,
        "image_size": int(corpus_images.shape[1]),
        **accuracy,
    }
    save_encoder(encoder_out, train.trunk_of(params), meta)
    metrics = {
        **meta,
        "params": to_dict(cfg),
        "corpus_train_images": int(len(tr)),
        "corpus_holdout_images": int(len(te)),
        "pool_images": n_pool,
        "classes": int(n_classes),
        "steps": spec.total_steps,
        "seconds": round(seconds, 1),
        "images_per_second": round(spec.total_steps * spec.batch_size / seconds, 1),
        "encoder": str(encoder_out),
        "curve": curve,
    }
    io.write_json(metrics_out, metrics)
    return metrics

"""A scikit-learn classifier wrapping the CNN: what modAL's learners and committees drive.

Input contract (checked once, here, with one-line errors):

- ``X``: images of shape (N, H, W, 3), either **uint8** (as stored in
  ``curated/``) or **floating point in [0, 1]**, which is quantised to the
  256 uint8 levels (exact for images that came from uint8) so both spellings
  share one compiled program. No NaN/infinity, N >= 1; ``predict_*`` wants
  the H x W the model was fitted on.
- ``y``: 1-D, same length as ``X``, every label one of ``classes``, and at
  least two distinct classes present.

``classes`` is given up front (default ``(0, 1)``; ``from_config`` passes one label per
``data.classes``), so the columns of
``predict_proba`` are always ``classes_`` in that order, even for a labelled
set that lacks some class. ``classes=None`` takes the sorted labels seen in
``y`` instead.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from foxdog.config import (
    ModelConfig,
    PretrainConfig,
    TrainConfig,
    encoder_path,
    typiclust_encoder_path,
)
from foxdog.model import train
from foxdog.model.encoder import check_architecture, load_encoder


def check_images(X: Any, name: str = "X") -> np.ndarray:
    """Validate an image batch and return it as uint8 (N, H, W, 3); raise ValueError otherwise."""
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[-1] != 3:
        raise ValueError(f"{name} must be images of shape (N, H, W, 3), got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: need at least one image")
    if X.dtype == np.uint8:
        return X
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or floating point in [0, 1], got dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    lo, hi = float(X.min()), float(X.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} is floating point but not in [0, 1] (min {lo:g}, max {hi:g})")
    return np.rint(X * 255.0).astype(np.uint8)


@functools.cache
def _pooled_fn(model: train.ModelSpec) -> Callable[[Any, jax.Array], jax.Array]:
    gdef = train.graphdef(model)

    @jax.jit
    def pooled(params: Any, images: jax.Array) -> jax.Array:
        return nnx.merge(gdef, params).trunk(images)

    return pooled


def _row_keys(X: np.ndarray) -> list[bytes]:
    # Content keys: the pool shrinks and the labelled set grows between rounds, so the
    # cache is by image, not by batch (16-byte BLAKE2b of the pixels and their shape).
    shape = str(X.shape[1:]).encode()
    return [hashlib.blake2b(shape + row.tobytes(), digest_size=16).digest() for row in X]


class FlaxCNNClassifier(ClassifierMixin, BaseEstimator):
    """Small Flax CNN image classifier with the scikit-learn estimator API.

    ``fit`` always trains from scratch from the weights ``seed`` gives, for
    ``max(steps, ceil(epochs * n / batch_size))`` AdamW steps of ``batch_size``
    augmented images (``epochs=0``: exactly ``steps``); the compiled code is
    shared across labelled-set sizes, step counts, instances and clones.
    Same data, hyper-parameters and seed give bitwise-identical predictions.

    Fitted attributes: ``classes_``, ``params_`` (the network's parameters),
    ``image_shape_`` (H, W, 3), ``loss_curve_`` (per-step training loss) and
    ``fit_seconds_``.

    ``stem`` is the space-to-depth factor applied to the input before the first
    convolution (2: 32x32x3 -> 16x16x12). It halves the cost of a fit on this
    CPU for no measured loss of accuracy; see ``benchmarks/README.md``.

    ``start``: ``"scratch"`` initialises every weight from ``seed``; any other
    value (``"selfsup"``, ``"transfer"``) loads the conv trunk from the encoder
    file ``encoder`` (:mod:`foxdog.model.encoder`) and initialises only the head
    (hidden + output layer) from ``seed``, so for a given seed every strategy
    still starts from the same weights. The trunk is then fine-tuned with
    ``trunk_lr`` times the head's learning rate (1: fully, 0: frozen).

    ``embed_encoder``: the encoder file whose trunk, as loaded and never trained, gives
    :meth:`pretrained_embed` (what TypiClust clusters); ``None``: ``encoder``.
    ``from_config`` passes the registry's choice for the start
    (:data:`foxdog.registry.TYPICLUST_METHOD`: the start's own encoder, SimCLR's for
    scratch, which has none).
    """

    # The defaults are params.yaml's (through foxdog.config's dataclasses, whose defaults
    # a test holds equal to the committed file): one set of defaults, not two.
    def __init__(
        self,
        widths: tuple[int, ...] = ModelConfig.widths,
        dense: int = ModelConfig.dense,
        dropout: float = ModelConfig.dropout,
        stem: int = ModelConfig.stem,
        batch_size: int = TrainConfig.batch_size,
        steps: int = TrainConfig.steps,
        epochs: float = TrainConfig.epochs,
        learning_rate: float = TrainConfig.learning_rate,
        weight_decay: float = TrainConfig.weight_decay,
        warmup_steps: int = TrainConfig.warmup_steps,
        flip: bool = TrainConfig.flip,
        max_shift: int = TrainConfig.max_shift,
        seed: int = 0,
        classes: tuple | None = (0, 1),
        start: str = "scratch",
        encoder: str | None = None,
        trunk_lr: float = ModelConfig.trunk_lr,
        tta_flip: bool = ModelConfig.tta_flip,
        embed_encoder: str | None = None,
    ):
        self.widths = widths
        self.dense = dense
        self.dropout = dropout
        self.stem = stem
        self.batch_size = batch_size
        self.steps = steps
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.flip = flip
        self.max_shift = max_shift
        self.seed = seed
        self.classes = classes
        self.start = start
        self.encoder = encoder
        self.trunk_lr = trunk_lr
        self.tta_flip = tta_flip
        self.embed_encoder = embed_encoder

    @classmethod
    def from_config(
        cls,
        model: ModelConfig,
        train: TrainConfig,
        seed: int = 0,
        steps: int | None = None,
        pretrain: PretrainConfig | None = None,
        start: str = "scratch",
        n_classes: int = 2,
    ) -> FlaxCNNClassifier:
        """Build from ``params.yaml`` sections; ``steps`` overrides ``train.steps`` (baseline).

        ``start`` is one of ``active.starts``; its encoder is
        ``<pretrain.encoder_dir>/<method>.msgpack``, its TypiClust embedding's encoder
        :func:`foxdog.config.typiclust_encoder_path`. ``n_classes`` is
        ``len(data.classes)``: labels are ``0 .. n_classes - 1``.
        """
        pretrain = pretrain or PretrainConfig()
        encoder = None
        if start != "scratch":
            encoder = str(encoder_path(pretrain, start))
        return cls(
            embed_encoder=str(typiclust_encoder_path(pretrain, start)),
            classes=tuple(range(n_classes)),
            start=start,
            encoder=encoder,
            trunk_lr=model.trunk_lr,
            tta_flip=model.tta_flip,
            stem=model.stem,
            widths=tuple(model.widths),
            dense=model.dense,
            dropout=model.dropout,
            batch_size=train.batch_size,
            steps=train.steps if steps is None else steps,
            epochs=train.epochs,
            learning_rate=train.learning_rate,
            weight_decay=train.weight_decay,
            warmup_steps=train.warmup_steps,
            flip=train.flip,
            max_shift=train.max_shift,
            seed=seed,
        )

    # ------------------------------------------------------------ specs

    def _model_spec(self, n_classes: int) -> train.ModelSpec:
        widths = tuple(int(w) for w in self.widths)
        if not widths or min(widths) < 1:
            raise ValueError(
                f"widths must be a non-empty tuple of positive ints, got {self.widths}"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if int(self.stem) < 1:
            raise ValueError(f"stem must be >= 1, got {self.stem}")
        return train.ModelSpec(
            widths, int(self.dense), float(self.dropout), n_classes, int(self.stem)
        )

    def _train_spec(self, n_classes: int) -> train.TrainSpec:
        if self.batch_size < 1 or self.steps < 1:
            raise ValueError(
                f"batch_size and steps must be >= 1, got {self.batch_size}, {self.steps}"
            )
        if not self.epochs >= 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup_steps must be in [0, steps), got {self.warmup_steps}")
        return train.TrainSpec(
            model=self._model_spec(n_classes),
            batch_size=int(self.batch_size),
            steps=int(self.steps),
            epochs=float(self.epochs),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            warmup_steps=int(self.warmup_steps),
            flip=bool(self.flip),
            max_shift=int(self.max_shift),
            trunk_lr=1.0 if self.start == "scratch" else float(self.trunk_lr),
        )

    def _pretrained_trunk(self) -> dict | None:
        if self.start == "scratch":
            return None
        if self.start not in ("selfsup", "transfer"):
            raise ValueError(f"start must be scratch, selfsup or transfer, got {self.start!r}")
        if not self.trunk_lr >= 0:
            raise ValueError(f"trunk_lr must be >= 0, got {self.trunk_lr}")
        if not self.encoder:
            raise ValueError(f"start={self.start!r} needs an encoder file (encoder=...)")
        trunk, meta = load_encoder(self.encoder)
        check_architecture(self.encoder, meta, tuple(self.widths), int(self.stem))
        return trunk

    # ------------------------------------------------------------ fit

    def _encode_labels(self, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        if len(y) != n:
            raise ValueError(f"X and y have different lengths ({n} images, {len(y)} labels)")
        seen = np.unique(y)
        classes = seen if self.classes is None else np.asarray(self.classes)
        if len(classes) < 2 or len(np.unique(classes)) != len(classes):
            raise ValueError(f"classes must list at least two distinct labels, got {self.classes}")
        index = {c.item(): i for i, c in enumerate(classes)}
        unknown = [c.item() for c in seen if c.item() not in index]
        if unknown:
            raise ValueError(f"y contains labels {unknown} not in classes {tuple(index)}")
        if len(seen) < 2:
            raise ValueError(
                f"y has only one class ({seen[0].item()!r}); fit needs at least two classes"
            )
        return classes, np.array([index[v.item()] for v in y], dtype=np.int32)

    def fit(self, X: Any, y: Any) -> FlaxCNNClassifier:
        """Train on images ``X`` and labels ``y`` from the seed's weights (trunk: see ``start``)."""
        X = check_images(X)
        classes, codes = self._encode_labels(y, len(X))
        spec = self._train_spec(len(classes))
        min_side = spec.model.stem * 2 ** len(spec.model.widths)
        if min(X.shape[1:3]) < min_side:
            raise ValueError(f"images must be at least {min_side}x{min_side} pixels, got {X.shape}")
        trunk = self._pretrained_trunk()
        start = time.perf_counter()
        params, losses = train.fit_params(spec, X, codes, int(self.seed), trunk)
        self.fit_seconds_ = time.perf_counter() - start
        self.params_ = params
        self.loss_curve_ = losses
        self.classes_ = classes
        self.image_shape_ = tuple(X.shape[1:])
        return self

    # ------------------------------------------------------------ inference

    def _check_predict_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "params_")
        X = check_images(X)
        if tuple(X.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"X has images of shape {X.shape[1:]}; the model was fitted on {self.image_shape_}"
            )
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, float64 (N, n_classes), columns in ``classes_`` order.

        With ``tta_flip`` the mean of the probabilities of each image and its mirror image.
        """
        X = self._check_predict_input(X)
        spec = self._model_spec(len(self.classes_))
        proba = train.softmax64(train.predict_logits(spec, self.params_, X))
        if self.tta_flip:
            mirrored = train.softmax64(train.predict_logits(spec, self.params_, X[:, :, ::-1]))
            proba = (proba + mirrored) / 2
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label for each image."""
        proba = self.predict_proba(X)  # first: raises NotFittedError before classes_ is read
        return self.classes_[proba.argmax(axis=1)]

    def embed(self, X: Any) -> np.ndarray:
        """Penultimate features (N, dense) float32: pooled conv features after the hidden layer."""
        X = self._check_predict_input(X)
        return train.embed(self._model_spec(len(self.classes_)), self.params_, X)

    def pretrained_embed(self, X: Any) -> np.ndarray:
        """The start's own embedding, untouched by labels: what TypiClust clusters.

        Globally pooled trunk features (N, widths[-1]) float32 of the encoder
        ``embed_encoder`` (else ``encoder``) as loaded from its file, so the same before
        and after ``fit``. Cached on the instance per image and encoder file: it does not
        change between rounds.
        """
        X = check_images(X)
        path = self.embed_encoder or (self.encoder if self.start != "scratch" else None)
        if not path:
            raise ValueError(
                "pretrained_embed needs an encoder file (embed_encoder=...; from_config "
                "passes the start's, foxdog.registry.TYPICLUST_METHOD)"
            )
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{path}: encoder not found (TypiClust clusters its embedding: run "
                "`dvc repro pretrain`, or drop typiclust from the strategies)"
            )
        trunk, meta = load_encoder(path)  # ValueError names the file
        widths, stem = tuple(int(w) for w in self.widths), int(self.stem)
        check_architecture(path, meta, widths, stem)
        stat = Path(path).stat()
        key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, widths, stem)
        cache = getattr(self, "_pretrained_cache", None)
        if cache is None or cache[0] != key:
            # The head (dense, dropout, classes) does not touch the pooled trunk output.
            spec = train.ModelSpec(widths, 1, 0.0, 2, stem)
            weights = train.with_trunk(train.init_params(spec, jax.random.key(0)), trunk)
            cache = self._pretrained_cache = (key, spec, weights, {})
        _, spec, weights, rows = cache
        keys = _row_keys(X)
        first: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        todo = [k for k in first if k not in rows]
        if todo:
            fn = _pooled_fn(spec)
            out = train._chunked(lambda x, _: fn(weights, x), X[[first[k] for k in todo]])
            rows.update(zip(todo, np.asarray(out, dtype=np.float32), strict=True))
        return np.stack([rows[k] for k in keys])

    def predict_proba_mc(self, X: Any, n_samples: int, seed: int = 0) -> np.ndarray:
        """MC-dropout class probabilities, float64 (n_samples, N, n_classes), dropout active."""
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        X = self._check_predict_input(X)
        spec = self._model_spec(len(self.classes_))
        return train.softmax64(
            train.predict_logits_mc(spec, self.params_, X, int(n_samples), int(seed))
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Images (N, H, W, 3), not tabular 2-D arrays; see the module docstring.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.non_deterministic = False
        return tags

"""The small fox-vs-dog CNN, written with ``flax.nnx``.

Why ``nnx`` rather than ``linen``: the model is plain Python objects while the
training code still works on pure pytrees (``nnx.split`` once, ``nnx.merge``
inside ``jax.jit``), so compiled functions are cached per architecture and
shared by every estimator instance; ``merge`` runs only while tracing, so it
costs nothing per step. No measurement argued for ``linen``.

Shape of the network (``widths=(16, 32, 64)``, ``stem=2``)::

    uint8 (N, 32, 32, 3) -> space-to-depth (N, 16, 16, 12)
      -> [conv3x3 -> GroupNorm(1 group) -> ReLU -> 2x2 max-pool] per width   (16 -> 8 -> 4 -> 2)
      -> global average pool -> dense -> ReLU (= the embedding) -> dropout -> dense (logits)

Design choices, measured on the project's 2-core CPU (``benchmarks/README.md``):

- **Space-to-depth stem**: 2x2 pixel blocks become 12 channels before the
  first convolution. Training runs ~2.7x faster than with the first block at
  full resolution (which is memory-bound), at equal accuracy within seed noise.
- **GroupNorm with one group** (a per-image layer norm over H, W, C): no batch
  statistics, so training and inference compute the same function, MC-dropout
  needs no frozen statistics, and a prediction never depends on what else is
  in its batch. With a per-pixel channel LayerNorm, the cheapest normaliser
  tried (8 groups: +25 % step time).
- **Dropout only in the head**, so MC-dropout computes the convolutional trunk
  once and re-samples only the last layer (``n_samples`` small matmuls): that
  is what makes BALD cheap.
- Plain ``nnx.Conv`` (XLA convolutions): fastest here *provided the training
  step is not inside ``lax.scan``* (see :mod:`foxdog.model.train`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

# Fixed input standardisation: photos' channel means sit near 0.45 and spreads
# near 0.25; exact per-dataset values would tie the model to one curation run.
_MEAN = 0.45
_STD = 0.25


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2x2 max-pool, stride 2; an odd last row/column is dropped (as 'VALID' pooling does)."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2, :]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def space_to_depth(x: jax.Array, factor: int) -> jax.Array:
    """(N, H, W, C) -> (N, H/f, W/f, f*f*C): down-sampling that drops no pixel (crops to f)."""
    if factor == 1:
        return x
    n, h, w, c = x.shape
    h, w = h // factor, w // factor
    x = x[:, : h * factor, : w * factor, :].reshape(n, h, factor, w, factor, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, factor * factor * c)


def standardise(images: jax.Array) -> jax.Array:
    """uint8 pixels -> float32, roughly zero-mean unit-variance."""
    return (images.astype(jnp.float32) * (1.0 / 255.0) - _MEAN) * (1.0 / _STD)


class ConvBlock(nnx.Module):
    """conv -> GroupNorm(1 group) -> ReLU -> 2x2 max-pool: halves the resolution."""

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(
            in_features,
            out_features,
            (3, 3),
            padding="SAME",
            kernel_init=nnx.initializers.he_normal(),
            rngs=rngs,
        )
        self.norm = nnx.GroupNorm(out_features, num_groups=1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return max_pool_2x2(jax.nn.relu(self.norm(self.conv(x))))


class CNN(nnx.Module):
    """Conv trunk + dense head; see the module docstring for the architecture."""

    def __init__(
        self,
        widths: Sequence[int],
        dense: int,
        dropout: float,
        n_classes: int = 2,
        stem: int = 2,
        *,
        rngs: nnx.Rngs,
    ):
        self.stem = stem
        chans = (3 * stem * stem, *widths)
        self.blocks = nnx.List(
            [ConvBlock(a, b, rngs=rngs) for a, b in zip(chans[:-1], chans[1:], strict=True)]
        )
        self.hidden = nnx.Linear(
            chans[-1], dense, kernel_init=nnx.initializers.he_normal(), rngs=rngs
        )
        self.dropout = nnx.Dropout(dropout)
        self.out = nnx.Linear(dense, n_classes, rngs=rngs)

    def trunk(self, images: jax.Array) -> jax.Array:
        """uint8 (N, H, W, 3) -> globally pooled conv features (N, widths[-1])."""
        x = space_to_depth(standardise(images), self.stem)
        for block in self.blocks:
            x = block(x)
        return x.mean(axis=(1, 2))

    def embed(self, features: jax.Array) -> jax.Array:
        """Pooled features -> the penultimate representation (N, dense), before dropout."""
        return jax.nn.relu(self.hidden(features))

    def classify(self, embedding: jax.Array, dropout_key: jax.Array | None = None) -> jax.Array:
        """Embedding -> logits; dropout is active exactly when a key is given."""
        x = self.dropout(embedding, deterministic=dropout_key is None, rngs=dropout_key)
        return self.out(x)

    def __call__(self, images: jax.Array, dropout_key: jax.Array | None = None) -> jax.Array:
        return self.classify(self.embed(self.trunk(images)), dropout_key)

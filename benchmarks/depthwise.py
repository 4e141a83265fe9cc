"""Depthwise convolutions on XLA:CPU: grouped convolution vs shifted products, and one batch.

EfficientNet-Lite0's depthwise layers, batch 32, at the shapes the 224-px network runs:
XLA's ``feature_group_count`` convolution against :func:`foxdog.model.effnet.depthwise_conv`
(k*k shifted elementwise products), best of 3 after compiling, with the largest absolute
difference. With ``--batch``, also the ``embed`` stage's two parts for one batch of 32
curated photos: decoding (sequential) and the network's forward pass.

    python benchmarks/depthwise.py [--batch] [--raw-dir data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from foxdog.model import effnet

SHAPES = ((112, 32, 3, 1), (112, 96, 3, 2), (56, 144, 3, 1), (28, 240, 5, 1), (7, 1152, 5, 1))


def grouped(x: jax.Array, w: jax.Array, stride: int) -> jax.Array:
    """XLA's grouped convolution, as ``nnx.Conv(feature_group_count=C, padding="SAME")``."""
    return jax.lax.conv_general_dilated(
        x,
        w,
        (stride, stride),
        "SAME",
        feature_group_count=x.shape[-1],
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )


def best_of(fn, *args, repeats: int = 3) -> tuple[float, np.ndarray]:  # noqa: ANN001
    """Best wall time of ``fn(*args)`` after one compiling call, and its result."""
    out = fn(*args).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args).block_until_ready()
        times.append(time.perf_counter() - start)
    return min(times), np.asarray(out)


def layers() -> None:
    rng = np.random.default_rng(0)
    for hw, c, k, s in SHAPES:
        x = jnp.asarray(rng.standard_normal((32, hw, hw, c)), jnp.float32)
        w = jnp.asarray(rng.standard_normal((k, k, 1, c)), jnp.float32)
        t_g, y_g = best_of(jax.jit(grouped, static_argnums=2), x, w, s)
        t_s, y_s = best_of(jax.jit(effnet.depthwise_conv, static_argnums=2), x, w, s)
        print(
            f"{hw}x{hw}x{c} k{k} s{s}: grouped {t_g * 1000:.0f} ms, shifted {t_s * 1000:.0f} ms "
            f"({t_g / t_s:.1f}x), max|diff| {np.abs(y_g - y_s).max():.1e}"
        )


def batch(raw_dir: Path) -> None:
    from foxdog.config import load_params
    from foxdog.model.embed import decode_photo, read_manifest

    params = load_params("params.yaml")
    rows = read_manifest(Path(params.data.out_dir)).iloc[:32]
    start = time.perf_counter()
    images = np.stack([decode_photo(raw_dir, row, params) for _, row in rows.iterrows()])
    decode = time.perf_counter() - start
    model = effnet.pretrained()
    effnet.features(images, model)  # compile
    forward = min(_timed(lambda: effnet.features(images, model)) for _ in range(2))
    print(f"one batch of 32: decode {decode:.2f} s (sequential), forward {forward:.2f} s")


def _timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", action="store_true", help="also time one embed batch")
    ap.add_argument("--raw-dir", default="data", help="the raw photos (data.raw_dir)")
    args = ap.parse_args()
    layers()
    if args.batch:
        batch(Path(args.raw_dir))


if __name__ == "__main__":
    main()

"""Is fine-tuning EfficientNet-Lite0's last layer worth it at active-learning sizes?

Usage (from the project root, after ``dvc repro embed``)::

    python benchmarks/finetune.py --sizes 100,500 --seeds 0,1,2

Linear probe, then fine-tune (LP-FT, Kumar et al. 2022): for each labelled-set size
and seed (random labelled sets from the pool), fit the frozen-feature head
(:class:`foxdog.model.head.FeatureHeadClassifier`, the imagenet start's round),
then start from it and fine-tune the head convolution (320 -> 1280, 1x1; batch
norm kept on its running statistics) together with the classifier on cached
7 x 7 x 320 block outputs. Prints validation accuracy of both and seconds per fit.
The block outputs of pool and validation photos are computed once (decoded by
the embed stage's code path) and cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from foxdog.config import load_params
from foxdog.model import effnet
from foxdog.model.embed import decode_photo, read_manifest
from foxdog.model.head import FeatureHeadClassifier


@functools.partial(jax.jit, static_argnums=0)
def _trunk(graphdef: nnx.GraphDef, state: nnx.State, images: jax.Array) -> jax.Array:
    model = nnx.merge(graphdef, state)
    x = model.stem(effnet.scale_inputs(images))
    for block in model.blocks:
        x = block(x)
    return x


def block_outputs(params, split: str, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 7, 7, 320) last-block outputs and labels of one split, cached on disk."""
    path = cache / f"{split}_block.npy"
    manifest = read_manifest(Path(params.data.out_dir))
    rows = manifest[manifest["split"] == split]
    labels = rows["label"].to_numpy()
    if path.is_file():
        return np.load(path), labels
    graphdef, state = nnx.split(effnet.pretrained())
    raw = Path(params.data.raw_dir)
    out = []
    for start in range(0, len(rows), 32):
        chunk = rows.iloc[start : start + 32]
        images = np.stack([decode_photo(raw, row, params) for _, row in chunk.iterrows()])
        pad = np.zeros((32 - len(images), *images.shape[1:]), np.uint8)
        batch = np.concatenate([images, pad])
        out.append(np.asarray(_trunk(graphdef, state, batch))[: len(images)])
        print(f"\r{split}: {start + len(chunk)}/{len(rows)}", end="", flush=True)
    print()
    blocks = np.concatenate(out)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, blocks)
    return blocks, labels


class HeadFT(nnx.Module):
    """Head convolution + batch norm (running statistics) + ReLU6, pooled, then a classifier."""

    def __init__(self, model: effnet.EfficientNetLite0, w: np.ndarray, b: np.ndarray) -> None:
        self.head = model.head
        self.fc = nnx.Linear(w.shape[0], w.shape[1], rngs=nnx.Rngs(0))
        self.fc.kernel.set_value(jnp.asarray(w))
        self.fc.bias.set_value(jnp.asarray(b))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc(self.head(x).mean(axis=(1, 2)))


def finetune(x, y, head: FeatureHeadClassifier, steps: int, lr: float, batch: int, seed: int):
    """Fine-tune from the fitted linear head; return a predict function."""
    p = head.params_
    w, b = np.asarray(p["first"]["kernel"][...]), np.asarray(p["first"]["bias"][...])
    module = HeadFT(effnet.build(), w, b)
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    tx = optax.adamw(lr, weight_decay=1e-4)
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, xb, yb):
        def loss(q):
            logits = nnx.merge(graphdef, q, rest)(xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        updates, opt = tx.update(jax.grad(loss)(params), opt, params)
        return optax.apply_updates(params, updates), opt

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.choice(len(x), size=min(batch, len(x)), replace=False)
        params, opt = step(params, opt, x[idx], y[idx])

    @jax.jit
    def predict(params, xb):
        return nnx.merge(graphdef, params, rest)(xb).argmax(-1)

    return lambda xs: np.concatenate(
        [np.asarray(predict(params, xs[i : i + 256])) for i in range(0, len(xs), 256)]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,500")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cache", type=Path, default=Path("build/finetune"))
    args = ap.parse_args()
    params = load_params()
    feats = {s: np.load(Path(params.embed.out_dir) / f"{s}.npy") for s in ("pool", "val")}
    (xp, yp), (xv, yv) = (block_outputs(params, s, args.cache) for s in ("pool", "val"))
    for size in (int(v) for v in args.sizes.split(",")):
        for seed in (int(v) for v in args.seeds.split(",")):
            lab = np.random.default_rng(seed).choice(len(yp), size=size, replace=False)
            head = FeatureHeadClassifier(seed=seed).fit(feats["pool"][lab], yp[lab])
            lp = np.mean(head.predict(feats["val"]) == yv)
            start = time.perf_counter()
            predict = finetune(xp[lab], yp[lab], head, args.steps, args.lr, args.batch, seed)
            secs = time.perf_counter() - start
            ft = np.mean(predict(xv) == yv)
            print(
                f"labels {size:4d} seed {seed}: val accuracy frozen head {lp:.3f}, "
                f"+ head-conv fine-tune {ft:.3f} ({ft - lp:+.3f}), {secs:.1f} s per fine-tune"
            )


if __name__ == "__main__":
    main()

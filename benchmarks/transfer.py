"""Does a pretrained trunk help at AL sizes? Fine-tuned vs scratch on a validation split.

Usage (from the project root, after ``foxdog pretrain-data`` and ``foxdog pretrain``)::

    python benchmarks/transfer.py --curated curated --encoder models/supervised.msgpack

Validation: the curated ``val`` split when ``curate`` wrote one (group-aware);
otherwise a split carved from the *pool* (stratified by label, group-agnostic:
near-duplicate groups may straddle it, which flatters every regime alike).
``--encoder`` takes a comma-separated list of encoder files. For each seed and
labelled-set size it draws the same random labelled set from the pool and fits
scratch and each pretrained start at each ``--trunk-lr``; prints validation
accuracy (mean ± sd over seeds) and seconds per fit. The test split is never read.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from foxdog.config import load_params
from foxdog.data.arrays import load_split
from foxdog.model.estimator import FlaxCNNClassifier


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--curated", default="curated")
    ap.add_argument("--encoder", default="models/supervised.msgpack")
    ap.add_argument("--sizes", default="100,500")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--trunk-lr", default="1.0,0.1,0.0")
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--epochs", help="comma-separated train.epochs values, default: params.yaml")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    pool = load_split(args.curated, "pool")
    val_file = Path(args.curated) / "val_images.npy"
    if val_file.is_file():
        val_x, val_y = np.load(val_file), np.load(Path(args.curated) / "val_labels.npy")
        rest, source = np.arange(len(pool)), f"curated val split ({val_file})"
    else:
        rest, val = train_test_split(
            np.arange(len(pool)), test_size=args.val_fraction, stratify=pool.labels, random_state=0
        )
        val_x, val_y, source = pool.images[val], pool.labels[val], "carved from the pool"
    regimes = [("scratch", "", 1.0)] + [
        ("transfer", enc, float(v))
        for enc in args.encoder.split(",")
        for v in args.trunk_lr.split(",")
    ]
    print(f"{len(rest)} pool images to label from; {len(val_y)} validation, {source}")
    epochs = [float(e) for e in args.epochs.split(",")] if args.epochs else [params.train.epochs]
    for size, (start, enc, lr), ep in (
        (int(s), r, e) for s in args.sizes.split(",") for r in regimes for e in epochs
    ):
        accs, tta, secs = [], [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            lab = np.random.default_rng(seed).choice(rest, size, replace=False)
            clf = FlaxCNNClassifier.from_config(params.model, params.train, seed=seed)
            if start != "scratch":
                clf.set_params(start=start, encoder=enc, trunk_lr=lr)
            clf.set_params(epochs=ep, tta_flip=False)
            t = time.perf_counter()
            clf.fit(pool.images[lab], pool.labels[lab])
            secs.append(time.perf_counter() - t)
            accs.append(clf.score(val_x, val_y))
            tta.append(clf.set_params(tta_flip=True).score(val_x, val_y))
        name = start if start == "scratch" else f"{Path(enc).stem} trunk_lr={lr:g}"
        mean, sd = np.mean(accs), np.std(accs, ddof=1)
        print(
            f"{size:4d} labels  {name:24s} epochs {ep:g}  val acc {mean:.3f} ± {sd:.3f}"
            f"  ({', '.join(f'{a:.3f}' for a in accs)})  flip-TTA {np.mean(tta):.3f}"
            f" (paired {np.mean(np.subtract(tta, accs)):+.3f})  {np.mean(secs):.2f} s/fit",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Measure per-round accuracy dips, their noise budget, and variance remedies on validation.

Usage (from the project root)::

    python benchmarks/dips.py                         # from the committed results only
    python benchmarks/dips.py --refit                 # the refit experiment (validation)

**Part 1, from the committed results** (``results/<start>/<strategy>/rounds.csv``
and ``results/ablations/*/*/rounds.csv``): for each start (or condition) and
strategy, the share of consecutive rounds whose accuracy goes *down*, on the test
split (``accuracy``) and on the validation split (``val_accuracy``), and the size of
those drops, also by labelled-set size. Then a noise budget per start (rounds >= 2):
the seed-to-seed SD of a round's change (around that round's mean change, pooled over
strategies and rounds) against the part the finite
split alone explains. Two models scored on the same n images differ by
``(b - c) / n`` (b, c: images only one of them gets right); its sampling SD is at
most ``sqrt(q / n)`` for a disagreement rate q, and ``kappa_stop`` (Cohen's kappa of
consecutive rounds on the validation images) bounds q by ``(1 - kappa) / 2`` when
both models predict the majority class at least half the time. What the split does
not explain is training (and labelled-set) variance. The expected dip shares are
``mean Φ(-μ_r / σ)`` over rounds r, μ_r the mean change at round r, σ the round's SD
("if normal") or the split's bound alone ("from the split alone").

**Part 2, ``--refit``** (validation split only, scratch by default): the same
labelled set (a random prefix of the pool per ``--sets`` seed) refitted from
``--inits`` initial seeds at each size; the between-init SD of validation accuracy
is the training variance a round carries even when its labels do not change.
Candidates measured against the default fit (``params.yaml``): a debiased weight EMA
(``optax.ema``, read from the same fits, so free in training time; the fit loop is
``train.fit_params``' own, replicated here from its parts and checked bitwise), twice the
training (step floor and epochs doubled), and an ensemble of two initial seeds
(mean of their probabilities; twice the training). The test split is never opened
in part 2 (an audit hook refuses it).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import math
import sys
import time
from pathlib import Path

import jax
import numpy as np
import optax
import pandas as pd
from scipy import stats

from foxdog.config import load_params
from foxdog.data.arrays import load_split
from foxdog.model import train
from foxdog.model.estimator import FlaxCNNClassifier

N_TEST, N_VAL = 722, 289  # committed curated split sizes (checked against the results below)


# ---------------------------------------------------------------- part 1


def load_rounds(root: str = "results") -> pd.DataFrame:
    """Every committed rounds.csv, with a ``group`` column (condition, or ablation factor)."""
    frames = []
    for path in sorted(glob.glob(f"{root}/*/*/rounds.csv")) + sorted(
        glob.glob(f"{root}/ablations/*/*/rounds.csv")
    ):
        d = pd.read_csv(path)
        parts = Path(path).parts
        if parts[1] == "ablations":
            d["group"] = "ablation " + d["start"] + " noise " + d["label_noise"].astype(str)
        else:
            d["group"] = d["condition"] if "condition" in d else d["start"]
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def steps_of(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per seed and round r >= 1: the change of each metric from round r - 1."""
    keys = ["group", "strategy", "label_noise", "seed"]
    d = rounds.sort_values(keys + ["round"])
    out = d[keys + ["round", "n_labels", "kappa_stop"]].copy()
    for m in ("accuracy", "val_accuracy"):
        out[f"d_{m}"] = d.groupby(keys)[m].diff()
    return out.dropna(subset=["d_accuracy"])


def dip_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Share of dips and their sizes (points) per group and strategy, test and validation."""
    rows = []
    for (group, strategy), s in steps.groupby(["group", "strategy"], sort=False):
        row = {"group": group, "strategy": strategy, "steps": len(s)}
        for split, col in (("test", "d_accuracy"), ("val", "d_val_accuracy")):
            drops = -100 * s.loc[s[col] < 0, col]
            row[f"{split} dips %"] = 100 * len(drops) / len(s)
            row[f"{split} ≥2 pt %"] = 100 * (drops >= 2).sum() / len(s)
            row[f"{split} median dip"] = drops.median() if len(drops) else 0.0
            row[f"{split} p90 dip"] = drops.quantile(0.9) if len(drops) else 0.0
            row[f"{split} max dip"] = drops.max() if len(drops) else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def noise_budget(steps: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Seed-to-seed SD of a round's change vs the split's sampling SD bound, rounds >= 2.

    Round 1 (the jump from the initial set) is left out: its change is large and
    varies far more than the later ones. The SD is pooled over strategies within a
    round (their seeds share each round's expected change) and over rounds.
    """
    rows = []
    steps = steps[steps["round"] >= 2]
    for key, s in steps.groupby(by, sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        cell = s.groupby(["strategy", "label_noise", "round"])
        q = ((1 - s["kappa_stop"].clip(-1, 1)) / 2).clip(0, 1)
        for split, col, n in (("test", "d_accuracy", N_TEST), ("val", "d_val_accuracy", N_VAL)):
            mu = cell[col].transform("mean")
            resid2 = (s[col] - mu) ** 2
            by_round = pd.DataFrame({"r": s["round"], "ss": resid2, "cell": cell.ngroup()})
            per_round = by_round.groupby("r").agg(ss=("ss", "sum"), n=("ss", "size"))
            per_round["dof"] = per_round["n"] - by_round.groupby("r")["cell"].nunique()
            sd_round = np.sqrt(per_round["ss"] / per_round["dof"])
            total = math.sqrt(per_round["ss"].sum() / per_round["dof"].sum())
            sampling = np.sqrt(q / n)
            row[f"{split}: SD of change"] = 100 * total
            row[f"{split}: split SD ≤"] = 100 * math.sqrt((sampling**2).mean())
            row[f"{split}: split share of variance ≤ %"] = 100 * min(
                1.0, (sampling**2).mean() / total**2
            )
            row[f"{split}: dips observed %"] = 100 * (s[col] < 0).mean()
            sigma = s["round"].map(sd_round)
            row[f"{split}: dips if normal %"] = 100 * stats.norm.cdf(-mu / sigma).mean()
            row[f"{split}: dips from the split alone %"] = (
                100 * stats.norm.cdf(-mu / sampling.clip(lower=1e-9)).mean()
            )
        row["mean change (test)"] = 100 * s["d_accuracy"].mean()
        row["disagreement q ≤"] = q.mean()
        rows.append(row)
    return pd.DataFrame(rows)


def by_size(steps: pd.DataFrame, width: int) -> pd.DataFrame:
    """Dip share, mean change and the split SD bound by labelled-set size (bins of ``width``)."""
    s = steps[~steps["group"].str.startswith("ablation")]
    q = ((1 - s["kappa_stop"].clip(-1, 1)) / 2).clip(0, 1)
    bins = (s["n_labels"] - 1) // width * width + 1 if width > 1 else s["n_labels"]
    frame = pd.DataFrame(
        {
            "labels": bins,
            "test dips %": 100 * (s["d_accuracy"] < 0),
            "test dips ≥2 pt %": 100 * (s["d_accuracy"] <= -0.02),
            "val dips %": 100 * (s["d_val_accuracy"] < 0),
            "mean change (test, points)": 100 * s["d_accuracy"],
            "test split SD ≤ (points)": 100 * np.sqrt(q / N_TEST),
        }
    )
    return frame.groupby("labels").mean()


# ---------------------------------------------------------------- part 2

TEST_ARRAYS = {"test_images.npy", "test_labels.npy", "test.npy"}


def refuse_test_reads(event: str, args: tuple) -> None:
    """Audit hook: fail on any attempt to open the test split's images or labels."""
    if event == "open" and isinstance(args[0], (str, Path)) and Path(args[0]).name in TEST_ARRAYS:
        raise RuntimeError(f"dips: refused to open {args[0]} (test split)")


def fit_with_ema(
    clf: FlaxCNNClassifier, images: np.ndarray, labels: np.ndarray, decay: float
) -> tuple[object, object]:
    """``train.fit_params``' loop, also keeping a debiased EMA of the weights (optax.ema).

    Same steps, batches and keys as ``fit_params``, so the plain parameters are the
    estimator's own fit (checked by the caller on the first fit).
    """
    spec = clf._train_spec(2)
    fns = train._train_fns(dataclasses.replace(spec, steps=1, epochs=0.0))
    steps = train.n_steps(spec, len(images))
    seed = int(clf.seed)
    k_init, k_train = jax.random.split(jax.random.key(seed))
    params = train.init_params(spec.model, k_init)
    state = train.State(params, fns.opt_init(params))
    ema = optax.ema(decay, debias=True)
    ema_update = jax.jit(lambda p, s: ema.update(p, s))
    ema_state = ema.init(params)
    idx = train.batch_indices(len(images), steps, spec.batch_size, np.random.default_rng(seed))
    labels = np.asarray(labels, dtype=np.int32)
    for i, sel in enumerate(idx):
        state, _ = fns.step(state, images[sel], labels[sel], k_train, np.int32(i), np.int32(steps))
        averaged, ema_state = ema_update(state.params, ema_state)
    return state.params, averaged


def as_fitted(clf: FlaxCNNClassifier, params: object, shape: tuple) -> FlaxCNNClassifier:
    """The estimator with ``params`` as its fitted weights (for scoring)."""
    clf.params_, clf.classes_, clf.image_shape_ = params, np.array([0, 1]), shape
    return clf


def refit(args: argparse.Namespace) -> None:
    """Part 2: between-init SD and disagreement at a fixed labelled set, plain vs candidates."""
    sys.addaudithook(refuse_test_reads)
    params = load_params(args.params)
    pool = load_split(args.curated, "pool")
    val = load_split(args.curated, "val")
    inits = [int(s) for s in args.inits.split(",")]
    if len(inits) % 2:
        raise SystemExit("dips: --inits needs an even count (ensembles pair them)")
    shape = tuple(pool.images.shape[1:])
    ema_name = f"weight EMA {args.ema}"

    def make(seed: int, **kw: object) -> FlaxCNNClassifier:
        clf = FlaxCNNClassifier.from_config(
            params.model, params.train, seed=seed, pretrain=params.pretrain, start=args.start
        )
        return clf.set_params(**kw)

    print(
        f"refit: start {args.start}, labelled sets {args.sets}, inits {inits}, "
        f"validation {len(val)} images; test split never opened",
        flush=True,
    )
    # Compile the step, the EMA update and scoring outside the timed fits.
    warm = np.random.default_rng(0).permutation(len(pool))[:64]
    short = make(0, steps=int(params.train.warmup_steps) + 1, epochs=0)
    as_fitted(short, fit_with_ema(short, pool.images[warm], pool.labels[warm], args.ema)[0], shape)
    short.predict_proba(val.images)
    checked = False
    lines = []
    for size in (int(s) for s in args.sizes.split(",")):
        # Validation predictions per variant, keyed by (labelled-set seed, initial seed).
        pred: dict[str, dict[tuple[int, int], np.ndarray]] = {
            k: {} for k in ("default", ema_name, "2× training", "ensemble of 2")
        }
        secs: dict[str, list[float]] = {"default": [], "2× training": []}
        for set_seed in (int(s) for s in args.sets.split(",")):
            lab = np.random.default_rng(set_seed).permutation(len(pool))[:size]
            x, y = pool.images[lab], pool.labels[lab]
            proba = {}
            for seed in inits:
                clf = make(seed)
                t = time.perf_counter()
                plain, averaged = fit_with_ema(clf, x, y, args.ema)
                secs["default"].append(time.perf_counter() - t)
                proba[seed] = as_fitted(clf, plain, shape).predict_proba(val.images)
                if not checked:  # the replicated loop is the estimator's own fit
                    ref = make(seed).fit(x, y).predict_proba(val.images)
                    assert np.array_equal(ref, proba[seed]), "the loop differs from fit_params"
                    checked = True
                pred["default"][set_seed, seed] = proba[seed].argmax(1)
                pred[ema_name][set_seed, seed] = as_fitted(make(seed), averaged, shape).predict(
                    val.images
                )
                long = make(seed, steps=2 * params.train.steps, epochs=2 * params.train.epochs)
                t = time.perf_counter()
                long.fit(x, y)
                secs["2× training"].append(time.perf_counter() - t)
                pred["2× training"][set_seed, seed] = long.predict(val.images)
            for a, b in zip(inits[::2], inits[1::2], strict=True):
                pred["ensemble of 2"][set_seed, a] = ((proba[a] + proba[b]) / 2).argmax(1)
        cost = {
            "default": 1.0,
            ema_name: 1.0,
            "2× training": np.mean(secs["2× training"]) / np.mean(secs["default"]),
            "ensemble of 2": 2.0,
        }
        base = {k: float(np.mean(p == val.labels)) for k, p in pred["default"].items()}
        for name, p in pred.items():
            acc = {k: float(np.mean(v == val.labels)) for k, v in p.items()}
            gain = [acc[k] - base[k] for k in acc]
            diff = "—"
            if name != "default":
                m, lo, hi = mean_interval(gain)
                diff = f"{100 * m:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
            line = (
                f"| {size} | {name} | {np.mean(list(acc.values())):.3f} | "
                f"{100 * pooled_sd(acc):.1f} | {100 * disagreement(p):.1f} | {diff} "
                f"| {len(acc)} | {cost[name]:.2f}× |"
            )
            lines.append(line)
            print(line, flush=True)
    print(
        "\n| labels | fit | val accuracy | between-init SD (points) "
        "| between-init disagreement % | − default [95% t] | fits | training cost |\n"
        "|---:|---|---:|---:|---:|---|---:|---:|\n" + "\n".join(lines)
    )
    print(f"default fit {np.mean(secs['default']):.1f} s (with the EMA bookkeeping)")


def disagreement(pred: dict[tuple[int, int], np.ndarray]) -> float:
    """Mean share of validation images two fits of the same labelled set predict differently."""
    rates = [
        float(np.mean(pred[a] != pred[b]))
        for a in pred
        for b in pred
        if a[0] == b[0] and a[1] < b[1]
    ]
    return float(np.mean(rates)) if rates else math.nan


def pooled_sd(acc: dict[tuple[int, int], float]) -> float:
    """SD across initial seeds within each labelled set, pooled over the sets."""
    by_set: dict[int, list[float]] = {}
    for (set_seed, _), a in acc.items():
        by_set.setdefault(set_seed, []).append(a)
    ss = sum(((np.asarray(v) - np.mean(v)) ** 2).sum() for v in by_set.values())
    dof = sum(len(v) - 1 for v in by_set.values())
    return math.sqrt(ss / dof) if dof else math.nan


def mean_interval(x: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval."""
    d = np.asarray(x, dtype=np.float64)
    half = stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument(
        "--refit", action="store_true", help="run part 2 (fits, minutes) instead of part 1"
    )
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--curated", default="curated")
    ap.add_argument("--start", default="scratch")
    ap.add_argument("--sizes", default="110,510")
    ap.add_argument("--sets", default="0,1", help="labelled-set seeds (random pool prefixes)")
    ap.add_argument("--inits", default="0,1,2,3", help="initial seeds (an even count)")
    ap.add_argument("--ema", type=float, default=0.99, help="EMA decay per step")
    args = ap.parse_args(argv)

    if not args.refit:
        pd.set_option("display.width", 250, "display.max_columns", 30)
        pd.set_option("display.float_format", lambda v: f"{v:.1f}")
        steps = steps_of(load_rounds(args.results))
        print("Dips per group and strategy (points of accuracy; test n=722, val n=289):")
        print(dip_table(steps).to_markdown(index=False, floatfmt=".1f"))
        steps["kind"] = np.select(
            [steps["group"].str.startswith("imagenet"), steps["group"].str.startswith("abl")],
            ["head", "CNN ablations"],
            "CNN",
        )
        print("\nAll rounds of the CNN starts / their ablations / the head conditions:")
        print(
            dip_table(steps.assign(strategy="all").assign(group=steps["kind"])).to_markdown(
                index=False, floatfmt=".1f"
            )
        )
        print("\nBy labelled-set size (the change into that size; CNN starts, no ablations):")
        print(by_size(steps[steps["kind"] == "CNN"], 1).to_markdown(floatfmt=".1f"))
        print("\nBy labelled-set size, head conditions (50-label bins):")
        print(by_size(steps[steps["kind"] == "head"], 50).to_markdown(floatfmt=".1f"))
        print("\nNoise budget (SD of a round's change, points; split SD bound from kappa_stop):")
        table = noise_budget(steps, ["group"])
        print(table.to_markdown(index=False, floatfmt=".2f"))
        return
    refit(args)


if __name__ == "__main__":
    main()

"""Realistic fake pipeline outputs, for tests of the analysis and the report.

:func:`make_project` writes, under a root folder, exactly the files of
``docs/formats.md`` that the stages before ``analyze`` produce — ``curated/``,
``metrics/baseline/<start>.json`` per regime, ``results/<start>/<strategy>/`` and
``results/ablations/<factor>/<strategy>/`` — plus a matching ``params.yaml``.
Everything is seeded: the same arguments give the same bytes.

The learning curves are built so that tests can assert outcomes:

- every regime (``active.starts``) has its own floor, ceiling and full-pool accuracy
  (``REGIMES``): the pretrained starts are higher, ``transfer`` highest;
- in a regime every strategy starts from the same accuracy at round 0 (same initial set);
- ``random`` saturates slowly: from scratch it reaches 95% of the baseline accuracy
  (0.8805) late and never reaches 98% with the default protocol;
- ``margin`` learns 2.5 times as fast per queried label (better than random on every
  seed: with ``n`` seeds its exact paired permutation p-value is ``2 / 2**n``);
- ``entropy`` follows random's curve, alternately 0.0025 above and below it by
  seed (indistinguishable: ties on every seed, paired p-value far from 0.05);
- ``least_confident`` makes exactly margin's run (same picks, same numbers), as
  identical arms do in the real pipeline (``TWINS``);
- other registry names get an in-between speed-up;
- ``speedups={start: {strategy: factor}}`` overrides the speed-ups in one regime (a
  factor of 1.0 makes the strategy random's indistinguishable twin there).

Rounds carry every column of ``ROUND_COLUMNS``, the stop-set agreement
``kappa_stop``, ``val_accuracy`` and ``machine`` included; queries every column of
``QUERY_COLUMNS``. ``classes`` (default ``("dog", "fox")``) may name any number of
classes; labels are class indices.

Each seed has an offset shared by all strategies and regimes (same initial set), so
paired comparisons across seeds behave as in the real pipeline. One dog breed name
holds ``<script>`` and ``&`` so the report can test escaping.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from foxdog.active.protocol import QUERY_COLUMNS, ROUND_COLUMNS
from foxdog.config import (
    AblationConfig,
    ActiveConfig,
    BalanceConfig,
    BaselineConfig,
    DataConfig,
    Params,
    to_dict,
)

# The breed name the report must escape (HTML and Markdown alike).
NASTY_BREED = '<script>alert("woof")</script> & Co'

BASELINE_ACCURACY = 0.8805  # full-pool accuracy from scratch
FLOOR = 0.5  # accuracy with no labels (from scratch)
CEILING = 0.872  # accuracy the fake curves saturate towards (from scratch)
# Per regime: (floor, ceiling, full-pool accuracy). A pretrained trunk starts higher.
REGIMES = {
    "scratch": (FLOOR, CEILING, BASELINE_ACCURACY),
    "transfer": (0.62, 0.925, 0.94),
    "selfsup": (0.56, 0.9, 0.915),
}
STARTS = ("scratch", "transfer", "selfsup")
TAU = 55.0  # labels for random's curve to close 1 - 1/e of the gap
# Labels-worth of random sampling that one label queried by the strategy is worth.
SPEEDUP = {"random": 1.0, "entropy": 1.0, "margin": 2.5}
DEFAULT_SPEEDUP = 1.5
# Strategies that make exactly the same run as another (same picks, same numbers):
# with two classes least-confident, margin and entropy sampling coincide.
TWINS = {"least_confident": "margin"}

FOX_SOURCES = ("randomfox_ca", "awa2_begert")
DOG_SOURCES = (
    ("awa2_begert", "collie"),
    ("imagewoof2_320", "beagle"),
    ("imagewoof2_320", NASTY_BREED),
)


def _rng(*keys: int | str) -> np.random.Generator:
    """A generator keyed by ``keys``: strings hashed stably (``hash()`` is salted per process)."""
    ints = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(ints)


# --- curated/ -----------------------------------------------------------------------


def _images(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Smooth random colour fields (foxes redder), uint8 (n, size, size, 3)."""
    coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float64)
    up = np.repeat(np.repeat(coarse, -(-size // 4), axis=1), -(-size // 4), axis=2)
    up = up[:, :size, :size] + rng.normal(0, 10, (n, size, size, 3))
    return np.clip(up, 0, 255).astype(np.uint8)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _contact(images: np.ndarray, columns: int = 8) -> np.ndarray:
    n, s = len(images), images.shape[1]
    rows = max(1, -(-n // columns))
    sheet = np.full((rows * s, columns * s, 3), 255, np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, columns)
        sheet[r * s : (r + 1) * s, c * s : (c + 1) * s] = img
    return sheet


def _source(name: str, i: int) -> tuple[str, str]:
    """(source, breed) of the i-th image of class ``name``."""
    if name == "fox":
        return FOX_SOURCES[i % len(FOX_SOURCES)], "red fox"
    if name == "dog":
        return DOG_SOURCES[i % len(DOG_SOURCES)]
    return f"{name}_photos", name


def write_curated(
    out: Path,
    *,
    n_pool: int,
    n_test: int,
    image_size: int,
    seed: int,
    classes: Sequence[str] = ("dog", "fox"),
) -> pd.DataFrame:
    """Write ``curated/`` (arrays, manifest, datasheet, contact sheets); return the manifest."""
    rng = _rng(seed, "curated")
    n = n_pool + n_test
    labels = np.zeros(n, np.int64)
    if len(classes) == 2:
        labels[rng.permutation(n)[: n // 2]] = 1
    else:
        labels = rng.permutation(n) % len(classes)
    images = _images(rng, n, image_size)
    for k in range(1, len(classes)):  # each class a little redder than the one before
        images[labels == k, ..., 0] = np.maximum(images[labels == k, ..., 0], 100 + 50 * k)
    ids = np.array([hashlib.sha256(img.tobytes()).hexdigest()[:16] for img in images])
    split = np.array(["pool"] * n_pool + ["test"] * n_test)
    rows = []
    for i in range(n):
        name = classes[labels[i]]
        source, breed = _source(name, i)
        folder = f"{name}/{source}"
        if name == "dog":
            folder += "/" + ("script_breed" if breed == NASTY_BREED else breed)
        rows.append(
            {
                "id": ids[i],
                "label": int(labels[i]),
                "label_name": name,
                "source": source,
                "breed": breed,
                "split": split[i],
                "group": i,
                "path": f"{folder}/img_{i:04d}.jpg",
                "width": 120 + i % 7,
                "height": 100 + i % 5,
                "format": "JPEG",
            }
        )
    manifest = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    for name, mask in (("pool", split == "pool"), ("test", split == "test")):
        np.save(out / f"{name}_images.npy", images[mask], allow_pickle=False)
        np.save(out / f"{name}_labels.npy", labels[mask], allow_pickle=False)
        np.save(out / f"{name}_ids.npy", ids[mask].astype(str), allow_pickle=False)
    manifest.to_csv(out / "manifest.csv", index=False, lineterminator="\n")
    for label, name in enumerate(classes):
        (out / f"contact_{name}.png").write_bytes(_png(_contact(images[labels == label][:16])))
    sheet = datasheet(manifest, classes, image_size)
    (out / "datasheet.json").write_text(json.dumps(sheet, indent=2, sort_keys=True) + "\n")
    return manifest


def datasheet(manifest: pd.DataFrame, classes: Sequence[str], size: int) -> dict[str, Any]:
    """A plausible ``datasheet.json`` for ``manifest`` (the shape the curate stage writes).

    Class-neutral like the stage's: ``classes`` and their contact sheets, counts per class,
    and two dropped files named after the first two classes.
    """
    first = classes[0]
    dropped = [
        {
            "path": f"{first}/alpha_src/truncated.jpg",
            "label": first,
            "source": "alpha_src",
            "reason": "not a decodable image (JPEG: image file is truncated)",
        },
        {
            "path": f"{classes[1]}/beta_src/tiny.jpg",
            "label": classes[1],
            "source": "beta_src",
            "reason": "too small: 1x1",
        },
    ]
    by_source = []
    for (label, source), part in manifest.groupby(["label_name", "source"]):
        by_source.append(
            {
                "label": label,
                "source": source,
                "kept": len(part),
                "dropped": sum(d["label"] == label and d["source"] == source for d in dropped),
                **{s: int((part["split"] == s).sum()) for s in manifest["split"].unique()},
            }
        )
    count = lambda part: {  # noqa: E731 - a one-line helper
        k: int(v) for k, v in part["label_name"].value_counts().sort_index().items()
    }
    return {
        "classes": list(classes),
        "contact_sheets": [f"contact_{c}.png" for c in classes],
        "image_size": size,
        "counts": {
            "kept": count(manifest),
            "dropped": len(dropped),
            "by_source": by_source,
            "by_split": {s: count(part) for s, part in manifest.groupby("split")},
            "by_breed": [
                {"label_name": lab, "breed": b, "images": int(n)}
                for (lab, b), n in manifest.groupby(["label_name", "breed"]).size().items()
            ],
            "by_format": [
                {"label_name": lab, "format": f, "images": int(n)}
                for (lab, f), n in manifest.groupby(["label_name", "format"]).size().items()
            ],
        },
        "dropped": dropped,
        "label_conflicts": [],
        "near_duplicate_groups": 1,
        "groups": int(manifest["group"].nunique()),
        "missing_files": [],
        "warnings": [],
    }


# --- metrics/baseline.json ---------------------------------------------------------------


def baseline(
    n_train: int,
    n_test: int,
    seeds: Sequence[int],
    seed: int,
    start: str = "scratch",
    accuracy: float | None = None,
) -> dict[str, object]:
    """A plausible ``metrics/baseline/<start>.json``: mean accuracy exactly ``accuracy``.

    ``accuracy`` defaults to the regime's full-pool accuracy in ``REGIMES``.
    """
    rng = _rng(seed, "baseline", start)
    accuracy = REGIMES[start][2] if accuracy is None else accuracy
    centres = {
        "accuracy": accuracy,
        "balanced_accuracy": accuracy - 0.005,
        "macro_f1": accuracy + 0.003,
        "log_loss": 0.34,
        "ece": 0.04,
        "train_seconds": 12.0,
    }
    out: dict[str, object] = {
        "start": start,
        "n_train": n_train,
        "n_test": n_test,
        "seeds": list(seeds),
        "steps": 1500,
    }
    for name, centre in centres.items():
        per_seed = np.round(centre + rng.normal(0, 0.004, len(seeds)), 6)
        # Centre exactly on ``centre`` so the targets are known to the tests.
        per_seed = np.round(per_seed - per_seed.mean() + centre, 6)
        half = 0.0 if len(seeds) < 2 else 2.0 * float(per_seed.std(ddof=1)) / np.sqrt(len(seeds))
        out[name] = {
            "mean": round(float(per_seed.mean()), 6),
            "low": round(float(per_seed.mean()) - half, 6),
            "high": round(float(per_seed.mean()) + half, 6),
            "per_seed": [float(v) for v in per_seed],
        }
    return out


# --- results/ ----------------------------------------------------------------------------


def speedup_of(
    strategy: str, start: str, speedups: Mapping[str, Mapping[str, float]] | None = None
) -> float:
    """Labels-worth of random sampling one label queried by ``strategy`` is worth in ``start``."""
    own = (speedups or {}).get(start, {})
    return float(own.get(strategy, SPEEDUP.get(strategy, DEFAULT_SPEEDUP)))


def true_accuracy(
    n_labels: np.ndarray,
    strategy: str,
    initial_size: int,
    label_noise: float = 0.0,
    start: str = "scratch",
    speedup: float | None = None,
) -> np.ndarray:
    """The noise-free fake curve: the regime's saturating curve at 'effective' labels."""
    floor, ceiling, _ = REGIMES[start]
    speedup = speedup_of(strategy, start) if speedup is None else speedup
    effective = initial_size + (np.asarray(n_labels, float) - initial_size) * speedup
    ceiling = ceiling - 0.4 * label_noise
    return floor + (ceiling - floor) * (1.0 - np.exp(-effective / TAU))


def pool_labels_of(pool: pd.DataFrame, index: np.ndarray) -> np.ndarray:
    """Labels of the pool rows ``index``."""
    return pool["label"].to_numpy()[index]


def fake_run(
    strategy: str,
    exp_seed: int,
    *,
    initial_size: int,
    query_size: int,
    rounds: int,
    label_noise: float,
    pool: pd.DataFrame,
    seed: int,
    start: str = "scratch",
    n_classes: int = 2,
    speedups: Mapping[str, Mapping[str, float]] | None = None,
    rare_name: str = "fox",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rounds.csv`` and ``queries.csv`` rows of one (start, strategy, seed, protocol) run."""
    if strategy in TWINS:
        rounds_df, queries_df = fake_run(
            TWINS[strategy],
            exp_seed,
            initial_size=initial_size,
            query_size=query_size,
            rounds=rounds,
            label_noise=label_noise,
            pool=pool,
            seed=seed,
            start=start,
            n_classes=n_classes,
            speedups=speedups,
            rare_name=rare_name,
        )
        return rounds_df.assign(strategy=strategy), queries_df.assign(strategy=strategy)
    rare = n_classes - 1  # the rare class (balance.rare_class): the last class
    pool_share = float(np.mean(pool["label"].to_numpy() == rare))
    protocol = {
        "condition": start,
        "start": start,
        "rare_class": rare_name,
        "pool_share": round(pool_share, 6),
        "strategy": strategy,
        "initial_size": initial_size,
        "query_size": query_size,
        "label_noise": label_noise,
        "seed": exp_seed,
    }
    noise_key = int(label_noise * 1000)
    # Shared by all strategies and regimes of this seed and protocol: the initial set's luck.
    shared = _rng(seed, "shared", exp_seed, initial_size, query_size, noise_key)
    offset = shared.normal(0, 0.005)
    order = shared.permutation(len(pool))
    rng = _rng(seed, start, strategy, exp_seed, initial_size, query_size, noise_key)
    r = np.arange(rounds + 1)
    n_labels = initial_size + r * query_size
    speedup = speedup_of(strategy, start, speedups)
    acc = true_accuracy(n_labels, strategy, initial_size, label_noise, start, speedup) + offset
    # Test-set luck shared by all strategies of a seed, plus a little of their own.
    shared_noise = shared.normal(0, 0.0025, len(r))
    acc = acc + shared_noise + rng.normal(0, 0.0015, len(r))
    if strategy != "random" and speedup == 1.0:
        # Alternately a little above and below random: paired tests stay far from
        # significance whatever the number of seeds, and every seed is a tie.
        acc = acc + 0.0025 * (-1) ** exp_seed
    acc = np.clip(acc, 0, 1)
    effective = (n_labels - initial_size) * speedup
    kappa = np.clip(1.0 - 0.5 * np.exp(-effective / 40.0) + rng.normal(0, 0.008, len(r)), -1, 1)
    kappa = np.minimum(kappa, 1.0)

    pool_ids = pool["id"].to_numpy()
    pool_labels = pool["label"].to_numpy()
    # The initial set is shared; each strategy then picks its own images (cycling
    # through the pool if the protocol labels more images than it holds); random
    # picks the same images in every regime.
    rest = order[initial_size:]
    if strategy != "random" and len(rest):
        # A strategy faster than random also finds the rare class faster (discovery > 1).
        pull = 0.5 if speedup > 1 else 0.0
        rest = rest[np.argsort(rng.random(len(rest)) - pull * (pool_labels_of(pool, rest) == rare))]
    picks = rest[np.arange(rounds * query_size) % max(len(rest), 1)]
    flips = rng.random(initial_size + rounds * query_size) < label_noise

    labelled = np.concatenate([order[:initial_size], picks])
    rare_so_far = np.cumsum(pool_labels[labelled] == rare)
    round_rows, query_rows = [], []
    for k in r:
        batch = picks[(k - 1) * query_size : k * query_size] if k else picks[:0]
        round_rows.append(
            {
                **protocol,
                "round": int(k),
                "n_labels": int(n_labels[k]),
                "accuracy": acc[k],
                "balanced_accuracy": acc[k] - abs(rng.normal(0, 0.004)),
                "macro_f1": np.clip(acc[k] + rng.normal(0, 0.01), 0, 1),
                "log_loss": 0.69 - 0.6 * (acc[k] - FLOOR) + abs(rng.normal(0, 0.01)),
                "ece": 0.03 + abs(rng.normal(0, 0.02)),
                "n_rare": int(rare_so_far[initial_size + k * query_size - 1]),
                "rare_recall": np.clip(acc[k] + rng.normal(0, 0.02), 0, 1),
                "val_accuracy": acc[k] + rng.normal(0, 0.003),
                "noisy_labels": int(flips[: initial_size + k * query_size].sum()),
                "kappa_stop": kappa[k] if k else np.nan,
                "fit_seconds": 1.5 + 0.01 * n_labels[k] + abs(rng.normal(0, 0.1)),
                "query_seconds": 0.0 if k == 0 else 0.05 + abs(rng.normal(0, 0.01)),
                "machine": "cpu:x86_64:test",
            }
        )
        for rank, i in enumerate(batch):
            true = int(pool_labels[i])
            flip = bool(flips[initial_size + (k - 1) * query_size + rank])
            low = 1.0 / n_classes  # the most probable class has at least this probability
            high = 1.0 if strategy == "random" else min(1.0, low + 0.15)
            right = rng.random() < acc[k]
            wrong = (true + 1 + rng.integers(0, n_classes - 1)) % n_classes
            query_rows.append(
                {
                    **protocol,
                    "round": int(k),
                    "rank": rank,
                    "id": pool_ids[i],
                    "score": 0.0 if strategy == "random" else 1.0 - rank / (2 * query_size),
                    "predicted": true if right else int(wrong),
                    "confidence": rng.uniform(low, high),
                    "true_label": true,
                    "oracle_label": (true + 1) % n_classes if flip else true,
                }
            )
    return (
        pd.DataFrame(round_rows, columns=list(ROUND_COLUMNS)),
        pd.DataFrame(query_rows, columns=list(QUERY_COLUMNS)),
    )


def write_results(
    out_dir: Path,
    strategy: str,
    specs: Sequence[tuple[int, int, float]],
    seeds: Sequence[int],
    *,
    rounds: int,
    pool: pd.DataFrame,
    seed: int,
    start: str = "scratch",
    n_classes: int = 2,
    speedups: Mapping[str, Mapping[str, float]] | None = None,
    rare_name: str = "fox",
) -> None:
    """Write ``rounds.csv`` / ``queries.csv`` for every (initial, query, noise) spec x seed."""
    parts = [
        fake_run(
            strategy,
            s,
            initial_size=i,
            query_size=q,
            rounds=rounds,
            label_noise=noise,
            pool=pool,
            seed=seed,
            start=start,
            n_classes=n_classes,
            speedups=speedups,
            rare_name=rare_name,
        )
        for i, q, noise in specs
        for s in seeds
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    rounds_df = pd.concat([p[0] for p in parts], ignore_index=True).round(6)
    queries_df = pd.concat([p[1] for p in parts], ignore_index=True).round(6)
    rounds_df.to_csv(out_dir / "rounds.csv", index=False, lineterminator="\n")
    queries_df.to_csv(out_dir / "queries.csv", index=False, lineterminator="\n")


def project_params(
    *,
    strategies: Sequence[str],
    seeds: Sequence[int],
    rounds: int,
    initial_size: int,
    query_size: int,
    image_size: int,
    ablations: bool,
    ablation_strategies: Sequence[str] = ("random", "margin"),
    starts: Sequence[str] = STARTS,
    classes: Sequence[str] = ("dog", "fox"),
    ablation_factors: Sequence[str] = ("label_noise",),
) -> Params:
    """The :class:`Params` the fake project corresponds to.

    The ablations run in ``transfer`` when it is a regime, else in the first one.
    """
    after = [initial_size + k * query_size for k in (1, (rounds + 1) // 2, rounds)]
    return Params(
        data=DataConfig(image_size=image_size, classes=tuple(classes)),
        baseline=BaselineConfig(seeds=(0, 1, 2)),
        active=ActiveConfig(
            starts=tuple(starts),
            strategies=tuple(strategies),
            seeds=tuple(seeds),
            initial_size=initial_size,
            query_size=query_size,
            rounds=rounds,
            budgets=tuple(sorted(set(after))),  # after round 1, mid-run and the last round
        ),
        # The natural balance only; the rare class is the last one (fox of dog, fox).
        balance=BalanceConfig(rare_class=classes[-1], starts=(), conditions=()),
        ablations=AblationConfig(
            start="transfer" if "transfer" in starts else starts[0],
            factors=tuple(ablation_factors),
            strategies=tuple(ablation_strategies) if ablations else (),
            seeds=tuple(s for s in AblationConfig().seeds if s in seeds),  # a subset of seeds
        ),
    )


def make_project(
    root: Path,
    *,
    starts: Sequence[str] = STARTS,
    strategies: Sequence[str] = ("random", "margin", "entropy"),
    classes: Sequence[str] = ("dog", "fox"),
    seeds: Sequence[int] = (0, 1, 2),
    rounds: int = 6,
    initial_size: int = 20,
    query_size: int = 20,
    n_pool: int = 300,
    n_test: int = 40,
    image_size: int = 16,
    ablations: bool = True,
    ablation_factors: Sequence[str] = ("label_noise",),
    speedups: Mapping[str, Mapping[str, float]] | None = None,
    seed: int = 0,
) -> Path:
    """Write a fake project under ``root`` (created if needed) and return ``root``.

    Files: ``params.yaml``, ``curated/*``, ``metrics/baseline/<start>.json`` and
    ``results/<start>/<strategy>/{rounds,queries}.csv`` for each of ``starts`` and
    ``strategies`` and, when ``ablations``,
    ``results/ablations/<factor>/<strategy>/{rounds,queries}.csv`` for each of
    ``ablation_factors`` at its non-default levels (``AblationConfig`` defaults) and the
    strategies ``("random", "margin")``, in the regime ``ablations.start``. Load the
    parameters back with ``foxdog.config.load_params(root / "params.yaml")``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    params = project_params(
        strategies=strategies,
        seeds=seeds,
        rounds=rounds,
        initial_size=initial_size,
        query_size=query_size,
        image_size=image_size,
        ablations=ablations,
        starts=starts,
        classes=classes,
        ablation_factors=ablation_factors,
    )
    text = yaml.safe_dump(to_dict(params), sort_keys=False)
    (root / "params.yaml").write_text(text, encoding="utf-8")

    manifest = write_curated(
        root / "curated",
        n_pool=n_pool,
        n_test=n_test,
        image_size=image_size,
        seed=seed,
        classes=classes,
    )
    pool = manifest[manifest["split"] == "pool"].reset_index(drop=True)
    metrics = root / "metrics"
    (metrics / "baseline").mkdir(parents=True, exist_ok=True)
    common = {
        "pool": pool,
        "seed": seed,
        "n_classes": len(classes),
        "speedups": speedups,
        "rare_name": classes[-1],
    }
    default = (initial_size, query_size, 0.0)
    for start in starts:
        base = baseline(n_pool, n_test, params.baseline.seeds, seed, start)
        (metrics / "baseline" / f"{start}.json").write_text(
            json.dumps(base, indent=2, sort_keys=True) + "\n"
        )
        for strategy in strategies:
            write_results(
                root / "results" / start / strategy,
                strategy,
                [default],
                seeds,
                rounds=rounds,
                start=start,
                **common,
            )
    if ablations:
        ab = params.ablations
        for factor in ab.factors:
            specs = []
            for level in getattr(ab, factor):
                spec = dict(
                    zip(("initial_size", "query_size", "label_noise"), default, strict=True)
                )
                spec[factor] = level
                specs.append(
                    (int(spec["initial_size"]), int(spec["query_size"]), float(spec["label_noise"]))
                )
            for strategy in ab.strategies:
                write_results(
                    root / "results" / "ablations" / factor / strategy,
                    strategy,
                    specs,
                    [s for s in seeds if s in ab.seeds],
                    rounds=rounds,
                    start=ab.start,
                    **common,
                )
    return root

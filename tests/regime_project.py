"""A fake multi-regime project shaped like the pipeline's outputs, for the report's tests.

:func:`make_regime_project` writes what the stages before ``report`` produce:
``params.yaml`` (``data.classes``, ``active.starts``), ``curated/`` (arrays with a
validation split, manifest, ``datasheet.json`` naming its ``classes``, one
``contact_<class>.png`` per class), ``metrics/baseline_<start>.json``,
``results/<start>/<strategy>/{rounds,queries}.csv`` in the regime layout
(``macro_f1``; ``predicted``/``confidence`` instead of ``p_fox``),
``results/ablations/label_noise/<strategy>/`` in ``ablations.start``, and then the
analysis outputs of ``docs/formats.md``'s regime contract (``metrics/analysis.json``
with ``classes``, ``starts``, ``regimes``, ``ablations``, ``starting_model``,
``overview``, ``settings``; CSVs with a leading ``start`` column; ``share_<class>``
columns and curve metrics).

The analysis outputs come from :func:`analyse`: the regime-aware
``foxdog.analysis.run_analysis`` when the installed analysis writes ``regimes``;
otherwise a stand-in that runs the single-regime analysis once per start and
assembles the nested document (the stand-in goes once the analysis lands).

Any number of classes ≥ 2; the curves are built so that the regimes differ
(``transfer`` best, ``scratch`` worst) and ``margin`` is significantly better than
random in ``transfer`` and ``selfsup`` (where ``coreset`` is worse), nothing in
``scratch``, with 8 seeds.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import shutil
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from foxdog.active.experiment import QUERY_COLUMNS, ROUND_COLUMNS
from foxdog.config import (
    AblationConfig,
    ActiveConfig,
    BaselineConfig,
    DataConfig,
    Params,
    load_params,
    to_dict,
)

NASTY_BREED = '<script>alert("woof")</script> & Co'
STARTS = ("scratch", "transfer", "selfsup")
# Full-pool accuracy and the ceiling the fake learning curves approach, per start.
BASELINE = {"scratch": 0.80, "transfer": 0.86, "selfsup": 0.84}
TAU = 60.0
# Labels-worth of random sampling one label queried by the strategy is worth, per start.
SPEEDUP = {
    "scratch": {"margin": 1.0, "coreset": 1.0},
    "transfer": {"margin": 2.5, "coreset": 1.0},
    "selfsup": {"margin": 1.4, "coreset": 0.8},
}
SOURCES = ("alpha_src", "beta_src")


def _rng(*keys: int | str) -> np.random.Generator:
    ints = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(ints)


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


# --------------------------------------------------------------------------- curated/


def write_curated(
    out: Path, classes: Sequence[str], *, n_pool: int, n_val: int, n_test: int, size: int
) -> pd.DataFrame:
    """Arrays, manifest, datasheet and one contact sheet per class; returns the manifest."""
    rng = _rng("curated", len(classes))
    n = n_pool + n_val + n_test
    labels = np.arange(n) % len(classes)
    labels = labels[rng.permutation(n)]
    coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float64)
    up = np.repeat(np.repeat(coarse, -(-size // 4), axis=1), -(-size // 4), axis=2)
    images = np.clip(up[:, :size, :size] + rng.normal(0, 10, (n, size, size, 3)), 0, 255)
    images = images.astype(np.uint8)
    ids = np.array(
        [
            hashlib.sha256(img.tobytes() + bytes([i % 256])).hexdigest()[:16]
            for i, img in enumerate(images)
        ]
    )
    split = np.array(["pool"] * n_pool + ["val"] * n_val + ["test"] * n_test)
    rows = []
    for i in range(n):
        name = classes[labels[i]]
        source = SOURCES[i % 2]
        breed = NASTY_BREED if (labels[i] == 0 and i % 5 == 0) else f"{name} kind {i % 3}"
        rows.append(
            {
                "id": ids[i],
                "label": int(labels[i]),
                "label_name": name,
                "source": source,
                "breed": breed,
                "split": split[i],
                "group": i,
                "path": f"{name}/{source}/img_{i:04d}.jpg",
                "width": 120 + i % 7,
                "height": 100 + i % 5,
                "format": "JPEG" if labels[i] else "PNG",
            }
        )
    manifest = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("pool", "val", "test"):
        mask = split == name
        np.save(out / f"{name}_images.npy", images[mask], allow_pickle=False)
        np.save(out / f"{name}_labels.npy", labels[mask].astype(np.int64), allow_pickle=False)
        np.save(out / f"{name}_ids.npy", ids[mask].astype(str), allow_pickle=False)
    manifest.to_csv(out / "manifest.csv", index=False, lineterminator="\n")
    for k, name in enumerate(classes):
        (out / f"contact_{name}.png").write_bytes(_png(_contact(images[labels == k][:16])))
    sheet = _datasheet(manifest, classes, size)
    (out / "datasheet.json").write_text(json.dumps(sheet, indent=2, sort_keys=True) + "\n")
    return manifest


def _datasheet(manifest: pd.DataFrame, classes: Sequence[str], size: int) -> dict[str, Any]:
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
                **{s: int((part["split"] == s).sum()) for s in ("pool", "val", "test")},
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


# --------------------------------------------------------------------------- runs


def _baseline(start: str, n_train: int, n_test: int, seeds: Sequence[int]) -> dict[str, Any]:
    rng = _rng("baseline", start)
    out: dict[str, Any] = {
        "start": start,
        "n_train": n_train,
        "n_test": n_test,
        "seeds": list(seeds),
        "steps": 1500,
    }
    for name, centre in (
        ("accuracy", BASELINE[start]),
        ("balanced_accuracy", BASELINE[start]),
        ("macro_f1", BASELINE[start]),
        ("log_loss", 0.4),
        ("ece", 0.04),
        ("train_seconds", 12.0),
    ):
        per_seed = np.round(centre + rng.normal(0, 0.004, len(seeds)), 6)
        per_seed = np.round(per_seed - per_seed.mean() + centre, 6)
        half = 2.0 * float(per_seed.std(ddof=1)) / math.sqrt(len(seeds))
        out[name] = {
            "mean": centre,
            "low": round(centre - half, 6),
            "high": round(centre + half, 6),
            "per_seed": per_seed.tolist(),
        }
    return out


def fake_run(
    start: str,
    strategy: str,
    seed: int,
    *,
    classes: Sequence[str],
    pool: pd.DataFrame,
    initial_size: int,
    query_size: int,
    rounds: int,
    label_noise: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rounds.csv`` and ``queries.csv`` rows of one (start, strategy, seed) run."""
    k_classes = len(classes)
    protocol = {
        "start": start,
        "strategy": strategy,
        "initial_size": initial_size,
        "query_size": query_size,
        "label_noise": label_noise,
        "seed": seed,
    }
    shared = _rng("shared", start, seed, int(1000 * label_noise))
    offset = shared.normal(0, 0.005)
    order = shared.permutation(len(pool))
    rng = _rng(start, strategy, seed, int(1000 * label_noise))
    r = np.arange(rounds + 1)
    n_labels = initial_size + r * query_size
    speed = 1.0 if strategy == "random" else SPEEDUP[start].get(strategy, 1.2)
    effective = initial_size + (n_labels - initial_size) * speed
    floor = 1.0 / k_classes + 0.05
    ceiling = BASELINE[start] - 0.01 - 0.4 * label_noise
    acc = floor + (ceiling - floor) * (1.0 - np.exp(-effective / TAU)) + offset
    acc = acc + shared.normal(0, 0.0025, len(r)) + rng.normal(0, 0.0015, len(r))
    if strategy != "random" and speed == 1.0:
        acc = acc + 0.0025 * (-1) ** seed  # a tie with random, seed by seed
    acc = np.clip(acc, 0, 1)
    kappa = np.minimum(
        1.0 - 0.5 * np.exp(-(effective - initial_size) / 40.0) + rng.normal(0, 0.004, len(r)), 1.0
    )
    rest = order[initial_size:]
    if strategy != "random":
        rest = rest[rng.permutation(len(rest))]
    picks = rest[np.arange(rounds * query_size) % len(rest)]
    flips = rng.random(initial_size + rounds * query_size) < label_noise
    ids, truth = pool["id"].to_numpy(), pool["label"].to_numpy()
    round_rows, query_rows = [], []
    for k in r:
        round_rows.append(
            {
                **protocol,
                "round": int(k),
                "n_labels": int(n_labels[k]),
                "accuracy": acc[k],
                "balanced_accuracy": acc[k] - abs(rng.normal(0, 0.004)),
                "macro_f1": np.clip(acc[k] + rng.normal(0, 0.01), 0, 1),
                "log_loss": 1.1 - (acc[k] - floor) + abs(rng.normal(0, 0.01)),
                "ece": 0.03 + abs(rng.normal(0, 0.02)),
                "val_accuracy": acc[k] + rng.normal(0, 0.003),
                "noisy_labels": int(flips[: initial_size + k * query_size].sum()),
                "kappa_stop": kappa[k] if k else np.nan,
                "fit_seconds": 1.5 + 0.01 * n_labels[k],
                "query_seconds": 0.0 if k == 0 else 0.05,
                "machine": "cpu:x86_64:test",
            }
        )
        if not k:
            continue
        for rank, i in enumerate(picks[(k - 1) * query_size : k * query_size]):
            true = int(truth[i])
            flip = bool(flips[initial_size + (k - 1) * query_size + rank])
            lo = 1.0 / k_classes
            confidence = rng.uniform(lo, 1.0) if strategy == "random" else rng.uniform(lo, 0.7)
            query_rows.append(
                {
                    **protocol,
                    "round": int(k),
                    "rank": rank,
                    "id": ids[i],
                    "score": 0.0 if strategy == "random" else 1.0 - rank / (2 * query_size),
                    "predicted": int(rng.integers(k_classes)),
                    "confidence": confidence,
                    "true_label": true,
                    "oracle_label": (true + 1) % k_classes if flip else true,
                }
            )
    return (
        pd.DataFrame(round_rows, columns=list(ROUND_COLUMNS)),
        pd.DataFrame(query_rows, columns=list(QUERY_COLUMNS)),
    )


def _write_runs(out: Path, parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([p[0] for p in parts], ignore_index=True).round(6).to_csv(
        out / "rounds.csv", index=False, lineterminator="\n"
    )
    pd.concat([p[1] for p in parts], ignore_index=True).round(6).to_csv(
        out / "queries.csv", index=False, lineterminator="\n"
    )


def make_regime_project(
    root: Path,
    *,
    classes: Sequence[str] = ("dog", "fox"),
    starts: Sequence[str] = STARTS,
    strategies: Sequence[str] = ("random", "margin", "coreset"),
    seeds: Sequence[int] = tuple(range(8)),
    rounds: int = 5,
    initial_size: int = 20,
    query_size: int = 20,
    n_pool: int = 240,
    n_val: int = 30,
    n_test: int = 60,
    image_size: int = 16,
) -> Path:
    """Write the fake project under ``root``, analysis included; return ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    params = Params(
        data=DataConfig(image_size=image_size, classes=tuple(classes)),
        baseline=BaselineConfig(seeds=(0, 1, 2)),
        active=ActiveConfig(
            starts=tuple(starts),
            strategies=tuple(strategies),
            seeds=tuple(seeds),
            initial_size=initial_size,
            query_size=query_size,
            rounds=rounds,
        ),
        ablations=AblationConfig(
            start="transfer" if "transfer" in starts else starts[0],
            factors=("label_noise",),
            strategies=("random", "margin"),
            seeds=tuple(seeds[:5]),
        ),
    )
    (root / "params.yaml").write_text(yaml.safe_dump(to_dict(params), sort_keys=False))
    manifest = write_curated(
        root / "curated", classes, n_pool=n_pool, n_val=n_val, n_test=n_test, size=image_size
    )
    pool = manifest[manifest["split"] == "pool"].reset_index(drop=True)
    (root / "metrics").mkdir(exist_ok=True)
    for start in starts:
        base = _baseline(start, n_pool, n_test, params.baseline.seeds)
        (root / "metrics" / f"baseline_{start}.json").write_text(json.dumps(base, indent=2))
        for s in strategies:
            parts = [
                fake_run(
                    start,
                    s,
                    seed,
                    classes=classes,
                    pool=pool,
                    initial_size=initial_size,
                    query_size=query_size,
                    rounds=rounds,
                )
                for seed in seeds
            ]
            _write_runs(root / "results" / start / s, parts)
    ab = params.ablations
    for s in ab.strategies:
        parts = [
            fake_run(
                ab.start,
                s,
                seed,
                classes=classes,
                pool=pool,
                label_noise=noise,
                initial_size=initial_size,
                query_size=query_size,
                rounds=rounds,
            )
            for noise in ab.label_noise
            for seed in ab.seeds
        ]
        _write_runs(root / "results" / "ablations" / "label_noise" / s, parts)
    analyse(root)
    return root


# --------------------------------------------------------------------------- analysis


def analyse(root: Path) -> None:
    """Write metrics/ and plots/ for the project at ``root``."""
    from foxdog import analysis

    params = load_params(root / "params.yaml")
    if "regimes" in inspect.getsource(analysis):
        # The regime-aware analysis has landed: use it as the pipeline does.
        sig = inspect.signature(analysis.run_analysis)
        kwargs = {
            "results_dir": root / "results",
            "metrics_dir": root / "metrics",
            "plots_dir": root / "plots",
        }
        if "baseline_dir" in sig.parameters:
            kwargs["baseline_dir"] = root / "metrics"
        analysis.run_analysis(params, **{k: v for k, v in kwargs.items() if k in sig.parameters})
        return
    _stand_in_analysis(root, params)


def _shares(queries: pd.DataFrame, classes: Sequence[str], cfg: Any) -> tuple[dict, pd.DataFrame]:
    """Per-class share of the picks: over the run (mean over seeds) and per round."""
    from foxdog.analysis import interval_dict

    overall, rows = {}, []
    for k, name in enumerate(classes):
        per_seed = queries.assign(hit=queries["true_label"] == k).groupby("seed")["hit"].mean()
        overall[name] = interval_dict(per_seed, cfg, bounds=(0.0, 1.0))
        by_round = queries.assign(hit=queries["true_label"] == k)
        for rnd, part in by_round.groupby("round"):
            v = interval_dict(part.groupby("seed")["hit"].mean(), cfg, bounds=(0.0, 1.0))
            rows.append({"round": int(rnd), "metric": f"share_{name}", **v})
    return overall, pd.DataFrame(rows)


def _stand_in_analysis(root: Path, params: Params) -> None:
    """The single-regime analysis once per start, assembled into the regime contract."""
    from foxdog import analysis

    classes = list(params.data.classes)
    a, cfg = params.active, params.analysis
    docs: dict[str, dict] = {}
    tables: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("strategies", "winloss", "ablations", "curves", "learning", "diff")
    }
    summary: dict[str, Any] = {}
    saved = analysis.ABLATION_FACTORS
    with tempfile.TemporaryDirectory() as tmp_str:
        tmp = Path(tmp_str)
        for start in a.starts:
            work = tmp / start
            shutil.copytree(root / "results" / start, work / "results")
            ablated = start == params.ablations.start
            if ablated:
                shutil.copytree(root / "results" / "ablations", work / "results" / "ablations")
            for path in (work / "results").rglob("rounds.csv"):
                frame = pd.read_csv(path)
                queries = pd.read_csv(path.with_name("queries.csv"))
                share = queries.groupby(["seed", "round"])["true_label"].apply(
                    lambda t: float((t == len(classes) - 1).mean())
                )
                keys = zip(frame["seed"], frame["round"], strict=True)
                frame["fox_fraction_queried"] = [share.get(key, np.nan) for key in keys]
                frame.to_csv(path, index=False)
            kept = params.ablations.strategies if ablated else ()
            p = replace(params, ablations=replace(params.ablations, strategies=kept))
            analysis.ABLATION_FACTORS = ("label_noise",)
            try:
                summary[start] = analysis.run_analysis(
                    p,
                    results_dir=work / "results",
                    baseline_path=root / "metrics" / f"baseline_{start}.json",
                    metrics_dir=work / "metrics",
                    plots_dir=work / "plots",
                )
            finally:
                analysis.ABLATION_FACTORS = saved
            doc = json.loads((work / "metrics" / "analysis.json").read_text())
            table = pd.read_csv(work / "metrics" / "strategies.csv")
            curves = pd.read_csv(work / "plots" / "curves.csv")
            curves = curves[curves["metric"] != "fox_fraction_queried"]
            share_rows = []
            for s in table["strategy"]:
                queries = pd.read_csv(root / "results" / start / s / "queries.csv")
                overall, by_round = _shares(queries, classes, cfg)
                doc["strategies"][s].pop("fox_share", None)
                doc["strategies"][s]["shares"] = overall
                for name, v in overall.items():
                    for col, key in (("", "mean"), ("_low", "low"), ("_high", "high")):
                        table.loc[table["strategy"] == s, f"share_{name}{col}"] = v[key]
                labels = curves[(curves["strategy"] == s) & (curves["metric"] == "accuracy")]
                by_round = by_round.merge(labels[["round", "n_labels"]], on="round")
                share_rows.append(by_round.assign(strategy=s))
            table = table.drop(columns=[c for c in table if c.startswith("fox_share")])
            curves = pd.concat([curves, *share_rows], ignore_index=True)[list(curves.columns)]
            docs[start] = doc
            for key, frame in (
                ("strategies", table),
                ("curves", curves),
                ("winloss", pd.read_csv(work / "metrics" / "winloss.csv")),
                ("learning", pd.read_csv(work / "plots" / "learning_curves.csv")),
                ("diff", pd.read_csv(work / "plots" / "diff_vs_random.csv")),
            ):
                tables[key].append(frame.assign(start=start))
            if ablated:
                tables["ablations"].append(
                    pd.read_csv(work / "metrics" / "ablations.csv").assign(start=start)
                )

    def lead(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["start", *[c for c in frame.columns if c != "start"]]]

    m, pl = root / "metrics", root / "plots"
    pl.mkdir(exist_ok=True)
    lead(pd.concat(tables["strategies"])).to_csv(m / "strategies.csv", index=False)
    lead(pd.concat(tables["winloss"])).to_csv(m / "winloss.csv", index=False)
    lead(pd.concat(tables["ablations"])).to_csv(m / "ablations.csv", index=False)
    lead(pd.concat(tables["curves"])).to_csv(pl / "curves.csv", index=False)
    lead(pd.concat(tables["learning"])).to_csv(pl / "learning_curves.csv", index=False)
    lead(pd.concat(tables["diff"])).to_csv(pl / "diff_vs_random.csv", index=False)
    ab_doc = dict(docs[params.ablations.start]["ablations"], start=params.ablations.start)
    for doc in docs.values():
        doc.pop("ablations", None)
    document = {
        "classes": classes,
        "starts": list(a.starts),
        "regimes": docs,
        "ablations": ab_doc,
        "starting_model": _starting_model(root, params),
        "overview": _overview(docs, params),
        "settings": docs[a.starts[0]]["settings"],
    }
    (m / "analysis.json").write_text(json.dumps(analysis.clean_json(document), indent=2))
    (m / "summary.json").write_text(json.dumps(summary, indent=2))


def _starting_model(root: Path, params: Params) -> dict[str, Any]:
    from foxdog.analysis import interval_dict

    cfg, starts = params.analysis, params.active.starts
    base = {s: json.loads((root / "metrics" / f"baseline_{s}.json").read_text()) for s in starts}
    accuracy = {}
    for s, b in base.items():
        v = interval_dict(b["accuracy"]["per_seed"], cfg)
        accuracy[s] = {**v, "n_seeds": len(b["accuracy"]["per_seed"])}
    best = max(starts, key=lambda s: accuracy[s]["mean"])
    reference = "scratch" if "scratch" in starts else starts[0]
    differences = {}
    for s in starts:
        if s == reference:
            continue
        d = np.array(base[s]["accuracy"]["per_seed"]) - np.array(
            base[reference]["accuracy"]["per_seed"]
        )
        differences[s] = {**interval_dict(d, cfg), "n_pairs": len(d)}
    return {
        "reference": reference,
        "accuracy": accuracy,
        "best_start": best,
        "difference_vs_reference": differences,
    }


def _overview(docs: dict[str, dict], params: Params) -> dict[str, Any]:
    verdicts = {s: d["verdict"] for s, d in docs.items()}
    winners = [s for s, v in verdicts.items() if v.get("significant")]
    if winners:
        s = winners[0]
        v = verdicts[s]
        first = (
            f"Starting from {s}, {v['arm']} beats random sampling significantly "
            f"(AULC {100 * v['mean_difference']:+.2f} points)."
        )
    else:
        first = "In no regime is any strategy significantly better than random sampling."
    others = [s for s in docs if s not in winners]
    second = (
        f"With {', '.join(others)}, no strategy is distinguishable from random."
        if others
        else "Every regime has a strategy that beats random."
    )
    return {
        "sentences": [first, second],
        "any_significant": bool(winners),
        "verdicts": {
            s: {
                "significant": bool(v.get("significant")),
                "arm": v.get("arm"),
                "text": v.get("text"),
            }
            for s, v in verdicts.items()
        },
    }

"""DVC stages ``al@<start>-<strategy>`` and ``ablate@<factor>-<strategy>``: all seeds of one run.

Layout of one output folder (see docs/formats.md)::

    results/<start>/<strategy>/rounds.csv        one row per (seed, round)
    results/<start>/<strategy>/queries.csv       one row per queried image
    results/<start>/<strategy>/state/<machine>/<protocol>/seed_<k>.json   resumable per-seed state

Ablations run in the regime ``ablations.start`` and live in
``results/ablations/<factor>/<strategy>/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from foxdog import io
from foxdog.active.loop import (
    QUERY_KEYS,
    ROUND_KEYS,
    EstimatorFactory,
    Experiment,
    RunSpec,
    state_path,
)
from foxdog.config import ABLATION_FACTORS, ActiveConfig, Params
from foxdog.data.arrays import Split, load_split
from foxdog.progress import Progress

PROTOCOL_COLUMNS = ("start", "strategy", "initial_size", "query_size", "label_noise", "seed")
ROUND_COLUMNS = (*PROTOCOL_COLUMNS, *ROUND_KEYS, "machine")
QUERY_COLUMNS = (*PROTOCOL_COLUMNS, *QUERY_KEYS)


def show_progress() -> bool:
    """Progress bars on an interactive terminal, quiet under CI or when piped."""
    return not os.environ.get("CI") and sys.stderr.isatty()


def estimator_factory(params: Params, start: str) -> EstimatorFactory:
    """Seed -> unfitted CNN classifier configured from ``params``, starting from ``start``."""
    from foxdog.model.estimator import FlaxCNNClassifier

    return lambda seed: FlaxCNNClassifier.from_config(
        params.model,
        params.train,
        seed=seed,
        pretrain=params.pretrain,
        start=start,
        n_classes=len(params.data.classes),
    )


def specs_for(active: ActiveConfig, strategy: str) -> list[RunSpec]:
    """One RunSpec per seed of ``active``."""
    return [
        RunSpec(
            strategy=strategy,
            seed=seed,
            initial_size=active.initial_size,
            query_size=active.query_size,
            rounds=active.rounds,
            label_noise=active.label_noise,
            committee_size=active.committee_size,
            mc_samples=active.mc_samples,
            initial=active.initial,
        )
        for seed in active.seeds
    ]


def run_specs(
    specs: Iterable[RunSpec],
    make_estimator: EstimatorFactory,
    pool: Split,
    test: Split,
    state_dir: Path,
    progress: bool | None = None,
    val: Split | None = None,
    start: str = "scratch",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) each spec; return all round records and all queries.

    ``val`` is the validation split (the stop set); see :class:`Experiment`.
    ``start`` only labels the rows: ``make_estimator`` decides where the network starts.
    """
    progress = show_progress() if progress is None else progress
    specs = list(specs)
    rounds: list[dict[str, Any]] = []
    queries: list[dict[str, Any]] = []
    # One line per finished seed where stderr is no terminal (dvc repro's log); on a
    # terminal a bar over seeds, and the Experiment's own bar over rounds below it.
    names = "/".join(dict.fromkeys(spec.strategy for spec in specs))
    bar = Progress(len(specs), f"al {start}/{names}", "run")
    for spec in specs:
        path = state_path(state_dir, spec)
        state = Experiment(spec, make_estimator, pool, test, path, progress, val=val).run()
        bar.update(note=f"seed {spec.seed}: accuracy {state['rounds'][-1]['accuracy']:.3f}")
        protocol = {
            "start": start,
            "strategy": spec.strategy,
            "initial_size": spec.initial_size,
            "query_size": spec.query_size,
            "label_noise": spec.label_noise,
            "seed": spec.seed,
        }
        rounds.extend({**protocol, **r, "machine": state["machine"]} for r in state["rounds"])
        queries.extend({**protocol, **q} for q in pd.DataFrame(state["queries"]).to_dict("records"))
    bar.close()
    return (
        pd.DataFrame(rounds, columns=list(ROUND_COLUMNS)),
        pd.DataFrame(queries, columns=list(QUERY_COLUMNS)),
    )


def _write(out_dir: Path, rounds: pd.DataFrame, queries: pd.DataFrame) -> Path:
    io.write_csv(out_dir / "rounds.csv", rounds.round(6))
    io.write_csv(out_dir / "queries.csv", queries.round(6))
    return out_dir


def _splits(params: Params) -> tuple[Split, Split, Split | None]:
    """Pool, test and (when curated has one) validation split."""
    curated = Path(params.data.out_dir)
    val = None
    if (curated / "val_images.npy").is_file():
        val = load_split(curated, "val")
    else:
        print(
            f"foxdog: warning: {curated}/val_images.npy not found: kappa_stop and val_accuracy "
            "stay empty (re-run `dvc repro curate`)",
            file=sys.stderr,
        )
    return load_split(curated, "pool"), load_split(curated, "test"), val


def run_strategy(
    params: Params, strategy: str, start: str, results_dir: Path = Path("results")
) -> Path:
    """Stage ``al@<start>-<strategy>``: every seed of ``params.active`` for one strategy."""
    pool, test, val = _splits(params)
    out_dir = results_dir / start / strategy
    rounds, queries = run_specs(
        specs_for(params.active, strategy),
        estimator_factory(params, start),
        pool,
        test,
        out_dir / "state",
        val=val,
        start=start,
    )
    return _write(out_dir, rounds, queries)


def run_ablation(
    params: Params, factor: str, strategy: str, results_dir: Path = Path("results")
) -> Path:
    """Stage ``ablate@<factor>-<strategy>``: the non-default levels of one protocol factor.

    They run in the regime ``ablations.start``.
    """
    if factor not in ABLATION_FACTORS:
        raise ValueError(f"unknown ablation factor {factor!r}; known: {ABLATION_FACTORS}")
    pool, test, val = _splits(params)
    levels = getattr(params.ablations, factor)
    base = replace(params.active, seeds=params.ablations.seeds)
    specs = [
        spec for level in levels for spec in specs_for(replace(base, **{factor: level}), strategy)
    ]
    out_dir = results_dir / "ablations" / factor / strategy
    start = params.ablations.start
    rounds, queries = run_specs(
        specs, estimator_factory(params, start), pool, test, out_dir / "state", val=val, start=start
    )
    return _write(out_dir, rounds, queries)

"""Stage ``analyze``: read the results, analyse each regime and the study, write the outputs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from foxdog import io, paths
from foxdog.analysis.curves import learning_curves
from foxdog.analysis.groups import ablation_groups
from foxdog.analysis.read import (
    load_ablation_rounds,
    load_baseline,
    load_queries,
    load_strategy_rounds,
)
from foxdog.analysis.regime import ablations_document, analyse_regime, settings
from foxdog.analysis.study import overview, starting_model, starting_model_summary, study_tests
from foxdog.analysis.tables import ablations_table, clean_json, rounded
from foxdog.config import Params


def _with_start(frame: pd.DataFrame, start: str) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "start", start)
    return out


def _series(frame: pd.DataFrame, name: str, after: str) -> pd.DataFrame:
    """Add ``series`` = ``"<start> / <name>"`` after column ``after`` (one line per regime)."""
    out = frame.copy()
    out.insert(out.columns.get_loc(after) + 1, "series", out["start"] + " / " + out[name])
    return out


def _stack(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = list(frames)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def run(
    params: Params,
    results_dir: Path = paths.RESULTS,
    metrics_dir: Path = paths.METRICS,
    plots_dir: Path = paths.PLOTS,
    baseline_dir: Path | None = None,
) -> dict[str, Any]:
    """Stage ``analyze``: read results, write metrics/ and plots/, return the summary.

    Baselines are read from ``baseline_dir`` (default: ``<metrics_dir>/baseline``) as
    ``<start>.json``, one per start of ``active.starts``.
    """
    cfg = params.analysis
    results_dir, metrics_dir, plots_dir = Path(results_dir), Path(metrics_dir), Path(plots_dir)
    baseline_dir = paths.baseline_dir(metrics_dir) if baseline_dir is None else Path(baseline_dir)
    starts = list(params.active.starts)
    # Every input is read before anything is written: a missing one changes no output.
    inputs = {
        s: (
            load_strategy_rounds(params, results_dir, s),
            load_queries(params, results_dir, s),
            load_baseline(baseline_dir / f"{s}.json", s),
        )
        for s in starts
    }
    ablation = load_ablation_rounds(params, results_dir)
    regimes = {s: analyse_regime(params, s, *inputs[s]) for s in starts}

    ablated: list[tuple[str, float, bool, dict[str, dict[str, Any]]]] = []
    if params.ablations.strategies and params.ablations.factors:
        home = regimes.get(params.ablations.start)
        if home is None:
            raise ValueError(
                f"params.yaml: ablations.start={params.ablations.start!r} must be one of "
                f"active.starts={starts!r}"
            )
        ablated = ablation_groups(ablation, home.rounds, params, home.targets)
    model = starting_model(regimes, params)
    tests = study_tests(regimes, cfg)
    view = overview(regimes, model, tests, cfg)

    document = {
        "classes": list(params.data.classes),
        "starts": starts,
        "regimes": {s: r.document for s, r in regimes.items()},
        "ablations": ablations_document(params),
        "starting_model": model,
        "overview": view,
        "settings": settings(cfg) | {"reference_start": model["reference_start"]},
    }
    summary = clean_json(
        {
            **{s: r.summary for s, r in regimes.items()},
            "starting_model": starting_model_summary(model),
            "overview": {
                "any_significant": view["any_significant"],
                "n_significant_starts": len(view["significant_starts"]),
            },
        }
    )
    curves = _stack(_with_start(r.curves, s) for s, r in regimes.items())
    learning = _series(learning_curves(curves), "strategy", "strategy")
    differences = _stack(_with_start(r.differences, s) for s, r in regimes.items())
    differences = _series(differences, "arm", "arm")
    io.write_csv(plots_dir / "curves.csv", rounded(curves))
    io.write_csv(plots_dir / "learning_curves.csv", rounded(learning))
    io.write_csv(plots_dir / "diff_vs_random.csv", rounded(differences))
    io.write_csv(
        metrics_dir / "winloss.csv", _stack(_with_start(r.winloss, s) for s, r in regimes.items())
    )
    io.write_csv(
        metrics_dir / "strategies.csv",
        rounded(_stack(_with_start(r.strategies, s) for s, r in regimes.items())),
    )
    io.write_csv(
        metrics_dir / "ablations.csv", rounded(ablations_table(ablated, params.ablations.start))
    )
    io.write_json(paths.analysis_json(metrics_dir), clean_json(document))
    io.write_json(paths.summary_json(metrics_dir), summary)
    print(f"analysis written to {metrics_dir}/ and {plots_dir}/")
    return summary

"""Stage ``analyze``: read the results, analyse each regime and the study, write the outputs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from foxdog import io, paths, registry
from foxdog.analysis.curves import learning_curves
from foxdog.analysis.decision import COLUMNS as DECISION_COLUMNS
from foxdog.analysis.decision import analyse_condition, headline, summary_keys
from foxdog.analysis.facts import report_facts, stop_calibration
from foxdog.analysis.groups import ablation_groups
from foxdog.analysis.read import (
    REFERENCE,
    load_ablation_rounds,
    load_baseline,
    load_final_val_predictions,
    load_queries,
    load_strategy_rounds,
)
from foxdog.analysis.regime import ablations_document, analyse_regime, settings
from foxdog.analysis.sources import per_source
from foxdog.analysis.study import (
    CHEAP_QUERY_SHARE,
    overview,
    starting_model,
    starting_model_summary,
    study_tests,
)
from foxdog.analysis.tables import ablations_table, clean_json, rounded
from foxdog.config import Params, to_dict


def _with_start(frame: pd.DataFrame, condition: str, start: str) -> pd.DataFrame:
    """``frame`` led by ``condition`` and its ``start`` (the same at the natural balance)."""
    out = frame.copy()
    out.insert(0, "condition", condition)
    out.insert(1, "start", start)
    return out


def _series(frame: pd.DataFrame, name: str, after: str) -> pd.DataFrame:
    """Add ``series`` = ``"<condition> / <name>"`` after column ``after`` (one line each)."""
    out = frame.copy()
    out.insert(out.columns.get_loc(after) + 1, "series", out["condition"] + " / " + out[name])
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
    curated_dir: Path | None = None,
) -> dict[str, Any]:
    """Stage ``analyze``: read results, write metrics/ and plots/, return the summary.

    One regime per condition of :func:`foxdog.registry.conditions`, each with its start's
    protocol (``Params.protocol``). Baselines are read from ``baseline_dir`` (default:
    ``<metrics_dir>/baseline``) as ``<condition>.json``; the test images' photo sources
    from ``curated_dir`` (default: ``data.out_dir``), only when test predictions exist.
    """
    cfg = params.analysis
    results_dir, metrics_dir, plots_dir = Path(results_dir), Path(metrics_dir), Path(plots_dir)
    baseline_dir = paths.baseline_dir(metrics_dir) if baseline_dir is None else Path(baseline_dir)
    conditions = {c.name: c for c in registry.conditions(params)}
    starts = list(conditions)
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
    curated_dir = Path(params.data.out_dir) if curated_dir is None else Path(curated_dir)
    source_table, source_fact = per_source(params, results_dir, curated_dir, starts)
    regimes = {s: analyse_regime(params, s, *inputs[s]) for s in starts}
    for s, regime in regimes.items():
        protocol = params.protocol(conditions[s].start)
        final = load_final_val_predictions(
            paths.strategy_dir(results_dir, s, REFERENCE),
            protocol.initial_size,
            protocol.query_size,
            params.active.label_noise,
        )
        regime.document["stop_calibration"] = stop_calibration(
            final, protocol, params.analysis_for(conditions[s].start)
        )

    ablated: list[tuple[str, float, bool, dict[str, dict[str, Any]]]] = []
    if params.ablations.strategies and params.ablations.factors:
        home = regimes.get(params.ablations.start)
        if home is None:
            raise ValueError(
                f"params.yaml: ablations.start={params.ablations.start!r} must be one of "
                f"active.starts={starts!r}"
            )
        ablated = ablation_groups(ablation, home.rounds, params, home.targets)
    # Starting models are compared where they all ran: the natural balance.
    natural = {s: r for s, r in regimes.items() if conditions[s].natural}
    model = starting_model(natural, params)
    tests = study_tests(regimes, cfg)
    view = overview(regimes, model, tests, cfg)

    rows, per_condition, discovery = [], {}, []
    for s, regime in regimes.items():
        found = analyse_condition(
            conditions[s],
            regime.rounds,
            params.protocol(conditions[s].start).budgets,
            regime.baseline,
            params.balance.rare_class,
            cfg,
        )
        rows += found[0]
        per_condition[s] = found[1]
        discovery.append(found[2])
    decided = {
        "rows": rows,
        "conditions": per_condition,
        "headline": headline(per_condition, rows, cfg.confidence),
        "settings": {
            "metric_natural": cfg.metric_natural,
            "metric_subsampled": cfg.metric_subsampled,
            "confidence": cfg.confidence,
            "reference": REFERENCE,
        },
    }
    extras = report_facts(regimes, natural, model, params) | {"per_source": source_fact}

    document = {
        "classes": list(params.data.classes),
        "starts": [s for s in starts if conditions[s].natural],
        "conditions": starts,
        "regimes": {s: r.document for s, r in regimes.items()},
        "ablations": ablations_document(params),
        "starting_model": model,
        "overview": view,
        "decision": decided,
        "facts": extras,
        "settings": settings(cfg)
        | {
            "reference_start": model["reference_start"],
            "cheap_query_share": CHEAP_QUERY_SHARE,
        },
        # The configuration these results were analysed with, for the Method page.
        "params": to_dict(params),
    }
    summary = clean_json(
        {
            **{s: r.summary for s, r in regimes.items()},
            "starting_model": starting_model_summary(model),
            "overview": {
                "any_significant": view["any_significant"],
                "n_significant_starts": len(view["significant_starts"]),
            },
            "decision": summary_keys(rows),
        }
    )
    curves = _stack(_with_start(r.curves, s, conditions[s].start) for s, r in regimes.items())
    learning = _series(learning_curves(curves), "strategy", "strategy")
    differences = _stack(
        _with_start(r.differences, s, conditions[s].start) for s, r in regimes.items()
    )
    differences = _series(differences, "arm", "arm")
    table = rounded(pd.DataFrame(rows, columns=list(DECISION_COLUMNS)))
    io.write_csv(paths.plot_table("curves", plots_dir), rounded(curves))
    io.write_csv(paths.plot_table("learning_curves", plots_dir), rounded(learning))
    io.write_csv(paths.plot_table("diff_vs_random", plots_dir), rounded(differences))
    io.write_csv(paths.plot_table("decision", plots_dir), _decision_plot(table))
    io.write_csv(paths.plot_table("discovery", plots_dir), rounded(_discovery_plot(discovery)))
    io.write_csv(paths.analysis_table("decision", metrics_dir), table)
    io.write_csv(
        paths.analysis_table("winloss", metrics_dir),
        _stack(_with_start(r.winloss, s, conditions[s].start) for s, r in regimes.items()),
    )
    io.write_csv(
        paths.analysis_table("strategies", metrics_dir),
        rounded(
            _stack(_with_start(r.strategies, s, conditions[s].start) for s, r in regimes.items())
        ),
    )
    io.write_csv(
        paths.analysis_table("ablations", metrics_dir),
        rounded(ablations_table(ablated, params.ablations.start)),
    )
    io.write_csv(paths.per_source(metrics_dir), rounded(source_table))
    io.write_json(paths.analysis_json(metrics_dir), clean_json(document))
    io.write_json(paths.summary_json(metrics_dir), summary)
    print(f"analysis written to {metrics_dir}/ and {plots_dir}/")
    return summary


def _decision_plot(table: pd.DataFrame) -> pd.DataFrame:
    """``plots/decision.csv``: one line per ``<condition> / <strategy>``, factor vs budget."""
    out = table[["condition", "strategy", "budget", "factor", "low", "high", "verdict"]].copy()
    out.insert(2, "series", out["condition"] + " / " + out["strategy"])
    return out


def _discovery_plot(curves: list[pd.DataFrame]) -> pd.DataFrame:
    """``plots/discovery.csv``: rare examples found vs labels, per condition and strategy."""
    columns = ["condition", "strategy", "series", "n_labels", "mean", "low", "high"]
    frames = [c for c in curves if not c.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "series", out["condition"] + " / " + out["strategy"])
    return out[columns]

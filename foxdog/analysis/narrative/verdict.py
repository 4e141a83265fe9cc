"""The analysis document's verdict sentences: strategies against random, the full-pool model."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from foxdog.analysis.narrative.words import (
    join_and,
    labels_text,
    p_text,
    pct_text,
    points_text,
)
from foxdog.analysis.read import REFERENCE
from foxdog.analysis.stats import as_float
from foxdog.config import AnalysisConfig


def _aulc_numbers(entry: Mapping[str, Any], cfg: AnalysisConfig, n_all: int | None) -> str:
    """``+0.80 points (95% interval -0.20 to +1.80; adjusted p = 0.094[ within ...])``."""
    level = f"{round(100 * cfg.confidence)}%"
    if math.isnan(as_float(entry["p_adjusted"])) and math.isnan(as_float(entry["low"])):
        return (
            f"{points_text(entry['mean_difference'])} points (no interval and no test with "
            f"fewer than {cfg.min_seeds} seeds)"
        )
    text = (
        f"{points_text(entry['mean_difference'])} points ({level} interval "
        f"{points_text(entry['low'])} to {points_text(entry['high'])}; adjusted p = "
        f"{p_text(entry['p_adjusted'])}"
    )
    if n_all:
        study = p_text(entry["p_adjusted_all"])
        text += f" within the regime, {study} over all {n_all} regime × arm tests"
    return text + ")"


def strategy_sentence(
    per_start: Mapping[str, Mapping[str, Any]], cfg: AnalysisConfig, n_all: int
) -> str:
    """The overview's first sentence: where a strategy beats random, by how many labels."""
    starts = list(per_start)
    several = len(starts) > 1
    study = n_all if several else None
    compared = [s for s in starts if per_start[s]["arm"]]
    if not compared:
        return "There is no strategy to compare with random sampling in any regime."
    level = f"{round(100 * cfg.confidence)}%"
    family = f"Benjamini–Hochberg over the distinct arms of each regime, α = {cfg.alpha:g}"
    significant = [s for s in starts if per_start[s]["significant"]]

    def where(s: str) -> str:
        return f" in {s}" if several else ""

    if significant:
        clauses = []
        for s in significant:
            e = per_start[s]
            saving = e["saving"]
            clause = f"{e['arm']} "
            if saving:
                more = saving["labels"] < 0
                reference = (
                    "the regime's full-pool accuracy"
                    if saving["target_reference"] == "full_pool_baseline"
                    else "the best arm's final accuracy in the regime"
                )
                clause += (
                    f"needs {labels_text(abs(saving['labels']))} {'more' if more else 'fewer'} "
                    f"labels than random sampling to reach {pct_text(saving['accuracy'])} test "
                    f"accuracy ({100 * saving['fraction']:g}% of {reference}; {level} interval "
                    f"{labels_text(saving['low'])} to {labels_text(saving['high'])} labels "
                    "saved over "
                    f"{saving['n_pairs']} paired seeds) and gains "
                )
            else:
                clause += "gains "
            clause += f"AULC {_aulc_numbers(e, cfg, study)}"
            if e["also_better"]:
                clause += f", also significantly better: {', '.join(e['also_better'])}"
            clauses.append(f"in {s}, {clause}" if len(significant) > 1 else clause)
        regimes = "regimes" if len(significant) > 1 else "regime"
        text = (
            f"Active learning beats random sampling significantly ({family}) in the "
            f"{join_and(significant)} {regimes}: {'; '.join(clauses)}"
        )
        others = [s for s in compared if s not in significant]
        if others:
            closest = "; ".join(
                f"{per_start[s]['arm']} in {s}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
                for s in others
            )
            text += f"; in {join_and(others)} no strategy does (largest mean AULC: {closest})"
    else:
        scope = f"in any of the {len(starts)} regimes" if several else f"in the {starts[0]} regime"
        closest = "; ".join(
            f"{per_start[s]['arm']}{where(s)}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
            for s in compared
        )
        plural = "s" if len(compared) > 1 else ""
        arms = f"the arm{plural} with the largest mean AULC (negative: behind random)"
        text = (
            f"No strategy beats random sampling significantly {scope} ({family}); {arms}: {closest}"
        )
    worse = [f"{arm}{where(s)}" for s in starts for arm in per_start[s]["worse"]]
    if worse:
        text += f"; significantly worse than random: {', '.join(worse)}"
    return text + "."


def model_sentence(
    model: Mapping[str, Any], level: Mapping[str, Any] | None, cfg: AnalysisConfig
) -> str:
    """The overview's second sentence: the full-pool accuracy per start, random's labels."""
    ref = model["reference_start"]
    starts = model["starts"]
    pct_level = f"{round(100 * cfg.confidence)}%"
    parts = []
    for s, e in starts.items():
        fp, d = e["full_pool"], e["full_pool_vs_reference"]
        text = f"{pct_text(fp['accuracy'])} from {s}"
        if d:
            text += (
                f" ({points_text(d['mean_difference'])} points vs {ref}, {pct_level} interval "
                f"{points_text(d['low'])} to {points_text(d['high'])})"
            )
        elif len(starts) == 1 and math.isfinite(as_float(fp["low"])):
            text += f" ({pct_level} interval {pct_text(fp['low'])}–{pct_text(fp['high'])})"
        parts.append(text)
    text = f"Trained on the full pool, the CNN's test accuracy is {join_and(parts)}"
    if level is not None:
        key = level["key"]
        needs = []
        for s, e in starts.items():
            if e["random"] is None:
                continue
            labels = as_float(e["common_targets"][key]["strategies"][REFERENCE]["labels"])
            if math.isfinite(labels):
                needs.append(f"{labels_text(labels)} labels from {s}")
            else:  # half the seeds or more never get there within the budget
                final = labels_text(as_float(e["random"]["final_labels"]))
                needs.append(f"more than {final} labels from {s}")
        text += (
            f"; to reach {pct_text(level['accuracy'])} ({100 * level['fraction']:g}% of the {ref} "
            f"full-pool accuracy), random sampling needs a median of {join_and(needs)}"
        )
        best = model["best_start"]
        saving = starts[best]["common_targets"][key]["random_saving_vs_reference"]
        if (
            best != ref
            and saving
            and saving["status"] == "ok"
            and saving["n_pairs"] >= cfg.min_seeds
        ):
            text += (
                f" ({best} saves {labels_text(saving['labels'])} labels, {pct_level} interval "
                f"{labels_text(saving['low'])} to {labels_text(saving['high'])}, over "
                f"{saving['n_pairs']} paired seeds)"
            )
    return text + "."

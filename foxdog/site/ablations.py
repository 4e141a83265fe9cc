"""The Insights page's ablation section, as display objects: one factor changed at a time.

Reads ``metrics/ablations.csv`` and ``analysis.json`` ``ablations`` (start, strategies,
factors); each level is compared with random at the factor's fixed label budget.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.site import fmt, inputs, insights, markup, pages, summary_charts

Shown = list[Any]  # what a section displays, in order: Markdown, HTML or a chart

# Each factor's heading and what its levels are, in words.
FACTOR_TEXT = {
    "initial_size": ("Initial model quality", "initial labelled images"),
    "query_size": ("Batch size", "images per query"),
    "label_noise": ("Annotation quality", "oracle label-noise rate"),
}


def _level_text(factor: str, level: float) -> str:
    return fmt.pct(level, 0) if factor == "label_noise" else fmt.integer(level)


def _ablations() -> tuple[dict[str, Any], str, pd.DataFrame, list[str]]:
    """The analysis, its reference, the gains per level and the ablated strategies."""
    doc = inputs.analysis()
    reference = doc["settings"].get("reference", "random")
    ablations = inputs.read_csv("metrics", "ablations.csv")
    gains = pages.ablation_gains(ablations, reference) if len(ablations) else ablations
    strategies = [s for s in doc["ablations"]["strategies"] if s != reference]
    return doc, reference, gains, strategies


def intro() -> Markdown:
    """What was re-run, from which start, and at which fixed budget each factor compares."""
    doc, reference, gains, ab_strategies = _ablations()
    if len(gains) == 0 or not ab_strategies:
        return Markdown("No ablations were run (`ablations.strategies` in params.yaml is empty).")
    budgets = ", ".join(
        f"{f}: {fmt.integer(b)} labels"
        for f, b in gains.groupby("factor")["budget"].first().items()
    )
    return Markdown(
        f"{fmt.join_words(doc['ablations']['strategies'])} were re-run from the "
        f"**{doc['ablations'].get('start', pages.starts(doc)[0])}** starting model with one "
        "protocol factor changed at a time. Changing the initial set or the batch size changes "
        "the total budget, so levels are compared at a fixed label budget: the smallest final "
        f"budget common to all levels of the factor ({budgets}), each seed's accuracy "
        "interpolated there; what matters is the paired gap between "
        f"{fmt.join_words(ab_strategies)} and {reference} at that budget."
    )


def _factor_line(factor: str, s: str, rows: pd.DataFrame, reference: str) -> str:
    heading, what = FACTOR_TEXT.get(factor, (factor, factor))
    text = (
        f"**{heading}** ({what}). {s}'s accuracy advantage over {reference} at "
        f"{fmt.integer(rows['budget'].iloc[0])} labels, by level: {insights.trend(rows)}"
    )
    if factor == "label_noise":
        lo, hi = rows.iloc[0], rows.iloc[-1]
        text += (
            f"; going from {_level_text(factor, lo.level)} to {_level_text(factor, hi.level)} "
            f"noise changes {s}'s accuracy at that budget by "
            f"{fmt.pp(hi.accuracy_at_budget - lo.accuracy_at_budget)} and {reference}'s by "
            f"{fmt.pp(hi.final_reference - lo.final_reference)}"
        )
    return f"- {text}."


def factors() -> Shown:
    """Per factor and ablated strategy, its gain over random by level, in words."""
    doc, reference, gains, ab_strategies = _ablations()
    if not (len(gains) and ab_strategies):
        return []
    out = []
    for factor in doc["ablations"]["factors"]:
        part = gains[gains["factor"] == factor]
        for s in ab_strategies:
            rows = part[part["strategy"] == s].sort_values("level")
            if not rows.empty:
                out.append(_factor_line(factor, s, rows, reference))
    return [Markdown("\n".join(out))]


def results() -> Shown:
    """The ablations' paired gains as a chart, and every ablation run as a table."""
    doc, reference, gains, ab_strategies = _ablations()
    if not (len(gains) and ab_strategies):
        return []
    level = fmt.pct(doc["settings"]["confidence"], 0)
    return [
        summary_charts.ablation_lines(
            gains[gains["strategy"] != reference],
            value="gain",
            low="gain_low",
            high="gain_high",
            axis_title=f"accuracy gain over {reference} at the fixed budget",
            reference=0.0,
            title=f"Active learning's paired accuracy gain over {reference} at a fixed label "
            f"budget (dashed: no gain)",
        ),
        HTML(_runs_table(gains, reference, level)),
    ]


def _runs_table(gains: pd.DataFrame, reference: str, level: str) -> str:
    """Every ablation run: factor, level, strategy, its budget and gain (an HTML table)."""
    return markup.html_table(
        gains,
        {
            "factor": "factor",
            "level": "level",
            "strategy": "strategy",
            "n_seeds": "seeds",
            "final_labels": "labels",
            "final_accuracy": "final accuracy",
            "aulc": "AULC",
            "budget": "fixed budget",
            "accuracy_at_budget": "accuracy at budget",
            "gain": f"gain vs {reference} at budget",
            "gain_low": f"{level} low",
            "gain_high": f"{level} high",
        },
        {
            "level": lambda v: f"{v:g}",
            "n_seeds": fmt.integer,
            "final_labels": fmt.integer,
            "final_accuracy": fmt.pct,
            "aulc": fmt.num,
            "budget": fmt.integer,
            "accuracy_at_budget": fmt.pct,
            "gain": lambda v: fmt.pp(v),
            "gain_low": lambda v: fmt.pp(v),
            "gain_high": lambda v: fmt.pp(v),
        },
        caption="Ablation runs (the default level comes from the main experiment)",
    )

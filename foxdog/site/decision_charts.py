"""The Overview's two decision charts: the decision map and the "your budget" control.

Both are pure: a tidy DataFrame in (rows of ``analysis.json["decision"]``, or the long
``plots/curves.csv``), an Altair chart out. The budget control works offline: a drop-down
(condition) and a slider (labels) are Vega-Lite parameters, and every number it shows is
computed in the page from the curves it embeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from foxdog.site.chart_parts import RANDOM, require, strategy_order, strategy_scale

#: The verdict colours of the decision map (colour-blind safe: blue / grey / orange).
VERDICT_COLOURS = {"pays": "#2b6cb0", "no difference": "#adb5bd", "costs": "#dd6b20"}
CONDITION_PARAM = "condition"
BUDGET_PARAM = "budget"
WIDTH = 420  # the plot; the numbers take about 380 px to its right (fits 1280 px pages)


def _map_panel(data: pd.DataFrame, level: str, title: str | None) -> alt.LayerChart:
    """One block of the decision map: its rows (condition · strategy) × its budgets."""
    order = list(dict.fromkeys(data["row"]))
    base = alt.Chart(data).encode(
        x=alt.X("budget:O", title="labelling budget (labels)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("row:N", title=None, sort=order),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "verdict:N",
            title="against random",
            scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values())),
        ),
        tooltip=[
            alt.Tooltip("condition_label:N", title="condition"),
            alt.Tooltip("strategy:N"),
            alt.Tooltip("budget:Q", title="budget"),
            alt.Tooltip("factor_text:N", title=f"speed-up [{level} interval]"),
            alt.Tooltip("verdict:N"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text="factor_text:N",
        color=alt.condition(
            "datum.verdict == 'no difference'", alt.value("#212529"), alt.value("white")
        ),
    )
    chart = (cells + text).properties(width=alt.Step(150), height=alt.Step(28))
    return chart.properties(title=title) if title else chart


def decision_map(
    rows: pd.DataFrame, *, level: str, title: str | None = None
) -> alt.LayerChart | alt.VConcatChart:
    """Condition × budget cells per strategy: the speed-up factor with its interval, coloured.

    ``rows`` has ``condition_label``, ``strategy``, ``budget``, ``factor``, ``low``, ``high``,
    ``verdict`` and ``factor_text``; one row of cells per (condition, strategy). Starts
    with their own budgets (another protocol) get a block each, stacked, so no column
    is empty for half the rows and the map stays narrow.
    """
    require(
        rows,
        [
            "condition_label",
            "strategy",
            "budget",
            "factor",
            "low",
            "high",
            "verdict",
            "factor_text",
        ],
        "decision map",
    )
    data = rows.assign(row=rows["condition_label"] + " · " + rows["strategy"])
    title = (
        title
        or f"Labels saved against random: speed-up [{level} interval] per condition and budget"
    )
    key = data["start"].astype(str) if "start" in data.columns else pd.Series("", index=data.index)
    budgets = {k: tuple(sorted(set(part["budget"]))) for k, part in data.groupby(key, sort=False)}
    if len(set(budgets.values())) <= 1:
        return _map_panel(data, level, title)
    groups: dict[tuple, list[str]] = {}
    for k, b in budgets.items():
        groups.setdefault(b, []).append(k)
    panels = [_map_panel(data[key.isin(members)], level, None) for members in groups.values()]
    return alt.vconcat(*panels).resolve_scale(x="independent").properties(title=title)


def budget_control(
    curves: pd.DataFrame,
    *,
    conditions: Mapping[str, str],
    level: str,
    metric_title: str = "test accuracy",
    reference: str = RANDOM,
) -> alt.LayerChart:
    """Each strategy's mean score with its band at a chosen budget and condition, and random's.

    ``curves`` is long (``condition``, ``strategy``, ``n_labels``, ``mean``, ``low``,
    ``high``) holding one score per condition (accuracy, or balanced accuracy for a
    subsampled pool). ``conditions`` maps each condition to its label in the drop-down. The
    slider picks a number of labels; each strategy shows its round nearest to it.
    """
    require(curves, ["condition", "strategy", "n_labels", "mean", "low", "high"], "budget control")
    names = list(conditions)
    data = curves[curves["condition"].isin(names)][
        ["condition", "strategy", "n_labels", "mean", "low", "high"]
    ].reset_index(drop=True)
    strategies = strategy_order(sorted(data["strategy"].unique()))
    lo, hi = int(data["n_labels"].min()), int(data["n_labels"].max())
    condition = alt.param(
        name=CONDITION_PARAM,
        value=names[0],
        bind=alt.binding_select(
            options=names, labels=[conditions[n] for n in names], name="Condition "
        ),
    )
    budget = alt.param(
        name=BUDGET_PARAM,
        value=min(hi, lo + (hi - lo) // 3),
        bind=alt.binding_range(min=lo, max=hi, step=10, name="Labels "),
    )
    # The round nearest the chosen budget per strategy (ties go to the smaller round).
    base = (
        alt.Chart(data)
        .transform_filter(f"datum.condition == {CONDITION_PARAM}")
        .transform_calculate(gap=f"abs(datum.n_labels - {BUDGET_PARAM}) + 1e-6 * datum.n_labels")
        .transform_joinaggregate(nearest="min(gap)", groupby=["strategy"])
        .transform_filter("datum.gap == datum.nearest")
        .transform_calculate(ref_mean=f"datum.strategy == '{reference}' ? datum.mean : null")
        .transform_joinaggregate(random_mean="max(ref_mean)")
        .transform_calculate(
            label=(
                "format(datum.mean, '.1%') + ' [' + format(datum.low, '.1%') + ', '"
                " + format(datum.high, '.1%') + '] at ' + datum.n_labels + ' labels'"
                f" + (datum.strategy == '{reference}' ? '' : ', '"
                " + format(100 * (datum.mean - datum.random_mean), '+.1f') + ' pts vs random')"
            )
        )
    )
    y = alt.Y("strategy:N", sort=strategies, title=None)
    # The axis names the strategies: no legend to click here.
    colour = alt.Color("strategy:N", scale=strategy_scale(strategies), legend=None)
    x_scale = alt.Scale(zero=False, domain=[float(data["low"].min()), float(data["high"].max())])
    band = base.mark_rule(strokeWidth=3).encode(
        y=y,
        x=alt.X(
            "low:Q",
            title=f"mean {metric_title} with its {level} band",
            scale=x_scale,
            axis=alt.Axis(format="%"),
        ),
        x2="high:Q",
        color=colour,
    )
    dots = base.mark_point(filled=True, size=90).encode(
        y=y,
        x="mean:Q",
        color=colour,
        tooltip=[alt.Tooltip("strategy:N"), alt.Tooltip("label:N", title=metric_title)],
    )
    rule = (
        base.transform_filter(f"datum.strategy == '{reference}'")
        .mark_rule(strokeDash=[6, 4], color="#495057")
        .encode(x="mean:Q")
    )
    # The numbers in a column right of the plot: they never cover a band.
    text = base.mark_text(align="left", fontSize=12, color="#212529").encode(
        y=y, x=alt.value(WIDTH + 12), text="label:N"
    )
    return (
        alt.layer(band, rule, dots, text)
        .add_params(condition, budget)
        .properties(
            width=WIDTH,
            height=alt.Step(46),
            title=(
                f"Your budget: each strategy's {metric_title} at the chosen number of labels "
                f"({level} band; dashed: {reference})"
            ),
        )
    )


def condition_labels(
    names: Sequence[str], info: Mapping[str, Mapping[str, object]] | None = None
) -> dict[str, str]:
    """Drop-down labels: ``imagenet, 5% cat in the pool``; a natural condition by its start."""
    info = info or {}
    out = {}
    for name in names:
        entry = info.get(name) or {}
        share = entry.get("pool_share")
        if "-" in name and isinstance(share, (int, float)):
            out[name] = f"{entry.get('start', name.split('-')[0])}, {100 * float(share):.0f}% "
            out[name] += f"{entry.get('rare_class', '')} in the pool"
        else:
            out[name] = f"{name} (natural balance)"
    return out

"""Altair charts of per-seed summaries: win/loss records, intervals, ablation gains, ProbCover's δ.

Pure builders like :mod:`foxdog.site.charts` (a tidy DataFrame in, a chart out, nothing
read from disk), sharing its parts (:mod:`foxdog.site.chart_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from foxdog.site.chart_parts import (
    HEIGHT,
    PALETTE,
    REFERENCE_RULE,
    WIDTH,
    legend_selection,
    regimes_of,
    require,
    strategy_colour_encoding,
    strategy_order,
    strategy_scale,
)


def winloss_heatmap(
    winloss: pd.DataFrame, *, starts: Sequence[str] | None = None, title: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Row strategy vs column opponent: wins − losses over paired seeds, with W/T/L as text.

    ``winloss`` is ``metrics/winloss.csv``: ``[start,] strategy, opponent, wins, ties,
    losses``; with several starts, one panel per regime.
    """
    require(winloss, ["strategy", "opponent", "wins", "ties", "losses"], "winloss")
    data = winloss.copy()
    data["net"] = data["wins"] - data["losses"]
    data["label"] = (
        data["wins"].astype(int).astype(str)
        + "/"
        + data["ties"].astype(int).astype(str)
        + "/"
        + data["losses"].astype(int).astype(str)
    )
    regimes = regimes_of(data, starts)
    names = strategy_order(pd.concat([data["strategy"], data["opponent"]]).unique().tolist())
    games = (data["wins"] + data["ties"] + data["losses"]).max()
    limit = max(int(games) if pd.notna(games) else 1, 1)
    base = alt.Chart().encode(
        x=alt.X("opponent:N", sort=names, title="against", axis=alt.Axis(labelAngle=-35)),
        y=alt.Y("strategy:N", sort=names, title="strategy"),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "net:Q",
            title="wins − losses",
            scale=alt.Scale(scheme="redblue", domain=[-limit, limit]),
        ),
        tooltip=[
            *([alt.Tooltip("start:N", title="starting model")] if regimes else []),
            alt.Tooltip("strategy:N"),
            alt.Tooltip("opponent:N", title="against"),
            alt.Tooltip("wins:Q"),
            alt.Tooltip("ties:Q"),
            alt.Tooltip("losses:Q"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition(
            f"abs(datum.net) > {limit / 2}", alt.value("white"), alt.value("#212529")
        ),
    )
    side = max(60 * len(names), 160)
    chart = alt.layer(cells, text, data=data).properties(width=side, height=side)
    if len(regimes) > 1:
        chart = chart.facet(column=alt.Column("start:N", sort=regimes, title="starting model"))
    if title:
        chart = chart.properties(title=title)
    return chart


def interval_dots(
    frame: pd.DataFrame,
    *,
    value: str,
    low: str | None = None,
    high: str | None = None,
    title: str | None = None,
    axis_title: str | None = None,
    reference: float | None = None,
    starts: Sequence[str] | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """One dot per row with an optional interval (e.g. AULC with its interval), best on top.

    With a ``start`` column holding several regimes: one row of panels per regime
    (``reference`` then has to be one value for all, e.g. 0 for a difference).
    """
    regimes = regimes_of(frame, starts)
    needed = ["strategy", value] + [c for c in (low, high) if c]
    require(frame, needed, "interval_dots")
    keep = ["start"] if len(regimes) > 1 else []
    data = frame[keep + needed].dropna(subset=[value]).copy()
    order = data.groupby("strategy")[value].mean().sort_values(ascending=False).index.tolist()
    colour_names = strategy_order(data["strategy"].unique().tolist())
    y = alt.Y("strategy:N", sort=order, title=None)
    tooltip = [alt.Tooltip(f"{c}:Q", format=".3f") for c in needed[1:]]
    dots = (
        alt.Chart()
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X(
                f"{value}:Q",
                title=axis_title or value,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".3~f", tickCount=6),
            ),
            y=y,
            color=alt.Color("strategy:N", scale=strategy_scale(colour_names), legend=None),
            tooltip=[*(alt.Tooltip(f"{c}:N") for c in keep), alt.Tooltip("strategy:N"), *tooltip],
        )
    )
    layers: list[alt.Chart] = []
    if low and high:
        layers.append(
            alt.Chart()
            .mark_rule(strokeWidth=2, color="#868e96")
            .encode(x=f"{low}:Q", x2=f"{high}:Q", y=y)
        )
    layers.append(dots)
    if reference is not None:
        layers.append(alt.Chart().mark_rule(**REFERENCE_RULE).encode(x=alt.datum(float(reference))))
    chart = alt.layer(*layers, data=data).properties(
        width=WIDTH - 120, height=max(28 * len(order), 80)
    )
    if keep:
        chart = chart.facet(row=alt.Row("start:N", sort=regimes, title="starting model"))
    if title:
        chart = chart.properties(title=title)
    return chart


def ablation_lines(
    ablations: pd.DataFrame,
    *,
    value: str,
    factor_column: str = "factor",
    level_column: str = "level",
    low: str | None = None,
    high: str | None = None,
    axis_title: str | None = None,
    reference: float | None = None,
    title: str | None = None,
) -> alt.FacetChart:
    """One small panel per ablated factor: ``value`` against the factor's level, per strategy.

    ``reference`` draws a dashed horizontal rule (e.g. 0 for a gain over random).
    """
    needed = [factor_column, level_column, "strategy", value] + [c for c in (low, high) if c]
    require(ablations, needed, "ablations")
    data = ablations[needed].copy()
    names = strategy_order(data["strategy"].unique().tolist())
    pick = legend_selection("pick_ablation")
    colour = strategy_colour_encoding(names)
    base = alt.Chart().encode(
        x=alt.X(f"{level_column}:Q", title="level", scale=alt.Scale(zero=False)),
        color=colour,
    )
    tooltip = [alt.Tooltip("strategy:N"), alt.Tooltip(f"{level_column}:Q", title="level")]
    tooltip += [alt.Tooltip(f"{c}:Q", format=".3f") for c in needed[3:]]
    layers: list[alt.Chart] = []
    if low and high:
        layers.append(
            base.mark_errorbar(ticks=True).encode(
                y=alt.Y(f"{low}:Q", title=axis_title or value),
                y2=f"{high}:Q",
                opacity=alt.condition(pick, alt.value(0.8), alt.value(0.1)),
            )
        )
    line = base.mark_line(point=alt.OverlayMarkDef(filled=True, size=50)).encode(
        y=alt.Y(f"{value}:Q", title=axis_title or value, scale=alt.Scale(zero=False)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        tooltip=tooltip,
    )
    layers.append(line.add_params(pick))
    if reference is not None:
        layers.insert(
            0,
            alt.Chart().mark_rule(**REFERENCE_RULE).encode(y=alt.datum(float(reference))),
        )
    chart = (
        alt.layer(*layers, data=data)
        .properties(width=230, height=200)
        .facet(column=alt.Column(f"{factor_column}:N", title=None))
        .resolve_scale(x="independent")
    )
    if title:
        chart = chart.properties(title=title)
    return chart


def probcover_delta(
    table: pd.DataFrame, *, alpha: float | None = None, title: str | None = None
) -> alt.LayerChart:
    """ProbCover's trade-off: ball purity and one round's coverage against δ, per seed.

    ``table`` is ``metrics/probcover_delta.csv``; a vertical rule marks each seed's
    chosen δ, a dashed horizontal one the purity threshold ``alpha``.
    """
    require(table, ["seed", "delta", "purity", "coverage", "chosen"], "probcover_delta")
    data = table.melt(
        id_vars=["seed", "delta", "chosen"],
        value_vars=["purity", "coverage"],
        var_name="measure",
        value_name="value",
    )
    data["seed"] = data["seed"].astype(str)
    measure = alt.Color(
        "measure:N",
        title=None,
        scale=alt.Scale(domain=["purity", "coverage"], range=[PALETTE[0], PALETTE[1]]),
        legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3),
    )
    lines = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=25))
        .encode(
            x=alt.X(
                "delta:Q",
                title="ball radius δ (unit-normalised embeddings)",
                axis=alt.Axis(tickCount=10),
            ),
            y=alt.Y("value:Q", title="share of the pool", scale=alt.Scale(domain=[0, 1])),
            color=measure,
            detail="seed:N",
            tooltip=[
                alt.Tooltip("seed:N"),
                alt.Tooltip("measure:N"),
                alt.Tooltip("delta:Q", format=".2f", title="δ"),
                alt.Tooltip("value:Q", format=".3f"),
            ],
        )
    )
    chosen = table.loc[table["chosen"].astype(bool), ["seed", "delta"]].astype({"seed": str})
    rules = (
        alt.Chart(chosen)
        .mark_rule(color="#495057")
        .encode(
            x="delta:Q",
            tooltip=[alt.Tooltip("seed:N"), alt.Tooltip("delta:Q", title="chosen δ")],
        )
    )
    layers: list[alt.Chart] = [rules, lines]
    if alpha is not None:
        layers.insert(0, alt.Chart().mark_rule(**REFERENCE_RULE).encode(y=alt.datum(alpha)))
    chart = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT * 0.75)
    if title:
        chart = chart.properties(title=title)
    return chart

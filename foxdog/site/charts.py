"""Altair learning-curve charts for the report pages: curves, differences, metrics, class shares.

Every builder is a pure function: a tidy DataFrame in (the columns the analysis
stage writes, see :mod:`foxdog.analysis` and ``docs/formats.md``), an
``alt.Chart`` out; nothing is read from disk here. The per-seed summaries (win/loss
records, intervals, ablation gains, ProbCover's δ) are in :mod:`foxdog.site.summary_charts`;
the pages show charts offline through :mod:`foxdog.site.offline`.

Interaction conventions, the same on every chart that has strategies:
clicking a legend entry toggles that strategy (a point selection bound to the
legend; with nothing selected every strategy is shown), hovering a point shows
its numbers. Data with a ``start`` column holding several regimes (the starting
model: ``scratch``, ``transfer``, ``selfsup``) gets a "starting model" drop-down
under the chart (a parameter bound to a select element that filters every layer),
or one panel per regime where comparing them side by side is the point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from foxdog.site.chart_parts import (
    HEIGHT,
    METRIC_TITLES,
    RANDOM,
    REFERENCE_RULE,
    WIDTH,
    X_TITLES,
    by_regime,
    legend_selection,
    mean_with_band,
    reference_layers,
    regime_selector,
    regimes_of,
    require,
    start_scale,
    strategy_colour_encoding,
    strategy_order,
    x_axis,
)


def learning_curves(
    curves: pd.DataFrame,
    *,
    level: str,
    x: str = "n_labels",
    metric: str = "accuracy",
    baseline: float | Mapping[str, float] | None = None,
    baseline_label: str | Mapping[str, str] = "full pool",
    strategies: Sequence[str] | None = None,
    starts: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Mean learning curve per strategy with its confidence band.

    ``curves`` is ``plots/curves.csv``: ``[start,] strategy, round, n_labels, metric,
    mean, low, high``. ``x`` is ``"n_labels"`` or ``"round"``. ``baseline`` draws a
    dashed rule (e.g. the full-pool accuracy): one value, or one per start. With
    several starts in ``curves`` a drop-down picks the regime shown (``starts`` gives
    their order, first shown first). Clicking the legend toggles strategies.
    """
    require(curves, ["strategy", "round", "n_labels", "metric", "mean", "low", "high"], "curves")
    if x not in X_TITLES:
        raise ValueError(f"x must be one of {list(X_TITLES)}, got {x!r}")
    data = curves[curves["metric"] == metric]
    if strategies is not None:
        data = data[data["strategy"].isin(list(strategies))]
    if data.empty:
        raise ValueError(f"curves: no rows for metric {metric!r}")
    regimes = regimes_of(data, starts)
    keep = ["start"] if regimes else []
    data = data[[*keep, "strategy", "round", "n_labels", "mean", "low", "high"]].copy()
    names = strategy_order(data["strategy"].unique().tolist())
    pick = legend_selection("pick")
    choice = regime_selector(regimes) if len(regimes) > 1 else None
    y_title = METRIC_TITLES.get(metric, metric)
    colour = strategy_colour_encoding(names)
    base = by_regime(alt.Chart(data), choice).encode(x=x_axis(x), color=colour)
    tooltip = [alt.Tooltip("start:N", title="starting model")] if regimes else []
    layers = mean_with_band(
        base,
        pick,
        alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)),
        [
            *tooltip,
            alt.Tooltip("strategy:N"),
            alt.Tooltip("round:Q"),
            alt.Tooltip("n_labels:Q", title="labels"),
            alt.Tooltip("mean:Q", title=f"mean {y_title}", format=".3f"),
            alt.Tooltip("low:Q", title=f"{level} interval low", format=".3f"),
            alt.Tooltip("high:Q", title=f"{level} interval high", format=".3f"),
        ],
        band_opacity=0.15,
    )
    if baseline is not None:
        layers += reference_layers(baseline, baseline_label, regimes, choice)
    chart = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
    if choice is not None:
        chart = chart.add_params(choice)
    if title:
        chart = chart.properties(title=title)
    return chart


def difference_curves(
    diff: pd.DataFrame,
    *,
    level: str,
    starts: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """Each arm's paired accuracy difference from random per round, with its t-interval.

    ``diff`` is ``plots/diff_vs_random.csv`` (``[start,] strategy, arm, round, n_labels,
    mean_difference, low, high``); the dashed zero line is random itself. With several
    starts there is one panel per regime, side by side (``starts`` gives their order),
    so the gain can be compared across starting models at a glance.
    """
    require(diff, ["strategy", "round", "n_labels", "mean_difference", "low", "high"], "diff")
    data = diff.rename(columns={"mean_difference": "mean"}).assign(metric="accuracy_difference")
    regimes = regimes_of(data, starts)
    if len(regimes) <= 1:
        return learning_curves(
            data.drop(columns=["start"], errors="ignore"),
            level=level,
            metric="accuracy_difference",
            baseline=0.0,
            baseline_label="random (no difference)",
            title=title,
        )
    data = data[["start", "strategy", "round", "n_labels", "mean", "low", "high"]]
    names = strategy_order(data["strategy"].unique().tolist())
    pick = legend_selection("pick_diff")
    base = alt.Chart().encode(x=x_axis("n_labels"), color=strategy_colour_encoding(names))
    zero = alt.Chart().mark_rule(**REFERENCE_RULE).encode(y=alt.datum(0.0))
    layers = mean_with_band(
        base,
        pick,
        alt.Y("mean:Q", title=METRIC_TITLES["accuracy_difference"]),
        [
            alt.Tooltip("start:N", title="starting model"),
            alt.Tooltip("strategy:N"),
            alt.Tooltip("n_labels:Q", title="labels"),
            alt.Tooltip("mean:Q", title="mean difference", format="+.3f"),
            alt.Tooltip("low:Q", title=f"{level} interval low", format="+.3f"),
            alt.Tooltip("high:Q", title=f"{level} interval high", format="+.3f"),
        ],
        point_size=30,
    )
    width = max(200, (WIDTH + 120) // len(regimes) - 40)
    chart = (
        alt.layer(zero, *layers, data=data)
        .properties(width=width, height=240)
        .facet(column=alt.Column("start:N", sort=regimes, title="starting model"))
    )
    if title:
        chart = chart.properties(title=title)
    return chart


def regime_curves(
    curves: pd.DataFrame,
    *,
    level: str,
    strategy: str = RANDOM,
    metric: str = "accuracy",
    baselines: Mapping[str, float] | None = None,
    starts: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """One strategy's learning curve per starting model, coloured by regime.

    ``curves`` is ``plots/curves.csv`` with its ``start`` column; ``baselines`` maps a
    start to its full-pool accuracy, drawn as a dashed rule in the regime's colour.
    Clicking the legend toggles regimes.
    """
    require(curves, ["start", "strategy", "n_labels", "metric", "mean", "low", "high"], "curves")
    data = curves[(curves["metric"] == metric) & (curves["strategy"] == strategy)]
    if data.empty:
        raise ValueError(f"curves: no rows for {strategy!r} and metric {metric!r}")
    data = data[["start", "round", "n_labels", "mean", "low", "high"]].copy()
    regimes = regimes_of(data, starts)
    pick = alt.selection_point(name="pick_start", fields=["start"], bind="legend", toggle="true")
    colour = alt.Color(
        "start:N",
        scale=start_scale(regimes),
        sort=regimes,
        legend=alt.Legend(
            title="starting model (click to toggle)",
            symbolType="stroke",
            symbolOpacity=1,
            symbolStrokeWidth=3,
        ),
    )
    y_title = METRIC_TITLES.get(metric, metric)
    base = alt.Chart(data).encode(x=x_axis("n_labels"), color=colour)
    layers = mean_with_band(
        base,
        pick,
        alt.Y("mean:Q", title=f"{y_title} ({strategy})", scale=alt.Scale(zero=False)),
        [
            alt.Tooltip("start:N", title="starting model"),
            alt.Tooltip("n_labels:Q", title="labels"),
            alt.Tooltip("mean:Q", title=f"mean {y_title}", format=".3f"),
            alt.Tooltip("low:Q", title=f"{level} interval low", format=".3f"),
            alt.Tooltip("high:Q", title=f"{level} interval high", format=".3f"),
        ],
    )
    if baselines:
        shown = [s for s in regimes if s in baselines]
        ref = pd.DataFrame({"start": shown, "value": [float(baselines[s]) for s in shown]})
        layers.append(
            alt.Chart(ref)
            .mark_rule(strokeDash=[6, 4])
            .encode(
                y="value:Q",
                color=alt.Color("start:N", scale=start_scale(regimes), legend=None),
                opacity=alt.condition(pick, alt.value(0.9), alt.value(0.1)),
                tooltip=[
                    alt.Tooltip("start:N", title="full pool, starting model"),
                    alt.Tooltip("value:Q", title="accuracy", format=".3f"),
                ],
            )
        )
    chart = alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return chart


def metric_explorer(
    curves: pd.DataFrame,
    metrics: Sequence[str],
    *,
    level: str,
    x: str = "n_labels",
    starts: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Learning curves of any of ``metrics``, picked from a drop-down under the chart.

    Same data and interactions as :func:`learning_curves` (bands, tooltips,
    legend toggle, the starting-model drop-down when ``curves`` has several starts);
    the metric drop-down filters the long-form ``curves`` by metric.
    """
    require(curves, ["strategy", "round", "n_labels", "metric", "mean", "low", "high"], "curves")
    data = curves[curves["metric"].isin(list(metrics))]
    present = [m for m in metrics if m in set(data["metric"])]
    if not present:
        raise ValueError(f"curves: none of the metrics {list(metrics)}")
    data = data.assign(metric_title=data["metric"].map(lambda m: METRIC_TITLES.get(m, m)))
    names = strategy_order(data["strategy"].unique().tolist())
    pick = legend_selection("pick_metric")
    choice = alt.param(
        name="metric_choice",
        value=present[0],
        bind=alt.binding_select(
            options=present, labels=[METRIC_TITLES.get(m, m) for m in present], name="metric "
        ),
    )
    colour = strategy_colour_encoding(names)
    base = alt.Chart(data).encode(x=x_axis(x), color=colour)
    layers = mean_with_band(
        base,
        pick,
        alt.Y("mean:Q", title="value of the chosen metric", scale=alt.Scale(zero=False)),
        [
            alt.Tooltip("strategy:N"),
            alt.Tooltip("metric_title:N", title="metric"),
            alt.Tooltip("round:Q"),
            alt.Tooltip("n_labels:Q", title="labels"),
            alt.Tooltip("mean:Q", format=".3f"),
            alt.Tooltip("low:Q", title=f"{level} interval low", format=".3f"),
            alt.Tooltip("high:Q", title=f"{level} interval high", format=".3f"),
        ],
        band_opacity=0.15,
    )
    chart = alt.layer(*layers).transform_filter(alt.datum.metric == choice).add_params(choice)
    regimes = regimes_of(data, starts)
    if len(regimes) > 1:
        regime = regime_selector(regimes)
        chart = chart.transform_filter(alt.datum.start == regime).add_params(regime)
    chart = chart.properties(width=WIDTH, height=HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return chart


def class_shares(
    curves: pd.DataFrame,
    classes: Sequence[str],
    *,
    pool_shares: Mapping[str, float] | None = None,
    starts: Sequence[str] | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Share of each class among each round's queries, per strategy (mean and band over seeds).

    ``curves`` is ``plots/curves.csv``; its ``share_<class>`` metrics are read for every
    class of ``classes``. A drop-down picks the class (and one the starting model, when
    there are several); ``pool_shares`` maps a class to its share of the pool, drawn as
    the dashed reference.
    """
    require(curves, ["strategy", "round", "metric", "mean"], "curves")
    metric = {f"share_{c}": str(c) for c in classes}
    data = curves[curves["metric"].isin(list(metric))].copy()
    if data.empty:
        raise ValueError(f"curves: no share_<class> rows for the classes {list(classes)}")
    data["class"] = data["metric"].map(metric)
    present = [str(c) for c in classes if str(c) in set(data["class"])]
    regimes = regimes_of(data, starts)
    keep = [c for c in ("start", "class", "strategy", "round", "mean", "low", "high") if c in data]
    data = data[keep]
    names = strategy_order(data["strategy"].unique().tolist())
    pick = legend_selection("pick_share")
    which = alt.param(
        name="share_class",
        value=present[0],
        bind=alt.binding_select(options=present, name="class "),
    )
    regime = regime_selector(regimes) if len(regimes) > 1 else None
    colour = strategy_colour_encoding(names)
    base = by_regime(alt.Chart(data).transform_filter(alt.datum["class"] == which), regime)
    base = base.encode(
        x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1)), color=colour
    )
    line = base.mark_line(strokeWidth=2).encode(
        y=alt.Y(
            "mean:Q",
            title="share of the class among queried images",
            scale=alt.Scale(domain=[0, 1]),
        ),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
    )
    tooltip = [alt.Tooltip("start:N", title="starting model")] if regimes else []
    tooltip += [
        alt.Tooltip("class:N"),
        alt.Tooltip("strategy:N"),
        alt.Tooltip("round:Q"),
        alt.Tooltip("mean:Q", title="share", format=".2f"),
    ]
    layers: list[alt.Chart] = []
    if {"low", "high"} <= set(data.columns):
        layers.append(
            base.mark_area().encode(
                y="low:Q",
                y2="high:Q",
                opacity=alt.condition(pick, alt.value(0.14), alt.value(0.02)),
            )
        )
        tooltip += [alt.Tooltip("low:Q", format=".2f"), alt.Tooltip("high:Q", format=".2f")]
    points = base.mark_point(filled=True, size=36).encode(
        y="mean:Q", opacity=alt.condition(pick, alt.value(1.0), alt.value(0.1)), tooltip=tooltip
    )
    layers += [line.add_params(pick), points]
    if pool_shares:
        ref = pd.DataFrame(
            {
                "class": [c for c in present if c in pool_shares],
                "value": [float(pool_shares[c]) for c in present if c in pool_shares],
            }
        )
        rule = (
            alt.Chart(ref)
            .transform_filter(alt.datum["class"] == which)
            .mark_rule(**REFERENCE_RULE)
            .encode(
                y="value:Q",
                tooltip=[
                    alt.Tooltip("class:N", title="share in the pool of"),
                    alt.Tooltip("value:Q", format=".2f"),
                ],
            )
        )
        layers.append(rule)
    chart = alt.layer(*layers).add_params(which)
    if regime is not None:
        chart = chart.add_params(regime)
    chart = chart.properties(width=WIDTH, height=260)
    if title:
        chart = chart.properties(title=title)
    return chart

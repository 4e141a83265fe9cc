"""What every chart of the report shares: sizes, titles, colours, scales, legends, selectors."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from foxdog.registry import START_INFO, STRATEGIES

RANDOM = "random"


WIDTH = 620


HEIGHT = 340


# Random is the reference every other strategy is compared with: draw it in black.
PALETTE = [
    "#e8590c",  # fox orange
    "#1c7ed6",
    "#2f9e44",
    "#ae3ec9",
    "#f59f00",
    "#0c8599",
    "#d6336c",
    "#5c940d",
    "#3b5bdb",
]


METRIC_TITLES = {
    "accuracy": "test accuracy",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro-averaged F1",
    "log_loss": "log-loss",
    "ece": "expected calibration error",
    "kappa_prev": "agreement with the previous round (κ)",
    "kappa_stop": "agreement with the previous round on the stop set (κ)",
    "val_accuracy": "validation accuracy",
    "accuracy_difference": "test accuracy minus random's (paired)",
}


X_TITLES = {"n_labels": "labelled images", "round": "round"}


# The regimes' colours where a chart compares starting models (not strategies).
START_COLOURS = {s.name: s.colour for s in START_INFO.values()}


REGIME_PARAM = "regime"


def strategy_order(strategies: Sequence[str]) -> list[str]:
    """Registry order (``foxdog.registry.STRATEGIES``), random first, unknown names last."""
    known = [s for s in STRATEGIES if s in set(strategies)]
    rest = sorted(set(strategies) - set(known))
    return known + rest


def strategy_colour(strategy: str) -> str:
    """The colour of ``strategy`` on every chart (random in black; by registry position)."""
    if strategy == RANDOM:
        return "#212529"
    others = [s for s in STRATEGIES if s != RANDOM]
    if strategy in others:
        return PALETTE[others.index(strategy) % len(PALETTE)]
    # Names outside the registry: a stable colour from the name itself.
    digest = int(hashlib.sha1(strategy.encode("utf-8")).hexdigest(), 16)
    return PALETTE[digest % len(PALETTE)]


def strategy_scale(strategies: Sequence[str]) -> alt.Scale:
    """Colour scale for these strategies; a strategy keeps its colour on every chart."""
    order = strategy_order(strategies)
    return alt.Scale(domain=order, range=[strategy_colour(s) for s in order])


# Solid legend symbols: the band layers would otherwise make them pale.
LEGEND = alt.Legend(
    title="strategy (click to toggle)", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3
)


# Dashed grey line for a reference value (full-pool accuracy, random, "no gain").
REFERENCE_RULE = {"strokeDash": [6, 4], "color": "#495057"}


def strategy_colour_encoding(names: Sequence[str]) -> alt.Color:
    """Colour by strategy, fixed palette, clickable legend in ``names`` order."""
    return alt.Color("strategy:N", scale=strategy_scale(names), sort=list(names), legend=LEGEND)


def legend_selection(name: str) -> alt.Parameter:
    # toggle="true": a click adds or removes one strategy, no shift key needed.
    return alt.selection_point(name=name, fields=["strategy"], bind="legend", toggle="true")


def mean_with_band(
    base: alt.Chart,
    pick: alt.Parameter,
    y: alt.Y,
    tooltip: list[alt.Tooltip],
    *,
    point_size: int = 36,
    band_opacity: float | None = None,
) -> list[alt.Chart]:
    """The mean line, its interval band (``low``..``high``) and its points, faded off ``pick``.

    The layers every curve chart draws; ``pick`` is bound to the line (the legend toggle).
    """
    area = base.mark_area() if band_opacity is None else base.mark_area(opacity=band_opacity)
    band = area.encode(
        y=alt.Y("low:Q"), y2="high:Q", opacity=alt.condition(pick, alt.value(0.16), alt.value(0.02))
    )
    line = base.mark_line(strokeWidth=2).encode(
        y=y, opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12))
    )
    points = base.mark_point(filled=True, size=point_size).encode(
        y="mean:Q", opacity=alt.condition(pick, alt.value(1.0), alt.value(0.1)), tooltip=tooltip
    )
    return [band, line.add_params(pick), points]


def x_axis(x: str) -> alt.X:
    # Rounds are whole numbers: no 0.5 ticks.
    axis = alt.Axis(tickMinStep=1) if x == "round" else alt.Axis()
    return alt.X(f"{x}:Q", title=X_TITLES[x], axis=axis)


def start_order(starts: Sequence[str], order: Sequence[str] | None = None) -> list[str]:
    """``starts`` in ``order`` (e.g. ``active.starts``), then any others as they come."""
    present = list(dict.fromkeys(str(s) for s in starts))
    known = [s for s in (order or []) if s in present]
    return known + [s for s in present if s not in known]


def start_scale(starts: Sequence[str]) -> alt.Scale:
    """Colour scale of the starting models (a stable colour per regime name)."""
    fallback = [c for c in PALETTE if c not in START_COLOURS.values()]
    colours = [
        START_COLOURS.get(s)
        or fallback[int(hashlib.sha1(s.encode("utf-8")).hexdigest(), 16) % len(fallback)]
        for s in starts
    ]
    return alt.Scale(domain=list(starts), range=colours)


def regimes_of(frame: pd.DataFrame, order: Sequence[str] | None = None) -> list[str]:
    """The regimes (``start`` values) in ``frame``, in ``order``; [] without a ``start`` column."""
    if "start" not in frame.columns:
        return []
    return start_order(frame["start"].dropna().astype(str).unique().tolist(), order)


def regime_selector(starts: Sequence[str], name: str = REGIME_PARAM) -> alt.Parameter:
    """A "starting model" drop-down (a parameter bound to a select element)."""
    return alt.param(
        name=name,
        value=starts[0],
        bind=alt.binding_select(options=list(starts), name="starting model "),
    )


def require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (have {list(frame.columns)})")


def by_regime(chart: alt.Chart, choice: alt.Parameter | None) -> alt.Chart:
    """``chart`` filtered to the regime the drop-down shows (unchanged without one)."""
    return chart if choice is None else chart.transform_filter(alt.datum.start == choice)


def reference_layers(
    value: float | Mapping[str, float],
    label: str | Mapping[str, str],
    regimes: Sequence[str],
    choice: alt.Parameter | None,
) -> list[alt.Chart]:
    """A dashed horizontal rule with its label: one value, or one per regime (filtered)."""
    if isinstance(value, Mapping):
        shown = [s for s in (regimes or list(value)) if s in value]
        labels = label if isinstance(label, Mapping) else {s: label for s in shown}
        ref = pd.DataFrame(
            {
                "start": shown,
                "value": [float(value[s]) for s in shown],
                "label": [str(labels.get(s, "")) for s in shown],
            }
        )
        if choice is None and len(ref) > 1:
            raise ValueError("one reference value per regime needs a regime drop-down")
    else:
        text = label if isinstance(label, str) else next(iter(label.values()), "")
        ref = pd.DataFrame({"value": [float(value)], "label": [text]})
        choice = None  # the same rule whatever the regime
    base = by_regime(alt.Chart(ref), choice)
    rule = base.mark_rule(**REFERENCE_RULE).encode(
        y="value:Q",
        tooltip=[alt.Tooltip("label:N", title="reference"), alt.Tooltip("value:Q", format=".3f")],
    )
    text = base.mark_text(align="right", baseline="bottom", dy=-3, color="#495057").encode(
        y="value:Q", x=alt.value(WIDTH - 4), text="label:N"
    )
    return [rule, text]

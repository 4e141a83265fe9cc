"""Chart builders produce valid Vega-Lite with the encodings and interactions the report needs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from foxdog.site import chart_parts, charts, offline, summary_charts

# Not 95%: a chart that ignored the analysis's level would show the difference.
LEVEL = "90%"

STRATEGIES = ["random", "margin", "entropy"]


def curves_frame() -> pd.DataFrame:
    rows = []
    for k, s in enumerate(STRATEGIES):
        for r in range(4):
            for metric in ("accuracy", "macro_f1"):
                m = 0.6 + 0.05 * r + 0.01 * k
                rows.append(
                    {
                        "strategy": s,
                        "round": r,
                        "n_labels": 20 + 10 * r,
                        "metric": metric,
                        "mean": m,
                        "low": m - 0.02,
                        "high": m + 0.02,
                    }
                )
    return pd.DataFrame(rows)


def layers_of(spec: dict) -> list[dict]:
    return spec["layer"]


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def test_learning_curves_encodings_band_tooltips_and_legend_toggle() -> None:
    spec = charts.learning_curves(
        curves_frame(), baseline=0.9, level=LEVEL
    ).to_dict()  # validates the schema
    layers = layers_of(spec)
    assert [mark_type(layer) for layer in layers] == ["area", "line", "point", "rule", "text"]
    band, line, points = layers[:3]
    assert band["encoding"]["y"]["field"] == "low" and band["encoding"]["y2"]["field"] == "high"
    assert line["encoding"]["x"]["field"] == "n_labels"
    assert line["encoding"]["y"]["field"] == "mean"
    assert line["encoding"]["color"]["field"] == "strategy"
    # The legend-bound point selection on strategy, toggling without a shift key
    # (Altair lifts a layer's params to the top level and names the view).
    (param,) = spec["params"]
    assert param["views"] == [line["name"]]
    assert param["bind"] == "legend"
    assert param["select"] == {"type": "point", "fields": ["strategy"], "toggle": "true"}
    assert "condition" in line["encoding"]["opacity"]
    tooltip_fields = {t["field"] for t in points["encoding"]["tooltip"]}
    assert {"strategy", "round", "n_labels", "mean", "low", "high"} <= tooltip_fields
    # Random is drawn in black; the colour scale lists the strategies in registry order.
    scale = line["encoding"]["color"]["scale"]
    assert scale["domain"] == ["random", "margin", "entropy"]
    assert scale["range"][0] == "#212529"


def test_learning_curves_by_round_filters_metric_and_strategies() -> None:
    chart = charts.learning_curves(
        curves_frame(), x="round", metric="macro_f1", strategies=["random"], level=LEVEL
    )
    spec = chart.to_dict()
    line = layers_of(spec)[1]
    assert line["encoding"]["x"]["field"] == "round"
    (data,) = [v for k, v in spec["datasets"].items() if len(v) == 4]
    assert {row["strategy"] for row in data} == {"random"}
    assert len(layers_of(spec)) == 3  # no baseline rule


def test_learning_curves_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        charts.learning_curves(curves_frame().drop(columns=["low"]), level=LEVEL)
    with pytest.raises(ValueError, match="no rows"):
        charts.learning_curves(curves_frame(), metric="nonsense", level=LEVEL)
    with pytest.raises(ValueError, match="x must be"):
        charts.learning_curves(curves_frame(), x="seed", level=LEVEL)


def test_strategy_colours_are_stable_across_charts() -> None:
    alone = chart_parts.strategy_scale(["bald"]).to_dict()
    together = chart_parts.strategy_scale(["random", "margin", "bald"]).to_dict()
    assert alone["range"][0] == together["range"][together["domain"].index("bald")]
    assert chart_parts.strategy_colour("not-registered") == chart_parts.strategy_colour(
        "not-registered"
    )


def test_winloss_heatmap() -> None:
    winloss = pd.DataFrame(
        [
            {"strategy": "margin", "opponent": "random", "wins": 4, "ties": 0, "losses": 1},
            {"strategy": "random", "opponent": "margin", "wins": 1, "ties": 0, "losses": 4},
        ]
    )
    spec = summary_charts.winloss_heatmap(winloss).to_dict()
    rect, text = layers_of(spec)
    both = pd.concat([winloss.assign(start="scratch"), winloss.assign(start="transfer")])
    faceted = summary_charts.winloss_heatmap(both).to_dict()
    assert faceted["facet"]["column"]["field"] == "start"
    assert mark_type(rect) == "rect" and mark_type(text) == "text"
    assert rect["encoding"]["color"]["field"] == "net"
    assert rect["encoding"]["color"]["scale"]["domain"] == [-5, 5]
    assert text["encoding"]["text"]["field"] == "label"
    data = next(iter(spec["datasets"].values()))
    assert {row["label"] for row in data} == {"4/0/1", "1/0/4"}


def regime_frame() -> pd.DataFrame:
    """``curves_frame`` for three starts, transfer a little higher, plus class-share metrics."""
    parts = []
    for k, start in enumerate(("scratch", "transfer", "selfsup")):
        frame = curves_frame().assign(start=start)
        frame[["mean", "low", "high"]] += 0.02 * k
        parts.append(frame)
        for c, share in (("ant", 0.3), ("bee", 0.7)):
            parts.append(
                pd.DataFrame(
                    {
                        "start": start,
                        "strategy": "random",
                        "round": [1, 2],
                        "n_labels": [30, 40],
                        "metric": f"share_{c}",
                        "mean": share,
                        "low": share - 0.1,
                        "high": share + 0.1,
                    }  # fmt: skip
                )
            )
    return pd.concat(parts, ignore_index=True)


def _param(spec: dict, name: str) -> dict:
    (param,) = [p for p in spec.get("params", []) if p["name"] == name]
    return param


def _filters(spec: dict) -> list[str]:
    """Every filter expression anywhere in the spec."""
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "filter" in node and isinstance(node["filter"], str):
                found.append(node["filter"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def test_learning_curves_get_a_regime_drop_down_and_a_rule_per_regime() -> None:
    starts = ["scratch", "transfer", "selfsup"]
    full = {"scratch": 0.8, "transfer": 0.86, "selfsup": 0.84}
    spec = charts.learning_curves(
        regime_frame(),
        baseline=full,
        baseline_label={s: s for s in starts},
        starts=starts,
        level=LEVEL,
    ).to_dict()
    regime = _param(spec, "regime")
    assert regime["value"] == "scratch"
    assert regime["bind"]["input"] == "select" and regime["bind"]["options"] == starts
    assert regime["bind"]["name"].startswith("starting model")
    # Every layer (curves and the full-pool rules) is filtered by the chosen regime.
    assert all(layer["transform"] == [{"filter": "(datum.start === regime)"}]
               for layer in spec["layer"])  # fmt: skip
    rules = [v for d in spec["datasets"].values() for v in d if "value" in v]
    assert {(r["start"], r["value"]) for r in rules} == set(full.items())
    # One regime only: no drop-down, as before.
    single = charts.learning_curves(
        regime_frame().query("start == 'transfer'"), level=LEVEL
    ).to_dict()
    assert [p["name"] for p in single["params"]] == ["pick"]


def test_difference_curves_get_one_panel_per_regime() -> None:
    data = regime_frame()
    diff = data[data["metric"] == "accuracy"].rename(columns={"mean": "mean_difference"})
    spec = charts.difference_curves(
        diff, starts=["scratch", "transfer", "selfsup"], level=LEVEL
    ).to_dict()
    assert spec["facet"]["column"]["field"] == "start"
    assert spec["facet"]["column"]["sort"] == ["scratch", "transfer", "selfsup"]
    marks = [mark_type(layer) for layer in spec["spec"]["layer"]]
    assert marks == ["rule", "area", "line", "point"]
    assert spec["spec"]["layer"][0]["encoding"]["y"]["datum"] == 0.0  # random itself


def test_regime_curves_colour_the_starting_models() -> None:
    spec = charts.regime_curves(
        regime_frame(),
        baselines={"scratch": 0.8, "transfer": 0.86},
        starts=["scratch", "transfer", "selfsup"],
        level=LEVEL,
    ).to_dict()
    line = spec["layer"][1]
    assert line["encoding"]["color"]["field"] == "start"
    assert line["encoding"]["color"]["scale"]["domain"] == ["scratch", "transfer", "selfsup"]
    assert spec["params"][0]["select"]["fields"] == ["start"]
    assert mark_type(spec["layer"][-1]) == "rule"
    with pytest.raises(ValueError, match="no rows"):
        charts.regime_curves(regime_frame(), strategy="nobody", level=LEVEL)


def test_class_shares_pick_a_class_and_a_regime() -> None:
    spec = charts.class_shares(
        regime_frame(), ["ant", "bee"], pool_shares={"ant": 0.4, "bee": 0.6}
    ).to_dict()
    which = _param(spec, "share_class")
    assert which["bind"]["options"] == ["ant", "bee"] and which["value"] == "ant"
    assert _param(spec, "regime")["bind"]["options"] == ["scratch", "transfer", "selfsup"]
    filters = _filters(spec)
    assert "(datum['class'] === share_class)" in filters
    assert "(datum.start === regime)" in filters
    assert [mark_type(layer) for layer in spec["layer"]] == ["area", "line", "point", "rule"]
    with pytest.raises(ValueError, match="no share_<class> rows"):
        charts.class_shares(curves_frame(), ["ant"])


def test_metric_explorer_picks_metric_and_regime() -> None:
    spec = charts.metric_explorer(regime_frame(), ["macro_f1"], level=LEVEL).to_dict()
    assert {p["name"] for p in spec["params"]} >= {"metric_choice", "regime"}
    assert "(datum.start === regime)" in _filters(spec)


def test_interval_dots_and_ablation_lines_are_valid() -> None:
    table = pd.DataFrame(
        {
            "strategy": STRATEGIES,
            "aulc": [0.7, 0.75, 0.72],
            "lo": [0.68, 0.73, 0.7],
            "hi": [0.72, 0.77, 0.74],
        }
    )
    spec = summary_charts.interval_dots(
        table, value="aulc", low="lo", high="hi", reference=0.7
    ).to_dict()
    assert [mark_type(layer) for layer in layers_of(spec)] == ["rule", "point", "rule"]
    both = pd.concat([table.assign(start="scratch"), table.assign(start="transfer")])
    faceted = summary_charts.interval_dots(both, value="aulc", low="lo", high="hi", reference=0.0)
    assert faceted.to_dict()["facet"]["row"]["field"] == "start"
    ablations = pd.DataFrame(
        {
            "factor": ["query_size"] * 4,
            "level": [10, 40, 10, 40],
            "strategy": ["random", "random", "margin", "margin"],
            "aulc": [0.7, 0.69, 0.74, 0.72],
        }
    )
    spec = summary_charts.ablation_lines(ablations, value="aulc").to_dict()
    assert spec["facet"]["column"]["field"] == "factor"


def test_spec_html_escapes_data_that_could_close_the_script() -> None:
    evil = "</script><script>alert(1)</script> & co"
    chart = alt.Chart(pd.DataFrame({"strategy": [evil], "x": [1]})).mark_point().encode(x="x:Q")
    html = offline.chart_html(chart, include_bundle=False)
    assert "</script><script>alert(1)" not in html
    assert "\\u003c/script\\u003e" in html and "\\u0026 co" in html
    assert html.count("<script") == 1  # just the embed call; no bundle asked for
    assert "https://cdn" not in html and "src=" not in html


def test_offline_renderer_embeds_the_bundle_once_per_page() -> None:
    offline.enable_offline_renderer()
    try:
        frame = pd.DataFrame({"x": np.arange(3), "y": np.arange(3)})
        chart = alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q")
        first, second = (_html_of(chart), _html_of(chart))
    finally:
        alt.renderers.enable("default")
    assert "window.vegaEmbed" in first and "window.vegaEmbed" not in second
    assert len(first) > 500_000 > len(second)
    ids = [h.split('id="')[1].split('"')[0] for h in (first, second)]
    assert ids[0] != ids[1]  # two charts of one page never share a container


def _html_of(chart: alt.Chart) -> str:
    """What Jupyter (and so the report) shows for ``chart`` under the active renderer."""
    bundle = chart._repr_mimebundle_()
    if isinstance(bundle, tuple):  # (data, metadata) in some Altair versions
        bundle = bundle[0]
    return bundle["text/html"]


def test_difference_curves_draw_the_zero_line_of_random() -> None:
    diff = pd.DataFrame(
        {
            "strategy": ["margin"] * 3,
            "arm": ["least_confident = margin"] * 3,
            "round": [0, 1, 2],
            "n_labels": [20, 70, 120],
            "mean_difference": [0.0, 0.02, 0.03],
            "low": [0.0, -0.01, 0.01],
            "high": [0.0, 0.05, 0.05],
            "n_pairs": [5, 5, 5],
        }
    )
    spec = charts.difference_curves(diff, title="vs random", level=LEVEL).to_dict()
    values = [v for d in spec["datasets"].values() for v in d]
    assert {"value": 0.0, "label": "random (no difference)"} in values
    assert any(v.get("mean") == 0.03 and v.get("strategy") == "margin" for v in values)
    with pytest.raises(ValueError, match="diff: missing columns"):
        charts.difference_curves(diff.drop(columns=["low"]), level=LEVEL)


def test_probcover_delta_plots_purity_and_coverage_and_marks_each_chosen_delta() -> None:
    rows = []
    for seed, pick in ((0, 0.27), (1, 0.23)):
        for d in (0.1, 0.2, pick, 0.3, 0.4):
            rows.append(
                {
                    "seed": seed,
                    "delta": d,
                    "purity": 1 - d,
                    "coverage": min(1.0, 3 * d),
                    "mean_ball_size": 1 + 10 * d,
                    "chosen": d == pick,
                }
            )
    spec = summary_charts.probcover_delta(pd.DataFrame(rows), alpha=0.95, title="δ").to_dict()
    reference, rules, lines = layers_of(spec)
    assert mark_type(reference) == "rule" and reference["encoding"]["y"]["datum"] == 0.95
    chosen = spec["datasets"][rules["data"]["name"]]
    assert sorted((r["seed"], r["delta"]) for r in chosen) == [("0", 0.27), ("1", 0.23)]
    assert lines["encoding"]["color"]["field"] == "measure"
    assert lines["encoding"]["detail"]["field"] == "seed"
    values = spec["datasets"][lines["data"]["name"]]
    assert {v["measure"] for v in values} == {"purity", "coverage"}
    assert len(values) == 2 * len(rows)
    with pytest.raises(ValueError, match="probcover_delta.*chosen"):
        summary_charts.probcover_delta(pd.DataFrame(rows).drop(columns="chosen"))

"""The gallery page's sections, as display objects: what each strategy asked to have labelled.

``report/gallery.qmd`` calls one function per section and displays what it returns; the
picks come from every run's ``queries.csv``, the thumbnails from ``curated/pool_*.npy``
(read through :mod:`foxdog.site.inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.site import charts, fmt, inputs, markup, overview, pages

Shown = list[Any]  # what a section displays, in order: Markdown, HTML or a chart


@dataclass(frozen=True)
class _Picks:
    """The study's starts, strategies and every recorded query, with the label schedule."""

    starts: list[str]
    classes: list[str]
    level: str
    curves: pd.DataFrame
    strategies: list[str]
    queries: pd.DataFrame
    query_size: int
    initial_size: int
    last_round: int
    in_pool: dict[str, float]


def _picks() -> _Picks:
    doc = inputs.analysis()
    starts = pages.starts(doc)
    classes = pages.class_names(doc)
    curves = pages.natural(inputs.curves())
    run = overview.protocol(doc, curves, starts[0])
    strategies = list(dict.fromkeys(s for st in starts for s in doc["regimes"][st]["strategies"]))
    queries = inputs.all_queries(starts, strategies)
    return _Picks(
        starts=starts,
        classes=classes,
        level=overview.level(doc),
        curves=curves,
        strategies=strategies,
        queries=queries,
        query_size=run["query_size"],
        initial_size=run["initial_size"],
        last_round=int(queries["round"].max()) if len(queries) else run["rounds"],
        in_pool=pages.pool_shares(inputs.pool_labels(), classes),
    )


def intro() -> Shown:
    """What a round's picks are and how the thumbnails are framed and captioned."""
    p = _picks()
    return [
        Markdown(
            f"Every round a strategy picks {p.query_size} images from the unlabelled pool "
            f"for the oracle to label. Below are the first picks of one seed in round 1 (a model "
            f"trained on {p.initial_size} labels) and in round {p.last_round}, from each "
            "starting model, each with the class the querying model predicted and its "
            "probability (its confidence). A frame marks the true class: "
            f"{markup.class_legend_html(p.classes)}. Uncertainty-based strategies should ask "
            f"about images the model is unsure of (confidence near 1/{len(p.classes)}); random "
            "sampling asks about anything."
        )
    ]


def class_share_chart() -> Any:
    """Each round's share of the chosen class among the picks, against its share of the pool."""
    p = _picks()
    if not any(m.startswith("share_") for m in set(p.curves["metric"])):
        return Markdown(
            "*No `share_<class>` curves in `plots/curves.csv` (re-run `dvc repro analyze`).*"
        )
    return charts.class_shares(
        p.curves,
        p.classes,
        pool_shares=p.in_pool,
        starts=p.starts,
        title="Share of the chosen class among each round's queried images "
        f"(mean over seeds, {p.level} interval; dashed: its share of the pool)",
    )


def share_table() -> HTML:
    """The picks over the whole run (the analysis's shares) and how sure the model was."""
    p = _picks()
    queries, last_round, classes = p.queries, p.last_round, p.classes
    table = pages.natural(inputs.read_csv("metrics", "strategies.csv"))
    conf = (
        queries[queries["round"].isin([1, last_round])]
        .groupby(["start", "strategy", "round"])["confidence"]
        .mean()
        .unstack("round")
        .reset_index()
        if len(queries)
        else pd.DataFrame(columns=["start", "strategy"])
    )
    conf = conf.rename(columns={1: "early_conf", last_round: "late_conf"})
    shown = table.merge(conf, on=["start", "strategy"], how="left") if "start" in table else table
    columns = {"start": "starting model", "strategy": "strategy"}
    formats = {}
    for c in classes:
        if f"share_{c}" in shown:
            shown[f"share_{c}_text"] = [
                fmt.interval_text({"mean": m, "low": lo, "high": hi}, lambda v: fmt.pct(v, 0))
                for m, lo, hi in zip(
                    shown[f"share_{c}"],
                    shown.get(f"share_{c}_low", shown[f"share_{c}"] * np.nan),
                    shown.get(f"share_{c}_high", shown[f"share_{c}"] * np.nan),
                    strict=True,
                )
            ]
            columns[f"share_{c}_text"] = f"{c} (pool {fmt.pct(p.in_pool[c], 0)})"
    for key, head in (
        ("early_conf", "confidence, round 1"),
        ("late_conf", f"confidence, round {last_round}"),
    ):
        if key in shown:
            columns[key] = head
            formats[key] = fmt.pct
    return HTML(
        markup.html_table(
            shown,
            columns,
            formats,
            numeric=[c for c in columns if c.startswith("share_")],
            caption="Queried images over all seeds and rounds: share of each class (mean over "
            f"seeds, {p.level} interval), and the querying model's mean confidence (the "
            f"probability of its predicted class; 1/{len(classes)} = a guess) early and late",
        )
    )


def _strategy_picks(
    p: _Picks, q: pd.DataFrame, name: str, start: str, pool: dict[str, np.ndarray]
) -> list[str]:
    """One strategy's heading and, per round shown, a note and its thumbnails (HTML parts)."""
    classes = p.classes
    picks = markup.queried_examples(q, pool["ids"], rounds=[1, p.last_round], per_round=8)
    if picks.empty:
        return []
    seed = int(picks["seed"].iloc[0])
    parts = [f'<h3 id="picks-{fmt.esc(start)}-{fmt.esc(name)}">{fmt.esc(name)}</h3>']
    for rnd, part in picks.groupby("round", sort=True):
        truth = [pages.class_of(v, classes) for v in part["true_label"]]
        titles = [
            f"{i} — true: {t}" + ("" if o == v else f", oracle said {pages.class_of(o, classes)}")
            for i, t, o, v in zip(
                part["id"], truth, part["oracle_label"], part["true_label"], strict=True
            )
        ]
        first = int(rnd - 1) * p.query_size + p.initial_size + 1
        parts.append(
            f'<p class="fd-note">Round {int(rnd)}, seed {seed}: the first {len(part)} picks '
            f"(labels {first}–{first + p.query_size - 1})</p>"
        )
        parts.append(
            markup.thumbnails_html(
                [pool["images"][i] for i in part["index"]],
                [
                    f"{pages.class_of(c, classes)} {v:.2f}"
                    for c, v in zip(part["predicted"], part["confidence"], strict=True)
                ],
                [markup.class_css(v) for v in part["true_label"]],
                titles,
            )
        )
    return parts


def picks() -> HTML:
    """Per starting model, a folding block of each strategy's first picks early and late."""
    p = _picks()
    queries = p.queries
    pool = {name: inputs.pool_array(name) for name in ("images", "ids")}
    blocks = []
    for k, start in enumerate(p.starts):
        parts = []
        for s in p.strategies:
            q = (
                queries[(queries["start"] == start) & (queries["strategy"] == s)]
                if len(queries)
                else queries
            )
            parts += _strategy_picks(p, q, s, start, pool)
        if parts:
            name = pages.start_name(start)
            label = fmt.esc(start if name == start else f"{start} ({name})")
            blocks.append(
                f'<details class="fd-regime"{" open" if k == 0 else ""}>'
                f"<summary>Starting model: {label}</summary>" + "\n".join(parts) + "</details>"
            )
    return HTML("\n".join(blocks) if blocks else "<p>No queries recorded yet.</p>")

"""The Experiments page's sections, as display objects: tables, charts and their captions.

``report/experiments.qmd`` calls one function per section and displays what it returns;
every number comes from ``metrics/analysis.json``, ``metrics/strategies.csv``,
``metrics/winloss.csv`` and ``plots/`` (read through :mod:`foxdog.site.inputs`).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.metrics import METRICS
from foxdog.site import charts, fmt, inputs, markup, overview, pages, summary_charts

Shown = list[Any]  # what a section displays, in order: Markdown, HTML or a chart


def _protocols(st: pages.Study) -> str:
    """Each distinct label schedule and its starts: ``scratch and transfer: 8 seeds, ...``."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for start in st.starts:
        run = overview.protocol(st.doc, st.curves, start)
        key = (run["seeds"], run["initial_size"], run["query_size"], run["rounds"])
        groups.setdefault(key, []).append(start)
    parts = [
        f"{fmt.plural(seeds, 'seed')} paired by seed, {initial} labels to begin with, then "
        f"{query} per round for {rounds} rounds"
        + ("" if len(groups) == 1 else f" ({fmt.join_words(starts)})")
        for (seeds, initial, query, rounds), starts in groups.items()
    ]
    return "; ".join(parts)


def intro() -> Shown:
    """The page's opening paragraph: strategies, starting models, seeds, how to read charts."""
    st = pages.study()
    return [
        Markdown(
            f"{fmt.plural(len(st.strategies), 'strategy', 'strategies')} from "
            f"{fmt.plural(len(st.starts), 'starting model')} ({fmt.join_words(st.starts)}): "
            f"{_protocols(st)}. Lines are means "
            f"over seeds, bands {st.level} t-intervals of the mean over seeds. "
            + (
                "**Pick the starting model** in the drop-down under a chart; "
                if len(st.starts) > 1
                else ""
            )
            + "**click a legend entry** to show only that strategy (click more to add them, click "
            "again to remove); hover a point for its numbers."
        )
    ]


def regime_tests() -> Shown:
    """Per starting model: the named arm, its AULC test, adjusted p and saving (a table)."""
    st = pages.study()
    level = st.level
    summary = pages.regime_summary(st.doc)
    summary["regime"] = [
        s if pages.start_name(s) == s else f"{s} ({pages.start_name(s)})" for s in summary["start"]
    ]
    summary["full_pool_text"] = [
        fmt.interval_text({"mean": m, "low": lo, "high": hi})
        for m, lo, hi in zip(
            summary["full_pool"], summary["full_pool_low"], summary["full_pool_high"], strict=True
        )
    ]
    summary["random_text"] = [
        f"{fmt.pct(a)} at {fmt.integer(n)} labels"
        for a, n in zip(summary["random_final"], summary["final_labels"], strict=True)
    ]
    summary["arm_text"] = [
        "–" if fmt.is_missing(a) or a is None else f"{a}: {v}"
        for a, v in zip(summary["arm"], summary["verdict"], strict=True)
    ]
    summary["p_text"] = [
        fmt.num(p_in, 3) + ("" if fmt.is_missing(p_all) else f" ({fmt.num(p_all, 3)})")
        for p_in, p_all in zip(summary["p_adjusted"], summary["p_adjusted_all"], strict=True)
    ]
    summary["saving_text"] = [
        sv if t == "–" else f"{sv} to {t}"
        for sv, t in zip(summary["saving"], summary["target"], strict=True)
    ]
    summary["difference_text"] = [
        fmt.interval_text({"mean": m, "low": lo, "high": hi}, fmt.pp)
        for m, lo, hi in zip(
            summary["difference"],
            summary["difference_low"],
            summary["difference_high"],
            strict=True,
        )
    ]
    return [
        Markdown(
            f"Per starting model, {_protocols(st)}. Per regime: the arm the regime's "
            "pre-declared test names (the significant best, or else the arm with the largest "
            "mean AULC, which may be behind random), its paired "
            f"difference in area under the learning curve from random with its {level} interval "
            "and Benjamini–Hochberg adjusted p (within the regime, and over every regime's arms), "
            "and the labels it saves against random to reach a target accuracy of the regime "
            "(the highest target with enough paired seeds; its share and accuracy are given)."
        ),
        HTML(
            '<div class="fd-wide">'
            + markup.html_table(
                summary,
                {
                    "regime": "starting model",
                    "full_pool_text": f"full-pool accuracy [{level}]",
                    "random_text": "random sampling at the final budget",
                    "arm_text": "named arm: verdict",
                    "difference_text": f"AULC vs random [{level}]",
                    "p_text": "adjusted p (over all regimes)",
                    "saving_text": "labels saved (negative: more needed) [interval] to the target",
                },
                numeric=["full_pool_text", "difference_text", "p_text"],
                caption="Active learning per starting model (all numbers from "
                "metrics/analysis.json)",
            )
            + "</div>"
        ),
    ]


def accuracy_by_labels() -> alt.TopLevelMixin:
    """Test accuracy against labelled images, with each start's full-pool accuracy."""
    st = pages.study()
    return charts.learning_curves(
        st.curves,
        level=st.level,
        baseline=st.full,
        baseline_label={s: f"full pool, {s} ({fmt.pct(st.full[s])})" for s in st.starts},
        starts=st.starts,
        title="Test accuracy against labelled images",
    )


def accuracy_by_round() -> alt.TopLevelMixin:
    """Test accuracy against the round."""
    st = pages.study()
    return charts.learning_curves(
        st.curves, level=st.level, x="round", starts=st.starts, title="Test accuracy by round"
    )


def gain_over_random() -> Shown:
    """Each strategy's paired accuracy difference from random, per round, with its caption."""
    st = pages.study()
    diff = pages.natural(inputs.read_csv("plots", "diff_vs_random.csv"))
    arms = sorted(
        {a["name"] for r in st.regimes.values() for a in r["arms"] if len(a["members"]) > 1}
    )
    reference, level = st.reference, st.level
    return [
        Markdown(
            f"Each line is a strategy's test accuracy minus {reference}'s on the same seed and "
            f"starting model, averaged over seeds, with its paired {level} t-interval; the "
            f"dashed zero line is {reference} itself, one panel per starting model. A band that "
            "covers zero means no difference is shown at that round."
            + (
                f" Strategies that queried exactly the same images are one line: "
                f"{fmt.join_words(arms)}."
                if arms
                else ""
            )
        ),
        charts.difference_curves(
            diff,
            level=level,
            starts=st.starts,
            title=f"Paired test-accuracy difference from {reference}",
        ),
    ]


def other_metrics() -> alt.TopLevelMixin:
    """The other test metrics' curves (accuracy is charted above), one picked at a time."""
    st = pages.study()
    others = [m for m in METRICS[1:] if m in set(st.curves["metric"])]
    return charts.metric_explorer(
        st.curves,
        others,
        level=st.level,
        starts=st.starts,
        title="Other test metrics (pick one below the chart)",
    )


def aulc() -> Shown:
    """What AULC is, each regime's verdict, and the paired AULC differences from random."""
    st = pages.study()
    reference, level, regimes, starts = st.reference, st.level, st.regimes, st.starts
    shown: Shown = [
        Markdown(
            "The area under accuracy against labels, divided by the label range, is the mean "
            "accuracy over the whole run: one number per strategy that rewards learning early. "
            f"Within each starting model it is compared with {reference} by one pre-declared "
            f"paired test over seeds (α = {st.settings['alpha']}). "
            f"{regimes[starts[0]].get('tests', {}).get('note', '')}"
        ),
        Markdown("\n".join(f"- **{s}:** {regimes[s]['verdict'].get('text', '–')}" for s in starts)),
    ]
    active = st.table[st.table["strategy"] != reference]
    if len(active):
        shown.append(
            summary_charts.interval_dots(
                active,
                value="aulc_difference_vs_random",
                low="aulc_difference_vs_random_low",
                high="aulc_difference_vs_random_high",
                axis_title=f"AULC minus {reference}'s (paired)",
                reference=0.0,
                starts=starts,
                title=f"Paired AULC difference from {reference} with its {level} interval, "
                "per starting model (dashed: no difference)",
            )
        )
    return shown


def _span(low: pd.Series, high: pd.Series, formatter: fmt.Formatter) -> list[str]:
    return [f"{formatter(lo)} – {formatter(hi)}" for lo, hi in zip(low, high, strict=True)]


def aulc_table() -> HTML:
    """AULC and final accuracy per starting model and strategy, with intervals and tests."""
    st = pages.study()
    reference, level = st.reference, st.level
    aulc = st.table.copy()
    aulc["aulc_ci"] = _span(aulc["aulc_low"], aulc["aulc_high"], fmt.num)
    aulc["final_ci"] = _span(aulc["final_accuracy_low"], aulc["final_accuracy_high"], fmt.pct)
    aulc["balanced_ci"] = _span(
        aulc["final_balanced_accuracy_low"], aulc["final_balanced_accuracy_high"], fmt.pct
    )
    aulc["diff_ci"] = _span(
        aulc["aulc_difference_vs_random_low"], aulc["aulc_difference_vs_random_high"], fmt.pp
    )
    return HTML(
        '<div class="fd-wide">'
        + markup.html_table(
            aulc,
            {
                "start": "starting model",
                "strategy": "strategy",
                "n_seeds": "seeds",
                "aulc": "AULC",
                "aulc_ci": f"{level} interval",
                "aulc_difference_vs_random": f"paired difference vs {reference}",
                "diff_ci": f"{level} interval",
                "p_value_vs_random": "p (sign-flip)",
                "p_adjusted_vs_random": "p (BH-adjusted)",
                "verdict_vs_random": "verdict",
                "final_accuracy": "final accuracy",
                "final_ci": f"{level} interval",
                "final_balanced_accuracy": "final balanced accuracy",
                "balanced_ci": f"{level} interval ",
                "final_labels": "at labels",
            },
            {
                "n_seeds": fmt.integer,
                "aulc": fmt.num,
                "aulc_difference_vs_random": fmt.pp,
                "final_balanced_accuracy": fmt.pct,
                "p_value_vs_random": lambda v: fmt.num(v, 3),
                "p_adjusted_vs_random": lambda v: fmt.num(v, 3),
                "final_accuracy": fmt.pct,
                "final_labels": fmt.integer,
            },
            numeric=["aulc_ci", "final_ci", "balanced_ci", "diff_ci"],
            caption="Area under the learning curve and final accuracy per starting model and "
            "strategy (the test compares strategies within a starting model)",
        )
        + "</div>"
    )


def _target_cell(info: dict[str, Any], key: str, reference: str) -> str:
    """'80 (all seeds; saves 60 [20, 100])': median labels, share, paired saving."""
    t = info["targets"][key]
    share = fmt.pct(t["seeds_reached"], 0)
    if fmt.is_missing(t["labels"]):
        return f"> {fmt.integer(info['final_labels'])} ({share} of seeds)"
    text = f"{fmt.integer(t['labels'])} ({share} of seeds"
    saving = t.get("saving_vs_random") or {}
    if saving.get("status") == "ok":
        text += f"; saves {pages.saving_cell(saving, reference, pages.label_span(info))}"
    elif saving.get("status") == "random_not_reached":
        text += f"; {reference} never got there"
    return text + ")"


def targets() -> Shown:
    """How targets are read, then per starting model a heading and its labels-to-target table."""
    st = pages.study()
    reference, level, full = st.reference, st.level, st.full
    shown: Shown = [
        Markdown(
            "Targets are shares of each starting model's own full-pool accuracy (or, where no "
            "strategy reached the largest share within the budget, of the best final accuracy: "
            "the caption says which). Each seed's curve is interpolated linearly between rounds "
            "to find where it first crosses the target; a cell gives the median over seeds and "
            "the share of seeds that got there ('> n' when half the seeds or more never did), "
            f"and the saving against {reference}: random's labels minus the strategy's, per "
            "seed, over the seeds where both got there, with its t-interval."
        )
    ]
    for start in st.starts:
        reg = st.regimes[start]
        ref_info = reg["target_reference"]
        if ref_info["reference"] == "full_pool_baseline":
            of_what = f"of the full-pool accuracy, {fmt.pct(ref_info['accuracy'])}"
        else:
            of_what = (
                f"of {ref_info['strategy']}'s final accuracy, {fmt.pct(ref_info['accuracy'])} "
                f"(no strategy reached the largest share of the full-pool accuracy, "
                f"{fmt.pct(full[start])})"
            )
        columns = {"strategy": "strategy"}
        names = [s for s in st.strategies if s in reg["strategies"]]
        rows: list[dict[str, Any]] = [{"strategy": s} for s in names]
        for target in reg["targets"]:
            key = str(target["key"])
            columns[key] = f"{fmt.pct(target['fraction'], 0)} ({fmt.pct(target['accuracy'])})"
            for row in rows:
                row[key] = _target_cell(reg["strategies"][row["strategy"]], key, reference)
        shown.append(HTML(f'<h3 id="targets-{fmt.esc(start)}">{fmt.esc(start)}</h3>'))
        shown.append(
            HTML(
                markup.html_table(
                    pd.DataFrame(rows),
                    columns,
                    # Long cells: left-aligned and wrapping, so the table fits the page.
                    caption=f"Starting from {start}: labels to reach each share {of_what} "
                    f"(median over seeds, share of seeds), and the paired saving against "
                    f"{reference} with its {level} interval",
                )
            )
        )
    return shown


def head_to_head() -> Shown:
    """How a win/tie/loss record is counted, and the records as a heat map."""
    st = pages.study()
    winloss = pages.natural(inputs.read_csv("metrics", "winloss.csv"))
    return [
        Markdown(
            "For every pair of strategies, every seed and every starting model, the one with the "
            "larger area under the learning curve wins (a difference below "
            f"{st.settings['tie_tolerance']} is a tie). A record is a description, not a test: "
            "the test is the one above. Read a row: how that strategy fared against each column."
        ),
        summary_charts.winloss_heatmap(
            winloss,
            starts=st.starts,
            title="Wins / ties / losses over seeds (by AULC), per starting model",
        ),
    ]


def _optional(formatter: str) -> fmt.Formatter:
    """A formatter of seconds or slopes that shows '–' for a missing value."""
    return lambda v: "–" if fmt.is_missing(v) else formatter.format(v)


def stopping() -> Shown:
    """The stopping rule and the flat-curve rule, and their table with each strategy's cost."""
    st = pages.study()
    settings, level = st.settings, st.level
    available = any(
        info["stop"]["available"] for r in st.regimes.values() for info in r["strategies"].values()
    )
    plateau = st.table.copy()
    plateau["change_ci"] = _span(
        plateau["stop_accuracy_change_low"], plateau["stop_accuracy_change_high"], fmt.pp
    )
    return [
        Markdown(
            f"*Stopping rule* (stabilising predictions, Bloodgood & Vijay-Shanker 2009): stop at "
            f"the first round where the mean Cohen's κ between consecutive rounds' predictions "
            f"on the fixed stop set (the validation split) over {settings['stop_window']} rounds "
            f"is at least {settings['stop_kappa']} for the CNN starts, over "
            f"{settings.get('head_stop_window', settings['stop_window'])} rounds at least "
            f"{settings.get('head_stop_kappa', settings['stop_kappa'])} for the frozen-feature "
            "head (Method gives why). The table gives the labels at stop (median "
            "over seeds), the share of seeds that stopped, and accuracy at stop minus accuracy "
            "at the end of the budget (paired over the seeds that stopped). "
            + (
                ""
                if available
                else "These results predate the stop set (no `kappa_stop`), so the "
                "rule is not available for them. "
            )
            + f"*Flat curve*: each seed's slope over {settings['slope_window']} consecutive "
            f"rounds; the curve is called flat only when the upper end of the slope's "
            f"t-interval is {settings['slope_threshold_words']}, from that round to the end."
        ),
        HTML(
            '<div class="fd-wide">'
            + markup.html_table(
                plateau,
                {
                    "start": "starting model",
                    "strategy": "strategy",
                    "stop_labels": "stop at labels",
                    "stop_seeds": "seeds that stopped",
                    "stop_accuracy_change": "accuracy at stop − at end",
                    "change_ci": f"{level} interval",
                    "plateau_labels": "flat from labels",
                    "final_slope_high": "last slope, upper bound (pts/100 labels)",
                    "fit_seconds": "training time per seed",
                    "query_seconds": "query time per seed",
                },
                {
                    "stop_labels": fmt.integer,
                    "stop_seeds": fmt.pct,
                    "stop_accuracy_change": fmt.pp,
                    "plateau_labels": fmt.integer,
                    # The slope is accuracy per label; the column is points per 100 labels.
                    "final_slope_high": lambda v: "–" if fmt.is_missing(v) else f"{1e4 * v:.2f}",
                    "fit_seconds": _optional("{:.1f} s"),
                    "query_seconds": _optional("{:.2f} s"),
                },
                numeric=["change_ci"],
                caption="Stopping rule and plateau per starting model ('–': not reached within "
                "the run or not available) and the time each strategy cost",
            )
            + "</div>"
        ),
    ]

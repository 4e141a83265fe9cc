"""The Insights page's sections on results, as display objects: claims, savings, choice, cost.

``report/insights.qmd`` calls one function per section and displays what it returns; the
sentences of single claims come from :mod:`foxdog.site.insights`, the strategy notes from
:mod:`foxdog.site.tradeoffs` and the ablations from :mod:`foxdog.site.ablations`. Every
number is read from ``metrics/`` and ``plots/`` (through :mod:`foxdog.site.inputs`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.site import fmt, inputs, insights, markup, pages

Shown = list[Any]  # what a section displays, in order: Markdown or HTML

# With two classes these three rank the pool by the same quantity (see _why_same).
UNCERTAINTY = {"least_confident", "margin", "entropy"}


def intro() -> Markdown:
    """Where the page's numbers come from and what differs between regimes."""
    st = pages.study()
    starts = st.starts
    # Starts that ran the same strategies on the same number of seeds are paired by seed.
    groups: dict[tuple[tuple[str, ...], Any], list[str]] = {}
    for s in starts:
        regime = st.regimes[s]
        key = (tuple(regime["strategies"]), (regime.get("power") or {}).get("n_seeds"))
        groups.setdefault(key, []).append(s)
    if len(starts) == 1:
        same = f"Every strategy ran from {pages.starts_phrase(starts)} on the same seeds."
    elif len(groups) == 1:
        same = (
            f"Each of {fmt.plural(len(starts), 'starting model')} ({fmt.join_words(starts)}) "
            "ran the same strategies on the same seeds, so what changes from one regime to "
            "the next is the network's starting point alone."
        )
    else:
        ran = [
            f"{fmt.join_words(group)} ran {fmt.join_words(list(strategies))}"
            + (f" on {n} seeds" if n else "")
            for (strategies, n), group in groups.items()
        ]
        same = (
            f"The starting models ran {len(groups)} protocols: {'; '.join(ran)}. Within one, the "
            "strategies share seeds, so what changes between its regimes is the starting "
            "point alone; across protocols the budgets and seeds differ."
        )
    return Markdown(
        "Every number on this page is read from `metrics/` and `plots/` when the site is "
        "rendered; the sentences change with the results. " + same
    )


def supported() -> Shown:
    """The claims the results support, and each strategy's class shares against the pool."""
    st = pages.study()
    doc, classes = st.doc, st.classes
    diff = pages.natural(inputs.read_csv("plots", "diff_vs_random.csv"))
    pool_shares = pages.pool_shares(inputs.pool_labels(), classes)
    claims = [
        insights.start_worth(doc, st.curves),
        insights.full_pool(doc),
        *insights.early_late(doc, diff),
        *insights.class_shares(doc, pool_shares, classes),
        insights.chance(doc, st.table),
        insights.ranking(doc),
        insights.per_source(doc),
    ]
    return [
        Markdown("\n".join(f"- {c}" for c in claims if c)),
        HTML(
            '<div class="fd-wide">'
            + markup.html_table(
                insights.class_share_table(doc, pool_shares, classes),
                {
                    "start": "starting model",
                    "strategy": "strategy",
                    **{c: f"share of {c} among its picks [{st.level}]" for c in classes},
                    "balanced": f"final balanced accuracy [{st.level}]",
                },
                caption="What each strategy asked for against the pool, and its balanced accuracy",
            )
            + "</div>"
        ),
    ]


def _common_cell(r: Any) -> str:
    cell = (
        f"> budget ({fmt.pct(r.seeds_reached, 0)} of seeds)"
        if fmt.is_missing(r.labels)
        else f"{fmt.integer(r.labels)} ({fmt.pct(r.seeds_reached, 0)} of seeds)"
    )
    return cell if r.saving == "–" else f"{cell}; {r.saving}"


def labelling_efficiency() -> Shown:
    """Labels random needs from each start to reach accuracies common to every start."""
    st = pages.study()
    doc, reference, level = st.doc, st.reference, st.level
    common = pages.common_targets(doc, reference)
    sm = pages.starting_model(doc)
    ref_start = sm["reference"] or st.starts[0]
    if not len(common):
        return [Markdown(pages.starting_model_sentence(doc) or "No comparison of starting models.")]
    # The Overview's level (analysis.json "overview"), else the middle common target.
    headline = (doc.get("overview") or {}).get("level") or sm["common_targets"][
        len(sm["common_targets"]) // 2
    ]
    part = common[common["key"] == str(headline["key"])]
    words = fmt.join_words(
        [
            (
                f"{fmt.plural(r.labels, 'label')} from {r.start}"
                if not fmt.is_missing(r.labels)
                else f"more than the budget from {r.start}"
            )
            for r in part.itertuples()
        ]
    )
    columns = {"start": "starting model"}
    rows: dict[str, dict[str, Any]] = {s: {"start": s} for s in st.starts}
    for target in sm["common_targets"]:
        key = str(target["key"])
        columns[key] = (
            f"{fmt.pct(target['fraction'], 0)} of {ref_start} ({fmt.pct(target['accuracy'])})"
        )
        for r in common[common["key"] == key].itertuples():
            rows[r.start][key] = _common_cell(r)
    return [
        Markdown(
            f"To reach "
            f"{fmt.pct(headline['accuracy'])} test accuracy ({fmt.pct(headline['fraction'], 0)} "
            f"of the {ref_start} full-pool accuracy), {reference} sampling needs a median of "
            f"{words}. " + pages.starting_model_sentence(doc)
        ),
        HTML(
            markup.html_table(
                pd.DataFrame(list(rows.values())),
                columns,
                # Long cells: left-aligned and wrapping, so the table fits the page.
                caption=f"Labels {reference} sampling needs to reach accuracies common to every "
                f"starting model (median over seeds, share of seeds that got there), and the "
                f"saving against {ref_start}, paired per seed with its {level} interval",
            )
        ),
    ]


def _regime_savings(st: pages.Study, start: str) -> str:
    """One regime's line: random's labels to its declared target, and each saving."""
    reference, level = st.reference, st.level
    inf = st.regimes[start]["strategies"]
    target = pages.declared_target(st.doc, start)
    key, share = str(target["key"]), fmt.pct(target["fraction"], 0)
    head = f"**{start}**, {share} of its reference ({fmt.pct(target['accuracy'])}): "
    if reference in inf:
        head += f"{reference} sampling needs {pages.labels_phrase(inf[reference], key)}"
    shown, unclear, lone = [], [], []
    for s in [s for s in st.active if s in inf]:
        saving = inf[s]["targets"][key].get("saving_vs_random") or {}
        if saving.get("status") != "ok":
            continue
        low, high = saving.get("low"), saving.get("high")
        span = pages.label_span(inf[s])
        if saving["labels"] < 0:  # more labels than random: say so, not "saves -n"
            words = f"{s} needs {pages.extra_labels_cell(saving, span)}"
        else:
            words = f"{s} saves {pages.saving_cell(saving, reference, span)}"
        if fmt.is_missing(low) or fmt.is_missing(high):
            lone.append(words)  # one paired seed: a saving, no interval
        elif low > 0 or high < 0:
            shown.append(words)
        else:
            unclear.append(s)
    if shown:
        head += f"; with a {level} interval that excludes zero, " + fmt.join_words(shown)
    if lone:
        head += "; without an interval (too few paired seeds), " + fmt.join_words(lone)
    if unclear:
        head += f"; for {fmt.join_words(unclear)} the interval of the saving includes zero"
    return f"- {head}."


def savings() -> Markdown:
    """Per regime, the labels each strategy saves against random at its declared target."""
    st = pages.study()
    lines = [
        "Within each starting model, targets are shares of that regime's full-pool accuracy (or "
        "of the best final accuracy where no strategy reached the largest share); labels are "
        f"medians over seeds, savings paired per seed with their {st.level} t-interval. These "
        "savings are descriptive: the pre-declared test is the one on AULC below, and an "
        "interval that excludes zero here is not adjusted for the many strategies and targets.\n"
    ]
    lines += [_regime_savings(st, start) for start in st.starts]
    return Markdown("\n".join(lines))


def _why_same(group: list[str], classes: list[str]) -> str:
    if len(classes) == 2 and set(group) <= UNCERTAINTY:
        return (
            "with two classes least-confident, margin and entropy sampling all rank the pool by "
            "the same quantity, the probability of the predicted class, so they are one strategy "
            "here and their tests coincide"
        )
    return "their numbers below coincide for that reason"


def _arm_verdict(st: pages.Study, name: str, test: dict[str, Any], wtl: dict[str, int]) -> str:
    """One arm's test against random in words, with its win/tie/loss record."""
    reference, alpha = st.reference, st.settings["alpha"]
    n = wtl["wins"] + wtl["ties"] + wtl["losses"]
    record = (
        f"won {wtl['wins']}, tied {wtl['ties']} and lost {wtl['losses']} of {fmt.plural(n, 'seed')}"
    )
    diff = (
        f"{fmt.pp(test.get('mean_difference'), 2)} AULC [{fmt.pp(test.get('low'), 2)}, "
        f"{fmt.pp(test.get('high'), 2)}]"
    )
    kind = test.get("verdict", "not distinguishable")
    if kind == "identical to random":
        return f"{name} queried exactly what {reference} did."
    if test.get("significant"):
        return (
            f"{name} is significantly {kind} than {reference}: {diff}, "
            f"{fmt.paired_pvalues(test)}; it {record}."
        )
    if not fmt.is_missing(test.get("min_p_value")) and test["min_p_value"] >= alpha:
        return (
            f"{name}: {diff}; with {fmt.plural(test.get('n_nonzero', n), 'differing seed')} no "
            f"paired test can reach α = {alpha} (smallest possible p = "
            f"{fmt.num(test['min_p_value'])}); it {record}."
        )
    return (
        f"{name} is not distinguishable from {reference}: {diff}, "
        f"{fmt.paired_pvalues(test)} (α = {alpha}); it {record}."
    )


def strategy_choice() -> Shown:
    """Ranks per starting model, then per regime its identical arms and each arm's test."""
    st = pages.study()
    starts, reference = st.starts, st.reference
    winloss = pages.natural(inputs.read_csv("metrics", "winloss.csv"))
    if len(starts) > 1:
        order = "is shown below. " + insights.ranking(st.doc)
    else:
        order = f"is compared across starting models once there are several (only {starts[0]} here)"
    verdicts = []
    for start in starts:
        inf = st.regimes[start]["strategies"]
        wl = pages.for_start(winloss, start)
        verdicts.append(f"- **{start}**")
        for group in pages.identical_arms(st.regimes[start]):
            verdicts.append(
                f"    - {fmt.join_words(group)} queried exactly the same images in every seed "
                f"and round: {_why_same(group, st.classes)}."
            )
        seen_arms = set()
        for s in [s for s in st.active if s in inf]:
            arm = inf[s].get("arm", s)
            if arm in seen_arms:
                continue  # an identical arm is one experiment: one line
            seen_arms.add(arm)
            name = f"**{arm}**" + (" (one arm: identical queries)" if arm != s else "")
            test = inf[s].get("test_vs_random") or {}
            verdicts.append(
                f"    - {_arm_verdict(st, name, test, pages.wins_against(wl, s, reference))}"
            )
    return [
        Markdown(
            "Ranked by mean area under the learning curve (AULC, the mean accuracy over the run) "
            f"within each starting model, the order of the strategies {order} What is "
            "significant is in each regime's tests below."
        ),
        HTML(
            markup.html_table(
                pages.rankings(st.doc),
                {"strategy": "strategy", **{s: f"rank from {s}" for s in starts}},
                {s: fmt.integer for s in starts},
                caption="Rank of each strategy by mean AULC (1 = largest) per starting model",
            )
        ),
        Markdown("\n".join(verdicts) if st.active else f"Only {reference} sampling was run."),
    ]


def cost() -> Shown:
    """What choosing costs next to training, and how far the picks stray from the pool."""
    st = pages.study()
    reference, level, classes = st.reference, st.level, st.classes
    cost = st.table.copy()
    if not (reference in set(cost["strategy"]) and len(cost)):
        return []
    in_pool = pages.pool_shares(inputs.pool_labels(), classes)
    shares = [c for c in classes if f"share_{c}" in cost]
    ref_query = float(cost.loc[cost["strategy"] == reference, "query_seconds"].mean())
    slowest = cost.sort_values("query_seconds").iloc[-1]
    training = float(cost["fit_seconds"].mean())
    cheap = slowest["query_seconds"] < st.settings["cheap_query_share"] * training
    text = (
        f"{'Choosing costs little next to training' if cheap else 'Choosing is not free'}: "
        f"per seed, {reference} spends {ref_query:.2f} s choosing images and the slowest "
        f"strategy, {slowest['strategy']} (from {slowest.get('start', '–')}), "
        f"{slowest['query_seconds']:.2f} s, against {training:.0f} s of training."
    )
    if shares:
        deviation = pd.concat(
            [
                cost[["start", "strategy"]].assign(
                    cls=c,
                    share=cost[f"share_{c}"],
                    low=cost.get(f"share_{c}_low"),
                    high=cost.get(f"share_{c}_high"),
                    dev=(cost[f"share_{c}"] - in_pool[c]).abs(),
                )
                for c in shares
            ],
            ignore_index=True,
        ).sort_values("dev")
        skew = deviation.iloc[-1]
        pool_words = fmt.join_words([f"{c} {fmt.pct(in_pool[c], 0)}" for c in classes])
        text += (
            f" The pool is {pool_words}; the furthest any strategy strays from that is "
            f"{skew['strategy']} from {skew['start']}, asking for {fmt.pct(skew['share'], 0)} "
            f"{skew['cls']} ({level} interval {fmt.pct(skew['low'], 0)}–"
            f"{fmt.pct(skew['high'], 0)}; [see its picks](gallery.html))."
        )
    return [Markdown(text)]


def plateau() -> Shown:
    """Where the stopping rule stops and where the curves flatten, per start and strategy."""
    st = pages.study()
    stops = st.table.copy()
    stops["stop_text"] = [
        "–" if fmt.is_missing(n) else f"{fmt.integer(n)} ({fmt.pct(f, 0)} of seeds)"
        for n, f in zip(stops["stop_labels"], stops["stop_seeds"], strict=True)
    ]
    # The slope is accuracy per label; the column is points per 100 labels.
    stops["slope_text"] = [
        "–" if fmt.is_missing(v) else f"{1e4 * v:.2f}" for v in stops["final_slope_high"]
    ]
    lines = []
    for start in st.starts:
        parts = []
        for s in [s for s in st.strategies if s in st.regimes[start]["strategies"]]:
            flat = st.regimes[start]["strategies"][s]["plateau"]
            if not fmt.is_missing(flat.get("n_labels")):
                parts.append(f"{s} from {fmt.plural(flat['n_labels'], 'label')}")
        lines.append(
            f"- **{start}**: "
            + (
                f"flat for {fmt.join_words(parts)}"
                if parts
                else "no curve is shown to be flat within the budget"
            )
            + "."
        )
    return [
        Markdown(
            "Per starting model, the labels at which the stopping rule (stabilising predictions "
            "on the stop set) stops, as a median over seeds, and the labels from which the "
            f"learning curve is flat ({st.settings['slope_threshold_words']}); '–' where that "
            "did not happen within the budget. "
            + insights.plateau(st.doc)
            + " "
            + insights.stop(st.doc, st.curves)
        ),
        HTML(
            markup.html_table(
                stops,
                {
                    "start": "starting model",
                    "strategy": "strategy",
                    "stop_text": "stopping rule: stop at labels",
                    "plateau_labels": "flat from labels",
                    "slope_text": "last slope, upper bound (pts/100 labels)",
                    "final_labels": "budget",
                },
                {"plateau_labels": fmt.integer, "final_labels": fmt.integer},
                numeric=["stop_text", "slope_text"],
                caption="Stopping and plateau per starting model and strategy",
            )
        ),
        Markdown("\n".join(lines)),
    ]

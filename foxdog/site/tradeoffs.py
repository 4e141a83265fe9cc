"""The Insights page's notes on the diversity and low-budget strategies, with ProbCover's δ.

What ranked batch, TypiClust, ProbCover and BADGE trade off, with the numbers of this run
(modAL's ranked-batch weight at the first and last query, the δ ProbCover picked from
``metrics/probcover_delta.csv``), as display objects for ``report/insights.qmd``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.site import fmt, inputs, insights, markup, overview, pages, summary_charts

Shown = list[Any]  # what a section displays, in order: Markdown, HTML or a chart


def _picked(delta: pd.DataFrame | None) -> pd.DataFrame | None:
    """The δ each seed's purity heuristic chose (rows of probcover_delta.csv)."""
    return delta[delta["chosen"].astype(bool)] if delta is not None else None


def _probcover_numbers(picked: pd.DataFrame | None) -> str:
    if picked is None or not len(picked):
        return " (its δ table, `metrics/probcover_delta.csv`, is absent here)"
    lo, hi = picked["delta"].min(), picked["delta"].max()
    deltas = fmt.num(lo, 2) if lo == hi else f"{fmt.num(lo, 2)}–{fmt.num(hi, 2)}"
    return (
        f"; on this pool the heuristic picks δ = {deltas} over "
        f"{fmt.plural(picked['seed'].nunique(), 'seed')}, where one round's "
        f"{fmt.integer(picked['budget'].iloc[0])} picks would cover "
        f"{fmt.pct(picked['coverage'].min(), 0)}–{fmt.pct(picked['coverage'].max(), 0)} of the pool"
    )


def strategy_notes() -> Markdown:
    """How ranked batch, TypiClust, ProbCover and BADGE choose, with this run's numbers."""
    doc = inputs.analysis()
    starts = pages.starts(doc)
    ran_any = {s for st in starts for s in pages.regime(doc, st)["strategies"]}
    constants = insights.strategy_constants()
    a = overview.protocol(doc, pages.natural(inputs.curves()), starts[0])
    n_pool = len(inputs.pool_labels())
    # modAL's ranked batch weight α = |U| / (|U| + |L|) at the first and at the last query.
    first_labelled = a["initial_size"]
    last_labelled = a["initial_size"] + (a["rounds"] - 1) * a["query_size"]
    alpha_first = (n_pool - first_labelled) / n_pool
    alpha_last = (n_pool - last_labelled) / n_pool
    probcover_numbers = _probcover_numbers(
        _picked(inputs.optional_csv("metrics", "probcover_delta.csv"))
    )

    def ran(name: str) -> str:
        return "" if name in ran_any else " *(no results for it in this run)*"

    lines = [
        f"- **ranked_batch** (modAL's ranked batch-mode sampling, Cardoso et al. 2017)"
        f"{ran('ranked_batch')}: each pick maximises α × diversity + (1 − α) × uncertainty, "
        "where diversity grows with the distance to the nearest labelled or already-picked "
        "image in the network's embedding, and modAL fixes α = |unlabelled| / (|unlabelled| "
        f"+ |labelled|). With {fmt.integer(n_pool)} pool images that is α = "
        f"{fmt.num(alpha_first, 2)} at the first query ({fmt.plural(first_labelled, 'label')}) "
        f"and still {fmt.num(alpha_last, 2)} at the last ({fmt.plural(last_labelled, 'label')}): "
        "it is mostly a farthest-first *diversity* traversal, with uncertainty acting as a "
        "tie-breaker, so its curve shows what spreading the labels over the embedding buys, "
        "not what uncertainty buys.",
        f"- **typiclust** (Hacohen et al. 2022){ran('typiclust')}: clusters the embeddings into "
        "|labelled| + batch clusters and labels the most *typical* image (inverse mean distance "
        f"to its {constants['typiclust_neighbours']} nearest neighbours) of each cluster that "
        "has the fewest labels: density and coverage, no uncertainty — made for the first, "
        "low-budget rounds.",
        f"- **probcover** (Yehuda et al. 2022){ran('probcover')}: greedily labels the image "
        "whose ball of radius δ covers the most still-uncovered images; δ is the largest radius "
        "whose balls are pure (one k-means pseudo-class) for at least "
        f"{fmt.pct(constants['probcover_alpha'], 0)} of the images{probcover_numbers}.",
        f"- **badge** (Ash et al. 2020){ran('badge')}: k-means++ seeding on each image's "
        "gradient of the loss with respect to the last layer, taking the model's own prediction "
        "as the label: the gradient is long when the model is unsure and points along the "
        "image's features, so the picks are uncertain *and* diverse with no weight to set.",
    ]
    return Markdown("\n".join(lines))


def probcover_delta() -> Shown:
    """ProbCover's δ: purity against coverage, and the δ each seed picked (chart and table)."""
    delta = inputs.optional_csv("metrics", "probcover_delta.csv")
    if delta is None:
        return [
            Markdown(
                "*ProbCover's δ sensitivity is absent (`metrics/probcover_delta.csv` not found; "
                "`dvc repro probcover_delta` makes it).*"
            )
        ]
    seeds = fmt.join_words([str(s) for s in sorted(delta["seed"].unique())])
    return [
        Markdown(
            "**ProbCover's δ.** A small δ makes pure balls (each holds one pseudo-class) but "
            "one round's picks then cover little of the pool; a large δ covers everything "
            "with few picks but its balls mix the pseudo-classes, so an image being covered "
            "no longer means it resembles a labelled one. The table and chart use the "
            f"embedding ProbCover's first query works on (seeds {seeds}: the network trained "
            "on the seed's initial labelled set), with no labelled set and one round's budget."
        ),
        summary_charts.probcover_delta(
            delta,
            alpha=insights.strategy_constants()["probcover_alpha"],
            title="ProbCover: ball purity and one round's coverage against δ "
            "(vertical: each seed's chosen δ; dashed: the purity threshold)",
        ),
        HTML(
            markup.html_table(
                _picked(delta),
                {
                    "seed": "seed",
                    "delta": "chosen δ",
                    "purity": "purity",
                    "coverage": "coverage after one round",
                    "mean_ball_size": "mean ball size (images)",
                    "n_labelled": "labelled",
                },
                {
                    "seed": fmt.integer,
                    "delta": lambda v: fmt.num(v, 2),
                    "purity": fmt.pct,
                    "coverage": fmt.pct,
                    "mean_ball_size": lambda v: fmt.num(v, 1),
                    "n_labelled": fmt.integer,
                },
                caption="The δ the purity heuristic picks, per seed",
            )
        ),
    ]

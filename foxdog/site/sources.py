"""The "Accuracy by photo source" table: full-pool test accuracy per source x class and start.

Reads ``facts.per_source`` of ``metrics/analysis.json`` (rows computed by
:mod:`foxdog.analysis.sources`); formats with :mod:`foxdog.site.fmt`. Nothing is computed
here but the layout: one row per source x class, one column per start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from foxdog.analysis.narrative_sources import per_source_words
from foxdog.site import fmt, inputs, markup

ALL = "all test images"


def _cell(entry: Mapping[str, Any]) -> str:
    return fmt.interval_text(
        {"mean": entry["accuracy"], "low": entry["low"], "high": entry["high"]}, fmt.pct
    )


def accuracy_table(
    doc: Mapping[str, Any], conditions: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """``source, class, test images`` and one ``accuracy [interval]`` column per condition.

    ``conditions`` defaults to the natural-balance starts (``doc["starts"]``) that were
    measured; the last row is the whole test split. None when nothing was measured.
    """
    fact = (doc.get("facts") or {}).get("per_source") or {}
    measured = fact.get("conditions") or {}
    wanted = conditions if conditions is not None else doc.get("starts") or list(measured)
    shown = [c for c in wanted if c in measured]
    if not fact.get("available") or not shown:
        return None
    rows = pd.DataFrame(fact["rows"])
    rows = rows[rows["condition"].isin(shown)]
    keys = rows[["source", "class", "n"]].drop_duplicates(["source", "class"])
    out = keys.rename(columns={"n": "test images"}).reset_index(drop=True)
    for c in shown:
        mine = rows[rows["condition"] == c].set_index(["source", "class"])
        out[c] = [
            _cell(mine.loc[(s, k)]) if (s, k) in mine.index else "–"
            for s, k in zip(out["source"], out["class"], strict=True)
        ]
    total = {"source": ALL, "class": "", "test images": measured[shown[0]]["overall"]["n"]}
    total |= {c: _cell(measured[c]["overall"]) for c in shown}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def accuracy_by_source_html(
    doc: Mapping[str, Any] | None = None, conditions: Sequence[str] | None = None
) -> str:
    """The table as HTML, or the sentence saying why there is none.

    The sentence on the table stands among the Insights' claims
    (:func:`foxdog.site.insights.per_source`), so it is not repeated above the table.

    ``doc`` defaults to ``metrics/analysis.json`` of the project being rendered.
    """
    doc = inputs.analysis() if doc is None else doc
    fact = (doc.get("facts") or {}).get("per_source") or {}
    wanted = conditions if conditions is not None else doc.get("starts")
    table = accuracy_table(doc, conditions)
    if table is None:
        return f"<p>{fmt.esc(per_source_words(fact, wanted))}</p>"
    level = fmt.pct(fact.get("confidence"), 0)
    starts = [c for c in table.columns if c not in ("source", "class", "test images")]
    caption = (
        "Full-pool test accuracy by photo source and class: mean over the baseline seeds "
        f"[{level} Wilson interval over the test images]"
    )
    html = markup.html_table(
        table,
        {"source": "photo source", "class": "class", "test images": "test images"}
        | {c: c for c in starts},
        {"test images": fmt.integer},
        caption=caption,
        numeric=("test images", *starts),
    )
    return f'<div class="fd-wide">{html}</div>'

"""What the Overview shows, as data: the answer, the decision map and the budget control's curves.

Everything comes from ``metrics/analysis.json`` (``decision``, ``settings``, ``regimes``)
and ``plots/curves.csv``; the sentences from :mod:`foxdog.analysis.narrative`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from foxdog.analysis import narrative
from foxdog.site.decision_charts import condition_labels
from foxdog.site.fmt import pct


def level(doc: Mapping[str, Any]) -> str:
    """The interval level of every interval on the site, ``"95%"``, from the analysis settings."""
    return pct(float(doc["settings"]["confidence"]), 0)


def answer(doc: Mapping[str, Any]) -> str:
    """The Overview's first paragraph (plain text, from the narrative module)."""
    return str(narrative.answer(doc)["text"])


def decision(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``analysis.json["decision"]``, or an empty map when the analysis wrote none."""
    return dict(doc.get("decision") or {"rows": [], "conditions": {}})


def conditions(doc: Mapping[str, Any]) -> list[str]:
    """The conditions analysed, in order: the decision map's, else the starts."""
    found = list(decision(doc).get("conditions") or {})
    return found or [str(s) for s in (doc.get("starts") or list(doc.get("regimes", {})))]


def start_caveats(doc: Mapping[str, Any]) -> str:
    """What a reader must know of the decision map's starts (the registry's words), or ""."""
    from foxdog.registry import START_INFO

    starts = {str(c.get("start")) for c in (decision(doc).get("conditions") or {}).values()}
    notes = [
        f"{name}: {START_INFO[name].description}."
        for name in sorted(starts)
        if name in START_INFO and START_INFO[name].frozen_features
    ]
    return " ".join(notes)


def decision_table(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The decision map's rows with ``condition_label`` and ``factor_text`` for the chart."""
    rows = pd.DataFrame(decision(doc).get("rows") or [])
    if rows.empty:
        return rows
    info = decision(doc).get("conditions") or {}
    labels = condition_labels(list(dict.fromkeys(rows["condition"].astype(str))), info)
    rows = rows.assign(
        condition_label=rows["condition"].astype(str).map(labels),
        factor_text=[narrative.factor_text(r) for r in rows.to_dict("records")],
    )
    # The chart colours what the narrative says: the verdict follows the interval.
    rows["verdict"] = [
        {"saves": "pays", "costs": "costs"}.get(
            narrative.saving_word(r["low"], r["high"], null=1.0), "no difference"
        )
        for r in rows.to_dict("records")
    ]
    return rows


def score_metric(doc: Mapping[str, Any], condition: str) -> str:
    """The score a condition is judged by: the decision map's metric, else accuracy."""
    for row in decision(doc).get("rows") or []:
        if str(row.get("condition")) == condition:
            return str(row.get("metric") or "accuracy")
    return "accuracy"


def budget_curves(doc: Mapping[str, Any], curves: pd.DataFrame) -> pd.DataFrame:
    """The curves the budget control needs: per condition its own score, ``condition`` column."""
    key = "condition" if "condition" in curves.columns else "start"
    frames = []
    for name in conditions(doc):
        part = curves[
            (curves[key].astype(str) == name) & (curves["metric"] == score_metric(doc, name))
        ]
        frames.append(part.assign(condition=name))
    if not frames:
        return pd.DataFrame(columns=["condition", "strategy", "n_labels", "mean", "low", "high"])
    return pd.concat(frames, ignore_index=True).dropna(subset=["mean"])


def budget_labels(doc: Mapping[str, Any], curves: pd.DataFrame) -> dict[str, str]:
    """The budget control's drop-down labels, for the conditions that have curves."""
    present = list(dict.fromkeys(curves["condition"].astype(str)))
    return condition_labels(present, decision(doc).get("conditions") or {})


def protocol(doc: Mapping[str, Any], curves: pd.DataFrame, start: str) -> dict[str, Any]:
    """What a start's runs did, read from the results: strategies, seeds, label schedule.

    ``initial_size`` and ``query_size`` come from the labels of random's rounds in
    ``plots/curves.csv``, ``seeds`` from the analysis, so the page describes what ran.
    """
    reg = doc["regimes"][start]
    reference = str(doc["settings"].get("reference", "random"))
    key = "condition" if "condition" in curves.columns else "start"
    mine = curves[(curves[key].astype(str) == start) & (curves["strategy"] == reference)]
    labels = sorted(set(mine["n_labels"].astype(int)))
    steps = sorted({b - a for a, b in zip(labels, labels[1:], strict=False)})
    info = reg.get("strategies") or {}
    return {
        "strategies": list(info),
        "seeds": int((info.get(reference) or {}).get("n_seeds") or 0),
        "initial_size": labels[0] if labels else None,
        "query_size": steps[0] if steps else None,
        "rounds": len(labels) - 1,
    }

"""The sentence on accuracy per photo source, from ``facts.per_source`` of ``analysis.json``.

Its wording follows the numbers (:mod:`foxdog.analysis.sources` computes them): the errors
*concentrate* on a source's photos only where that group's interval lies wholly below the
rest of the test split's; otherwise the group is the least accurate but "not measurably
below the rest".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def _pct(value: Any) -> str:
    return "–" if value is None or math.isnan(float(value)) else f"{100 * float(value):.1f}%"


def _share(values: Sequence[float]) -> str:
    """``35%`` or ``35–48%``: whole percent, a range when the values differ."""
    low, high = round(100 * min(values)), round(100 * max(values))
    return f"{low}%" if low == high else f"{low}–{high}%"


def _interval(entry: Mapping[str, Any]) -> str:
    return f"{_pct(entry['accuracy'])} [{_pct(entry['low'])}, {_pct(entry['high'])}]"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _group(worst: Mapping[str, Any]) -> str:
    return f"{worst['class']} photos from {worst['source']}"


def per_source_words(fact: Mapping[str, Any], conditions: Sequence[str] | None = None) -> str:
    """Where the full-pool models err most, by photo source and class, for ``conditions``.

    ``conditions`` (default: every measured one) picks and orders the conditions named;
    one without test predictions is named as not measured.
    """
    if not fact:  # an analysis.json written before per-source accuracy existed
        return ""
    if not fact.get("available"):
        return f"Accuracy per photo source is not measured yet: {fact.get('reason')}."
    measured = fact.get("conditions") or {}
    wanted = list(conditions) if conditions is not None else list(measured)
    shown = [c for c in wanted if c in measured]
    absent = [c for c in wanted if c not in measured]
    if not shown:
        return (
            f"Accuracy per photo source is not measured for {_and(absent)} (no test predictions)."
        )
    level = f"{round(100 * float(fact['confidence']))}%"
    worst = {c: measured[c]["worst"] for c in shown}
    below = [c for c in shown if measured[c]["below_rest"]]
    groups = {(w["source"], w["class"]) for w in worst.values()}

    def whole(c: str) -> str:
        return f"whole test split {_pct(measured[c]['overall']['accuracy'])}"

    if len(groups) == 1:
        one = next(iter(worst.values()))
        errors = _share([w["error_share"] for w in worst.values()])
        images = _share([w["image_share"] for w in worst.values()])
        lead = (
            f"The full-pool models' errors concentrate on {_group(one)}"
            if below
            else f"The full-pool models are least accurate on {_group(one)}"
        )
        per = ", ".join(f"{_interval(worst[c])} in {c} ({whole(c)})" for c in shown)
        text = f"{lead}: {per}; they are {images} of the test images and {errors} of the errors"
    else:
        text = "The full-pool models' weakest photos differ by start: " + ", ".join(
            f"{_group(worst[c])} in {c} ({_interval(worst[c])}; {whole(c)})" for c in shown
        )
    if len(below) == len(shown):
        verdict = "measurably below the rest of the test split" + (
            "" if len(shown) == 1 else " in each"
        )
    elif not below:
        verdict = "not measurably below the rest of the test split"
    else:
        verdict = (
            f"measurably below the rest of the test split in {_and(below)}, "
            f"not in {_and([c for c in shown if c not in below])}"
        )
    text += (
        f" ({verdict}; {level} Wilson intervals over the test images, accuracy the mean over "
        "the baseline seeds)."
    )
    if absent:
        text += f" Not measured for {_and(absent)} (no test predictions)."
    return text

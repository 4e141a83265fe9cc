"""Numbers and verdicts in words: the formats every sentence of the narrative shares."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def points_text(value: float) -> str:
    """An accuracy difference in signed percentage points, ``–`` when missing."""
    return "–" if value is None or math.isnan(value) else f"{100 * value:+.2f}"


def p_text(value: float) -> str:
    """A p-value to 3 significant digits, ``–`` when missing."""
    return "–" if value is None or math.isnan(value) else f"{value:.3g}"


def slope_words(threshold: float) -> str:
    """``1e-4`` -> ``"less than 1 point of accuracy per 100 labels"``."""
    points = 100 * 100 * threshold
    return f"less than {points:g} point{'' if points == 1 else 's'} of accuracy per 100 labels"


def join_and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if not items:
        return ""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def pct_text(value: float) -> str:
    """An accuracy as a percentage to one decimal, ``–`` when missing."""
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def labels_text(value: float) -> str:
    """A label count, rounded to a whole label, ``–`` when missing."""
    return "–" if value is None or math.isnan(value) else f"{value:.0f}"


def pts_text(value: Any, signed: bool = True) -> str:
    """A difference in percentage points to two decimals (signed by default), ``–`` if missing."""
    if not finite(value):
        return "–"
    return f"{100 * float(value):+.2f}" if signed else f"{100 * float(value):.2f}"


def interval_text(entry: Mapping[str, Any], mean: str = "mean", points: bool = False) -> str:
    """``71.2% [69.8%, 72.6%]`` or, for a difference, ``+1.48 [-0.73, +3.69]`` points."""
    text = pts_text if points else pct_text
    low, high = entry.get("low"), entry.get("high")
    if zero_width(low, high):
        return f"{text(entry.get(mean))} (the same from every seed)"
    return f"{text(entry.get(mean))} [{text(low)}, {text(high)}]"


def zero_width(low: Any, high: Any) -> bool:
    """Whether an interval over seeds has no width: every seed gave the same number.

    A deterministic fit (the zero-initialised, full-batch head) does that; its ``[x, x]``
    would read as certainty about the population, which the seeds cannot give. Every
    sentence and table that shows an interval asks this one rule.
    """
    return finite(low) and finite(high) and abs(float(high) - float(low)) < 1e-9


def finite(value: Any) -> bool:
    """Whether ``value`` is a number to print (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


#: The verdict of an interval against "no effect": above it, below it, or straddling it.
SAVES, COSTS, NO_DIFFERENCE = "saves", "costs", "no measurable difference"


def saving_word(low: Any, high: Any, null: float = 0.0) -> str:
    """``saves`` when the interval lies above ``null``, ``costs`` below it, else no difference.

    ``null`` is 0 for a difference (labels, points) and 1 for a speed-up factor. A missing
    interval (too few seeds) is never a saving or a cost.
    """
    if finite(low) and float(low) > null:
        return SAVES
    if finite(high) and float(high) < null:
        return COSTS
    return NO_DIFFERENCE


def factor_text(row: Mapping[str, Any]) -> str:
    """``2.10× [1.40, 3.02]`` of a decision row; ``–`` for a missing number.

    Two decimals: a bound of 0.99 or 1.01 must not print as 1.0.
    """

    def one(v: Any) -> str:
        return f"{float(v):.2f}" if finite(v) else "–"

    return f"{one(row.get('factor'))}× [{one(row.get('low'))}, {one(row.get('high'))}]"


def condition_words(condition: str, info: Mapping[str, Any] | None = None) -> str:
    """``imagenet-cat05`` -> ``imagenet, 5% cat``; a natural condition by its start's name,
    or ``imagenet, natural mix`` when ``info["mixes"]`` says the start runs other balances."""
    info = info or {}
    start = info.get("start") or condition.split("-")[0]
    if "-" not in condition:
        return f"{start}, natural mix" if info.get("mixes") else str(start)
    share = info.get("pool_share")
    rare = info.get("rare_class") or ""
    if not finite(share):
        return condition
    return f"{start}, {100 * float(share):.0f}% {rare}".rstrip()


def seeds_text(row: Mapping[str, Any]) -> str:
    """``8 seeds, 2 never got there``: a decision row's seeds and its censored ones."""
    n = int(row.get("n_seeds") or 0)
    censored = int(row.get("n_censored") or 0)
    text = f"{n} seed{'' if n == 1 else 's'}"
    return text + (f", {censored} never got there" if censored else "")


def short_list(items: Sequence[str], most: int = 2) -> str:
    """The first ``most`` items and how many more: ``a, b and 3 more``."""
    items = list(items)
    if len(items) > most:
        return f"{', '.join(items[:most])} and {len(items) - most} more"
    return join_and(items)

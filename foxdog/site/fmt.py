"""The one set of number and text formatters the report uses (percent, points, p-values, words).

Every formatter writes ``–`` for a missing value (None or NaN).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from foxdog.analysis.narrative.words import zero_width

Formatter = Callable[[Any], str]


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (quotes too: it may land in an attribute)."""
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    """True for None and NaN (what pandas reads for an empty CSV field)."""
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def pct(value: Any, digits: int = 1) -> str:
    """0.8123 → ``81.2%``; missing → ``–``."""
    return "–" if is_missing(value) else f"{100 * float(value):.{digits}f}%"


def points(value: Any, digits: int = 2) -> str:
    """A difference of proportions in signed percentage points, no unit: 0.008 → ``+0.80``."""
    return "–" if is_missing(value) else f"{100 * float(value):+.{digits}f}"


def pp(value: Any, digits: int = 1, signed: bool = True) -> str:
    """A difference of proportions in percentage points: 0.031 → ``+3.1 pp`` (or ``3.1 pp``)."""
    if is_missing(value):
        return "–"
    return f"{100 * float(value):{'+' if signed else ''}.{digits}f} pp"


def num(value: Any, digits: int = 3) -> str:
    """A float with ``digits`` decimals; missing → ``–``."""
    return "–" if is_missing(value) else f"{float(value):.{digits}f}"


def integer(value: Any) -> str:
    """A count with thousands separators; missing → ``–``."""
    return "–" if is_missing(value) else f"{round(float(value)):,}"


def pvalue(value: Any) -> str:
    """``p = 0.032``, ``p < 0.001``; missing → ``p –``."""
    if is_missing(value):
        return "p –"
    v = float(value)
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def paired_pvalues(test: Mapping[str, Any]) -> str:
    """A paired test's p-value, and its Benjamini–Hochberg adjustment when there are several."""
    raw = pvalue(test.get("p_value"))
    n = test.get("n_comparisons") or 0
    adjusted = test.get("p_adjusted")
    if n < 2 or is_missing(adjusted):
        return raw
    return f"{raw}, adjusted for {n} comparisons {pvalue(adjusted)}"


def plural(n: Any, word: str, words: str | None = None) -> str:
    """``1 seed``, ``5 seeds``; missing → ``– seeds``."""
    if is_missing(n):
        return f"– {words or word + 's'}"
    count = round(float(n))
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def negated(value: Any) -> float | None:
    """``-value``; ``None`` for a missing value (an absent interval bound stays absent)."""
    return None if is_missing(value) else -float(value)


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def interval_text(value: Mapping[str, Any] | None, fmt: Formatter = pct) -> str:
    """``"81.2% [79.0%, 83.4%]"`` from ``{mean, low, high}``; no bracket without an interval."""
    value = value or {}
    mean = value.get("mean", value.get("mean_difference"))
    if is_missing(value.get("low")) or is_missing(value.get("high")):
        return fmt(mean)
    if zero_width(value["low"], value["high"]):
        return f"{fmt(mean)} (the same from every seed)"
    return f"{fmt(mean)} [{fmt(value['low'])}, {fmt(value['high'])}]"

"""The Overview's answer: who should use active learning here, and when it does not pay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scipy.stats import binom

from foxdog.analysis.narrative.words import (
    COSTS,
    NO_DIFFERENCE,
    SAVES,
    condition_words,
    factor_text,
    join_and,
    labels_text,
    points_text,
    saving_word,
    seeds_text,
)
from foxdog.analysis.read import REFERENCE


def decision_answer(
    decision: Mapping[str, Any], confidence: float = 0.95, alpha: float = 0.05
) -> dict[str, Any]:
    """The Overview's answer from the decision map: ``{"text", "claims"}``.

    ``claims`` lists every (condition, strategy, budget, word) the text asserts, so a test
    can check each word against its row. The word is :func:`saving_word` of the row's
    speed-up interval against 1: "saves" only when the whole interval is above 1. When the
    intervals that exclude 1 are no more than twice what chance alone gives (each row at
    ``1 - confidence``), the answer says so first: a few such rows among many are no finding.
    A condition pays (or costs) only when its rows above 1 (below 1) are more than chance
    gives there: a one-sided binomial test at ``alpha`` of their count among the condition's
    rows, each missing on that side with probability ``(1 - confidence) / 2``. The rows of
    a condition share seeds, so the test is a screen against reading noise as a finding,
    not an exact p-value.
    """
    rows = list(decision.get("rows") or [])
    info = {c: dict(i) for c, i in (decision.get("conditions") or {}).items()}
    # "imagenet, natural mix" only beside "imagenet, 10% fox": a start at one balance is
    # named alone.
    for c, i in info.items():
        start = i.get("start") or c.split("-")[0]
        i["mixes"] = any(
            (j.get("start") or d.split("-")[0]) == start for d, j in info.items() if d != c
        )
    if not rows:
        return {"text": "The decision map has no comparisons yet.", "claims": []}
    for row in rows:
        row["word"] = saving_word(row.get("low"), row.get("high"), null=1.0)
    conditions = list(dict.fromkeys(str(r["condition"]) for r in rows))
    pays = [r for r in rows if r["word"] == SAVES]
    costs = [r for r in rows if r["word"] == COSTS]
    expected = (1 - confidence) * len(rows)
    chance_level = len(pays) + len(costs) <= 2 * expected
    claims: list[dict[str, Any]] = []

    def claim(row: Mapping[str, Any]) -> None:
        claims.append({k: row.get(k) for k in ("condition", "strategy", "budget", "word")})

    def where(row: Mapping[str, Any]) -> str:
        return condition_words(str(row["condition"]), info.get(str(row["condition"])))

    budgets = sorted({int(r["budget"]) for r in rows})
    span = f"{budgets[0]}–{budgets[-1]}" if len(budgets) > 1 else f"{budgets[0]}"

    # One "saves" among a dozen intervals is what 5% errors produce, not a finding; one
    # saving and one cost in the same condition are not "pays" either.
    def beyond_chance(c: str, word: str = SAVES) -> bool:
        mine = [r for r in rows if str(r["condition"]) == c]
        k = sum(r["word"] == word for r in mine)
        return k > 0 and float(binom.sf(k - 1, len(mine), (1 - confidence) / 2)) <= alpha

    where_pays = [c for c in dict.fromkeys(str(r["condition"]) for r in pays) if beyond_chance(c)]
    chance_only = [
        c for c in dict.fromkeys(str(r["condition"]) for r in pays) if c not in where_pays
    ]
    if where_pays:
        pays = [r for r in pays if str(r["condition"]) in where_pays]
        costs = [r for r in costs if beyond_chance(str(r["condition"]), COSTS)]
    best = max(pays, key=lambda r: float(r["low"])) if pays else None
    worst = min(costs, key=lambda r: float(r["high"])) if costs else None
    if best and chance_level:
        text = (
            f"Active learning makes no reliable difference here: of {len(rows)} comparisons "
            f"with random sampling (strategy × condition × budget, {span} labels), "
            f"{len(pays)} with a saving and {len(costs)} with a cost, about what chance alone "
            f"gives ({expected:.1f}). "
        )
        claim(best)
        text += (
            f"{best['strategy']} saves labels from {where(best)} at {int(best['budget'])} "
            f"({factor_text(best)} fewer, {seeds_text(best)})"
        )
        if worst:
            claim(worst)
            text += (
                f"; {worst['strategy']} costs labels from {where(worst)} at "
                f"{int(worst['budget'])} ({factor_text(worst)}, {seeds_text(worst)})"
            )
        return {"text": text + ". Label at random.", "claims": claims}
    if best:
        claim(best)
        text = (
            f"Active learning pays in {len(where_pays)} of {len(conditions)} conditions. "
            f"The largest sure gain: from {where(best)} at {int(best['budget'])} labels, "
            f"{best['strategy']} saves labels, reaching random sampling's accuracy with about "
            f"{labels_text(best.get('labels_needed'))} ({factor_text(best)} fewer, "
            f"{seeds_text(best)})."
        )
        others = [condition_words(c, info.get(c)) for c in where_pays if c != best["condition"]]
        if others:
            text += f" It also pays in {join_and(others)}."
    else:
        scope = (
            f"in any of the {len(conditions)} conditions"
            if len(conditions) > 1
            else f"from {condition_words(conditions[0], info.get(conditions[0]))}"
        )
        text = (
            f"Active learning does not pay here: at {span} labels, no strategy saves labels "
            f"against random sampling {scope}."
        )
    if worst:
        claim(worst)
        text += (
            f" It can hurt: {worst['strategy']} costs labels from {where(worst)} at "
            f"{int(worst['budget'])} ({factor_text(worst)}, {seeds_text(worst)})."
        )
    quiet = [c for c in conditions if c not in where_pays]
    if quiet and pays:
        text += (
            f" Elsewhere ({join_and([condition_words(c, info.get(c)) for c in quiet])}) "
            "label at random: no strategy saves labels there"
        )
        if chance_only and where_pays:
            # Which conditions those are, and the binomial rule, are on Method and Insights:
            # the Overview's paragraph stays short.
            text += " beyond what chance gives"
        text += "."
    elif not pays:
        n_none = sum(r["word"] == NO_DIFFERENCE for r in rows)
        counted = (
            "It shows"
            if len(rows) == 1 and n_none == 1
            else f"{n_none} of {len(rows)} comparisons show"
        )
        text += f" {counted} no measurable difference: label at random."
    return {"text": text, "claims": claims}


def regime_answer(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Overview's answer before a decision map exists: each arm's paired AULC difference.

    Counts every strategy × start comparison with random; names the ones whose interval
    excludes zero ("costs"/"saves" accuracy) and how many such intervals chance alone gives.
    """
    confidence = float(doc.get("settings", {}).get("confidence", 0.95))
    reference = str(doc.get("settings", {}).get("reference", REFERENCE))
    rows = []
    for start in doc.get("starts") or list(doc.get("regimes", {})):
        for name, info in (doc["regimes"][start].get("strategies") or {}).items():
            test = info.get("test_vs_random")
            if name == reference or not test:
                continue
            word = saving_word(test.get("low"), test.get("high"))
            rows.append(
                {"condition": start, "strategy": name, "budget": None, "word": word, **test}
            )
    if not rows:
        return {"text": "There is no strategy to compare with random sampling.", "claims": []}
    starts = list(dict.fromkeys(r["condition"] for r in rows))
    sure = [r for r in rows if r["word"] != NO_DIFFERENCE]
    better = [r for r in sure if r["word"] == SAVES]
    chance = (1 - confidence) * len(rows)
    if better:
        head = (
            f"Active learning helps in {len(better)} of {len(rows)} strategy × start comparisons "
            "with random sampling"
        )
    elif len(rows) == 1:
        head = (
            f"Active learning does not pay here: {rows[0]['strategy']} does not beat random "
            "sampling"
        )
    else:
        head = (
            f"Active learning does not pay here: in none of {len(rows)} strategy × start "
            "comparisons does a strategy beat random sampling"
        )
    text = head + f" ({join_and(starts)}; area under the learning curve)."
    parts = []
    for r in sure:
        effect = "gains" if r["word"] == SAVES else "costs"
        parts.append(
            f"{r['strategy']} {effect} {abs(100 * float(r['mean_difference'])):.2f} points "
            f"[{points_text(r['low'])}, {points_text(r['high'])}] from {r['condition']}"
        )
    if parts:
        text += (
            f" {len(sure)} {'intervals exclude' if len(sure) > 1 else 'interval excludes'}"
            f" zero ({'; '.join(parts[:2])}); chance alone gives about {chance:.1f} in {len(rows)}."
        )
    n_none = len(rows) - len(sure)
    if n_none == len(rows):
        lead = "It shows" if n_none == 1 else f"All {n_none} show"
        text += f" {lead} no measurable difference: label at random."
    elif n_none:
        verb = "shows" if n_none == 1 else "show"
        text += f" The other {n_none} {verb} no measurable difference: label at random."
    return {
        "text": text,
        "claims": [{k: r[k] for k in ("condition", "strategy", "budget", "word")} for r in sure],
    }


def answer(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Overview's first paragraph (``text``) and what it claims (``claims``)."""
    decision = doc.get("decision")
    if decision and decision.get("rows"):
        settings = doc.get("settings", {})
        return decision_answer(
            decision,
            float(settings.get("confidence", 0.95)),
            float(settings.get("alpha", 0.05)),
        )
    return regime_answer(doc)

"""Every English sentence the analysis writes: verdict numbers, the Overview's answer paragraph."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from foxdog.analysis.read import REFERENCE
from foxdog.analysis.stats import as_float
from foxdog.config import AnalysisConfig


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


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if not items:
        return ""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _pct(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _labels(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f}"


def _aulc_numbers(entry: Mapping[str, Any], cfg: AnalysisConfig, n_all: int | None) -> str:
    """``+0.80 points (95% interval -0.20 to +1.80; adjusted p = 0.094[ within ...])``."""
    level = f"{round(100 * cfg.confidence)}%"
    if math.isnan(as_float(entry["p_adjusted"])) and math.isnan(as_float(entry["low"])):
        return (
            f"{points_text(entry['mean_difference'])} points (no interval and no test with "
            f"fewer than {cfg.min_seeds} seeds)"
        )
    text = (
        f"{points_text(entry['mean_difference'])} points ({level} interval "
        f"{points_text(entry['low'])} to {points_text(entry['high'])}; adjusted p = "
        f"{p_text(entry['p_adjusted'])}"
    )
    if n_all:
        study = p_text(entry["p_adjusted_all"])
        text += f" within the regime, {study} over all {n_all} regime × arm tests"
    return text + ")"


def strategy_sentence(
    per_start: Mapping[str, Mapping[str, Any]], cfg: AnalysisConfig, n_all: int
) -> str:
    """The overview's first sentence: where a strategy beats random, by how many labels."""
    starts = list(per_start)
    several = len(starts) > 1
    study = n_all if several else None
    compared = [s for s in starts if per_start[s]["arm"]]
    if not compared:
        return "There is no strategy to compare with random sampling in any regime."
    level = f"{round(100 * cfg.confidence)}%"
    family = f"Benjamini–Hochberg over the distinct arms of each regime, α = {cfg.alpha:g}"
    significant = [s for s in starts if per_start[s]["significant"]]

    def where(s: str) -> str:
        return f" in {s}" if several else ""

    if significant:
        clauses = []
        for s in significant:
            e = per_start[s]
            saving = e["saving"]
            clause = f"{e['arm']} "
            if saving:
                more = saving["labels"] < 0
                reference = (
                    "the regime's full-pool accuracy"
                    if saving["target_reference"] == "full_pool_baseline"
                    else "the best arm's final accuracy in the regime"
                )
                clause += (
                    f"needs {_labels(abs(saving['labels']))} {'more' if more else 'fewer'} "
                    f"labels than random sampling to reach {_pct(saving['accuracy'])} test "
                    f"accuracy ({100 * saving['fraction']:g}% of {reference}; {level} interval "
                    f"{_labels(saving['low'])} to {_labels(saving['high'])} labels saved over "
                    f"{saving['n_pairs']} paired seeds) and gains "
                )
            else:
                clause += "gains "
            clause += f"AULC {_aulc_numbers(e, cfg, study)}"
            if e["also_better"]:
                clause += f", also significantly better: {', '.join(e['also_better'])}"
            clauses.append(f"in {s}, {clause}" if len(significant) > 1 else clause)
        regimes = "regimes" if len(significant) > 1 else "regime"
        text = (
            f"Active learning beats random sampling significantly ({family}) in the "
            f"{_and(significant)} {regimes}: {'; '.join(clauses)}"
        )
        others = [s for s in compared if s not in significant]
        if others:
            closest = "; ".join(
                f"{per_start[s]['arm']} in {s}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
                for s in others
            )
            text += f"; in {_and(others)} no strategy does (largest mean AULC: {closest})"
    else:
        scope = f"in any of the {len(starts)} regimes" if several else f"in the {starts[0]} regime"
        closest = "; ".join(
            f"{per_start[s]['arm']}{where(s)}, AULC {_aulc_numbers(per_start[s], cfg, study)}"
            for s in compared
        )
        plural = "s" if len(compared) > 1 else ""
        arms = f"the arm{plural} with the largest mean AULC (negative: behind random)"
        text = (
            f"No strategy beats random sampling significantly {scope} ({family}); {arms}: {closest}"
        )
    worse = [f"{arm}{where(s)}" for s in starts for arm in per_start[s]["worse"]]
    if worse:
        text += f"; significantly worse than random: {', '.join(worse)}"
    return text + "."


def model_sentence(
    model: Mapping[str, Any], level: Mapping[str, Any] | None, cfg: AnalysisConfig
) -> str:
    """The overview's second sentence: the full-pool accuracy per start, random's labels."""
    ref = model["reference_start"]
    starts = model["starts"]
    pct_level = f"{round(100 * cfg.confidence)}%"
    parts = []
    for s, e in starts.items():
        fp, d = e["full_pool"], e["full_pool_vs_reference"]
        text = f"{_pct(fp['accuracy'])} from {s}"
        if d:
            text += (
                f" ({points_text(d['mean_difference'])} points vs {ref}, {pct_level} interval "
                f"{points_text(d['low'])} to {points_text(d['high'])})"
            )
        elif len(starts) == 1 and math.isfinite(as_float(fp["low"])):
            text += f" ({pct_level} interval {_pct(fp['low'])}–{_pct(fp['high'])})"
        parts.append(text)
    text = f"Trained on the full pool, the CNN's test accuracy is {_and(parts)}"
    if level is not None:
        key = level["key"]
        needs = []
        for s, e in starts.items():
            if e["random"] is None:
                continue
            labels = as_float(e["common_targets"][key]["strategies"][REFERENCE]["labels"])
            if math.isfinite(labels):
                needs.append(f"{_labels(labels)} labels from {s}")
            else:  # half the seeds or more never get there within the budget
                final = _labels(as_float(e["random"]["final_labels"]))
                needs.append(f"more than {final} labels from {s}")
        text += (
            f"; to reach {_pct(level['accuracy'])} ({100 * level['fraction']:g}% of the {ref} "
            f"full-pool accuracy), random sampling needs a median of {_and(needs)}"
        )
        best = model["best_start"]
        saving = starts[best]["common_targets"][key]["random_saving_vs_reference"]
        if (
            best != ref
            and saving
            and saving["status"] == "ok"
            and saving["n_pairs"] >= cfg.min_seeds
        ):
            text += (
                f" ({best} saves {_labels(saving['labels'])} labels, {pct_level} interval "
                f"{_labels(saving['low'])} to {_labels(saving['high'])}, over "
                f"{saving['n_pairs']} paired seeds)"
            )
    return text + "."


# --- The Overview's answer: who should use active learning here, and when it is not worth it.

SAVES, COSTS, NO_DIFFERENCE = "saves", "costs", "no measurable difference"


def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def saving_word(low: Any, high: Any, null: float = 0.0) -> str:
    """``saves`` when the interval lies above ``null``, ``costs`` below it, else no difference.

    ``null`` is 0 for a difference (labels, points) and 1 for a speed-up factor. A missing
    interval (too few seeds) is never a saving or a cost.
    """
    if _finite(low) and float(low) > null:
        return SAVES
    if _finite(high) and float(high) < null:
        return COSTS
    return NO_DIFFERENCE


def factor_text(row: Mapping[str, Any]) -> str:
    """``2.10× [1.40, 3.02]`` of a decision row; ``–`` for a missing number.

    Two decimals: a bound of 0.99 or 1.01 must not print as 1.0.
    """

    def one(v: Any) -> str:
        return f"{float(v):.2f}" if _finite(v) else "–"

    return f"{one(row.get('factor'))}× [{one(row.get('low'))}, {one(row.get('high'))}]"


def condition_words(condition: str, info: Mapping[str, Any] | None = None) -> str:
    """``imagenet-cat05`` -> ``imagenet, 5% cat``; a natural condition by its start's name."""
    info = info or {}
    start = info.get("start") or condition.split("-")[0]
    if "-" not in condition:
        return str(start)
    share = info.get("pool_share")
    rare = info.get("rare_class") or ""
    if not _finite(share):
        return condition
    return f"{start}, {100 * float(share):.0f}% {rare}".rstrip()


def _seeds(row: Mapping[str, Any]) -> str:
    n = int(row.get("n_seeds") or 0)
    censored = int(row.get("n_censored") or 0)
    text = f"{n} seed{'' if n == 1 else 's'}"
    return text + (f", {censored} never got there" if censored else "")


def _list(items: Sequence[str], most: int = 2) -> str:
    items = list(items)
    if len(items) > most:
        return f"{', '.join(items[:most])} and {len(items) - most} more"
    return _and(items)


def decision_answer(decision: Mapping[str, Any], confidence: float = 0.95) -> dict[str, Any]:
    """The Overview's answer from the decision map: ``{"text", "claims"}``.

    ``claims`` lists every (condition, strategy, budget, word) the text asserts, so a test
    can check each word against its row. The word is :func:`saving_word` of the row's
    speed-up interval against 1: "saves" only when the whole interval is above 1. When the
    intervals that exclude 1 are no more than twice what chance alone gives (each row at
    ``1 - confidence``), the answer says so first: a few such rows among many are no finding.
    """
    rows = list(decision.get("rows") or [])
    info = decision.get("conditions") or {}
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

    # A condition pays only when its sure rows are more than twice what chance gives there:
    # one "pays" among a dozen intervals is what 5% errors produce, not a finding.
    def beyond_chance(c: str) -> bool:
        mine = [r for r in rows if str(r["condition"]) == c]
        sure = sum(r["word"] in (SAVES, COSTS) for r in mine)
        return sure > 2 * (1 - confidence) * len(mine)

    where_pays = [c for c in dict.fromkeys(str(r["condition"]) for r in pays) if beyond_chance(c)]
    chance_only = [
        c for c in dict.fromkeys(str(r["condition"]) for r in pays) if c not in where_pays
    ]
    if where_pays:
        pays = [r for r in pays if str(r["condition"]) in where_pays]
        costs = [r for r in costs if beyond_chance(str(r["condition"]))]
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
            f"({factor_text(best)} fewer, {_seeds(best)})"
        )
        if worst:
            claim(worst)
            text += (
                f"; {worst['strategy']} costs labels from {where(worst)} at "
                f"{int(worst['budget'])} ({factor_text(worst)}, {_seeds(worst)})"
            )
        return {"text": text + ". Label at random.", "claims": claims}
    if best:
        claim(best)
        text = (
            f"Active learning pays in {len(where_pays)} of {len(conditions)} conditions. "
            f"The largest sure gain: from {where(best)} at {int(best['budget'])} labels, "
            f"{best['strategy']} saves labels, reaching random sampling's accuracy with about "
            f"{_labels(best.get('labels_needed'))} ({factor_text(best)} fewer, {_seeds(best)})."
        )
        others = [condition_words(c, info.get(c)) for c in where_pays if c != best["condition"]]
        if others:
            text += f" It also pays in {_list(others)}."
    else:
        text = (
            f"Active learning does not pay here: at {span} labels, no strategy saves labels "
            f"against random sampling in any of the {len(conditions)} conditions."
        )
    if worst:
        claim(worst)
        text += (
            f" It can hurt: {worst['strategy']} costs labels from {where(worst)} at "
            f"{int(worst['budget'])} ({factor_text(worst)}, {_seeds(worst)})."
        )
    quiet = [c for c in conditions if c not in where_pays]
    if quiet and pays:
        text += (
            f" Elsewhere ({_list([condition_words(c, info.get(c)) for c in quiet])}) "
            "label at random: no strategy saves labels there"
        )
        if chance_only and where_pays:
            named = _list([condition_words(c, info.get(c)) for c in chance_only])
            text += (
                f" beyond what chance gives ({named}: no more sure rows than twice the "
                f"{1 - confidence:.0%} of intervals that miss by chance)"
            )
        text += "."
    elif not pays:
        n_none = sum(r["word"] == NO_DIFFERENCE for r in rows)
        text += (
            f" {n_none} of {len(rows)} comparisons show no measurable difference: label at random."
        )
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
    else:
        head = (
            f"Active learning does not pay here: in none of {len(rows)} strategy × start "
            "comparisons does a strategy beat random sampling"
        )
    text = head + f" ({_and(starts)}; area under the learning curve)."
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
    text += f" The other {n_none} show no measurable difference: label at random."
    return {
        "text": text,
        "claims": [{k: r[k] for k in ("condition", "strategy", "budget", "word")} for r in sure],
    }


def answer(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Overview's first paragraph (``text``) and what it claims (``claims``)."""
    decision = doc.get("decision")
    if decision and decision.get("rows"):
        return decision_answer(decision, float(doc.get("settings", {}).get("confidence", 0.95)))
    return regime_answer(doc)


# --- Insights: what the results support, each claim with its numbers.


def _pts(value: Any, signed: bool = True) -> str:
    if not _finite(value):
        return "–"
    return f"{100 * float(value):+.2f}" if signed else f"{100 * float(value):.2f}"


def _interval(entry: Mapping[str, Any], mean: str = "mean", points: bool = False) -> str:
    """``71.2% [69.8%, 72.6%]`` or, for a difference, ``+1.48 [-0.73, +3.69]`` points."""
    if points:
        return f"{_pts(entry.get(mean))} [{_pts(entry.get('low'))}, {_pts(entry.get('high'))}]"
    return f"{_pct(entry.get(mean))} [{_pct(entry.get('low'))}, {_pct(entry.get('high'))}]"


def trend_words(
    levels: Sequence[Any],
    means: Sequence[float],
    lows: Sequence[Any],
    highs: Sequence[Any],
    n_seeds: int,
) -> str:
    """An effect across factor levels, stated as far as the numbers allow.

    "grows"/"shrinks" only when the means move one way at every step and at least one
    interval excludes zero; otherwise "no measurable trend" with the reason.
    """
    steps = [b - a for a, b in zip(means, means[1:], strict=False)]
    monotone = bool(steps) and (all(s > 0 for s in steps) or all(s < 0 for s in steps))
    sure = [saving_word(lo, hi) != NO_DIFFERENCE for lo, hi in zip(lows, highs, strict=True)]
    values = ", ".join(
        f"{lv}: {_pts(m)} [{_pts(lo)}, {_pts(hi)}]"
        for lv, m, lo, hi in zip(levels, means, lows, highs, strict=True)
    )
    if monotone and any(sure):
        word = "grows" if steps[0] > 0 else "shrinks"
        return f"{values} points ({n_seeds} seeds): it {word} with the level"
    reasons = []
    if not monotone:
        reasons.append("the means do not move one way")
    if not any(sure):
        reasons.append("every interval contains zero")
    return f"{values} points ({n_seeds} seeds): no measurable trend ({' and '.join(reasons)})"


def start_worth(
    reference: str,
    aulc: Mapping[str, Mapping[str, Any]],
    first: Mapping[str, Mapping[str, Any]],
    first_labels: Any,
    largest_arm: Mapping[str, Any] | None,
    paired: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """What the starting model is worth to random sampling, against any strategy's effect.

    ``aulc[start]`` and ``first[start]`` are random's AULC and first-round accuracy
    ({mean, low, high}); ``largest_arm`` is the strategy × start with the largest
    |paired AULC difference| ({strategy, start, mean_difference, low, high}).
    """
    ref = aulc[reference]
    others = [s for s in aulc if s != reference]
    paired = paired or {}

    def gain(s: str) -> str:
        if paired.get(s):  # the analysis's paired difference, with its interval
            return f"{_interval(paired[s], 'mean_difference', points=True)} points, paired"
        return f"{_pts(float(aulc[s]['mean']) - float(ref['mean']))} points, difference of means"

    parts = [f"{_interval(aulc[s])} from {s} ({gain(s)})" for s in others]
    text = (
        f"The starting model matters more than the strategy. Random sampling's AULC is "
        f"{_interval(ref)} from {reference}, {_and(parts)}"
    )
    if largest_arm:
        text += (
            f"; the largest strategy effect anywhere is {largest_arm['strategy']} from "
            f"{largest_arm['start']}, {_interval(largest_arm, 'mean_difference', points=True)} "
            "points"
        )
    if first:
        text += f". At {first_labels} labels the starts are level: " + _and(
            [f"{_interval(v)} from {s}" for s, v in first.items()]
        )
    return text + "."


def full_pool_words(
    reference: str,
    accuracy: Mapping[str, Mapping[str, Any]],
    vs_reference: Mapping[str, Mapping[str, Any]],
) -> str:
    """Full-pool accuracy per start and each start's paired difference from the reference."""
    parts = []
    for s, d in vs_reference.items():
        word = saving_word(d.get("low"), d.get("high"))
        verdict = {SAVES: "better", COSTS: "worse"}.get(word, "no measurable difference")
        n = d.get("n_pairs")
        parts.append(
            f"{s} {_interval(d, 'mean_difference', points=True)} points ({verdict}"
            + (f", {n} paired seeds)" if n else ")")
        )
    ranked = sorted(accuracy, key=lambda s: -float(accuracy[s]["mean"]))
    text = "Trained on the whole pool: " + _and(
        [f"{_interval(accuracy[s])} from {s}" for s in accuracy]
    )
    text += f". Against {reference}: {_and(parts)}." if parts else "."  # one start: no pairs
    if len(ranked) >= 2:
        lead = float(accuracy[ranked[0]]["mean"]) - float(accuracy[ranked[1]]["mean"])
        text += (
            f" The highest, {ranked[0]}, leads {ranked[1]} by {_pts(lead, signed=False)} points,"
            " too little to call either the better start."
        )
    return text


def chance_words(n_intervals: int, n_excluding: int, confidence: float) -> str:
    """How many intervals exclude zero against how many chance alone would."""
    expected = (1 - confidence) * n_intervals
    return (
        f"Of {n_intervals} paired {round(100 * confidence)}% intervals of a strategy against "
        f"random here, {n_excluding} exclude zero; chance alone gives about {expected:.1f}, so "
        "a single such interval is not a finding."
    )


def ranking_words(
    spread: Mapping[str, float],
    widths: Mapping[str, float],
    reference_rank: Mapping[str, int],
    n_arms: int,
) -> str:
    """Whether an order of means says anything: the spread of arms against their intervals."""
    parts = [
        f"{s}: {_pts(spread[s], signed=False)} points between the best and worst arm, against "
        f"intervals {_pts(widths[s], signed=False)} points wide"
        for s in spread
    ]
    ranks = _and([f"{r} of {n_arms} from {s}" for s, r in reference_rank.items()])
    return (
        f"The order of the strategies by mean AULC is not a finding: {'; '.join(parts)}. "
        f"Random ranks {ranks}."
    )


def plateau_words(gaps: Mapping[str, Mapping[str, Any]], slope_words: str) -> str:
    """Where the curves end against the full pool: "flat" is a slope test, not a ceiling."""
    parts = [
        f"{_pts(g['gap'], signed=False)} points from {s} (at {g['labels']} labels)"
        for s, g in gaps.items()
    ]
    return (
        f"Random sampling's curve ends below the full-pool accuracy by {_and(parts)}. A curve "
        f"called flat here grows by {slope_words} by the slope test; more labels still buy "
        "accuracy on the way to the full pool."
    )


def stop_words(best_kappa: float, kappa: float, window: int, fired: bool) -> str:
    """Whether the stopping rule could fire: its threshold against the highest κ reached."""
    if fired:
        return (
            f"The stopping rule (mean κ over {window} rounds ≥ {kappa:g}) fired in some runs; "
            "the table gives where."
        )
    return (
        f"The stopping rule cannot fire on these runs: it needs a mean κ over {window} rounds "
        f"of at least {kappa:g}, and the highest any mean curve reaches is {best_kappa:.3f}. "
        "'–' in its column means it never stopped."
    )


def _side(entry: Mapping[str, Any]) -> str:
    word = saving_word(entry.get("low"), entry.get("high"))
    return {SAVES: "ahead", COSTS: "behind"}.get(word, word)


def early_late_words(
    strategy: str, start: str, early: Mapping[str, Any], late: Mapping[str, Any]
) -> str:
    """A strategy's paired accuracy difference from random early and late in the run."""
    return (
        f"{strategy} from {start} is {_interval(early, 'mean_difference', points=True)} points "
        f"against random at {early['n_labels']} labels "
        f"({_side(early)})"
        f" and {_interval(late, 'mean_difference', points=True)} at {late['n_labels']} labels "
        f"({_side(late)})."
    )


def class_share_words(
    strategy: str,
    cls: str,
    pool: float,
    asked: Mapping[str, Mapping[str, Any]],
    balanced: Mapping[str, Mapping[str, Any]],
    balanced_random: Mapping[str, Mapping[str, Any]],
) -> str:
    """A strategy's share of one class among its picks against the pool's, per start."""
    parts = [
        f"{_interval(asked[s])} from {s} (final balanced accuracy {_interval(balanced[s])}, "
        f"random {_interval(balanced_random[s])})"
        for s in asked
    ]
    better = [
        s
        for s in asked
        if _finite(balanced[s].get("low"))
        and _finite(balanced_random[s].get("high"))
        and float(balanced[s]["low"]) > float(balanced_random[s]["high"])
    ]
    verdict = (
        f"Its balanced accuracy is clearly higher from {_and(better)}."
        if better
        else "It rebalances the labels without a measurably better balanced accuracy."
    )
    return (
        f"{strategy} asks for more {cls} than the pool holds ({100 * pool:.0f}%): "
        f"{_and(parts)}. {verdict}"
    )

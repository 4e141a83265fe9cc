"""The Insights page's claims in words, each with the numbers that support it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from foxdog.analysis.narrative.words import (
    COSTS,
    NO_DIFFERENCE,
    SAVES,
    finite,
    interval_text,
    join_and,
    pct_text,
    pts_text,
    saving_word,
    zero_width,
)


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
        f"{lv}: {pts_text(m)} [{pts_text(lo)}, {pts_text(hi)}]"
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
            return f"{interval_text(paired[s], 'mean_difference', points=True)} points, paired"
        return (
            f"{pts_text(float(aulc[s]['mean']) - float(ref['mean']))} points, difference of means"
        )

    parts = [f"{interval_text(aulc[s])} from {s} ({gain(s)})" for s in others]
    text = (
        f"The starting model matters more than the strategy. Random sampling's AULC is "
        f"{interval_text(ref)} from {reference}, {join_and(parts)}"
    )
    if largest_arm:
        text += (
            f"; the largest strategy effect anywhere is {largest_arm['strategy']} from "
            f"{largest_arm['start']}, {interval_text(largest_arm, 'mean_difference', points=True)} "
            "points"
        )
    if first:
        text += f". At {first_labels} labels the starts are level: " + join_and(
            [f"{interval_text(v)} from {s}" for s, v in first.items()]
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
            f"{s} {interval_text(d, 'mean_difference', points=True)} points ({verdict}"
            + (f", {n} paired seeds)" if n else ")")
        )
    ranked = sorted(accuracy, key=lambda s: -float(accuracy[s]["mean"]))

    def one(s: str) -> str:
        a = accuracy[s]
        if zero_width(a.get("low"), a.get("high")):
            return f"{pct_text(a.get('mean'))} from {s} (the same model from every seed)"
        return f"{interval_text(a)} from {s}"

    text = "Trained on the whole pool: " + join_and([one(s) for s in accuracy])
    text += f". Against {reference}: {join_and(parts)}." if parts else "."  # one start: no pairs
    if len(ranked) >= 2:
        top, second = accuracy[ranked[0]], accuracy[ranked[1]]
        lead = float(top["mean"]) - float(second["mean"])
        apart = finite(top.get("low")) and finite(second.get("high"))
        apart = apart and float(top["low"]) > float(second["high"])
        text += f" The highest, {ranked[0]}, leads {ranked[1]} by {pts_text(lead, signed=False)} "
        text += (
            "points: the better start (their intervals do not overlap)."
            if apart
            else "points, too little to call either the better start."
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
        f"{s}: {pts_text(spread[s], signed=False)} points between the best and worst arm, against "
        f"intervals {pts_text(widths[s], signed=False)} points wide"
        for s in spread
    ]
    ranks = join_and([f"{r} of {n_arms} from {s}" for s, r in reference_rank.items()])
    return (
        f"The order of the strategies by mean AULC is not a finding: {'; '.join(parts)}. "
        f"Random ranks {ranks}."
    )


def plateau_words(gaps: Mapping[str, Mapping[str, Any]], slope_words: str) -> str:
    """Where the curves end against the full pool: "flat" is a slope test, not a ceiling."""
    parts = [
        f"{pts_text(g['gap'], signed=False)} points from {s} (at {g['labels']} labels)"
        for s, g in gaps.items()
    ]
    return (
        f"Random sampling's curve ends below the full-pool accuracy by {join_and(parts)}. A curve "
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
        f"{strategy} from {start} is {interval_text(early, 'mean_difference', points=True)} points "
        f"against random at {early['n_labels']} labels "
        f"({_side(early)})"
        f" and {interval_text(late, 'mean_difference', points=True)} at {late['n_labels']} labels "
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
        f"{interval_text(asked[s])} from {s} (final balanced accuracy "
        f"{interval_text(balanced[s])}, "
        f"random {interval_text(balanced_random[s])})"
        for s in asked
    ]
    better = [
        s
        for s in asked
        if finite(balanced[s].get("low"))
        and finite(balanced_random[s].get("high"))
        and float(balanced[s]["low"]) > float(balanced_random[s]["high"])
    ]
    verdict = (
        f"Its balanced accuracy is clearly higher from {join_and(better)}."
        if better
        else "It rebalances the labels without a measurably better balanced accuracy."
    )
    return (
        f"{strategy} asks for more {cls} than the pool holds ({100 * pool:.0f}%): "
        f"{join_and(parts)}. {verdict}"
    )

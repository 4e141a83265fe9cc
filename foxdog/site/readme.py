"""Keep the numbers in README.md true: a marked block is rewritten from the result files.

``foxdog readme`` (run by ``make report``) replaces the text between the
``<!-- numbers:start -->`` and ``<!-- numbers:end -->`` markers; a test checks the
committed README against the committed files, so a typed number cannot drift.

The block has, per regime of ``active.starts``, the full-pool accuracy
(``metrics/baseline/<start>.json``) and the verdict of the pre-declared test
(``metrics/summary.json``), the Overview's answer paragraph (from ``metrics/analysis.json``
by :mod:`foxdog.analysis.narrative`, the same text as the site) and the compute time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from foxdog import io, paths
from foxdog.analysis import narrative
from foxdog.config import Params
from foxdog.registry import FEATURE_STARTS, Condition, conditions
from foxdog.site.fmt import pct, points

START, END = "<!-- numbers:start -->", "<!-- numbers:end -->"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _seconds(rounds_csv: Path) -> float:
    """Fit + query seconds recorded in one ``rounds.csv``."""
    rounds = pd.read_csv(rounds_csv)
    return float(rounds[["fit_seconds", "query_seconds"]].fillna(0).to_numpy().sum())


def _interval(low: float | None, high: float | None, fmt=pct) -> str:
    """``75.0%–85.0%``; ``–`` when a bound is missing (e.g. a single seed)."""
    return "–" if low is None or high is None else f"{fmt(low)}–{fmt(high)}"


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _baseline_line(cond: Condition, root: Path, params: Params) -> str:
    """The full-pool score of one condition, from ``metrics/baseline/<condition>.json``.

    Accuracy at the natural balance, ``analysis.metric_subsampled`` (balanced accuracy)
    when the rare class is subsampled: the score the decision map compares.
    """
    name = paths.baseline(cond.name).as_posix()
    base = _read_json(root / name)
    where = cond.name if cond.natural else f"{cond.start}, {cond.rare_class} at {cond.share:.0%}"
    if base is None:
        stage = "baseline_head" if cond.start in FEATURE_STARTS else "baseline"
        how = f"`dvc repro {stage}@{cond.name}`"
        return f"- Full-pool baseline from {where}: not computed yet ({how})."
    metric = params.analysis.metric_natural if cond.natural else params.analysis.metric_subsampled
    score = base[metric]
    # The baseline stage's t-interval at analysis.confidence (none for one seed).
    low, high = score.get("low"), score.get("high")
    level = f"{round(100 * params.analysis.confidence)}%"
    n = len(base["seeds"])
    spread = f"{level} interval {_interval(low, high)}, {n} seeds"
    if n > 1 and narrative.words.zero_width(low, high):
        spread = f"the same model from each of {n} seeds: its training is deterministic"
    return (
        f"- Full-pool baseline from {where} (`{name}`): test {metric.replace('_', ' ')} "
        f"**{pct(score['mean'])}** ({spread}; {base['n_train']:,} training / "
        f"{base['n_test']:,} test images)."
    )


def _strategy_line(start: str, summary: dict, params: Params) -> str | None:
    """One regime's verdict of the pre-declared test, from ``metrics/summary.json``."""
    if summary.get("random.aulc") is None:
        return None
    alpha = params.analysis.alpha
    level = f"{round(100 * params.analysis.confidence)}%"
    arm = summary.get("best_arm")
    first = (arm or "").split(" = ")[0]
    diff = summary.get(f"{first}.aulc_difference_vs_random")
    low = summary.get(f"{first}.aulc_difference_vs_random_low")
    high = summary.get(f"{first}.aulc_difference_vs_random_high")
    p = summary.get(f"{first}.p_adjusted_vs_random")
    numbers = (
        f"AULC {points(diff)} points vs random ({level} interval "
        f"{points(low)} to {points(high)}; exact paired sign-flip test, "
        f"Benjamini–Hochberg adjusted p = {'–' if p is None else f'{p:.3g}'})"
    )
    line = f"- From {start} (`metrics/summary.json` `{start}`): "
    if summary.get("best_strategy"):
        line += (
            f"best strategy **{arm}**, significantly better than random at α = {alpha:g}: "
            f"{numbers}."
        )
    elif arm:
        line += (
            f"no strategy is significantly better than random sampling at α = {alpha:g}; "
            f"the arm with the largest mean AULC, **{arm}**: {numbers}."
        )
    else:
        line += "only random sampling was run."
    others = [n for n in params.active.strategies if n != "random" and f"{n}.aulc" in summary]
    if others:

        def significant(name: str, sign: int) -> bool:
            q = summary.get(f"{name}.p_adjusted_vs_random")
            diff = summary.get(f"{name}.aulc_difference_vs_random") or 0
            return q is not None and q < alpha and sign * diff > 0

        winners = [n for n in others if significant(n, +1)]
        losers = [n for n in others if significant(n, -1)]
        line += (
            f" Significantly better than random by AULC (Benjamini–Hochberg adjusted "
            f"p < {alpha:g}): **{', '.join(winners) if winners else 'none'}** of "
            f"{len(others)}; significantly worse: **{', '.join(losers) if losers else 'none'}**."
        )
    return line


def numbers_block(params: Params, root: Path = Path(".")) -> str:
    """Markdown with the headline numbers, computed from metrics/ and results/."""
    starts = params.active.starts
    conds = conditions(params)
    lines = [_baseline_line(cond, root, params) for cond in conds]
    analysis = _read_json(root / "metrics" / "analysis.json") or {}
    if analysis.get("regimes") or analysis.get("decision"):
        answer = narrative.answer(analysis)["text"]
        lines.append(
            f"- The answer (the Overview's first paragraph, `metrics/analysis.json`): {answer}"
        )
    summary = _read_json(root / "metrics" / "summary.json") or {}
    for start in starts:
        part = summary.get(start)
        line = _strategy_line(start, part, params) if isinstance(part, dict) else None
        if line:
            lines.append(line)
    times = [
        (cond.name, sum(_seconds(p) for p in found))
        for cond in conds
        if (found := sorted((root / "results" / cond.name).glob("*/rounds.csv")))
    ]
    if times:
        total = sum(t for _, t in times)
        per = ", ".join(f"{s} {_minutes(t)}" for s, t in times)
        lines.append(
            f"- Training + query time of the main experiments, summed over seeds from "
            f"`results/<condition>/*/rounds.csv`: **{_minutes(total)}** ({per}). Each seed "
            "runs on one core and a stage runs one seed per core at once (`--workers`), so on "
            "several cores a stage takes less wall time than its sum."
        )
    abl = sorted((root / "results" / "ablations").glob("*/*/rounds.csv"))
    if abl:
        seconds = sum(_seconds(p) for p in abl)
        lines.append(
            f"- Ablations ({len(abl)} stages, from {params.ablations.start}): "
            f"**{_minutes(seconds)}**."
        )
    return "\n".join(lines)


def update_readme(params: Params, readme: Path = Path("README.md"), root: Path = Path(".")) -> bool:
    """Rewrite the marked block of ``readme``; return True if its text changed."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{readme}: markers {START} / {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{numbers_block(params, root)}\n{END}{tail}"
    if new != text:
        io.write_text(readme, new)
    return new != text

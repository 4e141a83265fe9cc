"""Keep the numbers in README.md true: a marked block is rewritten from the result files.

``foxdog readme`` (run by ``make report``) replaces the text between the
``<!-- numbers:start -->`` and ``<!-- numbers:end -->`` markers; a test checks the
committed README against the committed files, so a typed number cannot drift.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from foxdog import io
from foxdog.analysis import t_interval
from foxdog.config import Params

START, END = "<!-- numbers:start -->", "<!-- numbers:end -->"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _seconds(rounds_csv: Path) -> float:
    """Fit + query seconds recorded in one ``rounds.csv``."""
    rounds = pd.read_csv(rounds_csv)
    return float(rounds[["fit_seconds", "query_seconds"]].fillna(0).to_numpy().sum())


def _interval(low: float | None, high: float | None, fmt=_pct) -> str:
    """``75.0%–85.0%``; ``–`` when a bound is missing (e.g. a single seed)."""
    return "–" if low is None or high is None else f"{fmt(low)}–{fmt(high)}"


def _points(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:+.2f}"


def _strategy_lines(summary: dict, params: Params) -> list[str]:
    """The verdict of the pre-declared test, from ``metrics/summary.json``."""
    if summary.get("random.aulc") is None:
        return []
    alpha = params.analysis.alpha
    level = f"{round(100 * params.analysis.confidence)}%"
    lines = []
    arm = summary.get("best_arm")
    first = (arm or "").split(" = ")[0]
    diff = summary.get(f"{first}.aulc_difference_vs_random")
    low = summary.get(f"{first}.aulc_difference_vs_random_low")
    high = summary.get(f"{first}.aulc_difference_vs_random_high")
    p = summary.get(f"{first}.p_adjusted_vs_random")
    numbers = (
        f"AULC {_points(diff)} points vs random ({level} interval "
        f"{_points(low)} to {_points(high)}; exact paired sign-flip test, "
        f"Benjamini–Hochberg adjusted p = {'–' if p is None else f'{p:.3g}'})"
    )
    if summary.get("best_strategy"):
        lines.append(
            f"- Best strategy (`metrics/summary.json`): **{arm}**, significantly better than "
            f"random at α = {alpha:g}: {numbers}."
        )
    elif arm:
        lines.append(
            f"- No strategy is significantly better than random sampling at α = {alpha:g} "
            f"(`metrics/summary.json`); the arm closest to beating it, **{arm}**: {numbers}."
        )
    others = [n for n in params.active.strategies if n != "random" and f"{n}.aulc" in summary]
    if others:

        def significant(name: str, sign: int) -> bool:
            q = summary.get(f"{name}.p_adjusted_vs_random")
            diff = summary.get(f"{name}.aulc_difference_vs_random") or 0
            return q is not None and q < alpha and sign * diff > 0

        winners = [n for n in others if significant(n, +1)]
        losers = [n for n in others if significant(n, -1)]
        lines.append(
            f"- Strategies significantly better than random by AULC (Benjamini–Hochberg "
            f"adjusted p < {alpha:g}): **{', '.join(winners) if winners else 'none'}** "
            f"of {len(others)}; significantly worse: "
            f"**{', '.join(losers) if losers else 'none'}**."
        )
    return lines


def numbers_block(params: Params, root: Path = Path(".")) -> str:
    """Markdown with the headline numbers, computed from metrics/ and results/."""
    lines = []
    baseline_path = root / "metrics" / "baseline.json"
    if baseline_path.is_file():
        base = json.loads(baseline_path.read_text(encoding="utf-8"))
        acc = base["accuracy"]
        # The same t-interval over seeds as every other band (none for one seed).
        _, low, high = t_interval(acc.get("per_seed") or [], params.analysis.confidence)
        low, high = (None, None) if math.isnan(low) else (low, high)
        level = f"{round(100 * params.analysis.confidence)}%"
        lines.append(
            f"- Full-pool baseline (`metrics/baseline.json`): test accuracy "
            f"**{_pct(acc['mean'])}** ({level} interval {_interval(low, high)}, "
            f"{len(base['seeds'])} seeds, {base['n_train']:,} training / "
            f"{base['n_test']:,} test images)."
        )
    else:
        lines.append("- Full-pool baseline: not computed yet (`dvc repro baseline`).")
    summary_path = root / "metrics" / "summary.json"
    if summary_path.is_file():
        lines += _strategy_lines(json.loads(summary_path.read_text(encoding="utf-8")), params)
    times = [
        (strategy, _seconds(path))
        for strategy in params.active.strategies
        if (path := root / "results" / strategy / "rounds.csv").is_file()
    ]
    if times:
        total = sum(t for _, t in times)
        per = ", ".join(f"{s} {_minutes(t)}" for s, t in times)
        lines.append(
            f"- Training + query time of the main experiments, summed from "
            f"`results/*/rounds.csv`: **{_minutes(total)}** ({per})."
        )
    abl = sorted((root / "results" / "ablations").glob("*/*/rounds.csv"))
    if abl:
        seconds = sum(_seconds(p) for p in abl)
        lines.append(f"- Ablations ({len(abl)} stages): **{_minutes(seconds)}**.")
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

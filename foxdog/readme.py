"""Keep the numbers in README.md true: a marked block is rewritten from the result files.

``foxdog readme`` (run by ``make report``) replaces the text between the
``<!-- numbers:start -->`` and ``<!-- numbers:end -->`` markers; a test checks the
committed README against the committed files, so a typed number cannot drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from foxdog import io
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


def _strategy_lines(summary: dict, params: Params) -> list[str]:
    """The best strategy and the strategies that beat random, from ``metrics/summary.json``."""
    rand = summary.get("random.aulc")
    if rand is None:
        return []
    alpha = params.analysis.alpha

    def adjusted_p(name: str) -> float | None:
        return summary.get(f"{name}.p_adjusted_vs_random")

    lines = []
    best = summary.get("best_strategy")
    aulc = summary.get(f"{best}.aulc")
    if best and aulc is not None:
        p = adjusted_p(best)
        verdict = (
            ""
            if p is None
            else f"; paired test against random over seeds, Benjamini–Hochberg "
            f"adjusted: p = {p:.3g}, "
            + ("significant" if p < alpha else "not significant")
            + f" at α = {alpha:g}"
        )
        lines.append(
            f"- Best strategy by area under the learning curve (`metrics/summary.json`): "
            f"**{best}** (normalised AULC {aulc:.3f} vs {rand:.3f} for random{verdict})."
        )
    others = [n for n in params.active.strategies if n != "random" and f"{n}.aulc" in summary]
    if others:
        winners = [
            n
            for n in others
            if (p := adjusted_p(n)) is not None and p < alpha and summary[f"{n}.aulc"] > rand
        ]
        lines.append(
            f"- Strategies significantly better than random by AULC (Benjamini–Hochberg "
            f"adjusted p < {alpha:g}): **{', '.join(winners) if winners else 'none'}** "
            f"of {len(others)}."
        )
    return lines


def numbers_block(params: Params, root: Path = Path(".")) -> str:
    """Markdown with the headline numbers, computed from metrics/ and results/."""
    lines = []
    baseline_path = root / "metrics" / "baseline.json"
    if baseline_path.is_file():
        base = json.loads(baseline_path.read_text(encoding="utf-8"))
        acc = base["accuracy"]
        lines.append(
            f"- Full-pool baseline (`metrics/baseline.json`): test accuracy "
            f"**{_pct(acc['mean'])}** (95% interval {_pct(acc['low'])}–{_pct(acc['high'])}, "
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

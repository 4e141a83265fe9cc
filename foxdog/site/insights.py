"""What the Insights page states the results support, as data: each claim with its numbers.

Numbers come from ``metrics/analysis.json`` and the ``plots/``/``metrics/`` tables the
analysis writes; the sentences from :mod:`foxdog.analysis.narrative` (per photo source:
:mod:`foxdog.analysis.narrative_sources`). Nothing here tests
or chooses: means, intervals and verdicts are the analysis's, only read and put side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from foxdog.analysis import narrative, narrative_sources
from foxdog.site import fmt


def _starts(doc: Mapping[str, Any]) -> list[str]:
    return [str(s) for s in (doc.get("starts") or list(doc["regimes"]))]


def _reference(doc: Mapping[str, Any]) -> str:
    return str(doc["settings"].get("reference", "random"))


def _tests(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every (start, strategy ≠ random) paired AULC test, one per distinct arm."""
    out = []
    for start in _starts(doc):
        seen = set()
        for name, info in doc["regimes"][start]["strategies"].items():
            test = info.get("test_vs_random")
            arm = info.get("arm", name)
            if name == _reference(doc) or not test or arm in seen:
                continue
            seen.add(arm)
            if test.get("verdict") == "identical to random":
                continue
            out.append({"start": start, "strategy": name, **test})
    return out


def start_worth(doc: Mapping[str, Any], curves: pd.DataFrame) -> str:
    """Random sampling's AULC per start and its first-round accuracy, against any strategy."""
    ref = _reference(doc)
    starts = _starts(doc)
    aulc = {s: doc["regimes"][s]["strategies"][ref]["aulc"] for s in starts}
    acc = curves[(curves["metric"] == "accuracy") & (curves["strategy"] == ref)]
    first = {}
    labels = None
    for s in starts:
        part = acc[acc["start"] == s].sort_values("n_labels")
        if len(part):
            row = part.iloc[0]
            first[s] = {"mean": row["mean"], "low": row["low"], "high": row["high"]}
            labels = int(row["n_labels"])
    tests = _tests(doc)
    largest = max(tests, key=lambda t: abs(float(t["mean_difference"])), default=None)
    reference_start = str(doc["settings"].get("reference_start") or starts[0])
    ordered = {reference_start: aulc[reference_start], **aulc}
    facts = ((doc.get("facts") or {}).get("starting_model_vs_strategy") or {}).get("starts") or {}
    paired = {s: e["random_aulc_gain"] for s, e in facts.items() if e.get("random_aulc_gain")}
    return narrative.start_worth(reference_start, ordered, first, labels, largest, paired)


def per_source(doc: Mapping[str, Any]) -> str:
    """Where the full-pool models err most by photo source, per start, or why not measured."""
    found = (doc.get("facts") or {}).get("per_source") or {}
    return narrative_sources.per_source_words(found, _starts(doc))


def full_pool(doc: Mapping[str, Any]) -> str:
    """Full-pool accuracy per start and the paired difference from the reference start."""
    sm = doc.get("starting_model") or {}
    per = sm.get("starts") or {}
    accuracy = {s: {"mean": e["full_pool"]["accuracy"], **e["full_pool"]} for s, e in per.items()}
    vs = {s: e["full_pool_vs_reference"] for s, e in per.items() if e.get("full_pool_vs_reference")}
    if not accuracy:
        return ""
    return narrative.full_pool_words(str(sm.get("reference_start")), accuracy, vs)


def chance(doc: Mapping[str, Any], table: pd.DataFrame) -> str:
    """Intervals against random on the site that exclude zero, against chance's share.

    Counted over the AULC tests and every paired saving to a target (``metrics/strategies.csv``
    ``saving_vs_random_<k>_low/_high``), once per distinct arm.
    """
    lows = [t["low"] for t in _tests(doc)]
    highs = [t["high"] for t in _tests(doc)]
    arms = table[table["strategy"] == table["arm"]]
    arms = arms[arms["strategy"] != _reference(doc)]
    for col in [
        c for c in table.columns if c.startswith("saving_vs_random_") and c.endswith("_low")
    ]:
        lows += arms[col].tolist()
        highs += arms[col[: -len("_low")] + "_high"].tolist()
    pairs = [(lo, hi) for lo, hi in zip(lows, highs, strict=True) if narrative.finite(lo)]
    excluding = sum(narrative.saving_word(lo, hi) != narrative.NO_DIFFERENCE for lo, hi in pairs)
    return narrative.chance_words(len(pairs), excluding, float(doc["settings"]["confidence"]))


def ranking(doc: Mapping[str, Any]) -> str:
    """The spread of the arms' mean AULC per start against the width of their intervals."""
    ref = _reference(doc)
    spread, widths, ranks = {}, {}, {}
    n_arms = 0
    for start in _starts(doc):
        info = doc["regimes"][start]["strategies"]
        means = [float(i["aulc"]["mean"]) for i in info.values()]
        spread[start] = max(means) - min(means)
        tests = [t for t in _tests(doc) if t["start"] == start]
        widths[start] = float(np.median([t["high"] - t["low"] for t in tests])) if tests else 0.0
        order = list(doc["regimes"][start].get("ranking") or [])
        ranks[start] = order.index(ref) + 1 if ref in order else 0
        n_arms = max(n_arms, len(order))
    return narrative.ranking_words(spread, widths, ranks, n_arms)


def plateau(doc: Mapping[str, Any]) -> str:
    """Where random's curve ends against the full-pool accuracy, per start."""
    ref = _reference(doc)
    gaps = {}
    for start in _starts(doc):
        reg = doc["regimes"][start]
        info = reg["strategies"][ref]
        gaps[start] = {
            "gap": float(reg["baseline"]["accuracy"]) - float(info["final_accuracy"]["mean"]),
            "labels": int(info["final_labels"]),
        }
    return narrative.plateau_words(gaps, str(doc["settings"]["slope_threshold_words"]))


def stop(doc: Mapping[str, Any], curves: pd.DataFrame) -> str:
    """Whether each protocol's stopping rule could fire: its threshold against the highest
    window mean of κ its curves reach (each regime's own rule, ``regimes.<c>.settings``)."""
    rules: dict[tuple[float, int], list[str]] = {}
    for start in _starts(doc):
        own = doc["regimes"][start].get("settings") or doc["settings"]
        rules.setdefault((float(own["stop_kappa"]), int(own["stop_window"])), []).append(start)
    kappa = curves[curves["metric"] == "kappa_stop"].dropna(subset=["mean"])
    sentences = []
    for (threshold, window), starts in rules.items():
        best = 0.0
        mine = kappa[kappa["start"].isin(starts)] if "start" in kappa else kappa
        for _, part in mine.groupby(["start", "strategy"]):
            rolled = part.sort_values("round")["mean"].rolling(window).mean().max()
            best = max(best, float(rolled)) if np.isfinite(rolled) else best
        fired = any(
            (i.get("stop") or {}).get("labels") is not None
            for s in starts
            for i in doc["regimes"][s]["strategies"].values()
        )
        words = narrative.stop_words(best, threshold, window, fired)
        sentences.append(f"{fmt.join_words(starts)}: {words}" if len(rules) > 1 else words)
    return " ".join(sentences)


def early_late(doc: Mapping[str, Any], diff: pd.DataFrame) -> list[str]:
    """Per start, the arm furthest behind random at the first queried round, and at the end."""
    out = []
    for start in _starts(doc):
        part = diff[(diff["start"] == start) & (diff["round"] > 0)]
        if part.empty:
            continue
        first = part[part["round"] == part["round"].min()]
        worst = first.sort_values("mean_difference").iloc[0]
        if narrative.saving_word(worst["low"], worst["high"]) != narrative.COSTS:
            continue
        mine = part[part["strategy"] == worst["strategy"]].sort_values("round")
        late = mine.iloc[-1]
        out.append(
            narrative.early_late_words(
                str(worst["strategy"]), start, worst.to_dict(), late.to_dict()
            )
        )
    return out


def class_shares(
    doc: Mapping[str, Any], pool: Mapping[str, float], classes: Sequence[str]
) -> list[str]:
    """Each strategy that asks for a class measurably more often than the pool holds it."""
    ref = _reference(doc)
    out = []
    names = list(dict.fromkeys(n for s in _starts(doc) for n in doc["regimes"][s]["strategies"]))
    for name in [n for n in names if n != ref]:
        for cls in classes:
            asked, balanced, balanced_ref = {}, {}, {}
            for start in _starts(doc):
                info = doc["regimes"][start]["strategies"]
                share = (info.get(name) or {}).get("class_shares", {}).get(cls)
                if share and narrative.finite(share.get("low")) and share["low"] > pool[cls]:
                    asked[start] = share
                    balanced[start] = info[name]["final_balanced_accuracy"]
                    balanced_ref[start] = info[ref]["final_balanced_accuracy"]
            if len(asked) >= 2:
                out.append(
                    narrative.class_share_words(name, cls, pool[cls], asked, balanced, balanced_ref)
                )
    return out


def class_share_table(
    doc: Mapping[str, Any], pool: Mapping[str, float], classes: Sequence[str]
) -> pd.DataFrame:
    """Share of each class among each strategy's picks (with interval) beside the pool's."""
    rows = []
    for start in _starts(doc):
        for name, info in doc["regimes"][start]["strategies"].items():
            row: dict[str, Any] = {"start": start, "strategy": name}
            for cls in classes:
                share = (info.get("class_shares") or {}).get(cls) or {}
                row[cls] = (
                    f"{narrative.interval_text(share)} (pool {100 * pool[cls]:.0f}%)"
                    if share
                    else "–"
                )
            row["balanced"] = narrative.interval_text(info.get("final_balanced_accuracy") or {})
            rows.append(row)
    return pd.DataFrame(rows)


def trend(rows: pd.DataFrame) -> str:
    """One strategy's gap to random across a factor's levels (``metrics/ablations.csv`` rows)."""
    part = rows.sort_values("level")
    return narrative.trend_words(
        [f"{v:g}" for v in part["level"]],
        part["gain_at_budget"].tolist(),
        part["gain_at_budget_low"].tolist(),
        part["gain_at_budget_high"].tolist(),
        int(part["n_seeds"].min()),
    )


def strategy_constants() -> dict[str, float]:
    """Fixed constants of the strategies' code that the page names (not parameters)."""
    from foxdog.active import probcover, typiclust

    return {"typiclust_neighbours": typiclust.K_NEIGHBOURS, "probcover_alpha": probcover.ALPHA}

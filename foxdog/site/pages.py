"""What several report pages share, as data read from the analysis: regimes, targets, savings.

Each page's sections (``foxdog.site.<page>_page``, :mod:`foxdog.site.overview`) build on
these; files are read through :mod:`foxdog.site.inputs`, numbers formatted by
:mod:`foxdog.site.fmt`.

The study has a regime axis, the starting model (``active.starts``: ``scratch``,
``transfer``, ``selfsup``), and any number of classes (``data.classes``). What the
pages read from the analysis (``metrics/analysis.json``):

- ``classes``, ``starts``, ``settings``;
- ``regimes[<start>]``: one regime's analysis (``baseline``, ``targets``,
  ``target_reference``, ``arms``, ``tests``, ``verdict``, ``strategies``, ``ranking``);
- ``overview``: ``sentences`` (the analysis's two summary sentences; the Overview itself
  opens with :func:`foxdog.analysis.narrative.answer`, see :mod:`foxdog.site.overview`) and
  ``per_start[<start>]`` (the arm each regime's verdict names, its AULC difference with
  interval, adjusted p within the regime and over all regimes, and its paired saving);
- ``starting_model``: ``reference_start``, ``best_start``, ``best_start_vs_reference``,
  ``common_targets`` and ``starts[<start>]`` (``full_pool``, ``full_pool_vs_reference``,
  ``common_targets[<k>]`` with each strategy's labels and random's saving against the
  reference start);
- ``ablations``: ``start``, ``strategies``, ``factors``.

CSVs carry a leading ``start`` column (:func:`for_start` selects a regime); shares of
the queried images per class are ``share_<class>`` columns (strategies.csv) and curve
metrics (curves.csv). Class names come from analysis.json ``classes``, else
``curated/datasheet.json`` ``classes``, else ``params.yaml`` ``data.classes``
(:func:`class_names`); nothing here assumes two classes or their names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from foxdog.registry import START_INFO
from foxdog.site import inputs
from foxdog.site.fmt import (
    Formatter,
    integer,
    interval_text,
    is_missing,
    negated,
    pct,
    plural,
    pp,
)
from foxdog.site.inputs import optional_json, params


def wins_against(winloss: pd.DataFrame, strategy: str, opponent: str = "random") -> dict[str, int]:
    """``{"wins", "ties", "losses"}`` of ``strategy`` against ``opponent`` over paired seeds."""
    row = winloss[(winloss["strategy"] == strategy) & (winloss["opponent"] == opponent)]
    if row.empty:
        return {"wins": 0, "ties": 0, "losses": 0}
    return {k: int(row.iloc[0][k]) for k in ("wins", "ties", "losses")}


def identical_arms(regime_doc: Mapping[str, Any]) -> list[list[str]]:
    """Groups of two or more strategies that queried the same images in every run.

    The analysis's ``arms`` of the regime (one arm per distinct query sequence).
    """
    return [list(arm["members"]) for arm in regime_doc.get("arms", []) if len(arm["members"]) > 1]


def final_agreement(curves_frame: pd.DataFrame) -> pd.Series:
    """Mean κ between the last two rounds' predictions (stop set if recorded), per strategy."""
    metric = "kappa_stop" if (curves_frame["metric"] == "kappa_stop").any() else "kappa_prev"
    kappa = curves_frame[curves_frame["metric"] == metric].dropna(subset=["mean"])
    if kappa.empty:
        return pd.Series(dtype=float)
    last = kappa.loc[kappa.groupby("strategy")["round"].idxmax()]
    return last.set_index("strategy")["mean"].astype(float)


#: What each starting model is, in words (``foxdog.registry.START_INFO``).
START_WORDS = {s.name: s.description for s in START_INFO.values()}
#: Short names for tables and chart titles.
START_NAMES = {s.name: s.short_name for s in START_INFO.values()}


def start_name(start: str) -> str:
    """``"supervised transfer"`` for ``transfer``; unknown starts by their own name."""
    return START_NAMES.get(start, start)


def class_names(doc: Mapping[str, Any] | None = None) -> list[str]:
    """The class names in label order: analysis.json, else the datasheet, else params.yaml."""
    if doc and doc.get("classes"):
        return [str(c) for c in doc["classes"]]
    sheet = optional_json("curated", "datasheet.json")
    if sheet and sheet.get("classes"):
        return [str(c) for c in sheet["classes"]]
    return [str(c) for c in params().data.classes]


def starts(doc: Mapping[str, Any]) -> list[str]:
    """The regimes analysed, in ``active.starts`` order."""
    return [str(s) for s in (doc.get("starts") or list(doc.get("regimes", {})))]


def regime(doc: Mapping[str, Any], start: str) -> dict[str, Any]:
    """One regime's analysis; its ``settings`` default to the document's."""
    out = dict(doc["regimes"][start])
    out.setdefault("settings", doc.get("settings", {}))
    return out


def for_start(frame: pd.DataFrame, start: str) -> pd.DataFrame:
    """The rows of ``frame`` that belong to ``start`` (all rows when it has no ``start``)."""
    if "start" not in frame.columns:
        return frame
    return frame[frame["start"].astype(str) == start].reset_index(drop=True)


def natural(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows at a start's natural class balance (``condition == start``).

    Per-start charts and tables show the natural balance; the subsampled pools
    (``imagenet-fox05`` …) are on the Overview's decision map and budget control.
    """
    if "condition" not in frame.columns or "start" not in frame.columns:
        return frame
    return frame[frame["condition"].astype(str) == frame["start"].astype(str)].reset_index(
        drop=True
    )


def overview_sentences(doc: Mapping[str, Any]) -> list[str]:
    """The site's opening sentences as the analysis wrote them."""
    return [str(s) for s in (doc.get("overview") or {}).get("sentences") or []]


def class_of(label: Any, classes: Sequence[str]) -> str:
    """The name of integer label ``label`` (``label i = classes[i]``)."""
    k = int(label)
    return str(classes[k]) if 0 <= k < len(classes) else f"class {k}"


def pool_shares(labels: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    """Share of each class among ``labels`` (integer labels)."""
    labels = np.asarray(labels)
    n = max(len(labels), 1)
    return {str(c): float((labels == k).sum()) / n for k, c in enumerate(classes)}


def _reference(doc: Mapping[str, Any]) -> str:
    return str(doc.get("settings", {}).get("reference", "random"))


def saving_cell(
    saving: Mapping[str, Any] | None, reference: str = "random", span: Any = None
) -> str:
    """A paired saving against random in a few words: ``"60 [20, 100] over 8 seeds"``.

    ``span`` (labels from the first round to the last): an interval wider than that
    says nothing a reader can use, so it is named as such instead of printed.
    """
    saving = saving or {}
    status = saving.get("status")
    if status == "ok":
        return (
            f"{integer(saving['labels'])}{_bracket(saving, span=span)} over "
            f"{plural(saving.get('n_pairs', 0), 'seed')}"
        )
    return {
        "random_not_reached": f"{reference} never got there",
        "strategy_not_reached": f"never got there ({reference} did)",
        "neither_reached": "neither got there",
    }.get(str(status), "–")


def _bracket(value: Mapping[str, Any], fmt: Formatter = integer, span: Any = None) -> str:
    """`` [low, high]`` of an interval; nothing when it is missing (too few seeds).

    With ``span``, an interval wider than ``span`` labels is not printed but named.
    """
    if is_missing(value.get("low")) or is_missing(value.get("high")):
        return ""
    if not is_missing(span) and float(value["high"]) - float(value["low"]) > float(span):
        return f" (interval wider than the {integer(span)} labels the runs span)"
    return f" [{fmt(value['low'])}, {fmt(value['high'])}]"


def label_span(info: Mapping[str, Any] | None) -> int | None:
    """Labels between a strategy's first and last round (``label_range``), or ``None``."""
    bounds = (info or {}).get("label_range") or []
    if len(bounds) != 2 or any(is_missing(b) for b in bounds):
        return None
    return int(bounds[1]) - int(bounds[0])


def extra_labels_cell(saving: Mapping[str, Any], span: Any = None) -> str:
    """A negative saving as the labels a strategy needs *more*: ``"40 more [10, 70] over 8 seeds"``.

    The interval is the saving's, negated (its bounds swap); absent with one paired seed.
    """
    flipped = {"low": negated(saving.get("high")), "high": negated(saving.get("low"))}
    return (
        f"{integer(negated(saving.get('labels')))} more{_bracket(flipped, span=span)} over "
        f"{plural(saving.get('n_pairs', 0), 'seed')}"
    )


def starts_phrase(starts_: Sequence[str]) -> str:
    """``"the `scratch` starting model"`` for one start, ``"each of 3 starting models"`` else."""
    if len(starts_) == 1:
        return f"the `{starts_[0]}` starting model"
    return f"each of {plural(len(starts_), 'starting model')}"


def regime_summary(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per start: what the overview table shows, all read from the analysis.

    Columns: ``start``, ``full_pool`` (+ ``_low``/``_high``), ``random_final``,
    ``final_labels``, ``arm`` (the significant best arm, else the one closest to
    beating random: ``overview.per_start``, else the regime's verdict), ``significant``,
    ``verdict``, ``difference`` (+ ``_low``/``_high``: its paired AULC difference from
    random), ``p_adjusted`` (within the regime), ``p_adjusted_all`` (over every regime's
    arms), ``target`` (the share and accuracy the saving is measured at) and ``saving``.
    """
    per_start = (doc.get("overview") or {}).get("per_start") or {}
    rows = []
    for start in starts(doc):
        reg = regime(doc, start)
        reference = _reference(reg)
        info = reg.get("strategies", {})
        base = reg.get("baseline", {})
        ref = info.get(reference, {})
        summary = per_start.get(start) or reg.get("verdict", {})
        arm = summary.get("arm")
        member = (arm or "").split(" = ")[0] or None
        test = (info.get(member) or {}).get("test_vs_random") or {}
        saving = summary.get("saving") if start in per_start else None
        span = label_span(info.get(member))
        if start in per_start:
            target = f"{pct(saving['fraction'], 0)} ({pct(saving['accuracy'])})" if saving else "–"
            saving_text = saving_cell(dict(saving, status="ok"), reference, span) if saving else "–"
        else:  # no overview: the regime's declared target
            chosen = declared_target(doc, start) if reg.get("targets") and member else None
            key = str(chosen["key"]) if chosen else None
            found = info[member]["targets"][key].get("saving_vs_random") if key else None
            target = pct(chosen["fraction"], 0) if chosen else "–"
            saving_text = saving_cell(found, reference, span) if key else "–"
        rows.append(
            {
                "start": start,
                "full_pool": base.get("accuracy"),
                "full_pool_low": base.get("low"),
                "full_pool_high": base.get("high"),
                "random_final": (ref.get("final_accuracy") or {}).get("mean"),
                "final_labels": ref.get("final_labels"),
                "arm": arm,
                "significant": bool(summary.get("significant")),
                "verdict": test.get("verdict", "–") if member else "–",
                "difference": summary.get("mean_difference"),
                "difference_low": summary.get("low"),
                "difference_high": summary.get("high"),
                "p_adjusted": summary.get("p_adjusted"),
                "p_adjusted_all": summary.get("p_adjusted_all"),
                "target": target,
                "saving": saving_text,
            }
        )
    return pd.DataFrame(rows)


def starting_model(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``starting_model`` in the shape the pages use.

    ``reference`` and ``best`` (start names), ``accuracy[<start>]`` {mean, low, high,
    n_seeds} (full pool; each regime's ``baseline`` where the comparison is absent),
    ``difference[<start>]`` (its paired full-pool difference from the reference start),
    ``best_vs_reference`` and ``common_targets`` (a list; empty when absent).
    """
    sm = doc.get("starting_model") or {}
    per_start = sm.get("starts") or {}
    accuracy, difference = {}, {}
    for start in starts(doc):
        full = (per_start.get(start) or {}).get("full_pool")
        if full is None and "baseline" in doc["regimes"].get(start, {}):
            full = doc["regimes"][start]["baseline"]
        if full is not None:
            accuracy[start] = {
                "mean": full.get("accuracy"),
                "low": full.get("low"),
                "high": full.get("high"),
                "n_seeds": full.get("n_seeds"),
            }
        vs = (per_start.get(start) or {}).get("full_pool_vs_reference")
        if vs:
            difference[start] = vs
    best = sm.get("best_start")
    return {
        "reference": sm.get("reference_start") or doc.get("settings", {}).get("reference_start"),
        "best": best,
        "accuracy": accuracy,
        "difference": difference,
        "best_vs_reference": sm.get("best_start_vs_reference") or difference.get(best),
        "common_targets": list(sm.get("common_targets") or []),
        "starts": per_start,
    }


def starting_model_sentence(doc: Mapping[str, Any]) -> str:
    """What the best starting model is worth on the full pool against the reference (Markdown)."""
    sm = starting_model(doc)
    best, reference, acc = sm["best"], sm["reference"], sm["accuracy"]
    if not best or best not in acc:
        return ""
    level = pct(doc.get("settings", {}).get("confidence", 0.95), 0)
    name = "" if start_name(best) == best else f" ({start_name(best)})"
    text = (
        f"Trained on the whole pool, the starting model with the highest mean, **{best}**{name}, "
        "reaches "
        f"{interval_text(acc[best])} test accuracy"
    )
    if reference and reference != best and reference in acc:
        text += f", against {interval_text(acc[reference])} from {reference}"
        diff = sm["best_vs_reference"]
        if diff:
            text += f": a paired difference of {interval_text(diff, pp)}"
            if not is_missing(diff.get("low")):
                text += f" ({level} interval over {plural(diff.get('n_pairs', 0), 'seed')})"
    return text + "."


def common_targets(doc: Mapping[str, Any], strategy: str = "random") -> pd.DataFrame:
    """Labels ``strategy`` needs from each start to reach accuracies common to all regimes.

    One row per (common target, start) of ``starting_model``: ``key``, ``fraction``,
    ``accuracy`` (shares of the reference start's full-pool accuracy), ``start``,
    ``labels`` (median over seeds; NaN when half the seeds or more never get there),
    ``seeds_reached`` and ``saving`` (for random: labels needed from the reference start
    minus from this one, paired per seed, in words; ``–`` for the reference itself).
    """
    sm = starting_model(doc)
    rows = []
    for target in sm["common_targets"]:
        key = str(target["key"])
        for start in starts(doc):
            entry = ((sm["starts"].get(start) or {}).get("common_targets") or {}).get(key) or {}
            mine = (entry.get("strategies") or {}).get(strategy) or {}
            saving = entry.get("random_saving_vs_reference")
            reference_entry = (
                (sm["starts"].get(sm["reference"]) or {}).get("common_targets") or {}
            ).get(key) or {}
            theirs = ((reference_entry.get("strategies") or {}).get(strategy) or {}).get(
                "per_seed_labels"
            ) or {}
            # Seeds that reached the target from this start but never from the reference.
            only_here = sum(
                1
                for seed, n in (mine.get("per_seed_labels") or {}).items()
                if not is_missing(n) and is_missing(theirs.get(seed))
            )
            rows.append(
                {
                    "key": key,
                    "fraction": target["fraction"],
                    "accuracy": target["accuracy"],
                    "start": start,
                    "labels": mine.get("labels"),
                    "seeds_reached": mine.get("seeds_reached"),
                    "saving": _start_saving(saving, sm["reference"], start, only_here)
                    if saving
                    else "–",
                }
            )
    return pd.DataFrame(
        rows,
        columns=["key", "fraction", "accuracy", "start", "labels", "seeds_reached", "saving"],
    )


def _start_saving(
    saving: Mapping[str, Any], reference: str | None, start: str = "", only_here: int = 0
) -> str:
    """Random's paired saving against the reference start, in a few words.

    Seeds that got there from ``start`` only are named, not left out of the count.
    """
    status = saving.get("status")
    if status == "ok":
        n = int(saving.get("n_pairs", 0))
        text = (
            f"{integer(saving['labels'])}{_bracket(saving)} fewer than from {reference}, over "
            f"the {plural(n, 'seed')} where both got there"
        )
        if only_here:
            text += f"; {plural(only_here, 'more seed')} got there only from {start}"
        return text
    return {
        "reference_not_reached": f"{reference} never got there",
        "start_not_reached": f"never got there ({reference} did)",
        "neither_reached": "neither got there",
    }.get(str(status), "–")


def rankings(doc: Mapping[str, Any]) -> pd.DataFrame:
    """Rank (1 = largest mean AULC) of every strategy in every regime: one column per start."""
    ranks: dict[str, dict[str, int]] = {}
    for start in starts(doc):
        for k, s in enumerate(regime(doc, start).get("ranking", []), start=1):
            ranks.setdefault(s, {})[start] = k
    rows = [{"strategy": s, **r} for s, r in ranks.items()]
    return pd.DataFrame(rows, columns=["strategy", *starts(doc)])


def ranking_changes(doc: Mapping[str, Any]) -> bool:
    """Whether the order of the strategies by mean AULC differs between regimes.

    The analysis's ``overview.ranking_changes``. It is an order of means, not a test:
    the pages say so and quote each regime's verdict for what is significant.
    """
    return bool(doc["overview"]["ranking_changes"])


def declared_target(doc: Mapping[str, Any], start: str) -> dict[str, Any]:
    """The target a regime's saving is quoted at: the one the analysis chose for it.

    ``overview.per_start[start].saving.key`` (the regime's pre-declared rule), else the
    common target of ``overview.level``, else the regime's middle target.
    """
    targets = doc["regimes"][start]["targets"]
    overview = doc.get("overview") or {}
    chosen = ((overview.get("per_start") or {}).get(start) or {}).get("saving") or {}
    for key in (chosen.get("key"), (overview.get("level") or {}).get("key")):
        for t in targets:
            if key is not None and str(t["key"]) == str(key):
                return t
    return sorted(targets, key=lambda t: t["fraction"])[len(targets) // 2]


def labels_phrase(info: Mapping[str, Any], key: str) -> str:
    """``"140 labels"`` or ``"more than the 520 labels it was given"`` for one target."""
    target = info["targets"][key]
    if _reached(target):
        text = plural(target["labels"], "label")
        if "seeds_reached" in target:  # per-seed crossings: the median and who got there
            text += f" (median over seeds; {pct(target['seeds_reached'], 0)} of seeds got there)"
        return text
    return f"more than the {integer(info['final_labels'])} labels it was given"


def _reached(target: Mapping[str, Any]) -> bool:
    """The (median) curve reached the target within the budget."""
    return bool(target.get("reached", True)) and not is_missing(target.get("labels"))


def ablation_gains(ablations: pd.DataFrame, reference: str = "random") -> pd.DataFrame:
    """``metrics/ablations.csv`` plus ``gain``, ``gain_low``/``gain_high`` and ``final_reference``.

    ``gain`` is the paired accuracy difference from the reference at the factor's fixed
    label budget (``gain_at_budget``): levels of ``initial_size``/``query_size`` end at
    different budgets, so final accuracy and AULC are not comparable across them.
    """
    ref = ablations[ablations["strategy"] == reference][["factor", "level", "accuracy_at_budget"]]
    ref = ref.rename(columns={"accuracy_at_budget": "final_reference"})
    out = ablations.merge(ref, on=["factor", "level"], how="left")
    out = out.assign(
        gain=out["gain_at_budget"],
        gain_low=out["gain_at_budget_low"],
        gain_high=out["gain_at_budget_high"],
    )
    return out.sort_values(["factor", "level", "strategy"]).reset_index(drop=True)


def trend_word(values: Sequence[float], tolerance: float) -> str:
    """``"grows"``, ``"shrinks"`` or ``"stays about the same"`` from first to last value."""
    clean = [v for v in values if not is_missing(v)]
    if len(clean) < 2:
        return "cannot be compared"
    change = clean[-1] - clean[0]
    if abs(change) <= tolerance:
        return "stays about the same"
    return "grows" if change > 0 else "shrinks"


@dataclass(frozen=True)
class Study:
    """What the Experiments and Insights sections read: the analysis, its settings and the
    natural-balance tables (one read per call of :func:`study`)."""

    doc: dict[str, Any]
    starts: list[str]
    classes: list[str]
    settings: dict[str, Any]
    reference: str
    level: str
    curves: pd.DataFrame
    table: pd.DataFrame
    regimes: dict[str, dict[str, Any]]
    full: dict[str, float]  # each start's full-pool accuracy
    strategies: list[str]  # every strategy that ran in some regime (params order)

    @property
    def active(self) -> list[str]:
        """The strategies other than the reference."""
        return [s for s in self.strategies if s != self.reference]


def study() -> Study:
    """The analysis and natural-balance tables every Experiments/Insights section reads."""
    doc = inputs.analysis()
    starts_ = starts(doc)
    settings = doc["settings"]
    regimes = {s: regime(doc, s) for s in starts_}
    return Study(
        doc=doc,
        starts=starts_,
        classes=class_names(doc),
        settings=settings,
        reference=settings.get("reference", "random"),
        level=pct(settings["confidence"], 0),
        curves=natural(inputs.curves()),
        table=natural(inputs.read_csv("metrics", "strategies.csv")),
        regimes=regimes,
        full={s: regimes[s]["baseline"]["accuracy"] for s in starts_},
        strategies=list(dict.fromkeys(s for r in regimes.values() for s in r["strategies"])),
    )

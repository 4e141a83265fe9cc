"""Small loaders and formatters the report pages call.

The pages (``report/*.qmd``) only read result files; this module keeps that
reading in one place so the pages stay short: paths relative to the project
root (``$FOXDOG_PROJECT`` when the renderer sets it, else the working
directory), number formatting, and HTML snippets in which every piece of text
that comes from data (file names, breeds, sources, ids) is HTML-escaped.

The study has a regime axis, the starting model (``active.starts``: ``scratch``,
``transfer``, ``selfsup``), and any number of classes (``data.classes``). What the
pages read from the analysis (``metrics/analysis.json``):

- ``classes``, ``starts``, ``settings``;
- ``regimes[<start>]``: one regime's analysis (``baseline``, ``targets``,
  ``target_reference``, ``arms``, ``tests``, ``verdict``, ``strategies``, ``ranking``);
- ``overview``: ``sentences`` (the site's first two sentences, quoted verbatim) and
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

import base64
import html
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog.config import Params, load_params

Formatter = Callable[[Any], str]


# --------------------------------------------------------------------------- paths and loaders


def project_root() -> Path:
    """Where ``curated/``, ``metrics/``, ``results/`` and ``params.yaml`` live."""
    return Path(os.environ.get("FOXDOG_PROJECT", "."))


def path(*parts: str) -> Path:
    """A path under the project root."""
    return project_root().joinpath(*parts)


def _existing(*parts: str) -> Path:
    p = path(*parts)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: not found (run `dvc repro` before rendering the report)")
    return p


def read_json(*parts: str) -> Any:
    """Parse a JSON file under the project root (NaN allowed, as the analysis writes it)."""
    return json.loads(_existing(*parts).read_text(encoding="utf-8"))


def read_csv(*parts: str) -> pd.DataFrame:
    """Read a CSV under the project root."""
    return pd.read_csv(_existing(*parts))


def optional_json(*parts: str) -> Any | None:
    """Like :func:`read_json`, but ``None`` when the file is absent (an optional stage's output)."""
    return read_json(*parts) if path(*parts).is_file() else None


def optional_csv(*parts: str) -> pd.DataFrame | None:
    """Like :func:`read_csv`, but ``None`` when the file is absent (an optional stage's output)."""
    return read_csv(*parts) if path(*parts).is_file() else None


def params() -> Params:
    """The validated ``params.yaml`` the results were produced with."""
    return load_params(path("params.yaml"))


def strategy_rounds(start: str, strategy: str) -> pd.DataFrame:
    """``results/<start>/<strategy>/rounds.csv``."""
    return read_csv("results", start, strategy, "rounds.csv")


def strategy_queries(start: str, strategy: str) -> pd.DataFrame:
    """``results/<start>/<strategy>/queries.csv``."""
    return read_csv("results", start, strategy, "queries.csv")


def available_strategies(start: str, names: Iterable[str]) -> list[str]:
    """Those of ``names`` whose ``results/<start>/<name>/rounds.csv`` exists, in the given order."""
    return [n for n in names if path("results", start, n, "rounds.csv").is_file()]


# --------------------------------------------------------------------------- formatting


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


# --------------------------------------------------------------------------- HTML snippets


def html_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Formatter] | None = None,
    *,
    caption: str | None = None,
    numeric: Iterable[str] = (),
) -> str:
    """An escaped HTML table of ``frame``.

    ``columns`` maps column → header (and picks and orders them); ``formats``
    maps column → function returning display text; ``numeric`` columns are
    right-aligned (numbers are right-aligned by default too).
    """
    columns = dict(columns) if columns is not None else {c: c for c in frame.columns}
    formats = dict(formats or {})
    numeric = set(numeric) | {
        c for c in columns if c in frame and pd.api.types.is_numeric_dtype(frame[c])
    }
    out = ['<table class="fd-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    head = "".join(
        f"<th{' class=' + chr(34) + 'num' + chr(34) if c in numeric else ''}>{esc(h)}</th>"
        for c, h in columns.items()
    )
    out.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            value = row.get(c)
            if c in formats:
                text = formats[c](value)
            elif is_missing(value):
                text = "–"
            else:
                text = str(value)
            cls = ' class="num"' if c in numeric else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def png_data_uri(data: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes (pages carry their images inline)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def array_png(image: np.ndarray) -> bytes:
    """PNG bytes of one uint8 (H, W, 3) image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def image_file_html(relpath: str, alt: str, caption: str | None = None) -> str:
    """A ``<figure>`` with a project image embedded as a data URI (no file to copy)."""
    data = path(relpath).read_bytes()
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{png_data_uri(data)}" alt="{esc(alt)}">{cap}</figure>'


def thumbnails_html(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    classes: Sequence[str],
    titles: Sequence[str],
) -> str:
    """A grid of small images with captions; ``classes`` are CSS classes colouring the frame.

    Use :func:`class_css` for them: one colour per class index, whatever the class names.
    """
    figures = []
    for image, caption, cls, title in zip(images, captions, classes, titles, strict=True):
        figures.append(
            f'<figure><img class="{esc(cls)}" src="{png_data_uri(array_png(image))}" '
            f'alt="{esc(title)}" title="{esc(title)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    return '<div class="fd-gallery">' + "".join(figures) + "</div>"


# --------------------------------------------------------------------------- derived tables


def queried_examples(
    queries: pd.DataFrame,
    pool_ids: np.ndarray,
    *,
    rounds: Sequence[int],
    seed: int | None = None,
    per_round: int = 8,
) -> pd.DataFrame:
    """The first ``per_round`` picks (by rank) of one seed in each of ``rounds``.

    Adds ``index``: the row of each image in ``curated/pool_*.npy`` (ids that are
    not in the pool are dropped, so a stale results folder cannot crash the page).
    """
    if queries.empty:
        return queries.assign(index=pd.Series(dtype=int))
    if seed is None:
        seed = int(queries["seed"].min())
    chosen = queries[(queries["seed"] == seed) & (queries["round"].isin(list(rounds)))]
    chosen = chosen.sort_values(["round", "rank"]).groupby("round", sort=True).head(per_round)
    where = {str(i): k for k, i in enumerate(pool_ids.tolist())}
    chosen = chosen.assign(index=chosen["id"].astype(str).map(where))
    return chosen.dropna(subset=["index"]).astype({"index": int}).reset_index(drop=True)


# --------------------------------------------------------------------------- analysis outputs
# Column and key names are those documented in foxdog/analysis.py's docstring.


def analysis() -> dict[str, Any]:
    """``metrics/analysis.json``: the nested analysis document written for the report."""
    return read_json("metrics", "analysis.json")


def curves() -> pd.DataFrame:
    """``plots/curves.csv`` (long form: strategy, round, n_labels, metric, mean, low, high)."""
    return read_csv("plots", "curves.csv")


def all_queries(starts: Iterable[str], strategies: Iterable[str]) -> pd.DataFrame:
    """``queries.csv`` of every (start, strategy) that has one, concatenated with ``start``."""
    strategies = list(strategies)
    frames = [
        strategy_queries(start, s).assign(start=start)
        for start in starts
        for s in available_strategies(start, strategies)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def wins_against(winloss: pd.DataFrame, strategy: str, opponent: str = "random") -> dict[str, int]:
    """``{"wins", "ties", "losses"}`` of ``strategy`` against ``opponent`` over paired seeds."""
    row = winloss[(winloss["strategy"] == strategy) & (winloss["opponent"] == opponent)]
    if row.empty:
        return {"wins": 0, "ties": 0, "losses": 0}
    return {k: int(row.iloc[0][k]) for k in ("wins", "ties", "losses")}


def same_choices(queries: Mapping[str, pd.DataFrame]) -> list[list[str]]:
    """Groups of two or more strategies that queried the same images in every run.

    ``queries`` maps a strategy to its ``queries.csv``; order within a group follows it.
    """
    from foxdog.analysis import identical_arms

    return [g for g in identical_arms(queries) if len(g) > 1]


def final_agreement(curves_frame: pd.DataFrame) -> pd.Series:
    """Mean κ between the last two rounds' predictions (stop set if recorded), per strategy."""
    metric = "kappa_stop" if (curves_frame["metric"] == "kappa_stop").any() else "kappa_prev"
    kappa = curves_frame[curves_frame["metric"] == metric].dropna(subset=["mean"])
    if kappa.empty:
        return pd.Series(dtype=float)
    last = kappa.loc[kappa.groupby("strategy")["round"].idxmax()]
    return last.set_index("strategy")["mean"].astype(float)


# --------------------------------------------------------------------------- regimes and classes

#: What each starting model is (``foxdog.config.START_METHOD``: the encoder it loads).
START_WORDS = {
    "scratch": "from scratch: every weight starts from the seed's random initialisation",
    "transfer": (
        "supervised transfer: the convolutional trunk of a classifier pretrained on the "
        "pretraining corpus's classes (`pretrain@supervised`)"
    ),
    "selfsup": (
        "self-supervised: the trunk of a SimCLR encoder pretrained without labels on the "
        "corpus plus the pool's pixels (`pretrain@simclr`)"
    ),
}
#: Short names for tables and chart titles.
START_NAMES = {"scratch": "scratch", "transfer": "supervised transfer", "selfsup": "SimCLR"}


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


def overview_sentences(doc: Mapping[str, Any]) -> list[str]:
    """The site's opening sentences as the analysis wrote them."""
    return [str(s) for s in (doc.get("overview") or {}).get("sentences") or []]


def class_css(index: int) -> str:
    """CSS class that colours class ``index`` (``report/styles.css`` has eight colours)."""
    return f"fd-class-{int(index) % 8}"


def class_legend_html(classes: Sequence[str]) -> str:
    """``■ name`` per class, each square in its class colour."""
    items = [
        f'<span class="fd-swatch {class_css(k)}">■</span> {esc(name)}'
        for k, name in enumerate(classes)
    ]
    return '<span class="fd-legend">' + ", ".join(items) + "</span>"


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


def ablations_item(
    strategies: Sequence[str], factors: Sequence[str], start: str, levels: str
) -> str:
    """The Method page's ablation step: what re-ran, or that none did."""
    if not strategies or not factors:
        return "None ran in this study (`ablations.strategies` or `ablations.factors` is empty)."
    return (
        f"{join_words(list(strategies))} are re-run from the `{start}` starting model with one "
        f"factor of `ablations.factors` changed at a time: {levels}."
    )


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
        else:  # no overview: the regime's headline target
            key = str(headline_target(reg)["key"]) if reg.get("targets") and member else None
            found = info[member]["targets"][key].get("saving_vs_random") if key else None
            target = pct(headline_target(reg)["fraction"], 0) if key else "–"
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


def interval_text(value: Mapping[str, Any] | None, fmt: Formatter = pct) -> str:
    """``"81.2% [79.0%, 83.4%]"`` from ``{mean, low, high}``; no bracket without an interval."""
    value = value or {}
    mean = value.get("mean", value.get("mean_difference"))
    if is_missing(value.get("low")) or is_missing(value.get("high")):
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(value['low'])}, {fmt(value['high'])}]"


def starting_model_sentence(doc: Mapping[str, Any]) -> str:
    """What the best starting model is worth on the full pool against the reference (Markdown)."""
    sm = starting_model(doc)
    best, reference, acc = sm["best"], sm["reference"], sm["accuracy"]
    if not best or best not in acc:
        return ""
    level = pct(doc.get("settings", {}).get("confidence", 0.95), 0)
    name = "" if start_name(best) == best else f" ({start_name(best)})"
    text = (
        f"Trained on the whole pool, the best starting model, **{best}**{name}, reaches "
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
            rows.append(
                {
                    "key": key,
                    "fraction": target["fraction"],
                    "accuracy": target["accuracy"],
                    "start": start,
                    "labels": mine.get("labels"),
                    "seeds_reached": mine.get("seeds_reached"),
                    "saving": _start_saving(saving, sm["reference"]) if saving else "–",
                }
            )
    return pd.DataFrame(
        rows,
        columns=["key", "fraction", "accuracy", "start", "labels", "seeds_reached", "saving"],
    )


def _start_saving(saving: Mapping[str, Any], reference: str | None) -> str:
    """Random's paired saving against the reference start, in a few words."""
    status = saving.get("status")
    if status == "ok":
        return (
            f"{integer(saving['labels'])}{_bracket(saving)} fewer than from {reference}, over "
            f"{plural(saving.get('n_pairs', 0), 'seed')}"
        )
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

    The analysis's ``overview.ranking_changes`` when given. It is an order of means, not
    a test: the pages say so and quote each regime's verdict for what is significant.
    """
    given = (doc.get("overview") or {}).get("ranking_changes")
    if given is not None:
        return bool(given)
    orders = {tuple(regime(doc, s).get("ranking", [])) for s in starts(doc)}
    return len(orders) > 1


# --------------------------------------------------------------------------- narrative


def headline_target(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The target the overview quotes: 95% of full-pool accuracy if analysed, else the middle."""
    targets = doc["targets"]
    for t in targets:
        if abs(float(t["fraction"]) - 0.95) < 1e-9:
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


# --------------------------------------------------------------------------- method page

_TTA = re.compile(r"(?i)(test-time augmentation|\bTTA\b)")
_POINTS = re.compile(r"([+−-]\s?\d+(?:\.\d+)?)\s*(?:points?|pts?|pp)\b")


def tta_measurement(readme: str) -> str | None:
    """The flip test-time augmentation gain benchmarks/README.md records, e.g. ``+0.7 points``.

    The first line that names test-time augmentation (or TTA) together with a signed
    number of points; ``"... on the validation split"`` when that line says so. None when
    the README states no such number (the page then stays qualitative).
    """
    for line in readme.splitlines():
        if not _TTA.search(line):
            continue
        found = _POINTS.search(line)
        if found:
            gain = found.group(1).replace(" ", "").replace("-", "−") + " points"
            return gain + (" on the validation split" if "validation" in line.lower() else "")
    return None


# --------------------------------------------------------------------------- dataset page

SPLIT_NAMES = {"pool": "pool", "val": "validation", "test": "test"}


def split_table(by_split: Mapping[str, Mapping[str, int]], classes: Sequence[str]) -> pd.DataFrame:
    """One row per split (pool, validation, test, then any other): images per class and in all."""
    order = [s for s in SPLIT_NAMES if s in by_split] + sorted(set(by_split) - set(SPLIT_NAMES))
    rows = []
    for name in order:
        row: dict[str, Any] = {"split": SPLIT_NAMES.get(name, name)}
        row.update({str(c): int(by_split[name].get(c, 0)) for c in classes})
        row["images"] = sum(int(v) for v in by_split[name].values())
        rows.append(row)
    return pd.DataFrame(rows, columns=["split", *[str(c) for c in classes], "images"])


def leakage_sentence(overlap: Mapping[str, Any], starts_: Sequence[str] | None = None) -> str:
    """What ``curated_pretrain/overlap.json`` found, in one sentence (Markdown).

    Near-duplicates found are dropped from the corpus, so finding some is not a failure;
    with ``starts_`` (``active.starts``) that use no pretrained encoder, the check is
    described as not concerning this study.
    """
    found = int(overlap.get("near_duplicates", 0))
    closest = overlap.get("min_distance")
    bits = int(overlap.get("hash_size", 0)) ** 2
    closest_words = (
        f"the closest pair is {plural(closest, 'bit')} apart"
        if closest is not None
        else "no pair was compared"
    )
    dropped = "those corpus images dropped" if found else "passed"
    verdict = (
        "not used by this study" if starts_ is not None and not uses_corpus(starts_) else dropped
    )
    prefix = (
        f"No starting model of this study ({join_words(list(starts_))}) was pretrained on the "
        "corpus, so nothing here affects its results. "
        if verdict == "not used by this study"
        else ""
    )
    return (
        prefix
        + (
            f"Leakage check ({verdict}): the {bits}-bit perceptual hash of every one of the "
            f"{integer(overlap.get('corpus_images'))} corpus images was compared with every one "
            f"of the {integer(overlap.get('foxdog_images'))} curated images of the study; "
            f"{plural(found, 'near-duplicate')} within the threshold of Hamming distance "
            f"≤ {overlap.get('max_hash_distance')} ({closest_words}). "
            + ("Those corpus images were dropped." if found else "")
        ).strip()
    )


def uses_corpus(starts_: Sequence[str]) -> bool:
    """Whether any start fine-tunes an encoder pretrained on the corpus."""
    return any(s != "scratch" for s in starts_)


#: WordNet ids of ImageNet's dog, wolf, wild-dog and fox classes (n02085620 Chihuahua …
#: n02120505 grey fox): the range pretrain-raw/PROVENANCE.md says the corpus leaves out.
CANINE_WNIDS = ("n02085000", "n02120999")


def canine_classes(wnids: Iterable[str]) -> list[str]:
    """The ``wnids`` inside :data:`CANINE_WNIDS`: classes that are dogs, wolves or foxes."""
    low, high = CANINE_WNIDS
    return sorted(w for w in wnids if low <= str(w) <= high)

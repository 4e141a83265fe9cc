"""Refuse result files the analysis cannot trust, in one line naming the file and the fault.

``rounds.csv`` and ``queries.csv`` are small CSVs a user can damage (an editor, a
cut copy, results copied from another study). Read as they are, such files change
the published statistics without a word: a line cut mid-way drops a seed, an
``n/a`` becomes NaN, a duplicated row weighs a seed twice, a file from another
protocol is analysed as this one. The functions here check a file against the
protocol the stage was run with (:class:`Expected`, built from ``params.yaml``) and
raise :class:`ResultsError` (a ``ValueError``: the command line prints it as one
``foxdog: ...`` line) at the first fault.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog import paths
from foxdog.config import Params
from foxdog.metrics import METRICS
from foxdog.registry import FEATURE_STARTS, parse_condition

#: Columns whose every cell must be a finite number.
FINITE_COLUMNS = ("seed", "round", "n_labels", *METRICS)
#: Columns that may be empty (NaN) but, when filled, must be numbers.
OPTIONAL_NUMBERS = ("val_accuracy", "kappa_stop", "noisy_labels", "fit_seconds", "query_seconds")
#: Metrics that are shares, so must lie in [0, 1].
UNIT_INTERVAL = ("accuracy", "balanced_accuracy", "macro_f1", "ece", "val_accuracy")
PROTOCOL = ("initial_size", "query_size", "label_noise")
#: ``results/baseline/<condition>/test_predictions.csv``: these, then ``p_<class>`` per class.
PREDICTION_COLUMNS = ("id", "label", "seed", "pred")
PROBABILITY_PREFIX = "p_"


class ResultsError(ValueError):
    """A result file does not hold what its stage should have written."""


@dataclass(frozen=True)
class Expected:
    """What one stage's ``rounds.csv`` must hold: every seed x round of every protocol, once."""

    start: str
    strategy: str
    seeds: tuple[int, ...]
    rounds: int
    #: (initial_size, query_size, label_noise) of each protocol (one, or one per ablation level)
    protocols: tuple[tuple[int, int, float], ...]
    stage: str

    def describe(self) -> str:
        """The protocol in the words of ``params.yaml``, for messages."""
        sizes = ", ".join(
            f"initial_size={i} query_size={q} label_noise={n:g}" for i, q, n in self.protocols
        )
        return f"seeds {list(self.seeds)}, rounds 0-{self.rounds}, {sizes}"


def expected_arm(params: Params, condition: str, strategy: str) -> Expected:
    """The protocol of the stage that writes ``results/<condition>/<strategy>``."""
    start = parse_condition(condition, params.data.classes).start
    p = params.protocol(start)
    stage = "al_head" if start in FEATURE_STARTS else "al"
    noise = float(params.active.label_noise)  # every condition's oracle (specs_for)
    return Expected(
        start, strategy, tuple(p.seeds), p.rounds,
        ((p.initial_size, p.query_size, noise),), f"{stage}@{condition}-{strategy}",
    )  # fmt: skip


def expected_ablation(params: Params, factor: str, strategy: str) -> Expected:
    """The protocol of stage ``ablate@<factor>-<strategy>``: one per non-default level."""
    a, ab = params.active, params.ablations
    base = {
        "initial_size": a.initial_size,
        "query_size": a.query_size,
        "label_noise": a.label_noise,
    }
    protocols = tuple(
        (int(p["initial_size"]), int(p["query_size"]), float(p["label_noise"]))
        for p in ({**base, factor: level} for level in getattr(ab, factor))
    )
    return Expected(
        ab.start, strategy, tuple(ab.seeds), a.rounds, protocols, f"ablate@{factor}-{strategy}"
    )


def _fail(path: Path, what: str, stage: str) -> ResultsError:
    return ResultsError(f"{path}: {what}; re-run `dvc repro {stage}`")


def check_csv_shape(path: Path, stage: str) -> None:
    """Every line has as many fields as the header and the file ends with a newline.

    A copy cut mid-line still parses (the missing cells become NaN, a cut number a
    smaller one), so the shape is checked on the text itself.
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        raise _fail(path, "the last line is cut off (no line end)", stage)
    rows = list(csv.reader(text.splitlines()))
    width = len(rows[0]) if rows else 0
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise _fail(path, f"line {number} has {len(row)} fields, the header {width}", stage)


def _numbers(raw: pd.DataFrame, column: str, path: Path, stage: str, finite: bool) -> pd.Series:
    # ``raw`` holds the cells as written (no NA parsing): "n/a" must be named, not read as NaN.
    cells = raw[column].astype(str).str.strip()
    values = pd.to_numeric(cells.where(cells != ""), errors="coerce")
    bad = values.isna() & ((cells != "") | finite)
    if finite:
        bad |= ~np.isfinite(values.fillna(np.inf))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        shown = "empty" if cells.iloc[row] == "" else repr(cells.iloc[row])
        raise _fail(path, f"line {row + 2}: {column} is {shown}, not a number", stage)
    return values


def _raw(path: Path, stage: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise _fail(path, f"not a readable CSV ({str(err).splitlines()[0]})", stage) from None


def check_rounds(path: Path, expected: Expected) -> None:
    """Raise :class:`ResultsError` unless the ``rounds.csv`` at ``path`` is the run ``expected``.

    The file is re-read as text cells, so a damaged cell is named as written.
    """
    path, stage = Path(path), expected.stage
    check_csv_shape(path, stage)
    raw = _raw(path, stage)
    missing = [c for c in (*FINITE_COLUMNS, *PROTOCOL) if c not in raw.columns]
    if missing:
        raise _fail(path, f"missing column {missing[0]!r}", stage)
    v = {c: _numbers(raw, c, path, stage, finite=True) for c in (*FINITE_COLUMNS, *PROTOCOL)}
    for column in OPTIONAL_NUMBERS:
        if column in raw.columns:
            v[column] = _numbers(raw, column, path, stage, finite=False)
    for column in ("start", "strategy"):
        want = getattr(expected, column)
        if column in raw.columns and (found := set(raw[column]) - {want}):
            raise _fail(path, f"{column} {sorted(found)[0]!r} in the results of {want!r}", stage)

    def first(mask: pd.Series) -> int:
        return int(np.flatnonzero(mask.to_numpy())[0])

    protocols = list(zip(v["initial_size"], v["query_size"], v["label_noise"], strict=True))
    allowed = {(int(i), int(q), round(float(n), 9)) for i, q, n in expected.protocols}
    for row, (i, q, n) in enumerate(protocols):
        if (int(i), int(q), round(float(n), 9)) not in allowed:
            raise _fail(
                path,
                f"line {row + 2}: initial_size={i:g} query_size={q:g} label_noise={n:g}, but the "
                f"stage was run with {expected.describe()} (results of another protocol?)",
                stage,
            )
    for column in UNIT_INTERVAL:
        if column in v and (out := (v[column] < 0) | (v[column] > 1)).any():
            row = first(out)
            raise _fail(
                path, f"line {row + 2}: {column} {v[column].iloc[row]:g} outside [0, 1]", stage
            )
    for column in ("log_loss", "fit_seconds", "query_seconds", "noisy_labels"):
        if column in v and (out := v[column] < 0).any():
            row = first(out)
            raise _fail(
                path, f"line {row + 2}: {column} {v[column].iloc[row]:g} is negative", stage
            )
    if "kappa_stop" in v and (out := v["kappa_stop"].abs() > 1).any():
        row = first(out)
        raise _fail(
            path, f"line {row + 2}: kappa_stop {v['kappa_stop'].iloc[row]:g} outside [-1, 1]", stage
        )
    want_labels = v["initial_size"] + v["round"] * v["query_size"]
    if (out := v["n_labels"] != want_labels).any():
        row = first(out)
        raise _fail(
            path,
            f"line {row + 2}: n_labels {v['n_labels'].iloc[row]:g} at round "
            f"{v['round'].iloc[row]:g}, not initial_size + round x query_size = "
            f"{want_labels.iloc[row]:g}",
            stage,
        )
    _check_grid(v, expected, path)


def _check_grid(v: Mapping[str, pd.Series], expected: Expected, path: Path) -> None:
    # Every (protocol, seed, round) exactly once: no seed lost, none counted twice.
    stage = expected.stage
    keys = pd.DataFrame(
        {
            "i": v["initial_size"].astype(int),
            "q": v["query_size"].astype(int),
            "n": v["label_noise"].round(9),
            "seed": v["seed"],
            "round": v["round"],
        }
    )
    counts = keys.value_counts()
    if (counts > 1).any():
        (_, _, _, seed, rnd), n = next(iter(counts[counts > 1].items()))
        raise _fail(path, f"seed {seed:g} round {rnd:g} appears {n} times (duplicated rows)", stage)
    extra = sorted(set(keys["seed"]) - set(expected.seeds))
    if extra:
        raise _fail(
            path, f"seed {extra[0]:g} is not one of the stage's seeds {list(expected.seeds)}", stage
        )
    present = set(keys.itertuples(index=False, name=None))
    for i, q, n in expected.protocols:
        for seed in expected.seeds:
            gone = [
                r for r in range(expected.rounds + 1) if (i, q, round(n, 9), seed, r) not in present
            ]
            if len(gone) == expected.rounds + 1:
                raise _fail(
                    path, f"seed {seed} has no rows (expected seeds {list(expected.seeds)})", stage
                )
            if gone:
                raise _fail(
                    path,
                    f"seed {seed} lacks round {gone[0]} (expected rounds 0-{expected.rounds})",
                    stage,
                )
    beyond = keys["round"] > expected.rounds
    if beyond.any():
        raise _fail(
            path, f"round {keys['round'][beyond].iloc[0]:g} beyond rounds={expected.rounds}", stage
        )


def check_queries(path: Path, expected: Expected) -> pd.DataFrame:
    """Read ``queries.csv`` beside a ``rounds.csv`` whose class shares are reported.

    Missing, cut or without a seed of the stage: :class:`ResultsError`.
    """
    path, stage = Path(path), expected.stage
    if not path.is_file():
        raise _fail(path, "not found (the class shares of the queried images need it)", stage)
    check_csv_shape(path, stage)
    raw = _raw(path, stage)
    for column in ("seed", "round", "id", "true_label"):
        if column not in raw.columns:
            raise _fail(path, f"missing column {column!r}", stage)
    seeds = set(_numbers(raw, "seed", path, stage, finite=True))
    if expected.rounds > 0 and (gone := [s for s in expected.seeds if s not in seeds]):
        raise _fail(path, f"seed {gone[0]} has no queries", stage)
    return pd.read_csv(path)


def check_test_predictions(
    path: Path, classes: Sequence[str], seeds: Sequence[int], test: pd.Series, stage: str
) -> pd.DataFrame:
    """Read a baseline stage's ``test_predictions.csv``; :class:`ResultsError` unless whole.

    Whole: the columns ``id, label, seed, pred, p_<class>…`` (``docs/formats.md``), a number
    in every cell that needs one, ``label`` and ``pred`` class indices of ``classes``,
    probabilities in [0, 1], every seed of ``seeds`` and no other, and each seed predicting
    every image of ``test`` (the curated test split: id -> label) once, with its label.
    The caller checks that the file exists.
    """
    path = Path(path)
    check_csv_shape(path, stage)
    raw = _raw(path, stage)
    probabilities = [PROBABILITY_PREFIX + c for c in classes]
    for column in (*PREDICTION_COLUMNS, *probabilities):
        if column not in raw.columns:
            raise _fail(path, f"missing column {column!r}", stage)
    if raw.empty:
        raise _fail(path, "no rows", stage)
    v = {
        c: _numbers(raw, c, path, stage, finite=True)
        for c in (*PREDICTION_COLUMNS[1:], *probabilities)
    }
    for column in ("label", "pred"):
        if (out := ~v[column].isin(range(len(classes)))).any():
            row = int(np.flatnonzero(out.to_numpy())[0])
            raise _fail(
                path,
                f"line {row + 2}: {column} {raw[column].iloc[row]!r} is not a class index of "
                f"data.classes={list(classes)!r}",
                stage,
            )
    for column in probabilities:
        if (out := (v[column] < 0) | (v[column] > 1)).any():
            row = int(np.flatnonzero(out.to_numpy())[0])
            raise _fail(
                path, f"line {row + 2}: {column} {v[column].iloc[row]:g} outside [0, 1]", stage
            )
    keys = pd.DataFrame({"seed": v["seed"].astype(int), "id": raw["id"]})
    if (twice := keys.duplicated()).any():
        row = int(np.flatnonzero(twice.to_numpy())[0])
        raise _fail(
            path,
            f"line {row + 2}: seed {keys['seed'].iloc[row]} predicts {keys['id'].iloc[row]} twice",
            stage,
        )
    if extra := sorted(set(keys["seed"]) - set(seeds)):
        raise _fail(path, f"seed {extra[0]} is not one of the stage's seeds {list(seeds)}", stage)
    unknown = ~raw["id"].isin(test.index)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise _fail(
            path, f"line {row + 2}: id {raw['id'].iloc[row]} is not a curated test image", stage
        )
    counts = keys["seed"].value_counts()
    for seed in seeds:
        if counts.get(seed, 0) != len(test):
            raise _fail(
                path,
                f"seed {seed} predicts {counts.get(seed, 0)} of the {len(test)} curated test "
                "images",
                stage,
            )
    wrong = v["label"].to_numpy() != test.loc[raw["id"]].to_numpy()
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise _fail(
            path,
            f"line {row + 2}: label {raw['label'].iloc[row]} of {raw['id'].iloc[row]} differs from "
            "the curated test label",
            stage,
        )
    return pd.DataFrame({"id": raw["id"], **{c: v[c] for c in v}}).astype(
        {"label": int, "seed": int, "pred": int}
    )


def check_listed_arms(arms: Iterable[tuple[str, str]], results_dir: Path, source: Path) -> None:
    """Every ``(start, strategy)`` that ``source`` (``analysis.json``) lists has results."""
    for start, strategy in arms:
        rounds = paths.rounds_csv(paths.strategy_dir(results_dir, start, strategy))
        if not rounds.is_file():
            raise ResultsError(
                f"{rounds}: not found, but {source} lists {start}/{strategy}; "
                f"re-run `dvc repro al@{start}-{strategy} analyze`"
            )


def listed_arms(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(start, strategy)`` arms an ``analysis.json`` document reports."""
    regimes = document.get("regimes", {})
    return [
        (start, strategy)
        for start in document.get("starts", [])
        for strategy in regimes.get(start, {}).get("strategies", {})
    ]


def check_report_inputs(project: Path) -> None:
    """Before ``foxdog report``: every arm ``metrics/analysis.json`` lists has its results.

    The pages show what they find, so an arm whose folder went missing would vanish from
    the site without a word; no ``analysis.json`` (a site without an analysis) passes.
    """
    source = paths.analysis_json(Path(project) / paths.METRICS)
    if not source.is_file():
        return
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ResultsError(
            f"{source}: not readable JSON ({err}); re-run `dvc repro analyze`"
        ) from None
    check_listed_arms(listed_arms(document), Path(project) / paths.RESULTS, source)

"""Accuracy per photo source (foxdog/analysis/sources.py, narrative_sources.py) on hand-made data.

A test split of three groups — source ``a`` dogs (20) and foxes (20), source ``b`` foxes
(10) — and predictions of three seeds written by hand: the analysis must find what was
built in, and refuse a damaged predictions file in one line naming it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog import paths
from foxdog.analysis.narrative_sources import per_source_words
from foxdog.analysis.sources import per_source
from foxdog.analysis.stats import wilson
from foxdog.analysis.validate import ResultsError
from foxdog.config import load_params, params_with
from foxdog.stages import analyze

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import make_project  # noqa: E402

SEEDS = (0, 1, 2)
GROUPS = (("a", 0, 20), ("a", 1, 20), ("b", 1, 10))  # source, label, images


def manifest(curated: Path) -> pd.DataFrame:
    """``curated/manifest.csv`` with a few pool rows and the test split of ``GROUPS``."""
    rows = [{"id": f"p{i:03d}", "label": i % 2, "source": "a", "split": "pool"} for i in range(4)]
    for source, label, n in GROUPS:
        rows += [
            {"id": f"{source}{label}{i:02d}", "label": label, "source": source, "split": "test"}
            for i in range(n)
        ]
    frame = pd.DataFrame(rows)
    curated.mkdir(parents=True, exist_ok=True)
    frame.to_csv(curated / "manifest.csv", index=False)
    return frame[frame["split"] == "test"].reset_index(drop=True)


def predictions(test: pd.DataFrame, wrong) -> pd.DataFrame:
    """Every seed x test image; ``wrong(seed, row)`` says which predictions miss."""
    rows = []
    for seed in SEEDS:
        for row in test.itertuples(index=False):
            pred = 1 - row.label if wrong(seed, row) else row.label
            p_fox = 0.9 if pred == 1 else 0.1
            rows.append(
                {
                    "id": row.id,
                    "label": row.label,
                    "seed": seed,
                    "pred": pred,
                    "p_dog": round(1 - p_fox, 4),
                    "p_fox": p_fox,
                }
            )
    return pd.DataFrame(rows)


def b_fox_all_wrong(seed: int, row) -> bool:
    """Source b's foxes are all wrong; seed 0 also misses the first two dogs of a."""
    return row.source == "b" or (seed == 0 and row.id in ("a000", "a001"))


@pytest.fixture
def study(tmp_path: Path):
    params = params_with({"baseline": {"seeds": list(SEEDS)}})
    test = manifest(tmp_path / "curated")
    path = paths.baseline_predictions("scratch", tmp_path / "results")
    path.parent.mkdir(parents=True)
    predictions(test, b_fox_all_wrong).to_csv(path, index=False)
    return params, tmp_path, path


def measure(params, root: Path):
    return per_source(params, root / "results", root / "curated", ["scratch"])


def test_a_source_every_seed_gets_wrong_is_the_worst_with_an_honest_interval(study) -> None:
    params, root, _ = study
    table, fact = measure(params, root)
    assert fact["available"] is True and fact["missing"] == {}
    rows = table.set_index(["source", "class"])
    assert list(rows.index) == [("a", "dog"), ("a", "fox"), ("b", "fox")]
    assert list(rows["n"]) == [20, 20, 10] and set(rows["n_seeds"]) == {3}
    # a's dogs: seed 0 misses 2 of 20, the others none; mean over seeds = (18 + 20 + 20) / 60.
    dog = rows.loc[("a", "dog")]
    assert dog["accuracy"] == pytest.approx(58 / 60)
    assert (dog["seed_min"], dog["seed_max"]) == (0.9, 1.0)
    assert dog["low"] < dog["accuracy"] < dog["high"] <= 1.0
    fox = rows.loc[("b", "fox")]
    # All wrong: the interval does not collapse to the point 0 (a t-interval would).
    assert fox["accuracy"] == 0.0 and fox["low"] == 0.0
    assert fox["high"] == pytest.approx(wilson(0, 10, 0.95)[1]) and fox["high"] > 0.2
    summary = fact["conditions"]["scratch"]
    worst = summary["worst"]
    assert (worst["source"], worst["class"]) == ("b", "fox")
    assert summary["below_rest"] is True
    assert worst["image_share"] == pytest.approx(10 / 50)
    # Errors: 10 images always wrong, 2 wrong in one seed of three.
    assert worst["error_share"] == pytest.approx(10 / (10 + 2 / 3))
    assert summary["overall"]["n"] == 50
    assert summary["overall"]["accuracy"] == pytest.approx((58 / 60 * 20 + 20) / 50)
    assert summary["rest"]["n"] == 40


def test_the_interval_follows_analysis_confidence(study) -> None:
    params, root, _ = study
    wide = measure(params, root)[0].set_index("source").loc["a"].iloc[0]
    narrow_params = params_with(
        {"baseline": {"seeds": list(SEEDS)},
         "analysis": {"confidence": 0.8}}
    )  # fmt: skip
    narrow = measure(narrow_params, root)[0].set_index("source").loc["a"].iloc[0]
    assert narrow["high"] - narrow["low"] < wide["high"] - wide["low"]


def test_no_predictions_file_makes_the_fact_unavailable_with_its_reason(study) -> None:
    params, root, path = study
    path.unlink()
    shutil.rmtree(root / "curated")  # not read when there is nothing to measure
    table, fact = measure(params, root)
    assert table.empty and list(table.columns)[:4] == ["condition", "start", "source", "class"]
    assert fact["available"] is False
    assert str(path) in fact["reason"] and "dvc repro baseline@scratch" in fact["reason"]
    words = per_source_words(fact)
    assert words.startswith("Accuracy per photo source is not measured yet: ")
    assert str(path) in words


def damage(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (lambda p: damage(p, ",p_fox", ",p_cat"), "missing column 'p_fox'"),
        (lambda p: damage(p, "a000,0,0,1", "a000,0,0,n/a"), "line 2: pred is 'n/a', not a number"),
        (lambda p: damage(p, "a000,0,0,1", "a000,0,0,2"), "line 2: pred '2' is not a class index"),
        (lambda p: damage(p, "a000,0,0,1,0.1,0.9", "a000,0,0,1,0.1,1.9"), "p_fox 1.9 outside"),
        (lambda p: damage(p, "a000,0,1,", "a001,0,1,"), "seed 1 predicts a001 twice"),
        (lambda p: damage(p, "a000,0,0,", "zzz,0,0,"), "line 2: id zzz is not a curated test"),
        (lambda p: damage(p, "a000,0,0,", "a000,1,0,"), "label 1 of a000 differs"),
        (lambda p: damage(p, "a000,0,2,", "a000,0,7,"), "seed 7 is not one of the stage's seeds"),
        (lambda p: p.write_text(p.read_text()[:-3]), "the last line is cut off"),
        (
            lambda p: p.write_text("\n".join(p.read_text().splitlines()[:-1]) + "\n"),
            "seed 2 predicts 49 of the 50 curated test images",
        ),
    ],
)
def test_a_damaged_predictions_file_is_refused_in_one_line_naming_it(study, fault, message) -> None:
    params, root, path = study
    fault(path)
    with pytest.raises(ResultsError) as err:
        measure(params, root)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: ")
    assert message in text and text.endswith("re-run `dvc repro baseline@scratch`")


def test_predictions_without_the_manifest_are_an_error_naming_it(study) -> None:
    params, root, _ = study
    (root / "curated" / "manifest.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"curated/manifest.csv: not found"):
        measure(params, root)


# --- the sentence -------------------------------------------------------------------


def fact_of(worst: dict[str, dict], below: dict[str, bool], missing=()) -> dict:
    """A ``facts.per_source`` with one worst group per condition, as the analysis writes it."""
    conditions = {
        c: {
            "worst": {"n": 51, "image_share": 0.07, "error_share": share, **w},
            "overall": {"n": 722, "accuracy": 0.8, "low": 0.77, "high": 0.83},
            "rest": {"n": 671, "accuracy": 0.82, "low": 0.79, "high": 0.85},
            "below_rest": below[c],
        }
        for (c, w), share in zip(worst.items(), (0.3, 0.4, 0.35), strict=False)
    }
    return {
        "available": True,
        "confidence": 0.95,
        "conditions": conditions,
        "missing": {m: "not found" for m in missing},
    }


def group(source: str, cls: str, acc: float, low: float, high: float) -> dict:
    return {"source": source, "class": cls, "accuracy": acc, "low": low, "high": high}


def test_the_sentence_says_the_errors_concentrate_only_where_the_interval_shows_it() -> None:
    same = {
        "scratch": group("awa2", "fox", 0.47, 0.38, 0.56),
        "transfer": group("awa2", "fox", 0.65, 0.56, 0.73),
    }
    both = per_source_words(fact_of(same, {"scratch": True, "transfer": True}))
    assert both.startswith("The full-pool models' errors concentrate on fox photos from awa2: ")
    assert (
        "47.0% [38.0%, 56.0%] in scratch (whole test split 80.0%), "
        "65.0% [56.0%, 73.0%] in transfer (whole test split 80.0%)"
    ) in both
    assert "they are 7% of the test images and 30–40% of the errors" in both
    assert "(measurably below the rest of the test split in each; 95% Wilson" in both
    neither = per_source_words(fact_of(same, {"scratch": False, "transfer": False}))
    assert neither.startswith("The full-pool models are least accurate on fox photos from awa2")
    assert "concentrate" not in neither
    assert "(not measurably below the rest of the test split;" in neither
    mixed = per_source_words(fact_of(same, {"scratch": True, "transfer": False}))
    assert "concentrate" in mixed
    assert "measurably below the rest of the test split in scratch, not in transfer" in mixed


def test_the_sentence_names_each_starts_weakest_group_when_they_differ() -> None:
    apart = {
        "scratch": group("randomfox", "fox", 0.6, 0.5, 0.7),
        "transfer": group("awa2", "dog", 0.7, 0.6, 0.8),
    }
    text = per_source_words(fact_of(apart, {"scratch": True, "transfer": True}))
    assert text.startswith("The full-pool models' weakest photos differ by start: ")
    assert "fox photos from randomfox in scratch (60.0% [50.0%, 70.0%]; whole test split" in text
    assert "dog photos from awa2 in transfer (70.0% [60.0%, 80.0%]; whole test split 80" in text


def test_the_sentence_names_starts_without_predictions_and_old_documents_say_nothing() -> None:
    one = {"scratch": group("awa2", "fox", 0.47, 0.38, 0.56)}
    fact = fact_of(one, {"scratch": False}, missing=("selfsup",))
    text = per_source_words(fact, ["scratch", "selfsup"])
    assert "in scratch" in text and text.endswith("Not measured for selfsup (no test predictions).")
    assert "in each" not in text
    assert per_source_words(fact, ["selfsup"]) == (
        "Accuracy per photo source is not measured for selfsup (no test predictions)."
    )
    assert per_source_words({}) == ""


# --- the analyze stage --------------------------------------------------------------


def test_the_analyze_stage_writes_per_source_csv_and_the_fact(tmp_path: Path) -> None:
    root = make_project(
        tmp_path, starts=("scratch", "transfer"), strategies=("random", "margin"),
        seeds=(0, 1), rounds=3, n_pool=120, n_test=40, ablations=False,
    )  # fmt: skip
    params = load_params(root / "params.yaml")
    curated = root / "curated"
    test = pd.read_csv(curated / "manifest.csv", dtype={"id": str})
    test = test[test["split"] == "test"]
    # scratch only: transfer's stage has not written predictions yet.
    path = paths.baseline_predictions("scratch", root / "results")
    path.parent.mkdir(parents=True)
    frame = predictions(test, lambda seed, row: row.source == "randomfox_ca")
    frame.to_csv(path, index=False)

    def run() -> None:
        analyze.run(params, root / "results", root / "out" / "metrics", root / "out" / "plots",
                    root / "metrics" / "baseline", curated)  # fmt: skip

    run()
    table = pd.read_csv(root / "out" / "metrics" / "per_source.csv")
    assert set(table["condition"]) == {"scratch"}
    assert table.loc[table["source"] == "randomfox_ca", "accuracy"].tolist() == [0.0]
    doc = pd.read_json(root / "out" / "metrics" / "analysis.json", typ="series")
    fact = doc["facts"]["per_source"]
    assert fact["available"] is True and list(fact["missing"]) == ["transfer"]
    assert fact["conditions"]["scratch"]["worst"]["source"] == "randomfox_ca"
    # A damaged file stops the analysis before anything is written.
    shutil.rmtree(root / "out")
    damage(path, ",p_fox", ",p_x")
    with pytest.raises(ResultsError, match="missing column 'p_fox'"):
        run()
    assert not (root / "out").exists()
    assert np.isfinite(table["high"]).all()

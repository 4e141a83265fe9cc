"""Every number formatter of the report degrades to "–"; the wording fits the study (issue 19)."""

from __future__ import annotations

import math

import pytest

from foxdog.site import dataset_page, fmt, method_page, pages

MISSING = (None, math.nan, float("nan"))


@pytest.mark.parametrize("value", MISSING)
def test_every_number_formatter_renders_a_missing_value_as_a_dash(value: object) -> None:
    assert fmt.pct(value) == "–"
    assert fmt.pp(value) == "–"
    assert fmt.num(value) == "–"
    assert fmt.integer(value) == "–"
    assert fmt.pvalue(value) == "p –"
    assert fmt.plural(value, "seed") == "– seeds"
    assert fmt.negated(value) is None
    assert fmt.interval_text({"mean": value, "low": None, "high": None}) == "–"


def test_a_saving_without_an_interval_has_no_bracket_either_way() -> None:
    # One paired seed: the analysis writes low = high = null (issue 19's insights crash).
    saving = {"status": "ok", "labels": -40.0, "low": None, "high": None, "n_pairs": 1}
    assert pages.extra_labels_cell(saving) == "40 more over 1 seed"
    assert pages.saving_cell({**saving, "labels": 40.0}) == "40 over 1 seed"


def test_a_negative_saving_negates_and_swaps_its_interval() -> None:
    saving = {"status": "ok", "labels": -40.0, "low": -70.0, "high": -10.0, "n_pairs": 8}
    assert pages.extra_labels_cell(saving) == "40 more [10, 70] over 8 seeds"


def test_an_interval_wider_than_the_runs_is_named_not_printed() -> None:
    saving = {"status": "ok", "labels": 4.0, "low": -175.0, "high": 183.0, "n_pairs": 2}
    span = pages.label_span({"label_range": [10, 70]})
    assert span == 60
    text = pages.saving_cell(saving, "random", span)
    assert text == "4 (interval wider than the 60 labels the runs span) over 2 seeds"
    assert "[-175" not in text
    assert pages.saving_cell(saving, "random") == "4 [-175, 183] over 2 seeds"
    assert pages.label_span({}) is None


def test_one_start_is_named_not_counted() -> None:
    assert pages.starts_phrase(["scratch"]) == "the `scratch` starting model"
    assert pages.starts_phrase(["scratch", "transfer"]) == "each of 2 starting models"


def test_the_method_page_says_when_no_ablation_ran() -> None:
    assert method_page.ablations_item((), ("label_noise",), "scratch", "x").startswith("None ran")
    text = method_page.ablations_item(
        ("random", "margin"), ("label_noise",), "transfer", "`label_noise`"
    )
    assert text.startswith("random and margin are re-run from the `transfer` starting model")


def test_the_strategy_table_says_which_protocol_ran_each_strategy() -> None:
    from dataclasses import replace

    from foxdog.config import Params

    params = Params()
    cnn = "CNN starts (scratch, transfer and selfsup)"
    head = "frozen-feature head (imagenet)"
    table, caption = method_page.strategy_table(params)
    assert (table[[cnn, head]] == "yes").all().all() and "-S away" not in caption
    # The CNN starts running fewer strategies than the head: the others are marked.
    fewer = replace(params, active=replace(params.active, strategies=("random", "margin")))
    table, caption = method_page.strategy_table(fewer)
    rows = table.set_index("strategy")
    assert rows.loc["badge", head] == "yes" and rows.loc["badge", cnn] == "–"
    assert rows.loc["margin", cnn] == "yes" and rows.loc["margin", head] == "yes"
    assert "active.strategies and head.strategies" in caption and "one -S away" in caption
    # A study with no frozen-feature start (own images from scratch): no head column, no head
    # strategy, nothing marked as not run.
    cnn_only = replace(params, balance=replace(params.balance, starts=(), conditions=()))
    table, caption = method_page.strategy_table(cnn_only)
    assert list(table["strategy"]) == list(params.active.strategies)
    assert head not in table.columns and "head.strategies" not in caption
    assert "-S away" not in caption


def test_leakage_check_of_a_study_that_never_used_the_corpus() -> None:
    overlap = {
        "corpus_images": 20999, "foxdog_images": 400, "hash_size": 8, "max_hash_distance": 4,
        "min_distance": 1, "near_duplicates": 28, "passed": False,
    }  # fmt: skip
    text = dataset_page.leakage_sentence(overlap, ["scratch"])
    assert text.startswith("No starting model of this study (scratch) was pretrained")
    assert "(not used by this study)" in text and "failed" not in text
    used = dataset_page.leakage_sentence(overlap, ["scratch", "transfer"])
    assert "(those corpus images dropped)" in used and "No starting model" not in used

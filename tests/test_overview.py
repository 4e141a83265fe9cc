"""The Overview's answer paragraph: every wording branch, checked against its numbers.

The documents are hand-made in the shape ``analysis.json`` has (``decision`` rows per the
data contract; ``regimes[<start>].strategies[<s>].test_vs_random`` before a decision map
exists). Each test renders one branch and checks what the paragraph claims (which
strategy saves or costs labels, where) against the row it came from: "saves" only for a
speed-up interval wholly above 1, "costs" only for one wholly below.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd
import pytest

from foxdog.analysis import narrative
from foxdog.site import decision_charts, overview

MAX_WORDS = 80


def row(
    condition: str,
    strategy: str,
    budget: int,
    factor: float,
    low: Any,
    high: Any,
    n_seeds: int = 30,
    n_censored: int = 0,
) -> dict[str, Any]:
    """One decision-map row as the analysis writes it (contract: metrics/decision.csv)."""
    return {
        "condition": condition,
        "start": condition.split("-")[0],
        "strategy": strategy,
        "budget": budget,
        "metric": "accuracy" if "-" not in condition else "balanced_accuracy",
        "n_seeds": n_seeds,
        "n_censored": n_censored,
        "factor": factor,
        "low": low,
        "high": high,
        "labels_needed": budget / factor if factor else math.nan,
        "verdict": "?",  # the narrative decides its words from the interval, not this field
    }


CONDITIONS = {
    "imagenet": {"start": "imagenet", "rare_class": "fox", "pool_share": 0.38},
    "imagenet-fox05": {"start": "imagenet", "rare_class": "fox", "pool_share": 0.05},
}


def decision_doc(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "settings": {"confidence": 0.95, "reference": "random"},
        "decision": {"rows": rows, "conditions": CONDITIONS, "headline": {}},
    }


def check_claims(text: str, rows: list[dict[str, Any]], claims: list[dict[str, Any]]) -> None:
    """Each ``<strategy> saves/costs labels`` in the text matches its row's interval."""
    said = re.findall(r"(?<!no )\b(\w+) (saves|costs) labels", text)
    assert len(said) == len(claims)
    for claim, (strategy, word) in zip(claims, said, strict=True):
        assert claim["strategy"] == strategy and claim["word"] == word
        (match,) = [
            r
            for r in rows
            if (r["condition"], r["strategy"], r["budget"])
            == (claim["condition"], claim["strategy"], claim["budget"])
        ]
        if word == "saves":
            assert match["factor"] > 1 and match["low"] > 1
        else:
            assert match["factor"] < 1 and match["high"] < 1
    assert len(text.split()) <= MAX_WORDS, text


def test_a_strategy_that_pays_is_named_with_its_factor_interval_and_seeds() -> None:
    rows = [
        row("imagenet", "margin", 100, 1.05, 0.9, 1.2),
        row("imagenet-fox05", "margin", 100, 2.5, 1.8, 3.4, n_censored=2),
        row("imagenet-fox05", "coreset", 100, 1.3, 1.1, 1.6),
    ]
    out = narrative.answer(decision_doc(rows))
    text = out["text"]
    check_claims(text, rows, out["claims"])
    assert text.startswith("Active learning pays in 1 of 2 conditions.")
    # The row with the surest gain (largest lower bound), its numbers and its censored seeds.
    assert "from imagenet, 5% fox at 100 labels, margin saves labels" in text
    assert "about 40 (2.50× [1.80, 3.40] fewer, 30 seeds, 2 never got there)" in text
    assert "Elsewhere (imagenet, natural mix) label at random" in text


def test_a_condition_with_no_more_sure_rows_than_chance_does_not_pay() -> None:
    # imagenet: 1 saving among 12 intervals (chance gives 0.6 at 95%): not a finding;
    # imagenet-fox05: 4 of 4 save.
    rows = [row("imagenet", "margin", 100, 1.3, 1.05, 1.6)]
    rows += [row("imagenet", s, b, 1.0, 0.8, 1.2) for s in ("coreset", "badge") for b in (1, 2)]
    rows += [row("imagenet", "typiclust", b, 1.0, 0.8, 1.2) for b in range(7)]
    rows += [row("imagenet-fox05", "margin", b, 3.0, 2.0, 4.0) for b in (50, 100, 200, 300)]
    out = narrative.answer(decision_doc(rows))
    check_claims(out["text"], rows, out["claims"])
    assert out["text"].startswith("Active learning pays in 1 of 2 conditions.")
    assert "Elsewhere (imagenet, natural mix) label at random" in out["text"]
    assert "beyond what chance gives" in out["text"]
    assert all(c["condition"] == "imagenet-fox05" for c in out["claims"])


def test_no_strategy_pays_says_so_and_counts_the_comparisons() -> None:
    rows = [
        row("imagenet", "margin", 100, 1.1, 0.8, 1.5),
        row("imagenet", "margin", 300, 0.95, 0.7, 1.2),
        row("imagenet-fox05", "margin", 100, 1.4, 0.99, 2.0),
    ]
    out = narrative.answer(decision_doc(rows))
    check_claims(out["text"], rows, out["claims"])
    assert out["text"].startswith("Active learning does not pay here: at 100–300 labels")
    assert "3 of 3 comparisons show no measurable difference" in out["text"]
    assert "saves" not in out["text"].replace("no strategy saves", "")


def test_no_strategy_pays_in_one_condition_names_it() -> None:
    # The own-images short look has one condition ("in any of the 1 conditions" before).
    out = narrative.answer(decision_doc([row("imagenet", "margin", 100, 1.1, 0.8, 1.5)]))
    assert out["text"] == (
        "Active learning does not pay here: at 100 labels, no strategy saves labels against "
        "random sampling from imagenet, natural mix. It shows no measurable difference: label "
        "at random."
    )


def test_a_strategy_that_costs_is_said_to_cost_never_to_save() -> None:
    rows = [
        row("imagenet", "typiclust", 50, 0.6, 0.45, 0.8),
        row("imagenet", "margin", 50, 1.0, 0.9, 1.1),
    ]
    out = narrative.answer(decision_doc(rows))
    check_claims(out["text"], rows, out["claims"])
    assert (
        "It can hurt: typiclust costs labels from imagenet, natural mix at 50 "
        "(0.60× [0.45, 0.80], 30 seeds)" in (out["text"])
    )
    assert [c["word"] for c in out["claims"]] == ["costs"]


@pytest.mark.parametrize("low, high", [(None, None), (math.nan, math.nan), (1.2, None)])
def test_a_missing_interval_is_no_measurable_difference_and_renders_a_dash(low, high) -> None:
    assert narrative.saving_word(low, high, null=1.0) in ("no measurable difference", "saves")
    if low is None or (isinstance(low, float) and math.isnan(low)):
        assert narrative.saving_word(low, high, null=1.0) == "no measurable difference"
    text = narrative.factor_text({"factor": 2.0, "low": low, "high": high})
    assert text.startswith("2.00× [") and "–" in text
    rows = [row("imagenet", "margin", 100, 2.0, None, None, n_seeds=1)]
    out = narrative.answer(decision_doc(rows))
    check_claims(out["text"], rows, out["claims"])
    assert out["claims"] == []


def regime_doc(tests: dict[str, dict[str, tuple[float, float, float]]]) -> dict[str, Any]:
    """analysis.json before the decision map: per start, per strategy, (mean, low, high)."""
    regimes = {
        start: {
            "strategies": {
                "random": {},
                **{
                    s: {"test_vs_random": {"mean_difference": m, "low": lo, "high": hi}}
                    for s, (m, lo, hi) in arms.items()
                },
            }
        }
        for start, arms in tests.items()
    }
    return {
        "settings": {"confidence": 0.95, "reference": "random"},
        "starts": list(tests),
        "regimes": regimes,
    }


def test_without_a_decision_map_the_answer_reads_the_paired_aulc_tests() -> None:
    doc = regime_doc(
        {
            "scratch": {"margin": (-0.006, -0.017, 0.005), "coreset": (-0.001, -0.01, 0.008)},
            "selfsup": {"margin": (-0.0098, -0.0162, -0.0035), "coreset": (0.002, -0.01, 0.01)},
        }
    )
    out = narrative.answer(doc)
    text = out["text"]
    assert text.startswith("Active learning does not pay here: in none of 4 strategy × start")
    assert "margin costs 0.98 points [-1.62, -0.35] from selfsup" in text
    assert "chance alone gives about 0.2 in 4" in text
    assert "The other 3 show no measurable difference" in text
    assert out["claims"] == [
        {"condition": "selfsup", "strategy": "margin", "budget": None, "word": "costs"}
    ]
    assert "closest to beating" not in text and len(text.split()) <= MAX_WORDS


def test_without_a_decision_map_one_comparison_reads_as_one() -> None:
    # The own-images short look: one start, margin against random ("in none of 1 ..." before).
    doc = regime_doc({"scratch": {"margin": (-0.017, -0.05, 0.02)}})
    text = narrative.answer(doc)["text"]
    assert text == (
        "Active learning does not pay here: margin does not beat random sampling (scratch; area "
        "under the learning curve). It shows no measurable difference: label at random."
    )
    two = narrative.answer(
        regime_doc({"scratch": {"margin": (0.0, -0.01, 0.01), "coreset": (0.0, -0.01, 0.01)}})
    )["text"]
    assert two.endswith("All 2 show no measurable difference: label at random.")


def test_without_a_decision_map_a_sure_gain_is_a_gain() -> None:
    doc = regime_doc({"transfer": {"margin": (0.02, 0.01, 0.03), "coreset": (0.0, -0.01, 0.01)}})
    out = narrative.answer(doc)
    assert out["text"].startswith("Active learning helps in 1 of 2 strategy × start comparisons")
    assert "margin gains 2.00 points [+1.00, +3.00] from transfer" in out["text"]
    assert [c["word"] for c in out["claims"]] == ["saves"]


def test_decision_table_colours_follow_the_interval_and_the_map_draws() -> None:
    rows = [
        row("imagenet", "margin", 100, 1.5, 1.2, 1.9),
        row("imagenet", "margin", 300, 0.7, 0.5, 0.9),
        row("imagenet-fox05", "margin", 100, 1.5, 0.9, 2.4),
    ]
    table = overview.decision_table(decision_doc(rows))
    assert list(table["verdict"]) == ["pays", "costs", "no difference"]
    assert list(table["condition_label"]) == [
        "imagenet (natural balance)",
        "imagenet (natural balance)",
        "imagenet, 5% fox in the pool",
    ]
    spec = decision_charts.decision_map(table, level="90%").to_dict()
    assert "90% interval" in str(spec) and "95%" not in str(spec)


def test_budget_control_has_a_condition_drop_down_and_a_labels_slider() -> None:
    curves = pd.DataFrame(
        [
            {
                "start": c,
                "strategy": s,
                "round": r,
                "n_labels": 10 + 10 * r,
                "metric": "accuracy",
                "mean": 0.6 + 0.01 * r,
                "low": 0.55,
                "high": 0.7,
            }
            for c in ("scratch", "transfer")
            for s in ("random", "margin")
            for r in range(5)
        ]
    )
    doc = {"settings": {"confidence": 0.9}, "starts": ["scratch", "transfer"], "regimes": {}}
    data = overview.budget_curves(doc, curves)
    assert set(data["condition"]) == {"scratch", "transfer"}
    spec = decision_charts.budget_control(
        data, conditions=overview.budget_labels(doc, data), level=overview.level(doc)
    ).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["condition"]["bind"]["input"] == "select"
    assert params["condition"]["bind"]["options"] == ["scratch", "transfer"]
    assert params["budget"]["bind"]["input"] == "range"
    assert (params["budget"]["bind"]["min"], params["budget"]["bind"]["max"]) == (10, 50)
    assert "90% band" in spec["title"]


def test_a_start_saving_names_the_seeds_that_got_there_from_one_start_only() -> None:
    from foxdog.site import pages

    saving = {"status": "ok", "labels": 23, "low": None, "high": None, "n_pairs": 1}
    assert pages._start_saving(saving, "scratch", "transfer", 7) == (
        "23 fewer than from scratch, over the 1 seed where both got there; "
        "7 more seeds got there only from transfer"
    )


def test_a_trend_is_claimed_only_when_monotone_and_measurable() -> None:
    # The committed ablation: -0.55, -1.11, +0.69 points, every interval containing zero.
    words = narrative.trend_words(
        ["0", "0.1", "0.2"],
        [-0.0055, -0.0111, 0.0069],
        [-0.0263, -0.0266, -0.0377],
        [0.0152, 0.0044, 0.0515],
        5,
    )
    assert words.endswith(
        "no measurable trend (the means do not move one way and every interval contains zero)"
    )
    assert "0.1: -1.11 [-2.66, +0.44]" in words and "(5 seeds)" in words
    grows = narrative.trend_words(["0", "1"], [0.0, 0.03], [-0.01, 0.01], [0.01, 0.05], 30)
    assert grows.endswith("it grows with the level")
    flat = narrative.trend_words(["0", "1"], [0.0, 0.01], [-0.01, -0.01], [0.01, 0.03], 30)
    assert flat.endswith("no measurable trend (every interval contains zero)")


def test_stop_rule_says_when_it_cannot_fire() -> None:
    text = narrative.stop_words(0.887, 0.99, 3, fired=False)
    assert "cannot fire" in text and "0.887" in text and "0.99" in text
    assert "cannot fire" not in narrative.stop_words(0.995, 0.99, 3, fired=True)


def test_full_pool_words_follow_each_interval_and_do_not_crown_a_tiny_lead() -> None:
    acc = {
        "scratch": {"mean": 0.774, "low": 0.766, "high": 0.782},
        "transfer": {"mean": 0.789, "low": 0.774, "high": 0.803},
        "selfsup": {"mean": 0.788, "low": 0.782, "high": 0.793},
    }
    vs = {
        "transfer": {"mean_difference": 0.0148, "low": -0.0073, "high": 0.0369, "n_pairs": 3},
        "selfsup": {"mean_difference": 0.0139, "low": 0.0035, "high": 0.0242, "n_pairs": 3},
    }
    text = narrative.full_pool_words("scratch", acc, vs)
    assert "transfer +1.48 [-0.73, +3.69] points (no measurable difference, 3 paired seeds)" in text
    assert "selfsup +1.39 [+0.35, +2.42] points (better, 3 paired seeds)" in text
    assert "leads selfsup by 0.10 points, too little to call either the better start" in text


def test_chance_words_count_intervals_against_what_chance_gives() -> None:
    text = narrative.chance_words(27, 2, 0.95)
    assert "Of 27 paired 95% intervals" in text and "2 exclude zero" in text
    assert "about 1.4" in text


def test_a_few_sure_rows_among_many_are_said_to_be_what_chance_gives() -> None:
    # 36 comparisons at 95%: chance alone gives 1.8 intervals excluding 1; two are no finding.
    rows = [row("scratch", "margin", 110 + 100 * k, 1.0, 0.8, 1.2, n_seeds=8) for k in range(34)]
    rows.append(row("selfsup", "coreset", 910, 1.37, 1.06, 1.77, n_seeds=8))
    rows.append(row("selfsup", "margin", 110, 0.78, 0.61, 0.99, n_seeds=8))
    out = narrative.answer(decision_doc(rows))
    text = out["text"]
    check_claims(text, rows, out["claims"])
    assert text.startswith("Active learning makes no reliable difference here: of 36 comparisons")
    assert "1 with a saving and 1 with a cost, about what chance alone gives (1.8)" in text
    assert "coreset saves labels from selfsup at 910 (1.37× [1.06, 1.77] fewer, 8 seeds)" in text
    assert "margin costs labels from selfsup at 110 (0.78× [0.61, 0.99], 8 seeds)" in text
    assert text.endswith("Label at random.")
    assert [c["word"] for c in out["claims"]] == ["saves", "costs"]


def test_decision_map_gives_each_protocol_its_own_block_of_budgets() -> None:
    rows = [row("scratch", "margin", b, 1.2, 1.05, 1.5) for b in (110, 310)]
    rows += [
        row(c, "margin", b, 1.2, 0.9, 1.5)
        for c in ("imagenet", "imagenet-fox05")
        for b in (50, 100)
    ]
    spec = decision_charts.decision_map(
        overview.decision_table(decision_doc(rows)), level="95%"
    ).to_dict()
    assert len(spec["vconcat"]) == 2  # CNN budgets and head budgets: no empty columns
    one = overview.decision_table(decision_doc(rows[:2]))
    assert "vconcat" not in decision_charts.decision_map(one, level="95%").to_dict()


def test_the_map_says_what_the_imagenet_start_saw_only_when_it_is_on_the_map() -> None:
    doc = decision_doc([row("imagenet", "margin", 100, 1.3, 1.05, 1.6)])
    assert "ImageNet saw fox and dog classes with labels" in overview.start_caveats(doc)
    cnn = {"scratch": {"start": "scratch", "rare_class": "fox", "pool_share": 0.38}}
    doc["decision"]["conditions"] = cnn
    assert overview.start_caveats(doc) == ""


def test_one_saving_and_one_cost_in_a_condition_is_no_finding() -> None:
    # selfsup-like: 12 rows, one interval above 1 and one below (chance alone gives one on
    # each side with probability 0.26): the condition neither pays nor costs, while
    # imagenet-fox05's 4 of 4 savings do pay (binomial tail 4e-7).
    rows = [row("selfsup", "coreset", 910, 1.37, 1.06, 1.77)]
    rows += [row("selfsup", "margin", 110, 0.78, 0.61, 0.99)]
    rows += [row("selfsup", "typiclust", b, 1.0, 0.8, 1.2) for b in range(10)]
    rows += [row("imagenet-fox05", "margin", b, 3.0, 2.0, 4.0) for b in (50, 100, 200, 300)]
    out = narrative.answer(decision_doc(rows))
    check_claims(out["text"], rows, out["claims"])
    assert out["text"].startswith("Active learning pays in 1 of 2 conditions.")
    assert "It can hurt" not in out["text"]
    assert all(c["condition"] == "imagenet-fox05" for c in out["claims"])
    assert "no strategy saves labels there beyond what chance gives" in out["text"]


def test_full_pool_words_name_a_clear_lead_and_a_deterministic_fit() -> None:
    # imagenet's head is deterministic (zero-width interval) and 19 points ahead of transfer,
    # whose interval it does not overlap: the better start, said without a fake interval.
    acc = {
        "scratch": {"mean": 0.754, "low": 0.745, "high": 0.763},
        "transfer": {"mean": 0.776, "low": 0.759, "high": 0.793},
        "imagenet": {"mean": 0.9709, "low": 0.9709, "high": 0.9709},
    }
    text = narrative.full_pool_words("scratch", acc, {})
    assert "97.1% from imagenet (the same model from every seed)" in text
    assert "[97.1%, 97.1%]" not in text
    assert "The highest, imagenet, leads transfer by 19.49 points: the better start" in text
    assert "too little to call" not in text

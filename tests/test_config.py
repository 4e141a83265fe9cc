"""Tests for foxdog/config.py: typed, frozen parameters and errors that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from foxdog.config import (
    MAX_ACTIVATION_BYTES,
    STRATEGIES,
    ConfigError,
    DataConfig,
    Params,
    check_against_data,
    largest_activation_bytes,
    load_params,
    params_from_dict,
    params_with,
    to_dict,
)

PROJECT_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def with_value(section: str, key: str, value: object) -> dict:
    raw = to_dict(Params())
    raw[section][key] = value
    return raw


def error_of(raw: object) -> str:
    with pytest.raises(ConfigError) as info:
        params_from_dict(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_project_params_load_typed_and_frozen():
    params = load_params(PROJECT_PARAMS)
    assert isinstance(params.data, DataConfig)
    assert isinstance(params.model.widths, tuple) and isinstance(params.active.seeds, tuple)
    assert isinstance(params.data.min_std, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.data.image_size = 64  # type: ignore[misc]


def test_defaults_round_trip_through_a_dict():
    params = Params()
    assert params_from_dict(to_dict(params)) == params


def test_code_defaults_equal_the_committed_params():
    # params.yaml is the one source of truth: a default that differs from it
    # (as ActiveConfig.seeds once did: 6 seeds against the file's 10) fails here.
    committed, defaults = load_params(PROJECT_PARAMS), Params()
    for section in dataclasses.fields(Params):
        want, have = getattr(committed, section.name), getattr(defaults, section.name)
        for f in dataclasses.fields(want):
            key = f"{section.name}.{f.name}"
            assert getattr(have, f.name) == getattr(want, f.name), key
    assert committed == defaults


@pytest.mark.parametrize("text", ["", "# nothing set\n", "null\n"])
def test_empty_file_is_refused(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p\.yaml: is empty \(every section and parameter"):
        load_params(path)


def test_missing_section_or_key_is_named(tmp_path):
    raw = to_dict(Params())
    del raw["ablations"]
    assert error_of(raw) == "params.yaml: ablations is missing (every parameter must be set)"
    raw = to_dict(Params())
    del raw["active"]["seeds"]
    assert error_of(raw) == "params.yaml: active.seeds is missing (every parameter must be set)"
    path = tmp_path / "p.yaml"
    path.write_text("data:\n  image_size: 48\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"p\.yaml: model is missing \(every parameter must be set\)$"
    ):
        load_params(path)
    raw = to_dict(Params())
    raw["model"] = None  # `model:` with nothing under it
    assert error_of(raw) == "params.yaml: model must be a mapping"


def test_params_with_overrides_the_committed_values():
    params = params_with(
        {
            "active": {"seeds": [0], "rounds": 2},
            "ablations": {"seeds": [0]},
            "train": {"steps": 40},
        }
    )
    committed = load_params(PROJECT_PARAMS)
    assert params.active.seeds == (0,) and params.active.rounds == 2 and params.train.steps == 40
    assert params.active.query_size == committed.active.query_size
    assert params.data == committed.data and params.model == committed.model
    with pytest.raises(ConfigError, match=r"^params\.yaml: active\.rounds=0 must be >= 1$"):
        params_with({"active": {"rounds": 0}})
    with pytest.raises(ConfigError, match=r"active\.sedes is not a known parameter"):
        params_with({"active": {"sedes": [0]}})
    with pytest.raises(ConfigError, match="params.yaml: active must be a mapping"):
        params_with({"active": 3})  # type: ignore[dict-item]


def test_new_strategy_names_are_known():
    assert {"typiclust", "probcover", "badge"} <= set(STRATEGIES)
    params = params_with(
        {
            "active": {"strategies": ["random", "badge"], "initial": "typiclust"},
            "ablations": {"strategies": ["random"]},
        }
    )
    assert params.active.initial == "typiclust"


def test_out_of_range_value_names_the_key():
    assert error_of(with_value("active", "query_size", 0)) == (
        "params.yaml: active.query_size=0 must be >= 1"
    )


def test_error_names_the_file_it_came_from(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(with_value("active", "query_size", 0)), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*exp\.yaml: active\.query_size=0 must be >= 1$"):
        load_params(path)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("data", "image_size", 4, "data.image_size=4 must be between 8 and 512"),
        ("data", "min_side", 0, "data.min_side=0 must be >= 1"),
        ("data", "min_std", -1, "data.min_std=-1.0 must be >= 0"),
        ("data", "max_pixels", 0, "data.max_pixels=0 must be >= 1"),
        ("data", "hash_size", 1, "data.hash_size=1 must be between 2 and 32"),
        ("data", "max_hash_distance", -1, "data.max_hash_distance=-1 must be >= 0"),
        ("data", "test_fraction", 1.0, "data.test_fraction=1.0 must be in (0, 1)"),
        ("data", "test_fraction", float("nan"), "data.test_fraction=nan must be in (0, 1)"),
        ("data", "seed", -1, "data.seed=-1 must be in [0, 2**32)"),
        ("data", "contact_sheet_size", 0, "data.contact_sheet_size=0 must be >= 1"),
        ("data", "raw_dir", "", "data.raw_dir='' must name a folder"),
        ("data", "out_dir", "data", "data.out_dir='data' must differ from data.raw_dir"),
        ("model", "widths", [], "model.widths=() must list at least one width"),
        ("model", "dropout", 1.0, "model.dropout=1.0 must be in [0, 1)"),
        ("train", "warmup_steps", 300, "train.warmup_steps=300 must be in [0, steps)"),
        ("baseline", "seeds", [0, -3], "baseline.seeds=(0, -3) must be in [0, 2**32)"),
        ("active", "strategies", ["random", "magic"], "active.strategies[1]='magic' is not one"),
        ("active", "seeds", [1, 1], "active.seeds=(1, 1) has repeats"),
        ("active", "initial_size", 1, "active.initial_size=1 must be >= 2 (one per class)"),
        ("active", "label_noise", 0.5, "active.label_noise=0.5 must be in [0, 0.5)"),
        ("ablations", "query_size", [10, 0], "ablations.query_size=(10, 0) must be >= 1"),
        ("analysis", "stop_window", 0, "analysis.stop_window=0 must be >= 1"),
        ("analysis", "head_stop_kappa", 0.0, "analysis.head_stop_kappa=0.0 must be in (0, 1]"),
        ("analysis", "head_stop_window", 0, "analysis.head_stop_window=0 must be >= 1"),
        ("embed", "out_dir", "", "embed.out_dir='' must name a folder"),
        ("embed", "out_dir", "curated", "embed.out_dir='curated' must differ from data.raw_dir"),
        ("embed", "image_size", 16, "embed.image_size=16 must be between 32 and 512"),
        ("embed", "batch_size", 0, "embed.batch_size=0 must be between 1 and 512"),
        (
            "active",
            "starts",
            ["scratch", "imagenet"],
            "active.starts[1]='imagenet' is a frozen-feature start: list it in balance.starts",
        ),
        ("active", "budgets", [5, 110], "active.budgets[0]=5 must be >= initial_size=10"),
        ("active", "budgets", [310, 110], "active.budgets=(310, 110) must be strictly ascending"),
        ("balance", "rare_class", "cat", "balance.rare_class='cat' must be one of data.classes"),
        ("balance", "shares", [0.1, 0.055], "balance.shares[1]=0.055 must be a whole percent"),
        ("balance", "shares", [0.1, 1.0], "balance.shares[1]=1.0 must be a whole percent"),
        ("balance", "starts", ["transfer"], "balance.starts[0]='transfer' must be a frozen"),
        (
            "balance",
            "conditions",
            ["imagenet", "imagenet-fox10"],
            "balance.conditions=['imagenet', 'imagenet-fox10'] must be ['imagenet', "
            "'imagenet-fox10', 'imagenet-fox05']",
        ),
        ("head", "strategies", ["margin"], "head.strategies=('margin',) must include random"),
        ("head", "seeds", [], "head.seeds=() must list at least one seed"),
        ("head", "budgets", [50, 50], "head.budgets=(50, 50) must be strictly ascending"),
        ("head", "class_weight", "auto", "head.class_weight='auto' is not one of"),
        ("head", "steps", 0, "head.steps=0 must be in [1, 100000]"),
        # Limits: sizes that would exhaust memory or time.
        ("data", "val_fraction", 0.0, "data.val_fraction=0.0 must be in (0, 0.5)"),
        ("data", "val_fraction", 0.5, "data.val_fraction=0.5 must be in (0, 0.5)"),
        ("train", "batch_size", 100000, "train.batch_size=100000 must be <= 4096"),
        ("train", "steps", 10**6, "train.steps=1000000 must be <= 100000"),
        ("train", "epochs", 1e5, "train.epochs=100000.0 must be <= 1000"),
        ("model", "dense", 10**5, "model.dense=100000 must be <= 4096"),
        ("model", "widths", [16, 4096], "model.widths=(16, 4096) must be <= 1024"),
        (
            "model",
            "widths",
            [2] * 9,
            "model.widths=(2, 2, 2, 2, 2, 2, 2, 2, 2) must list at most 8",
        ),
        (
            "model",
            "widths",
            [8, 8, 8, 8, 8],
            "data.image_size=32 must be >= model.stem * 2**len(model.widths) = 64",
        ),
        ("train", "max_shift", 16, "train.max_shift=16 must be < data.image_size / 2 = 16"),
        ("active", "rounds", 5000, "active.rounds=5000 must be <= 1000"),
        ("active", "committee_size", 100, "active.committee_size=100 must be <= 16"),
        ("active", "mc_samples", 10**5, "active.mc_samples=100000 must be <= 1000"),
        ("active", "initial", "kmeans", "active.initial='kmeans' is not one of ('random', "),
        (
            "active",
            "strategies",
            ["margin", "entropy"],
            "active.strategies=('margin', 'entropy') must include random",
        ),
        (
            "ablations",
            "strategies",
            ["margin"],
            "ablations.strategies=('margin',) must include random",
        ),
        (
            "ablations",
            "strategies",
            ["random", "random"],
            "ablations.strategies=('random', 'random') has repeats",
        ),
        (
            "ablations",
            "seeds",
            [0, 42],
            "ablations.seeds=(0, 42) must be a subset of active.seeds=(0, 1, 2,",
        ),
    ],
)
def test_range_checks(section, key, value, message):
    assert error_of(with_value(section, key, value)).startswith(f"params.yaml: {message}")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"datta": {}}, "params.yaml: datta is not a known parameter"),
        ({"data": {"imagesize": 32}}, "params.yaml: data.imagesize is not a known parameter"),
        (
            {"data": {"image_size": "32"}},
            "params.yaml: data.image_size must be an integer, got '32'",
        ),
        (
            {"data": {"image_size": 32.0}},
            "params.yaml: data.image_size must be an integer, got 32.0",
        ),
        (
            {"data": {"image_size": True}},
            "params.yaml: data.image_size must be an integer, got True",
        ),
        ({"data": {"min_std": "low"}}, "params.yaml: data.min_std must be a number, got 'low'"),
        ({"data": {"raw_dir": 3}}, "params.yaml: data.raw_dir must be a string, got 3"),
        ({"train": {"flip": 1}}, "params.yaml: train.flip must be true or false, got 1"),
        ({"model": {"widths": 16}}, "params.yaml: model.widths must be a list, got 16"),
        ({"model": {"widths": [16, "x"]}}, "params.yaml: model.widths[1] must be an integer"),
        ({"data": [1, 2]}, "params.yaml: data must be a mapping"),
        ([1, 2], "params.yaml: top level must be a mapping"),
    ],
)
def test_unknown_keys_and_wrong_types_name_the_key(raw, message):
    if isinstance(raw, dict):  # the committed values with these sections changed
        full = to_dict(Params())
        for section, values in raw.items():
            if isinstance(values, dict) and section in full:
                full[section].update(values)
            else:
                full[section] = values
        raw = full
    assert error_of(raw).startswith(message)


def test_file_problems_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: not found"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_params(bad)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"data:\n  raw_dir: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"binary\.yaml: not UTF-8 text"):
        load_params(binary)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_params(tmp_path)  # a folder


def test_batch_memory_is_bounded_by_the_largest_activation():
    params = load_params(PROJECT_PARAMS)
    # 32x32 images, stem 2: the first block's conv output is 16 x 16 x 16 floats per image.
    assert largest_activation_bytes(params.data, params.model, 1) == 4 * 16 * 16 * 16
    raw = to_dict(params)
    raw["data"]["image_size"] = 256
    raw["model"]["stem"] = 1
    raw["train"]["batch_size"] = 4096  # within the plain bound, but 4 GiB per activation
    message = error_of(raw)
    assert message.startswith("params.yaml: train.batch_size=4096 must keep a batch's largest")
    assert "is 16384 MiB" in message
    raw["train"]["batch_size"] = MAX_ACTIVATION_BYTES // (4 * 256 * 256 * 16)
    assert params_from_dict(raw).train.batch_size == 128


def labels(n_dog: int, n_fox: int) -> np.ndarray:
    return np.array([0] * n_dog + [1] * n_fox)


def data_error(params: Params, pool_labels: np.ndarray, **kw: object) -> str:
    with pytest.raises(ConfigError) as info:
        check_against_data(params, pool_labels, "exp.yaml", **kw)
    message = str(info.value)
    assert "\n" not in message and message.startswith("exp.yaml: ")
    return message.removeprefix("exp.yaml: ")


def test_committed_params_fit_a_pool_of_the_real_size():
    params = load_params(PROJECT_PARAMS)
    # The main budget, 10 + 9 * 100 = 910 labels, is the largest that runs.
    check_against_data(params, labels(900, 10), image_size=params.data.image_size)
    assert data_error(params, labels(900, 9)).startswith(
        "active.initial_size + active.rounds * active.query_size = 10 + 9 * 100 = 910 "
        "must be <= the 909 pool images"
    )


def test_only_the_ablation_factors_that_run_must_fit_the_pool():
    params = params_with({"ablations": {"factors": ["label_noise"], "query_size": [500]}})
    check_against_data(params, labels(900, 10))  # 10 + 9 * 500 is never run
    params = params_with({"ablations": {"factors": ["query_size"], "query_size": [500]}})
    assert data_error(params, labels(900, 10)).startswith(
        "ablations.query_size=(500,): active.initial_size + active.rounds * level 500 "
        "= 10 + 9 * 500 = 4510 must be <= the 910 pool images"
    )


def test_budget_larger_than_the_pool_names_the_keys():
    params = load_params(PROJECT_PARAMS)  # 10 + 9 * 100 = 910 labels
    assert data_error(params, labels(300, 200)) == (
        "active.initial_size + active.rounds * active.query_size = 10 + 9 * 100 = 910 "
        "must be <= the 500 pool images in curated/"
    )


def test_initial_size_larger_than_a_class_is_caught_before_sampling():
    # Formerly numpy's "Cannot take a larger sample than population" in the first seed.
    params = params_with(
        {
            "active": {"initial_size": 45, "query_size": 5, "rounds": 1},
            "ablations": {"strategies": []},
        }
    )
    assert data_error(params, labels(20, 20)).startswith(
        "active.initial_size + active.rounds * active.query_size = 45 + 1 * 5 = 50 must be <= "
        "the 40 pool images"
    )


def test_ablation_levels_are_checked_too():
    base = {"active": {"initial_size": 20, "query_size": 10, "rounds": 5}}  # 70 labels
    pool = labels(60, 60)
    factors = ["initial_size", "query_size"]
    params = params_with(
        {**base, "ablations": {"factors": factors, "initial_size": [10, 80], "query_size": [5]}}
    )
    assert data_error(params, pool) == (
        "ablations.initial_size=(10, 80): level 80 + active.rounds * active.query_size "
        "= 80 + 5 * 10 = 130 must be <= the 120 pool images in curated/"
    )
    params = params_with(
        {**base, "ablations": {"factors": factors, "initial_size": [10], "query_size": [5, 25]}}
    )
    assert data_error(params, pool) == (
        "ablations.query_size=(5, 25): active.initial_size + active.rounds * level 25 "
        "= 20 + 5 * 25 = 145 must be <= the 120 pool images in curated/"
    )
    # No ablation strategies: no ablation runs, so their levels do not matter.
    params = params_with(
        {**base, "ablations": {"strategies": [], "initial_size": [80], "query_size": [25]}}
    )
    check_against_data(params, pool)


def test_other_data_checks():
    params = params_with({"ablations": {"strategies": []}})
    assert data_error(params, np.zeros(600, dtype=int)).startswith(
        "data.out_dir='curated' must hold a pool of both classes, found 1 class(es) in the 600"
    )
    assert data_error(params, labels(300, 300), image_size=64) == (
        "data.image_size=32 must match the 64x64 images in curated/ (re-run `foxdog curate`)"
    )
    small = params_with(
        {
            "active": {"initial_size": 4, "query_size": 2, "rounds": 2},
            "ablations": {"strategies": []},
            "train": {"batch_size": 64},
        }
    )
    assert data_error(small, labels(20, 20)) == (
        "train.batch_size=64 must be <= the 40 pool images in curated/"
    )
    long = params_with({"train": {"epochs": 1000.0, "batch_size": 8}})
    assert data_error(long, labels(1000, 1000)) == (
        "train.epochs=1000.0 makes a full-pool fit 250000 steps, must be <= 100000"
    )


def test_ablation_strategies_must_be_run_in_the_main_study():
    with pytest.raises(
        ConfigError, match=r"ablations.strategies=\('random', 'typiclust'\) must be a subset"
    ):
        params_with(
            {
                "active": {"strategies": ["random", "margin"]},
                "ablations": {"strategies": ["random", "typiclust"]},
            }
        )


def test_protocol_is_the_head_for_feature_starts_and_active_for_cnn_starts() -> None:
    params = params_with({"head": {"seeds": [3, 4], "rounds": 5, "budgets": [20, 60, 300]}})
    head = params.protocol("imagenet")
    assert (head.seeds, head.rounds, head.budgets, head.final_labels()) == ((3, 4), 5, (20, 60), 60)
    assert head.strategies == params.head.strategies
    cnn = params.protocol("transfer")
    assert (cnn.seeds, cnn.query_size, cnn.budgets) == (
        params.active.seeds,
        params.active.query_size,
        params.active.budgets,
    )
    assert cnn.round_labels()[:3] == (10, 110, 210)
    with pytest.raises(ValueError, match="unknown start 'nope'"):
        params.protocol("nope")


def test_conditions_list_cnn_starts_then_balance_starts_with_each_share() -> None:
    from foxdog.registry import condition_name, conditions, parse_condition

    params = params_with(
        {
            "balance": {
                "shares": [0.1, 0.02],
                "conditions": ["imagenet", "imagenet-fox10", "imagenet-fox02"],
            }
        }
    )
    got = conditions(params)
    assert [c.name for c in got] == [
        "scratch",
        "transfer",
        "selfsup",
        "imagenet",
        "imagenet-fox10",
        "imagenet-fox02",
    ]
    assert [(c.start, c.rare_class, c.share) for c in got[-2:]] == [
        ("imagenet", "fox", 0.1),
        ("imagenet", "fox", 0.02),
    ]
    assert got[0].natural and not got[-1].natural
    assert condition_name("transfer", "dog", 0.05) == "transfer-dog05"
    assert parse_condition("transfer-dog05", ("dog", "fox")).share == 0.05
    assert parse_condition("imagenet", ("dog", "fox")).natural
    with pytest.raises(ValueError, match="not <start> or <start>-<class>"):
        parse_condition("imagenet-cat10", ("dog", "fox"))

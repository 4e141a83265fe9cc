"""Tests for foxdog/config.py: typed, frozen parameters and errors that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from foxdog.config import (
    ConfigError,
    DataConfig,
    Params,
    load_params,
    params_from_dict,
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
    assert params_from_dict(None) == params == params_from_dict({})


def test_partial_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("data:\n  image_size: 48\n  min_std: 3\n", encoding="utf-8")
    params = load_params(path)
    assert params.data.image_size == 48 and params.data.min_std == 3.0
    assert params.active == Params().active


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

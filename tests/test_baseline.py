"""Tests for foxdog/model/baseline.py on a tiny generated curated folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from foxdog.analysis.validate import check_test_predictions
from foxdog.config import AnalysisConfig, TrainConfig, params_with
from foxdog.metrics import METRICS
from foxdog.model.baseline import full_pool_steps, interval, run_baseline, run_head_baseline
from foxdog.registry import Condition


def write_split(folder, split: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 120, (n, 16, 16, 3), dtype=np.uint8)
    images[labels == 1, :, :, 0] += 120  # foxes redder
    np.save(folder / f"{split}_images.npy", images)
    np.save(folder / f"{split}_labels.npy", labels.astype(np.int64))
    np.save(folder / f"{split}_ids.npy", np.array([f"{split}{i:014d}" for i in range(n)]))


def test_run_baseline_writes_the_documented_format(tmp_path):
    curated = tmp_path / "curated"
    curated.mkdir()
    write_split(curated, "pool", 40, seed=0)
    write_split(curated, "test", 24, seed=1)
    # Same architecture / step count as tests/test_model.py's SMALL: compiled code is shared.
    params = params_with(
        {
            "data": {"image_size": 16},
            "model": {"widths": [8, 16], "dense": 16},
            # epochs 0: the runs' recipe is exactly train.steps, as in SMALL.
            "train": {
                "batch_size": 16,
                "steps": 40,
                "epochs": 0,
                "warmup_steps": 4,
                "max_shift": 2,
            },
            "baseline": {"seeds": [0, 1]},
        }
    )
    out = tmp_path / "metrics" / "baseline" / "scratch.json"
    predictions = tmp_path / "results" / "baseline" / "scratch" / "test_predictions.csv"
    result = run_baseline(params, curated, out, "scratch", predictions)
    assert json.loads(out.read_text()) == result and result["start"] == "scratch"
    assert (result["n_train"], result["n_test"], result["seeds"], result["steps"]) == (
        40,
        24,
        [0, 1],
        40,
    )
    for name in (*METRICS, "train_seconds"):
        entry = result[name]
        assert len(entry["per_seed"]) == 2
        assert entry["low"] <= entry["mean"] <= entry["high"]
    assert result["accuracy"]["mean"] >= 0.9  # the red channel gives foxes away
    assert list(out.parent.iterdir()) == [out]  # no temporary files left
    assert result["recipe"].startswith("train.steps / train.epochs")
    assert list(predictions.parent.iterdir()) == [predictions]
    check_predictions(predictions, result, np.load(curated / "test_ids.npy"))


def check_predictions(path, result: dict, test_ids: np.ndarray) -> None:
    """``test_predictions.csv`` holds every seed x test image once, and scores as the summary."""
    frame = pd.read_csv(path, dtype={"id": str})
    assert list(frame.columns) == ["id", "label", "seed", "pred", "p_dog", "p_fox"]
    assert len(frame) == len(result["seeds"]) * len(test_ids)
    for k, seed in enumerate(result["seeds"]):
        mine = frame[frame["seed"] == seed]
        assert list(mine["id"]) == list(test_ids)  # the curated test order
        # The recorded predictions are the ones the summary's metrics scored.
        accuracy = float((mine["pred"] == mine["label"]).mean())
        assert accuracy == pytest.approx(result["accuracy"]["per_seed"][k])
        assert np.allclose(mine[["p_dog", "p_fox"]].sum(axis=1), 1.0, atol=2e-4)
        assert (mine["pred"] == mine[["p_dog", "p_fox"]].to_numpy().argmax(axis=1)).all()
    # The analysis accepts what the stage wrote.
    test = frame[frame["seed"] == result["seeds"][0]].set_index("id")["label"]
    read = check_test_predictions(path, ("dog", "fox"), result["seeds"], test, "baseline@x")
    assert len(read) == len(frame)


def test_the_head_baseline_records_every_seeds_test_predictions(tmp_path):
    curated, features = tmp_path / "curated", tmp_path / "features"
    curated.mkdir()
    features.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("pool", 60), ("test", 20)):
        write_split(curated, split, n, seed=n)
        labels = np.load(curated / f"{split}_labels.npy")
        x = rng.standard_normal((n, 4)).astype(np.float32) + 1.5 * labels[:, None]
        np.save(features / f"{split}.npy", x)
        np.save(features / f"{split}_ids.npy", np.load(curated / f"{split}_ids.npy"))
    params = params_with(
        {
            "data": {"out_dir": str(curated), "image_size": 16},
            "embed": {"out_dir": str(features)},
            "head": {"seeds": [0, 1, 2], "steps": 30},
        }
    )
    # fox at 20% of the pool: each seed trains on its own subsampled pool.
    condition = Condition("imagenet-fox20", "imagenet", "fox", 0.2)
    out = tmp_path / "metrics" / "baseline" / "imagenet-fox20.json"
    predictions = tmp_path / "results" / "baseline" / "imagenet-fox20" / "test_predictions.csv"
    result = run_head_baseline(params, condition, out, predictions)
    check_predictions(predictions, result, np.load(curated / "test_ids.npy"))


def test_the_full_pool_trains_with_the_runs_recipe():
    train = TrainConfig(batch_size=32, steps=300, epochs=40.0)
    assert full_pool_steps(train, 100) == 300  # short sets: train.steps
    assert full_pool_steps(train, 2600) == 3250  # the pool: 40 passes, as a run of 2,600


def test_interval_is_the_analysis_t_interval_at_the_configured_level():
    r = interval([0.8, 0.82, 0.84], AnalysisConfig(confidence=0.95))
    assert r["mean"] == pytest.approx(0.82)
    # t(0.975, 2) = 4.303; sd = 0.02; half-width = 4.303 * 0.02 / sqrt(3)
    assert r["high"] - r["mean"] == pytest.approx(4.3027 * 0.02 / math.sqrt(3), rel=1e-3)
    r90 = interval([0.8, 0.82, 0.84], AnalysisConfig(confidence=0.90))
    assert r90["high"] - r90["mean"] == pytest.approx(2.9200 * 0.02 / math.sqrt(3), rel=1e-3)
    single = interval([0.5], AnalysisConfig())
    assert single["low"] is None and single["high"] is None and single["per_seed"] == [0.5]

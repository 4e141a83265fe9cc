"""Tests for foxdog/model/pretrain.py: tiny images, a few dozen steps."""

from __future__ import annotations

import json
import re

import jax
import numpy as np
import pytest
from test_model import make_images

from foxdog.config import ModelConfig, PretrainConfig
from foxdog.model.encoder import load_encoder
from foxdog.model.estimator import FlaxCNNClassifier
from foxdog.model.pretrain import run_pretrain, simclr_view

MODEL = ModelConfig(widths=(8, 16), dense=16, stem=2)
CFG = PretrainConfig(epochs=6, batch_size=16, warmup_steps=3, holdout_fraction=0.25)


def corpus() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_images(96, seed=4)
    return x, y


def test_simclr_view_is_a_random_label_free_augmentation():
    x, _ = make_images(1, seed=0)
    a = simclr_view(x[0], jax.random.key(0))
    b = simclr_view(x[0], jax.random.key(1))
    assert a.shape == x[0].shape and a.dtype == np.float32
    assert float(a.min()) >= 0 and float(a.max()) <= 255
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, simclr_view(x[0], jax.random.key(0)))


@pytest.mark.parametrize("method", ["supervised", "simclr"])
def test_pretrain_writes_encoder_and_metrics_deterministically(tmp_path, method):
    x, y = corpus()
    pool, _ = make_images(24, seed=9)
    runs = []
    for name in ("a", "b"):
        m = run_pretrain(
            method, MODEL, CFG, x, y, 2, pool,
            tmp_path / name / "enc.msgpack", tmp_path / name / "metrics.json",
        )  # fmt: skip
        runs.append(m)
    a_bytes = (tmp_path / "a" / "enc.msgpack").read_bytes()
    assert a_bytes == (tmp_path / "b" / "enc.msgpack").read_bytes()
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["method"] == method and len(metrics["curve"]) == CFG.epochs
    assert metrics["corpus_holdout_images"] == 24
    assert metrics["pool_images"] == (24 if method == "simclr" else 0)
    losses = [p["loss"] for p in metrics["curve"]]
    assert losses[-1] < losses[0]
    assert 0 <= metrics["linear_probe_accuracy"] <= 1
    if method == "supervised":
        assert metrics["top1_accuracy"] > 0.6  # two easy classes
    trunk, meta = load_encoder(tmp_path / "a" / "enc.msgpack")
    assert meta["widths"] == [8, 16] and len(trunk) == 2
    # The estimator starts from it.
    enc = str(tmp_path / "a" / "enc.msgpack")
    small = dict(widths=(8, 16), dense=16, steps=5, epochs=0.0, warmup_steps=1, batch_size=8)
    clf = FlaxCNNClassifier(**small, start="transfer", encoder=enc)
    assert clf.fit(x[:16], y[:16]).predict(x[:4]).shape == (4,)


def test_simclr_refuses_pool_of_another_size(tmp_path):
    x, y = corpus()
    pool, _ = make_images(8, seed=9, size=32)
    with pytest.raises(ValueError, match="data.image_size"):
        run_pretrain("simclr", MODEL, CFG, x, y, 2, pool, tmp_path / "e", tmp_path / "m")


def test_cli_registration_parses_both_commands():
    from foxdog import cli

    parser = cli.build_parser()
    args = parser.parse_args(["pretrain", "--method", "simclr"])
    assert args.func is cli.cmd_pretrain and args.method == "simclr" and args.metrics is None
    assert parser.parse_args(["pretrain-data"]).func is cli.cmd_pretrain_data
    with pytest.raises(SystemExit):
        parser.parse_args(["pretrain", "--method", "imagenet"])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"active": {"starts": ["imagenet21k"]}}, "active.starts[0]='imagenet21k' is not one of"),
        ({"active": {"starts": []}}, "active.starts=() must list at least one start"),
        ({"active": {"starts": ["scratch"]}}, "ablations.start='transfer' must be one of"),
        ({"model": {"trunk_lr": -0.5}}, "model.trunk_lr=-0.5 must be >= 0"),
        ({"pretrain": {"method": "byol"}}, "pretrain.method='byol' is not one of"),
        ({"pretrain": {"temperature": 0}}, "pretrain.temperature=0.0 must be > 0"),
        ({"pretrain": {"out_dir": "pretrain-raw"}}, "pretrain.out_dir='pretrain-raw' must differ"),
        ({"pretrain": {"epochs": "ten"}}, "pretrain.epochs must be an integer"),
    ],
)
def test_pretrain_params_are_validated(raw, message):
    from foxdog.config import ConfigError, params_with

    with pytest.raises(ConfigError, match=re.escape(message)):
        params_with(raw)


def test_encoder_path_follows_the_start():
    from foxdog.config import encoder_path

    cfg = PretrainConfig(encoder_dir="enc")
    assert str(encoder_path(cfg, "transfer")) == "enc/supervised.msgpack"
    assert str(encoder_path(cfg, "selfsup")) == "enc/simclr.msgpack"


def test_linear_probe_convergence_warning_is_not_printed(tmp_path, monkeypatch):
    # Issue 19: sklearn's multi-line ConvergenceWarning from the probe buried the output.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from foxdog.model import pretrain

    class OneStep(LogisticRegression):
        def __init__(self, max_iter: int = 1) -> None:
            super().__init__(max_iter=1)  # certain not to converge

    monkeypatch.setattr(pretrain, "LogisticRegression", OneStep)
    x, y = corpus()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = run_pretrain(
            "supervised", MODEL, CFG, x, y, 2, None, tmp_path / "e.msgpack", tmp_path / "m.json"
        )
    assert 0 <= m["linear_probe_accuracy"] <= 1
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]

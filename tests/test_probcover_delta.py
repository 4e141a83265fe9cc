"""ProbCover δ sensitivity table (foxdog/probcover_delta.py) on tiny generated data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import probcover_delta as pcd
from foxdog.active.probcover import ALPHA, choose_delta
from foxdog.active.protocol import initial_indices
from foxdog.config import ActiveConfig, DataConfig, ModelConfig, Params, TrainConfig
from foxdog.data.arrays import Split


def blobs(n: int = 60, seed: int = 0) -> np.ndarray:
    """Two tight clusters of non-negative 8-d embeddings, far apart in angle."""
    rng = np.random.default_rng(seed)
    a = np.abs(rng.normal([5, 5, 0, 0, 0, 0, 0, 0], 0.6, (n // 2, 8)))
    b = np.abs(rng.normal([0, 0, 0, 0, 0, 0, 5, 5], 0.6, (n - n // 2, 8)))
    return np.vstack([a, b])


def test_seed_table_marks_the_heuristics_delta_once_and_it_is_the_largest_pure_one() -> None:
    X = blobs()
    table = pcd.seed_table(X, n_classes=2, budget=3, random_state=0)
    chosen = table.loc[table["chosen"]]
    assert len(chosen) == 1
    delta = float(chosen["delta"].iloc[0])
    assert delta == choose_delta(X, 2, random_state=0)
    assert float(chosen["purity"].iloc[0]) >= ALPHA
    # Purity only falls as δ grows, so every larger δ of the table is below α.
    assert (table.loc[table["delta"] > delta, "purity"] < ALPHA).all()
    assert table["delta"].is_monotonic_increasing
    assert table["purity"].is_monotonic_decreasing
    assert table["mean_ball_size"].is_monotonic_increasing
    assert table["mean_ball_size"].min() >= 1.0  # every ball holds its centre
    assert ((table["coverage"] > 0) & (table["coverage"] <= 1)).all()
    # The grid plus the chosen δ, when the choice is off the grid.
    on_grid = np.isclose(pcd.DELTAS, delta).any()
    assert len(table) == len(pcd.DELTAS) + (0 if on_grid else 1)


def test_seed_table_coverage_grows_with_the_budget() -> None:
    X = blobs(80, seed=1)
    small = pcd.seed_table(X, 2, budget=1, random_state=0)
    large = pcd.seed_table(X, 2, budget=6, random_state=0)
    assert (large["coverage"].to_numpy() >= small["coverage"].to_numpy() - 1e-12).all()
    assert (large["coverage"] > small["coverage"]).any()


def tiny_params(seeds: tuple[int, ...] = (0, 1)) -> Params:
    return Params(
        data=DataConfig(image_size=8),
        model=ModelConfig(widths=(4,), dense=8, stem=1),
        train=TrainConfig(steps=3, epochs=1.0, batch_size=8, warmup_steps=1),
        active=ActiveConfig(seeds=seeds, initial_size=6, query_size=4),
    )


def tiny_pool(n: int = 40, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    images[labels == 1, ..., 0] = 255  # a fox is redder
    ids = np.array([f"id{i:03d}" for i in range(n)])
    return Split(images=images, labels=labels.astype(np.int64), ids=ids)


def test_table_trains_on_the_loops_initial_set_and_is_deterministic() -> None:
    params, pool = tiny_params(), tiny_pool()
    fitted: list[tuple[int, np.ndarray]] = []

    from foxdog.active.protocol import estimator_factory

    real = estimator_factory(params, "scratch")

    class Spy:
        def __init__(self, seed: int) -> None:
            self.inner = real(seed)
            self.seed = seed

        def fit(self, X: np.ndarray, y: np.ndarray) -> Spy:
            fitted.append((self.seed, X))
            self.inner.fit(X, y)
            return self

        def embed(self, X: np.ndarray) -> np.ndarray:
            return self.inner.embed(X)

    table = pcd.probcover_delta_table(params, pool, [0, 1], make_estimator=Spy)
    assert list(table.columns) == pcd.COLUMNS
    assert sorted(table["seed"].unique()) == [0, 1]
    assert (table.groupby("seed")["chosen"].sum() == 1).all()
    assert (table["budget"] == 4).all() and (table["n_labelled"] == 6).all()
    for seed, X in fitted:
        expected = pool.images[initial_indices(pool.labels, 6, seed)]
        np.testing.assert_array_equal(X, expected)
    again = pcd.probcover_delta_table(params, pool, [0, 1])
    pd.testing.assert_frame_equal(table, again)


def test_run_writes_the_first_active_seeds(tmp_path: Path) -> None:
    pool = tiny_pool()
    curated = tmp_path / "curated"
    curated.mkdir()
    for part in ("images", "labels", "ids"):
        np.save(curated / f"pool_{part}.npy", getattr(pool, part), allow_pickle=False)
    params = tiny_params(seeds=(3, 1, 2))
    params = replace(params, data=replace(params.data, out_dir=str(curated)))
    out = tmp_path / "metrics" / "probcover_delta.csv"
    table = pcd.run_probcover_delta(params, out, n_seeds=2)
    written = pd.read_csv(out)
    assert list(written["seed"].unique()) == [3, 1]
    assert written["chosen"].dtype == bool and written["chosen"].sum() == 2
    np.testing.assert_allclose(written["purity"], table["purity"])


def test_cli_registers_the_subcommand() -> None:
    from foxdog.cli import build_parser, cmd_probcover_delta

    args = build_parser().parse_args(["probcover-delta"])
    assert args.func is cmd_probcover_delta and args.out == "metrics/probcover_delta.csv"

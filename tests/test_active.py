"""The active-learning loop and strategies, on small generated images and a tiny real CNN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog.active import loop
from foxdog.active.experiment import run_ablation, run_specs, run_strategy, specs_for
from foxdog.active.loop import Experiment, RunSpec, initial_indices, oracle_labels
from foxdog.active.strategies import REGISTRY, bald_scores, get_strategy, k_center_greedy
from foxdog.config import STRATEGIES, ActiveConfig, Params, params_from_dict, to_dict
from foxdog.data.arrays import Split
from foxdog.io import write_npy
from foxdog.model.estimator import FlaxCNNClassifier

TIMING = ["fit_seconds", "query_seconds"]


def make_split(n: int, seed: int, size: int = 12) -> Split:
    """Foxes are reddish, dogs bluish, both noisy: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3 == 0).astype(np.int64)
    images = rng.integers(0, 256, size=(n, size, size, 3)).astype(np.float64)
    tint = np.where(labels[:, None, None, None] == 1, [90, -40, -40], [-40, -20, 60])
    images = np.clip(images * 0.6 + 60 + tint, 0, 255).astype(np.uint8)
    ids = np.array([f"{seed:02d}{i:014d}" for i in range(n)])
    return Split(images=images, labels=labels, ids=ids)


def tiny_cnn(seed: int) -> FlaxCNNClassifier:
    return FlaxCNNClassifier(
        widths=(4, 8), dense=8, batch_size=16, steps=6, warmup_steps=1, max_shift=1, seed=seed
    )


@pytest.fixture(scope="module")
def pool() -> Split:
    return make_split(90, seed=1)


@pytest.fixture(scope="module")
def test_split() -> Split:
    return make_split(30, seed=2)


def spec(strategy: str, **kw: object) -> RunSpec:
    base = dict(
        strategy=strategy,
        seed=0,
        initial_size=8,
        query_size=5,
        rounds=2,
        committee_size=2,
        mc_samples=4,
    )
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def run(strategy: str, pool: Split, test: Split, path: Path, factory=tiny_cnn, **kw) -> dict:
    return Experiment(spec(strategy, **kw), factory, pool, test, path).run()


def frame(state: dict) -> pd.DataFrame:
    rounds = pd.DataFrame(state["rounds"]).drop(columns=TIMING)
    return rounds[sorted(rounds.columns)]


def test_registry_names_match_params() -> None:
    assert tuple(REGISTRY) == STRATEGIES
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        get_strategy("nope")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_queries_distinct_unlabelled_images(
    strategy: str, pool: Split, test_split: Split, tmp_path: Path
) -> None:
    state = run(strategy, pool, test_split, tmp_path / "s.json")
    rounds, queries = state["rounds"], pd.DataFrame(state["queries"])
    assert [r["n_labels"] for r in rounds] == [8, 13, 18]
    assert len(queries) == 10
    assert queries["id"].is_unique  # never the same image twice
    init = set(pool.ids[initial_indices(pool.labels, 8, 0)])
    assert not init & set(queries["id"])  # never an already-labelled one
    assert queries.groupby("round")["rank"].apply(list).tolist() == [list(range(5))] * 2
    assert np.isfinite(queries["score"]).all() and queries["p_fox"].between(0, 1).all()
    for r in rounds:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["log_loss"] > 0
    assert rounds[1]["fox_fraction_queried"] == pytest.approx(
        queries.loc[queries["round"] == 1, "true_label"].mean()
    )
    assert -1.0 <= rounds[2]["kappa_prev"] <= 1.0 and np.isnan(rounds[0]["kappa_prev"])


def test_same_seed_gives_identical_records(pool: Split, test_split: Split, tmp_path: Path) -> None:
    a = run("margin", pool, test_split, tmp_path / "a.json")
    b = run("margin", pool, test_split, tmp_path / "b.json")
    pd.testing.assert_frame_equal(frame(a), frame(b))
    assert a["queries"] == b["queries"]
    c = run("margin", pool, test_split, tmp_path / "c.json", seed=1)
    assert a["queries"] != c["queries"]


def test_strategies_share_initial_set_and_weights(
    pool: Split, test_split: Split, tmp_path: Path
) -> None:
    rows = [run(s, pool, test_split, tmp_path / f"{s}.json")["rounds"][0] for s in STRATEGIES]
    # Round 0 is the same model on the same labels for every strategy (committee
    # evaluates its first member, which has the experiment's seed).
    assert len({(r["accuracy"], r["log_loss"]) for r in rows}) == 1


class Interrupt(Exception):
    pass


def test_resume_after_interrupt_equals_uninterrupted_run(
    pool: Split, test_split: Split, tmp_path: Path
) -> None:
    full = run("bald", pool, test_split, tmp_path / "full.json", rounds=3)
    fits = {"n": 0}

    def flaky(seed: int) -> FlaxCNNClassifier:
        est = tiny_cnn(seed)
        original = est.fit

        def fit(X, y):  # noqa: ANN001, ANN202
            fits["n"] += 1
            if fits["n"] == 3:  # dies while training round 2
                raise Interrupt
            return original(X, y)

        est.fit = fit  # type: ignore[method-assign]
        return est

    path = tmp_path / "resumed.json"
    with pytest.raises(Interrupt):
        run("bald", pool, test_split, path, factory=flaky, rounds=3)
    saved = json.loads(path.read_text())
    assert len(saved["rounds"]) == 2  # rounds 0 and 1 survived, nothing half-written
    resumed = run("bald", pool, test_split, path, rounds=3)
    pd.testing.assert_frame_equal(frame(full), frame(resumed))
    assert full["queries"] == resumed["queries"]


def test_changed_protocol_does_not_reuse_state(
    pool: Split, test_split: Split, tmp_path: Path
) -> None:
    path = tmp_path / "s.json"
    run("random", pool, test_split, path, rounds=1)
    state = run("random", pool, test_split, path, rounds=1, query_size=3)
    assert [r["n_labels"] for r in state["rounds"]] == [8, 11]


def test_changed_pixels_or_code_do_not_reuse_state(
    pool: Split, test_split: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same ids and labels, other pixels (e.g. a new data.image_size): start over.
    path = tmp_path / "s.json"
    first = run("random", pool, test_split, path, rounds=1)
    darker = Split(images=pool.images // 2, labels=pool.labels, ids=pool.ids)
    assert (
        Experiment(spec("random", rounds=1), tiny_cnn, darker, test_split, path).fp
        != first["fingerprint"]
    )
    # Edited model/active code: DVC re-runs the stage, and the saved state must not win.
    monkeypatch.setattr(loop, "code_version", lambda: "edited")
    assert (
        Experiment(spec("random", rounds=1), tiny_cnn, pool, test_split, path).fp
        != first["fingerprint"]
    )


def test_code_version_tracks_the_stage_sources() -> None:
    assert loop.code_version() == loop.code_version()
    assert len(loop.code_version()) == 64


def test_initial_set_is_stratified_and_seeded() -> None:
    labels = np.array([1] * 30 + [0] * 70)
    idx = initial_indices(labels, 10, seed=3)
    assert len(set(idx)) == 10 and labels[idx].sum() == 3
    assert np.array_equal(idx, initial_indices(labels, 10, seed=3))
    assert not np.array_equal(idx, initial_indices(labels, 10, seed=4))


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.2])
def test_oracle_noise_rate_is_honoured(noise: float) -> None:
    labels = np.random.default_rng(0).integers(0, 2, 20_000)
    answers = oracle_labels(labels, noise, seed=5)
    flipped = np.mean(answers != labels)
    # Binomial standard error at n=20,000 is <= 0.0029: 4 sigma.
    assert abs(flipped - noise) < 0.012
    assert set(np.unique(answers)) <= {0, 1}
    assert np.array_equal(answers, oracle_labels(labels, noise, seed=5))


def test_noisy_oracle_is_recorded(pool: Split, test_split: Split, tmp_path: Path) -> None:
    state = run("random", pool, test_split, tmp_path / "n.json", label_noise=0.3, seed=2)
    queries = pd.DataFrame(state["queries"])
    wrong = (queries["oracle_label"] != queries["true_label"]).sum()
    assert state["rounds"][-1]["noisy_labels"] >= wrong > 0


def test_bald_scores_and_k_center() -> None:
    agree = np.tile([[[0.9, 0.1]]], (4, 1, 1))
    disagree = np.array([[[0.9, 0.1]], [[0.1, 0.9]], [[0.9, 0.1]], [[0.1, 0.9]]])
    scores = bald_scores(np.concatenate([agree, disagree], axis=1))
    assert scores[0] == pytest.approx(0.0, abs=1e-9) and scores[1] > 0.3
    pool = np.array([[0.0], [1.0], [10.0], [5.0]])
    idx, dist = k_center_greedy(pool, np.array([[0.0]]), 2)
    assert idx.tolist() == [2, 3] and dist.tolist() == pytest.approx([10.0, 5.0])


def _write_curated(root: Path, pool: Split, test: Split) -> None:
    for name, split in (("pool", pool), ("test", test)):
        write_npy(root / f"{name}_images.npy", split.images)
        write_npy(root / f"{name}_labels.npy", split.labels)
        write_npy(root / f"{name}_ids.npy", split.ids)


def _tiny_params(curated: Path) -> Params:
    raw = to_dict(Params())
    raw["data"]["out_dir"] = str(curated)
    raw["model"].update(widths=[4, 8], dense=8)
    raw["train"].update(batch_size=16, steps=6, warmup_steps=1, max_shift=1)
    raw["active"].update(
        seeds=[0, 1], initial_size=8, query_size=5, rounds=2, committee_size=2, mc_samples=4
    )
    raw["ablations"].update(seeds=[0, 1], initial_size=[6], query_size=[3], label_noise=[0.2])
    return params_from_dict(raw)


def test_stage_writes_rounds_and_queries(pool: Split, test_split: Split, tmp_path: Path) -> None:
    _write_curated(tmp_path / "curated", pool, test_split)
    params = _tiny_params(tmp_path / "curated")
    out = run_strategy(params, "entropy", tmp_path / "results")
    rounds = pd.read_csv(out / "rounds.csv")
    queries = pd.read_csv(out / "queries.csv", dtype={"id": str})
    assert rounds.groupby("seed").size().tolist() == [3, 3]
    assert (rounds["strategy"] == "entropy").all() and len(queries) == 2 * 2 * 5
    assert set(queries["id"]) <= set(pool.ids)
    first = (out / "rounds.csv").read_bytes()
    run_strategy(params, "entropy", tmp_path / "results")  # resumes: nothing left to do
    assert (out / "rounds.csv").read_bytes() == first

    ab = pd.read_csv(
        run_ablation(params, "label_noise", "random", tmp_path / "results") / "rounds.csv"
    )
    assert ab["label_noise"].unique().tolist() == [0.2]
    assert ab.groupby("seed")["n_labels"].max().tolist() == [18, 18]


def test_run_specs_covers_every_seed(pool: Split, test_split: Split, tmp_path: Path) -> None:
    active = ActiveConfig(seeds=(3, 4), initial_size=8, query_size=5, rounds=1)
    rounds, queries = run_specs(
        specs_for(active, "random"), tiny_cnn, pool, test_split, tmp_path, progress=False
    )
    assert sorted(rounds["seed"].unique()) == [3, 4] and len(queries) == 10

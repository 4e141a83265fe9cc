"""The active-learning loop and strategies, on small generated images and a tiny real CNN."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog import io
from foxdog.active import loop, state, workers
from foxdog.active import strategies as strategies_module
from foxdog.active.loop import Experiment, run_specs
from foxdog.active.protocol import (
    QUERY_COLUMNS,
    ROUND_COLUMNS,
    RunSpec,
    initial_indices,
    oracle_labels,
    specs_for,
)
from foxdog.active.state import source_hash, state_path
from foxdog.active.strategies import REGISTRY, bald_scores, get_strategy, k_center_greedy
from foxdog.config import ActiveConfig, Params, params_from_dict, to_dict
from foxdog.data import arrays
from foxdog.data.arrays import Split
from foxdog.io import write_npy
from foxdog.metrics import agreement_kappa
from foxdog.model.estimator import FlaxCNNClassifier
from foxdog.registry import STRATEGIES, STRATEGY_WORDS
from foxdog.stages import ablate, al

sys.path.insert(0, str(Path(__file__).parent))
import tiny_models  # noqa: E402
from tiny_models import TINY  # noqa: E402

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


ENCODER: dict[str, str] = {}  # the tiny encoder file TypiClust clusters with (fixture below)


def tiny_cnn(seed: int, **kw: object) -> FlaxCNNClassifier:
    return tiny_models.tiny_cnn(seed, **{"embed_encoder": ENCODER["path"], **kw})


@pytest.fixture(scope="module", autouse=True)
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An encoder file for the tiny CNN (as `pretrain@simclr` writes them): a seed-99 trunk."""
    import jax

    from foxdog.model import train
    from foxdog.model.encoder import save_encoder

    spec = FlaxCNNClassifier(**TINY)._model_spec(2)
    trunk = train.trunk_of(train.init_params(spec, jax.random.key(99)))
    path = tmp_path_factory.mktemp("encoder") / "simclr.msgpack"
    save_encoder(path, trunk, {"widths": [4, 8], "stem": 2, "method": "simclr"})
    ENCODER["path"] = str(path)
    return str(path)


@pytest.fixture(scope="module")
def pool() -> Split:
    return make_split(90, seed=1)


@pytest.fixture(scope="module")
def test_split() -> Split:
    return make_split(30, seed=2)


@pytest.fixture(scope="module")
def val_split() -> Split:
    return make_split(24, seed=3)


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


def run(
    strategy: str, pool: Split, test: Split, path: Path, factory=tiny_cnn, val=None, **kw
) -> dict:
    return Experiment(spec(strategy, **kw), factory, pool, test, path, val=val).run()


def frame(state: dict) -> pd.DataFrame:
    rounds = pd.DataFrame(state["rounds"]).drop(columns=TIMING)
    return rounds[sorted(rounds.columns)]


def test_registry_names_match_params() -> None:
    assert tuple(REGISTRY) == STRATEGIES == tuple(STRATEGY_WORDS)
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        get_strategy("nope")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_queries_distinct_unlabelled_images(
    strategy: str, pool: Split, test_split: Split, val_split: Split, tmp_path: Path
) -> None:
    state = run(strategy, pool, test_split, tmp_path / "s.json", val=val_split)
    rounds, queries = state["rounds"], pd.DataFrame(state["queries"])
    assert [r["n_labels"] for r in rounds] == [8, 13, 18]
    assert len(queries) == 10
    assert queries["id"].is_unique  # never the same image twice
    init = set(pool.ids[initial_indices(pool.labels, 8, 0)])
    assert not init & set(queries["id"])  # never an already-labelled one
    assert queries.groupby("round")["rank"].apply(list).tolist() == [list(range(5))] * 2
    assert np.isfinite(queries["score"]).all() and queries["confidence"].between(0.5, 1).all()
    assert queries["predicted"].isin([0, 1]).all()
    for r in rounds:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["log_loss"] > 0 and 0 <= r["macro_f1"] <= 1
    assert -1.0 <= rounds[2]["kappa_stop"] <= 1.0 and np.isnan(rounds[0]["kappa_stop"])
    assert all(0.0 <= r["val_accuracy"] <= 1.0 for r in rounds)


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


def counting_factory(fits: dict[str, int], fail_at: int | None = None):  # noqa: ANN201
    """An estimator factory whose fits add to ``fits["n"]``; fit number ``fail_at`` raises."""

    def factory(seed: int) -> FlaxCNNClassifier:
        est = tiny_cnn(seed)
        original = est.fit

        def fit(X, y):  # noqa: ANN001, ANN202
            fits["n"] += 1
            if fits["n"] == fail_at:
                raise Interrupt
            return original(X, y)

        est.fit = fit  # type: ignore[method-assign]
        return est

    return factory


def test_resume_after_interrupt_equals_uninterrupted_run(
    pool: Split, test_split: Split, tmp_path: Path
) -> None:
    full = run("bald", pool, test_split, tmp_path / "full.json", rounds=3)
    flaky = counting_factory({"n": 0}, fail_at=3)  # dies while training round 2
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
    monkeypatch.setattr(state, "code_version", lambda: "edited")
    assert (
        Experiment(spec("random", rounds=1), tiny_cnn, pool, test_split, path).fp
        != first["fingerprint"]
    )


def test_code_version_tracks_the_stage_sources() -> None:
    assert state.code_version() == state.code_version()
    assert len(state.code_version()) == 64


def test_initial_set_is_stratified_and_seeded() -> None:
    labels = np.array([1] * 30 + [0] * 70)
    idx = initial_indices(labels, 10, seed=3)
    assert len(set(idx)) == 10 and labels[idx].sum() == 3
    assert np.array_equal(idx, initial_indices(labels, 10, seed=3))
    assert not np.array_equal(idx, initial_indices(labels, 10, seed=4))


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.2])
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_oracle_noise_rate_is_honoured(noise: float, n_classes: int) -> None:
    labels = np.random.default_rng(0).integers(0, n_classes, 20_000)
    answers = oracle_labels(labels, noise, seed=5, n_classes=n_classes)
    flipped = np.mean(answers != labels)
    # Binomial standard error at n=20,000 is <= 0.0029: 4 sigma.
    assert abs(flipped - noise) < 0.012
    assert set(np.unique(answers)) <= set(range(n_classes))
    assert np.array_equal(answers, oracle_labels(labels, noise, seed=5, n_classes=n_classes))


def test_oracle_wrong_labels_are_uniform_over_the_other_classes() -> None:
    labels = np.zeros(30_000, dtype=np.int64)
    answers = oracle_labels(labels, 0.5, seed=1, n_classes=4)
    wrong = answers[answers != 0]
    shares = np.bincount(wrong, minlength=4)[1:] / len(wrong)
    # ~15,000 wrong answers: each share's standard error is ~0.004.
    np.testing.assert_allclose(shares, 1 / 3, atol=0.02)
    # Two classes: a wrong label is the other class, as a flip.
    two = oracle_labels(labels + 1, 0.5, seed=1, n_classes=2)
    assert set(np.unique(two)) == {0, 1}


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


def _write_curated(root: Path, pool: Split, test: Split, val: Split | None = None) -> None:
    splits = [("pool", pool), ("test", test)] + ([("val", val)] if val is not None else [])
    for name, split in splits:
        write_npy(root / f"{name}_images.npy", split.images)
        write_npy(root / f"{name}_labels.npy", split.labels)
        write_npy(root / f"{name}_ids.npy", split.ids)


def _tiny_params(curated: Path) -> Params:
    raw = to_dict(Params())
    raw["data"]["out_dir"] = str(curated)
    # The stage checks the budgets and the image size against the curated pool.
    raw["data"]["image_size"] = int(np.load(curated / "pool_images.npy").shape[1])
    raw["model"].update(widths=[4, 8], dense=8)
    raw["train"].update(batch_size=16, steps=6, warmup_steps=1, max_shift=1)
    raw["active"].update(
        starts=["scratch"],
        strategies=["random", "margin", "entropy"],
        seeds=[0, 1],
        initial_size=8,
        query_size=5,
        rounds=2,
        committee_size=2,
        mc_samples=4,
    )
    raw["ablations"].update(
        start="scratch", seeds=[0, 1], initial_size=[6], query_size=[3], label_noise=[0.2]
    )
    return params_from_dict(raw)


def test_stage_writes_rounds_and_queries(
    pool: Split,
    test_split: Split,
    val_split: Split,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No-op once the validation split is in foxdog.data.arrays.SPLITS (branch rel-data).
    monkeypatch.setattr(arrays, "SPLITS", tuple(dict.fromkeys((*arrays.SPLITS, "val"))))
    _write_curated(tmp_path / "curated", pool, test_split, val_split)
    params = _tiny_params(tmp_path / "curated")
    out = al.run(params, "entropy", "scratch", tmp_path / "results")
    assert out == tmp_path / "results" / "scratch" / "entropy"
    rounds = pd.read_csv(out / "rounds.csv")
    queries = pd.read_csv(out / "queries.csv", dtype={"id": str})
    assert tuple(rounds.columns) == ROUND_COLUMNS and tuple(queries.columns) == QUERY_COLUMNS
    # the stage runs each seed in a worker pinned to one core
    one_core = re.sub(r":\d+cpu$", ":1cpu", state.machine_kind())
    assert rounds["machine"].nunique() == 1 and rounds["machine"][0] == one_core
    assert rounds["kappa_stop"].isna().tolist() == [True, False, False] * 2
    assert rounds["val_accuracy"].between(0, 1).all()
    assert rounds.groupby("seed").size().tolist() == [3, 3]
    assert (rounds["strategy"] == "entropy").all() and len(queries) == 2 * 2 * 5
    assert (rounds["start"] == "scratch").all() and (queries["start"] == "scratch").all()
    assert set(queries["id"]) <= set(pool.ids)
    first = (out / "rounds.csv").read_bytes()
    al.run(params, "entropy", "scratch", tmp_path / "results")  # resumes: nothing to do
    assert (out / "rounds.csv").read_bytes() == first

    ab = pd.read_csv(
        ablate.run(params, "label_noise", "random", tmp_path / "results") / "rounds.csv"
    )
    assert ab["label_noise"].unique().tolist() == [0.2]
    assert (ab["start"] == params.ablations.start).all()
    assert ab.groupby("seed")["n_labels"].max().tolist() == [18, 18]


def test_run_specs_covers_every_seed(pool: Split, test_split: Split, tmp_path: Path) -> None:
    active = ActiveConfig(seeds=(3, 4), initial_size=8, query_size=5, rounds=1)
    rounds, queries = run_specs(
        specs_for(active, "random"), tiny_cnn, pool, test_split, tmp_path, progress=False
    )
    assert sorted(rounds["seed"].unique()) == [3, 4] and len(queries) == 10


# -- strategies called directly ------------------------------------------------


def test_interrupt_inside_a_strategy_is_not_swallowed(
    pool: Split, test_split: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # modAL's learner.query has a bare `except:`; the loop must let Ctrl-C through.
    def interrupted(classifier, X_pool, n_instances=1, random_state=None):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    monkeypatch.setitem(REGISTRY, "random", interrupted)
    path = tmp_path / "s.json"
    with pytest.raises(KeyboardInterrupt):
        run("random", pool, test_split, path)
    assert len(json.loads(path.read_text())["rounds"]) == 1  # round 0 was saved


def test_committee_belief_is_the_consensus(pool: Split, test_split: Split, tmp_path: Path) -> None:
    state = run("committee", pool, test_split, tmp_path / "c.json", rounds=1)
    init = initial_indices(pool.labels, 8, 0)
    chosen = [int(np.flatnonzero(pool.ids == i)[0]) for i in state["queries"]["id"]]
    members = [
        tiny_cnn(1000 * k)
        .fit(pool.images[init], pool.labels[init])
        .predict_proba(pool.images[chosen])[:, 1]
        for k in range(2)
    ]
    consensus = np.mean(members, axis=0)
    np.testing.assert_allclose(
        state["queries"]["confidence"], np.maximum(consensus, 1 - consensus), rtol=1e-12
    )
    assert state["queries"]["predicted"] == (consensus > 0.5).astype(int).tolist()
    assert not np.allclose(consensus, members[0])


def test_stop_set_kappa_and_val_accuracy(
    pool: Split, test_split: Split, val_split: Split, tmp_path: Path
) -> None:
    state = run("margin", pool, test_split, tmp_path / "m.json", val=val_split, rounds=1)
    labelled = np.array(state["labelled"])
    preds = [
        tiny_cnn(0)
        .fit(pool.images[labelled[:n]], pool.labels[labelled[:n]])
        .predict(val_split.images)
        for n in (8, 13)
    ]
    r0, r1 = state["rounds"]
    assert r0["val_accuracy"] == pytest.approx(np.mean(preds[0] == val_split.labels))
    assert r1["val_accuracy"] == pytest.approx(np.mean(preds[1] == val_split.labels))
    assert np.isnan(r0["kappa_stop"])
    assert r1["kappa_stop"] == pytest.approx(agreement_kappa(preds[0], preds[1]))
    # Resuming restores the previous round's stop-set predictions from the state.
    longer = run("margin", pool, test_split, tmp_path / "m.json", val=val_split, rounds=2)
    fresh = run("margin", pool, test_split, tmp_path / "f.json", val=val_split, rounds=2)
    pd.testing.assert_frame_equal(frame(longer), frame(fresh))


def test_agreement_kappa() -> None:
    assert agreement_kappa(np.array([1, 1]), np.array([1, 1])) == 1.0
    assert agreement_kappa(np.array([0, 1, 0, 1]), np.array([1, 0, 1, 0])) == -1.0


# -- cold start -------------------------------------------------------------------


def test_typiclust_picks_ignore_the_labels_given(pool: Split) -> None:
    # Same labelled images, opposite labels: the fine-tuned networks differ, the picks do not.
    labelled = initial_indices(pool.labels, 12, 0)
    rest = pool.images[np.setdiff1d(np.arange(len(pool)), labelled)]
    learners = [
        loop.ActiveLearner(estimator=tiny_cnn(0), X_training=pool.images[labelled], y_training=y)
        for y in (pool.labels[labelled], 1 - pool.labels[labelled])
    ]
    assert not np.allclose(learners[0].estimator.embed(rest), learners[1].estimator.embed(rest))
    (idx_a, score_a), (idx_b, score_b) = (
        strategies_module.typiclust(learner, rest, 6, random_state=5) for learner in learners
    )
    np.testing.assert_array_equal(idx_a, idx_b)
    np.testing.assert_array_equal(score_a, score_b)


def test_identity_hashes_the_typiclust_encoder_and_tolerates_its_absence(
    tmp_path: Path, tiny_encoder: str
) -> None:
    ident = state.estimator_identity(tiny_cnn(0).get_params())
    assert ident["embed_encoder"] == f"sha256:{io.sha256_file(Path(tiny_encoder))}"
    # A project without pretrained encoders runs every strategy but TypiClust ...
    absent = str(tmp_path / "simclr.msgpack")
    assert (
        state.estimator_identity(tiny_cnn(0, embed_encoder=absent).get_params())["embed_encoder"]
        == "absent"
    )
    with pytest.raises(FileNotFoundError, match="simclr.msgpack: encoder not found"):
        tiny_cnn(0, embed_encoder=absent).pretrained_embed(make_split(3, 0).images)
    # ... while the encoder a start trains from is required.
    with pytest.raises(FileNotFoundError, match="simclr.msgpack: encoder not found"):
        state.estimator_identity(tiny_cnn(0, start="transfer", encoder=absent).get_params())


def test_typiclust_initial_set_uses_the_pretrained_embedding(
    pool: Split, test_split: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def typiclust_initial(embeddings, n, random_state):  # noqa: ANN001, ANN202
        calls.append((embeddings, n, random_state))
        # Deterministic, label-blind pick: the n images nearest the embedding mean.
        return np.argsort(((embeddings - embeddings.mean(0)) ** 2).sum(1), kind="stable")[:n]

    monkeypatch.setattr(strategies_module, "typiclust_initial", typiclust_initial)
    state = run("random", pool, test_split, tmp_path / "t.json", rounds=1, initial="typiclust")
    (emb, n, rs), *_ = calls
    assert n == 8 and rs == 0
    np.testing.assert_array_equal(emb, tiny_cnn(0).pretrained_embed(pool.images))
    assert state["labelled"][:8] == typiclust_initial(emb, 8, 0).tolist()
    assert state["labelled"][:8] != initial_indices(pool.labels, 8, 0).tolist()
    assert "initial" in state["spec"] and state["spec"]["initial"] == "typiclust"
    # The method is part of the state's identity: a random-initial run does not reuse it.
    assert spec("random", initial="typiclust").tag() != spec("random").tag()


# -- saved state: validation, extension, layout -------------------------------------


@pytest.fixture(scope="module")
def saved_state(pool: Split, test_split: Split, tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("saved") / "s.json"
    run("random", pool, test_split, path, rounds=2)
    return json.loads(path.read_text())


def _cut_rounds(s: dict) -> None:
    s["rounds"] = s["rounds"][:2]  # rounds cut short, labelled and queries left long


def _drop_query(s: dict) -> None:
    for values in s["queries"].values():
        values.pop()


MALFORMED = {
    "not an object": lambda s: s.clear() or s.update({"x": []}),
    "missing key": lambda s: s.pop("labelled"),
    "unexpected key": lambda s: s.update(extra=1),
    "rounds cut short": _cut_rounds,
    "rounds misnumbered": lambda s: s["rounds"][1].update(round=5),
    "record not a dict": lambda s: s["rounds"].__setitem__(0, "garbage"),
    "record value text": lambda s: s["rounds"][0].update(accuracy="high"),
    "accuracy NaN": lambda s: s["rounds"][1].update(accuracy=float("nan")),  # issue 19
    "fit_seconds infinite": lambda s: s["rounds"][0].update(fit_seconds=float("inf")),
    "query_seconds NaN after round 0": lambda s: s["rounds"][2].update(query_seconds=float("nan")),
    "n_labels wrong": lambda s: s["rounds"][2].update(n_labels=99),
    "labelled too short": lambda s: s["labelled"].pop(),
    "labelled repeats": lambda s: s["labelled"].__setitem__(-1, s["labelled"][0]),
    "labelled not ints": lambda s: s["labelled"].__setitem__(0, "7"),
    "query round beyond k": lambda s: s["queries"]["round"].__setitem__(-1, 3),
    "query count": _drop_query,
    "query id": lambda s: s["queries"]["id"].__setitem__(0, "0" * 16),
    "queries not columns": lambda s: s.update(queries=[]),
    "version": lambda s: s.update(version=1),
    "spec": lambda s: s["spec"].update(query_size=7),
    "machine": lambda s: s.update(machine="cpu:x86_64:base"),
}


@pytest.mark.parametrize("name", [*MALFORMED, "not json"])
def test_malformed_state_is_discarded_with_one_line_warning(
    name: str,
    saved_state: dict,
    pool: Split,
    test_split: Split,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "s.json"
    if name == "not json":
        path.write_text('{"rounds": [')
    else:
        state = json.loads(json.dumps(saved_state))
        MALFORMED[name](state)
        path.write_text(json.dumps(state))
    result = run("random", pool, test_split, path, rounds=2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"foxdog: warning: {path}: run state ignored")
    assert "Traceback" not in err
    assert [r["n_labels"] for r in result["rounds"]] == [8, 13, 18]
    assert result["queries"] == saved_state["queries"]  # started over, same numbers
    assert json.loads(path.read_text())["queries"] == saved_state["queries"]


def test_valid_state_is_reused_silently(
    saved_state: dict,
    pool: Split,
    test_split: Split,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(saved_state))

    def no_fit(seed: int) -> FlaxCNNClassifier:
        est = tiny_cnn(seed)
        est.fit = None  # type: ignore[method-assign]  # any fit would raise TypeError
        return est

    result = run("random", pool, test_split, path, factory=no_fit, rounds=2)
    assert result["rounds"] == saved_state["rounds"] and capsys.readouterr().err == ""


def test_longer_run_extends_and_shorter_run_truncates(
    pool: Split, test_split: Split, val_split: Split, tmp_path: Path
) -> None:
    path = state_path(tmp_path, spec("margin"))
    assert "rounds" not in spec("margin").identity()
    assert spec("margin", rounds=2).tag() == spec("margin", rounds=10).tag()
    run("margin", pool, test_split, path, val=val_split, rounds=2)
    fits = {"n": 0}
    counting = counting_factory(fits)

    extended = run("margin", pool, test_split, path, factory=counting, val=val_split, rounds=3)
    assert fits["n"] == 2  # refit on the saved labels + round 3; rounds 0-2 not redone
    full = run("margin", pool, test_split, tmp_path / "full.json", val=val_split, rounds=3)
    pd.testing.assert_frame_equal(frame(extended), frame(full))
    assert extended["queries"] == full["queries"] and extended["labelled"] == full["labelled"]

    before = path.read_bytes()
    fits["n"] = 0
    short = run("margin", pool, test_split, path, factory=counting, val=val_split, rounds=2)
    assert fits["n"] == 0 and path.read_bytes() == before
    pd.testing.assert_frame_equal(frame(short), frame(full).iloc[:3])
    assert short["queries"] == {k: v[:10] for k, v in full["queries"].items()}
    assert short["labelled"] == full["labelled"][:18]


def test_state_file_is_compact_json(saved_state: dict, tmp_path: Path) -> None:
    text = state.dumps_state(saved_state)
    assert json.loads(text) == json.loads(json.dumps(saved_state))  # NaN-tolerant round trip
    assert len(text.splitlines()) == len(saved_state) + 2  # one line per top-level key
    assert ", " not in text and len(text) < 0.7 * len(json.dumps(saved_state, indent=2))


def test_state_path_is_keyed_by_machine_and_protocol(tmp_path: Path) -> None:
    path = state_path(tmp_path, spec("bald", rounds=7))
    assert path.relative_to(tmp_path).parts == (
        state.machine_slug(state.machine_kind()),
        "n8-q5-noise0-random-mc4",
        "seed_0.json",
    )
    assert spec("committee").tag().endswith("-c2")
    assert state.machine_slug("gpu:NVIDIA H200") == "gpu-NVIDIA-H200"


def test_avx512_machines_with_other_extensions_are_other_kinds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def kind(flags: set[str]) -> str:
        monkeypatch.setattr(state, "_cpu_flags", lambda: frozenset(flags))
        state.machine_kind.cache_clear()
        return state.machine_kind()

    monkeypatch.setattr(state.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(workers, "core_count", lambda: 2)
    try:
        if state.machine_kind().startswith("cpu:"):
            assert kind({"avx512f", "avx2", "fma"}) == "cpu:x86_64:avx512:2cpu"
            assert kind({"avx512f", "amx_tile", "avx512_fp16"}) == "cpu:x86_64:avx512-fp16-amx:2cpu"
            assert kind({"avx2", "fma", "amx_tile"}) == "cpu:x86_64:avx2:2cpu"
            # XLA splits its sums over the cores the process may use: another count, another kind
            monkeypatch.setattr(workers, "core_count", lambda: 1)
            assert kind({"avx2", "fma"}) == "cpu:x86_64:avx2:1cpu"
    finally:
        state.machine_kind.cache_clear()


# -- fingerprint: machine kind and code ---------------------------------------------


def test_machine_kind_is_in_the_fingerprint(
    pool: Split, test_split: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = state.machine_kind()
    assert kind.split(":")[0] in {"cpu", "gpu", "cuda", "rocm", "tpu"}
    if kind.startswith("cpu:"):
        tier, *extras = kind.split(":")[2].split("-")
        assert tier in {"avx512", "avx2", "sve", "neon", "base"}
        assert kind.split(":")[3] == f"{workers.core_count()}cpu"
        assert extras == [name for _, name in state.AVX512_EXTRAS if name in extras]
    fp = Experiment(spec("random"), tiny_cnn, pool, test_split, tmp_path / "s.json").fp
    monkeypatch.setattr(state, "machine_kind", lambda: "cpu:x86_64:avx2")
    assert Experiment(spec("random"), tiny_cnn, pool, test_split, tmp_path / "s.json").fp != fp


CODE = """
def f(x):
    return x + 1
"""


def test_source_hash_ignores_comments_and_docstrings() -> None:
    documented = '''"""Module docstring."""


def f(x):  # a comment
    """Add one."""

    # why: because
    return x + 1
'''
    assert source_hash(documented) == source_hash(CODE)
    assert source_hash(CODE.replace("+ 1", "+ 2")) != source_hash(CODE)
    assert source_hash("def f():\n    return 1\n") != source_hash("def f():\n    pass\n")


def test_code_version_ignores_docs_but_not_code(tmp_path: Path) -> None:
    import shutil

    package = Path(loop.__file__).resolve().parents[1]
    copy = tmp_path / "foxdog"
    for part in ("model", "active"):
        shutil.copytree(package / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(package / "metrics.py", copy / "metrics.py")
    base = state.code_version(copy)
    assert base == state.code_version()
    target = copy / "model" / "train.py"
    source = target.read_text()
    target.write_text('"""Edited docstring."""\n# a comment\n' + source.split('"""', 2)[2])
    assert state.code_version(copy) == base
    target.write_text(source.replace("PREDICT_CHUNK = ", "PREDICT_CHUNK = 1 + ", 1))
    assert state.code_version(copy) != base


def test_code_version_ignores_which_module_of_the_set_a_definition_lives_in(
    tmp_path: Path,
) -> None:
    import inspect
    import shutil

    package = Path(loop.__file__).resolve().parents[1]
    copy = tmp_path / "foxdog"
    for part in ("model", "active"):
        shutil.copytree(package / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(package / "metrics.py", copy / "metrics.py")
    base = state.code_version(copy)
    moved = inspect.getsource(oracle_labels)
    protocol_file, state_file = copy / "active" / "protocol.py", copy / "active" / "state.py"
    protocol_file.write_text(protocol_file.read_text().replace(moved, ""))
    state_file.write_text(state_file.read_text() + "\n\n" + moved)
    assert state.code_version(copy) == base
    state_file.write_text(state_file.read_text().replace("% n_classes", "% (n_classes + 1)"))
    assert state.code_version(copy) != base


def test_typiclust_initial_set_with_the_real_selector(
    pool: Split, test_split: Split, tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    state = run("margin", pool, test_split, path, rounds=1, initial="typiclust")
    emb = tiny_cnn(0).pretrained_embed(pool.images)
    expected = strategies_module.typiclust_initial(emb, 8, random_state=0)
    assert state["labelled"][:8] == np.asarray(expected).tolist()
    assert len(set(state["labelled"])) == 13
    # The saved state passes its checks (initial set recomputed) and is extended.
    longer = run("margin", pool, test_split, path, rounds=2, initial="typiclust")
    assert longer["labelled"][:13] == state["labelled"] and len(longer["labelled"]) == 18

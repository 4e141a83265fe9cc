"""Tests for foxdog/model: the CNN, its jitted training, and the scikit-learn estimator.

Small generated 16x16 images (foxes are reddish blobs, dogs bluish-grey ones)
and a few dozen optimiser steps keep the whole file fast on 2 CPU cores. The
hyper-parameter sets are few on purpose: each new one costs a compilation.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as ec

from foxdog.config import ModelConfig, TrainConfig
from foxdog.model import train
from foxdog.model.cnn import space_to_depth
from foxdog.model.estimator import FlaxCNNClassifier, check_images

# epochs 0: exactly ``steps`` steps, and no flip TTA (params.yaml's defaults are 40 / true).
SMALL = dict(
    widths=(8, 16),
    dense=16,
    stem=2,
    batch_size=16,
    steps=40,
    epochs=0.0,
    warmup_steps=4,
    max_shift=2,
    tta_flip=False,
)


def make_images(n: int, seed: int = 0, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Noisy backgrounds with one blob each: reddish for foxes (1), bluish-grey for dogs (0)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(110, 25, (n, size, size, 3))
    for i in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        blob = (yy - cy) ** 2 + (xx - cx) ** 2 < (size * rng.uniform(0.2, 0.35)) ** 2
        colour = (200, 90, 40) if y[i] else (90, 110, 170)
        images[i][blob] = np.asarray(colour) + rng.normal(0, 20, (blob.sum(), 3))
    return np.clip(images, 0, 255).astype(np.uint8), y.astype(np.int64)


@functools.cache
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x_train, y_train = make_images(48, seed=1)
    x_test, y_test = make_images(40, seed=2)
    return x_train, y_train, x_test, y_test


@functools.cache
def fitted(seed: int = 0) -> FlaxCNNClassifier:
    x, y, _, _ = data()
    return FlaxCNNClassifier(**SMALL, seed=seed).fit(x, y)


# ---------------------------------------------------------------- cnn / train


def test_space_to_depth_keeps_every_pixel():
    x = jnp.arange(2 * 4 * 6 * 3).reshape(2, 4, 6, 3)
    y = space_to_depth(x, 2)
    assert y.shape == (2, 2, 3, 12)
    np.testing.assert_array_equal(np.sort(np.asarray(y).ravel()), np.asarray(x).ravel())
    np.testing.assert_array_equal(y[0, 0, 0], np.asarray(x[0, :2, :2]).ravel())


def test_batch_indices_balanced_and_fixed_shape():
    rng = np.random.default_rng(0)
    idx = train.batch_indices(10, steps=7, batch_size=16, rng=rng)  # fewer images than a batch
    assert idx.shape == (7, 16)
    counts = np.bincount(idx.ravel(), minlength=10)
    assert counts.max() - counts.min() <= 1
    assert train.batch_indices(1000, 3, 16, rng).shape == (3, 16)


def test_augment_preserves_content_and_is_off_when_disabled():
    x, _, _, _ = data()
    batch = jnp.asarray(x[:8])
    key = jax.random.key(0)
    off = train.TrainSpec(flip=False, max_shift=0)
    np.testing.assert_array_equal(train.augment(batch, key, off), batch.astype(jnp.float32))
    flipped = train.augment(batch, key, train.TrainSpec(flip=True, max_shift=0))
    for a, b in zip(np.asarray(flipped), x[:8], strict=True):
        assert np.array_equal(a, b) or np.array_equal(a, b[:, ::-1])
    shifted = train.augment(batch, key, train.TrainSpec(flip=False, max_shift=3))
    assert shifted.shape == batch.shape
    assert not np.array_equal(np.asarray(shifted), x[:8])


# ---------------------------------------------------------------- estimator behaviour


def test_fit_predict_learns_the_toy_task():
    x, y, x_test, y_test = data()
    clf = fitted()
    proba = clf.predict_proba(x_test)
    assert proba.dtype == np.float64 and proba.shape == (len(x_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == [0, 1]
    assert clf.score(x_test, y_test) >= 0.85
    assert set(clf.predict(x_test)) <= {0, 1}
    assert clf.loss_curve_.shape == (SMALL["steps"],)
    assert clf.loss_curve_[-5:].mean() < clf.loss_curve_[:5].mean()


def test_no_recompilation_as_the_labelled_set_grows():
    x, y, x_test, _ = data()
    # A spec no other test uses, so its traces all happen here (stem=1 covers that path too).
    # epochs=5: 10 steps up to 32 images, then more (48 images -> 15 steps).
    params = dict(SMALL, dense=12, stem=1, steps=10, epochs=5.0, warmup_steps=1)
    before = dict(train.TRACES)
    lengths = []
    for n in (3, 7, 16, 29, 48):  # smaller and larger than batch_size
        sel = np.r_[np.flatnonzero(y == 0)[: n - n // 2], np.flatnonzero(y == 1)[: n // 2]]
        clf = FlaxCNNClassifier(**params, seed=n).fit(x[sel], y[sel])
        clf.predict_proba(x_test[: n % 5 + 1])  # pool sizes vary too
        lengths.append(len(clf.loss_curve_))
    assert lengths == [10, 10, 10, 10, 15]  # step counts vary, the program does not
    clone(clf).fit(x, y).predict_proba(x_test)  # clones share the cache
    delta = {k: v - before.get(k, 0) for k, v in train.TRACES.items()}
    assert delta["train_step"] == 1
    assert delta["predict"] == 1
    assert delta["init"] == 1


def test_fit_is_deterministic_and_seed_dependent():
    x, y, x_test, _ = data()
    a = fitted(0)
    b = FlaxCNNClassifier(**SMALL, seed=0).fit(x, y)
    np.testing.assert_array_equal(a.predict_proba(x_test), b.predict_proba(x_test))
    np.testing.assert_array_equal(a.embed(x_test), b.embed(x_test))
    np.testing.assert_array_equal(
        a.predict_proba_mc(x_test, 3, seed=5), b.predict_proba_mc(x_test, 3, seed=5)
    )
    c = fitted(1)
    assert not np.array_equal(a.predict_proba(x_test), c.predict_proba(x_test))


def test_same_seed_same_initial_weights():
    spec = train.ModelSpec(widths=(8, 16), dense=16)
    a = train.init_params(spec, jax.random.key(3))
    b = train.init_params(spec, jax.random.key(3))
    c = train.init_params(spec, jax.random.key(4))
    leaves = list(zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(c), strict=True))
    assert all(np.array_equal(p, q) for p, q, _ in leaves)
    assert not all(np.array_equal(p, r) for p, _, r in leaves)


def test_float_images_in_unit_range_match_uint8():
    _, _, x_test, _ = data()
    clf = fitted()
    np.testing.assert_array_equal(
        clf.predict_proba(x_test), clf.predict_proba(x_test.astype(np.float32) / 255.0)
    )


def test_embed_and_mc_dropout():
    _, _, x_test, _ = data()
    clf = fitted()
    emb = clf.embed(x_test)
    assert emb.dtype == np.float32 and emb.shape == (len(x_test), SMALL["dense"])
    mc = clf.predict_proba_mc(x_test, n_samples=8, seed=0)
    assert mc.shape == (8, len(x_test), 2) and mc.dtype == np.float64
    np.testing.assert_allclose(mc.sum(axis=-1), 1.0)
    assert np.ptp(mc[:, :, 1], axis=0).max() > 0  # dropout is active: samples differ
    assert not np.array_equal(mc, clf.predict_proba_mc(x_test, n_samples=8, seed=1))
    # Averaged MC-dropout predictions agree with the deterministic ones.
    agree = (mc.mean(axis=0).argmax(1) == clf.predict_proba(x_test).argmax(1)).mean()
    assert agree >= 0.9


def test_predictions_do_not_depend_on_chunking():
    x, _, _, _ = data()
    clf = fitted()
    pool = np.concatenate([x] * 6)  # > PREDICT_CHUNK images: several chunks, last one padded
    assert len(pool) > train.PREDICT_CHUNK
    full = clf.predict_proba(pool)
    np.testing.assert_allclose(full[: len(x)], clf.predict_proba(x), rtol=0, atol=1e-6)
    np.testing.assert_allclose(full[-len(x) :], clf.predict_proba(x), rtol=0, atol=1e-6)


def test_classes_fix_the_column_order():
    x, y, x_test, _ = data()
    names = np.array(["dog", "fox"])[y]
    clf = FlaxCNNClassifier(**SMALL, classes=("dog", "fox")).fit(x, names)
    assert list(clf.classes_) == ["dog", "fox"]
    np.testing.assert_array_equal(clf.predict_proba(x_test), fitted().predict_proba(x_test))
    assert set(clf.predict(x_test)) <= {"dog", "fox"}
    inferred = FlaxCNNClassifier(**SMALL, classes=None).fit(x, y + 5)
    assert list(inferred.classes_) == [5, 6]


def test_clone_gives_an_unfitted_copy_with_the_same_params():
    clf = fitted()
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "params_")
    with pytest.raises(NotFittedError):
        copy.predict_proba(data()[2])


def test_from_config():
    clf = FlaxCNNClassifier.from_config(ModelConfig(), TrainConfig(), seed=3, steps=1500)
    assert clf.steps == 1500 and clf.seed == 3 and clf.widths == ModelConfig().widths
    assert FlaxCNNClassifier.from_config(ModelConfig(), TrainConfig()).steps == TrainConfig().steps


# ---------------------------------------------------------------- bad input

X_OK, Y_OK = make_images(6, seed=9)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (X_OK[..., 0], Y_OK, r"shape \(N, H, W, 3\)"),
        (X_OK[..., :2], Y_OK, r"shape \(N, H, W, 3\)"),
        (X_OK[:0], Y_OK[:0], "empty"),
        (X_OK.astype(np.int64), Y_OK, "dtype int64"),
        (X_OK.astype(np.float32), Y_OK, r"not in \[0, 1\]"),
        (np.where(X_OK > 100, np.nan, 0.5), Y_OK, "NaN"),
        (X_OK, Y_OK[:-1], "different lengths"),
        (X_OK, np.full(6, 2), r"labels \[2\] not in classes"),
        (X_OK, np.ones(6, int), "only one class"),
        (X_OK, Y_OK[:, None], "1-D"),
        (X_OK[:, :6, :6], Y_OK, "at least 8x8"),
    ],
)
def test_fit_rejects_bad_input(X, y, message):
    with pytest.raises(ValueError, match=message):
        FlaxCNNClassifier(**SMALL).fit(X, y)


def test_predict_rejects_bad_input():
    clf = fitted()
    with pytest.raises(NotFittedError):
        FlaxCNNClassifier().predict_proba(X_OK)
    with pytest.raises(ValueError, match="fitted on"):
        clf.predict_proba(make_images(2, size=24)[0])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(np.full((2, 16, 16, 3), np.nan))
    with pytest.raises(ValueError, match="empty"):
        clf.predict(X_OK[:0])
    with pytest.raises(ValueError, match="n_samples"):
        clf.predict_proba_mc(X_OK, 0)


def test_check_images_passes_uint8_through():
    assert check_images(X_OK) is X_OK


# ---------------------------------------------------------------- scikit-learn's own checks

# Checks that never fit or that fail before validating X apply to image input.
# All others generate 2-D tabular X (N, n_features) and so cannot apply to an
# image classifier that needs (N, H, W, 3): the dtype / NaN / empty-data /
# one-label / n_features_in_ / sample-order / subset / idempotence / pickle /
# memmap / classifiers_train families. Their image equivalents are the tests
# above (bad input, determinism, chunking, clone); scikit-learn itself skips
# every check for an estimator whose tags say it takes no 2-D arrays.
APPLICABLE_CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_estimators_unfitted,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_mixin_order,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
]


@pytest.mark.parametrize("check", APPLICABLE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_estimator_check(check):
    check("FlaxCNNClassifier", FlaxCNNClassifier(**SMALL))


# ---------------------------------------------------------------- modAL


@pytest.fixture
def modal():
    """modAL, made to work with scikit-learn >= 1.8 by foxdog.active.modal_compat."""
    from foxdog.active import modal_compat

    modal_compat.apply()
    import modAL

    return modAL


def test_modal_active_learner_and_committee(modal):
    from modAL.disagreement import vote_entropy_sampling
    from modAL.uncertainty import uncertainty_sampling

    x_pool, y_pool = make_images(40, seed=3)
    _, _, x_test, y_test = data()
    start = np.r_[np.flatnonzero(y_pool == 0)[:2], np.flatnonzero(y_pool == 1)[:2]]
    rest = np.setdiff1d(np.arange(len(x_pool)), start)

    learner = modal.ActiveLearner(
        estimator=FlaxCNNClassifier(**SMALL),
        query_strategy=uncertainty_sampling,
        X_training=x_pool[start],
        y_training=y_pool[start],
    )
    committee = modal.Committee(
        learner_list=[
            modal.ActiveLearner(
                estimator=FlaxCNNClassifier(**SMALL, seed=s),
                X_training=x_pool[start],
                y_training=y_pool[start],
            )
            for s in (0, 1)
        ],
        query_strategy=functools.partial(vote_entropy_sampling, random_tie_break=True),
    )
    pools = {"learner": rest.copy(), "committee": rest.copy()}
    for _ in range(3):
        for name, model in (("learner", learner), ("committee", committee)):
            idx, _ = model.query(x_pool[pools[name]], n_instances=4)
            assert len(set(idx)) == 4
            chosen = pools[name][idx]
            model.teach(x_pool[chosen], y_pool[chosen])
            pools[name] = np.setdiff1d(pools[name], chosen)
    assert learner.X_training.shape == (16, 16, 16, 3)
    assert learner.X_training.dtype == np.uint8
    assert learner.predict_proba(x_test).shape == (len(x_test), 2)
    assert committee.predict_proba(x_test).shape == (len(x_test), 2)
    assert learner.score(x_test, y_test) >= 0.7


# ---------------------------------------------------------------- pretrained start


def save_trunk_of(clf: FlaxCNNClassifier, path, **meta) -> str:
    from foxdog.model.encoder import save_encoder

    meta = {"widths": list(clf.widths), "stem": clf.stem, **meta}
    save_encoder(path, train.trunk_of(clf.params_), meta)
    return str(path)


def test_encoder_round_trip_and_seed_head(tmp_path):
    from foxdog.model.encoder import load_encoder

    path = save_trunk_of(fitted(), tmp_path / "enc.msgpack", method="supervised")
    trunk, meta = load_encoder(path)
    assert meta["method"] == "supervised"
    for a, b in zip(
        jax.tree.leaves(trunk), jax.tree.leaves(train.trunk_of(fitted().params_)), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    spec = FlaxCNNClassifier(**SMALL)._model_spec(2)
    seed_params = train.init_params(spec, jax.random.key(3))
    started = train.with_trunk(seed_params, trunk)
    # The head comes from the seed, the trunk from the file; the seed's params are untouched.
    for part in ("hidden", "out"):
        leaves = zip(
            jax.tree.leaves(started[part]), jax.tree.leaves(seed_params[part]), strict=True
        )
        for a, b in leaves:
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        started["blocks"][0]["conv"]["kernel"][...], seed_params["blocks"][0]["conv"]["kernel"][...]
    )


def test_transfer_with_frozen_trunk_keeps_encoder_and_learns_head(tmp_path):
    path = save_trunk_of(fitted(), tmp_path / "enc.msgpack")
    x, y, xt, yt = data()
    clf = FlaxCNNClassifier(**SMALL, seed=5, start="transfer", encoder=path, trunk_lr=0.0)
    clf.fit(x, y)
    for a, b in zip(
        jax.tree.leaves(train.trunk_of(clf.params_)),
        jax.tree.leaves(train.trunk_of(fitted().params_)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    assert clf.score(xt, yt) >= 0.8
    again = FlaxCNNClassifier(**SMALL, seed=5, start="transfer", encoder=path, trunk_lr=0.0)
    np.testing.assert_array_equal(again.fit(x, y).predict_proba(xt), clf.predict_proba(xt))


def test_transfer_refuses_bad_encoders(tmp_path):
    x, y, _, _ = data()
    other = save_trunk_of(fitted(), tmp_path / "enc.msgpack")
    wrong = dict(SMALL, widths=(8, 8))
    with pytest.raises(ValueError, match=r"enc.msgpack: encoder has widths \(8, 16\)"):
        FlaxCNNClassifier(**wrong, start="transfer", encoder=other).fit(x, y)
    with pytest.raises(FileNotFoundError, match="absent.msgpack: encoder not found"):
        FlaxCNNClassifier(**SMALL, start="selfsup", encoder=str(tmp_path / "absent.msgpack")).fit(
            x, y
        )
    (tmp_path / "junk.msgpack").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match="junk.msgpack: not a readable encoder file"):
        FlaxCNNClassifier(**SMALL, start="transfer", encoder=str(tmp_path / "junk.msgpack")).fit(
            x, y
        )
    with pytest.raises(ValueError, match="start must be scratch"):
        FlaxCNNClassifier(**SMALL, start="imagenet", encoder=other).fit(x, y)


def test_from_config_points_at_the_method_encoder():
    from foxdog.config import PretrainConfig

    model = ModelConfig(widths=(8, 16), trunk_lr=0.1)
    clf = FlaxCNNClassifier.from_config(
        model, TrainConfig(), pretrain=PretrainConfig(), start="selfsup", n_classes=3
    )
    assert clf.encoder == "models/simclr.msgpack" and clf.trunk_lr == 0.1
    assert clf.start == "selfsup" and clf.classes == (0, 1, 2)
    assert FlaxCNNClassifier.from_config(ModelConfig(), TrainConfig()).encoder is None


def test_pretrained_embed_is_the_encoder_as_loaded_whatever_the_fit(tmp_path):
    encoder = fitted(1)  # a trunk that differs from every seed's initial one
    path = save_trunk_of(encoder, tmp_path / "simclr.msgpack", method="simclr")
    x, y, xt, _ = data()
    clf = FlaxCNNClassifier(**SMALL, seed=5, start="transfer", encoder=path)
    before = clf.pretrained_embed(xt)
    # The encoder's own output: its conv blocks' globally pooled features, computed here
    # without the estimator.
    cnn = nnx.merge(train.graphdef(clf._model_spec(2)), encoder.params_)
    np.testing.assert_allclose(before, np.asarray(cnn.trunk(jnp.asarray(xt))), atol=1e-5)
    assert before.shape == (len(xt), SMALL["widths"][-1]) and before.dtype == np.float32
    clf.fit(x, y)  # fine-tunes the trunk (trunk_lr 1) ...
    tuned, loaded = (jax.tree.leaves(train.trunk_of(m.params_)) for m in (clf, encoder))
    assert not all(np.allclose(a, b) for a, b in zip(tuned, loaded, strict=True))
    np.testing.assert_array_equal(clf.pretrained_embed(xt), before)  # ... not this
    np.testing.assert_array_equal(clf.pretrained_embed(xt[::-1][:7]), before[::-1][:7])
    # Scratch has no encoder of its own: it clusters with the one it is given ...
    scratch = FlaxCNNClassifier(**SMALL, seed=5, embed_encoder=path)
    np.testing.assert_array_equal(scratch.pretrained_embed(xt), before)
    np.testing.assert_array_equal(scratch.fit(x, y).pretrained_embed(xt), before)
    # ... and refuses to guess without one.
    with pytest.raises(ValueError, match="pretrained_embed needs an encoder file"):
        FlaxCNNClassifier(**SMALL).pretrained_embed(xt)
    wrong = save_trunk_of(fitted(), tmp_path / "wide.msgpack")
    with pytest.raises(ValueError, match=r"wide.msgpack: encoder has widths \(8, 16\)"):
        FlaxCNNClassifier(**dict(SMALL, widths=(8, 8)), embed_encoder=wrong).pretrained_embed(xt)


def test_pretrained_embed_cache_follows_the_encoder_file(tmp_path):
    _, _, xt, _ = data()
    path = tmp_path / "enc.msgpack"
    save_trunk_of(fitted(0), path)
    clf = FlaxCNNClassifier(**SMALL, embed_encoder=str(path))
    first = clf.pretrained_embed(xt)
    np.testing.assert_array_equal(clf.pretrained_embed(xt[:3]), first[:3])  # from the cache
    save_trunk_of(fitted(1), path)  # a re-trained encoder at the same path
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    other = FlaxCNNClassifier(**SMALL, embed_encoder=str(path)).pretrained_embed(xt)
    assert not np.allclose(other, first)
    np.testing.assert_array_equal(clf.pretrained_embed(xt), other)


def test_from_config_clusters_scratch_with_simclr_and_each_start_with_its_own():
    from foxdog.config import PretrainConfig
    from foxdog.registry import CNN_STARTS, START_METHOD, TYPICLUST_METHOD

    pretrain = PretrainConfig(encoder_dir="enc")
    made = {
        s: FlaxCNNClassifier.from_config(ModelConfig(), TrainConfig(), pretrain=pretrain, start=s)
        for s in CNN_STARTS
    }
    assert made["scratch"].embed_encoder == "enc/simclr.msgpack"
    assert made["scratch"].encoder is None
    for start in set(CNN_STARTS) - {"scratch"}:
        assert TYPICLUST_METHOD[start] == START_METHOD[start]
        assert (
            made[start].embed_encoder == made[start].encoder == f"enc/{START_METHOD[start]}.msgpack"
        )


def test_estimator_defaults_are_the_committed_params():
    # One set of defaults: an estimator built without arguments trains and predicts as the
    # study's stages do (they pass params.yaml's values through from_config).
    import dataclasses
    from pathlib import Path

    from foxdog.config import load_params
    from foxdog.model.head import FeatureHeadClassifier

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    classes = tuple(range(len(params.data.classes)))
    cnn = FlaxCNNClassifier().get_params()
    for section in (params.model, params.train):
        for field in dataclasses.fields(section):
            assert cnn[field.name] == getattr(section, field.name), field.name
    assert cnn["classes"] == classes
    configured = FlaxCNNClassifier.from_config(params.model, params.train, n_classes=len(classes))
    assert {**configured.get_params(), "embed_encoder": None} == cnn
    head = FeatureHeadClassifier().get_params()
    h = params.head
    expected = dict(hidden=h.hidden, steps=h.steps, learning_rate=h.learning_rate)
    expected.update(weight_decay=h.weight_decay, classes=classes)
    expected["class_weight"] = None if h.class_weight == "none" else h.class_weight
    assert {k: head[k] for k in expected} == expected
    assert FeatureHeadClassifier.from_config(h, len(classes)).get_params() == head


def test_flip_tta_averages_an_image_and_its_mirror():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    y = np.arange(40) % 2
    clf = FlaxCNNClassifier(**SMALL).fit(x, y)
    plain = clf.predict_proba(x)
    mirrored = clf.predict_proba(x[:, :, ::-1])
    tta = clf.set_params(tta_flip=True).predict_proba(x)
    np.testing.assert_allclose(tta, (plain + mirrored) / 2, rtol=1e-12)
    assert not np.allclose(tta, plain)
    np.testing.assert_allclose(tta.sum(axis=1), 1.0)

"""Range and cross-section checks of ``params.yaml``'s values: one validate per section.

:func:`validate` runs every section's check in a fixed order and raises a one-line
:class:`~foxdog.errors.ConfigError` naming the file and the key at fault; the limits
below keep a run within memory and time. :func:`check_against_data` re-checks the
budgets once the curated pool is loaded. The sections and their defaults are in
:mod:`foxdog.config`, which calls :func:`validate` when it loads them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foxdog.errors import ConfigError
from foxdog.registry import (
    ABLATION_FACTORS,
    CNN_STARTS,
    FEATURE_STARTS,
    INITIAL_METHODS,
    PRETRAIN_METHODS,
    STARTS,
    STRATEGIES,
    balance_conditions,
    share_percent,
)

if TYPE_CHECKING:  # the sections import this module to validate themselves
    from foxdog.config import DataConfig, LabelConfig, ModelConfig, Params


# Test metrics of rounds.csv a decision can be scored on (higher is better), and the
# label axes an AULC can be taken on.
SCORE_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
AULC_AXES = ("linear", "log")


# ---------------------------------------------------------------- choices of the label section

#: Feature extractors the labelling app can use (foxdog/label/features.py registers them).
LABEL_EXTRACTORS = ("imagenet", "transfer")
#: Strategies that work on a feature head (no committee, no MC-dropout).
LABEL_STRATEGIES = (
    "random",
    "least_confident",
    "margin",
    "entropy",
    "ranked_batch",
    "coreset",
    "typiclust",
    "probcover",
    "badge",
)


# ---------------------------------------------------------------- limits
# ---------------------------------------------------------------- limits
# Sizes that would exhaust memory or time, and rules across sections, checked
# when params.yaml is loaded rather than rounds into a run. What depends on the
# curated arrays is checked by check_against_data once they are loaded.

MAX_BATCH_SIZE = 4096
MAX_WIDTH = 1024  # channels of one conv block
MAX_DENSE = 4096
MAX_STEPS = 100_000  # optimiser steps of one fit
MAX_EPOCHS = 1000.0
# Largest single activation of one training batch (float32). The backward pass
# keeps ~10-15 such tensors alive, so 512 MiB keeps a fit within a few GiB
# (train.batch_size=100000 at 32x32 was OOM-killed at 22 GB with no message).
MAX_ACTIVATION_BYTES = 512 * 2**20


def largest_activation_bytes(data: DataConfig, model: ModelConfig, batch_size: int) -> int:
    """Bytes of the largest float32 tensor one training batch produces (input or a conv output)."""
    res = data.image_size // model.stem
    sizes = [3 * data.image_size**2]  # the standardised input
    for i, width in enumerate(model.widths):
        sizes.append(width * (res // 2**i) ** 2)  # conv output, before its 2x2 pool
    return 4 * batch_size * max(sizes)


#: ``c(ok, key, message, value)``: raises a one-line ConfigError naming ``key`` unless ok.
Check = Callable[[bool, str, str, Any], None]


def _checker(source: str) -> Check:
    """``c(ok, key, message, value)``: raise a one-line ConfigError naming ``key`` unless ok."""

    def c(ok: bool, key: str, message: str, value: Any) -> None:
        if not ok:
            raise ConfigError(f"{source}: {key}={value!r} {message}")

    return c


def _check_folders(c: Check, section: str, raw: str, out: str) -> None:
    """A raw input folder and an output folder: both named, never the same."""
    c(raw.strip() != "", f"{section}.raw_dir", "must name a folder", raw)
    c(out.strip() != "", f"{section}.out_dir", "must name a folder", out)
    c(
        Path(out) != Path(raw),
        f"{section}.out_dir",
        f"must differ from {section}.raw_dir (the raw folder is read-only input)",
        out,
    )


def _check_names(c: Check, key: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
    """Every one of ``names`` is ``known``, and none is listed twice."""
    for i, name in enumerate(names):
        c(name in known, f"{key}[{i}]", f"is not one of {known}", name)
    c(len(set(names)) == len(names), key, "has repeats", names)


def _check_seeds(c: Check, key: str, seeds: tuple[int, ...], bounded: bool = True) -> None:
    """At least one seed, none twice and (``bounded``) each one a numpy seed."""
    c(len(seeds) >= 1, key, "must list at least one seed", seeds)
    c(len(set(seeds)) == len(seeds), key, "has repeats", seeds)
    if bounded:
        # Seeds feed numpy / scikit-learn generators, which take 0 <= seed < 2**32.
        c(all(0 <= s < 2**32 for s in seeds), key, "must be in [0, 2**32)", seeds)


def validate(params: Params, source: str = "params.yaml") -> Params:
    """Check ranges and cross-field rules; return ``params`` unchanged if they hold.

    Sections are checked in a fixed order, so with several bad values the message
    names the same key on every run.
    """
    validate_data(params, source)
    validate_model(params, source)
    validate_train(params, source)
    validate_baseline(params, source)
    validate_active(params, source)
    validate_ablations(params, source)
    validate_limits(params, source)
    validate_analysis(params, source)
    validate_pretrain(params, source)
    validate_label(params.label, source)
    validate_embed(params, source)
    validate_conditions(params, source)
    return params


def validate_data(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``data.*`` (the limits across sections are in :func:`validate_limits`)."""
    c = _checker(source)
    d = params.data
    _check_folders(c, "data", d.raw_dir, d.out_dir)
    c(8 <= d.image_size <= 512, "data.image_size", "must be between 8 and 512", d.image_size)
    c(d.min_side >= 1, "data.min_side", "must be >= 1", d.min_side)
    c(d.min_std >= 0, "data.min_std", "must be >= 0", d.min_std)
    c(d.max_pixels >= 1, "data.max_pixels", "must be >= 1", d.max_pixels)
    c(2 <= d.hash_size <= 32, "data.hash_size", "must be between 2 and 32", d.hash_size)
    c(d.max_hash_distance >= 0, "data.max_hash_distance", "must be >= 0", d.max_hash_distance)
    c(0 < d.test_fraction < 1, "data.test_fraction", "must be in (0, 1)", d.test_fraction)
    # Seeds feed numpy / scikit-learn generators, which take 0 <= seed < 2**32.
    c(0 <= d.seed < 2**32, "data.seed", "must be in [0, 2**32)", d.seed)
    c(d.contact_sheet_size >= 1, "data.contact_sheet_size", "must be >= 1", d.contact_sheet_size)
    c(len(d.classes) >= 2, "data.classes", "must list at least two classes", d.classes)
    c(len(set(d.classes)) == len(d.classes), "data.classes", "has repeats", d.classes)
    for i, name in enumerate(d.classes):
        # A class is a folder under raw_dir and part of column and file names.
        c(
            re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name) is not None,
            f"data.classes[{i}]",
            "must be a folder name of letters, digits, '_' or '-'",
            name,
        )


def validate_model(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``model.*`` (``trunk_lr`` with the starts, in :func:`validate_pretrain`)."""
    c = _checker(source)
    m = params.model
    c(len(m.widths) >= 1, "model.widths", "must list at least one width", m.widths)
    c(all(w >= 1 for w in m.widths), "model.widths", "must be positive", m.widths)
    c(m.dense >= 1, "model.dense", "must be >= 1", m.dense)
    c(m.stem in (1, 2, 4), "model.stem", "must be 1, 2 or 4", m.stem)
    c(0 <= m.dropout < 1, "model.dropout", "must be in [0, 1)", m.dropout)


def validate_train(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``train.*``."""
    c = _checker(source)
    t = params.train
    c(t.batch_size >= 1, "train.batch_size", "must be >= 1", t.batch_size)
    c(t.steps >= 1, "train.steps", "must be >= 1", t.steps)
    c(t.epochs >= 0, "train.epochs", "must be >= 0", t.epochs)
    c(t.learning_rate > 0, "train.learning_rate", "must be > 0", t.learning_rate)
    c(t.weight_decay >= 0, "train.weight_decay", "must be >= 0", t.weight_decay)
    c(0 <= t.warmup_steps < t.steps, "train.warmup_steps", "must be in [0, steps)", t.warmup_steps)
    c(t.max_shift >= 0, "train.max_shift", "must be >= 0", t.max_shift)


def validate_baseline(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``baseline.*``."""
    c = _checker(source)
    b = params.baseline
    c(len(b.seeds) >= 1, "baseline.seeds", "must list at least one seed", b.seeds)
    c(all(0 <= s < 2**32 for s in b.seeds), "baseline.seeds", "must be in [0, 2**32)", b.seeds)


def validate_active(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``active.*`` (starts and budgets: :func:`validate_pretrain`, ``_conditions``)."""
    c = _checker(source)
    a = params.active
    _check_names(c, "active.strategies", a.strategies, STRATEGIES)
    _check_seeds(c, "active.seeds", a.seeds)
    c(a.initial_size >= 2, "active.initial_size", "must be >= 2 (one per class)", a.initial_size)
    c(a.query_size >= 1, "active.query_size", "must be >= 1", a.query_size)
    c(a.rounds >= 1, "active.rounds", "must be >= 1", a.rounds)
    c(0 <= a.label_noise < 0.5, "active.label_noise", "must be in [0, 0.5)", a.label_noise)
    c(a.committee_size >= 2, "active.committee_size", "must be >= 2", a.committee_size)
    c(a.mc_samples >= 2, "active.mc_samples", "must be >= 2", a.mc_samples)


def validate_ablations(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``ablations.*`` (pairing with the main runs: :func:`validate_limits`)."""
    c = _checker(source)
    ab = params.ablations
    _check_names(c, "ablations.factors", ab.factors, ABLATION_FACTORS)
    _check_names(c, "ablations.strategies", ab.strategies, STRATEGIES)
    # Unbounded here: they must be a subset of active.seeds (validate_limits), which are.
    _check_seeds(c, "ablations.seeds", ab.seeds, bounded=False)
    c(
        all(v >= 2 for v in ab.initial_size),
        "ablations.initial_size",
        "must be >= 2",
        ab.initial_size,
    )
    c(all(v >= 1 for v in ab.query_size), "ablations.query_size", "must be >= 1", ab.query_size)
    c(
        all(0 <= v < 0.5 for v in ab.label_noise),
        "ablations.label_noise",
        "must be in [0, 0.5)",
        ab.label_noise,
    )


def validate_analysis(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``analysis.*``."""
    c = _checker(source)
    an = params.analysis
    c(len(an.targets) >= 1, "analysis.targets", "must list at least one target", an.targets)
    c(all(0 < v <= 1 for v in an.targets), "analysis.targets", "must be in (0, 1]", an.targets)
    c(0 < an.stop_kappa <= 1, "analysis.stop_kappa", "must be in (0, 1]", an.stop_kappa)
    c(an.stop_window >= 1, "analysis.stop_window", "must be >= 1", an.stop_window)
    c(
        0 < an.head_stop_kappa <= 1,
        "analysis.head_stop_kappa",
        "must be in (0, 1]",
        an.head_stop_kappa,
    )
    c(an.head_stop_window >= 1, "analysis.head_stop_window", "must be >= 1", an.head_stop_window)
    c(an.slope_window >= 2, "analysis.slope_window", "must be >= 2", an.slope_window)
    c(0 < an.confidence < 1, "analysis.confidence", "must be in (0, 1)", an.confidence)
    c(an.tie_tolerance >= 0, "analysis.tie_tolerance", "must be >= 0", an.tie_tolerance)
    c(an.min_seeds >= 2, "analysis.min_seeds", "must be >= 2", an.min_seeds)
    c(
        1 <= an.max_exact_seeds <= 20,
        "analysis.max_exact_seeds",
        "must be between 1 and 20",
        an.max_exact_seeds,
    )
    c(an.slope_threshold >= 0, "analysis.slope_threshold", "must be >= 0", an.slope_threshold)
    c(0 < an.alpha < 1, "analysis.alpha", "must be in (0, 1)", an.alpha)
    for key in ("metric_natural", "metric_subsampled"):
        value = getattr(an, key)
        c(value in SCORE_METRICS, f"analysis.{key}", f"is not one of {SCORE_METRICS}", value)
    c(an.aulc_axis in AULC_AXES, "analysis.aulc_axis", f"is not one of {AULC_AXES}", an.aulc_axis)
    c(0 < an.power < 1, "analysis.power", "must be in (0, 1)", an.power)
    c(an.effect > 0, "analysis.effect", "must be > 0", an.effect)


def validate_limits(params: Params, source: str = "params.yaml") -> None:
    """Sizes that would exhaust memory or time, and rules across sections."""
    c = _checker(source)
    d, m, t, a, ab = (
        params.data,
        params.model,
        params.train,
        params.active,
        params.ablations,
    )
    c(0 < d.val_fraction < 0.5, "data.val_fraction", "must be in (0, 0.5)", d.val_fraction)
    c(len(m.widths) <= 8, "model.widths", "must list at most 8 widths", m.widths)
    c(all(w <= MAX_WIDTH for w in m.widths), "model.widths", f"must be <= {MAX_WIDTH}", m.widths)
    c(m.dense <= MAX_DENSE, "model.dense", f"must be <= {MAX_DENSE}", m.dense)
    # Each block halves the resolution after the stem's space-to-depth; below
    # one pixel there is nothing left to pool.
    need = m.stem * 2 ** len(m.widths)
    c(
        d.image_size >= need,
        "data.image_size",
        f"must be >= model.stem * 2**len(model.widths) = {need} (each block halves it)",
        d.image_size,
    )
    c(
        t.batch_size <= MAX_BATCH_SIZE,
        "train.batch_size",
        f"must be <= {MAX_BATCH_SIZE}",
        t.batch_size,
    )
    mib = largest_activation_bytes(d, m, t.batch_size) / 2**20
    c(
        mib <= MAX_ACTIVATION_BYTES / 2**20,
        "train.batch_size",
        f"must keep a batch's largest activation <= {MAX_ACTIVATION_BYTES // 2**20} MiB "
        f"(is {mib:.0f} MiB with data.image_size, model.stem and model.widths)",
        t.batch_size,
    )
    c(t.steps <= MAX_STEPS, "train.steps", f"must be <= {MAX_STEPS}", t.steps)
    c(t.epochs <= MAX_EPOCHS, "train.epochs", f"must be <= {MAX_EPOCHS:g}", t.epochs)
    # A shift as large as the image would crop out everything but reflections.
    c(
        t.max_shift < d.image_size // 2,
        "train.max_shift",
        f"must be < data.image_size / 2 = {d.image_size // 2}",
        t.max_shift,
    )
    c(a.rounds <= 1000, "active.rounds", "must be <= 1000", a.rounds)
    c(a.committee_size <= 16, "active.committee_size", "must be <= 16", a.committee_size)
    c(a.mc_samples <= 1000, "active.mc_samples", "must be <= 1000", a.mc_samples)
    c(a.initial in INITIAL_METHODS, "active.initial", f"is not one of {INITIAL_METHODS}", a.initial)
    # Random sampling is the reference every comparison is paired with.
    c("random" in a.strategies, "active.strategies", "must include random", a.strategies)
    c(
        not ab.strategies or "random" in ab.strategies,
        "ablations.strategies",
        "must include random (or be empty: no ablations)",
        ab.strategies,
    )
    # Ablation runs reuse the main runs' seeds and strategies so they pair with them.
    c(
        set(ab.strategies) <= set(a.strategies),
        "ablations.strategies",
        f"must be a subset of active.strategies={a.strategies!r}",
        ab.strategies,
    )
    c(
        set(ab.seeds) <= set(a.seeds),
        "ablations.seeds",
        f"must be a subset of active.seeds={a.seeds!r}",
        ab.seeds,
    )


def validate_pretrain(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``pretrain.*``, ``active.starts``, ``ablations.start`` and ``model.trunk_lr``."""
    m, p, a, ab = params.model, params.pretrain, params.active, params.ablations

    c = _checker(source)

    c(len(a.starts) >= 1, "active.starts", "must list at least one start", a.starts)
    for i, s in enumerate(a.starts):
        c(s in STARTS, f"active.starts[{i}]", f"is not one of {STARTS}", s)
        c(
            s not in FEATURE_STARTS,
            f"active.starts[{i}]",
            f"is a frozen-feature start: list it in balance.starts (active.starts are the "
            f"CNN starts {CNN_STARTS})",
            s,
        )
    c(len(set(a.starts)) == len(a.starts), "active.starts", "has repeats", a.starts)
    c(
        ab.start in a.starts,
        "ablations.start",
        f"must be one of active.starts={a.starts!r}",
        ab.start,
    )
    c(m.trunk_lr >= 0, "model.trunk_lr", "must be >= 0 (0 freezes the trunk)", m.trunk_lr)
    _check_folders(c, "pretrain", p.raw_dir, p.out_dir)
    c(p.encoder_dir.strip() != "", "pretrain.encoder_dir", "must name a folder", p.encoder_dir)
    c(
        p.method in PRETRAIN_METHODS,
        "pretrain.method",
        f"is not one of {PRETRAIN_METHODS}",
        p.method,
    )
    c(
        0 < p.holdout_fraction < 1,
        "pretrain.holdout_fraction",
        "must be in (0, 1)",
        p.holdout_fraction,
    )
    c(p.epochs >= 1, "pretrain.epochs", "must be >= 1", p.epochs)
    c(p.batch_size >= 2, "pretrain.batch_size", "must be >= 2", p.batch_size)
    c(p.learning_rate > 0, "pretrain.learning_rate", "must be > 0", p.learning_rate)
    c(p.weight_decay >= 0, "pretrain.weight_decay", "must be >= 0", p.weight_decay)
    c(p.warmup_steps >= 0, "pretrain.warmup_steps", "must be >= 0", p.warmup_steps)
    c(p.temperature > 0, "pretrain.temperature", "must be > 0", p.temperature)
    c(p.projection >= 1, "pretrain.projection", "must be >= 1", p.projection)
    c(0 <= p.seed < 2**32, "pretrain.seed", "must be in [0, 2**32)", p.seed)


def validate_label(lab: LabelConfig, source: str = "params.yaml") -> LabelConfig:
    """Range checks of the ``label`` section (the labelling app); ``lab`` if they hold."""
    c = _checker(source)
    c(
        lab.extractor in LABEL_EXTRACTORS,
        "label.extractor",
        f"is not one of {LABEL_EXTRACTORS}",
        lab.extractor,
    )
    c(
        lab.strategy in LABEL_STRATEGIES,
        "label.strategy",
        f"is not one of {LABEL_STRATEGIES}",
        lab.strategy,
    )
    c(1 <= lab.batch_size <= 1000, "label.batch_size", "must be in [1, 1000]", lab.batch_size)
    c(0 <= lab.random_share <= 1, "label.random_share", "must be in [0, 1]", lab.random_share)
    c(lab.estimate_window >= 1, "label.estimate_window", "must be >= 1", lab.estimate_window)
    c(0 < lab.confidence < 1, "label.confidence", "must be in (0, 1)", lab.confidence)
    c(lab.stop_batches >= 1, "label.stop_batches", "must be >= 1", lab.stop_batches)
    c(0 < lab.stop_kappa <= 1, "label.stop_kappa", "must be in (0, 1]", lab.stop_kappa)
    c(lab.min_random >= 1, "label.min_random", "must be >= 1", lab.min_random)
    c(lab.head_c > 0, "label.head_c", "must be > 0", lab.head_c)
    c(
        64 <= lab.display_size <= 4096,
        "label.display_size",
        "must be in [64, 4096]",
        lab.display_size,
    )
    c(0 <= lab.port <= 65535, "label.port", "must be in [0, 65535] (0: any free port)", lab.port)
    c(0 <= lab.seed < 2**32, "label.seed", "must be in [0, 2**32)", lab.seed)
    return lab


HEAD_CLASS_WEIGHTS = ("none", "balanced")
MAX_HIDDEN = 4096


def _check_budgets(c: Callable[..., None], key: str, budgets: tuple[int, ...], p: Any) -> None:
    """Budgets: strictly ascending label counts, none below the initial set.

    They are meant to be label counts after a round (initial_size + k * query_size);
    one past the last round is allowed (a shortened ``-S ...rounds=`` run keeps its
    params valid) and :meth:`Params.protocol` leaves it out.
    """
    c(len(budgets) >= 1, key, "must list at least one budget", budgets)
    c(list(budgets) == sorted(set(budgets)), key, "must be strictly ascending", budgets)
    for i, b in enumerate(budgets):
        c(b >= p.initial_size, f"{key}[{i}]", f"must be >= initial_size={p.initial_size}", b)


def validate_conditions(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``balance.*``, ``head.*`` and ``active.budgets``."""
    b, h, c = params.balance, params.head, _checker(source)
    _check_budgets(c, "active.budgets", params.active.budgets, params.active)
    c(
        b.rare_class in params.data.classes,
        "balance.rare_class",
        f"must be one of data.classes={params.data.classes!r}",
        b.rare_class,
    )
    for i, share in enumerate(b.shares):
        pct = share * 100
        c(
            1 <= pct <= 99 and abs(pct - round(pct)) < 1e-9,
            f"balance.shares[{i}]",
            "must be a whole percent between 0.01 and 0.99 (it names the condition)",
            share,
        )
    pcts = [share_percent(s) for s in b.shares]
    c(len(set(pcts)) == len(pcts), "balance.shares", "has repeats", b.shares)
    for i, s in enumerate(b.starts):
        c(
            s in FEATURE_STARTS,
            f"balance.starts[{i}]",
            f"must be a frozen-feature start {FEATURE_STARTS} (CNN starts run the natural "
            "balance only, in active.starts: cost; a subsampled CNN condition is "
            "`foxdog al --condition <start>-<class><pct>` away)",
            s,
        )
    c(len(set(b.starts)) == len(b.starts), "balance.starts", "has repeats", b.starts)
    expect = balance_conditions(b.starts, b.rare_class, b.shares)
    c(
        list(b.conditions) == expect,
        "balance.conditions",
        f"must be {expect} (balance.starts x (natural + balance.shares), the names "
        "dvc.yaml's matrix runs)",
        list(b.conditions),
    )
    _check_names(c, "head.strategies", h.strategies, STRATEGIES)
    c("random" in h.strategies, "head.strategies", "must include random", h.strategies)
    _check_seeds(c, "head.seeds", h.seeds)
    c(h.initial_size >= 2, "head.initial_size", "must be >= 2 (one per class)", h.initial_size)
    c(h.query_size >= 1, "head.query_size", "must be >= 1", h.query_size)
    c(1 <= h.rounds <= 1000, "head.rounds", "must be between 1 and 1000", h.rounds)
    _check_budgets(c, "head.budgets", h.budgets, h)
    c(0 <= h.hidden <= MAX_HIDDEN, "head.hidden", f"must be in [0, {MAX_HIDDEN}]", h.hidden)
    c(1 <= h.steps <= MAX_STEPS, "head.steps", f"must be in [1, {MAX_STEPS}]", h.steps)
    c(h.learning_rate > 0, "head.learning_rate", "must be > 0", h.learning_rate)
    c(h.weight_decay >= 0, "head.weight_decay", "must be >= 0", h.weight_decay)
    c(
        h.class_weight in HEAD_CLASS_WEIGHTS,
        "head.class_weight",
        f"is not one of {HEAD_CLASS_WEIGHTS}",
        h.class_weight,
    )


MAX_EMBED_BATCH = 512  # ~5 MB of activations per 224-px photo in the widest layer


def validate_embed(params: Params, source: str = "params.yaml") -> None:
    """Ranges of ``embed.*``."""
    e, c = params.embed, _checker(source)
    c(e.out_dir.strip() != "", "embed.out_dir", "must name a folder", e.out_dir)
    c(
        Path(e.out_dir) not in (Path(params.data.raw_dir), Path(params.data.out_dir)),
        "embed.out_dir",
        "must differ from data.raw_dir and data.out_dir",
        e.out_dir,
    )
    c(32 <= e.image_size <= 512, "embed.image_size", "must be between 32 and 512", e.image_size)
    c(
        1 <= e.batch_size <= MAX_EMBED_BATCH,
        "embed.batch_size",
        f"must be between 1 and {MAX_EMBED_BATCH}",
        e.batch_size,
    )


def check_against_data(
    params: Params,
    pool_labels: Any,
    source: str = "params.yaml",
    *,
    image_size: int | None = None,
) -> None:
    """Check the parameters against the curated pool; raise a one-line ConfigError if unmet.

    Call right after loading the pool (``foxdog baseline``, ``al``, ``ablate``),
    before any training, so a budget the pool cannot cover fails in a second
    rather than rounds into a run. Covers the main runs and, when
    ``ablations.strategies`` is not empty, every ablation level.

    Parameters
    ----------
    params : the validated parameters.
    pool_labels : (N,) class labels of the curated pool.
    source : the parameter file's name, for the message.
    image_size : side of the curated images, if known; must equal ``data.image_size``.
    """
    import numpy as np  # here, not at import: the CLI loads params before heavy imports

    labels = np.asarray(pool_labels)
    n = len(labels)
    d, t, a, ab = params.data, params.train, params.active, params.ablations
    where = f"the {n} pool images in {d.out_dir}/"

    def c(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(f"{source}: {message}")

    n_classes = len(np.unique(labels))
    c(
        n_classes >= 2,
        f"data.out_dir={d.out_dir!r} must hold a pool of both classes, "
        f"found {n_classes} class(es) in {where} (re-run `foxdog curate`)",
    )
    if image_size is not None:
        c(
            image_size == d.image_size,
            f"data.image_size={d.image_size} must match the {image_size}x{image_size} "
            f"images in {d.out_dir}/ (re-run `foxdog curate`)",
        )
    c(t.batch_size <= n, f"train.batch_size={t.batch_size} must be <= {where}")
    # The baseline fits the whole pool with the runs' recipe: epochs make it the longest fit.
    full_fit = max(t.steps, math.ceil(t.epochs * n / t.batch_size))
    c(
        full_fit <= MAX_STEPS,
        f"train.epochs={t.epochs!r} makes a full-pool fit {full_fit} steps, must be <= {MAX_STEPS}",
    )
    r = a.rounds
    c(
        a.final_labels() <= n,
        f"active.initial_size + active.rounds * active.query_size = {a.initial_size} + {r} * "
        f"{a.query_size} = {a.final_labels()} must be <= {where}",
    )
    if not ab.strategies:
        return
    # Only the factors that run (ablations.factors) must fit; the others are one `-S` away.
    for level in ab.initial_size if "initial_size" in ab.factors else ():
        total = level + r * a.query_size
        c(
            total <= n,
            f"ablations.initial_size={ab.initial_size!r}: level {level} + active.rounds * "
            f"active.query_size = {level} + {r} * {a.query_size} = {total} must be <= {where}",
        )
    for level in ab.query_size if "query_size" in ab.factors else ():
        total = a.initial_size + r * level
        c(
            total <= n,
            f"ablations.query_size={ab.query_size!r}: active.initial_size + active.rounds * "
            f"level {level} = {a.initial_size} + {r} * {level} = {total} must be <= {where}",
        )

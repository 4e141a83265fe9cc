"""Typed, frozen configuration from ``params.yaml``: the sections, their defaults, loading.

``params.yaml`` is the only source of configuration: every stage calls
:func:`load_params` and passes the relevant dataclass down. Loading validates
once (:mod:`foxdog.config_checks`, one check per section), so the rest of the
code can trust its inputs; a bad value raises :class:`ConfigError` naming the
file and the key.

A parameter file must set every key: nothing silently falls back to code. The
dataclass defaults below exist only so tests can build small configurations
(:func:`params_with`); they equal the committed ``params.yaml``, which
``tests/test_config.py`` checks, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The checks and their constants are re-exported: ``from foxdog.config import ...`` is
# where callers find everything about the parameters.
from foxdog.config_checks import (
    AULC_AXES,
    LABEL_EXTRACTORS,
    LABEL_STRATEGIES,
    MAX_ACTIVATION_BYTES,
    SCORE_METRICS,
    check_against_data,
    largest_activation_bytes,
    validate,
    validate_label,
)
from foxdog.errors import ConfigError
from foxdog.paths import encoder_path, typiclust_encoder_path
from foxdog.registry import FEATURE_STARTS, START_METHOD, STARTS, STRATEGIES

__all__ = [
    "AULC_AXES",
    "LABEL_EXTRACTORS",
    "LABEL_STRATEGIES",
    "MAX_ACTIVATION_BYTES",
    "SCORE_METRICS",
    "START_METHOD",
    "STRATEGIES",
    "AblationConfig",
    "ActiveConfig",
    "AnalysisConfig",
    "BalanceConfig",
    "BaselineConfig",
    "ConfigError",
    "DataConfig",
    "EmbedConfig",
    "HeadConfig",
    "LabelConfig",
    "ModelConfig",
    "Params",
    "PretrainConfig",
    "Protocol",
    "TrainConfig",
    "check_against_data",
    "encoder_path",
    "largest_activation_bytes",
    "load_params",
    "params_from_dict",
    "params_with",
    "to_dict",
    "typiclust_encoder_path",
    "validate",
    "validate_label",
]


@dataclass(frozen=True)
class DataConfig:
    raw_dir: str = "data"
    out_dir: str = "curated"
    image_size: int = 32
    min_side: int = 64
    min_std: float = 5.0
    max_pixels: int = 40_000_000
    hash_size: int = 8
    max_hash_distance: int = 4
    test_fraction: float = 0.2
    seed: int = 0
    contact_sheet_size: int = 48
    val_fraction: float = 0.1  # of the pool, carved off as the validation split
    # Class folders under raw_dir, in label order (label i = classes[i]).
    classes: tuple[str, ...] = ("dog", "fox")


@dataclass(frozen=True)
class ModelConfig:
    widths: tuple[int, ...] = (16, 32, 64)
    dense: int = 64
    dropout: float = 0.3
    stem: int = 2  # space-to-depth factor before the first conv (benchmarks/README.md)
    trunk_lr: float = 1.0  # trunk learning rate / head learning rate when start != scratch
    tta_flip: bool = True  # predict with the mean of an image's and its mirror's probabilities


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 32
    steps: int = 300
    epochs: float = 40.0
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    flip: bool = True
    max_shift: int = 4


@dataclass(frozen=True)
class BaselineConfig:
    seeds: tuple[int, ...] = (0, 1, 2)


#: The strategies every condition of the study runs, the CNN starts and the head alike.
STUDY_STRATEGIES = ("random", "margin", "coreset", "typiclust", "badge", "balanced_margin")


@dataclass(frozen=True)
class ActiveConfig:
    # The study's regimes: where the network starts (scratch, or a pretrained trunk).
    starts: tuple[str, ...] = ("scratch", "transfer", "selfsup")
    strategies: tuple[str, ...] = STUDY_STRATEGIES
    seeds: tuple[int, ...] = tuple(range(14))
    initial_size: int = 10
    query_size: int = 100
    rounds: int = 9
    label_noise: float = 0.0
    committee_size: int = 3
    mc_samples: int = 20
    initial: str = "random"  # how the initial labelled set is drawn: one of INITIAL_METHODS
    budgets: tuple[int, ...] = (110, 310, 510, 910)  # decision-map budgets (labels after a round)

    def final_labels(self) -> int:
        """Labels used after the last round."""
        return self.initial_size + self.rounds * self.query_size


@dataclass(frozen=True)
class BalanceConfig:
    """The class-balance axis: pools with one class subsampled to a share (seed-paired)."""

    rare_class: str = "fox"  # the class subsampled in the pool (one of data.classes)
    shares: tuple[float, ...] = (0.10, 0.05)  # its pool shares run besides the natural one
    starts: tuple[str, ...] = ("imagenet",)  # starts run at the natural balance and each share
    # starts x (natural + shares), spelled out because dvc.yaml's matrix cannot compute names.
    conditions: tuple[str, ...] = ("imagenet", "imagenet-fox10", "imagenet-fox05")


@dataclass(frozen=True)
class HeadConfig:
    """The frozen-feature starts' protocol and head (foxdog/model/head.py)."""

    strategies: tuple[str, ...] = STUDY_STRATEGIES
    seeds: tuple[int, ...] = tuple(range(30))
    initial_size: int = 10
    query_size: int = 10
    rounds: int = 29
    budgets: tuple[int, ...] = (50, 100, 200, 300)
    hidden: int = 0  # 0: multinomial logistic regression; > 0: one hidden ReLU layer
    steps: int = 50  # full-batch AdamW steps per fit
    learning_rate: float = 0.05
    weight_decay: float = 0.001
    class_weight: str = "balanced"  # none | balanced


@dataclass(frozen=True)
class Protocol:
    """One start's active-learning protocol (``Params.protocol``): who runs, how many labels."""

    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    initial_size: int
    query_size: int
    rounds: int
    budgets: tuple[int, ...]

    def final_labels(self) -> int:
        """Labels used after the last round."""
        return self.initial_size + self.rounds * self.query_size

    def round_labels(self) -> tuple[int, ...]:
        """Labels after each round, round 0 (the initial set) first."""
        return tuple(self.initial_size + r * self.query_size for r in range(self.rounds + 1))


@dataclass(frozen=True)
class AblationConfig:
    start: str = "transfer"  # the regime (one of active.starts) the ablations run in
    factors: tuple[str, ...] = ("label_noise",)
    strategies: tuple[str, ...] = ("random", "margin")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # a subset of active.seeds keeps runs paired
    initial_size: tuple[int, ...] = (50, 100)
    query_size: tuple[int, ...] = (50, 150)
    label_noise: tuple[float, ...] = (0.1, 0.2)


@dataclass(frozen=True)
class AnalysisConfig:
    # Every constant that drives a conclusion of the analysis (docs in params.yaml).
    targets: tuple[float, ...] = (0.9, 0.95, 0.98)
    stop_kappa: float = 0.67  # stop: mean kappa over the window >= this (between-seed kappa)
    stop_window: int = 3  # consecutive rounds averaged by the stopping rule
    # The frozen-feature starts' (params.head) stop rule: their 10-label rounds agree far
    # more than their seeds do, so they have their own (Params.analysis_for).
    head_stop_kappa: float = 0.98
    head_stop_window: int = 10
    slope_threshold: float = 1e-4  # accuracy per label under which a curve may be called flat
    slope_window: int = 5  # consecutive rounds whose per-seed slope is tested against it
    alpha: float = 0.05
    confidence: float = 0.95  # level of every interval
    tie_tolerance: float = 0.005  # per-seed AULC difference counted as a tie
    min_seeds: int = 2  # seeds needed before an interval or a test is computed
    max_exact_seeds: int = 16  # exact sign-flip test up to 2**this patterns; Monte Carlo above
    metric_natural: str = "accuracy"  # decision-map score of a pool at its natural class balance
    metric_subsampled: str = "balanced_accuracy"  # ... and of a pool with one class subsampled
    aulc_axis: str = "linear"  # primary AULC: label axis linear or log (both are reported)
    power: float = 0.8  # power the seed count is judged against ...
    effect: float = 0.01  # ... for a paired AULC difference of this size (1 point)


# ---------------------------------------------------------------- labelling app (foxdog label)


@dataclass(frozen=True)
class LabelConfig:
    extractor: str = "imagenet"  # features per photo, cached by sha256 (one of LABEL_EXTRACTORS)
    strategy: str = "margin"  # what the model asks for next (one of LABEL_STRATEGIES)
    batch_size: int = 10  # photos per batch of picks; the head is retrained after each
    random_share: float = 0.2  # share of each batch drawn uniformly at random (the estimate)
    estimate_window: int = 30  # most recent random answers the live accuracy estimate pools
    confidence: float = 0.95  # level of the estimate's (Wilson) interval
    stop_batches: int = 3  # batches over which the estimate's gain and prediction churn are read
    stop_kappa: float = 0.99  # predictions on unlabelled photos count as stable at this kappa
    min_random: int = 20  # random answers needed before any stop signal
    head_c: float = 1.0  # inverse L2 strength of the logistic-regression head
    display_size: int = 768  # longest side (pixels) of the photos the page shows
    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 0


# ---------------------------------------------------------------- pretraining (owner: pretrain)


@dataclass(frozen=True)
class PretrainConfig:
    raw_dir: str = "pretrain-raw"  # materialised by `dvc update pretrain.dvc`
    out_dir: str = "curated_pretrain"  # curated corpus arrays + overlap check
    encoder_dir: str = "models"  # <encoder_dir>/<method>.msgpack: the trained encoders
    method: str = "supervised"  # supervised | simclr
    holdout_fraction: float = 0.1  # corpus images held out to measure corpus accuracy
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    temperature: float = 0.2  # NT-Xent temperature (simclr)
    projection: int = 64  # SimCLR projection-head output width
    seed: int = 0


@dataclass(frozen=True)
class EmbedConfig:
    """The embed stage: frozen ImageNet features of every curated photo (imagenet start)."""

    out_dir: str = "features/imagenet"  # <split>.npy, <split>_ids.npy, the id cache
    image_size: int = 224  # the resolution EfficientNet-Lite0 was trained at
    batch_size: int = 32  # photos per forward pass (a fixed compiled shape)


# ---------------------------------------------------------------- all sections


@dataclass(frozen=True)
class Params:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    active: ActiveConfig = field(default_factory=ActiveConfig)
    ablations: AblationConfig = field(default_factory=AblationConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)
    head: HeadConfig = field(default_factory=HeadConfig)

    def analysis_for(self, start: str) -> AnalysisConfig:
        """``analysis`` with ``start``'s protocol's stop rule as ``stop_kappa``/``stop_window``:
        ``head_stop_*`` for frozen-feature starts (benchmarks/README.md, "Stop rule")."""
        if start not in STARTS:
            raise ValueError(f"unknown start {start!r}; known: {', '.join(STARTS)}")
        an = self.analysis
        if start not in FEATURE_STARTS:
            return an
        return dataclasses.replace(
            an, stop_kappa=an.head_stop_kappa, stop_window=an.head_stop_window
        )

    def protocol(self, start: str) -> Protocol:
        """THE protocol of ``start``: ``head`` for frozen-feature starts, ``active`` otherwise."""
        if start not in STARTS:
            raise ValueError(f"unknown start {start!r}; known: {', '.join(STARTS)}")
        p = self.head if start in FEATURE_STARTS else self.active
        return Protocol(
            strategies=p.strategies,
            seeds=p.seeds,
            initial_size=p.initial_size,
            query_size=p.query_size,
            rounds=p.rounds,
            # Budgets past the last round (a shortened run) cannot be evaluated.
            budgets=tuple(b for b in p.budgets if b <= p.initial_size + p.rounds * p.query_size),
        )


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Convert a YAML value to ``annotation`` or raise a ConfigError naming ``where``."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item_type, _ellipsis) = typing.get_args(annotation)
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {annotation}")


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]} is not a known parameter")
    # Every key must be written out: a missing one would silently take the code
    # default, and params.yaml (what DVC tracks) would no longer say what ran.
    missing = [name for name in names if name not in raw]
    if missing:
        raise ConfigError(f"{where}.{missing[0]} is missing (every parameter must be set)")
    kwargs = {}
    for name in names:
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, raw[name], f"{where}.{name}")
        else:
            kwargs[name] = _coerce(raw[name], hint, f"{where}.{name}")
    return cls(**kwargs)


def params_from_dict(raw: Any, source: str = "params.yaml") -> Params:
    """Build and validate :class:`Params` from an already-parsed mapping."""
    if raw is None:
        raise ConfigError(f"{source}: is empty (every section and parameter must be set)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: top level must be a mapping")
    try:
        params = _build(Params, raw, "")
    except ConfigError as err:
        raise ConfigError(f"{source}: {str(err).lstrip('.')}") from None
    return validate(params, source)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read ``path`` and return validated, frozen :class:`Params`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the project root)") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    return params_from_dict(raw, str(path))


def params_with(overrides: Mapping[str, Mapping[str, Any]], source: str = "params.yaml") -> Params:
    """Validated :class:`Params`: the defaults (= the committed params.yaml) with overrides.

    ``overrides`` maps a section to the keys that change, e.g.
    ``{"active": {"seeds": [0]}, "train": {"steps": 40}}``; for tests and small
    configurations. The defaults equal the committed file (tests/test_config.py).
    """
    raw = to_dict(Params())
    for section, values in overrides.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: {section} must be a mapping")
        raw.setdefault(section, {}).update(values)
    return params_from_dict(raw, source)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict view of a config dataclass (tuples become lists), for JSON records."""
    out = dataclasses.asdict(obj)

    def fix(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [fix(x) for x in v]
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    return fix(out)

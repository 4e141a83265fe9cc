"""Typed, frozen configuration loaded from ``params.yaml``.

``params.yaml`` is the only source of configuration: every stage calls
:func:`load_params` and passes the relevant dataclass down. Validation happens
here, once, so the rest of the code can trust its inputs; a bad value raises
:class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STRATEGIES = (
    "random",
    "least_confident",
    "margin",
    "entropy",
    "ranked_batch",
    "committee",
    "bald",
    "coreset",
)
ABLATION_FACTORS = ("initial_size", "query_size", "label_noise")


class ConfigError(ValueError):
    """A parameter is missing, mistyped or out of range."""


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


@dataclass(frozen=True)
class ModelConfig:
    widths: tuple[int, ...] = (16, 32, 64)
    dense: int = 64
    dropout: float = 0.3
    stem: int = 2  # space-to-depth factor before the first conv (benchmarks/README.md)


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
    steps: int = 6000


@dataclass(frozen=True)
class ActiveConfig:
    strategies: tuple[str, ...] = STRATEGIES
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    initial_size: int = 20
    query_size: int = 50
    rounds: int = 10
    label_noise: float = 0.0
    committee_size: int = 3
    mc_samples: int = 20

    def final_labels(self) -> int:
        """Labels used after the last round."""
        return self.initial_size + self.rounds * self.query_size


@dataclass(frozen=True)
class AblationConfig:
    strategies: tuple[str, ...] = ("random", "margin")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # a subset of active.seeds keeps runs paired
    initial_size: tuple[int, ...] = (10, 100)
    query_size: tuple[int, ...] = (25, 100)
    label_noise: tuple[float, ...] = (0.1, 0.2)


@dataclass(frozen=True)
class AnalysisConfig:
    # Every constant that drives a conclusion of the analysis (docs in params.yaml).
    targets: tuple[float, ...] = (0.9, 0.95, 0.98)
    stop_kappa: float = 0.99  # stabilising-predictions stop: mean kappa over the window >= this
    stop_window: int = 3  # consecutive rounds averaged by the stopping rule
    slope_threshold: float = 1e-4  # accuracy per label under which a curve may be called flat
    slope_window: int = 3  # consecutive rounds whose per-seed slope is tested against it
    alpha: float = 0.05
    confidence: float = 0.95  # level of every interval
    tie_tolerance: float = 0.005  # per-seed AULC difference counted as a tie
    min_seeds: int = 2  # seeds needed before an interval or a test is computed
    max_exact_seeds: int = 16  # exact sign-flip test up to 2**this patterns; Monte Carlo above


@dataclass(frozen=True)
class Params:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    active: ActiveConfig = field(default_factory=ActiveConfig)
    ablations: AblationConfig = field(default_factory=AblationConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)


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
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]} is not a known parameter")
    kwargs = {}
    for name in names:
        if name in raw:
            hint = hints[name]
            if dataclasses.is_dataclass(hint):
                kwargs[name] = _build(hint, raw[name], f"{where}.{name}")
            else:
                kwargs[name] = _coerce(raw[name], hint, f"{where}.{name}")
    return cls(**kwargs)


def validate(params: Params, source: str = "params.yaml") -> Params:
    """Check ranges and cross-field rules; return ``params`` unchanged if they hold."""
    d, m, t, b, a, ab, an = (
        params.data,
        params.model,
        params.train,
        params.baseline,
        params.active,
        params.ablations,
        params.analysis,
    )

    def c(ok: bool, key: str, message: str, value: Any) -> None:
        if not ok:
            raise ConfigError(f"{source}: {key}={value!r} {message}")

    c(d.raw_dir.strip() != "", "data.raw_dir", "must name a folder", d.raw_dir)
    c(d.out_dir.strip() != "", "data.out_dir", "must name a folder", d.out_dir)
    c(
        Path(d.out_dir) != Path(d.raw_dir),
        "data.out_dir",
        "must differ from data.raw_dir (the raw folder is read-only input)",
        d.out_dir,
    )
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
    c(len(m.widths) >= 1, "model.widths", "must list at least one width", m.widths)
    c(all(w >= 1 for w in m.widths), "model.widths", "must be positive", m.widths)
    c(m.dense >= 1, "model.dense", "must be >= 1", m.dense)
    c(m.stem in (1, 2, 4), "model.stem", "must be 1, 2 or 4", m.stem)

    c(0 <= m.dropout < 1, "model.dropout", "must be in [0, 1)", m.dropout)
    c(t.batch_size >= 1, "train.batch_size", "must be >= 1", t.batch_size)
    c(t.steps >= 1, "train.steps", "must be >= 1", t.steps)
    c(t.epochs >= 0, "train.epochs", "must be >= 0", t.epochs)
    c(t.learning_rate > 0, "train.learning_rate", "must be > 0", t.learning_rate)
    c(t.weight_decay >= 0, "train.weight_decay", "must be >= 0", t.weight_decay)
    c(0 <= t.warmup_steps < t.steps, "train.warmup_steps", "must be in [0, steps)", t.warmup_steps)
    c(t.max_shift >= 0, "train.max_shift", "must be >= 0", t.max_shift)
    c(len(b.seeds) >= 1, "baseline.seeds", "must list at least one seed", b.seeds)
    c(all(0 <= s < 2**32 for s in b.seeds), "baseline.seeds", "must be in [0, 2**32)", b.seeds)
    c(b.steps >= 1, "baseline.steps", "must be >= 1", b.steps)
    for i, s in enumerate(a.strategies):
        c(s in STRATEGIES, f"active.strategies[{i}]", f"is not one of {STRATEGIES}", s)
    c(len(set(a.strategies)) == len(a.strategies), "active.strategies", "has repeats", a.strategies)
    c(len(a.seeds) >= 1, "active.seeds", "must list at least one seed", a.seeds)
    c(len(set(a.seeds)) == len(a.seeds), "active.seeds", "has repeats", a.seeds)
    c(all(0 <= s < 2**32 for s in a.seeds), "active.seeds", "must be in [0, 2**32)", a.seeds)
    c(a.initial_size >= 2, "active.initial_size", "must be >= 2 (one per class)", a.initial_size)
    c(a.query_size >= 1, "active.query_size", "must be >= 1", a.query_size)
    c(a.rounds >= 1, "active.rounds", "must be >= 1", a.rounds)
    c(0 <= a.label_noise < 0.5, "active.label_noise", "must be in [0, 0.5)", a.label_noise)
    c(a.committee_size >= 2, "active.committee_size", "must be >= 2", a.committee_size)
    c(a.mc_samples >= 2, "active.mc_samples", "must be >= 2", a.mc_samples)
    for i, s in enumerate(ab.strategies):
        c(s in STRATEGIES, f"ablations.strategies[{i}]", f"is not one of {STRATEGIES}", s)
    c(len(ab.seeds) >= 1, "ablations.seeds", "must list at least one seed", ab.seeds)
    c(len(set(ab.seeds)) == len(ab.seeds), "ablations.seeds", "has repeats", ab.seeds)
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
    c(len(an.targets) >= 1, "analysis.targets", "must list at least one target", an.targets)
    c(all(0 < v <= 1 for v in an.targets), "analysis.targets", "must be in (0, 1]", an.targets)
    c(0 < an.stop_kappa <= 1, "analysis.stop_kappa", "must be in (0, 1]", an.stop_kappa)
    c(an.stop_window >= 1, "analysis.stop_window", "must be >= 1", an.stop_window)
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
    return params


def params_from_dict(raw: Any, source: str = "params.yaml") -> Params:
    """Build and validate :class:`Params` from an already-parsed mapping."""
    if raw is None:
        raw = {}
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

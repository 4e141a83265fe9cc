"""Every artefact path of the pipeline, in one place (the layout ``dvc.yaml`` declares).

Functions take the folder they live under (``results``, ``metrics``, ``plots`` by
default, relative to the project root) so tests and one-off runs can point elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from foxdog.registry import START_METHOD

if TYPE_CHECKING:  # foxdog.config re-exports encoder_path: no import back at run time
    from foxdog.config import Params, PretrainConfig

RESULTS = Path("results")
METRICS = Path("metrics")
PLOTS = Path("plots")


def strategy_dir(results_dir: Path, condition: str, strategy: str) -> Path:
    """``results/<condition>/<strategy>/``: one AL stage's rounds.csv, queries.csv, state/.

    ``condition`` is a :func:`foxdog.registry.condition_name` (a start's name at the
    natural balance, so the CNN starts' folders are unchanged).
    """
    return Path(results_dir) / condition / strategy


def rounds_csv(run_dir: Path) -> Path:
    """``<run folder>/rounds.csv``: one row per seed and round (an ``al`` or ``ablate`` output)."""
    return Path(run_dir) / "rounds.csv"


def queries_csv(run_dir: Path) -> Path:
    """``<run folder>/queries.csv``: one row per queried image."""
    return Path(run_dir) / "queries.csv"


def state_dir(run_dir: Path) -> Path:
    """``<run folder>/state/``: the resumable per-seed states, by machine and protocol."""
    return Path(run_dir) / "state"


def condition_dir(results_dir: Path, condition: str) -> Path:
    """``results/<condition>/``: every strategy of one condition."""
    return Path(results_dir) / condition


def ablation_dir(results_dir: Path, factor: str, strategy: str) -> Path:
    """``results/ablations/<factor>/<strategy>/``: one ablate stage's outputs."""
    return Path(results_dir) / "ablations" / factor / strategy


def baseline_dir(metrics_dir: Path = METRICS) -> Path:
    """``metrics/baseline/``: one ``<condition>.json`` per condition."""
    return Path(metrics_dir) / "baseline"


def baseline(condition: str, metrics_dir: Path = METRICS) -> Path:
    """``metrics/baseline/<condition>.json``: the full-pool reference of ``condition``.

    At the natural balance the condition is the start (``metrics/baseline/<start>.json``);
    for a subsampled pool the reference is trained on that seed's subsampled pool.
    """
    return baseline_dir(metrics_dir) / f"{condition}.json"


def features_dir(params: Params) -> Path:
    """``<embed.out_dir>/``: frozen features per split (``<split>.npy``, ``<split>_ids.npy``)."""
    return Path(params.embed.out_dir)


def pretrain_metrics(method: str, metrics_dir: Path = METRICS) -> Path:
    """``metrics/pretrain_<method>.json``: what pretraining ``method`` measured."""
    return Path(metrics_dir) / f"pretrain_{method}.json"


def encoder(params: Params, method: str) -> Path:
    """``<pretrain.encoder_dir>/<method>.msgpack``: the encoder ``method`` trains."""
    return Path(params.pretrain.encoder_dir) / f"{method}.msgpack"


def encoder_path(pretrain: PretrainConfig, start: str) -> Path:
    """The encoder file ``start`` loads: ``<pretrain.encoder_dir>/<method>.msgpack``.

    ``start`` must be a pretrained start (a key of :data:`foxdog.registry.START_METHOD`).
    """
    return Path(pretrain.encoder_dir) / f"{START_METHOD[start]}.msgpack"


def probcover_delta(metrics_dir: Path = METRICS) -> Path:
    """``metrics/probcover_delta.csv``: ProbCover's δ table."""
    return Path(metrics_dir) / "probcover_delta.csv"


def analysis_json(metrics_dir: Path = METRICS) -> Path:
    """``metrics/analysis.json``: the analysis document."""
    return Path(metrics_dir) / "analysis.json"


def summary_json(metrics_dir: Path = METRICS) -> Path:
    """``metrics/summary.json``: the flat metrics ``dvc metrics`` shows."""
    return Path(metrics_dir) / "summary.json"

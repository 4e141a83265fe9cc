"""Every artefact path of the pipeline, in one place (the layout ``dvc.yaml`` declares).

Functions take the folder they live under (``results``, ``metrics``, ``plots`` by
default, relative to the project root) so tests and one-off runs can point elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from foxdog.registry import START_METHOD, TYPICLUST_METHOD

if TYPE_CHECKING:  # foxdog.config re-exports encoder_path: no import back at run time
    from foxdog.config import Params, PretrainConfig

RESULTS = Path("results")
METRICS = Path("metrics")
PLOTS = Path("plots")


# ---------------------------------------------------------------- curated/ (the curate stage)


def curated_array(curated_dir: str | Path, split: str, part: str) -> Path:
    """``<data.out_dir>/<split>_<part>.npy``: ``part`` is ``images``, ``labels`` or ``ids``."""
    return Path(curated_dir) / f"{split}_{part}.npy"


def manifest(curated_dir: str | Path) -> Path:
    """``<data.out_dir>/manifest.csv``: one row per kept image (id, label, split, group...)."""
    return Path(curated_dir) / "manifest.csv"


def datasheet(out_dir: str | Path) -> Path:
    """``<out_dir>/datasheet.json``: what a curation (of the photos or the corpus) decided."""
    return Path(out_dir) / "datasheet.json"


def contact_sheet_name(label: str) -> str:
    """File name of a class's contact sheet in ``curated/`` (the datasheet lists it)."""
    return f"contact_{label}.png"


def contact_sheet(curated_dir: str | Path, label: str) -> Path:
    """``<data.out_dir>/contact_<class>.png``: thumbnails of a class's kept photos."""
    return Path(curated_dir) / contact_sheet_name(label)


def corpus_array(corpus_dir: str | Path, part: str) -> Path:
    """``<pretrain.out_dir>/<part>.npy``: ``part`` is ``images``, ``labels`` or ``ids``."""
    return Path(corpus_dir) / f"{part}.npy"


def corpus_classes(corpus_dir: str | Path) -> Path:
    """``<pretrain.out_dir>/classes.json``: the corpus's class names in label order."""
    return Path(corpus_dir) / "classes.json"


def corpus_overlap(corpus_dir: str | Path) -> Path:
    """``<pretrain.out_dir>/overlap.json``: corpus photos that are also curated photos."""
    return Path(corpus_dir) / "overlap.json"


def feature_array(features_dir: str | Path, split: str) -> Path:
    """``<embed.out_dir>/<split>.npy``: the frozen features of a split, in curated order."""
    return Path(features_dir) / f"{split}.npy"


def feature_ids(features_dir: str | Path, split: str) -> Path:
    """``<embed.out_dir>/<split>_ids.npy``: the ids of those features' rows."""
    return Path(features_dir) / f"{split}_ids.npy"


# ---------------------------------------------------------------- results/ (al, ablate)


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


# ---------------------------------------------------------------- the other stages' outputs


def baseline_dir(metrics_dir: Path = METRICS) -> Path:
    """``metrics/baseline/``: one ``<condition>.json`` per condition."""
    return Path(metrics_dir) / "baseline"


def baseline(condition: str, metrics_dir: Path = METRICS) -> Path:
    """``metrics/baseline/<condition>.json``: the full-pool reference of ``condition``.

    At the natural balance the condition is the start (``metrics/baseline/<start>.json``);
    for a subsampled pool the reference is trained on that seed's subsampled pool.
    """
    return baseline_dir(metrics_dir) / f"{condition}.json"


def baseline_predictions(condition: str, results_dir: Path = RESULTS) -> Path:
    """``results/baseline/<condition>/test_predictions.csv``: each baseline seed's test predictions.

    No start is named ``baseline`` (:data:`foxdog.registry.STARTS`), so the folder cannot
    clash with a condition's ``results/<condition>/``.
    """
    return Path(results_dir) / "baseline" / condition / "test_predictions.csv"


def per_source(metrics_dir: Path = METRICS) -> Path:
    """``metrics/per_source.csv``: full-pool test accuracy per condition, photo source and class."""
    return Path(metrics_dir) / "per_source.csv"


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


def typiclust_encoder_path(pretrain: PretrainConfig, start: str) -> Path:
    """The encoder whose trunk gives CNN start ``start`` its TypiClust embedding
    (:data:`foxdog.registry.TYPICLUST_METHOD`: the start's own; SimCLR's for scratch)."""
    return Path(pretrain.encoder_dir) / f"{TYPICLUST_METHOD[start]}.msgpack"


# ---------------------------------------------------------------- metrics/, plots/ (analyze)


def analysis_table(name: str, metrics_dir: Path = METRICS) -> Path:
    """``metrics/<name>.csv``: one of the analysis's tables (strategies, winloss, ablations,
    decision; dvc.yaml declares each)."""
    return Path(metrics_dir) / f"{name}.csv"


def plot_table(name: str, plots_dir: Path = PLOTS) -> Path:
    """``plots/<name>.csv``: one of the analysis's plot series (curves, learning_curves,
    diff_vs_random, decision, discovery; dvc.yaml declares each)."""
    return Path(plots_dir) / f"{name}.csv"


def probcover_delta(metrics_dir: Path = METRICS) -> Path:
    """``metrics/probcover_delta.csv``: ProbCover's δ table."""
    return Path(metrics_dir) / "probcover_delta.csv"


def analysis_json(metrics_dir: Path = METRICS) -> Path:
    """``metrics/analysis.json``: the analysis document."""
    return Path(metrics_dir) / "analysis.json"


def summary_json(metrics_dir: Path = METRICS) -> Path:
    """``metrics/summary.json``: the flat metrics ``dvc metrics`` shows."""
    return Path(metrics_dir) / "summary.json"

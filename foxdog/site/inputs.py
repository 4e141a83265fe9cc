"""Reading the pipeline's outputs for the report: paths relative to the project root.

The root is ``$FOXDOG_PROJECT`` when the renderer sets it, else the working directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foxdog.config import Params, load_params, params_from_dict


def project_root() -> Path:
    """Where ``curated/``, ``metrics/``, ``results/`` and ``params.yaml`` live."""
    return Path(os.environ.get("FOXDOG_PROJECT", "."))


def path(*parts: str) -> Path:
    """A path under the project root."""
    return project_root().joinpath(*parts)


def _existing(*parts: str) -> Path:
    p = path(*parts)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: not found (run `dvc repro` before rendering the report)")
    return p


def read_json(*parts: str) -> Any:
    """Parse a JSON file under the project root (NaN allowed, as the analysis writes it)."""
    return json.loads(_existing(*parts).read_text(encoding="utf-8"))


def read_csv(*parts: str) -> pd.DataFrame:
    """Read a CSV under the project root."""
    return pd.read_csv(_existing(*parts))


def optional_json(*parts: str) -> Any | None:
    """Like :func:`read_json`, but ``None`` when the file is absent (an optional stage's output)."""
    return read_json(*parts) if path(*parts).is_file() else None


def optional_csv(*parts: str) -> pd.DataFrame | None:
    """Like :func:`read_csv`, but ``None`` when the file is absent (an optional stage's output)."""
    return read_csv(*parts) if path(*parts).is_file() else None


def params() -> Params:
    """The validated ``params.yaml`` the results were produced with."""
    return load_params(path("params.yaml"))


def analysed_params() -> Params:
    """The configuration the analysis recorded with its results (``analysis.json`` ``params``)."""
    raw = analysis().get("params")
    if raw is None:
        raise ValueError("metrics/analysis.json: no 'params' (run `foxdog analyze` again)")
    return params_from_dict(raw, "metrics/analysis.json params")


def strategy_rounds(start: str, strategy: str) -> pd.DataFrame:
    """``results/<start>/<strategy>/rounds.csv``."""
    return read_csv("results", start, strategy, "rounds.csv")


def strategy_queries(start: str, strategy: str) -> pd.DataFrame:
    """``results/<start>/<strategy>/queries.csv``."""
    return read_csv("results", start, strategy, "queries.csv")


def available_strategies(start: str, names: Iterable[str]) -> list[str]:
    """Those of ``names`` whose ``results/<start>/<name>/rounds.csv`` exists, in the given order."""
    return [n for n in names if path("results", start, n, "rounds.csv").is_file()]


def pool_labels() -> np.ndarray:
    """``curated/pool_labels.npy``: the integer label of every pool image."""
    return pool_array("labels")


def pool_array(name: str) -> np.ndarray:
    """``curated/pool_<name>.npy``: ``images``, ``ids`` or ``labels`` of the pool."""
    return np.load(_existing("curated", f"pool_{name}.npy"), allow_pickle=False)


def analysis() -> dict[str, Any]:
    """``metrics/analysis.json``: the nested analysis document written for the report."""
    return read_json("metrics", "analysis.json")


def curves() -> pd.DataFrame:
    """``plots/curves.csv`` (long form: strategy, round, n_labels, metric, mean, low, high)."""
    return read_csv("plots", "curves.csv")


def all_queries(starts: Iterable[str], strategies: Iterable[str]) -> pd.DataFrame:
    """``queries.csv`` of every (start, strategy) that has one, concatenated with ``start``."""
    strategies = list(strategies)
    frames = [
        strategy_queries(start, s).assign(start=start)
        for start in starts
        for s in available_strategies(start, strategies)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

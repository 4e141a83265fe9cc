"""Stage ``al``: one start x one query strategy, every seed -> results/<start>/<strategy>/."""

from __future__ import annotations

from pathlib import Path

from foxdog.config import Params
from foxdog.stages.common import check_pool


def run(
    params: Params,
    strategy: str,
    start: str,
    results_dir: Path = Path("results"),
    params_file: str | Path = "params.yaml",
) -> Path:
    """Run (or resume) every seed of ``strategy`` from ``start``; return the output folder."""
    check_pool(params, params_file)
    from foxdog.active.experiment import run_strategy

    out = run_strategy(params, strategy, start, Path(results_dir))
    print(f"{start} / {strategy}: results in {out}/")
    return out

"""Stage ``ablate``: one protocol factor for one strategy -> results/ablations/<factor>/..."""

from __future__ import annotations

from pathlib import Path

from foxdog.config import Params
from foxdog.stages.common import check_pool


def run(
    params: Params,
    factor: str,
    strategy: str,
    results_dir: Path = Path("results"),
    params_file: str | Path = "params.yaml",
) -> Path:
    """Run (or resume) every level of ``factor`` for ``strategy``; return the output folder."""
    check_pool(params, params_file)
    from foxdog.active.experiment import run_ablation

    out = run_ablation(params, factor, strategy, Path(results_dir))
    print(f"{factor} ablation of {strategy}: results in {out}/")
    return out

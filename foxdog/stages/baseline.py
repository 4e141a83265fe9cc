"""Stage ``baseline``: full-pool training over seeds, one start -> metrics/baseline/<start>.json."""

from __future__ import annotations

from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.stages.common import check_pool


def format_interval(entry: dict) -> str:
    """``[low, high]`` of a ``metrics/baseline/<start>.json`` entry; ``–`` for one seed."""
    if entry.get("low") is None or entry.get("high") is None:
        return "–"
    return f"[{entry['low']:.3f}, {entry['high']:.3f}]"


def run(
    params: Params, start: str, out: Path | None = None, params_file: str | Path = "params.yaml"
) -> dict:
    """Train on the whole pool from ``start`` once per seed; write and return the summary."""
    check_pool(params, params_file)
    from foxdog.model.baseline import run_baseline

    out = Path(out) if out else paths.baseline(start)
    summary = run_baseline(params, Path(params.data.out_dir), out, start)
    acc = summary["accuracy"]
    print(f"baseline ({start}) accuracy {acc['mean']:.3f} {format_interval(acc)} -> {out}")
    return summary

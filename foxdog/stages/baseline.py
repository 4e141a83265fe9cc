"""Stage ``baseline``: full-pool training over seeds -> metrics/baseline/<condition>.json."""

from __future__ import annotations

from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.registry import FEATURE_STARTS
from foxdog.stages.common import check_pool, condition


def format_interval(entry: dict) -> str:
    """``[low, high]`` of a ``metrics/baseline/<start>.json`` entry; ``–`` for one seed."""
    if entry.get("low") is None or entry.get("high") is None:
        return "–"
    return f"[{entry['low']:.3f}, {entry['high']:.3f}]"


def run(
    params: Params, name: str, out: Path | None = None, params_file: str | Path = "params.yaml"
) -> dict:
    """Train on the whole pool of condition ``name`` once per seed; write and return the summary.

    A CNN start (natural balance) trains with the runs' recipe per seed; a frozen-feature
    start's condition fits the head with the runs' own recipe (``params.head``).
    """
    check_pool(params, params_file)
    from foxdog.model.baseline import run_baseline, run_head_baseline

    cond = condition(params, name)
    out = Path(out) if out else paths.baseline(cond.name)
    if cond.start in FEATURE_STARTS:
        summary = run_head_baseline(params, cond, out)
    elif cond.natural:
        summary = run_baseline(params, Path(params.data.out_dir), out, cond.start)
    else:
        raise ValueError(f"baseline of {cond.name!r}: subsampled CNN pools are not supported")
    acc = summary["balanced_accuracy" if not cond.natural else "accuracy"]
    print(
        f"baseline ({cond.name}) {'balanced ' if not cond.natural else ''}accuracy "
        f"{acc['mean']:.3f} {format_interval(acc)} -> {out}"
    )
    return summary

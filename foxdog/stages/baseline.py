"""Stage ``baseline``: full-pool training over seeds -> metrics/baseline/<condition>.json.

Every seed's test predictions go to ``results/baseline/<condition>/test_predictions.csv``
(with ``--out FILE``: ``FILE``'s name with ``.test_predictions.csv`` for ``.json``, beside it).
"""

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


def predictions_path(condition: str, out: Path | None) -> Path:
    """Where the stage writes the test predictions (see the module docstring)."""
    if out is None:
        return paths.baseline_predictions(condition)
    # A one-off run with --out must not overwrite the study's predictions.
    return Path(out).with_suffix(".test_predictions.csv")


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
    predictions = predictions_path(cond.name, out)
    out = Path(out) if out else paths.baseline(cond.name)
    if cond.start in FEATURE_STARTS:
        summary = run_head_baseline(params, cond, out, predictions)
    elif cond.natural:
        summary = run_baseline(params, Path(params.data.out_dir), out, cond.start, predictions)
    else:
        raise ValueError(f"baseline of {cond.name!r}: subsampled CNN pools are not supported")
    acc = summary["balanced_accuracy" if not cond.natural else "accuracy"]
    print(
        f"baseline ({cond.name}) {'balanced ' if not cond.natural else ''}accuracy "
        f"{acc['mean']:.3f} {format_interval(acc)} -> {out}, {predictions}"
    )
    return summary

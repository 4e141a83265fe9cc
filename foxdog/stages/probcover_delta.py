"""Stage ``probcover_delta``: ProbCover's δ purity/coverage table -> metrics/probcover_delta.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from foxdog.config import Params


def run(params: Params, out: Path) -> pd.DataFrame:
    """Write the δ table to ``out`` and return it."""
    from foxdog.probcover_delta import run_probcover_delta

    table = run_probcover_delta(params, Path(out))
    picked = table.loc[table["chosen"]].set_index("seed")["delta"]
    print(f"probcover δ by seed {picked.to_dict()} -> {out}")
    return table

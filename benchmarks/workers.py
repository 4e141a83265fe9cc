"""Seeds in parallel: one `al` stage with 1 worker and with N, same numbers, wall time of each.

    python benchmarks/workers.py                                  # scratch / margin, 2 seeds
    python benchmarks/workers.py --condition imagenet-fox10 --seeds 30

Runs ``foxdog al`` on a copy of params.yaml whose seeds are cut to ``--seeds`` (CNN starts:
``active.seeds``; frozen-feature starts: ``head.seeds``), into temporary result folders, so
nothing under ``results/`` is touched. Prints the wall time per worker count and whether
``queries.csv`` and every ``rounds.csv`` column but the seconds are identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from foxdog.registry import FEATURE_STARTS, parse_condition

SECONDS = ["fit_seconds", "query_seconds"]
FOXDOG = [sys.executable, "-c", "from foxdog.cli import main; raise SystemExit(main())"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--condition", default="scratch")
    ap.add_argument("--strategy", default="margin")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args()

    doc = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    seeds = list(range(args.seeds))
    start = parse_condition(args.condition, doc["data"]["classes"]).start
    if start in FEATURE_STARTS:
        doc["head"]["seeds"] = seeds
    else:
        doc["active"]["seeds"] = seeds
        doc["ablations"]["seeds"] = [s for s in doc["ablations"]["seeds"] if s in seeds]
    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "params.yaml"
        params.write_text(yaml.safe_dump(doc), encoding="utf-8")
        frames = {}
        for workers in (1, args.workers):
            out = Path(tmp) / f"w{workers}"
            t0 = time.perf_counter()
            subprocess.run(
                [*FOXDOG, "al", "--condition", args.condition,
                 "--strategy", args.strategy, "--params", str(params), "--results", str(out),
                 "--workers", str(workers)],
                check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            where = out / args.condition / args.strategy
            rounds = pd.read_csv(where / "rounds.csv")
            frames[workers] = (rounds, (where / "queries.csv").read_bytes())
            fits = rounds[SECONDS].sum().sum()
            print(
                f"{args.condition}/{args.strategy}, {args.seeds} seeds, --workers {workers}: "
                f"{wall:.1f} s wall, {fits:.1f} s fit + query summed over seeds"
            )
        (r1, q1), (rn, qn) = frames[1], frames[args.workers]
        same = r1.drop(columns=SECONDS).equals(rn.drop(columns=SECONDS)) and q1 == qn
        print(f"identical results with 1 and {args.workers} workers: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Calibrate the stop rule per protocol: between-seed kappa, and what stopping would cost.

For every condition with committed results (``results/<condition>/``) this prints

- the between-seed κ of random's final models on the stop set (the validation split),
  from the run states' ``val_pred``: the agreement two equally trained models reach, which
  ``analysis.stop_kappa`` was calibrated against (``foxdog.analysis.facts.stop_calibration``);
- for each candidate threshold, the analysis' stopping rule
  (``foxdog.analysis.groups.stopping``; window: the start's, ``Params.analysis_for``, or
  ``--window``) on each strategy: median labels at stop ("never": fewer than half the
  seeds stop), share of seeds stopping, labels saved, and what stopping costs: accuracy
  at the end of the budget minus at the stop on the test split, in balanced accuracy,
  and on the validation split (``val_accuracy``: what a threshold may be chosen on).
  Averages over every seed; a seed that never stops costs and saves nothing.

Reads committed result files only; runs nothing. Usage::

    python benchmarks/stop_kappa.py [--thresholds 0.67,0.98] [--window 10]
        [--strategies random,margin] [--conditions imagenet,imagenet-fox10]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import pandas as pd

from foxdog import paths
from foxdog.analysis.groups import stopping
from foxdog.analysis.read import load_final_val_predictions
from foxdog.analysis.stats import between_seed_kappa
from foxdog.config import load_params
from foxdog.registry import conditions

COLUMNS = "  strategy    kappa  labels stopped  saved  test_cost  balanced_cost  val_cost"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--results", default="results")
    ap.add_argument("--thresholds", default="0.67,0.8,0.9,0.95,0.97,0.98,0.99,0.995")
    ap.add_argument("--strategies", default="random,margin")
    ap.add_argument("--window", type=int, help="rounds averaged (default: the start's)")
    ap.add_argument("--conditions", help="comma-separated names (default: every condition)")
    args = ap.parse_args()
    params = load_params(args.params)
    results = Path(args.results)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    for cond in conditions(params):
        if args.conditions and cond.name not in args.conditions.split(","):
            continue
        cfg = params.analysis_for(cond.start)
        if args.window:
            cfg = dataclasses.replace(cfg, stop_window=args.window)
        protocol = params.protocol(cond.start)
        preds = load_final_val_predictions(
            paths.strategy_dir(results, cond.name, "random"),
            protocol.initial_size,
            protocol.query_size,
            params.active.label_noise,
        )
        k = between_seed_kappa(preds)
        print(
            f"\n{cond.name}: between-seed kappa at {protocol.final_labels()} labels "
            f"(random, {len(preds)} seeds, {k['n_pairs']} pairs): mean {k['mean']:.3f} "
            f"[min {k['min']:.3f}, max {k['max']:.3f}]; window {cfg.stop_window} rounds "
            f"of {protocol.query_size} labels; configured kappa {cfg.stop_kappa}"
        )
        print(COLUMNS)
        for strategy in args.strategies.split(","):
            path = paths.strategy_dir(results, cond.name, strategy) / "rounds.csv"
            if not path.is_file():
                continue
            by_seed = {int(s): p for s, p in pd.read_csv(path).groupby("seed", sort=True)}
            metrics = {
                "test": by_seed,
                "balanced": {
                    s: p.assign(accuracy=p["balanced_accuracy"]) for s, p in by_seed.items()
                },
                "val": {s: p.assign(accuracy=p["val_accuracy"]) for s, p in by_seed.items()},
            }
            for t in thresholds:
                c = dataclasses.replace(cfg, stop_kappa=t)
                out = {name: stopping(seeds, c) for name, seeds in metrics.items()}
                labels = out["test"]["labels"]
                never = labels is None or (isinstance(labels, float) and math.isnan(labels))
                cost = {name: o["accuracy_cost"]["mean"] for name, o in out.items()}
                stopped, saved = out["test"]["seeds_stopped"], out["test"]["labels_saved"]["mean"]
                print(
                    f"  {strategy:<11} {t:<6.3g} {'never' if never else labels:>6} "
                    f"{stopped:>7.0%} {saved:>6.1f}"
                    f"  {cost['test']:>+9.4f}  {cost['balanced']:>+13.4f}  {cost['val']:>+8.4f}"
                )


if __name__ == "__main__":
    main()

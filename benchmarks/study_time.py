"""Split the study's compute per DVC stage from the committed result files, and project it.

Usage (from the project root; reads only committed files, trains nothing)::

    python benchmarks/study_time.py                      # as committed
    python benchmarks/study_time.py --cnn-seeds 14       # the CNN starts at 14 seeds
    python benchmarks/study_time.py --cnn-seeds 14 --stage-overhead 20,15

What each stage's files record:

- ``al@<start>-<strategy>``, ``al_head@<condition>-<strategy>`` and
  ``ablate@<factor>-<strategy>``: the sum of ``fit_seconds`` + ``query_seconds`` over
  every seed and round of ``results/.../rounds.csv``. Not counted there: process
  start-up, imports and JAX compilation, loading the arrays, scoring the test and
  validation splits after each fit, and writing the state. ``--stage-overhead C,H``
  adds C seconds to each CNN stage (al, ablate) and H to each head stage (al_head)
  for those (measure them with one short real run; benchmarks/README.md §13).
- ``baseline@<start>`` and ``baseline_head@<condition>``: the sum of
  ``train_seconds.per_seed`` in ``metrics/baseline/<name>.json`` (fits only).
- ``pretrain@<method>``: ``seconds`` in ``metrics/pretrain_<method>.json``.
- curate, pretrain_data, embed, probcover_delta, analyze, report: no file records a
  duration; they are listed as such (``embed``: 9 min 03 s measured by
  ``/usr/bin/time``, benchmarks/README.md §8).

The sums are compute, not wall time: since the stages run one seed per core at once
(``--workers``, benchmarks/README.md §16), a stage's wall time on two cores is about 0.6 of
its sum. ``benchmarks/repro_log.py`` reads the wall time of every stage off a timed
``dvc repro`` log instead.

The machine each stage ran on is the ``machine`` column of rounds.csv (the CNN and head
runs may come from different machines: compare with care). ``--cnn-seeds N`` scales the
CNN starts' ``al`` stages linearly in seeds (each seed is an independent run of the
same rounds); ``--ablation-seeds`` does the same for the ``ablate`` stages;
``--cnn-fit-scale F`` multiplies the CNN fits' seconds (fit time is proportional to the
steps: 2 for ``train.epochs`` 80 with ``train.steps`` 600).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

NOT_RECORDED = ("curate", "pretrain_data", "embed", "probcover_delta", "analyze", "report")


def run_stages(results: Path) -> pd.DataFrame:
    """One row per al / al_head / ablate stage: seconds recorded, seeds, rounds, machine."""
    rows = []
    for path in sorted(results.glob("*/*/rounds.csv")) + sorted(
        results.glob("ablations/*/*/rounds.csv")
    ):
        d = pd.read_csv(path)
        rel = path.relative_to(results).parts
        if rel[0] == "ablations":
            kind, name = "ablate", f"ablate@{rel[1]}-{rel[2]}"
        elif "condition" in d.columns:
            kind, name = "al_head", f"al_head@{rel[0]}-{rel[1]}"
        else:
            kind, name = "al (CNN)", f"al@{rel[0]}-{rel[1]}"
        rows.append(
            {
                "kind": kind,
                "stage": name,
                "seconds": float(d["fit_seconds"].sum() + d["query_seconds"].fillna(0).sum()),
                "fit s": float(d["fit_seconds"].sum()),
                "query s": float(d["query_seconds"].fillna(0).sum()),
                "seeds": int(d["seed"].nunique()),
                "fits": len(d),
                "machine": ",".join(sorted(d["machine"].astype(str).unique())),
            }
        )
    return pd.DataFrame(rows)


def recorded_stages(metrics: Path) -> pd.DataFrame:
    """Baselines and pretraining: the durations their metrics files record."""
    rows = []
    for path in sorted((metrics / "baseline").glob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        head = "condition" in d
        kind = "baseline_head" if head else "baseline (CNN)"
        per_seed = d["train_seconds"]["per_seed"]
        rows.append(
            {
                "kind": kind,
                "stage": f"{kind.split()[0]}@{path.stem}",
                "seconds": float(sum(per_seed)),
                "seeds": len(per_seed),
                "fits": len(per_seed),
            }
        )
    for path in sorted(metrics.glob("pretrain_*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        rows.append(
            {
                "kind": "pretrain",
                "stage": f"pretrain@{d.get('method', path.stem[9:])}",
                "seconds": float(d["seconds"]),
                "seeds": 1,
                "fits": 1,
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--metrics", default="metrics")
    ap.add_argument("--cnn-seeds", type=int, help="project the CNN starts' al stages to N seeds")
    ap.add_argument("--ablation-seeds", type=int, help="project the ablate stages to N seeds")
    ap.add_argument(
        "--cnn-fit-scale",
        type=float,
        default=1.0,
        help="multiply the CNN fits' seconds (al, ablate, baseline): 2 = twice the steps",
    )
    ap.add_argument(
        "--stage-overhead",
        default="0,0",
        help="seconds added per CNN stage (al, ablate) and per head stage (al_head): C,H",
    )
    ap.add_argument("--all", action="store_true", help="print every stage, not only the kinds")
    args = ap.parse_args(argv)
    over_cnn, over_head = (float(x) for x in args.stage_overhead.split(","))

    stages = pd.concat(
        [run_stages(Path(args.results)), recorded_stages(Path(args.metrics))], ignore_index=True
    )
    stages["overhead"] = (
        stages["kind"]
        .map({"al (CNN)": over_cnn, "ablate": over_cnn, "al_head": over_head})
        .fillna(0.0)
    )
    stages["projected"] = stages["seconds"]
    cnn = stages["kind"].isin(["al (CNN)", "ablate", "baseline (CNN)"])
    fit = stages["fit s"].fillna(stages["seconds"])  # baselines record fits only
    stages.loc[cnn, "projected"] += (args.cnn_fit_scale - 1) * fit[cnn]
    for kind, n in (("al (CNN)", args.cnn_seeds), ("ablate", args.ablation_seeds)):
        if n:
            sel = stages["kind"] == kind
            per_seed = stages.loc[sel, "projected"] / stages.loc[sel, "seeds"]
            stages.loc[sel, "projected"] = per_seed * n
    stages["projected"] += stages["overhead"]
    if args.all:
        print(stages.to_markdown(index=False, floatfmt=".1f"))
        print()

    by_kind = stages.groupby("kind", sort=False).agg(
        stages=("stage", "size"),
        seeds=("seeds", "max"),
        fits=("fits", "sum"),
        recorded_min=("seconds", lambda s: s.sum() / 60),
        projected_min=("projected", lambda s: s.sum() / 60),
        machine=("machine", lambda s: ",".join(sorted(set(s.dropna())))),
    )
    print(
        f"projected: CNN seeds {args.cnn_seeds or 'as run'}, ablation seeds "
        f"{args.ablation_seeds or 'as run'}, CNN fits x {args.cnn_fit_scale:g}, overhead "
        f"{over_cnn:g} s per CNN stage (al, ablate) and {over_head:g} s per head stage (al_head)"
    )
    by_kind = by_kind.rename(
        columns={
            "recorded_min": "recorded min",
            "projected_min": "projected min",
            "seeds": "seeds (max)",
        }
    )
    print(by_kind.to_markdown(floatfmt=".1f"))
    for kind, s in stages.groupby("kind", sort=False):
        if kind.startswith(("al", "ablate")):
            top = s.loc[s["seconds"].idxmax()]
            print(f"  {kind}: slowest {top['stage']} {top['seconds'] / 60:.1f} min recorded")
    total, proj = stages["seconds"].sum() / 60, stages["projected"].sum() / 60
    print(f"\nrecorded total {total:.1f} min; projected total {proj:.1f} min")
    print("not recorded by any file: " + ", ".join(NOT_RECORDED))


if __name__ == "__main__":
    main()

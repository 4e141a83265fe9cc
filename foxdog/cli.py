"""``foxdog`` command line: argparse only; each stage subcommand calls ``stages.<stage>.run``.

Every subcommand reads ``params.yaml`` from the current folder. Expected
failures (bad parameter, missing or corrupt file, failed download) end with a
one-line ``foxdog: ...`` message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from foxdog import paths
from foxdog.config import Params, load_params
from foxdog.errors import CurationError, FetchError, RenderError
from foxdog.registry import ABLATION_FACTORS, STRATEGIES

DESCRIPTION = """\
Active learning on a folder of labelled photos (the fox/dog study by default).
The stages, in pipeline order
(`dvc repro` runs them; each can also be run by hand):

  data fetch     materialise data/ from ../shared/foxdog-raw through DVC, verified
  data download  rebuild the raw collection from its origins in SOURCES.csv
  data index     write SOURCES.csv for your own DIR/<class>/**/<image> folder
  data regroup   new classes from a collection's breed_or_species, as symbolic links
  study          DIR -> index, params, the stages its starts need -> _site/ (--quick: short look)
  curate         data/ -> curated/ (checked, deduplicated, split, resized arrays)
  embed          curated photos -> frozen ImageNet features per split (imagenet start)
  pretrain-data  pretraining corpus -> curated_pretrain/ (+ near-duplicate check)
  pretrain       one encoder (supervised | simclr) -> models/<method>.msgpack
  baseline       full-pool training over seeds, one condition -> metrics/baseline/<condition>.json
  al             one condition x one query strategy, all seeds -> results/<condition>/<strategy>/
  ablate         one ablation factor for one strategy -> results/ablations/...
  probcover-delta  ProbCover δ purity/coverage table -> metrics/probcover_delta.csv
  analyze        results -> metrics/summary.json, metrics/*.csv, plots/
  report         report/*.qmd -> _site/ (Quarto if installed, else Jupyter)
  readme         rewrite README.md's numbers block from the result files

  label          label your own photos in a local web app (the model picks what to ask)
"""


def _params(args: argparse.Namespace) -> Params:
    # Commands load their parameters before their heavy imports, so a bad
    # parameter file is reported in a fraction of a second.
    return load_params(args.params)


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (argparse turns the error into one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def cmd_fetch(args: argparse.Namespace) -> int:
    from foxdog.data.fetch import fetch_raw

    print(fetch_raw(Path(args.dvc_file)))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from foxdog.data.download import download_collection, format_report

    sources = Path(args.sources) if args.sources else None  # None: the shipped origins
    report = download_collection(
        sources, Path(args.dest), workers=args.workers, base_url=args.base_url
    )
    print(format_report(report))
    return 1 if report.failed else 0


def cmd_index(args: argparse.Namespace) -> int:
    from foxdog.data.index import summary_lines, write_index

    index, out = write_index(
        args.dir,
        args.out,
        subgroup_level=args.subgroup_level,
        subgroups_csv=args.subgroups,
        force=args.force,
        workers=args.workers,
    )
    # data.min_side from params.yaml where there is one: index runs before a checkout too.
    min_side = load_params(args.params).data.min_side if Path(args.params).exists() else None
    for line in summary_lines(index, out, min_side):
        print(line, file=sys.stderr if line.startswith("foxdog:") else sys.stdout)
    return 0


def cmd_regroup(args: argparse.Namespace) -> int:
    from foxdog.data.index import write_index
    from foxdog.data.regroup import carry_breeds, read_class_map, regroup

    out = Path(args.out)
    counts = regroup(Path(args.origin), read_class_map(Path(args.map)), out, force=args.force)
    index, written = write_index(out, workers=args.workers, force=True)
    carry_breeds(out)
    for path, reason in index.skipped:
        print(f"foxdog: warning: {path}: {reason} — skipped, not listed", file=sys.stderr)
    per_class = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"linked {sum(counts.values())} images ({per_class}) -> {out}/, indexed -> {written}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from foxdog.stages import embed

    embed.run(_params(args))
    return 0


def cmd_curate(args: argparse.Namespace) -> int:
    from foxdog.stages import curate

    curate.run(_params(args))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from foxdog.stages import baseline

    baseline.run(_params(args), args.condition, _path(args.out), args.params)
    return 0


def cmd_al(args: argparse.Namespace) -> int:
    from foxdog.stages import al

    al.run(
        _params(args),
        args.strategy,
        args.condition,
        Path(args.results),
        args.params,
        workers=args.workers,
    )
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from foxdog.stages import ablate

    ablate.run(
        _params(args),
        args.factor,
        args.strategy,
        Path(args.results),
        args.params,
        workers=args.workers,
    )
    return 0


def cmd_pretrain_data(args: argparse.Namespace) -> int:
    from foxdog.stages import pretrain_data

    pretrain_data.run(_params(args))
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from foxdog.stages import pretrain

    pretrain.run(_params(args), args.method, _path(args.metrics))
    return 0


def cmd_probcover_delta(args: argparse.Namespace) -> int:
    from foxdog.stages import probcover_delta

    probcover_delta.run(_params(args), Path(args.out))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from foxdog.stages import analyze

    analyze.run(_params(args))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from foxdog.stages import report

    report.run(Path("."), Path(args.out), engine=args.engine)
    return 0


def cmd_readme(args: argparse.Namespace) -> int:
    from foxdog.stages import readme

    readme.run(_params(args), Path(args.readme))
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from foxdog.study import run_study

    run_study(
        Path(args.dir), args.classes, quick=args.quick, overrides=args.set,
        params_path=Path(args.params),
    )  # fmt: skip
    print("site written: _site/index.html")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="foxdog", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--params", default="params.yaml", help="parameter file (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help)
        command.set_defaults(func=func)
        return command

    data = sub.add_parser("data", help="get the raw photo collection")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_sub.add_parser(
        "fetch", help="materialise data/ through DVC and check it against data.dvc"
    )
    fetch.add_argument("--dvc-file", default="data.dvc")
    fetch.set_defaults(func=cmd_fetch)
    # No --params here: the raw collection does not depend on them.
    dl = data_sub.add_parser(
        "download", help="rebuild the collection from the origins in SOURCES.csv"
    )
    dl.add_argument(
        "--sources",
        default=None,
        help="origins CSV (default: foxdog/data/origins.csv, shipped with foxdog)",
    )
    dl.add_argument("--dest", default="foxdog-raw", help="folder to write the photos into")
    dl.add_argument("--workers", type=int, default=8)
    dl.add_argument("--base-url", default="https://raw.githubusercontent.com")
    dl.set_defaults(func=cmd_download)
    idx = data_sub.add_parser(
        "index", help="write SOURCES.csv for a DIR/<class>/**/<image> folder of your own"
    )
    idx.add_argument("dir", metavar="DIR", help="folder with one sub-folder per class")
    idx.add_argument("--out", default=None, help="CSV to write (default: DIR/SOURCES.csv)")
    group = idx.add_mutually_exclusive_group()
    group.add_argument(
        "--subgroup-level",
        type=int,
        default=1,
        metavar="N",
        help="source = the folder N levels below the class (default: %(default)s; "
        "files with no folder there: 'unknown')",
    )
    group.add_argument(
        "--subgroups", metavar="CSV", help="source per image from a relative_path,source CSV"
    )
    idx.add_argument("--force", action="store_true", help="replace an existing --out file")
    idx.add_argument("--workers", type=int, default=None, help="hashing threads (default: ≤ 8)")
    idx.add_argument(
        "--params", default="params.yaml",
        help="data.min_side is read from here when it exists (default: %(default)s)",
    )  # fmt: skip
    idx.set_defaults(func=cmd_index)
    reg = data_sub.add_parser(
        "regroup",
        help="new class folders of symbolic links from a collection's breed_or_species",
    )
    reg.add_argument("--map", required=True, help="CSV with columns breed_or_species,class")
    reg.add_argument(
        "--from",
        dest="origin",
        default="data",
        help="collection with a SOURCES.csv (default: %(default)s)",
    )
    reg.add_argument("--out", required=True, help="folder to write the class folders into")
    reg.add_argument("--force", action="store_true", help="replace an earlier regroup in --out")
    reg.add_argument("--workers", type=int, default=None, help="hashing threads (default: ≤ 8)")
    reg.set_defaults(func=cmd_regroup)

    study = add("study", cmd_study, "your folder of photos -> the whole study -> _site/")
    study.add_argument("dir", metavar="DIR", help="folder with one sub-folder of photos per class")
    study.add_argument(
        "--classes", nargs="+", required=True, metavar="CLASS",
        help="the class folders to study, in label order (label i = i-th name)",
    )  # fmt: skip
    study.add_argument(
        "--quick", action="store_true",
        help="the short look of quick-look.yaml (one start from scratch, two strategies, "
        "three rounds of 20 labels) instead of the full study",
    )  # fmt: skip
    study.add_argument(
        "-S", "--set", action="append", default=[], metavar="KEY=VALUE",
        help="change one parameter for this study, as `dvc exp run -S` (repeatable)",
    )  # fmt: skip
    add("curate", cmd_curate, "raw photos -> curated arrays, manifest, datasheet")
    add("pretrain-data", cmd_pretrain_data, "curate the pretraining corpus, check for leaks")
    add("embed", cmd_embed, "frozen ImageNet features of every curated photo, per split")
    pre = add("pretrain", cmd_pretrain, "pretrain an encoder for the transfer / selfsup starts")
    pre.add_argument("--method", choices=("supervised", "simclr"))
    pre.add_argument("--metrics", help="default: metrics/pretrain_<method>.json")
    base = add("baseline", cmd_baseline, "train on the full pool over seeds (the upper bound)")
    base.add_argument(
        "--out",
        help="default: metrics/baseline/<condition>.json (the test predictions: "
        "results/baseline/<condition>/test_predictions.csv; with --out, beside it)",
    )
    al = add("al", cmd_al, "run one query strategy for every seed (resumable)")
    for command in (base, al):
        command.add_argument(
            "--condition",
            "--start",
            dest="condition",
            required=True,
            help="a start (natural balance: scratch, transfer, selfsup, imagenet) or "
            "<start>-<rare class><two-digit percent of the pool>, e.g. imagenet-fox10",
        )
    ab = add("ablate", cmd_ablate, "vary one protocol factor for one strategy (resumable)")
    ab.add_argument("--factor", required=True, choices=ABLATION_FACTORS)
    for runner in (al, ab):
        runner.add_argument("--strategy", required=True, choices=STRATEGIES)
        runner.add_argument("--results", default=str(paths.RESULTS))
        runner.add_argument(
            "--workers",
            type=_positive_int,
            default=None,
            help="seeds run at once, each in a process pinned to one core (default: one per "
            "core); the numbers do not depend on it",
        )
    pcd = add("probcover-delta", cmd_probcover_delta, "ProbCover's δ: purity vs coverage")
    pcd.add_argument("--out", default=str(paths.probcover_delta()))
    add("analyze", cmd_analyze, "learning curves, AULC, savings, plateaus, tests")
    rep = add("report", cmd_report, "render the website into _site/")
    rep.add_argument("--out", default="_site")
    rep.add_argument("--engine", choices=("auto", "quarto", "jupyter"), default="auto")
    readme = add("readme", cmd_readme, "refresh README.md's numbers from metrics/ and results/")
    readme.add_argument("--readme", default="README.md")
    from foxdog.label import command as label_command  # light: heavy imports are inside

    label_command.configure(sub.add_parser("label", parents=[common], help=label_command.HELP))
    return parser


# ValueError: bad input found at a boundary (arrays, estimator, strategy names; also
# ConfigError and DownloadError); OSError: a file that cannot be read or written.
# Set FOXDOG_DEBUG=1 for tracebacks.
EXPECTED_ERRORS = (ValueError, OSError, CurationError, FetchError, RenderError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``foxdog`` console command."""
    args = build_parser().parse_args(argv)
    # Every stage is a fresh process; XLA's persistent cache saves its ~4 s of
    # compilation per jitted function after the first stage (same code, same bytes).
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(".jax_cache").resolve()))
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("foxdog: interrupted — completed work is saved; re-run to resume", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as err:
        if os.environ.get("FOXDOG_DEBUG"):
            raise
        message = _os_error(err) if isinstance(err, OSError) else str(err)
        print(f"foxdog: {message}", file=sys.stderr)
        return 2


def _os_error(err: OSError) -> str:
    if err.filename and err.strerror:
        reason = "not found" if isinstance(err, FileNotFoundError) else err.strerror
        return f"{err.filename}: {reason}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())

"""``foxdog label``: the command line of the labelling app (arguments, start-up, serving).

``foxdog label DIR --classes a,b`` indexes ``DIR`` into its label project,
computes features (progress bar), and serves the page on ``label.host:port``;
``--oracle SOURCES.csv`` answers from known labels instead of a person;
``foxdog label export PROJECT OUT`` writes the labels out
(:mod:`foxdog.label.export`). This module keeps its heavy imports inside
functions so ``foxdog --help`` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the heavy modules load only when a command runs
    from foxdog.config import Params
    from foxdog.label.project import Project
    from foxdog.label.session import LabelSession

HELP = "label your own photos in a local web app; the model picks what to ask"
EPILOG = """\
examples:
  foxdog label ~/photos --classes fox,dog          open the page (prints its address)
  foxdog label ~/photos --classes fox,dog --oracle SOURCES.csv --budget 200
  foxdog label export ~/photos/.foxdog-label labelled/
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``foxdog label``'s arguments to ``parser``."""
    parser.description = (
        "Label the photos of DIR (any nesting) with the model in the loop. `foxdog label "
        "export PROJECT OUT` writes <class>/ folders of links, SOURCES.csv and predictions.csv."
    )
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("dir", metavar="DIR", help="folder of photos (or `export`)")
    parser.add_argument(
        "paths", nargs="*", metavar="PROJECT OUT", help="export only: project folder, output"
    )
    parser.add_argument("--classes", help="comma-separated class names, e.g. fox,dog")
    parser.add_argument("--project", help="label project folder (default: DIR/.foxdog-label)")
    parser.add_argument("--host", help="bind address (default: label.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: label.port; 0: any free one)")
    parser.add_argument("--strategy", help="query strategy (default: label.strategy)")
    parser.add_argument("--oracle", metavar="SOURCES.csv", help="replay: answer from known labels")
    parser.add_argument(
        "--budget", type=int, default=None, help="replay: stop at this many labels (default: all)"
    )
    parser.set_defaults(func=run)


@dataclass
class Loaded:
    """A project opened with its features."""

    project: Project
    features: np.ndarray
    has_features: np.ndarray


def load(photos_dir: Path, folder: Path, classes: list[str], params: Params) -> Loaded:
    """Open (or create) the project and make sure every photo's features are cached."""
    from foxdog.label.features import (
        FeatureCache,
        cache_path,
        chunk_embedder,
        fill_missing,
        get_extractor,
        progress_bar,
    )
    from foxdog.label.project import open_project

    extractor = get_extractor(params.label.extractor, params)
    data = dataclasses.replace(params.data, image_size=extractor.image_size)
    cache = FeatureCache(cache_path(folder, extractor.name))
    project = open_project(
        folder,
        photos_dir,
        classes,
        data,
        on_chunk=chunk_embedder(cache, extractor),
        progress_factory=progress_bar(f"indexing + {extractor.name} features"),
    )
    paths, shas = list(project.index["path"]), list(project.index["sha256"])
    computed = fill_missing(cache, extractor, project.photos_dir, paths, shas, data)
    if computed or not cache.path.is_file():
        cache.save()
    has = np.array([s in cache for s in shas], dtype=bool)
    dim = cache.matrix(shas[:1]).shape[1] if has.any() else 1
    features = np.zeros((len(shas), dim), dtype=np.float32)
    if has.any():
        features[has] = cache.matrix([s for s, h in zip(shas, has, strict=True) if h])
    return Loaded(project, features, has)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``foxdog label``."""
    from foxdog.config import load_params

    params = load_params(args.params)
    if args.dir == "export":
        return run_export(args, params)
    if not args.classes:
        raise ValueError("--classes: missing (e.g. --classes fox,dog)")
    if args.paths:
        raise ValueError(f"{args.paths[0]}: unexpected argument (for `foxdog label export`)")
    from foxdog.label.project import default_folder
    from foxdog.label.session import LabelSession

    cfg = params.label
    overrides = {k: getattr(args, k) for k in ("host", "port", "strategy") if getattr(args, k)}
    if args.port == 0:
        overrides["port"] = 0
    cfg = dataclasses.replace(cfg, **overrides)
    from foxdog.config import ConfigError, validate_label

    try:
        validate_label(cfg, "command line")
    except ConfigError as err:
        raise ValueError(str(err).replace("label.", "--")) from None
    photos_dir = Path(args.dir)
    folder = Path(args.project) if args.project else default_folder(photos_dir)
    _cache_inside(folder)
    loaded = load(photos_dir, folder, args.classes.split(","), params)
    project = loaded.project
    _report_skipped(project)
    session = LabelSession(
        project,
        loaded.features,
        loaded.has_features,
        cfg,
        strategy=args.strategy,
        synchronous=bool(args.oracle),
    )
    try:
        if args.oracle:
            return _run_oracle(session, Path(args.oracle), args.budget)
        serve(session, cfg.host, cfg.port)
    finally:
        session.close()
    return 0


def _cache_inside(folder: Path) -> None:
    """Point JAX's compilation cache into the project: the app writes nowhere else.

    ``foxdog``'s entry point defaults it to ``./.jax_cache`` (right for the
    pipeline, run from the project root); a user's own setting is kept.
    """
    import os

    default = str(Path(".jax_cache").resolve())
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") in (None, default):
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(Path(folder).resolve() / "jax_cache")


def _report_skipped(project: Project) -> None:
    skipped = project.skipped
    for path, reason in zip(skipped["path"][:10], skipped["reason"][:10], strict=True):
        print(f"foxdog: warning: {path}: {reason} — skipped", file=sys.stderr)
    if len(skipped) > 10:
        print(
            f"foxdog: warning: {len(skipped) - 10} more skipped, all listed in "
            f"{project.folder / 'skipped.csv'}",
            file=sys.stderr,
        )
    print(f"{project.n_photos} photos to label in {project.photos_dir} (project {project.folder})")


def _run_oracle(session: LabelSession, oracle: Path, budget: int | None) -> int:
    from foxdog.label.replay import read_oracle, replay

    answers = read_oracle(oracle, session.project)
    given = replay(session, answers, session.project.n_photos if budget is None else budget)
    status = session.status()
    estimate = status["estimate"]
    text = (
        "no estimate yet"
        if estimate is None
        else (
            f"estimated accuracy {estimate['accuracy']:.1%} "
            f"[{estimate['low']:.1%}, {estimate['high']:.1%}] from {estimate['n']} random checks"
        )
    )
    print(f"replayed {given} labels ({text}); log in {session.log.path}")
    print(status["stop"]["text"])
    return 0


def serve(session: LabelSession, host: str, port: int) -> None:
    """Serve the page until interrupted; prints the address first."""
    import uvicorn

    from foxdog.label.app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        raise OSError(
            err.errno, f"cannot listen there ({err.strerror})", f"{host}:{port}"
        ) from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"foxdog label: open http://{shown}:{bound}/  (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config(create_app(session, host), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def run_export(args: argparse.Namespace, params: Params) -> int:
    """``foxdog label export PROJECT OUT``."""
    import json

    from foxdog.label.export import PREDICTIONS_FILE, export_project
    from foxdog.label.project import PROJECT_FILE, ProjectError

    if len(args.paths) != 2:
        raise ValueError("foxdog label export PROJECT OUT: give the project folder and OUT")
    folder, out = Path(args.paths[0]), Path(args.paths[1])
    try:
        meta = json.loads((folder / PROJECT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ProjectError(f"{folder}: not a label project (no readable {PROJECT_FILE})") from None
    loaded = load(Path(meta["photos_dir"]), folder, meta["classes"], params)
    done = export_project(
        loaded.project, loaded.features, loaded.has_features, out, params.label.head_c
    )
    for rel in done.missing:
        print(
            f"foxdog: warning: {rel}: labelled but no longer in the folder — left out",
            file=sys.stderr,
        )
    counts = ", ".join(f"{n} {c}" for c, n in done.counts.items())
    print(
        f"exported {sum(done.counts.values())} labelled photos ({counts}) -> {out}/ "
        f"({done.sources.name}); {done.predictions} predictions -> {out / PREDICTIONS_FILE}"
    )
    return 0

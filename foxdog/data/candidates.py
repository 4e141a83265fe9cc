"""The raw photos to curate: each class folder's files, decoded and checked, or dropped with why.

Files under ``<raw>/<class>/`` for every class of ``data.classes`` (sorted by folder
name), links leaving the raw folder refused; each file decoded by content with the
checks of :mod:`foxdog.data.images`, in parallel but in input order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foxdog.config import DataConfig
from foxdog.data.images import (
    RejectedImage,
    colour_layout,
    decode_image,
    perceptual_hash,
    square_resize,
)
from foxdog.data.links import LINKED_FROM_FILE, inside, link_roots
from foxdog.data.sources import SOURCE_COLUMN
from foxdog.errors import CurationError


@dataclass(frozen=True)
class Candidate:
    path: str  # relative to the raw folder, POSIX separators
    label: str
    source: str


@dataclass(frozen=True)
class Decoded:
    candidate: Candidate
    sha256: str
    format: str
    width: int
    height: int
    phash: np.ndarray
    layout: np.ndarray
    pixels: np.ndarray


def source_of(rel: str, sources: dict[str, dict[str, str]]) -> tuple[str, bool]:
    """(source of ``rel``, whether it came from ``SOURCES.csv``).

    The ``source`` column of the file's row when it is there and not empty;
    otherwise the first folder below the class (``""`` for a file directly in it).
    """
    listed = (sources.get(rel) or {}).get(SOURCE_COLUMN) or ""
    if listed.strip():
        return listed, True
    parts = rel.split("/")
    return (parts[1] if len(parts) > 2 else ""), False


def class_folders(raw_dir: Path, classes: Sequence[str]) -> tuple[list[str], list[str]]:
    """The class folders to read (sorted by name) and warnings for folders left out.

    Raises a one-line CurationError for a class of ``data.classes`` with no
    folder. A folder beside them that ``data.classes`` does not list is ignored,
    with a warning (hidden folders, starting with ".", silently).
    """
    for label in classes:
        if not (raw_dir / label).is_dir():
            present = sorted(
                p.name for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
            )
            raise CurationError(
                f"{raw_dir / label}: class folder not found (data.classes lists {label!r}; "
                f"folders in {raw_dir}: {', '.join(present) or 'none'})"
            )
    notes = [
        f"{p}: folder not in data.classes ({', '.join(classes)}) — ignored"
        for p in sorted(raw_dir.iterdir())
        if p.is_dir() and not p.name.startswith(".") and p.name not in classes
    ]
    # Processing order is by folder name, not label order: reordering data.classes
    # renumbers the labels but keeps the same near-duplicate decisions and split.
    return sorted(classes), notes


def list_candidates(
    raw_dir: Path,
    classes: Sequence[str],
    sources: dict[str, dict[str, str]] | None = None,
) -> tuple[list[Candidate], list[dict[str, str]], list[str]]:
    """Files under ``<raw>/<class>/`` for each of ``classes``; links leaving the raw folder dropped.

    Returns (candidates, dropped entries, warnings). Symbolic links are never
    followed out of the raw folder (its hash in ``data.dvc`` would not cover the
    target) unless into the collection its ``LINKED_FROM.txt`` names
    (:mod:`foxdog.data.links`), symlinked folders are not walked, and special
    files (FIFOs, sockets) are dropped rather than opened. ``sources``
    (``SOURCES.csv`` rows) names each file's source (:func:`source_of`).
    """
    sources = sources or {}
    roots = link_roots(raw_dir)
    outside = "symlink points outside the raw folder" + (
        f" and {roots[1]} (its {LINKED_FROM_FILE})" if len(roots) > 1 else ""
    )
    candidates, dropped = [], []
    labels, notes = class_folders(raw_dir, classes)
    for label in labels:
        label_dir = raw_dir / label
        found = 0
        for dirpath, dirnames, filenames in os.walk(label_dir, followlinks=False):
            dirnames.sort()
            here = Path(dirpath)
            for name in list(dirnames):
                if (here / name).is_symlink():
                    rel = (here / name).relative_to(raw_dir).as_posix()
                    source = source_of(rel, sources)[0]
                    dropped.append(_drop(rel, label, source, "symlinked folder: not followed"))
            if not dirnames and not filenames:
                notes.append(f"{here}: empty folder")
            for name in sorted(filenames):
                full = here / name
                rel = full.relative_to(raw_dir).as_posix()
                source = source_of(rel, sources)[0]
                if full.is_symlink():
                    target = full.resolve()
                    if not inside(target, roots):
                        dropped.append(_drop(rel, label, source, outside))
                        continue
                    if not target.exists():
                        dropped.append(_drop(rel, label, source, "broken symlink"))
                        continue
                if name.startswith("."):
                    continue
                if not full.is_file():
                    dropped.append(_drop(rel, label, source, "not a regular file"))
                    continue
                candidates.append(Candidate(rel, label, source))
                found += 1
        if found == 0:
            notes.append(f"{label_dir}: no images in class folder")
    return candidates, dropped, notes


def _drop(path: str, label: str, source: str, reason: str) -> dict[str, str]:
    return {"path": path, "label": label, "source": source, "reason": reason}


def dropped_entry(cand: Candidate, reason: str) -> dict[str, str]:
    """The datasheet's record of a candidate that was dropped, and why."""
    return _drop(cand.path, cand.label, cand.source, reason)


def _decode_one(args: tuple[Path, Candidate, DataConfig]) -> Decoded | dict[str, str]:
    raw_dir, cand, cfg = args
    try:
        img = decode_image(
            raw_dir / cand.path,
            max_pixels=cfg.max_pixels,
            min_side=cfg.min_side,
            min_std=cfg.min_std,
        )
    except RejectedImage as err:
        return dropped_entry(cand, str(err))
    except OSError as err:
        return dropped_entry(cand, f"unreadable ({err.strerror or err})")
    return Decoded(
        candidate=cand,
        sha256=img.sha256,
        format=img.format,
        width=img.width,
        height=img.height,
        phash=perceptual_hash(img.rgb, cfg.hash_size),
        layout=colour_layout(img.rgb),
        pixels=square_resize(img.rgb, cfg.image_size),
    )


def decode_all(
    raw_dir: Path, candidates: list[Candidate], cfg: DataConfig, workers: int | None = None
) -> list[Decoded | dict[str, str]]:
    """Decode candidates in parallel; results keep the input order (determinism)."""
    jobs = [(raw_dir, c, cfg) for c in candidates]
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers == 1 or len(jobs) < 64:
        return [_decode_one(j) for j in jobs]
    # Threads, not processes: Pillow, NumPy and SciPy release the GIL in their inner
    # loops, and forking a process that already runs threads (BLAS, or JAX in a test
    # session or notebook) can deadlock the children.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_decode_one, jobs))


def decoding_record(cfg: DataConfig) -> dict[str, object]:
    """How images were decoded, checked and resized: the part every datasheet shares."""
    return {
        "image_size": cfg.image_size,
        "resize": "shorter side to image_size, centre crop, Lanczos (PIL ImageOps.fit)",
        "params": {
            "min_side": cfg.min_side,
            "min_std": cfg.min_std,
            "max_pixels": cfg.max_pixels,
            "hash_size": cfg.hash_size,
            "max_hash_distance": cfg.max_hash_distance,
        },
    }

"""The label project folder: which photos of ``DIR`` can be labelled, by integer id.

A label project is one folder (default ``DIR/.foxdog-label``) holding everything
the labelling app writes: ``project.json`` (the photo folder and the classes),
``index.csv`` (one row per usable photo: its id, path, sha256 and near-duplicate
group), ``skipped.csv`` (what was left out, with the reason), the feature cache
(:mod:`foxdog.label.features`) and the event log (:mod:`foxdog.label.log`).

Photos go through curation's own code: candidates are listed like
:func:`foxdog.data.curate.list_candidates` lists a class folder (links out of
``DIR`` dropped, special files dropped), decoded and checked by
:func:`foxdog.data.curate.decode_all`, and grouped by
:func:`foxdog.data.curate.group_near_duplicates`; of each set of near-duplicates
only the first (sorted path order) is kept, as curation keeps it. The index is
written once, when the project is created, and reused as is afterwards: ids
never change under a running log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import io
from foxdog.config import DataConfig
from foxdog.data.candidates import Candidate, Decoded, decode_all
from foxdog.data.dedup import group_near_duplicates
from foxdog.data.index import IMAGE_SUFFIXES
from foxdog.data.links import inside, link_roots

PROJECT_FILE = "project.json"
INDEX_FILE = "index.csv"
SKIPPED_FILE = "skipped.csv"
DEFAULT_PROJECT = ".foxdog-label"  # inside DIR unless --project says otherwise
INDEX_COLUMNS = ("id", "path", "sha256", "group", "width", "height", "format")
# Photos decoded per step: bounds memory (pixels at the extractor's size) whatever DIR holds.
DECODE_CHUNK = 256
CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # the rule of data.classes


class ProjectError(ValueError):
    """The project folder or photo folder cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Project:
    """An opened label project: its folder, the photo folder, classes and the photo index."""

    folder: Path
    photos_dir: Path
    classes: tuple[str, ...]
    index: pd.DataFrame  # INDEX_COLUMNS; row i has id i
    skipped: pd.DataFrame  # path, reason

    @property
    def n_photos(self) -> int:
        """Number of photos that can be labelled."""
        return len(self.index)

    def photo_path(self, photo_id: int) -> Path | None:
        """The file of photo ``photo_id``, or None for an id outside the index.

        The only way from a request to the file system: an integer looked up in
        the index, never a path taken from the request.
        """
        if not 0 <= photo_id < len(self.index):
            return None
        return self.photos_dir / self.index.at[photo_id, "path"]


def list_photos(photos_dir: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Image files anywhere under ``photos_dir`` (sorted), and the entries left out with reasons.

    Hidden files and folders (the project folder among them) are left out
    silently; symbolic links leaving ``photos_dir`` and special files are left
    out with a reason, as curation drops them; folder links are not followed.
    """
    roots = link_roots(photos_dir)
    found, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(photos_dir, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in list(dirnames):
            if (here / name).is_symlink():
                rel = (here / name).relative_to(photos_dir).as_posix()
                skipped.append({"path": rel, "reason": "symlinked folder: not followed"})
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
        for name in sorted(filenames):
            full = here / name
            rel = full.relative_to(photos_dir).as_posix()
            if name.startswith(".") or full.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if full.is_symlink() and not inside(full.resolve(), roots):
                skipped.append({"path": rel, "reason": "symlink points outside the photo folder"})
            elif not full.is_file():
                skipped.append({"path": rel, "reason": "not a regular file"})
            else:
                found.append(rel)
    return sorted(found), skipped


def scan(
    photos_dir: Path,
    data: DataConfig,
    on_chunk: Callable[[list[Decoded]], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decode, check and deduplicate the photos of ``photos_dir``; (index, skipped).

    ``data`` gives curation's checks and the size pixels are resized to
    (``data.image_size``); ``on_chunk`` sees each chunk of decoded photos (with
    pixels) before they are dropped, which is how features are computed in the
    same pass; ``progress`` is told how many files each chunk held.
    """
    paths, skipped = list_photos(photos_dir)
    kept: list[Decoded] = []
    for start in range(0, len(paths), DECODE_CHUNK):
        chunk = [Candidate(p, "", "") for p in paths[start : start + DECODE_CHUNK]]
        decoded = []
        for result in decode_all(photos_dir, chunk, data):
            if isinstance(result, dict):
                skipped.append({"path": result["path"], "reason": result["reason"]})
            else:
                decoded.append(result)
        if on_chunk is not None:
            on_chunk(decoded)
        # Pixels are not kept: features hold what the app needs, and memory stays bounded.
        kept += [dataclasses.replace(d, pixels=np.empty(0, np.uint8)) for d in decoded]
        if progress is not None:
            progress(len(chunk))
    rel = [d.candidate.path for d in kept]
    hashes = np.array([d.phash for d in kept], dtype=bool).reshape(len(kept), data.hash_size**2)
    layouts = np.array([d.layout for d in kept], dtype=np.float32).reshape(len(kept), -1)
    groups, dup = group_near_duplicates(hashes, layouts, rel, data.max_hash_distance)
    keep = np.ones(len(kept), dtype=bool)
    for i in range(len(kept)):
        if keep[i]:
            for j in np.flatnonzero(dup[i, i + 1 :]) + i + 1:
                if keep[j]:
                    keep[j] = False
                    skipped.append({"path": rel[j], "reason": f"near-duplicate of {rel[i]}"})
    rows = [d for d, k in zip(kept, keep, strict=True) if k]
    index = pd.DataFrame(
        {
            "id": np.arange(len(rows), dtype=np.int64),
            "path": [d.candidate.path for d in rows],
            "sha256": [d.sha256 for d in rows],
            "group": groups[keep].astype(np.int64),
            "width": [d.width for d in rows],
            "height": [d.height for d in rows],
            "format": [d.format for d in rows],
        },
        columns=list(INDEX_COLUMNS),
    )
    skipped_frame = pd.DataFrame(skipped, columns=["path", "reason"])
    return index, skipped_frame.sort_values("path", kind="stable").reset_index(drop=True)


def default_folder(photos_dir: Path) -> Path:
    """Where the project lives unless ``--project`` says otherwise."""
    return photos_dir / DEFAULT_PROJECT


def check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    """The ``--classes`` list, checked: at least two distinct, usable as folder names."""
    classes = tuple(c.strip() for c in classes if c.strip())
    if len(classes) < 2:
        raise ProjectError(f"--classes: {','.join(classes) or 'empty'}: need at least two classes")
    if len(set(classes)) != len(classes):
        raise ProjectError(f"--classes: {','.join(classes)}: a class is listed twice")
    for name in classes:
        # Export writes <class>/ folders and curation reads them (data.classes' rule).
        if not CLASS_NAME.fullmatch(name):
            raise ProjectError(
                f"--classes: {name!r} must be a folder name of letters, digits, '_' or '-'"
            )
    return classes


def open_project(
    folder: Path,
    photos_dir: Path,
    classes: Sequence[str],
    data: DataConfig,
    on_chunk: Callable[[list[Decoded]], None] | None = None,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
) -> Project:
    """Open the project in ``folder``, creating and indexing it on first use.

    An existing project must name the same photo folder and classes (a log's
    labels would otherwise change meaning). ``progress_factory(total)`` returns
    the callback :func:`scan` reports to.
    """
    photos_dir = Path(photos_dir).resolve()
    if not photos_dir.is_dir():
        raise ProjectError(f"{photos_dir}: photo folder not found")
    classes = check_classes(classes)
    folder = Path(folder)
    meta = {"photos_dir": str(photos_dir), "classes": list(classes)}
    meta_path = folder / PROJECT_FILE
    if meta_path.is_file():
        try:
            stored = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ProjectError(f"{meta_path}: not a readable project file ({err})") from None
        for key, what in (("photos_dir", "photo folder"), ("classes", "classes")):
            if stored.get(key) != meta[key]:
                raise ProjectError(
                    f"{meta_path}: this project labels {what} {stored.get(key)!r}, not "
                    f"{meta[key]!r} (use another --project)"
                )
        index = _read_csv(folder / INDEX_FILE)
        skipped = _read_csv(folder / SKIPPED_FILE)
        return Project(folder, photos_dir, classes, index, skipped)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ProjectError(
            f"{folder}: cannot create the project folder ({err.strerror or err}); "
            "choose one with --project"
        ) from None
    total = len(list_photos(photos_dir)[0])
    progress = progress_factory(total) if progress_factory else None
    index, skipped = scan(photos_dir, data, on_chunk, progress)
    if index.empty:
        reason = f" (e.g. {skipped.path[0]}: {skipped.reason[0]})" if len(skipped) else ""
        raise ProjectError(f"{photos_dir}: no usable photo found{reason}")
    io.write_csv(folder / INDEX_FILE, index)
    io.write_csv(folder / SKIPPED_FILE, skipped)
    # Written last: its presence means the index is complete.
    io.write_json(meta_path, meta)
    return Project(folder, photos_dir, classes, index, skipped)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            dtype={"path": str, "sha256": str, "reason": str},
            keep_default_na=False,
        )
    except (OSError, ValueError) as err:
        raise ProjectError(f"{path}: not readable ({err}); delete the project folder") from None

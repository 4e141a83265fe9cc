"""Load the curated arrays written by the ``curate`` stage, checked against each other.

:func:`load_split` refuses a ``curated/`` whose parts disagree: arrays of one
split with different lengths, an image id in two splits (a leak between pool,
val and test), a ``manifest.csv`` whose rows for the split do not list the
same ids and labels in the same order (a mix of two curation runs), or a label
outside ``0 .. C-1`` for the C classes ``datasheet.json`` names (label i =
``data.classes[i]``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foxdog import paths

SPLITS = ("pool", "val", "test")


@dataclass(frozen=True)
class Split:
    """One split: uint8 images (N, S, S, 3), int64 labels (class indices), stable ids."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def load_npy(path: Path, stage: str) -> np.ndarray:
    """One stage output array, or a one-line error naming the file and the stage to run."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run `dvc repro {stage}`)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        # Truncated file, object (pickled) array, not an .npy at all.
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None


def curated_classes(curated_dir: str | Path) -> tuple[str, ...] | None:
    """Class names in label order from ``<curated_dir>/datasheet.json``, or None.

    None when there is no datasheet or it has no ``classes`` key (written before
    curation followed ``data.classes``, or by a test). Raises ``ValueError``
    naming the file when it is not readable JSON or its ``classes`` is not a
    list of two or more names.
    """
    path = paths.datasheet(curated_dir)
    if not path.is_file():
        return None
    try:
        sheet = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: not a readable datasheet ({err})") from None
    if isinstance(sheet, dict) and "classes" not in sheet:
        return None
    classes = sheet.get("classes") if isinstance(sheet, dict) else None
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str) and c for c in classes)
    ):
        raise ValueError(f"{path}: 'classes' must list two or more class names (re-run curate)")
    return tuple(classes)


def load_split(
    curated_dir: str | Path, split: str, *, classes: Sequence[str] | None = None
) -> Split:
    """Read ``<curated_dir>/<split>_{images,labels,ids}.npy`` and check they agree.

    Labels must be class indices ``0 .. C-1``: C is ``len(classes)`` when given,
    else the number of classes ``datasheet.json`` names (:func:`curated_classes`);
    without either, labels need only be non-negative. Also checked, when present
    in ``curated_dir``: the other splits' ids (no id may be in two splits) and
    ``manifest.csv`` (its ``split`` rows must list the same ids and labels, in
    order). Raises ``ValueError`` naming the file.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    curated_dir = Path(curated_dir)
    arrays = {
        part: load_npy(paths.curated_array(curated_dir, split, part), "curate")
        for part in ("images", "labels", "ids")
    }
    images, labels, ids = arrays["images"], arrays["labels"], arrays["ids"]
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[-1] != 3
        or images.shape[1] != images.shape[2]
    ):
        raise ValueError(
            f"{curated_dir}/{split}_images.npy: expected uint8 (N, S, S, 3), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{curated_dir}/{split}_labels.npy: expected integer (N,)")
    names = tuple(classes) if classes is not None else curated_classes(curated_dir)
    if names is None:
        if len(labels) and labels.min() < 0:
            raise ValueError(f"{curated_dir}/{split}_labels.npy: labels must be class indices >= 0")
    elif len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
        bad = labels[(labels < 0) | (labels >= len(names))][0]
        raise ValueError(
            f"{curated_dir}/{split}_labels.npy: label {bad} outside 0..{len(names) - 1} "
            f"(label i = data.classes[i]: {', '.join(names)})"
        )
    if ids.ndim != 1 or ids.dtype.kind != "U":
        raise ValueError(f"{curated_dir}/{split}_ids.npy: expected unicode (N,)")
    if not len(images) == len(labels) == len(ids):
        raise ValueError(
            f"{curated_dir}: {split} arrays disagree in length "
            f"(images {len(images)}, labels {len(labels)}, ids {len(ids)})"
        )
    _check_disjoint(curated_dir, split, ids)
    _check_manifest(curated_dir, split, labels, ids)
    return Split(images=images, labels=labels.astype(np.int64), ids=ids)


def _check_disjoint(curated_dir: Path, split: str, ids: np.ndarray) -> None:
    for other in SPLITS:
        path = paths.curated_array(curated_dir, other, "ids")
        if other == split or not path.is_file():
            continue
        try:
            other_ids = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path}: not a readable .npy array ({err})") from None
        shared = np.intersect1d(ids, other_ids)
        if len(shared):
            raise ValueError(
                f"{path}: {len(shared)} image id(s) also in {split}_ids.npy "
                f"(e.g. {shared[0]}); splits must be disjoint (re-run `foxdog curate`)"
            )


def _check_manifest(curated_dir: Path, split: str, labels: np.ndarray, ids: np.ndarray) -> None:
    path = paths.manifest(curated_dir)
    if not path.is_file():
        return
    import pandas as pd  # only here: the arrays alone do not need pandas

    try:
        manifest = pd.read_csv(path, usecols=["id", "label", "split"], dtype={"id": str})
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise ValueError(f"{path}: not a readable manifest ({err})") from None
    rows = manifest[manifest["split"] == split]
    if len(rows) != len(ids):
        raise ValueError(
            f"{path}: lists {len(rows)} {split} images but {split}_ids.npy holds {len(ids)} "
            "(curated/ mixes two curation runs; re-run `foxdog curate`)"
        )
    if not np.array_equal(rows["id"].to_numpy(str), ids):
        raise ValueError(
            f"{path}: {split} ids differ from {split}_ids.npy (re-run `foxdog curate`)"
        )
    if not np.array_equal(rows["label"].to_numpy(), labels):
        raise ValueError(
            f"{path}: {split} labels differ from {split}_labels.npy (re-run `foxdog curate`)"
        )

"""Load the curated arrays written by the ``curate`` stage, checked against each other.

:func:`load_split` refuses a ``curated/`` whose parts disagree: arrays of one
split with different lengths, an image id in two splits (a leak between pool,
val and test), or a ``manifest.csv`` whose rows for the split do not list the
same ids and labels in the same order (a mix of two curation runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("pool", "val", "test")
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class Split:
    """One split: uint8 images (N, S, S, 3), int64 labels (1 = fox), stable ids."""

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


def load_split(curated_dir: str | Path, split: str) -> Split:
    """Read ``<curated_dir>/<split>_{images,labels,ids}.npy`` and check they agree.

    Also checked, when present in ``curated_dir``: the other splits' ids (no id may
    be in two splits) and ``manifest.csv`` (its ``split`` rows must list the same
    ids and labels, in order). Raises ``ValueError`` naming the file.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    curated_dir = Path(curated_dir)
    arrays = {
        part: load_npy(curated_dir / f"{split}_{part}.npy", "curate")
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
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{curated_dir}/{split}_labels.npy: labels must be 0 (dog) or 1 (fox)")
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
        path = curated_dir / f"{other}_ids.npy"
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
    path = curated_dir / MANIFEST
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

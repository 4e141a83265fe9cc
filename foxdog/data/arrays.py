"""Load the curated arrays written by the ``curate`` stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("pool", "test")


@dataclass(frozen=True)
class Split:
    """One split: uint8 images (N, S, S, 3), int64 labels (1 = fox), stable ids."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def load_split(curated_dir: str | Path, split: str) -> Split:
    """Read ``<curated_dir>/<split>_{images,labels,ids}.npy`` and check they agree."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    curated_dir = Path(curated_dir)
    arrays = {}
    for part in ("images", "labels", "ids"):
        path = curated_dir / f"{split}_{part}.npy"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (run `dvc repro curate`)")
        try:
            arrays[part] = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            # Truncated file, object (pickled) array, not an .npy at all.
            raise ValueError(f"{path}: not a readable .npy array ({err})") from None
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
    return Split(images=images, labels=labels.astype(np.int64), ids=ids)

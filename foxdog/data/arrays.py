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
        arrays[part] = np.load(path, allow_pickle=False)
    images, labels, ids = arrays["images"], arrays["labels"], arrays["ids"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{curated_dir}/{split}_images.npy: expected uint8 (N, S, S, 3)")
    if not len(images) == len(labels) == len(ids):
        raise ValueError(f"{curated_dir}: {split} arrays disagree in length")
    return Split(images=images, labels=labels.astype(np.int64), ids=ids)

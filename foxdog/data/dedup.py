"""Near-duplicate and burst-series groups of the decoded photos, and which copies to keep.

A group is a connected component of "perceptual hashes close" or "consecutive shots of
one source with a close colour layout"; the split keeps whole groups on one side.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Burst series (several shots of one animal seconds apart) are not near-duplicates
# by perceptual hash, but they are numbered consecutively within one source.
# Their perceptual hashes differ as much as unrelated photos' (pr3__155/157/158:
# 26-36 of 64 bits), but their colour layout (8x8 RGB thumbnail) stays close:
# RMS distance 37 for pr3__155/157, while 95% of random pairs are above 44.
BURST_MAX_GAP = 3
BURST_LAYOUT_DISTANCE = 40.0


def hamming_matrix(hashes: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between boolean hash rows."""
    packed = np.packbits(hashes, axis=1)
    dist = np.zeros((len(hashes), len(hashes)), dtype=np.int32)
    for byte in range(packed.shape[1]):
        col = packed[:, byte]
        dist += np.bitwise_count(col[:, None] ^ col[None, :])
    return dist


_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def _burst_key(path: str) -> tuple[str, int] | None:
    stem = Path(path).stem
    match = _TRAILING_NUMBER.match(stem)
    if not match:
        return None
    return (str(Path(path).parent / match.group(1)), int(match.group(2)))


def group_near_duplicates(
    hashes: np.ndarray, layouts: np.ndarray, paths: list[str], max_distance: int
) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the near-duplicate graph, and its duplicate edges.

    Two images are linked if their perceptual hashes are within ``max_distance``
    (near-duplicates), or if they are shots of one source folder numbered at most
    ``BURST_MAX_GAP`` apart whose colour layouts are within
    ``BURST_LAYOUT_DISTANCE`` (burst series). Returns (group id per image,
    boolean matrix of the near-duplicate links).
    """
    # Split by group, not by image: burst shots of one animal on both sides
    # of the split would inflate test accuracy.
    n = len(paths)
    dist = hamming_matrix(hashes) if n else np.zeros((0, 0), dtype=np.int32)
    dup = (dist <= max_distance) & ~np.eye(n, dtype=bool)
    keys = [_burst_key(p) for p in paths]
    burst = np.zeros_like(dup)
    by_prefix: dict[str, list[tuple[int, int]]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            by_prefix.setdefault(key[0], []).append((key[1], i))
    for members in by_prefix.values():
        members.sort()
        for (na, ia), (nb, ib) in zip(members, members[1:], strict=False):
            layout_distance = np.sqrt(np.mean((layouts[ia] - layouts[ib]) ** 2))
            if nb - na <= BURST_MAX_GAP and layout_distance <= BURST_LAYOUT_DISTANCE:
                burst[ia, ib] = burst[ib, ia] = True
    graph = coo_matrix(dup | burst)
    _, labels = connected_components(graph, directed=False)
    # Renumber groups by their first member so ids do not depend on scipy internals.
    order: dict[int, int] = {}
    for lab in labels:
        order.setdefault(int(lab), len(order))
    return np.array([order[int(lab)] for lab in labels], dtype=np.int64), dup


def resolve_duplicates(
    paths: list[str], labels: np.ndarray, groups: np.ndarray, dup: np.ndarray
) -> tuple[np.ndarray, list[dict[str, object]], list[tuple[int, str]]]:
    """Which photos to keep: (keep mask, label conflicts, ``(index, reason)`` per drop).

    A group that holds more than one label is dropped whole (a label conflict: the
    photos cannot all be right). Within a label, the first of each set of
    near-duplicates (sorted path order) is kept and the others dropped.
    """
    keep = np.ones(len(paths), dtype=bool)
    conflicts: list[dict[str, object]] = []
    drops: list[tuple[int, str]] = []
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(set(labels[members])) > 1:
            keep[members] = False
            conflicts.append({"group": int(g), "paths": [paths[i] for i in members]})
            for i in members:
                other = next(paths[j] for j in members if labels[j] != labels[i])
                drops.append((int(i), f"label conflict: near-duplicate group also holds {other}"))
    for i in range(len(paths)):
        if not keep[i]:
            continue
        for j in np.flatnonzero(dup[i, i + 1 :]) + i + 1:
            if keep[j]:
                keep[j] = False
                drops.append((int(j), f"near-duplicate of {paths[i]}"))
    return keep, conflicts, drops

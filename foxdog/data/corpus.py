"""The pretraining corpus -> curated arrays, checked against the curated images (``pretrain_data``).

Same code path as the curation of ``data.raw_dir`` (:mod:`foxdog.data.curate`): files are
decoded by content with the same checks (:func:`foxdog.data.curate.decode_all`),
cross-checked against ``SOURCES.csv`` (sha256 and label), resized to
``data.image_size`` and perceptually hashed with ``data.hash_size``. The layout
differs: ``<raw>/<class>/<file>`` with one folder per class (84 WordNet ids).

Leakage check: the corpus shares an origin repository with part of the fox/dog
collection (and may share photos with any other), so every curated image
(``curated/manifest.csv``, whatever its class, hashed from its raw file exactly
as curation hashed it) is compared with every corpus image; a corpus image
within ``data.max_hash_distance`` of any of them is dropped and listed in
``overlap.json``. (Its keys say ``foxdog`` for the curated side, after the project.)

Within-corpus near-duplicates are not searched (21,000² pairs; they cost
pretraining nothing but a little weight on one photo).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import io, paths
from foxdog.config import DataConfig
from foxdog.data.arrays import load_npy
from foxdog.data.candidates import Candidate, Decoded, decode_all, decoding_record
from foxdog.data.sources import SOURCES_FILE, read_sources
from foxdog.errors import CurationError

#: Corpus images compared with the curated hashes at once (bounds memory to ~chunk x 4k bytes).
_CHUNK = 2048


@dataclass
class CuratedCorpus:
    """The decisions of one corpus curation, before writing."""

    images: np.ndarray  # uint8 (N, S, S, 3)
    labels: np.ndarray  # int64 class index into ``classes``
    ids: np.ndarray  # sha256[:16] of the raw file
    paths: list[str]
    classes: list[str]
    overlap: dict[str, object]
    dropped: list[dict[str, str]] = field(default_factory=list)


def list_corpus(raw_dir: Path) -> list[Candidate]:
    """Image files under ``<raw>/<class>/``, sorted; dot-files and links ignored."""
    if not raw_dir.is_dir():
        raise CurationError(f"{raw_dir}: corpus folder not found (run `dvc update pretrain.dvc`)")
    candidates = []
    for class_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        for path in sorted(class_dir.iterdir()):
            if path.name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(raw_dir).as_posix()
            candidates.append(Candidate(rel, class_dir.name, ""))
    if not candidates:
        raise CurationError(f"{raw_dir}: no images in any class folder")
    return candidates


def min_hamming(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each boolean hash row of ``a``: the smallest Hamming distance to ``b`` and its index."""
    pa, pb = np.packbits(a, axis=1), np.packbits(b, axis=1)
    best = np.empty(len(a), dtype=np.int64)
    arg = np.empty(len(a), dtype=np.int64)
    for start in range(0, len(a), _CHUNK):
        chunk = pa[start : start + _CHUNK]
        dist = np.bitwise_count(chunk[:, None, :] ^ pb[None, :, :]).sum(axis=2, dtype=np.int64)
        arg[start : start + len(chunk)] = dist.argmin(axis=1)
        best[start : start + len(chunk)] = dist.min(axis=1)
    return best, arg


def foxdog_hashes(
    manifest: Path, foxdog_raw: Path, cfg: DataConfig, workers: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """Perceptual hashes of the curated images, from their raw files (as curation did)."""
    try:
        kept = pd.read_csv(manifest)
    except FileNotFoundError:
        raise CurationError(f"{manifest}: not found (run `dvc repro curate` first)") from None
    if "path" not in kept.columns:
        raise CurationError(f"{manifest}: missing column 'path'")
    cands = [Candidate(p, "", "") for p in kept["path"]]
    hashes, paths = [], []
    for result in decode_all(foxdog_raw, cands, cfg, workers):
        if isinstance(result, dict):
            where = foxdog_raw / result["path"]
            raise CurationError(f"{where}: curated image no longer decodes ({result['reason']})")
        hashes.append(result.phash)
        paths.append(result.candidate.path)
    return np.array(hashes).reshape(len(hashes), cfg.hash_size**2), paths


def curate_corpus(
    raw_dir: Path,
    cfg: DataConfig,
    foxdog: tuple[np.ndarray, list[str]],
    workers: int | None = None,
) -> CuratedCorpus:
    """Decode, check, resize and hash the corpus; drop images near a curated image.

    ``foxdog`` is (hashes, paths) of the curated images
    (:func:`foxdog_hashes`).
    """
    candidates = list_corpus(raw_dir)
    sources = read_sources(raw_dir)
    dropped: list[dict[str, str]] = []
    decoded: list[Decoded] = []
    for result in decode_all(raw_dir, candidates, cfg, workers):
        if isinstance(result, dict):
            dropped.append(result)
            continue
        row = sources.get(result.candidate.path)
        if row is None:
            reason = f"not listed in {SOURCES_FILE}"
        elif row["sha256"].strip().lower() != result.sha256:
            reason = f"content differs from {SOURCES_FILE}"
        elif row["label"] != result.candidate.label:
            reason = f"{SOURCES_FILE} labels it {row['label']!r}"
        else:
            decoded.append(result)
            continue
        dropped.append({"path": result.candidate.path, "label": result.candidate.label,
                        "source": "", "reason": reason})  # fmt: skip
    if not decoded:
        raise CurationError(f"{raw_dir}: no usable corpus images left")
    hashes = np.array([d.phash for d in decoded]).reshape(len(decoded), cfg.hash_size**2)
    fd_hashes, fd_paths = foxdog
    if len(fd_paths):
        nearest, which = min_hamming(hashes, fd_hashes)
    else:
        nearest = np.full(len(decoded), cfg.hash_size**2, dtype=np.int64)
        which = np.zeros(len(decoded), dtype=np.int64)
    leak = nearest <= cfg.max_hash_distance
    pairs = [
        {
            "corpus": decoded[i].candidate.path,
            "foxdog": fd_paths[which[i]],
            "distance": int(nearest[i]),
        }  # fmt: skip
        for i in np.flatnonzero(leak)
    ]
    for p in pairs:
        dropped.append({"path": p["corpus"], "label": p["corpus"].split("/")[0], "source": "",
                        "reason": f"near-duplicate of curated image {p['foxdog']}"})  # fmt: skip
    kept = [d for d, bad in zip(decoded, leak, strict=True) if not bad]
    classes = sorted({d.candidate.label for d in kept})
    index = {c: i for i, c in enumerate(classes)}
    overlap = {
        "check": "perceptual hash of every corpus image vs every curated image",
        "hash_size": cfg.hash_size,
        "max_hash_distance": cfg.max_hash_distance,
        "corpus_images": len(decoded),
        "foxdog_images": len(fd_paths),
        "near_duplicates": len(pairs),
        "min_distance": int(nearest.min()),
        "distance_histogram": {
            str(d): int(n) for d, n in sorted(Counter(nearest.tolist()).items()) if d <= 12
        },
        "pairs": pairs,
        "action": "corpus images within max_hash_distance are dropped",
        "passed": len(pairs) == 0,
    }
    return CuratedCorpus(
        images=np.stack([d.pixels for d in kept]),
        labels=np.array([index[d.candidate.label] for d in kept], dtype=np.int64),
        ids=np.array([d.sha256[:16] for d in kept]),
        paths=[d.candidate.path for d in kept],
        classes=classes,
        overlap=overlap,
        dropped=sorted(dropped, key=lambda d: d["path"]),
    )


def write_corpus(result: CuratedCorpus, out_dir: Path, cfg: DataConfig) -> None:
    """Write ``images/labels/ids.npy``, ``classes.json``, ``overlap.json``, ``datasheet.json``."""
    io.write_npy(paths.corpus_array(out_dir, "images"), result.images)
    io.write_npy(paths.corpus_array(out_dir, "labels"), result.labels)
    io.write_npy(paths.corpus_array(out_dir, "ids"), result.ids)
    io.write_json(paths.corpus_classes(out_dir), result.classes)
    io.write_json(paths.corpus_overlap(out_dir), result.overlap)
    per_class = Counter(result.labels.tolist())
    io.write_json(
        paths.datasheet(out_dir),
        {
            **decoding_record(cfg),
            "kept": len(result.labels),
            "classes": len(result.classes),
            "per_class": {"min": min(per_class.values()), "max": max(per_class.values())},
            "dropped": result.dropped,
        },
    )


@dataclass(frozen=True)
class Corpus:
    """Curated corpus: uint8 images (N, S, S, 3), int64 labels, ids, class names."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    classes: list[str]


def load_corpus(out_dir: str | Path) -> Corpus:
    """Read the arrays :func:`write_corpus` wrote and check they agree."""
    import json

    out_dir = Path(out_dir)
    arrays = {
        part: load_npy(paths.corpus_array(out_dir, part), "pretrain_data")
        for part in ("images", "labels", "ids")
    }
    classes = json.loads(paths.corpus_classes(out_dir).read_text(encoding="utf-8"))
    images, labels = arrays["images"], arrays["labels"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{out_dir}/images.npy: expected uint8 (N, S, S, 3), got {images.shape}")
    if not len(images) == len(labels) == len(arrays["ids"]):
        raise ValueError(f"{out_dir}: images, labels and ids disagree in length")
    if labels.min() < 0 or labels.max() >= len(classes):
        raise ValueError(f"{out_dir}/labels.npy: labels outside [0, {len(classes)})")
    return Corpus(images, labels.astype(np.int64), arrays["ids"], list(classes))

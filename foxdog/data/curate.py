"""Raw photos -> curated, deduplicated, group-aware split arrays (the ``curate`` stage).

Pipeline: list files under ``<raw>/<class>/`` for every class of ``data.classes``
(label i = ``data.classes[i]``) -> decode each by content with checks
(:mod:`foxdog.data.images`) -> cross-check against ``SOURCES.csv`` (which also
names each image's ``source``) -> group near-duplicates (perceptual hash) and burst series ->
drop label conflicts and redundant copies -> split pool/test by group,
stratified by label and source -> carve a validation split out of the pool the
same way -> resize -> write ``curated/`` (built in a staging folder beside it and
swapped in whole, so an interrupted run leaves the previous ``curated/`` intact).

Every output is a pure function of the raw bytes and ``params.yaml``: files are
processed in sorted order (class folders by name, whatever their label order, so
reordering ``data.classes`` only renumbers the labels), nothing time-dependent is
written, so a re-run gives byte-identical files and DVC can skip everything downstream.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold

from foxdog import io
from foxdog.config import DataConfig
from foxdog.data.contact_sheet import contact_sheet
from foxdog.data.images import (
    RejectedImage,
    colour_layout,
    decode_image,
    perceptual_hash,
    square_resize,
)
from foxdog.data.links import LINKED_FROM_FILE, inside, link_roots, linked_from
from foxdog.data.sources import SOURCE_COLUMN, SOURCES_FILE, read_sources
from foxdog.errors import CurationError

SPLIT_NAMES = ("pool", "val", "test")
# Burst series (several shots of one animal seconds apart) are not near-duplicates
# by perceptual hash, but they are numbered consecutively within one source.
# Their perceptual hashes differ as much as unrelated photos' (pr3__155/157/158:
# 26-36 of 64 bits), but their colour layout (8x8 RGB thumbnail) stays close:
# RMS distance 37 for pr3__155/157, while 95% of random pairs are above 44.
BURST_MAX_GAP = 3
BURST_LAYOUT_DISTANCE = 40.0


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


@dataclass
class Curated:
    """Everything the curate stage decides, before it is written."""

    kept: pd.DataFrame
    images: np.ndarray
    dropped: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_groups: int = 0
    n_multi_groups: int = 0
    classes: tuple[str, ...] = ()  # data.classes: names in label order
    source_from: dict[str, object] = field(default_factory=dict)  # see _source_record
    linked_from: str | None = None  # the collection LINKED_FROM.txt names, if any


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


def _drop_candidate(cand: Candidate, reason: str) -> dict[str, str]:
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
        return _drop_candidate(cand, str(err))
    except OSError as err:
        return _drop_candidate(cand, f"unreadable ({err.strerror or err})")
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


def split_by_group(
    strata: np.ndarray,
    groups: np.ndarray,
    test_fraction: float,
    seed: int,
    key: str = "data.test_fraction",
) -> np.ndarray:
    """Boolean held-out mask: whole groups go to one side, strata kept in proportion.

    Uses scikit-learn's StratifiedGroupKFold with ``round(1 / test_fraction)``
    folds and takes the first fold as held out, so the realised share is
    ``1 / round(1 / test_fraction)`` up to group granularity. ``key`` names the
    parameter in the error raised when there are too few groups.
    """
    n_splits = max(2, round(1 / test_fraction))
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise CurationError(
            f"only {n_groups} independent image groups left after curation; "
            f"{key}={test_fraction} needs at least {n_splits}"
        )
    counts = Counter(strata)
    # Strata smaller than the number of folds cannot be spread; merge them so
    # scikit-learn does not warn and their images still land somewhere.
    strata = np.array([s if counts[s] >= n_splits else "other" for s in strata])
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A merged "other" stratum may still be smaller than n_splits; that is expected.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        _, test_idx = next(splitter.split(np.zeros(len(strata)), strata, groups))
    mask = np.zeros(len(strata), dtype=bool)
    mask[test_idx] = True
    return mask


def curate(raw_dir: Path, cfg: DataConfig, workers: int | None = None) -> Curated:
    """Run curation in memory; :func:`write_curated` writes the result."""
    if not raw_dir.is_dir():
        raise CurationError(
            f"{raw_dir}: raw folder not found (run `dvc update data.dvc`, or "
            "`foxdog data download` to rebuild it from its origins)"
        )
    sources = read_sources(raw_dir)
    classes = cfg.classes
    candidates, dropped, warnings = list_candidates(raw_dir, classes, sources)
    decoded: list[Decoded] = []
    for result in decode_all(raw_dir, candidates, cfg, workers):
        if isinstance(result, dict):
            dropped.append(result)
            continue
        cand = result.candidate
        row = sources.get(cand.path)
        if row is None:
            dropped.append(_drop_candidate(cand, f"not listed in {SOURCES_FILE}"))
        elif row["sha256"].strip().lower() != result.sha256:
            dropped.append(_drop_candidate(cand, f"content differs from {SOURCES_FILE}"))
        elif row["label"] != cand.label:
            reason = f"{SOURCES_FILE} labels it {row['label']!r} but it is in {cand.label}/"
            dropped.append(_drop_candidate(cand, reason))
        else:
            decoded.append(result)
    present = {c.path for c in candidates} | {d["path"] for d in dropped}
    # Rows of folders that data.classes leaves out are not missing: they are ignored.
    missing = sorted(p for p in sources if p not in present and p.split("/")[0] in classes)
    _require_every_label(raw_dir, classes, [d.candidate for d in decoded], candidates, dropped)

    paths = [d.candidate.path for d in decoded]
    hashes = np.array([d.phash for d in decoded]).reshape(len(decoded), cfg.hash_size**2)
    layouts = np.array([d.layout for d in decoded]).reshape(len(decoded), -1)
    groups, dup = group_near_duplicates(hashes, layouts, paths, cfg.max_hash_distance)

    keep = np.ones(len(decoded), dtype=bool)
    conflicts = []
    labels = np.array([d.candidate.label for d in decoded])
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(set(labels[members])) > 1:
            keep[members] = False
            conflicts.append({"group": int(g), "paths": [paths[i] for i in members]})
            for i in members:
                other = next(paths[j] for j in members if labels[j] != labels[i])
                reason = f"label conflict: near-duplicate group also holds {other}"
                dropped.append(_drop_candidate(decoded[i].candidate, reason))
    # Within a label, keep the first of each set of near-duplicates (sorted path order).
    for i in range(len(decoded)):
        if not keep[i]:
            continue
        for j in np.flatnonzero(dup[i, i + 1 :]) + i + 1:
            if keep[j]:
                keep[j] = False
                dropped.append(
                    _drop_candidate(decoded[j].candidate, f"near-duplicate of {paths[i]}")
                )

    kept = [d for d, k in zip(decoded, keep, strict=True) if k]
    _require_every_label(raw_dir, classes, [d.candidate for d in kept], candidates, dropped)
    kept_groups = groups[keep]
    strata = np.array([f"{d.candidate.label}/{d.candidate.source}" for d in kept])
    test_mask = split_by_group(strata, kept_groups, cfg.test_fraction, cfg.seed)
    # The validation split comes out of the pool, never the test split, and by the
    # same group-aware, stratified rule: tuning and stopping decisions on it do not
    # touch test, and no burst or near-duplicate group straddles pool and val.
    pool_idx = np.flatnonzero(~test_mask)
    val_in_pool = split_by_group(
        strata[pool_idx], kept_groups[pool_idx], cfg.val_fraction, cfg.seed, "data.val_fraction"
    )
    split = np.where(test_mask, "test", "pool").astype(object)
    split[pool_idx[val_in_pool]] = "val"
    kept_labels = labels[keep]
    for name in SPLIT_NAMES:
        mask = split == name
        for label in classes:
            if not np.any(mask & (kept_labels == label)):
                n_label = int(np.sum(kept_labels == label))
                raise CurationError(
                    f"{raw_dir / label}: too few usable images ({n_label}) to put any in the "
                    f"{name} split; add images or change data.test_fraction / data.val_fraction"
                )

    frame = pd.DataFrame(
        {
            "id": [d.sha256[:16] for d in kept],
            "label": [classes.index(d.candidate.label) for d in kept],
            "label_name": [d.candidate.label for d in kept],
            "source": [d.candidate.source for d in kept],
            "breed": [sources[d.candidate.path]["breed_or_species"] for d in kept],
            "split": split.astype(str),
            "group": kept_groups,
            "path": [d.candidate.path for d in kept],
            "width": [d.width for d in kept],
            "height": [d.height for d in kept],
            "format": [d.format for d in kept],
        }
    )
    if frame["id"].duplicated().any():
        dupe = frame.loc[frame["id"].duplicated(), "path"].iloc[0]
        raise CurationError(f"{dupe}: image id collides with another kept image")
    sizes = Counter(groups.tolist())
    from_column = [source_of(d.candidate.path, sources)[1] for d in kept]
    return Curated(
        kept=frame,
        images=np.stack([d.pixels for d in kept]),
        dropped=sorted(dropped, key=lambda d: d["path"]),
        missing=missing,
        conflicts=conflicts,
        warnings=warnings,
        n_groups=len(sizes),
        n_multi_groups=sum(1 for s in sizes.values() if s > 1),
        classes=tuple(classes),
        source_from=_source_record(sources, from_column),
        linked_from=None if (origin := linked_from(raw_dir)) is None else str(origin),
    )


def _source_record(sources: dict[str, dict[str, str]], from_column: list[bool]) -> dict:
    """Where the kept images' ``source`` came from, for the datasheet."""
    n_column = sum(from_column)
    if not any(SOURCE_COLUMN in row for row in sources.values()):
        note = f"first folder below the class ({SOURCES_FILE} has no {SOURCE_COLUMN!r} column)"
    elif n_column == len(from_column):
        note = f"{SOURCES_FILE} column {SOURCE_COLUMN!r}"
    elif n_column == 0:
        note = f"first folder below the class ({SOURCES_FILE}'s {SOURCE_COLUMN!r} column is empty)"
    else:
        note = (
            f"{SOURCES_FILE} column {SOURCE_COLUMN!r}; the first folder below the class "
            "where a row leaves it empty"
        )
    return {"SOURCES.csv": n_column, "folder": len(from_column) - n_column, "note": note}


def _require_every_label(
    raw_dir: Path,
    classes: Sequence[str],
    usable: list[Candidate],
    candidates: list[Candidate],
    dropped: list[dict[str, str]],
) -> None:
    """Raise a one-line CurationError naming the class folder that has nothing usable."""
    for label in classes:
        if any(c.label == label for c in usable):
            continue
        folder = raw_dir / label
        gone = sorted((d for d in dropped if d["label"] == label), key=lambda d: d["path"])
        if not any(c.label == label for c in candidates) and not gone:
            raise CurationError(f"{folder}: no images in class folder (label {label!r})")
        first = f" (e.g. {gone[0]['path']}: {gone[0]['reason']})" if gone else ""
        raise CurationError(f"{folder}: no usable images left for label {label!r}{first}")


def _counts(frame: pd.DataFrame, by: Iterable[str]) -> list[dict[str, object]]:
    table = frame.groupby(list(by)).size().reset_index(name="images")
    return table.to_dict(orient="records")


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


def contact_sheet_name(label: str) -> str:
    """File name of a class's contact sheet in ``curated/``."""
    return f"contact_{label}.png"


def reason_kinds(reasons: pd.Series) -> pd.Series:
    """Each drop reason without its particulars (paths, sizes), so equal kinds count together."""
    kinds = reasons.str.replace(r"(near-duplicate of|group also holds) .*", r"\1 …", regex=True)
    kinds = kinds.str.replace(r"\(.*\)", "(…)", regex=True)
    return kinds.str.replace(r"\d+x\d+", "WxH", regex=True)


def drop_summary(dropped: list[dict[str, str]], first: int = 3) -> list[str]:
    """One console line per kind of drop reason: the count and the first ``first`` files.

    Kinds are ordered by count (largest first), then by name; the full list with each
    file's own reason is in ``datasheet.json``.
    """
    if not dropped:
        return []
    frame = pd.DataFrame(dropped, columns=["path", "label", "source", "reason"])
    frame["kind"] = reason_kinds(frame["reason"])
    counts = frame["kind"].value_counts()
    order = sorted(counts.index, key=lambda k: (-counts[k], k))
    lines = []
    for kind in order:
        paths = frame.loc[frame["kind"] == kind, "path"].tolist()
        more = f", … {len(paths) - first} more" if len(paths) > first else ""
        lines.append(f"  {len(paths)} {kind}: {', '.join(paths[:first])}{more}")
    return lines


def datasheet(result: Curated, cfg: DataConfig) -> dict[str, object]:
    """Counts and decisions of one curation run, for ``datasheet.json``."""
    kept = result.kept
    dropped = pd.DataFrame(result.dropped, columns=["path", "label", "source", "reason"])
    reasons = reason_kinds(dropped["reason"])
    by_source = []
    for (label, source), part in kept.groupby(["label_name", "source"]):
        gone = dropped[(dropped["label"] == label) & (dropped["source"] == source)]
        by_source.append(
            {
                "label": label,
                "source": source,
                "kept": len(part),
                "dropped": len(gone),
                **{name: int((part["split"] == name).sum()) for name in SPLIT_NAMES},
            }
        )
    classes = list(result.classes or cfg.classes)
    per_class = []
    for index, name in enumerate(classes):
        part = kept[kept["label_name"] == name]
        per_class.append(
            {
                "label": index,
                "name": name,
                "kept": len(part),
                **{split: int((part["split"] == split).sum()) for split in SPLIT_NAMES},
                "dropped": int((dropped["label"] == name).sum()),
                "contact_sheet": contact_sheet_name(name),
            }
        )
    return {
        **decoding_record(cfg),
        "classes": classes,
        "per_class": per_class,
        "contact_sheets": [contact_sheet_name(name) for name in classes],
        "source_from": result.source_from,
        "linked_from": result.linked_from,
        "params": {
            **decoding_record(cfg)["params"],
            "burst_max_gap": BURST_MAX_GAP,
            "burst_layout_distance": BURST_LAYOUT_DISTANCE,
            "test_fraction": cfg.test_fraction,
            "val_fraction": cfg.val_fraction,
            "seed": cfg.seed,
        },
        "counts": {
            "kept": kept["label_name"].value_counts().sort_index().to_dict(),
            "dropped": int(len(dropped)),
            "by_source": by_source,
            "by_split": {
                split: part["label_name"].value_counts().sort_index().to_dict()
                for split, part in kept.groupby("split")
            },
            "by_breed": _counts(kept, ["label_name", "breed"]),
            "by_format": _counts(kept, ["label_name", "format"]),
            "dropped_by_reason": [
                {"label": lab, "reason": rea, "images": int(n)}
                for (lab, rea), n in Counter(
                    zip(dropped["label"], reasons, strict=True)
                ).most_common()
            ],
        },
        "near_duplicate_groups": result.n_multi_groups,
        "groups": result.n_groups,
        "label_conflicts": result.conflicts,
        "dropped": result.dropped,
        "missing_files": result.missing,
        "warnings": result.warnings,
    }


def write_curated(result: Curated, raw_dir: Path, out_dir: Path, cfg: DataConfig) -> None:
    """Write arrays, manifest, datasheet and contact sheets; replace ``out_dir`` whole.

    Everything is written into a staging folder beside ``out_dir`` and swapped in
    with renames once complete: an interrupted or failed run leaves the previous
    ``out_dir`` exactly as it was (never a new pool beside an old test split), and
    the next run removes the stale staging folder.
    """
    for i, root in enumerate(link_roots(raw_dir)):
        if out_dir.resolve().is_relative_to(root):
            # The raw folder (and a collection it links into) is read-only input: never
            # write into it.
            where = raw_dir if i == 0 else f"{root} (its {LINKED_FROM_FILE})"
            raise CurationError(f"{out_dir}: output folder is inside the raw folder {where}")
    kept = result.kept
    with io.staging_dir(out_dir) as stage:
        for split in SPLIT_NAMES:
            mask = (kept["split"] == split).to_numpy()
            io.write_npy(stage / f"{split}_images.npy", result.images[mask])
            io.write_npy(stage / f"{split}_labels.npy", kept.loc[mask, "label"].to_numpy(np.int64))
            io.write_npy(stage / f"{split}_ids.npy", kept.loc[mask, "id"].to_numpy().astype(str))
        io.write_csv(stage / "manifest.csv", kept)
        io.write_json(stage / "datasheet.json", datasheet(result, cfg))
        for label in result.classes or cfg.classes:
            part = kept[kept["label_name"] == label]
            sheet = contact_sheet([raw_dir / p for p in part["path"]], cfg.contact_sheet_size)
            io.write_bytes(stage / contact_sheet_name(label), sheet)
        io.swap_in(stage, out_dir)

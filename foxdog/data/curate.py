"""Raw photos -> curated, deduplicated, group-aware split arrays (the ``curate`` stage).

Pipeline: list files under ``<raw>/<class>/`` for every class of ``data.classes``
(label i = ``data.classes[i]``) and decode each by content with checks
(:mod:`foxdog.data.candidates`) -> cross-check against ``SOURCES.csv`` (which also
names each image's ``source``) -> group near-duplicates (perceptual hash) and burst
series, drop label conflicts and redundant copies (:mod:`foxdog.data.dedup`) -> split
pool/test by group, stratified by label and source, and carve a validation split out
of the pool the same way (:mod:`foxdog.data.split`) -> write ``curated/`` with its
datasheet (:mod:`foxdog.data.datasheet`), built in a staging folder beside it and
swapped in whole, so an interrupted run leaves the previous ``curated/`` intact.

Every output is a pure function of the raw bytes and ``params.yaml``: files are
processed in sorted order (class folders by name, whatever their label order, so
reordering ``data.classes`` only renumbers the labels), nothing time-dependent is
written, so a re-run gives byte-identical files and DVC can skip everything downstream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import io, paths
from foxdog.config import DataConfig
from foxdog.data.arrays import SPLITS
from foxdog.data.candidates import (
    Candidate,
    Decoded,
    decode_all,
    dropped_entry,
    list_candidates,
    source_of,
)
from foxdog.data.contact_sheet import contact_sheet
from foxdog.data.datasheet import datasheet, source_record
from foxdog.data.dedup import group_near_duplicates, resolve_duplicates
from foxdog.data.links import LINKED_FROM_FILE, link_roots, linked_from
from foxdog.data.sources import SOURCES_FILE, read_sources
from foxdog.data.split import split_by_group
from foxdog.errors import CurationError


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
    source_from: dict[str, object] = field(default_factory=dict)  # see source_record
    linked_from: str | None = None  # the collection LINKED_FROM.txt names, if any


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
            dropped.append(dropped_entry(cand, f"not listed in {SOURCES_FILE}"))
        elif row["sha256"].strip().lower() != result.sha256:
            dropped.append(dropped_entry(cand, f"content differs from {SOURCES_FILE}"))
        elif row["label"] != cand.label:
            reason = f"{SOURCES_FILE} labels it {row['label']!r} but it is in {cand.label}/"
            dropped.append(dropped_entry(cand, reason))
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

    labels = np.array([d.candidate.label for d in decoded])
    keep, conflicts, drops = resolve_duplicates(paths, labels, groups, dup)
    dropped.extend(dropped_entry(decoded[i].candidate, reason) for i, reason in drops)

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
    for name in SPLITS:
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
        source_from=source_record(sources, from_column),
        linked_from=None if (origin := linked_from(raw_dir)) is None else str(origin),
    )


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
        for split in SPLITS:
            mask = (kept["split"] == split).to_numpy()
            labels = kept.loc[mask, "label"].to_numpy(np.int64)
            io.write_npy(paths.curated_array(stage, split, "images"), result.images[mask])
            io.write_npy(paths.curated_array(stage, split, "labels"), labels)
            ids = kept.loc[mask, "id"].to_numpy().astype(str)
            io.write_npy(paths.curated_array(stage, split, "ids"), ids)
        io.write_csv(paths.manifest(stage), kept)
        io.write_json(paths.datasheet(stage), datasheet(result, cfg))
        for label in result.classes or cfg.classes:
            part = kept[kept["label_name"] == label]
            sheet = contact_sheet([raw_dir / p for p in part["path"]], cfg.contact_sheet_size)
            io.write_bytes(paths.contact_sheet(stage, label), sheet)
        io.swap_in(stage, out_dir)

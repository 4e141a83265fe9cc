"""What one curation run decided, as records: ``datasheet.json`` and the console's drop summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from foxdog import paths
from foxdog.config import DataConfig
from foxdog.data.arrays import SPLITS
from foxdog.data.candidates import decoding_record
from foxdog.data.dedup import BURST_LAYOUT_DISTANCE, BURST_MAX_GAP
from foxdog.data.sources import SOURCE_COLUMN, SOURCES_FILE

if TYPE_CHECKING:  # curate.py writes the datasheet: no import back at run time
    from foxdog.data.curate import Curated


def source_record(sources: dict[str, dict[str, str]], from_column: list[bool]) -> dict:
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


def _counts(frame: pd.DataFrame, by: Iterable[str]) -> list[dict[str, object]]:
    table = frame.groupby(list(by)).size().reset_index(name="images")
    return table.to_dict(orient="records")


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
                **{name: int((part["split"] == name).sum()) for name in SPLITS},
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
                **{split: int((part["split"] == split).sum()) for split in SPLITS},
                "dropped": int((dropped["label"] == name).sum()),
                "contact_sheet": paths.contact_sheet_name(name),
            }
        )
    return {
        **decoding_record(cfg),
        "classes": classes,
        "per_class": per_class,
        "contact_sheets": [paths.contact_sheet_name(name) for name in classes],
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

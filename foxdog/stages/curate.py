"""Stage ``curate``: the raw photos -> curated arrays, manifest and datasheet."""

from __future__ import annotations

import sys
from pathlib import Path

from foxdog.config import Params


def run(params: Params) -> None:
    """Curate ``data.raw_dir`` into ``data.out_dir``; warnings go to stderr."""
    from foxdog.data.curate import curate, write_curated
    from foxdog.data.datasheet import drop_summary

    raw_dir, out_dir = Path(params.data.raw_dir), Path(params.data.out_dir)
    result = curate(raw_dir, params.data)
    for line in result.warnings:
        print(f"foxdog: warning: {line}", file=sys.stderr)
    for path in result.missing:
        print(f"foxdog: warning: {path}: listed in SOURCES.csv but missing", file=sys.stderr)
    write_curated(result, raw_dir, out_dir, params.data)
    counts = result.kept["label_name"].value_counts().to_dict()
    per_class = ", ".join(f"{counts.get(name, 0)} {name}" for name in params.data.classes)
    print(
        f"curated {len(result.kept)} images ({per_class}), "
        f"dropped {len(result.dropped)} -> {out_dir}/"
    )
    for line in drop_summary(result.dropped):
        print(line)
    if result.dropped:
        print(f"  (every file and its reason: {out_dir}/datasheet.json)")

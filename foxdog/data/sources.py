"""``SOURCES.csv``, the list of a raw folder's photos: its name, its columns, its reader.

``foxdog curate`` cross-checks every photo against it (sha256 and label);
``foxdog data index`` writes it for a folder of your own (:data:`INDEX_COLUMNS`),
``foxdog data download`` for a downloaded collection (:data:`DOWNLOAD_COLUMNS`),
``foxdog data regroup`` for a linked collection. Format: ``docs/formats.md``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from foxdog.errors import CurationError

SOURCES_FILE = "SOURCES.csv"
#: What curation needs in every row.
REQUIRED_COLUMNS = ("relative_path", "label", "sha256", "breed_or_species")
# Optional: without it (or where a row leaves it empty) the source is the first
# folder below the class, and the datasheet says so (``source_from``).
SOURCE_COLUMN = "source"
#: Written by ``foxdog data index``: a superset of what curate reads; order follows
#: ../shared/foxdog-raw/SOURCES.csv.
INDEX_COLUMNS = (
    "relative_path",
    "label",
    "source",
    "sha256",
    "width",
    "height",
    "bytes",
    "format",
    "breed_or_species",
)
#: Written by ``foxdog data download``: where each file came from, and what curate reads.
DOWNLOAD_COLUMNS = (
    "relative_path",
    "label",
    "source",
    "source_repo",
    "source_path",
    "source_commit",
    "source_sha256",
    "sha256",
    "breed_or_species",
)


def read_sources(raw_dir: Path) -> dict[str, dict[str, str]]:
    """``SOURCES.csv`` rows keyed by ``relative_path``."""
    path = raw_dir / SOURCES_FILE
    if not path.is_file():
        raise CurationError(
            f"{path}: not found (every raw folder needs one; write it with "
            f"`foxdog data index {raw_dir}`)"
        )
    rows: dict[str, dict[str, str]] = {}
    try:
        # utf-8-sig: a spreadsheet-saved CSV starts with a byte-order mark.
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CurationError(f"{path}: missing column {missing[0]!r}")
            for row in reader:
                rel = row["relative_path"]
                if rel in rows:
                    raise CurationError(f"{path}: line {reader.line_num}: {rel} is listed twice")
                rows[rel] = row
    except UnicodeDecodeError as err:
        raise CurationError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except csv.Error as err:
        raise CurationError(f"{path}: not a readable CSV ({err})") from None
    return rows

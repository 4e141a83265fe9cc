"""``SOURCES.csv``, the list of a raw folder's photos: its name, its columns, its reader.

Also where the photo sources are read back after curation: :func:`curated_sources` (the
``source`` column curation wrote into ``curated/manifest.csv``).

``foxdog curate`` cross-checks every photo against it (sha256 and label);
``foxdog data index`` writes it for a folder of your own (:data:`INDEX_COLUMNS`),
``foxdog data download`` for a downloaded collection (:data:`DOWNLOAD_COLUMNS`),
``foxdog data regroup`` for a linked collection. Format: ``docs/formats.md``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from foxdog.errors import CurationError

if TYPE_CHECKING:  # only for annotations: curation does not need pandas here
    import pandas as pd

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


def curated_sources(curated_dir: Path, split: str) -> pd.DataFrame:
    """``label`` and ``source`` of each ``split`` image, indexed by id, from ``manifest.csv``.

    The source is the one curation recorded (``SOURCES.csv``'s ``source`` column, or the
    first folder below the class). Missing or unreadable: a ``ValueError`` naming the file.
    """
    import pandas as pd

    path = Path(curated_dir) / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run `dvc repro curate`)")
    try:
        manifest = pd.read_csv(
            path, usecols=["id", "label", "source", "split"], dtype={"id": str, "source": str}
        )
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise ValueError(f"{path}: not a readable manifest ({err})") from None
    rows = manifest[manifest["split"] == split]
    if rows["source"].isna().any():
        raise ValueError(f"{path}: a {split} image has no source (re-run `foxdog curate`)")
    return rows.set_index("id")[["label", "source"]]

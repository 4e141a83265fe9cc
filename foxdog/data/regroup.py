"""New classes from an existing collection, as symbolic links (``foxdog data regroup``).

A class map (CSV ``breed_or_species,class``) says which rows of a collection's
``SOURCES.csv`` form which new class. :func:`regroup` writes
``OUT/<class>/<source>/<rest of the original path>`` for every mapped row, each a
symbolic link to the original file (no photo is copied), and
``OUT/LINKED_FROM.txt`` naming the collection, so that ``foxdog data index OUT``
and ``foxdog curate`` follow those links (:mod:`foxdog.data.links`). Rows whose
``breed_or_species`` the map does not name are left out. ``examples/three_breeds/``
uses it to turn the fox/dog photos into a 3-class problem.
"""

from __future__ import annotations

import csv
import io as text_io
import re
import shutil
from collections import Counter
from pathlib import Path, PurePosixPath

from foxdog import io
from foxdog.data.links import LINKED_FROM_FILE
from foxdog.data.sources import SOURCE_COLUMN, SOURCES_FILE, read_sources
from foxdog.errors import CurationError

MAP_COLUMNS = ("breed_or_species", "class")
# The rule of data.classes: a class is a folder name and part of file names.
_CLASS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def read_class_map(path: Path) -> dict[str, str]:
    """``{breed_or_species: class}`` from a CSV with columns ``breed_or_species,class``."""
    mapping: dict[str, str] = {}
    with io.read_user_csv(path, MAP_COLUMNS, CurationError, "the --map CSV") as reader:
        for row in reader:
            breed, name = (row["breed_or_species"] or "").strip(), (row["class"] or "").strip()
            where = f"{path}: line {reader.line_num}"
            if not breed:
                raise CurationError(f"{where}: breed_or_species is empty")
            if not _CLASS_NAME.fullmatch(name):
                raise CurationError(
                    f"{where}: class {name!r} must be a folder name of letters, digits, '_' or '-'"
                )
            if breed in mapping:
                raise CurationError(f"{where}: {breed!r} is listed twice")
            mapping[breed] = name
    if len(set(mapping.values())) < 2:
        raise CurationError(f"{path}: maps to {len(set(mapping.values()))} class(es); need 2")
    return mapping


def linked_path(relative_path: str, source: str, new_class: str) -> str:
    """``<new_class>/<source>/<rest>``: the original path with its class folder replaced.

    ``fox/awa2_begert/fox_1.jpg`` (source ``awa2_begert``) becomes
    ``<new_class>/awa2_begert/fox_1.jpg``; a path without its source folder keeps
    everything below the class under ``<new_class>/<source>/``.
    """
    parts = PurePosixPath(relative_path).parts
    rest = parts[2:] if len(parts) > 2 and parts[1] == source else parts[1:]
    return "/".join((new_class, source or "unknown", *rest))


def regroup(
    origin: Path, class_map: dict[str, str], out: Path, *, force: bool = False
) -> dict[str, int]:
    """Write the linked class folders under ``out``; returns images per class (sorted).

    ``origin`` is a collection with a ``SOURCES.csv`` (``relative_path``,
    ``source``, ``breed_or_species``). Refuses (CurationError, nothing written) a
    map entry no row carries, a mapped file missing from ``origin``, two rows
    landing on one path, and an existing, non-empty ``out`` unless ``force`` and
    ``out`` is an earlier regroup (it carries ``LINKED_FROM.txt``), which is then
    replaced.
    """
    origin = origin.resolve()
    if out.resolve().is_relative_to(origin):
        raise CurationError(f"{out}: inside the collection {origin} (read-only input)")
    rows = read_sources(origin)
    breeds = Counter(row["breed_or_species"] for row in rows.values())
    unknown = sorted(b for b in class_map if b not in breeds)
    if unknown:
        raise CurationError(
            f"--map: {unknown[0]!r} is no breed_or_species of {origin / 'SOURCES.csv'}"
        )
    links: dict[str, Path] = {}
    for rel, row in sorted(rows.items()):
        new_class = class_map.get(row["breed_or_species"])
        if new_class is None:
            continue
        target = origin / rel
        if not target.is_file():
            raise CurationError(f"{target}: listed in {origin / 'SOURCES.csv'} but missing")
        path = linked_path(rel, row.get(SOURCE_COLUMN, "") or "", new_class)
        if path in links:
            raise CurationError(f"{rel} and {links[path]} both map to {path}")
        links[path] = target
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (force and (out / LINKED_FROM_FILE).is_file()):
            hint = "pass --force to replace it" if (out / LINKED_FROM_FILE).is_file() else (
                "remove it or choose another --out"
            )  # fmt: skip
            raise CurationError(f"{out}: already exists and is not empty ({hint})")
        shutil.rmtree(
            out
        )  # an earlier regroup: links and two small files (rmtree never follows links)
    for path, target in links.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).symlink_to(target)
    (out / LINKED_FROM_FILE).write_text(f"{origin}\n", encoding="utf-8")
    return dict(sorted(Counter(p.split("/", 1)[0] for p in links).items()))


def carry_breeds(out: Path) -> int:
    """Fill ``out/SOURCES.csv``'s empty ``breed_or_species`` from the linked originals' rows.

    ``foxdog data index`` leaves the column empty (a folder layout does not say
    it); for a regrouped collection the original ``SOURCES.csv`` does. Returns
    the number of rows filled.
    """
    origin = Path((out / LINKED_FROM_FILE).read_text(encoding="utf-8").strip())
    original = read_sources(origin)
    path = out / SOURCES_FILE
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames or []), list(reader)
    filled = 0
    for row in rows:
        target = (out / row["relative_path"]).resolve()
        if target.is_relative_to(origin) and not row["breed_or_species"]:
            rel = target.relative_to(origin).as_posix()
            row["breed_or_species"] = original.get(rel, {}).get("breed_or_species", "")
            filled += bool(row["breed_or_species"])
    buffer = text_io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    io.write_text(path, buffer.getvalue())
    return filled

"""Index a folder of labelled photos into its ``SOURCES.csv`` (``foxdog data index``).

Curation cross-checks every photo against ``SOURCES.csv`` (sha256 and label), so a
collection needs one before ``foxdog curate`` can use it. This module writes it
for any folder laid out as ``DIR/<class>/**/<image>``: one row per image file,
in sorted path order, with the file's sha256, byte size, format and size read
from the image header (no pixel is decoded: checking content is curate's job),
and a ``source`` sub-group taken from a folder level below the class or from a
user CSV. Symbolic links are skipped, except in a linked collection (a folder
with ``LINKED_FROM.txt``, :mod:`foxdog.data.links`), whose file links into the
collection it names are indexed by their targets' bytes. See docs/formats.md
("SOURCES.csv written by foxdog data index").
"""

from __future__ import annotations

import csv
import io as text_io
import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from foxdog import io
from foxdog.data.links import inside, link_roots, linked_from
from foxdog.data.sources import INDEX_COLUMNS, SOURCES_FILE
from foxdog.errors import CurationError
from foxdog.progress import Progress

# Suffixes (case-insensitive) of files that are indexed: the still-image formats
# Pillow opens that photo collections use. Anything else (.txt, .csv, .json,
# .heic, .raw, ...) is left out and counted; hidden files and folders (name
# starting with ".") are left out silently.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
UNKNOWN_SOURCE = "unknown"  # source of a file with no folder at the sub-group level
_ORIENTATION = 0x0112  # EXIF tag; values 5-8 mean the photo is displayed turned 90 degrees


class CollectionError(ValueError):
    """The folder cannot be indexed; the message names the folder, file or row at fault."""


@dataclass(frozen=True)
class Entry:
    """One indexed image: a row of ``SOURCES.csv``."""

    relative_path: str  # relative to the indexed folder, POSIX separators
    label: str
    source: str
    sha256: str
    width: int  # as displayed: EXIF orientation applied, like curate's manifest
    height: int
    bytes: int
    format: str  # by content (Pillow's name, e.g. "JPEG"), not by suffix


@dataclass
class CollectionIndex:
    """What one indexing run found."""

    entries: list[Entry]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not listed
    ignored: list[str] = field(default_factory=list)  # files without an image suffix
    transparent: list[str] = field(default_factory=list)  # alpha: curate flattens onto white

    def counts(self) -> dict[str, int]:
        """Indexed images per class, classes in sorted order."""
        counts = Counter(e.label for e in self.entries)
        return dict(sorted(counts.items()))


def source_at_level(relative_path: str, level: int) -> str:
    """The folder ``level`` levels below the class in ``relative_path``, else ``"unknown"``.

    ``fox/site_a/2024/x.jpg`` gives ``site_a`` at level 1 and ``2024`` at level 2;
    ``fox/x.jpg`` gives ``unknown`` at any level.
    """
    folders = PurePosixPath(relative_path).parts[:-1]
    return folders[level] if len(folders) > level else UNKNOWN_SOURCE


def read_subgroups(path: Path) -> dict[str, str]:
    """A user CSV with columns ``relative_path,source``, as ``{relative_path: source}``."""
    mapping: dict[str, str] = {}
    with io.read_user_csv(
        path, ("relative_path", "source"), CollectionError, "the --subgroups CSV"
    ) as reader:
        for row in reader:
            rel, source = (row["relative_path"] or "").strip(), (row["source"] or "").strip()
            if not rel or not source:
                raise CollectionError(
                    f"{path}: line {reader.line_num}: relative_path and source must be set"
                )
            if rel in mapping:
                raise CollectionError(f"{path}: line {reader.line_num}: {rel} is listed twice")
            mapping[rel] = source
    return mapping


def _class_folders(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    if not root.exists():
        raise CollectionError(f"{root}: folder not found")
    if not root.is_dir():
        raise CollectionError(f"{root}: not a folder (expected DIR/<class>/**/<image>)")
    classes, skipped = [], []
    for item in sorted(root.iterdir()):
        if item.name.startswith(".") or not item.is_dir():
            continue  # hidden folders, and files beside the classes (SOURCES.csv, README)
        if item.is_symlink():
            skipped.append((item.name, "symbolic link to a folder: not a class, not followed"))
        else:
            classes.append(item.name)
    if len(classes) < 2:
        found = f" ({', '.join(classes)})" if classes else ""
        raise CollectionError(
            f"{root}: {len(classes)} class folder{found} found; need at least 2 "
            "(layout DIR/<class>/**/<image>)"
        )
    return classes, skipped


def list_files(
    root: Path, classes: list[str], link_roots: tuple[Path, ...] = ()
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Image files under each class folder, sorted; plus ignored and skipped files.

    Returns (image paths, non-image paths, (path, reason) of skipped entries),
    paths relative to ``root`` with POSIX separators. Hidden files and folders
    are left out silently. Symbolic links (to files or folders) are skipped: a
    link out of the folder would put bytes in the index that the folder does not
    hold (curate drops such links too). Except in a linked collection
    (:mod:`foxdog.data.links`): a link to a file inside one of ``link_roots``
    (the folder itself and the one its ``LINKED_FROM.txt`` names) is indexed by
    its target's bytes.
    """
    images, ignored, skipped = [], [], []

    def followed(path: Path) -> bool:
        if not link_roots or not path.is_file():  # is_file() follows the link
            return False
        return inside(path.resolve(), link_roots)

    for label in classes:
        for dirpath, dirnames, filenames in os.walk(root / label, followlinks=False):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in [*dirnames, *filenames]:
                link = here / name
                if link.is_symlink() and not name.startswith(".") and not followed(link):
                    rel = link.relative_to(root).as_posix()
                    skipped.append((rel, "symbolic link: not followed"))
            dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
            for name in filenames:
                full = here / name
                if name.startswith(".") or (full.is_symlink() and not followed(full)):
                    continue
                rel = full.relative_to(root).as_posix()
                try:
                    rel.encode("utf-8")
                except UnicodeEncodeError:
                    printable = rel.encode("utf-8", "replace").decode("utf-8")
                    skipped.append((printable, "file name is not valid UTF-8"))
                    continue
                if full.suffix.lower() not in IMAGE_SUFFIXES or not full.is_file():
                    ignored.append(rel)
                else:
                    images.append(rel)
    return sorted(images), sorted(ignored), sorted(skipped)


def read_header(path: Path) -> tuple[str, int, int]:
    """(format, width, height) from the image header, EXIF orientation applied.

    Only the header is parsed (Pillow opens lazily; nothing calls ``load``), so a
    file whose pixel data is truncated is still indexed and left to curate.
    Raises ``OSError`` (Pillow's ``UnidentifiedImageError`` included) or Pillow's
    ``DecompressionBombError`` when the header is unusable.
    """
    with Image.open(path) as im:
        fmt = im.format or "unknown"
        width, height = im.size
        turned = _orientation(im) in (5, 6, 7, 8)
    return (fmt, height, width) if turned else (fmt, width, height)


def has_transparency(path: Path) -> bool:
    """True when the header declares an alpha channel or a transparent colour (no decoding)."""
    with Image.open(path) as im:
        return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _orientation(im: Image.Image) -> object:
    # Not im.getexif(): for PNG it decodes the whole image. JPEG, WebP and PNG (eXIf
    # before the pixels) carry their EXIF bytes in info; TIFF has it in its tags.
    raw = im.info.get("exif")
    try:
        if isinstance(raw, bytes):
            exif = Image.Exif()
            exif.load(raw)
            return exif.get(_ORIENTATION, 1)
        tags = getattr(im, "tag_v2", None)
        return tags.get(_ORIENTATION, 1) if tags is not None else 1
    except Exception:  # noqa: BLE001 - malformed EXIF: keep stored size, curate decides
        return 1


def _index_one(job: tuple[Path, str]) -> tuple[str, int, str, int, int, bool] | str:
    root, rel = job
    path = root / rel
    try:
        fmt, width, height = read_header(path)
        alpha = has_transparency(path)
        return io.sha256_file(path), path.stat().st_size, fmt, width, height, alpha
    except UnidentifiedImageError:
        return "not a readable image header (unknown format)"
    except Image.DecompressionBombError as err:
        return f"header refused by Pillow ({err})".splitlines()[0]
    except (OSError, SyntaxError, ValueError) as err:
        # Pillow's plugins raise SyntaxError/ValueError for some malformed headers.
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return f"not a readable image header ({reason})"


def index_collection(
    root: str | Path,
    *,
    subgroup_level: int = 1,
    subgroups: dict[str, str] | None = None,
    workers: int | None = None,
) -> CollectionIndex:
    """Scan ``root/<class>/**/<image>`` into :class:`Entry` rows, in sorted path order.

    Parameters
    ----------
    root
        Folder with one sub-folder per class (the class name is the label).
    subgroup_level
        Folder level below the class that names an image's ``source``
        (1: ``root/<class>/<source>/...``); images with no folder at that level
        get ``"unknown"``. Ignored when ``subgroups`` is given.
    subgroups
        ``{relative_path: source}`` (:func:`read_subgroups`); must cover every
        indexed image and name no file outside the index.
    workers
        Threads for hashing and header reads (default: CPUs, at most 8).

    Files whose header Pillow cannot read are skipped and listed in ``skipped``
    (not in the index, so curate drops them as unlisted). Raises
    :class:`CollectionError` for a missing folder, fewer than two class folders,
    a class folder without readable images, or a ``subgroups`` mapping that does
    not match the files.
    """
    root = Path(root)
    if subgroups is None and subgroup_level < 1:
        raise CollectionError(f"--subgroup-level={subgroup_level} must be >= 1")
    classes, top_skipped = _class_folders(root)
    try:
        # A linked collection (LINKED_FROM.txt): file links into its origin are indexed.
        roots = link_roots(root) if linked_from(root) is not None else ()
    except CurationError as err:
        raise CollectionError(str(err)) from None
    paths, ignored, skipped = list_files(root, classes, roots)
    skipped += top_skipped
    for label in classes:
        if not any(p.startswith(f"{label}/") for p in paths):
            raise CollectionError(
                f"{root / label}: no images in class folder (image suffixes: "
                f"{' '.join(sorted(IMAGE_SUFFIXES))})"
            )
    workers = max(1, min(workers or os.cpu_count() or 1, 8))
    jobs = [(root, rel) for rel in paths]
    with warnings.catch_warnings():
        # Headers above Pillow's warning limit are still indexed: curate's
        # data.max_pixels check drops them with its reason. (Filters are set here,
        # in the calling thread, around the whole pool; the workers only read them.)
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with (
            ThreadPoolExecutor(max_workers=workers) as pool,
            Progress(len(jobs), "index", "image", lines=False) as bar,
        ):
            results = []
            for result in pool.map(_index_one, jobs):  # map keeps the sorted order
                results.append(result)
                bar.update()
    entries, transparent = [], []
    for rel, result in zip(paths, results, strict=True):
        if isinstance(result, str):
            skipped.append((rel, result))
            continue
        sha, size, fmt, width, height, alpha = result
        if alpha:
            transparent.append(rel)
        label = rel.split("/", 1)[0]
        source = source_at_level(rel, subgroup_level) if subgroups is None else ""
        entries.append(Entry(rel, label, source, sha, width, height, size, fmt))
    for label in classes:
        if not any(e.label == label for e in entries):
            first = next((s for s in skipped if s[0].startswith(f"{label}/")), None)
            example = f" (e.g. {first[0]}: {first[1]})" if first else ""
            raise CollectionError(f"{root / label}: no readable images in class folder{example}")
    if subgroups is not None:
        entries = _apply_subgroups(entries, subgroups, {s[0] for s in skipped})
    return CollectionIndex(
        entries=entries, skipped=sorted(skipped), ignored=ignored, transparent=transparent
    )


def _apply_subgroups(
    entries: list[Entry], subgroups: dict[str, str], skipped: set[str]
) -> list[Entry]:
    indexed = {e.relative_path for e in entries}
    unmapped = [e.relative_path for e in entries if e.relative_path not in subgroups]
    if unmapped:
        raise CollectionError(
            f"--subgroups: {unmapped[0]} has no source ({len(unmapped)} indexed "
            "images unmapped; every image needs a row)"
        )
    unknown = sorted(p for p in subgroups if p not in indexed and p not in skipped)
    if unknown:
        raise CollectionError(
            f"--subgroups: {unknown[0]} is not an image in the folder "
            f"({len(unknown)} rows name no indexed file)"
        )
    return [
        Entry(
            e.relative_path,
            e.label,
            subgroups[e.relative_path],
            e.sha256,
            e.width,
            e.height,
            e.bytes,
            e.format,
        )
        for e in entries
    ]


def sources_text(entries: list[Entry]) -> str:
    """``SOURCES.csv`` content for ``entries`` (header, then rows sorted by path)."""
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    for e in sorted(entries, key=lambda e: e.relative_path):
        # breed_or_species stays empty: a folder layout does not say it.
        row = (e.relative_path, e.label, e.source, e.sha256, e.width, e.height, e.bytes, e.format)
        writer.writerow((*row, ""))
    return buffer.getvalue()


def check_out_path(out: Path, force: bool) -> None:
    """Refuse an existing ``out`` unless ``force`` (an index is never replaced silently)."""
    if out.is_dir():
        raise CollectionError(f"{out}: is a folder (--out names the CSV file to write)")
    if out.exists() and not force:
        raise CollectionError(f"{out}: already exists (pass --force to replace it)")


def write_index(
    root: str | Path,
    out: str | Path | None = None,
    *,
    subgroup_level: int = 1,
    subgroups_csv: str | Path | None = None,
    force: bool = False,
    workers: int | None = None,
) -> tuple[CollectionIndex, Path]:
    """Index ``root`` and write ``out`` (default ``root/SOURCES.csv``) atomically.

    The output is checked before any file is read, so a refusal costs nothing.
    Returns the index and the path written.
    """
    root = Path(root)
    out = Path(out) if out is not None else root / SOURCES_FILE
    check_out_path(out, force)
    subgroups = read_subgroups(Path(subgroups_csv)) if subgroups_csv is not None else None
    index = index_collection(
        root, subgroup_level=subgroup_level, subgroups=subgroups, workers=workers
    )
    io.write_text(out, sources_text(index.entries))
    return index, out


def in_two_classes(entries: list[Entry]) -> list[list[Entry]]:
    """Groups of entries with the same bytes (sha256) under more than one class."""
    by_hash: dict[str, list[Entry]] = {}
    for e in entries:
        by_hash.setdefault(e.sha256, []).append(e)
    return [group for group in by_hash.values() if len({e.label for e in group}) > 1]


def summary_lines(index: CollectionIndex, out: Path, min_side: int | None = None) -> list[str]:
    """What indexing found, for the console: warnings (``foxdog: ...``), notes, then a total.

    Each photo present in two classes is named with both paths (curate drops both);
    with ``min_side`` (``data.min_side``), each image whose shorter side is below it.
    """
    lines = [
        f"foxdog: warning: {path}: {reason} — skipped, not listed" for path, reason in index.skipped
    ]
    if index.ignored:
        lines.append(
            f"foxdog: warning: {len(index.ignored)} files without an image suffix left out "
            f"(e.g. {index.ignored[0]})"
        )
    for group in in_two_classes(index.entries):
        names = " and ".join(e.relative_path for e in group)
        lines.append(
            f"foxdog: warning: {names}: the same photo in {len({e.label for e in group})} "
            "classes — curate drops every copy (label conflict)"
        )
    if min_side is not None:
        for e in index.entries:
            if min(e.width, e.height) < min_side:
                lines.append(
                    f"foxdog: warning: {e.relative_path}: {e.width}x{e.height}, shorter side "
                    f"below data.min_side={min_side} — curate drops it"
                )
    for rel in index.transparent:
        lines.append(f"foxdog: note: {rel}: has transparency — curate flattens it onto white")
    counts = ", ".join(f"{n} {label}" for label, n in index.counts().items())
    lines.append(f"indexed {len(index.entries)} images ({counts}) -> {out}")
    return lines

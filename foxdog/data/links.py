"""Linked collections: a raw folder whose images are symbolic links into another one.

``foxdog data regroup`` builds a class-folder layout without copying a photo:
each image is a symbolic link into an existing collection (e.g. the fox/dog
photos regrouped by breed into three classes). By default ``foxdog data index``
skips symbolic links and ``foxdog curate`` drops those leaving the raw folder;
a raw folder that carries a ``LINKED_FROM.txt`` file naming that collection's
folder (one line) lets both follow file links that resolve inside it, and only
those. Folder links are still never followed. Nothing else changes: curate still
checks every image's sha256 against the raw folder's ``SOURCES.csv``, and DVC
hashes a dependency's symbolic links by their targets' content.
"""

from __future__ import annotations

from pathlib import Path

from foxdog.errors import CurationError

LINKED_FROM_FILE = "LINKED_FROM.txt"


def linked_from(raw_dir: Path) -> Path | None:
    """The resolved folder ``raw_dir/LINKED_FROM.txt`` names, or None without that file.

    Raises a one-line CurationError when the file does not hold exactly one
    line naming an existing folder (a relative path counts from ``raw_dir``).
    """
    marker = raw_dir / LINKED_FROM_FILE
    if not marker.is_file():
        return None
    try:
        lines = [line.strip() for line in marker.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise CurationError(f"{marker}: not readable ({err})") from None
    lines = [line for line in lines if line]
    if len(lines) != 1:
        raise CurationError(f"{marker}: must hold one line, the folder the links point into")
    origin = (raw_dir / lines[0]).resolve()
    if not origin.is_dir():
        raise CurationError(f"{marker}: {lines[0]}: folder not found (the links point into it)")
    return origin


def link_roots(raw_dir: Path) -> tuple[Path, ...]:
    """Resolved folders a file link under ``raw_dir`` may point into: itself, and its origin."""
    origin = linked_from(raw_dir)
    return (raw_dir.resolve(),) if origin is None else (raw_dir.resolve(), origin)


def inside(target: Path, roots: tuple[Path, ...]) -> bool:
    """Whether the resolved ``target`` lies in one of ``roots``."""
    return any(target.is_relative_to(root) for root in roots)

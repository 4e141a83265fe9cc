"""File I/O: atomic writes (a reader never sees a half-written file, an interrupted run
loses nothing) and content hashes."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: keep this module cheap to import
    import numpy as np
    import pandas as pd


@contextlib.contextmanager
def read_user_csv(
    path: Path, columns: Sequence[str], error: type[Exception], what: str
) -> Iterator[csv.DictReader]:
    """Rows of a user's UTF-8 CSV whose header has ``columns``; every failure one ``error`` line.

    ``what`` names the file in the not-found message (e.g. ``"the --map CSV"``). A
    spreadsheet's byte-order mark is allowed (``utf-8-sig``).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise error(f"{path}: missing column {missing[0]!r}")
            yield reader
    except FileNotFoundError:
        raise error(f"{path}: not found ({what})") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None
    except csv.Error as err:
        raise error(f"{path}: not a readable CSV ({err})") from None


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return atomic_write(path, lambda p: p.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON (stable bytes for DVC)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def write_csv(path: str | Path, frame: pd.DataFrame) -> Path:
    """Atomically write ``frame`` as CSV without its index."""
    return write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def write_npy(path: str | Path, array: np.ndarray) -> Path:
    """Atomically write ``array`` in .npy format (no pickles, deterministic bytes)."""

    import numpy as np

    def _save(p: Path) -> None:
        with open(p, "wb") as fh:
            np.save(fh, array, allow_pickle=False)

    return atomic_write(path, _save)


# --- whole folders: build beside, then swap in ----------------------------------------


def _staging_prefixes(out_dir: Path) -> tuple[str, str]:
    return f".{out_dir.name}.tmp-", f".{out_dir.name}.old-"


def remove_stale_staging(out_dir: str | Path) -> list[Path]:
    """Delete staging folders a killed run left beside ``out_dir``; return what was removed.

    Only one writer per output folder is expected (DVC locks the repository), so
    any ``.<name>.tmp-*`` or ``.<name>.old-*`` folder found at start is stale.
    """
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    removed = []
    for item in sorted(out_dir.parent.iterdir()):
        if item.name.startswith(_staging_prefixes(out_dir)) and item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
            removed.append(item)
    return removed


@contextlib.contextmanager
def staging_dir(out_dir: str | Path) -> Iterator[Path]:
    """A fresh folder beside ``out_dir`` (same file system, so :func:`swap_in` is a rename).

    Stale staging folders of earlier, killed runs are removed first; this one is
    removed on exit unless it was swapped in.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=_staging_prefixes(out_dir)[0], dir=out_dir.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def swap_in(new: str | Path, out_dir: str | Path) -> None:
    """Replace ``out_dir`` by ``new`` with renames: readers see the old or the new folder."""
    new, out_dir = Path(new), Path(out_dir)
    os.chmod(new, 0o755)  # mkdtemp makes it 0700; a web server or another user must read it
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=_staging_prefixes(out_dir)[1], dir=out_dir.parent))
        old.rmdir()
        os.replace(out_dir, old)
    os.replace(new, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

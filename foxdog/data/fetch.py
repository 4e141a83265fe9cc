"""Materialise ``data/`` from the raw collection through DVC, refusing a changed source.

``data.dvc`` is a DVC import of ``../shared/foxdog-raw``. On a fresh clone there
is no DVC remote to ``dvc pull`` from, so ``dvc update`` re-copies from the
source. ``dvc update`` would also silently accept a changed source and rewrite
the recorded hash; this wrapper compares the hash before and after and fails
loudly instead, restoring ``data.dvc`` so the recorded version stays the truth.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from foxdog import io
from foxdog.errors import FetchError


def _read(dvc_file: Path) -> tuple[str, dict]:
    """The text of ``dvc_file`` and its parsed mapping."""
    try:
        text = dvc_file.read_text(encoding="utf-8")
        meta = yaml.safe_load(text)
    except FileNotFoundError:
        raise FetchError(f"{dvc_file}: not found (run from the project root)") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise FetchError(f"{dvc_file}: not a readable .dvc file ({type(err).__name__})") from None
    if not isinstance(meta, dict):
        raise FetchError(f"{dvc_file}: not a .dvc file (expected a mapping)")
    return text, meta


def _md5(meta: dict, dvc_file: Path) -> str:
    try:
        return str(meta["outs"][0]["md5"])
    except (KeyError, IndexError, TypeError):
        raise FetchError(f"{dvc_file}: no recorded output hash (outs[0].md5)") from None


def recorded_hash(dvc_file: Path) -> str:
    """The directory hash ``dvc_file`` records for its output."""
    return _md5(_read(dvc_file)[1], dvc_file)


def _dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Run inside the .dvc file's folder: DVC finds its repository from the working
    # directory, not from the target's path.
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def fetch_raw(dvc_file: Path = Path("data.dvc")) -> str:
    """Run ``dvc update`` on ``dvc_file`` and check the content hash did not change.

    On a changed source, ``dvc_file`` is restored to its recorded text and the
    output is checked out again from the DVC cache (when the cache still holds
    the recorded version), then :class:`FetchError` names the source.
    """
    dvc_file = Path(dvc_file)
    before_text, meta = _read(dvc_file)
    expected = _md5(meta, dvc_file)
    try:
        source = str(meta["deps"][0]["path"])
        output = str(meta["outs"][0]["path"])
    except (KeyError, IndexError, TypeError):
        raise FetchError(
            f"{dvc_file}: not an import (no deps[0].path / outs[0].path to update from)"
        ) from None
    workdir = dvc_file.parent.resolve()
    if not (workdir / source).exists():
        raise FetchError(
            f"{source}: raw collection not found next to the project "
            "(put shared/ beside the checkout, or `foxdog data download`)"
        )
    proc = _dvc(["update", "--quiet", dvc_file.name], workdir)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise FetchError(
            f"{dvc_file}: dvc update failed: {detail[-1] if detail else proc.returncode}"
        )
    actual = recorded_hash(dvc_file)
    if actual != expected:
        io.write_text(dvc_file, before_text)
        restored = _dvc(["checkout", "--force", "--quiet", dvc_file.name], workdir)
        if restored.returncode == 0:
            state = f"{output}/ restored to the recorded version"
        elif not (workdir / output).exists():
            state = f"{output}/ removed (the recorded version is not in the DVC cache)"
        else:
            state = f"{output}/ may hold the changed content (dvc checkout failed)"
        raise FetchError(
            f"{source}: content changed since {dvc_file} was recorded "
            f"(md5 {expected} -> {actual}); {dvc_file} kept, {state}; review the change, "
            f"then run `dvc update {dvc_file}` and commit it"
        )
    return f"{output}/ matches {dvc_file} (md5 {expected})"

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


class FetchError(RuntimeError):
    """The raw data could not be materialised or no longer matches ``data.dvc``."""


def recorded_hash(dvc_file: Path) -> str:
    """The directory hash ``dvc_file`` records for its output."""
    try:
        meta = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))
        return str(meta["outs"][0]["md5"])
    except FileNotFoundError:
        raise FetchError(f"{dvc_file}: not found (run from the project root)") from None
    except (KeyError, IndexError, TypeError, yaml.YAMLError):
        raise FetchError(f"{dvc_file}: no recorded output hash (outs[0].md5)") from None


def fetch_raw(dvc_file: Path = Path("data.dvc")) -> str:
    """Run ``dvc update`` on ``dvc_file`` and check the content hash did not change."""
    before_text = dvc_file.read_text(encoding="utf-8") if dvc_file.is_file() else None
    expected = recorded_hash(dvc_file)
    source = yaml.safe_load(before_text)["deps"][0]["path"]
    if not (dvc_file.parent / source).is_dir():
        raise FetchError(
            f"{source}: raw collection not found next to the project "
            "(put shared/ beside the checkout, or `foxdog data download`)"
        )
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "update", "--quiet", str(dvc_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise FetchError(
            f"{dvc_file}: dvc update failed: {detail[-1] if detail else proc.returncode}"
        )
    actual = recorded_hash(dvc_file)
    if actual != expected:
        dvc_file.write_text(before_text, encoding="utf-8")
        raise FetchError(
            f"{source}: content changed since {dvc_file} was recorded "
            f"(md5 {expected} -> {actual}); review the change, then run "
            f"`dvc update {dvc_file}` and commit it"
        )
    return f"data/ matches {dvc_file} (md5 {expected})"

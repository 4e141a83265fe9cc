"""Encoder files: a pretrained CNN trunk (the conv blocks) plus what it was trained with.

Format: one msgpack document written with ``flax.serialization.msgpack_serialize``
(a maintained serialisation, no pickle): ``{"meta": {...}, "blocks": {"0": ...}}``.
``meta`` holds the architecture (``widths``, ``stem``), the pretraining method,
image size and corpus accuracy, so a mismatched file is refused with a clear
message instead of failing inside JAX. Files are ~100 kB: small enough to commit.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from flax import serialization

from foxdog import io


def save_encoder(path: str | Path, trunk: dict, meta: dict[str, Any]) -> Path:
    """Atomically write ``trunk`` (pure dict of the conv blocks) and ``meta`` to ``path``."""
    blocks = {str(i): trunk[i] for i in sorted(trunk)}  # msgpack map keys: strings
    doc = {"meta": dict(meta), "blocks": blocks}
    return io.write_bytes(path, serialization.msgpack_serialize(doc))


def load_encoder(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """(trunk pure dict by block index, meta) from an encoder file; ValueError if unreadable."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: encoder not found (run `dvc repro pretrain`, "
            "or drop transfer and selfsup from active.starts)"
        ) from None
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> tuple[dict, dict[str, Any]]:
    # Cached on (path, mtime, size): every AL round's fit reloads the same file.
    try:
        doc = serialization.msgpack_restore(Path(path).read_bytes())
        meta, blocks = dict(doc["meta"]), doc["blocks"]
        trunk = {int(k): blocks[k] for k in blocks}
    except Exception as err:  # msgpack raises several unrelated types on bad bytes
        raise ValueError(f"{path}: not a readable encoder file ({type(err).__name__})") from None
    return trunk, meta


def check_architecture(path: str | Path, meta: dict[str, Any], widths: tuple, stem: int) -> None:
    """Raise a one-line ValueError if the encoder in ``path`` was trained for another trunk."""
    got = (tuple(int(w) for w in np.atleast_1d(meta.get("widths", ()))), int(meta.get("stem", -1)))
    if got != (tuple(widths), int(stem)):
        raise ValueError(
            f"{path}: encoder has widths {got[0]} stem {got[1]}, the model has "
            f"widths {tuple(widths)} stem {stem} (re-run the pretrain stage)"
        )

"""Generated photo folders for the labelling app's tests: two colour-coded classes, nested."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
from conftest import encode, textured

CLASSES = ("fox", "dog")


def photo(rng: np.random.Generator, label: str, size: int = 96) -> bytes:
    """A textured JPEG; foxes lean red, dogs blue, so a head on features can learn them."""
    pixels = textured(rng, size, size).astype(np.int16)
    channel = 0 if label == "fox" else 2
    pixels[..., channel] = np.clip(pixels[..., channel] + 70, 0, 255)
    return encode(pixels.astype(np.uint8))


def make_folder(root: Path, n: int, seed: int = 0) -> dict[str, str]:
    """``n`` photos under ``root`` in nested, class-blind folders, plus ``root/../SOURCES.csv``.

    Returns {relative path: class}. The oracle file lives beside the folder
    (``<root>_oracle/SOURCES.csv``), not inside it, as a user's would.
    """
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(n):
        label = CLASSES[i % 2]
        rel = f"roll{i % 3}/day{i % 2}/img_{i:03d}.jpg"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo(rng, label))
        truth[rel] = label
    oracle = root.parent / f"{root.name}_oracle"
    oracle.mkdir(exist_ok=True)
    with open(oracle / "SOURCES.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["relative_path", "label", "sha256", "breed_or_species"])
        for rel, label in truth.items():
            digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
            writer.writerow([rel, label, digest, ""])
    return truth


def open_session(photos: Path, project: Path, classes=CLASSES, **overrides):
    """A :class:`LabelSession` on ``photos`` with real features (the transfer encoder's
    by default: fast; ``extractor="imagenet"`` for the app's default).

    ``overrides`` replace fields of ``label`` (e.g. ``batch_size``); a keyword
    ``synchronous`` is passed to the session.
    """
    import dataclasses

    from foxdog.config import Params
    from foxdog.label.command import load
    from foxdog.label.session import LabelSession

    synchronous = overrides.pop("synchronous", False)
    extractor = overrides.pop("extractor", "transfer")  # the fast one, unless asked
    params = Params()
    params = dataclasses.replace(
        params, label=dataclasses.replace(params.label, extractor=extractor)
    )
    cfg = dataclasses.replace(params.label, **overrides)
    loaded = load(photos, project, list(classes), params)
    return LabelSession(
        loaded.project, loaded.features, loaded.has_features, cfg, synchronous=synchronous
    )

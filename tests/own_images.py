"""A generated "your own images" collection: class folders of small PNG/JPEG pictures.

``make_collection(root)`` writes ``root/<class>/<source>/<class>_<n>.<ext>`` for
three classes whose pictures differ in their statistics, the way a user's photo
folder differs between classes:

- ``circle``: one or two filled discs on a smooth background,
- ``square``: one or two filled, axis-aligned squares on a smooth background,
- ``noise``: a coarse random colour texture, no shape.

Every picture has a random size of at least ``MIN_SIDE`` pixels (so it passes
``data.min_side``), random colours, positions and a mid-frequency texture with
noise, so no two are near-duplicates by perceptual hash or a burst series by
colour layout. No SOURCES.csv is written: ``foxdog data index`` does that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import encode, textured

CLASSES = ("circle", "square", "noise")
SOURCES = ("camera_a", "camera_b", "phone")
MIN_SIDE = 72  # above the default data.min_side (64)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth two-colour gradient plus faint texture, float RGB."""
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    if rng.random() < 0.5:
        t = np.linspace(0.0, 1.0, height)[:, None, None]
    base = a + (b - a) * t
    return base + (textured(rng, width, height).astype(float) - 128.0) * 0.25


def picture(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One uint8 RGB picture of class ``kind`` (one of :data:`CLASSES`)."""
    width, height = (int(v) for v in rng.integers(MIN_SIDE, MIN_SIDE + 40, 2))
    if kind == "noise":
        coarse = textured(rng, width, height).astype(float)
        image = coarse + rng.normal(0, 30, (height, width, 3))
        return np.clip(image, 0, 255).astype(np.uint8)
    image = np.broadcast_to(_background(rng, width, height), (height, width, 3)).copy()
    yy, xx = np.mgrid[:height, :width]
    for _ in range(int(rng.integers(1, 3))):
        r = rng.uniform(0.15, 0.3) * min(width, height)
        cx, cy = rng.uniform(r, width - r), rng.uniform(r, height - r)
        if kind == "circle":
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r**2
        elif kind == "square":
            inside = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
        else:
            raise ValueError(f"unknown kind {kind!r}; one of {CLASSES}")
        image[inside] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_collection(
    root: Path,
    classes: tuple[str, ...] = CLASSES,
    n_per_class: int = 24,
    sources: tuple[str, ...] = SOURCES,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Write the collection under ``root``; returns ``{class: [relative paths]}``.

    Images of a class are spread round-robin over the ``sources`` sub-folders
    (what ``foxdog data index`` takes as ``source``); every third is a PNG, the
    others JPEG. A class name outside :data:`CLASSES` draws ``noise`` pictures.
    """
    rng = np.random.default_rng(seed)
    written: dict[str, list[str]] = {}
    for name in classes:
        kind = name if name in CLASSES else "noise"
        for i in range(n_per_class):
            fmt = "PNG" if i % 3 == 0 else "JPEG"
            rel = f"{name}/{sources[i % len(sources)]}/{name}_{i:03d}.{fmt.lower()}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(encode(picture(kind, rng), fmt))
            written.setdefault(name, []).append(rel)
    return written


def own_balance(classes: tuple[str, ...]) -> dict[str, object]:
    """A ``balance`` section for a user's classes: no frozen-feature conditions (fast tests)."""
    return {"rare_class": classes[-1], "starts": [], "shares": [], "conditions": []}

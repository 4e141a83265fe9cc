"""Contact sheets: a grid of real kept photos, to look at what the dataset holds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from foxdog.data.images import to_rgb

THUMB = 96
COLUMNS = 8


def pick_evenly(n_items: int, n_pick: int) -> np.ndarray:
    """Indices of ``n_pick`` items spread evenly over ``n_items`` (all if fewer)."""
    if n_items <= n_pick:
        return np.arange(n_items)
    return np.linspace(0, n_items - 1, n_pick).round().astype(int)


def contact_sheet(paths: Sequence[Path], n_images: int, thumb: int = THUMB) -> bytes:
    """PNG bytes of a grid of up to ``n_images`` thumbnails taken evenly from ``paths``.

    ``paths`` are expected to have been decoded successfully already (curation
    kept them), so any error here is a real bug and propagates.
    """
    chosen = [paths[i] for i in pick_evenly(len(paths), n_images)]
    rows = max(1, -(-len(chosen) // COLUMNS))
    sheet = Image.new("RGB", (COLUMNS * thumb, rows * thumb), (255, 255, 255))
    for k, path in enumerate(chosen):
        with Image.open(path) as im:
            # The same RGB conversion as curation (alpha on white, 16-bit scaled).
            rgb = to_rgb(ImageOps.exif_transpose(im))
            tile = ImageOps.fit(rgb, (thumb, thumb), method=Image.Resampling.LANCZOS)
        sheet.paste(tile, ((k % COLUMNS) * thumb, (k // COLUMNS) * thumb))
    buf = io.BytesIO()
    # No metadata chunks: the bytes depend on the pixels only.
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()

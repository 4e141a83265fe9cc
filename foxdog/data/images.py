"""Decode one raw photo safely: by content, EXIF-oriented, RGB, with the checks curation needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from foxdog.io import sha256_file

# Background for transparent pixels: the colour under alpha=0 is arbitrary
# (often black), so compositing on one fixed colour keeps it from leaking anything.
_BACKGROUND = (255, 255, 255)


class RejectedImage(Exception):
    """The file is not a usable photo; ``str(err)`` is the one-line reason."""


@dataclass(frozen=True)
class DecodedImage:
    """A decoded photo plus what curation records about it."""

    rgb: Image.Image
    format: str
    width: int
    height: int
    sha256: str


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB view of ``image``: alpha composited on white, 16-bit and float scaled."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if has_alpha or (image.mode in ("P", "L", "RGB") and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit / 32-bit greyscale: stretch to 8 bits (convert() would clip to white).
        arr = np.asarray(image, dtype=np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        arr = 255.0 * (arr - arr.min()) / max(float(np.ptp(arr)), 1.0)
        return Image.fromarray(arr.astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")


def decode_image(path: Path, *, max_pixels: int, min_side: int, min_std: float) -> DecodedImage:
    """Decode ``path`` by content and check it; raise :class:`RejectedImage` with a reason.

    Checks, in order: decodable image, pixel count within ``max_pixels`` (read from
    the header before any pixel is decoded: decompression-bomb guard), fully
    decodable (not truncated), shorter side at least ``min_side`` after EXIF
    orientation, grey-level standard deviation at least ``min_std``.
    """
    digest = sha256_file(path)
    fmt = "unknown"
    # Pillow's own guard warns above MAX_IMAGE_PIXELS and raises above twice that;
    # the warning counts as a rejection too. (No warnings.catch_warnings() here: it
    # is not thread-safe, and curation decodes in threads.)
    pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels
    try:
        with Image.open(path) as im:
            fmt = im.format or "unknown"
            width, height = im.size
            for limit, name in ((max_pixels, "data.max_pixels"), (pillow_limit, "Pillow's limit")):
                if width * height > limit:
                    raise RejectedImage(
                        f"header claims {width}x{height} pixels, over {name}={limit} "
                        "(decompression-bomb guard)"
                    )
            im.load()
            oriented = ImageOps.exif_transpose(im)
            rgb = to_rgb(oriented)
    except RejectedImage:
        raise
    except UnidentifiedImageError:
        raise RejectedImage("not a decodable image (unknown format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise RejectedImage(f"decompression-bomb guard: {err}") from None
    except MemoryError:
        raise RejectedImage(f"not decodable in memory ({fmt})") from None
    except Exception as err:
        # OSError (truncated), SyntaxError, ValueError, EOFError, but also IndexError,
        # struct.error, KeyError... from format plugins: one bad file must not stop curation.
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RejectedImage(f"not a decodable image ({fmt}: {message})") from None
    if min(rgb.size) < min_side:
        raise RejectedImage(
            f"too small: {rgb.size[0]}x{rgb.size[1]}, shorter side < data.min_side={min_side}"
        )
    std = float(np.asarray(rgb.convert("L"), dtype=np.float64).std())
    if std < min_std:
        raise RejectedImage(f"near-constant: grey std {std:.2f} < data.min_std={min_std}")
    return DecodedImage(rgb=rgb, format=fmt, width=rgb.size[0], height=rgb.size[1], sha256=digest)


def perceptual_hash(image: Image.Image, hash_size: int) -> np.ndarray:
    """DCT perceptual hash as a flat boolean array of ``hash_size**2`` bits."""
    return imagehash.phash(image, hash_size=hash_size).hash.flatten().astype(bool)


def colour_layout(image: Image.Image, size: int = 8) -> np.ndarray:
    """Box-averaged ``size`` x ``size`` RGB thumbnail, flattened float32 (burst detection)."""
    return np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32).ravel()


def square_resize(image: Image.Image, size: int) -> np.ndarray:
    """Shorter side to ``size`` then centre crop, Lanczos; uint8 array (size, size, 3).

    One method for every image so that neither the original size nor the aspect
    ratio carries label information.
    """
    fitted = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)

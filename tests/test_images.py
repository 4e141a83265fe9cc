"""Tests for foxdog/data/images.py: safe decoding of one raw photo, hashing, resizing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from conftest import encode, jpeg_header_only, png_header_only, textured
from PIL import Image, ImageFile

from foxdog.data.images import (
    RejectedImage,
    colour_layout,
    decode_image,
    perceptual_hash,
    sha256_file,
    square_resize,
    to_rgb,
)

CHECKS = dict(max_pixels=40_000_000, min_side=64, min_std=5.0)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_plain_jpeg_decodes_with_its_hash_and_size(tmp_path, rng):
    data = encode(textured(rng, 120, 90))
    img = decode_image(write(tmp_path, "a.jpg", data), **CHECKS)
    assert (img.format, img.width, img.height, img.rgb.mode) == ("JPEG", 120, 90, "RGB")
    assert img.sha256 == hashlib.sha256(data).hexdigest() == sha256_file(tmp_path / "a.jpg")


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "GIF", "BMP"])
def test_decoded_by_content_not_by_extension(tmp_path, rng, fmt):
    path = write(tmp_path, "photo.jpg", encode(textured(rng, 100, 80), fmt))
    assert decode_image(path, **CHECKS).format == fmt


def test_transparent_area_becomes_white_not_black(tmp_path, rng):
    rgba = np.zeros((80, 80, 4), np.uint8)  # fully transparent *black* ...
    rgba[:, :40, :3] = textured(rng, 40, 80)
    rgba[:, :40, 3] = 255  # ... except an opaque textured left half
    img = decode_image(write(tmp_path, "a.png", encode(rgba, "PNG")), **CHECKS)
    pixels = np.asarray(img.rgb)
    assert (pixels[:, 40:] == 255).all()
    assert np.array_equal(pixels[:, :40], rgba[:, :40, :3])


def test_half_transparent_pixels_are_blended_on_white():
    la = Image.fromarray(np.dstack([np.zeros((4, 4), np.uint8), np.full((4, 4), 128, np.uint8)]))
    assert la.mode == "LA"
    assert np.allclose(np.asarray(to_rgb(la)), 127, atol=1)


def test_palette_png_with_transparency_gets_the_white_background(tmp_path, rng):
    palette = Image.fromarray(textured(rng, 96, 96)).quantize(16)
    palette.info["transparency"] = 0
    path = write(tmp_path, "p.png", encode(palette, "PNG", transparency=0))
    pixels = np.asarray(decode_image(path, **CHECKS).rgb)
    transparent = np.asarray(palette) == 0
    assert transparent.any() and (pixels[transparent] == 255).all()


def test_exif_orientation_is_applied(tmp_path, rng):
    stored = textured(rng, 120, 80).astype(np.int16)  # wide as stored
    stored[:, :60] -= 90
    stored[:, 60:] += 90
    stored = np.clip(stored, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    img = decode_image(write(tmp_path, "r.jpg", encode(stored, exif=exif.tobytes())), **CHECKS)
    assert (img.width, img.height) == (80, 120)  # tall once oriented
    grey = np.asarray(img.rgb.convert("L"), dtype=float)
    # The stored left (dark) half is the displayed top.
    assert grey[:60].mean() < grey[60:].mean() - 100
    assert abs(grey[:, :40].mean() - grey[:, 40:].mean()) < 20


def test_cmyk_jpeg_keeps_its_colours(tmp_path, rng):
    rgb = textured(rng, 100, 80)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    img = decode_image(write(tmp_path, "c.jpg", encode(cmyk, quality=95)), **CHECKS)
    assert img.format == "JPEG"
    diff = np.abs(np.asarray(img.rgb, dtype=float) - rgb)
    assert diff.mean() < 8, "CMYK decoded to the wrong (e.g. inverted) colours"


def test_greyscale_jpeg_becomes_three_equal_channels(tmp_path, rng):
    grey = Image.fromarray(textured(rng, 100, 80)[..., 0], "L")
    pixels = np.asarray(decode_image(write(tmp_path, "g.jpg", encode(grey)), **CHECKS).rgb)
    assert pixels.shape == (80, 100, 3)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_16bit_greyscale_is_scaled_not_clipped(tmp_path, rng):
    values = textured(rng, 100, 80)[..., 1].astype(np.uint16) * 200 + 3000  # 3000..54000
    png = encode(Image.fromarray(values), "PNG")
    with Image.open(write(tmp_path, "g16.png", png)) as im:
        assert im.mode.startswith("I")  # really 16-bit on disk
    pixels = np.asarray(decode_image(tmp_path / "g16.png", **CHECKS).rgb)
    assert pixels.min() == 0 and pixels.max() == 255  # stretched, not saturated white
    expected = 255 * (values.astype(float) - values.min()) / np.ptp(values)
    assert np.abs(pixels[..., 0] - expected).max() <= 1


def test_float_image_is_scaled():
    ramp = Image.fromarray(np.tile(np.linspace(-1, 1, 50, dtype=np.float32), (10, 1)), "F")
    pixels = np.asarray(to_rgb(ramp))
    assert pixels[0, 0, 0] == 0 and pixels[0, -1, 0] == 255


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d[: len(d) // 2], "not a decodable image (JPEG: image file is truncated"),
        (lambda d: b"just some text\n", "not a decodable image (unknown format)"),
        (lambda d: b"", "not a decodable image (unknown format)"),
        (lambda d: encode(np.zeros((1, 1, 3), np.uint8)), "too small: 1x1"),
        (lambda d: encode(np.zeros((40, 300, 3), np.uint8)), "too small: 300x40"),
        (lambda d: encode(np.full((90, 90, 3), 77, np.uint8)), "near-constant: grey std"),
    ],
    ids=["truncated", "text", "empty", "1x1", "thin", "constant"],
)
def test_bad_files_are_rejected_with_a_one_line_reason(tmp_path, rng, make, reason):
    data = make(encode(textured(rng, 120, 100)))
    with pytest.raises(RejectedImage) as info:
        decode_image(write(tmp_path, "bad.jpg", data), **CHECKS)
    assert str(info.value).startswith(reason)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (png_header_only(100_000, 100_000), "decompression-bomb guard"),
        (jpeg_header_only(60_000, 60_000), "decompression-bomb guard"),
        (
            png_header_only(7000, 7000),
            "header claims 7000x7000 pixels, over data.max_pixels=40000000",
        ),
        (jpeg_header_only(8000, 6000), "header claims 8000x6000 pixels"),
    ],
    ids=["png-1e10", "jpeg-3.6e9", "png-49M", "jpeg-48M"],
)
def test_decompression_bomb_rejected_from_the_header_alone(tmp_path, monkeypatch, header, reason):
    def no_pixels(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    # Any attempt to decode (allocate) the pixels fails the test.
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_pixels)
    with pytest.raises(RejectedImage, match="decompression-bomb guard") as info:
        decode_image(write(tmp_path, "bomb.png", header), **CHECKS)
    assert reason in str(info.value)


def test_max_pixels_is_the_configured_limit(tmp_path, rng):
    path = write(tmp_path, "a.jpg", encode(textured(rng, 100, 100)))
    decode_image(path, max_pixels=10_000, min_side=64, min_std=5.0)
    with pytest.raises(RejectedImage, match="over data.max_pixels=9999"):
        decode_image(path, max_pixels=9_999, min_side=64, min_std=5.0)


def test_pillow_limit_applies_when_max_pixels_is_larger(tmp_path, rng, monkeypatch):
    path = write(tmp_path, "a.png", encode(textured(rng, 100, 100), "PNG"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 9_000)  # Pillow warns above, raises at 2x
    limit = "over Pillow's limit=9000 \\(decompression-bomb"
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(RejectedImage, match=limit):
        decode_image(path, max_pixels=10**9, min_side=64, min_std=5.0)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4_000)
    with pytest.raises(RejectedImage, match="decompression-bomb guard: Image size"):
        decode_image(path, max_pixels=10**9, min_side=64, min_std=5.0)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_corrupted_bytes_never_escape_as_other_exceptions(tmp_path, fmt):
    """Flip bytes all over valid files: every outcome is a decode or a RejectedImage."""
    rng = np.random.default_rng(3)
    data = bytearray(encode(textured(rng, 96, 80), fmt))
    outcomes = set()
    for k in range(25):
        bad = bytearray(data)
        for pos in rng.integers(0, len(bad), size=1 + k % 4):
            bad[pos] ^= int(rng.integers(1, 256))
        path = write(tmp_path, f"c{k}.jpg", bytes(bad))
        try:
            decode_image(path, **CHECKS)
            outcomes.add("decoded")
        except RejectedImage as err:
            assert "\n" not in str(err)
            outcomes.add("rejected")
    assert "rejected" in outcomes


def test_square_resize_shape_dtype_and_centre_crop(rng):
    wide = np.zeros((60, 180, 3), np.uint8)
    wide[:, :60] = (255, 0, 0)  # red left third is cropped away
    wide[:, 60:120] = textured(rng, 60, 60)
    wide[:, 120:] = (0, 0, 255)  # blue right third too
    out = square_resize(Image.fromarray(wide), 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    expected = square_resize(Image.fromarray(wide[:, 60:120]), 32)
    assert np.abs(out.astype(int) - expected).mean() < 3
    assert square_resize(Image.fromarray(textured(rng, 70, 300)), 17).shape == (17, 17, 3)


def test_hashes_and_layout(rng):
    image = Image.fromarray(textured(rng, 120, 100))
    bits = perceptual_hash(image, 8)
    assert bits.shape == (64,) and bits.dtype == bool
    assert perceptual_hash(image, 4).shape == (16,)
    # A resized, re-encoded copy keeps (almost) the same hash; another photo does not.
    copy = Image.fromarray(np.asarray(image.resize((100, 84))))
    other = Image.fromarray(textured(rng, 120, 100))
    assert (bits != perceptual_hash(copy, 8)).sum() <= 4
    assert (bits != perceptual_hash(other, 8)).sum() > 10
    layout = colour_layout(image)
    assert layout.shape == (192,) and layout.dtype == np.float32

"""Shared fixtures: a small generated raw collection shaped like ``../shared/foxdog-raw``.

The collection is built once per session from Pillow images with real texture
(a smooth random colour field plus mid-frequency detail and noise), so no two
are near-constant or near-duplicates by accident, and it carries one file for
each hazard curation must survive. The real collection is never used.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from foxdog.config import DataConfig

SOURCES_HEADER = [
    "relative_path",
    "label",
    "source",
    "source_repo",
    "source_path",
    "source_commit",
    "source_sha256",
    "sha256",
    "width",
    "height",
    "bytes",
    "breed_or_species",
    "note",
]


# --- generated pictures -------------------------------------------------------------


def _upsample(field_: np.ndarray, width: int, height: int) -> np.ndarray:
    image = Image.fromarray(np.clip(field_, 0, 255).astype(np.uint8))
    return np.asarray(image.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float64)


def textured(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A photo-like uint8 RGB array: random colour layout, mid-frequency detail, noise."""
    base = _upsample(rng.integers(0, 256, (4, 4, 3)), width, height)
    detail = _upsample(rng.normal(128, 25, (12, 12, 3)), width, height) - 128
    return np.clip(base + detail + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)


def burst_pair(rng: np.random.Generator, width: int, height: int) -> list[np.ndarray]:
    """Two shots of 'one scene': same colour layout, different detail (unlike phashes)."""
    base = _upsample(rng.integers(0, 256, (4, 4, 3)), width, height)
    shots = []
    for _ in range(2):
        detail = _upsample(rng.normal(128, 25, (8, 8, 3)), width, height) - 128
        noise = rng.normal(0, 12, (height, width, 3))
        shots.append(np.clip(base + detail + noise, 0, 255).astype(np.uint8))
    return shots


def encode(array: np.ndarray | Image.Image, fmt: str = "JPEG", **kwargs: object) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buf = io.BytesIO()
    if fmt == "JPEG":
        kwargs.setdefault("quality", 92)
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR claiming ``width`` x ``height``, and no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg_header_only(width: int, height: int) -> bytes:
    """SOI + a baseline SOF0 frame header claiming ``width`` x ``height`` + SOS + EOI."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    sos = b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    return (
        b"\xff\xd8"
        + b"\xff\xc0"
        + struct.pack(">H", len(sof) + 2)
        + sof
        + b"\xff\xda"
        + struct.pack(">H", len(sos) + 2)
        + sos
        + b"\xff\xd9"
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the collection ------------------------------------------------------------------


@dataclass
class RawCollection:
    """A generated raw folder and what curation is expected to decide about it."""

    root: Path
    outside: Path  # a folder beside the raw one (target of a symlink)
    drops: dict[str, str] = field(default_factory=dict)  # path -> expected reason (substring)
    special: dict[str, str] = field(default_factory=dict)  # role -> path
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # path -> written RGB pixels
    missing: list[str] = field(default_factory=list)  # SOURCES rows without a file
    empty_folders: list[str] = field(default_factory=list)
    snapshot: dict[str, object] = field(default_factory=dict)

    def config(self, out_dir: Path, **overrides: object) -> DataConfig:
        return DataConfig(raw_dir=str(self.root), out_dir=str(out_dir), **overrides)


def snapshot_tree(*roots: Path) -> dict[str, object]:
    """Every folder, file and link under ``roots``: content hash, mode and mtime."""
    state: dict[str, object] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in sorted(dirnames + filenames):
                path = Path(dirpath) / name
                st = path.lstat()
                if path.is_symlink():
                    state[str(path)] = ("link", os.readlink(path))
                elif path.is_dir():
                    state[str(path)] = ("dir", st.st_mode)
                else:
                    digest = sha256_bytes(path.read_bytes())
                    state[str(path)] = ("file", digest, st.st_mode, st.st_mtime_ns)
    return state


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: list[dict[str, object]] = []

    def write(
        self,
        rel: str,
        data: bytes,
        *,
        listed: bool = True,
        breed: str = "",
        sha: str | None = None,
        label: str | None = None,
    ) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if listed:
            self.row(rel, data, breed=breed, sha=sha, label=label)
        return rel

    def row(
        self,
        rel: str,
        data: bytes,
        *,
        breed: str = "",
        sha: str | None = None,
        label: str | None = None,
    ) -> None:
        parts = rel.split("/")
        width = height = ""
        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
        except Exception:  # the broken files: size unknown, as for any bad row
            pass
        self.rows.append(
            {
                "relative_path": rel,
                "label": label or parts[0],
                "source": parts[1],
                "source_repo": "example/fake-photos",
                "source_path": "/".join(parts[2:]),
                "source_commit": "0" * 40,
                "source_sha256": sha256_bytes(data),
                "sha256": sha or sha256_bytes(data),
                "width": width,
                "height": height,
                "bytes": len(data),
                "breed_or_species": breed or ("red fox" if parts[0] == "fox" else ""),
                "note": "",
            }
        )

    def write_sources(self) -> None:
        with open(self.root / "SOURCES.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=SOURCES_HEADER, lineterminator="\n")
            writer.writeheader()
            writer.writerows(sorted(self.rows, key=lambda r: str(r["relative_path"])))


def _size(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(80, 140)), int(rng.integers(72, 130))


def build_plain_collection(
    root: Path, counts: dict[str, int], seed: int = 0
) -> tuple[RawCollection, _Writer]:
    """Clean textured photos only: ``counts`` maps ``label/source[/breed]`` to a number."""
    rng = np.random.default_rng(seed)
    collection = RawCollection(root=root, outside=root.parent / f"{root.name}-outside")
    writer = _Writer(root)
    for folder, n in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        breed = folder.split("/")[2] if folder.count("/") >= 2 else ""
        for i in range(n):
            # Consecutive numbers, as in the real sources: the burst rule must not link
            # them (their colour layouts differ).
            rel = f"{folder}/{folder.split('/')[-1]}_{1000 + i}.jpg"
            array = textured(rng, *_size(rng))
            writer.write(rel, encode(array), breed=breed)
            collection.arrays[rel] = array
    return collection, writer


def build_raw_collection(root: Path) -> RawCollection:
    """The session collection: clean photos plus every hazard of the issue."""
    counts = {
        "fox/randomfox_ca": 16,
        "fox/awa2_begert": 16,
        "dog/awa2_begert/collie": 14,
        "dog/imagewoof2_320/beagle": 10,
        "dog/imagewoof2_320/samoyed": 8,
        "dog/imagewoof2_320/dingo": 2,
    }
    raw, w = build_plain_collection(root, counts, seed=1)
    rng = np.random.default_rng(2)
    fox = "fox/randomfox_ca"
    special, drops = raw.special, raw.drops

    # Bad input, each with the reason it must be dropped for.
    good_jpeg = encode(textured(rng, 120, 100))
    drops[w.write(f"{fox}/truncated.jpg", good_jpeg[: len(good_jpeg) // 2])] = (
        "not a decodable image (JPEG: image file is truncated"
    )
    drops[w.write(f"{fox}/notes.jpg", b"fox photos to add later\n")] = (
        "not a decodable image (unknown format)"
    )
    drops[w.write(f"{fox}/tiny.jpg", encode(np.full((1, 1, 3), 200, np.uint8)))] = "too small: 1x1"
    drops[w.write(f"{fox}/bomb.png", png_header_only(100_000, 100_000))] = (
        "decompression-bomb guard"
    )
    drops[w.write(f"{fox}/bomb_sof.jpg", jpeg_header_only(60_000, 60_000))] = (
        "decompression-bomb guard"
    )
    drops[w.write(f"{fox}/big_header.png", png_header_only(7000, 7000))] = (
        "header claims 7000x7000 pixels, over data.max_pixels=40000000 (decompression-bomb guard)"
    )
    flat = np.clip(128 + rng.normal(0, 1, (100, 120, 3)), 0, 255).astype(np.uint8)
    drops[w.write(f"{fox}/flat.jpg", encode(flat))] = "near-constant"
    drops[w.write(f"{fox}/unlisted.jpg", encode(textured(rng, 100, 90)), listed=False)] = (
        "not listed in SOURCES.csv"
    )
    drops[w.write(f"{fox}/edited.jpg", encode(textured(rng, 100, 90)), sha="ab" * 32)] = (
        "content differs from SOURCES.csv"
    )
    drops[
        w.write(
            "dog/awa2_begert/collie/mislabelled.jpg",
            encode(textured(rng, 100, 90)),
            breed="collie",
            label="fox",
        )
    ] = "SOURCES.csv labels it 'fox' but it is in dog/"

    # A link out of the raw folder (its target is a perfectly good photo).
    raw.outside.mkdir(parents=True, exist_ok=True)
    target = raw.outside / "elsewhere.jpg"
    target.write_bytes(encode(textured(rng, 100, 90)))
    (root / fox / "outside_link.jpg").symlink_to(target)
    w.row(f"{fox}/outside_link.jpg", target.read_bytes())
    drops[f"{fox}/outside_link.jpg"] = "symlink points outside the raw folder"

    # Kept oddities: alpha, EXIF rotation, format behind a .jpg name, CMYK, greyscale.
    alpha = np.zeros((96, 96, 4), np.uint8)
    alpha[:, :48, :3] = textured(rng, 48, 96)
    alpha[:, :48, 3] = 255  # right half: fully transparent black
    special["alpha"] = w.write(f"{fox}/alpha.png", encode(alpha, "PNG"))
    raw.arrays[special["alpha"]] = alpha

    stored = textured(rng, 128, 96).astype(np.int16)  # stored wide: 128 x 96
    stored[:, :64] -= 90  # dark left half ...
    stored[:, 64:] += 90  # ... bright right half
    stored = np.clip(stored, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    special["rotated"] = w.write(f"{fox}/rotated.jpg", encode(stored, exif=exif.tobytes()))
    raw.arrays[special["rotated"]] = stored

    special["webp_named_jpg"] = w.write(
        f"{fox}/webp_named.jpg", encode(textured(rng, 110, 96), "WEBP", quality=90)
    )
    special["png_named_jpg"] = w.write(
        f"{fox}/png_named.jpg", encode(textured(rng, 96, 110), "PNG")
    )

    cmyk = textured(rng, 112, 96)
    special["cmyk"] = w.write(
        "fox/awa2_begert/cmyk.jpg", encode(Image.fromarray(cmyk).convert("CMYK"), quality=95)
    )
    raw.arrays[special["cmyk"]] = cmyk

    grey = textured(rng, 100, 96)[..., 0]
    special["grey"] = w.write(
        "dog/imagewoof2_320/beagle/grey.jpg", encode(Image.fromarray(grey, "L")), breed="beagle"
    )
    grey16 = (textured(rng, 100, 96)[..., 1].astype(np.uint16) * 200 + 3000).astype(np.uint16)
    special["grey16"] = w.write(
        "dog/awa2_begert/collie/grey16.png", encode(Image.fromarray(grey16), "PNG"), breed="collie"
    )
    raw.arrays[special["grey16"]] = grey16

    # Near-duplicates within a label (second copy resized and re-encoded) ...
    original = textured(rng, 120, 100)
    copy = np.asarray(Image.fromarray(original).resize((110, 92), Image.Resampling.LANCZOS))
    special["dup_kept"] = w.write(f"{fox}/dup_a.jpg", encode(original))
    special["dup_dropped"] = w.write(f"{fox}/dup_b.jpg", encode(copy, quality=70))
    drops[special["dup_dropped"]] = f"near-duplicate of {special['dup_kept']}"
    # ... and across labels: a label conflict, both excluded.
    original = textured(rng, 120, 100)
    copy = np.asarray(Image.fromarray(original).resize((112, 94), Image.Resampling.LANCZOS))
    special["conflict_fox"] = w.write(f"{fox}/lookalike.jpg", encode(original))
    special["conflict_dog"] = w.write(
        "dog/imagewoof2_320/dingo/lookalike_copy.jpg", encode(copy, quality=75), breed="dingo"
    )
    drops[special["conflict_fox"]] = (
        f"label conflict: near-duplicate group also holds {special['conflict_dog']}"
    )
    drops[special["conflict_dog"]] = (
        f"label conflict: near-duplicate group also holds {special['conflict_fox']}"
    )

    # A burst pair: consecutive numbers, similar colour layout, unrelated phashes.
    first, second = burst_pair(rng, 120, 100)
    special["burst_a"] = w.write(f"{fox}/pr3__155.jpg", encode(first))
    special["burst_b"] = w.write(f"{fox}/pr3__156.jpg", encode(second))

    # A SOURCES row without its file, and an empty breed folder.
    raw.missing.append("dog/awa2_begert/collie/gone.jpg")
    w.row(raw.missing[0], encode(textured(rng, 90, 90)), breed="collie")
    (root / "dog/imagewoof2_320/empty_breed").mkdir(parents=True)
    raw.empty_folders.append("dog/imagewoof2_320/empty_breed")

    w.write_sources()
    raw.snapshot = snapshot_tree(root, raw.outside)
    return raw


@pytest.fixture(scope="session")
def raw_collection(tmp_path_factory: pytest.TempPathFactory) -> RawCollection:
    """The generated raw collection with every hazard (read-only: do not modify it)."""
    return build_raw_collection(tmp_path_factory.mktemp("collection") / "raw")


@pytest.fixture
def make_raw(tmp_path: Path) -> Callable[..., RawCollection]:
    """Factory for small clean collections a test may modify: ``make_raw(counts, seed)``."""

    def make(counts: dict[str, int] | None = None, seed: int = 0) -> RawCollection:
        counts = counts or {"fox/src_a": 10, "fox/src_b": 5, "dog/src_c/breed": 15}
        collection, writer = build_plain_collection(tmp_path / "raw", counts, seed)
        writer.write_sources()
        collection.snapshot = snapshot_tree(collection.root)
        return collection

    return make


@dataclass
class CurationRun:
    raw: RawCollection
    cfg: DataConfig
    out_dir: Path
    result: object  # foxdog.data.curate.Curated
    manifest: pd.DataFrame
    datasheet: dict[str, object]


@pytest.fixture(scope="session")
def curated(raw_collection: RawCollection, tmp_path_factory: pytest.TempPathFactory) -> CurationRun:
    """One serial curation run of the session collection, written to a temp folder."""
    from foxdog.data.curate import curate, write_curated

    out_dir = tmp_path_factory.mktemp("curated")
    cfg = raw_collection.config(out_dir)
    result = curate(raw_collection.root, cfg, workers=1)
    write_curated(result, raw_collection.root, out_dir, cfg)
    return CurationRun(
        raw=raw_collection,
        cfg=cfg,
        out_dir=out_dir,
        result=result,
        manifest=pd.read_csv(out_dir / "manifest.csv", dtype={"id": str}),
        datasheet=json.loads((out_dir / "datasheet.json").read_text(encoding="utf-8")),
    )

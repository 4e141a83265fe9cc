"""Tests for foxdog/data/index.py and ``foxdog data index`` on generated image folders."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import encode, png_header_only, textured
from PIL import Image

from foxdog.cli import main
from foxdog.config import params_with, to_dict
from foxdog.data.index import (
    IMAGE_SUFFIXES,
    index_collection,
    read_header,
    source_at_level,
)
from foxdog.data.sources import INDEX_COLUMNS, read_sources

# relative path -> (encoder format, stored width, stored height)
IMAGES = {
    "dog/kennel_a/d_1.jpg": ("JPEG", 40, 30),
    "dog/kennel_a/d_2.png": ("PNG", 24, 36),
    "dog/kennel_b/2024/d_3.jpg": ("JPEG", 33, 21),
    "fox/site_c/f_1.jpg": ("JPEG", 28, 28),
    "fox/site_c/f_2.jpg": ("PNG", 30, 20),  # PNG bytes under a .jpg name
    "fox/f_direct.JPEG": ("JPEG", 26, 22),  # no sub-folder: source "unknown"
    "wolf/pack_d/w_1.png": ("PNG", 20, 40),
}
ROTATED = "dog/kennel_b/2024/rotated.jpg"  # stored 40 x 24, EXIF orientation 6
LEFT_OUT = ["dog/kennel_a/.hidden.jpg", "dog/.cache/d_9.jpg", "fox/site_c/notes.txt"]


def write_folder(root: Path, order: list[str] | None = None, seed: int = 0) -> Path:
    """The 3-class test folder; ``order`` is the creation order of the images."""
    rng = np.random.default_rng(seed)
    pictures = {rel: textured(rng, w, h) for rel, (_, w, h) in IMAGES.items()}
    for rel in order or list(IMAGES):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(encode(pictures[rel], IMAGES[rel][0]))
    exif = Image.Exif()
    exif[0x0112] = 6
    (root / ROTATED).write_bytes(encode(textured(rng, 40, 24), exif=exif.tobytes()))
    for rel in LEFT_OUT:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(encode(textured(rng, 20, 20)))
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def index_cli(*args: object) -> int:
    return main(["data", "index", *map(str, args)])


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("foxdog: ") and "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "photos")


# --- what the CSV says ------------------------------------------------------------------


def test_one_row_per_image_with_hash_size_and_header_facts(folder, capsys):
    assert index_cli(folder) == 0
    rows = read_rows(folder / "SOURCES.csv")
    assert list(rows[0]) == list(INDEX_COLUMNS)
    expected = sorted([*IMAGES, ROTATED])
    assert [r["relative_path"] for r in rows] == expected  # sorted; hidden/.txt left out
    for row in rows:
        path = folder / row["relative_path"]
        data = path.read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert int(row["bytes"]) == len(data)
        assert row["label"] == row["relative_path"].split("/")[0]
        with Image.open(path) as im:
            assert row["format"] == im.format
            if row["relative_path"] != ROTATED:
                assert (int(row["width"]), int(row["height"])) == im.size
    by_path = {r["relative_path"]: r for r in rows}
    assert by_path["fox/site_c/f_2.jpg"]["format"] == "PNG"  # by content, not by name
    # As displayed, like curate's manifest: the stored 40 x 24 photo stands upright.
    assert (by_path[ROTATED]["width"], by_path[ROTATED]["height"]) == ("24", "40")
    out = capsys.readouterr()
    assert out.out.strip() == (
        f"indexed 8 images (4 dog, 3 fox, 1 wolf) -> {folder / 'SOURCES.csv'}"
    )
    err = out.err.strip().splitlines()
    assert err[0] == (
        "foxdog: warning: 1 files without an image suffix left out (e.g. fox/site_c/notes.txt)"
    )
    # These test images are all below the data.min_side of ./params.yaml: one line each.
    assert err[1:] == [
        f"foxdog: warning: {r['relative_path']}: {r['width']}x{r['height']}, shorter side "
        "below data.min_side=64 — curate drops it"
        for r in rows
    ]


def test_index_warns_about_a_photo_in_two_classes_a_tiny_one_and_transparency(tmp_path, capsys):
    rng = np.random.default_rng(5)
    root = tmp_path / "photos"
    same = encode(textured(rng, 120, 90))
    rgba = np.dstack([textured(rng, 100, 100), np.full((100, 100), 128, np.uint8)])
    files = {
        "cat/a.jpg": same,
        "dog/copy of a.jpg": same,  # the same photo in both classes
        "dog/tiny.jpg": encode(textured(rng, 20, 20)),
        "cat/logo.png": encode(Image.fromarray(rgba, "RGBA"), "PNG"),
        "cat/b.jpg": encode(textured(rng, 100, 80)),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(to_dict(params_with({"data": {"min_side": 64}}))))
    assert index_cli(root, "--params", params) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "foxdog: warning: cat/a.jpg and dog/copy of a.jpg: the same photo in 2 classes — "
        "curate drops every copy (label conflict)",
        "foxdog: warning: dog/tiny.jpg: 20x20, shorter side below data.min_side=64 — "
        "curate drops it",
        "foxdog: note: cat/logo.png: has transparency — curate flattens it onto white",
    ]


def test_curate_read_sources_accepts_the_written_file(folder):
    assert index_cli(folder) == 0
    sources = read_sources(folder)
    assert sorted(sources) == sorted([*IMAGES, ROTATED])
    for rel, row in sources.items():
        assert row["label"] == rel.split("/")[0]
        assert row["breed_or_species"] == ""
        assert len(row["sha256"]) == 64


def test_source_is_the_folder_at_the_subgroup_level(folder):
    level1 = {e.relative_path: e.source for e in index_collection(folder).entries}
    assert level1["dog/kennel_b/2024/d_3.jpg"] == "kennel_b"
    assert level1["fox/f_direct.JPEG"] == "unknown"
    level2 = {e.relative_path: e.source for e in index_collection(folder, subgroup_level=2).entries}
    assert level2["dog/kennel_b/2024/d_3.jpg"] == "2024"
    assert level2["dog/kennel_a/d_1.jpg"] == "unknown"
    assert source_at_level("fox/a/b/c.jpg", 3) == "unknown"


def test_subgroups_csv_names_each_source(folder, tmp_path):
    mapping = tmp_path / "groups.csv"
    paths = sorted([*IMAGES, ROTATED])
    pd.DataFrame({"relative_path": paths, "source": [f"cam{i % 2}" for i in range(8)]}).to_csv(
        mapping, index=False
    )
    assert index_cli(folder, "--subgroups", mapping) == 0
    rows = read_rows(folder / "SOURCES.csv")
    assert [r["source"] for r in rows] == [f"cam{i % 2}" for i in range(8)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("relative_path,src\n", "missing column 'source'"),
        ("relative_path,source\ndog/kennel_a/d_1.jpg,a\n", "has no source (7 indexed images"),
        (None, "dog/nope.jpg is not an image in the folder (1 rows name no indexed file)"),
        (None, "line 10: dog/kennel_a/d_1.jpg is listed twice"),
        ("relative_path,source\ndog/kennel_a/d_1.jpg,\n", "line 2: relative_path and source"),
    ],
)
def test_bad_subgroups_csv_is_one_line(folder, tmp_path, capsys, rows, message):
    if rows is None:
        extra = "dog/nope.jpg,x" if "nope" in message else "dog/kennel_a/d_1.jpg,y"
        rows = "relative_path,source\n" + "".join(f"{p},g\n" for p in sorted([*IMAGES, ROTATED]))
        rows += extra + "\n"
    mapping = tmp_path / "groups.csv"
    mapping.write_text(rows, encoding="utf-8")
    assert index_cli(folder, "--subgroups", mapping) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert not (folder / "SOURCES.csv").exists()


def test_header_is_read_without_decoding_pixels(tmp_path):
    whole = encode(textured(np.random.default_rng(3), 160, 120))
    truncated = tmp_path / "t.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])
    assert read_header(truncated) == ("JPEG", 160, 120)
    with Image.open(truncated) as im, pytest.raises(OSError, match="truncated"):
        im.load()  # the pixels are not there: curate's decode drops the file


def test_huge_headers_are_indexed_or_skipped_without_a_python_warning(folder, recwarn):
    # 10^8 pixels: over Pillow's warning limit, indexed (curate's max_pixels drops it);
    # 10^10: Pillow refuses to open it, so it is skipped with Pillow's reason.
    (folder / "fox" / "big.png").write_bytes(png_header_only(10_000, 10_000))
    (folder / "fox" / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    index = index_collection(folder)
    by_path = {e.relative_path: e for e in index.entries}
    assert (by_path["fox/big.png"].width, by_path["fox/big.png"].height) == (10_000, 10_000)
    assert "fox/bomb.png" not in by_path
    assert index.skipped[0][0] == "fox/bomb.png"
    assert index.skipped[0][1].startswith("header refused by Pillow (Image size (10000000000")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


# --- determinism -------------------------------------------------------------------------


def test_same_files_give_the_same_bytes_whatever_the_order_and_workers(tmp_path):
    a = write_folder(tmp_path / "a")
    b = write_folder(tmp_path / "b", order=sorted(IMAGES, reverse=True))
    assert index_cli(a, "--workers", 1) == 0
    assert index_cli(b, "--workers", 4) == 0
    first = (a / "SOURCES.csv").read_bytes()
    assert first == (b / "SOURCES.csv").read_bytes()
    assert index_cli(a, "--force", "--workers", 3) == 0
    assert (a / "SOURCES.csv").read_bytes() == first


# --- curation runs on an indexed folder ----------------------------------------------------


def test_foxdog_curate_runs_on_an_indexed_folder(tmp_path, capsys):
    root = tmp_path / "mine"
    rng = np.random.default_rng(5)
    layout = {"fox/site_a": 6, "fox/site_b": 6, "dog/site_c": 12, "wolf/site_d": 2}
    for folder, n in layout.items():
        (root / folder).mkdir(parents=True)
        for i in range(n):
            fmt = "PNG" if i % 3 == 0 else "JPEG"
            array = textured(rng, 72 + i, 68)
            (root / folder / f"img_{i}.{fmt.lower()}").write_bytes(encode(array, fmt))
    whole = encode(textured(rng, 80, 70))
    (root / "fox/site_a/cut.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "dog/site_c/broken.jpg").write_bytes(b"not a photo\n")
    assert index_cli(root, "--out", root / "SOURCES.csv") == 0
    err = capsys.readouterr().err
    assert "dog/site_c/broken.jpg: not a readable image header" in err

    params = params_with(
        {
            "data": {
                "raw_dir": str(root),
                "out_dir": str(tmp_path / "curated"),
                "test_fraction": 0.25,
                "val_fraction": 0.25,
            }
        }
    )
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(to_dict(params)), encoding="utf-8")
    assert main(["curate", "--params", str(params_file)]) == 0
    # data.classes is [dog, fox]: the wolf folder is ignored, with one warning.
    assert capsys.readouterr().err.splitlines() == [
        f"foxdog: warning: {root / 'wolf'}: folder not in data.classes (dog, fox) — ignored"
    ]
    manifest = pd.read_csv(tmp_path / "curated" / "manifest.csv")
    indexed = {r["relative_path"]: r for r in read_rows(root / "SOURCES.csv")}
    # Every fox and dog photo with readable pixels is kept.
    expected = {p for p in indexed if p.split("/")[0] in ("fox", "dog")} - {"fox/site_a/cut.jpg"}
    assert set(manifest["path"]) == expected
    for row in manifest.itertuples():
        assert row.id == indexed[row.path]["sha256"][:16]
        assert (row.width, row.height) == (
            int(indexed[row.path]["width"]),
            int(indexed[row.path]["height"]),
        )
    assert set(manifest["split"]) == {"pool", "val", "test"}
    dropped = pd.read_json(tmp_path / "curated" / "datasheet.json", typ="series")["dropped"]
    reasons = {d["path"]: d["reason"] for d in dropped}
    assert reasons["fox/site_a/cut.jpg"].startswith("not a decodable image")
    # Unlisted by the index, and dropped by curate with its own decode reason.
    assert reasons["dog/site_c/broken.jpg"] == "not a decodable image (unknown format)"


# --- refusals: one line, nothing written ---------------------------------------------------


def test_missing_folder_is_one_line(tmp_path, capsys):
    assert index_cli(tmp_path / "none") == 2
    assert (
        one_error_line(capsys.readouterr().err) == f"foxdog: {tmp_path / 'none'}: folder not found"
    )


def test_fewer_than_two_class_folders_is_one_line(folder, capsys):
    target = folder / "fox"
    assert index_cli(target, "--out", folder.parent / "s.csv") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        f"foxdog: {target}: 1 class folder (site_c) found; need at least 2 "
        "(layout DIR/<class>/**/<image>)"
    )
    assert not (folder.parent / "s.csv").exists()


def test_class_without_images_is_one_line_naming_it(folder, capsys):
    (folder / "cat" / "sub").mkdir(parents=True)
    (folder / "cat" / "sub" / "readme.txt").write_text("no photos yet", encoding="utf-8")
    (folder / "cat" / ".hidden.jpg").write_bytes((folder / "dog/kennel_a/d_1.jpg").read_bytes())
    assert index_cli(folder) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"foxdog: {folder / 'cat'}: no images in class folder (image suffixes: ")
    assert all(suffix in line for suffix in IMAGE_SUFFIXES)
    assert not (folder / "SOURCES.csv").exists()


def test_class_with_only_unreadable_images_is_one_line(folder, capsys):
    (folder / "cat").mkdir()
    (folder / "cat" / "a.png").write_bytes(b"\x89PNG but not really")
    assert index_cli(folder) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(
        f"foxdog: {folder / 'cat'}: no readable images in class folder (e.g. cat/a.png: "
        "not a readable image header"
    )


def test_unreadable_header_is_skipped_and_listed(folder, capsys):
    (folder / "fox" / "site_c" / "empty.jpg").write_bytes(b"")
    (folder / "fox" / "site_c" / "text.png").write_text("a note\n", encoding="utf-8")
    assert index_cli(folder) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "foxdog: warning: fox/site_c/empty.jpg: not a readable image header (unknown format)"
        " — skipped, not listed",
        "foxdog: warning: fox/site_c/text.png: not a readable image header (unknown format)"
        " — skipped, not listed",
    ]
    listed = {r["relative_path"] for r in read_rows(folder / "SOURCES.csv")}
    assert listed == set(IMAGES) | {ROTATED}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this system")
def test_symbolic_links_are_skipped_and_listed(folder, tmp_path, capsys):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((folder / "dog/kennel_a/d_1.jpg").read_bytes())
    (folder / "dog" / "kennel_a" / "link.jpg").symlink_to(outside)
    (folder / "fox" / "linked_dir").symlink_to(folder / "dog" / "kennel_a")
    assert index_cli(folder) == 0
    err = capsys.readouterr().err
    assert "dog/kennel_a/link.jpg: symbolic link: not followed" in err
    assert "fox/linked_dir: symbolic link: not followed" in err
    listed = {r["relative_path"] for r in read_rows(folder / "SOURCES.csv")}
    assert listed == set(IMAGES) | {ROTATED}


def test_existing_out_is_never_replaced_without_force(folder, capsys):
    out = folder / "SOURCES.csv"
    out.write_text("relative_path,label\nkeep,me\n", encoding="utf-8")
    assert index_cli(folder) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"foxdog: {out}: already exists (pass --force to replace it)"
    )
    assert out.read_text(encoding="utf-8") == "relative_path,label\nkeep,me\n"
    assert index_cli(folder, "--force") == 0
    assert len(read_rows(out)) == 8
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temp file


def test_bad_subgroup_level_is_one_line(folder, capsys):
    assert index_cli(folder, "--subgroup-level", 0) == 2
    assert one_error_line(capsys.readouterr().err) == "foxdog: --subgroup-level=0 must be >= 1"


def test_subgroup_level_and_subgroups_exclude_each_other(folder, capsys):
    with pytest.raises(SystemExit) as exc:
        index_cli(folder, "--subgroup-level", 2, "--subgroups", "g.csv")
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_real_command_line_refusal_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "only").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "foxdog.cli", "data", "index", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == (
        "foxdog: .: 1 class folder (only) found; need at least 2 (layout DIR/<class>/**/<image>)"
    )

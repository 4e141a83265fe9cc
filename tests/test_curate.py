"""Tests for foxdog/data/curate.py on a generated raw collection (see conftest.py).

The session collection carries one file per hazard of the raw data; each must
end with a specific, recorded outcome, and the raw folder must stay untouched.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import encode, snapshot_tree, textured
from PIL import Image

from foxdog.config import DataConfig
from foxdog.data.arrays import load_split
from foxdog.data.curate import curate, write_curated
from foxdog.data.datasheet import datasheet
from foxdog.data.dedup import BURST_LAYOUT_DISTANCE, group_near_duplicates, hamming_matrix
from foxdog.data.images import colour_layout, perceptual_hash, square_resize
from foxdog.data.split import split_by_group
from foxdog.errors import CurationError

MANIFEST_COLUMNS = "id,label,label_name,source,breed,split,group,path,width,height,format"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def curated_pixels(run, rel: str) -> np.ndarray:
    """The curated array of the raw file ``rel``."""
    row = run.manifest.set_index("path").loc[rel]
    split = load_split(run.out_dir, row["split"])
    (index,) = np.flatnonzero(split.ids == row["id"])
    return split.images[index]


# --- every hazard gets its outcome ------------------------------------------------------


def test_every_bad_file_is_dropped_with_its_reason(curated):
    dropped = {d["path"]: d["reason"] for d in curated.datasheet["dropped"]}
    assert set(dropped) == set(curated.raw.drops)
    for path, reason in curated.raw.drops.items():
        assert dropped[path].startswith(reason), (path, dropped[path])
    assert not set(dropped) & set(curated.manifest["path"])


def test_dropped_entries_carry_label_and_source(curated):
    for entry in curated.datasheet["dropped"]:
        assert set(entry) == {"path", "label", "source", "reason"}
        label, source = entry["path"].split("/")[:2]
        assert (entry["label"], entry["source"]) == (label, source)


def test_everything_else_is_kept(curated):
    raw = curated.raw
    expected = set(raw.arrays) - set(raw.drops) | set(raw.special.values()) - set(raw.drops)
    assert set(curated.manifest["path"]) == expected


def test_raw_folder_is_not_modified(curated):
    assert snapshot_tree(curated.raw.root, curated.raw.outside) == curated.raw.snapshot


def test_transparent_area_is_white_in_the_curated_array(curated):
    pixels = curated_pixels(curated, curated.raw.special["alpha"]).astype(int)
    # Right half of the 96 px source was transparent black; Lanczos rings at the edge.
    assert (pixels[:, 18:] >= 250).all()
    assert pixels[:, :14].mean() < 200


def test_exif_rotated_photo_is_stored_upright(curated):
    rel = curated.raw.special["rotated"]
    row = curated.manifest.set_index("path").loc[rel]
    assert (row["width"], row["height"]) == (96, 128)  # stored 128 x 96 (wide)
    grey = curated_pixels(curated, rel).astype(float).mean(axis=2)
    assert grey[:16].mean() < grey[16:].mean() - 100  # stored left (dark) is the top
    assert abs(grey[:, :16].mean() - grey[:, 16:].mean()) < 25


def test_format_is_recorded_from_content(curated):
    formats = curated.manifest.set_index("path")["format"]
    assert formats[curated.raw.special["webp_named_jpg"]] == "WEBP"
    assert formats[curated.raw.special["png_named_jpg"]] == "PNG"
    assert formats[curated.raw.special["alpha"]] == "PNG"
    assert formats[curated.raw.special["cmyk"]] == "JPEG"


def test_cmyk_colours_survive(curated):
    rel = curated.raw.special["cmyk"]
    expected = square_resize(Image.fromarray(curated.raw.arrays[rel]), curated.cfg.image_size)
    assert np.abs(curated_pixels(curated, rel).astype(float) - expected).mean() < 8


@pytest.mark.parametrize("role", ["grey", "grey16"])
def test_greyscale_becomes_grey_rgb(curated, role):
    pixels = curated_pixels(curated, curated.raw.special[role]).astype(int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    assert 40 < pixels.mean() < 215 and pixels.std() > 20  # 16-bit not clipped to white


def test_near_duplicates_within_a_label_keep_one(curated):
    kept = set(curated.manifest["path"])
    assert curated.raw.special["dup_kept"] in kept
    assert curated.raw.special["dup_dropped"] not in kept


def test_label_conflict_excludes_both_and_is_reported(curated):
    fox, dog = curated.raw.special["conflict_fox"], curated.raw.special["conflict_dog"]
    conflicts = curated.datasheet["label_conflicts"]
    assert [sorted(c["paths"]) for c in conflicts] == [sorted([dog, fox])]
    assert isinstance(conflicts[0]["group"], int)
    assert not {fox, dog} & set(curated.manifest["path"])


def test_burst_pair_is_one_group_on_one_side(curated):
    raw = curated.raw
    a, b = raw.special["burst_a"], raw.special["burst_b"]
    images = [Image.open(raw.root / p).convert("RGB") for p in (a, b)]
    # Precondition: a burst, not a near-duplicate by hash.
    hashes = [perceptual_hash(im, curated.cfg.hash_size) for im in images]
    assert (hashes[0] != hashes[1]).sum() > curated.cfg.max_hash_distance
    layouts = [colour_layout(im) for im in images]
    assert np.sqrt(np.mean((layouts[0] - layouts[1]) ** 2)) <= BURST_LAYOUT_DISTANCE
    rows = curated.manifest.set_index("path").loc[[a, b]]
    assert rows["group"].nunique() == 1 and rows["split"].nunique() == 1


def test_unrelated_photos_are_not_grouped(curated):
    """Consecutively numbered, unrelated photos: only the burst pair shares a group."""
    sizes = curated.manifest.groupby("group").size()
    multi = curated.manifest[curated.manifest["group"].isin(sizes[sizes > 1].index)]
    assert sorted(multi["path"]) == sorted([curated.raw.special[r] for r in ("burst_a", "burst_b")])
    # Groups counted before dropping: the burst, the near-duplicate and the conflict pair.
    assert curated.datasheet["near_duplicate_groups"] == 3


def test_missing_files_and_empty_folders_are_reported(curated):
    assert curated.datasheet["missing_files"] == curated.raw.missing
    warnings = curated.datasheet["warnings"]
    assert warnings == [f"{curated.raw.root / f}: empty folder" for f in curated.raw.empty_folders]


# --- the split ---------------------------------------------------------------------------


def test_split_is_group_aware(curated):
    sides = curated.manifest.groupby("group")["split"].nunique()
    assert (sides == 1).all()


def test_split_is_stratified_by_label_and_source(curated):
    manifest = curated.manifest
    share = (manifest["split"] == "test").groupby([manifest["label"], manifest["source"]]).mean()
    assert len(share) == 4
    assert ((share - 0.2).abs() <= 0.1).all(), share
    assert abs((manifest["split"] == "test").mean() - 0.2) <= 0.05


def test_split_by_group_keeps_groups_and_proportions():
    rng = np.random.default_rng(0)
    strata = np.array(["fox/a"] * 300 + ["fox/b"] * 100 + ["dog/c"] * 400)
    groups = np.arange(800) // 3  # groups of three, never spanning strata
    rng.shuffle(groups)
    groups = np.sort(groups)
    test = split_by_group(strata, groups, 0.25, seed=1)
    for g in np.unique(groups):
        assert len(set(test[groups == g])) == 1
    for s in np.unique(strata):
        assert abs(test[strata == s].mean() - 0.25) < 0.03
    assert np.array_equal(test, split_by_group(strata, groups, 0.25, seed=1))
    assert not np.array_equal(test, split_by_group(strata, groups, 0.25, seed=2))


def test_split_by_group_refuses_too_few_groups():
    with pytest.raises(CurationError, match="only 3 independent image groups"):
        split_by_group(np.array(["a"] * 6), np.array([0, 0, 1, 1, 2, 2]), 0.2, 0)


def test_group_near_duplicates_links_hashes_and_bursts():
    hashes = np.zeros((4, 16), bool)
    hashes[1, :2] = True  # 2 bits from image 0: near-duplicate
    hashes[2, :8] = True  # 8 bits away: not
    hashes[3, 8:] = True
    layouts = np.zeros((4, 192), np.float32)
    layouts[3] = 100.0
    paths = ["f/a/x1.jpg", "f/b/y.jpg", "f/a/x3.jpg", "f/a/x4.jpg"]
    groups, dup = group_near_duplicates(hashes, layouts, paths, max_distance=2)
    # 0-1 near-duplicates; x1-x3 a burst (gap 2, same layout); x4 too far in layout.
    assert groups.tolist() == [0, 0, 0, 1]
    assert dup[0, 1] and dup[1, 0] and not dup[0, 2]
    assert hamming_matrix(hashes)[0].tolist() == [0, 2, 8, 8]


def test_val_split_comes_from_the_pool_by_group_and_stratum(curated):
    manifest = curated.manifest
    assert set(manifest["split"]) == {"pool", "val", "test"}
    not_test = manifest[manifest["split"] != "test"]
    # 1 / round(1 / 0.1) of the pool, up to group granularity.
    assert abs((not_test["split"] == "val").mean() - curated.cfg.val_fraction) <= 0.06
    per_label = not_test.groupby("label_name")["split"].apply(lambda s: (s == "val").sum())
    assert (per_label >= 1).all(), per_label
    # A burst or near-duplicate group is on one side only (pool, val or test).
    assert (manifest.groupby("group")["split"].nunique() == 1).all()
    by_split = curated.datasheet["counts"]["by_split"]
    assert (
        by_split["val"]
        == manifest[manifest["split"] == "val"]["label_name"].value_counts().to_dict()
    )
    assert curated.datasheet["params"]["val_fraction"] == curated.cfg.val_fraction


def test_val_split_keeps_the_test_split_and_follows_its_fraction(curated):
    cfg = curated.raw.config(curated.out_dir, val_fraction=0.25)
    result = curate(curated.raw.root, cfg, workers=1)
    before, after = curated.manifest, result.kept
    # Carving val never moves an image into or out of test.
    assert after["path"][after["split"] == "test"].tolist() == (
        before["path"][before["split"] == "test"].tolist()
    )
    assert (after["split"] == "val").sum() > (before["split"] == "val").sum()


def test_interrupted_write_leaves_the_previous_output_untouched(curated, tmp_path, monkeypatch):
    from foxdog import io as fio

    out = tmp_path / "curated"
    write_curated(curated.result, curated.raw.root, out, curated.cfg)
    before = snapshot_tree(out)
    real_write_npy, calls = fio.write_npy, []

    def write_then_die(path, array):
        calls.append(path)
        if len(calls) == 4:  # after the pool arrays, before val and test
            raise KeyboardInterrupt
        return real_write_npy(path, array)

    monkeypatch.setattr(fio, "write_npy", write_then_die)
    result = curate(curated.raw.root, curated.raw.config(out, seed=7), workers=1)
    with pytest.raises(KeyboardInterrupt):
        write_curated(result, curated.raw.root, out, curated.cfg)
    assert len(calls) == 4 and all(p.parent != out for p in calls)  # staged, not in place
    assert snapshot_tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]  # no staging left


def test_stale_staging_folders_are_removed(curated, tmp_path):
    out = tmp_path / "curated"
    for name in (".curated.tmp-killed", ".curated.old-killed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pool_ids.npy").write_bytes(b"stale")
    (tmp_path / ".curated.tmp-note").write_text("a file, not a staging folder", encoding="utf-8")
    write_curated(curated.result, curated.raw.root, out, curated.cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".curated.tmp-note", "curated"]
    assert load_split(out, "val").ids.tolist() == load_split(curated.out_dir, "val").ids.tolist()


# --- outputs and their contract -----------------------------------------------------------


def test_arrays_have_the_documented_shapes_and_types(curated):
    manifest = curated.manifest
    for name in ("pool", "val", "test"):
        split = load_split(curated.out_dir, name)
        rows = manifest[manifest["split"] == name]
        size = curated.cfg.image_size
        assert split.images.shape == (len(rows), size, size, 3)
        assert split.images.dtype == np.uint8
        assert np.load(curated.out_dir / f"{name}_labels.npy").dtype == np.int64
        ids = np.load(curated.out_dir / f"{name}_ids.npy")
        assert ids.dtype.kind == "U" and ids.shape == (len(rows),)
        assert split.ids.tolist() == rows["id"].tolist()  # manifest order
        assert split.labels.tolist() == rows["label"].tolist()


def test_manifest_matches_the_format_contract(curated):
    header = (curated.out_dir / "manifest.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == MANIFEST_COLUMNS
    manifest = curated.manifest
    # label i = data.classes[i] (the defaults: dog, fox).
    assert curated.cfg.classes == ("dog", "fox")
    assert (manifest["label"] == manifest["label_name"].map({"dog": 0, "fox": 1})).all()
    assert set(manifest["label_name"]) == {"fox", "dog"}
    assert manifest["id"].is_unique
    for row in manifest.itertuples():
        raw_file = curated.raw.root / row.path
        assert not Path(row.path).is_absolute() and raw_file.is_file()
        assert row.id == sha256(raw_file)[:16]
        assert row.source == row.path.split("/")[1]
    sources = pd.read_csv(curated.raw.root / "SOURCES.csv").set_index("relative_path")
    breeds = sources.loc[manifest["path"], "breed_or_species"].fillna("").tolist()
    assert manifest["breed"].fillna("").tolist() == breeds


def test_datasheet_counts_agree_with_the_manifest(curated):
    sheet, manifest = curated.datasheet, curated.manifest
    counts = sheet["counts"]
    assert counts["kept"] == manifest["label_name"].value_counts().to_dict()
    assert counts["dropped"] == len(sheet["dropped"]) == len(curated.raw.drops)
    for split, per_label in counts["by_split"].items():
        assert (
            per_label == manifest[manifest["split"] == split]["label_name"].value_counts().to_dict()
        )
    for entry in counts["by_source"]:
        part = manifest[
            (manifest["label_name"] == entry["label"]) & (manifest["source"] == entry["source"])
        ]
        assert entry["kept"] == len(part) == entry["pool"] + entry["val"] + entry["test"]
    assert sum(e["dropped"] for e in counts["by_source"]) == len(sheet["dropped"])
    assert sum(r["images"] for r in counts["dropped_by_reason"]) == len(sheet["dropped"])
    assert sum(r["images"] for r in counts["by_format"]) == len(manifest)
    assert sheet["params"]["max_pixels"] == curated.cfg.max_pixels
    assert sheet["image_size"] == curated.cfg.image_size


def test_datasheet_names_the_classes_in_label_order_with_their_counts(curated):
    sheet, manifest = curated.datasheet, curated.manifest
    assert sheet["classes"] == ["dog", "fox"]
    dropped = pd.DataFrame(sheet["dropped"])
    for entry in sheet["per_class"]:
        rows = manifest[manifest["label"] == entry["label"]]
        assert set(rows["label_name"]) == {sheet["classes"][entry["label"]]} == {entry["name"]}
        assert entry["kept"] == len(rows) == entry["pool"] + entry["val"] + entry["test"]
        assert entry["test"] == (rows["split"] == "test").sum()
        assert entry["dropped"] == (dropped["label"] == entry["name"]).sum()
        assert entry["contact_sheet"] == f"contact_{entry['name']}.png"
    assert [e["label"] for e in sheet["per_class"]] == [0, 1]
    # The session collection's SOURCES.csv names every source.
    assert sheet["source_from"]["SOURCES.csv"] == len(manifest)
    assert sheet["source_from"]["folder"] == 0


def test_contact_sheets_are_pngs_of_kept_photos(curated):
    assert curated.datasheet["contact_sheets"] == ["contact_dog.png", "contact_fox.png"]
    for label in curated.cfg.classes:
        with Image.open(curated.out_dir / f"contact_{label}.png") as sheet:
            assert sheet.format == "PNG" and sheet.mode == "RGB"
            n = int((curated.manifest["label_name"] == label).sum())
            rows = -(-min(n, curated.cfg.contact_sheet_size) // 8)
            assert sheet.size == (8 * 96, rows * 96)


def test_contact_sheet_shows_transparency_as_white(curated):
    from foxdog.data.contact_sheet import contact_sheet

    sheet = Image.open(
        io.BytesIO(contact_sheet([curated.raw.root / curated.raw.special["alpha"]], 1))
    )
    tile = np.asarray(sheet)[:96, :96].astype(int)
    assert (tile[:, 52:] >= 250).all() and tile[:, :44].mean() < 200


def test_output_is_byte_identical_across_runs_and_workers(curated, tmp_path):
    out = tmp_path / "again"
    cfg = curated.raw.config(out)
    write_curated(curate(curated.raw.root, cfg, workers=2), curated.raw.root, out, cfg)
    first = {p.name: sha256(p) for p in curated.out_dir.iterdir()}
    second = {p.name: sha256(p) for p in out.iterdir()}
    assert len(first) == 13 and first == second
    assert snapshot_tree(curated.raw.root, curated.raw.outside) == curated.raw.snapshot


def test_image_size_and_seed_are_honoured(curated, tmp_path):
    cfg = curated.raw.config(tmp_path / "o", image_size=16, seed=5)
    result = curate(curated.raw.root, cfg, workers=1)
    assert result.images.shape[1:] == (16, 16, 3) and result.images.dtype == np.uint8
    assert result.kept["path"].tolist() == curated.manifest["path"].tolist()
    assert result.kept["split"].tolist() != curated.manifest["split"].tolist()


def test_written_json_is_plain(curated):
    text = (curated.out_dir / "datasheet.json").read_text(encoding="utf-8")
    assert json.loads(text) == curated.datasheet and "NaN" not in text


# --- collections that cannot be curated: one clear CurationError --------------------------


def test_missing_raw_folder(tmp_path):
    raw = tmp_path / "nowhere"
    cfg = DataConfig(raw_dir=str(raw), out_dir=str(tmp_path / "out"))
    with pytest.raises(CurationError, match="nowhere: raw folder not found"):
        curate(raw, cfg)


def test_empty_class_folder_is_an_error_naming_it(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 12, "dog/src_c/breed": 0})
    with pytest.raises(CurationError) as info:
        curate(raw.root, raw.config(tmp_path / "out"))
    assert str(info.value) == f"{raw.root / 'dog'}: no images in class folder (label 'dog')"


def test_missing_class_folder(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 12})
    with pytest.raises(CurationError) as info:
        curate(raw.root, raw.config(tmp_path / "out"))
    assert str(info.value) == (
        f"{raw.root / 'dog'}: class folder not found (data.classes lists 'dog'; "
        f"folders in {raw.root}: fox)"
    )


def test_class_folder_not_in_data_classes_is_ignored_with_a_warning(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 10, "dog/src_c": 10, "wolf/src_d": 10})
    result = curate(raw.root, raw.config(tmp_path / "out"))
    assert set(result.kept["label_name"]) == {"dog", "fox"}
    assert result.warnings == [
        f"{raw.root / 'wolf'}: folder not in data.classes (dog, fox) — ignored"
    ]
    assert result.missing == []  # wolf's SOURCES rows are ignored, not missing
    assert not any(d["path"].startswith("wolf/") for d in result.dropped)


def test_reordering_classes_only_renumbers_the_labels(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 20, "dog/src_c": 20, "wolf/src_d": 20})
    first = curate(raw.root, raw.config(tmp_path / "a", classes=("dog", "fox", "wolf"))).kept
    second = curate(raw.root, raw.config(tmp_path / "b", classes=("wolf", "dog", "fox"))).kept
    assert second["path"].tolist() == first["path"].tolist()
    assert second["split"].tolist() == first["split"].tolist()
    order = {"dog": 1, "fox": 2, "wolf": 0}
    assert second["label"].tolist() == first["label_name"].map(order).tolist()
    assert (
        first["label"].tolist() == first["label_name"].map({"dog": 0, "fox": 1, "wolf": 2}).tolist()
    )


def test_source_comes_from_the_sources_column(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 10, "dog/src_c": 10})
    sources = raw.root / "SOURCES.csv"
    table = pd.read_csv(sources, dtype=str, keep_default_na=False)
    fox = table["label"] == "fox"
    table.loc[fox, "source"] = np.where(np.arange(fox.sum()) % 2, "camera_1", "camera_2")
    table.loc[table.index[~fox][:3], "source"] = ""  # empty: falls back to the folder
    table.to_csv(sources, index=False)
    kept = curate(raw.root, raw.config(tmp_path / "out")).kept.set_index("path")
    listed = table.set_index("relative_path")["source"]
    for path, row in kept.iterrows():
        expected = listed[path] or path.split("/")[1]
        assert row["source"] == expected, path
    assert set(kept["source"]) == {"camera_1", "camera_2", "src_c"}
    result = curate(raw.root, raw.config(tmp_path / "out"))
    sheet = datasheet(result, raw.config(tmp_path / "out"))
    assert sheet["source_from"]["folder"] == 3
    assert sheet["source_from"]["SOURCES.csv"] == len(kept) - 3
    assert {e["source"] for e in sheet["counts"]["by_source"]} == {"camera_1", "camera_2", "src_c"}

    table.drop(columns="source").to_csv(sources, index=False)
    result = curate(raw.root, raw.config(tmp_path / "out"))
    assert set(result.kept["source"]) == {"src_a", "src_c"}
    assert result.source_from["SOURCES.csv"] == 0
    assert "has no 'source' column" in result.source_from["note"]


def test_label_with_only_bad_files_is_an_error_naming_one(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 12, "dog/src_c/breed": 2})
    for path in (raw.root / "dog/src_c/breed").iterdir():
        path.write_bytes(b"not an image")
    with pytest.raises(CurationError) as info:
        curate(raw.root, raw.config(tmp_path / "out"))
    message = str(info.value)
    assert message.startswith(f"{raw.root / 'dog'}: no usable images left for label 'dog' (e.g. ")
    assert "not a decodable image" in message and "\n" not in message


def test_too_few_images_to_split_is_an_error(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 2, "dog/src_c/breed": 2})
    with pytest.raises(CurationError, match="only 4 independent image groups"):
        curate(raw.root, raw.config(tmp_path / "out"))


def test_label_absent_from_one_split_is_an_error(make_raw, tmp_path):
    raw = make_raw({"fox/src_a": 1, "dog/src_c/breed": 20})
    with pytest.raises(CurationError, match=r"raw/fox: too few usable images \(1\)"):
        curate(raw.root, raw.config(tmp_path / "out"))


def test_sources_file_problems(make_raw, tmp_path):
    raw = make_raw()
    cfg = raw.config(tmp_path / "out")
    sources = raw.root / "SOURCES.csv"
    text = sources.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)

    sources.write_text(text.replace(",sha256,", ",checksum,", 1), encoding="utf-8")
    with pytest.raises(CurationError, match=r"SOURCES.csv: missing column 'sha256'"):
        curate(raw.root, cfg)

    sources.write_text("".join(lines + lines[1:2]), encoding="utf-8")
    with pytest.raises(CurationError, match=r"SOURCES.csv: line \d+: .* is listed twice"):
        curate(raw.root, cfg)

    sources.write_bytes(text.encode("utf-8") + b"\xff\xfe broken\n")
    with pytest.raises(CurationError, match="SOURCES.csv: not UTF-8 text"):
        curate(raw.root, cfg)

    sources.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # BOM: fine
    assert len(curate(raw.root, cfg).kept) == 30

    sources.unlink()
    with pytest.raises(CurationError) as info:
        curate(raw.root, cfg)
    assert str(info.value) == (
        f"{sources}: not found (every raw folder needs one; write it with "
        f"`foxdog data index {raw.root}`)"
    )


def test_links_special_files_and_hidden_files(make_raw, tmp_path):
    raw = make_raw()
    src = raw.root / "fox/src_a"
    first = sorted(src.iterdir())[0]
    (src / "broken_link.jpg").symlink_to(src / "gone.jpg")
    (src / "zz_link.jpg").symlink_to(first)  # same bytes as `first`
    (src / "linked_dir").symlink_to(raw.root / "dog")
    (src / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    os.mkfifo(src / "pipe.jpg")  # would block a naive open()
    with open(raw.root / "SOURCES.csv", "a", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        row = ["fox/src_a/zz_link.jpg", "fox", "src_a", "", "", "", "", sha256(first)]
        writer.writerow(row + ["", "", "", "", ""])
    result = curate(raw.root, raw.config(tmp_path / "out"))
    reasons = {d["path"]: d["reason"] for d in result.dropped}
    assert reasons == {
        "fox/src_a/broken_link.jpg": "broken symlink",
        "fox/src_a/zz_link.jpg": f"near-duplicate of {first.relative_to(raw.root).as_posix()}",
        "fox/src_a/linked_dir": "symlinked folder: not followed",
        "fox/src_a/pipe.jpg": "not a regular file",
    }
    assert len(result.kept) == 30


def test_output_inside_the_raw_folder_is_refused(make_raw):
    raw = make_raw()
    out = raw.root / "curated"
    cfg = raw.config(out)
    result = curate(raw.root, cfg)
    with pytest.raises(CurationError, match="output folder is inside the raw folder"):
        write_curated(result, raw.root, out, cfg)
    assert not out.exists()
    assert snapshot_tree(raw.root) == raw.snapshot


def test_decode_errors_of_any_type_become_drop_reasons(make_raw, tmp_path):
    """A PNG whose IDAT is garbage, a GIF header with nothing after it."""
    raw = make_raw()
    src = raw.root / "fox/src_b"
    png = encode(textured(np.random.default_rng(1), 96, 96), "PNG")
    idat = png.index(b"IDAT")
    broken = png[: idat + 4] + bytes(200) + png[idat + 204 :]
    (src / "garbage_idat.png").write_bytes(broken)
    (src / "header.gif").write_bytes(b"GIF89a\x60\x00\x60\x00\x80\x00\x00")
    result = curate(raw.root, raw.config(tmp_path / "out"))
    reasons = {d["path"]: d["reason"] for d in result.dropped}
    assert set(reasons) == {"fox/src_b/garbage_idat.png", "fox/src_b/header.gif"}
    assert all(r.startswith("not a decodable image (") for r in reasons.values())


# --- reading the arrays back ---------------------------------------------------------------


@pytest.fixture
def curated_copy(curated, tmp_path) -> Path:
    """The session's arrays (no manifest) in a folder a test may modify."""
    out = tmp_path / "curated"
    out.mkdir()
    for name in ("pool", "val", "test"):
        for part in ("images", "labels", "ids"):
            (out / f"{name}_{part}.npy").write_bytes(
                (curated.out_dir / f"{name}_{part}.npy").read_bytes()
            )
    return out


def test_load_split_round_trip(curated):
    pool, test = load_split(curated.out_dir, "pool"), load_split(str(curated.out_dir), "test")
    val = load_split(curated.out_dir, "val")
    assert len(pool) + len(val) + len(test) == len(curated.manifest)
    assert np.array_equal(np.concatenate([pool.images, test.images]).shape[1:], (32, 32, 3))
    assert set(pool.ids) | set(val.ids) | set(test.ids) == set(curated.manifest["id"])
    assert not set(pool.ids) & set(test.ids)
    assert not set(val.ids) & (set(pool.ids) | set(test.ids))


def test_load_split_refuses_an_id_in_two_splits(curated_copy):
    pool_ids = np.load(curated_copy / "pool_ids.npy")
    val_ids = np.load(curated_copy / "val_ids.npy")
    val_ids[0] = pool_ids[3]
    np.save(curated_copy / "val_ids.npy", val_ids)
    with pytest.raises(ValueError, match=r"pool_ids\.npy: 1 image id\(s\) also in val_ids\.npy"):
        load_split(curated_copy, "val")
    with pytest.raises(ValueError, match=r"val_ids\.npy: 1 image id\(s\) also in pool_ids\.npy"):
        load_split(curated_copy, "pool")
    load_split(curated_copy, "test")  # not involved in the leak


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("drop_row", r"manifest\.csv: lists \d+ pool images but pool_ids\.npy holds \d+"),
        ("swap_ids", r"manifest\.csv: pool ids differ from pool_ids\.npy"),
        ("flip_label", r"manifest\.csv: pool labels differ from pool_labels\.npy"),
    ],
)
def test_load_split_refuses_a_manifest_that_disagrees(curated, curated_copy, change, message):
    manifest = pd.read_csv(curated.out_dir / "manifest.csv", dtype={"id": str})
    first_pool = manifest.index[manifest["split"] == "pool"][0]
    if change == "drop_row":
        manifest = manifest.drop(index=first_pool)
    elif change == "swap_ids":
        manifest.loc[first_pool, "id"] = "0" * 16
    else:
        manifest.loc[first_pool, "label"] = 1 - manifest.loc[first_pool, "label"]
    manifest.to_csv(curated_copy / "manifest.csv", index=False)
    with pytest.raises(ValueError, match=message) as info:
        load_split(curated_copy, "pool")
    assert "\n" not in str(info.value)
    load_split(curated_copy, "test")  # the test rows still agree


@pytest.mark.parametrize(
    ("part", "array", "message"),
    [
        ("images", np.zeros((3, 32, 32, 3), np.float32), r"pool_images\.npy: expected uint8"),
        ("images", np.zeros((3, 32, 16, 3), np.uint8), r"expected uint8 \(N, S, S, 3\)"),
        ("images", np.zeros((2, 32, 32, 3), np.uint8), r"pool arrays disagree in length"),
        ("labels", np.array([0, -1, 1]), r"pool_labels\.npy: labels must be class indices >= 0"),
        ("labels", np.array([0.0, 1.0, 1.0]), r"pool_labels\.npy: expected integer"),
        ("ids", np.array([1, 2, 3]), r"pool_ids\.npy: expected unicode"),
    ],
)
def test_load_split_rejects_inconsistent_arrays(tmp_path, part, array, message):
    arrays = {
        "images": np.zeros((3, 32, 32, 3), np.uint8),
        "labels": np.array([0, 1, 1]),
        "ids": np.array(["a", "b", "c"]),
    }
    arrays[part] = array
    for name, value in arrays.items():
        np.save(tmp_path / f"pool_{name}.npy", value)
    with pytest.raises(ValueError, match=message):
        load_split(tmp_path, "pool")


def test_load_split_label_range_follows_the_datasheet(curated_copy):
    labels = np.load(curated_copy / "pool_labels.npy")
    labels[1] = 2
    np.save(curated_copy / "pool_labels.npy", labels)
    load_split(curated_copy, "pool")  # no datasheet: any class index >= 0
    sheet = curated_copy / "datasheet.json"
    sheet.write_text(json.dumps({"classes": ["dog", "fox"]}), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"pool_labels\.npy: label 2 outside 0\.\.1 \(.*dog, fox\)"
    ):
        load_split(curated_copy, "pool")
    sheet.write_text(json.dumps({"counts": {}}), encoding="utf-8")  # no classes: C unknown
    assert load_split(curated_copy, "pool").labels[1] == 2
    sheet.write_text(json.dumps({"classes": ["a", "b", "c"]}), encoding="utf-8")
    assert load_split(curated_copy, "pool").labels[1] == 2
    with pytest.raises(ValueError, match=r"label 2 outside 0\.\.1 \(.*x, y\)"):
        load_split(curated_copy, "pool", classes=("x", "y"))
    sheet.write_text(json.dumps({"classes": ["a"]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"datasheet\.json: 'classes' must list two or more"):
        load_split(curated_copy, "pool")


def test_load_split_file_errors(curated_copy):
    with pytest.raises(ValueError, match="split must be one of"):
        load_split(curated_copy, "train")
    (curated_copy / "test_ids.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_ids\.npy: not found \(run `dvc repro"):
        load_split(curated_copy, "test")
    np.save(curated_copy / "pool_ids.npy", np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match=r"pool_ids\.npy: not a readable \.npy array"):
        load_split(curated_copy, "pool")
    images = curated_copy / "pool_images.npy"
    images.write_bytes(images.read_bytes()[:1000])  # truncated
    with pytest.raises(ValueError, match=r"pool_images\.npy: not a readable \.npy array"):
        load_split(curated_copy, "pool")


# --- the DVC stage ------------------------------------------------------------------------


def test_dvc_curate_stage_tracks_its_code_and_the_report_every_output():
    import re

    import yaml

    repo = Path(__file__).resolve().parents[1]
    stages = yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    deps = stages["curate"]["deps"]
    # Every foxdog/data module the stage runs, followed import by import (curate.py is
    # split by job: a module it reaches through another one is code it runs too).
    seen, todo = set(), ["curate"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        code = (repo / f"foxdog/data/{module}.py").read_text(encoding="utf-8")
        todo += re.findall(r"^\s*from foxdog\.data\.(\w+) import", code, flags=re.MULTILINE)
    assert {"candidates", "dedup", "split", "datasheet"} <= seen  # the pattern still finds them
    assert {f"foxdog/data/{m}.py" for m in seen} <= set(deps)
    # Wherever the photos are (data/ or your own folder), DVC watches that folder.
    assert "${data.raw_dir}" in deps and "data" in stages["curate"]["params"]
    # The report reads contact_<class>.png for classes only params.yaml knows: it
    # depends on the whole folder, not on named sheets.
    report = stages["report"]["deps"]
    assert "curated" in report
    assert not [d for d in report if str(d).startswith("curated/contact_")]


def test_console_summary_counts_each_kind_of_reason_and_names_the_first_files():
    from foxdog.data.datasheet import drop_summary

    dropped = [
        {"path": f"cat/s{i}.jpg", "label": "cat", "source": "", "reason": f"too small: {i}x9, "
         "shorter side < data.min_side=64"}  # fmt: skip
        for i in range(5)
    ] + [
        {"path": "cat/a.jpg", "label": "cat", "source": "",
         "reason": "label conflict: near-duplicate group also holds dog/a.jpg"},
        {"path": "dog/a.jpg", "label": "dog", "source": "",
         "reason": "label conflict: near-duplicate group also holds cat/a.jpg"},
    ]  # fmt: skip
    assert drop_summary(dropped) == [
        "  5 too small: WxH, shorter side < data.min_side=64: cat/s0.jpg, cat/s1.jpg, "
        "cat/s2.jpg, … 2 more",
        "  2 label conflict: near-duplicate group also holds …: cat/a.jpg, dog/a.jpg",
    ]
    assert drop_summary([]) == []

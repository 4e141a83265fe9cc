"""Your own images: a generated 3-class folder -> ``foxdog data index`` -> ``foxdog curate``.

The collection (tests/own_images.py) has nothing to do with foxes or dogs: the
curated arrays, contact sheets, datasheet and command-line output must follow
``data.classes`` alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from own_images import CLASSES, make_collection, own_balance
from PIL import Image
from test_cli import foxdog, full_params, one_error_line

from foxdog.cli import main
from foxdog.data.arrays import load_split

SPLITS = ("pool", "val", "test")


def write_params(path: Path, **data: object) -> Path:
    balance = own_balance(data["classes"])  # type: ignore[arg-type]
    path.write_text(yaml.safe_dump(full_params({"data": data, "balance": balance})), "utf-8")
    return path


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The generated collection, indexed and curated once by the command line."""
    base = tmp_path_factory.mktemp("own")
    photos = base / "photos"
    written = make_collection(photos, n_per_class=24)
    assert main(["data", "index", str(photos)]) == 0
    params = write_params(
        base / "params.yaml", raw_dir=str(photos), out_dir=str(base / "curated"), classes=CLASSES
    )
    proc = foxdog("curate", "--params", str(params), cwd=base)
    return {"photos": photos, "written": written, "out": base / "curated", "proc": proc}


def test_curate_prints_the_counts_per_class_in_label_order(own):
    proc = own["proc"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    manifest = pd.read_csv(own["out"] / "manifest.csv")
    counts = manifest["label_name"].value_counts()
    per_class = ", ".join(f"{counts[name]} {name}" for name in CLASSES)
    assert proc.stdout == (
        f"curated {len(manifest)} images ({per_class}), dropped 0 -> {own['out']}/\n"
    )


def test_labels_are_the_positions_in_data_classes(own):
    manifest = pd.read_csv(own["out"] / "manifest.csv", dtype={"id": str})
    assert len(manifest) == sum(len(paths) for paths in own["written"].values())
    assert (manifest["label_name"] == manifest["label"].map(dict(enumerate(CLASSES)))).all()
    assert (manifest["path"].str.split("/").str[0] == manifest["label_name"]).all()
    for split in SPLITS:
        arrays = load_split(own["out"], split)
        # Every split holds all three classes (stratified), and nothing else.
        assert sorted(set(arrays.labels.tolist())) == [0, 1, 2], split
        assert arrays.images.shape[1:] == (32, 32, 3)


def test_split_is_stratified_and_group_aware_over_three_classes(own):
    manifest = pd.read_csv(own["out"] / "manifest.csv")
    assert (manifest.groupby("group")["split"].nunique() == 1).all()
    share = (manifest["split"] == "test").groupby(manifest["label_name"]).mean()
    assert ((share - 0.2).abs() <= 0.1).all(), share


def test_sources_are_the_sub_folders_named_in_sources_csv(own):
    manifest = pd.read_csv(own["out"] / "manifest.csv")
    sources = pd.read_csv(own["photos"] / "SOURCES.csv").set_index("relative_path")["source"]
    assert manifest["source"].tolist() == sources.loc[manifest["path"]].tolist()
    assert set(manifest["source"]) == {"camera_a", "camera_b", "phone"}


def test_contact_sheet_and_datasheet_entry_for_every_class(own):
    out = own["out"]
    sheet = json.loads((out / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["classes"] == list(CLASSES)
    assert sheet["contact_sheets"] == [f"contact_{name}.png" for name in CLASSES]
    assert sorted(p.name for p in out.glob("contact_*.png")) == sorted(sheet["contact_sheets"])
    manifest = pd.read_csv(out / "manifest.csv")
    for entry in sheet["per_class"]:
        assert entry["name"] == CLASSES[entry["label"]]
        assert entry["kept"] == (manifest["label_name"] == entry["name"]).sum()
        with Image.open(out / entry["contact_sheet"]) as image:
            assert image.format == "PNG" and image.size == (8 * 96, 3 * 96)  # 24 thumbnails
    assert sheet["counts"]["kept"] == manifest["label_name"].value_counts().sort_index().to_dict()
    assert sheet["source_from"]["folder"] == 0


def test_pictures_differ_by_class(own):
    """The classes carry signal: a nearest-centroid rule on the pool beats chance on test."""
    pool, test = load_split(own["out"], "pool"), load_split(own["out"], "test")

    def features(images: np.ndarray) -> np.ndarray:
        grey = images.astype(float).mean(axis=3)
        local = np.abs(np.diff(grey, axis=1)).mean(axis=(1, 2))  # texture
        return np.stack([local, grey.std(axis=(1, 2))], axis=1)

    f_pool, f_test = features(pool.images), features(test.images)
    centroids = np.stack([f_pool[pool.labels == c].mean(axis=0) for c in range(3)])
    guess = np.argmin(((f_test[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert (guess == test.labels).mean() > 0.5


# --- what a user gets wrong: one line each -------------------------------------------------


@pytest.fixture
def unindexed(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    make_collection(photos, n_per_class=9, seed=1)
    return photos


def test_folder_without_sources_csv_is_one_line_pointing_at_index(unindexed, tmp_path):
    params = write_params(
        tmp_path / "p.yaml", raw_dir=str(unindexed), out_dir=str(tmp_path / "o"), classes=CLASSES
    )
    proc = foxdog("curate", "--params", str(params), cwd=tmp_path)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == (
        f"foxdog: {unindexed / 'SOURCES.csv'}: not found (every raw folder needs one; "
        f"write it with `foxdog data index {unindexed}`)"
    )
    assert not (tmp_path / "o").exists()


def test_class_without_a_folder_is_one_line_naming_it(unindexed, tmp_path):
    assert main(["data", "index", str(unindexed)]) == 0
    params = write_params(
        tmp_path / "p.yaml",
        raw_dir=str(unindexed),
        out_dir=str(tmp_path / "o"),
        classes=["circle", "triangle", "square"],
    )
    proc = foxdog("curate", "--params", str(params), cwd=tmp_path)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == (
        f"foxdog: {unindexed / 'triangle'}: class folder not found (data.classes lists "
        f"'triangle'; folders in {unindexed}: circle, noise, square)"
    )


def test_folder_left_out_of_data_classes_is_a_warning(tmp_path):
    photos = tmp_path / "photos"
    make_collection(photos, n_per_class=24, seed=2)
    assert main(["data", "index", str(photos)]) == 0
    params = write_params(
        tmp_path / "p.yaml",
        raw_dir=str(photos),
        out_dir=str(tmp_path / "o"),
        classes=["square", "circle"],
    )
    proc = foxdog("curate", "--params", str(params), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"foxdog: warning: {photos / 'noise'}: folder not in data.classes (square, circle) "
        "— ignored"
    ]
    assert proc.stdout.startswith("curated 48 images (24 square, 24 circle), dropped 0")
    manifest = pd.read_csv(tmp_path / "o" / "manifest.csv")
    assert manifest.groupby("label_name")["label"].unique().to_dict() == {
        "circle": [1],
        "square": [0],
    }
    assert sorted(p.name for p in (tmp_path / "o").glob("contact_*")) == [
        "contact_circle.png",
        "contact_square.png",
    ]

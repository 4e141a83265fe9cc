"""Tests for foxdog/data/regroup.py and foxdog/data/links.py (``foxdog data regroup``).

New classes from a collection's ``breed_or_species``, as symbolic links: on a small
generated collection, and on the real fox/dog photos with the three_breeds example
(``../shared/foxdog-raw``, beside every clone; skipped, saying so, where it is absent).
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import build_plain_collection, encode, textured
from test_cli import one_error_line

from foxdog.cli import main
from foxdog.config import load_params
from foxdog.data.arrays import load_split
from foxdog.data.curate import curate, write_curated
from foxdog.data.index import index_collection
from foxdog.data.links import LINKED_FROM_FILE
from foxdog.data.regroup import linked_path, read_class_map
from foxdog.errors import CurationError

REPO = Path(__file__).resolve().parents[1]
SHARED_RAW = REPO.parent / "shared" / "foxdog-raw"
EXAMPLE = REPO / "examples" / "three_breeds"


def write_map(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["breed_or_species", "class"])
        writer.writerows(rows)
    return path


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A fox/dog-shaped collection with breeds: 12 beagles, 12 collies, 12 foxes."""
    counts = {"dog/src_a/beagle": 12, "dog/src_b/collie": 12, "fox/src_c": 12}
    raw, writer = build_plain_collection(tmp_path / "origin", counts, seed=3)
    for row in writer.rows:  # fox rows get "red fox" from the writer
        assert row["breed_or_species"] in {"beagle", "collie", "red fox"}
    writer.write_sources()
    return raw.root


def regroup_cli(origin: Path, mapping: Path, out: Path, *extra: str) -> int:
    args = ["--map", str(mapping), "--from", str(origin), "--out", str(out), *extra]
    return main(["data", "regroup", *args])


def test_regroup_links_every_mapped_row_and_indexes_them(origin, tmp_path, capsys):
    mapping = write_map(tmp_path / "map.csv", [("beagle", "hound"), ("collie", "herder")])
    out = tmp_path / "out"
    assert regroup_cli(origin, mapping, out) == 0
    assert capsys.readouterr().out == (
        f"linked 24 images (12 herder, 12 hound) -> {out}/, indexed -> {out / 'SOURCES.csv'}\n"
    )
    rows = pd.read_csv(out / "SOURCES.csv", dtype=str, keep_default_na=False)
    assert sorted(set(rows["label"])) == ["herder", "hound"]  # the foxes are left out
    originals = pd.read_csv(origin / "SOURCES.csv", dtype=str).set_index("relative_path")
    for row in rows.itertuples():
        link = out / row.relative_path
        assert link.is_symlink(), row.relative_path  # never a copy
        target = link.resolve()
        assert target.is_relative_to(origin.resolve())
        original = originals.loc[target.relative_to(origin.resolve()).as_posix()]
        assert row.sha256 == original["sha256"]
        assert row.source == original["source"]  # the sub-folder below the new class
        assert row.breed_or_species == original["breed_or_species"]
    assert (out / LINKED_FROM_FILE).read_text(encoding="utf-8") == f"{origin.resolve()}\n"


def test_curate_follows_the_links_of_a_regrouped_folder(origin, tmp_path):
    rows = [("beagle", "hound"), ("collie", "herder"), ("red fox", "fox")]
    mapping = write_map(tmp_path / "map.csv", rows)
    out = tmp_path / "out"
    assert regroup_cli(origin, mapping, out) == 0
    cfg = dataclasses.replace(
        load_params(REPO / "params.yaml").data,
        raw_dir=str(out),
        out_dir=str(tmp_path / "curated"),
        classes=("fox", "hound", "herder"),
        val_fraction=0.25,  # 12 images a class: enough for a val split of a quarter
    )
    result = curate(out, cfg, workers=1)
    assert result.dropped == []
    assert result.kept.groupby("label_name")["label"].first().to_dict() == {
        "fox": 0,
        "hound": 1,
        "herder": 2,
    }
    assert set(result.kept["breed"]) == {"beagle", "collie", "red fox"}
    write_curated(result, out, Path(cfg.out_dir), cfg)
    assert len(load_split(cfg.out_dir, "pool")) > 0
    # The curated folder may not land in the collection the links point into.
    with pytest.raises(CurationError, match=r"output folder is inside the raw folder .*origin"):
        write_curated(result, out, origin / "curated", cfg)


def test_links_are_followed_only_into_the_linked_from_folder(origin, tmp_path):
    elsewhere = tmp_path / "elsewhere.jpg"
    elsewhere.write_bytes(encode(textured(np.random.default_rng(9), 90, 80)))
    mapping = write_map(tmp_path / "map.csv", [("beagle", "hound"), ("collie", "herder")])
    out = tmp_path / "out"
    assert regroup_cli(origin, mapping, out) == 0
    (out / "hound" / "src_a" / "stray.jpg").symlink_to(elsewhere)
    index = index_collection(out)
    assert ("hound/src_a/stray.jpg", "symbolic link: not followed") in index.skipped
    assert len(index.entries) == 24
    cfg = dataclasses.replace(
        load_params(REPO / "params.yaml").data, raw_dir=str(out), classes=("hound", "herder")
    )
    reasons = {d["path"]: d["reason"] for d in curate(out, cfg, workers=1).dropped}
    assert reasons["hound/src_a/stray.jpg"] == (
        f"symlink points outside the raw folder and {origin.resolve()} (its {LINKED_FROM_FILE})"
    )
    # Without LINKED_FROM.txt the links are what they are in any folder: not followed.
    (out / LINKED_FROM_FILE).unlink()
    with pytest.raises(ValueError, match="no images in class folder"):
        index_collection(out)
    with pytest.raises(CurationError, match=r": symlink points outside the raw folder\)$"):
        curate(out, cfg, workers=1)


def test_linked_from_must_name_one_existing_folder(origin, tmp_path, capsys):
    mapping = write_map(tmp_path / "map.csv", [("beagle", "hound"), ("collie", "herder")])
    out = tmp_path / "out"
    assert regroup_cli(origin, mapping, out) == 0
    (out / LINKED_FROM_FILE).write_text(str(tmp_path / "gone") + "\n", encoding="utf-8")
    assert main(["data", "index", str(out), "--force"]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"foxdog: {out / LINKED_FROM_FILE}: {tmp_path / 'gone'}: folder not found "
        "(the links point into it)"
    )


def test_existing_out_is_replaced_only_with_force_and_only_a_regroup(origin, tmp_path, capsys):
    mapping = write_map(tmp_path / "map.csv", [("beagle", "hound"), ("collie", "herder")])
    out = tmp_path / "out"
    assert regroup_cli(origin, mapping, out) == 0
    capsys.readouterr()
    assert regroup_cli(origin, mapping, out) == 2
    assert "already exists and is not empty (pass --force" in one_error_line(
        capsys.readouterr().err
    )
    other = write_map(tmp_path / "m2.csv", [("beagle", "a"), ("red fox", "b")])
    assert regroup_cli(origin, other, out, "--force") == 0
    assert sorted(p.name for p in out.iterdir()) == [LINKED_FROM_FILE, "SOURCES.csv", "a", "b"]
    mine = tmp_path / "mine"
    (mine / "keep").mkdir(parents=True)
    assert regroup_cli(origin, mapping, mine, "--force") == 2
    assert "(remove it or choose another --out)" in one_error_line(capsys.readouterr().err)
    assert (mine / "keep").is_dir()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("beagle", "hound"), ("poodle", "herder")], "'poodle' is no breed_or_species of"),
        ([("beagle", "hound"), ("collie", "two words")], "class 'two words' must be a folder name"),
        ([("beagle", "hound"), ("collie", "hound")], "maps to 1 class(es); need 2"),
        ([("beagle", "hound"), ("beagle", "herder")], "'beagle' is listed twice"),
    ],
)
def test_bad_maps_are_one_line_and_write_nothing(origin, tmp_path, capsys, rows, message):
    out = tmp_path / "out"
    assert regroup_cli(origin, write_map(tmp_path / "map.csv", rows), out) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_linked_path_keeps_the_source_and_the_rest():
    assert linked_path("dog/src_a/beagle/x.jpg", "src_a", "hound") == "hound/src_a/beagle/x.jpg"
    assert linked_path("fox/x.jpg", "", "fox") == "fox/unknown/x.jpg"
    assert linked_path("fox/a/x.jpg", "b", "fox") == "fox/b/a/x.jpg"


# --- the three_breeds example on the real photos --------------------------------------------


def test_example_params_set_every_key_the_study_sets():
    def keys(path: Path) -> set[str]:
        import yaml

        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {f"{section}.{key}" for section, values in raw.items() for key in values}

    assert keys(EXAMPLE / "params.yaml") == keys(REPO / "params.yaml")
    params = load_params(EXAMPLE / "params.yaml")
    mapped = set(read_class_map(EXAMPLE / "map.csv").values())
    assert set(params.data.classes) == mapped


@pytest.mark.skipif(
    not (SHARED_RAW / "SOURCES.csv").is_file(),
    reason=f"{SHARED_RAW} is absent (the fox/dog photos sit beside every clone in ../shared)",
)
def test_three_breeds_example_builds_and_curates(tmp_path, capsys):
    out = tmp_path / "three_breeds"
    assert regroup_cli(SHARED_RAW, EXAMPLE / "map.csv", out) == 0
    mapping = read_class_map(EXAMPLE / "map.csv")
    shared = pd.read_csv(SHARED_RAW / "SOURCES.csv", dtype=str, keep_default_na=False)
    expected = Counter(shared["breed_or_species"].map(mapping).dropna())
    rows = pd.read_csv(out / "SOURCES.csv", dtype=str, keep_default_na=False)
    assert Counter(rows["label"]) == expected
    assert min(expected.values()) >= 200  # enough of each class for three splits
    assert all((out / rel).is_symlink() for rel in rows["relative_path"])
    assert (rows["breed_or_species"].map(mapping) == rows["label"]).all()

    params = load_params(EXAMPLE / "params.yaml")
    cfg = dataclasses.replace(params.data, raw_dir=str(out), out_dir=str(tmp_path / "curated"))
    result = curate(out, cfg)
    assert result.warnings == [] and result.missing == []
    write_curated(result, out, Path(cfg.out_dir), cfg)
    for split in ("pool", "val", "test"):
        labels = load_split(cfg.out_dir, split).labels
        assert sorted(set(labels.tolist())) == [0, 1, 2], split
    kept = result.kept.groupby("label_name").size().to_dict()
    assert set(kept) == set(params.data.classes)
    assert sum(kept.values()) + len(result.dropped) == len(rows)

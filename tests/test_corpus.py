"""Tests for foxdog/data/corpus.py on a tiny generated corpus and fox/dog collection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from foxdog.config import DataConfig
from foxdog.data.corpus import curate_corpus, foxdog_hashes, load_corpus, min_hamming, write_corpus
from foxdog.errors import CurationError
from foxdog.io import sha256_file

CFG = DataConfig(image_size=16, min_side=32)
COLUMNS = ["relative_path", "label", "source", "sha256", "breed_or_species"]


def photo(seed: int, size: int = 40) -> Image.Image:
    """A smooth random picture (distinct perceptual hashes per seed)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)


def make_corpus(root: Path, classes: int = 3, per_class: int = 4) -> list[dict[str, str]]:
    rows = []
    for c in range(classes):
        for i in range(per_class):
            rel = f"n{c:08d}/img{i}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            photo(100 * c + i).save(root / rel)
            rows.append({"relative_path": rel, "label": f"n{c:08d}", "source": "s",
                         "sha256": sha256_file(root / rel), "breed_or_species": ""})  # fmt: skip
    return rows


def write_sources(root: Path, rows: list[dict[str, str]]) -> None:
    with open(root / "SOURCES.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def collections(tmp_path: Path) -> tuple[Path, Path, Path]:
    corpus, foxdog = tmp_path / "corpus", tmp_path / "foxdog"
    rows = make_corpus(corpus)
    write_sources(corpus, rows)
    # The fox/dog side: one unrelated photo and one that is a corpus photo re-encoded.
    (foxdog / "fox").mkdir(parents=True)
    photo(999).save(foxdog / "fox" / "a.png")
    Image.open(corpus / "n00000001/img2.png").save(foxdog / "fox" / "b.jpg", quality=90)
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"path": ["fox/a.png", "fox/b.jpg"]}).to_csv(manifest, index=False)
    return corpus, foxdog, manifest


def test_min_hamming_finds_nearest_row():
    a = np.array([[0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]], dtype=bool)
    b = np.array([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0, 0]], dtype=bool)
    dist, arg = min_hamming(a, b)
    assert dist.tolist() == [3, 1]
    assert arg.tolist() == [1, 1]


def test_curation_drops_corpus_image_near_a_foxdog_image(collections, tmp_path):
    corpus, foxdog, manifest = collections
    fd = foxdog_hashes(manifest, foxdog, CFG)
    result = curate_corpus(corpus, CFG, fd)
    assert result.overlap["near_duplicates"] == 1
    assert result.overlap["pairs"][0]["corpus"] == "n00000001/img2.png"
    assert result.overlap["pairs"][0]["foxdog"] == "fox/b.jpg"
    assert not result.overlap["passed"]
    assert "n00000001/img2.png" not in result.paths
    assert len(result.labels) == 11
    assert result.images.shape == (11, 16, 16, 3)
    assert result.classes == ["n00000000", "n00000001", "n00000002"]
    assert np.bincount(result.labels).tolist() == [4, 3, 4]

    out = tmp_path / "out"
    write_corpus(result, out, CFG)
    loaded = load_corpus(out)
    np.testing.assert_array_equal(loaded.images, result.images)
    np.testing.assert_array_equal(loaded.labels, result.labels)
    assert loaded.classes == result.classes
    overlap = json.loads((out / "overlap.json").read_text())
    assert overlap["near_duplicates"] == 1 and overlap["foxdog_images"] == 2


def test_curation_checks_sources_and_is_deterministic(collections, tmp_path):
    corpus, foxdog, manifest = collections
    with open(corpus / "SOURCES.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["sha256"] = "0" * 64  # content no longer matches
    rows = [r for r in rows if r["relative_path"] != "n00000002/img3.png"]  # unlisted
    write_sources(corpus, rows)
    (corpus / "n00000002" / "broken.png").write_bytes(b"not an image")
    fd = foxdog_hashes(manifest, foxdog, CFG)
    a = curate_corpus(corpus, CFG, fd)
    reasons = {d["path"]: d["reason"] for d in a.dropped}
    assert reasons["n00000000/img0.png"] == "content differs from SOURCES.csv"
    assert reasons["n00000002/img3.png"] == "not listed in SOURCES.csv"
    assert reasons["n00000002/broken.png"].startswith("not a decodable image")
    b = curate_corpus(corpus, CFG, fd, workers=1)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.paths == b.paths


def test_missing_inputs_raise_one_line_errors(collections, tmp_path):
    corpus, foxdog, _ = collections
    with pytest.raises(CurationError, match="manifest.csv: not found"):
        foxdog_hashes(tmp_path / "nope" / "manifest.csv", foxdog, CFG)
    with pytest.raises(CurationError, match="corpus folder not found"):
        curate_corpus(tmp_path / "absent", CFG, (np.zeros((0, 64), bool), []))
    with pytest.raises(FileNotFoundError, match="images.npy: not found"):
        load_corpus(tmp_path / "empty")

"""The embed stage on the generated collection: per-split features, the id cache, atomic outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foxdog.config import params_with
from foxdog.data.images import decode_image, square_resize
from foxdog.errors import CurationError
from foxdog.model import effnet
from foxdog.model.embed import embed

# 32 px keeps the test fast; the stage runs at 224 (params.yaml).
SIZE = 32


def _params(curated, out_dir: Path, min_std: float = 5.0):
    cfg = curated.cfg
    return params_with(
        {
            "data": {"raw_dir": cfg.raw_dir, "out_dir": cfg.out_dir, "min_std": min_std},
            "embed": {"out_dir": str(out_dir), "image_size": SIZE, "batch_size": 8},
        }
    )


def test_features_per_split_follow_curated_and_the_cache_skips_seen_photos(
    curated, tmp_path: Path
) -> None:
    out = tmp_path / "features"
    params = _params(curated, out)
    first = embed(params, progress=False)
    manifest = curated.manifest
    assert first.embedded == len(manifest) and first.cached == 0
    for split in ("pool", "val", "test"):
        ids = np.load(out / f"{split}_ids.npy")
        np.testing.assert_array_equal(ids, np.load(Path(curated.out_dir) / f"{split}_ids.npy"))
        feats = np.load(out / f"{split}.npy")
        assert feats.shape == (len(ids), effnet.FEATURES) and feats.dtype == np.float32
        assert first.counts[split] == len(ids)
    # One photo by hand: the curation decode path at the stage's size, through the network.
    row = manifest[manifest["split"] == "test"].iloc[0]
    d = params.data
    image = decode_image(
        Path(d.raw_dir) / row["path"],
        max_pixels=d.max_pixels,
        min_side=d.min_side,
        min_std=d.min_std,
    )
    direct = effnet.features(square_resize(image.rgb, SIZE)[None], batch_size=8)
    test_ids = np.load(out / "test_ids.npy").tolist()
    np.testing.assert_allclose(
        np.load(out / "test.npy")[test_ids.index(row["id"])], direct[0], rtol=1e-4, atol=1e-4
    )
    before = {p.name: p.read_bytes() for p in out.glob("*.np?")}
    again = embed(params, progress=False)
    assert again.embedded == 0 and again.cached == len(manifest)
    assert {p.name: p.read_bytes() for p in out.glob("*.np?")} == before  # cache.npz included
    meta = json.loads((out / "meta.json").read_text())
    assert meta["fingerprint"]["image_size"] == SIZE and meta["counts"] == first.counts
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary file


def test_another_fingerprint_discards_the_cache_and_a_lost_photo_is_refused(
    curated, tmp_path: Path
) -> None:
    out = tmp_path / "features"
    embed(_params(curated, out), progress=False)
    # A decoding check is part of the fingerprint too (and keeps the compiled shape).
    other = embed(_params(curated, out, min_std=4.0), progress=False)
    assert other.cached == 0 and other.embedded == len(curated.manifest)
    # A manifest row whose raw file now holds other bytes: one line naming the file.
    raw = Path(curated.cfg.raw_dir)
    fake = tmp_path / "curated"
    fake.mkdir()
    manifest = curated.manifest.copy()
    manifest.loc[0, "id"] = "0" * 16
    manifest.to_csv(fake / "manifest.csv", index=False)
    params = params_with(
        {
            "data": {"raw_dir": str(raw), "out_dir": str(fake)},
            "embed": {"out_dir": str(tmp_path / "f2"), "image_size": SIZE, "batch_size": 8},
        }
    )
    with pytest.raises(CurationError, match=r"content differs from curated/manifest.csv"):
        embed(params, progress=False)

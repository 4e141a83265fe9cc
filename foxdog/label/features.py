"""Features per photo for the labelling app: pluggable extractors, cached by file sha256.

An extractor is a name, the square size photos are resized to (curation's
:func:`foxdog.data.images.square_resize`), and a function from uint8 pixels
``(N, S, S, 3)`` to float32 features ``(N, D)``. :data:`EXTRACTORS` maps
``label.extractor`` names to factories; another extractor (e.g. ImageNet
EfficientNet-Lite0 features) plugs in with one entry there and its name in
``foxdog.config.LABEL_EXTRACTORS``.

Features are computed once per file content: the cache
``<project>/features-<extractor>.npz`` holds ``sha256`` and ``features`` rows,
so a photo renamed, moved or shared by two projects costs nothing twice.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foxdog import io
from foxdog.config import DataConfig, Params, encoder_path
from foxdog.data.candidates import Candidate, Decoded, decode_all

EMBED_CHUNK = 256  # photos per extractor call


@dataclass(frozen=True)
class Extractor:
    """A feature extractor: photos resized to ``image_size`` -> ``embed`` -> (N, D) float32."""

    name: str
    image_size: int
    embed: Callable[[np.ndarray], np.ndarray]


def transfer_extractor(params: Params) -> Extractor:
    """The supervised ("transfer") encoder's conv trunk: globally pooled features.

    The strongest start the project has until ImageNet features land; the trunk
    is the one :class:`foxdog.model.estimator.FlaxCNNClassifier` fine-tunes for
    the ``transfer`` regime, at the encoder's own image size.
    """
    import jax
    from flax import nnx

    from foxdog.model import train
    from foxdog.model.encoder import check_architecture, load_encoder

    path = encoder_path(params.pretrain, "transfer")
    if not path.is_file():
        raise ValueError(
            f"{path}: encoder not found (label.extractor=transfer needs it: run foxdog label "
            "from the project root, where models/ is committed, or `dvc repro pretrain`)"
        )
    trunk, meta = load_encoder(path)
    widths, stem = tuple(params.model.widths), params.model.stem
    check_architecture(path, meta, widths, stem)
    spec = train.ModelSpec(widths, params.model.dense, params.model.dropout, 2, stem)
    weights = train.with_trunk(train.init_params(spec, jax.random.key(0)), trunk)
    gdef = train.graphdef(spec)

    @jax.jit
    def pooled(weights: object, images: jax.Array) -> jax.Array:
        return nnx.merge(gdef, weights).trunk(images)

    def embed(images: np.ndarray) -> np.ndarray:
        # Fixed chunk shapes (zero-padded): one compilation whatever the number of photos.
        return train._chunked(lambda x, _: pooled(weights, x), images).astype(np.float32)

    return Extractor("transfer", int(meta.get("image_size", params.data.image_size)), embed)


def imagenet_extractor(params: Params) -> Extractor:
    """EfficientNet-Lite0 with its ImageNet weights: the 1280-d pooled features the study's
    ``imagenet`` start uses, at ``embed.image_size`` (the strongest start: 97% full-pool)."""
    from foxdog.model import effnet

    model = effnet.pretrained()
    batch = params.embed.batch_size

    def embed(images: np.ndarray) -> np.ndarray:
        return effnet.features(images, model, batch_size=batch)

    return Extractor("imagenet", params.embed.image_size, embed)


#: ``label.extractor`` name -> factory. One line per extractor.
EXTRACTORS: dict[str, Callable[[Params], Extractor]] = {
    "imagenet": imagenet_extractor,
    "transfer": transfer_extractor,
}


@functools.cache
def get_extractor(name: str, params: Params) -> Extractor:
    """Build the extractor registered under ``name`` (once per process: compiled once)."""
    try:
        factory = EXTRACTORS[name]
    except KeyError:
        raise ValueError(f"unknown extractor {name!r}; known: {', '.join(EXTRACTORS)}") from None
    return factory(params)


class FeatureCache:
    """Features by file sha256, stored in one ``.npz`` file inside the project folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._rows: dict[str, np.ndarray] = {}
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as doc:
                    for sha, row in zip(doc["sha256"], doc["features"], strict=True):
                        self._rows[str(sha)] = row
            except (OSError, ValueError, KeyError) as err:
                # A cache is only a cache: recompute rather than refuse to start.
                print(f"foxdog: warning: {self.path}: unreadable ({err}); recomputing features")
                self._rows = {}

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._rows

    def add(self, sha256s: list[str], features: np.ndarray) -> None:
        """Remember ``features[i]`` for ``sha256s[i]`` (in memory; :meth:`save` writes)."""
        for sha, row in zip(sha256s, features, strict=True):
            self._rows[sha] = np.asarray(row, dtype=np.float32)

    def matrix(self, sha256s: list[str]) -> np.ndarray:
        """Features of ``sha256s`` in that order, float32 (N, D)."""
        return np.stack([self._rows[s] for s in sha256s]).astype(np.float32)

    def save(self) -> None:
        """Write the cache atomically (sorted by sha256: the same content, the same bytes)."""
        keys = sorted(self._rows)
        features = np.stack([self._rows[k] for k in keys]) if keys else np.zeros((0, 0))

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, sha256=np.array(keys, dtype=str), features=features)

        io.atomic_write(self.path, write)


def cache_path(project_folder: Path, extractor: str) -> Path:
    """Where a project keeps the features of ``extractor``."""
    return Path(project_folder) / f"features-{extractor}.npz"


def chunk_embedder(cache: FeatureCache, extractor: Extractor) -> Callable[[list[Decoded]], None]:
    """A :func:`foxdog.label.project.scan` hook: embed the decoded photos not yet cached."""

    def on_chunk(decoded: list[Decoded]) -> None:
        todo = [d for d in decoded if d.sha256 not in cache]
        for start in range(0, len(todo), EMBED_CHUNK):
            part = todo[start : start + EMBED_CHUNK]
            cache.add([d.sha256 for d in part], extractor.embed(np.stack([d.pixels for d in part])))

    return on_chunk


def fill_missing(
    cache: FeatureCache,
    extractor: Extractor,
    photos_dir: Path,
    paths: list[str],
    sha256s: list[str],
    data: DataConfig,
) -> int:
    """Decode and embed the photos whose sha256 is not cached; returns how many were.

    Used when a project indexed earlier meets an extractor for the first time.
    ``data`` is curation's configuration at the extractor's image size. A photo
    that no longer decodes keeps no features (the app then never offers it).
    """
    todo = [(p, s) for p, s in zip(paths, sha256s, strict=True) if s not in cache]
    hook = chunk_embedder(cache, extractor)
    with tqdm(total=len(todo), desc="features", unit="photo", disable=not todo) as bar:
        for start in range(0, len(todo), EMBED_CHUNK):
            part = todo[start : start + EMBED_CHUNK]
            decoded = decode_all(photos_dir, [Candidate(p, "", "") for p, _ in part], data)
            hook([d for d in decoded if isinstance(d, Decoded)])
            bar.update(len(part))
    return len(todo)


def progress_bar(desc: str) -> Callable[[int], Callable[[int], None]]:
    """A ``progress_factory`` for :func:`foxdog.label.project.open_project`: a tqdm bar."""

    def factory(total: int) -> Callable[[int], None]:
        quiet = bool(os.environ.get("FOXDOG_QUIET"))
        bar = tqdm(total=total, desc=desc, unit="photo", disable=quiet)

        def update(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return update

    return factory

"""Stage ``pretrain_data``: the pretraining corpus -> curated_pretrain/, with a leak check."""

from __future__ import annotations

import os
from pathlib import Path

from foxdog import paths
from foxdog.config import Params


def run(params: Params) -> None:
    """Curate ``pretrain.raw_dir`` into ``pretrain.out_dir``, dropping near-copies of ours."""
    from foxdog.data.corpus import curate_corpus, foxdog_hashes, write_corpus

    d, p = params.data, params.pretrain
    workers = min(os.cpu_count() or 1, 8)
    foxdog = foxdog_hashes(paths.manifest(d.out_dir), Path(d.raw_dir), d, workers)
    result = curate_corpus(Path(p.raw_dir), d, foxdog, workers)
    write_corpus(result, Path(p.out_dir), d)
    ov = result.overlap
    print(
        f"curated {len(result.labels)} corpus images in {len(result.classes)} classes, "
        f"dropped {len(result.dropped)} ({ov['near_duplicates']} near a curated image, "
        f"closest distance {ov['min_distance']}) -> {p.out_dir}/"
    )

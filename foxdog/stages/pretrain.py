"""Stage ``pretrain``: one encoder (supervised | simclr) -> models/<method>.msgpack."""

from __future__ import annotations

from pathlib import Path

from foxdog import paths
from foxdog.config import Params
from foxdog.progress import Progress


def run(params: Params, method: str | None = None, metrics_out: Path | None = None) -> dict:
    """Pretrain ``method`` (default ``pretrain.method``) on the corpus; return its metrics."""
    from foxdog.data.arrays import load_split
    from foxdog.data.corpus import load_corpus
    from foxdog.model.pretrain import run_pretrain

    cfg = params.pretrain
    method = method or cfg.method
    corpus = load_corpus(cfg.out_dir)
    pool = load_split(params.data.out_dir, "pool").images if method == "simclr" else None
    encoder_out = paths.encoder(params, method)
    metrics_out = Path(metrics_out) if metrics_out else paths.pretrain_metrics(method)

    with Progress(cfg.epochs, f"pretrain {method}", "epoch") as bar:
        m = run_pretrain(
            method, params.model, cfg, corpus.images, corpus.labels, len(corpus.classes),
            pool, encoder_out, metrics_out, lambda p: bar.update(note=f"loss {p['loss']:.4f}"),
        )  # fmt: skip
    acc = m.get("top1_accuracy", m["linear_probe_accuracy"])
    print(f"{method}: corpus accuracy {acc:.3f} in {m['seconds']:.0f} s -> {encoder_out}")
    return m

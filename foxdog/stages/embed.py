"""Stage ``embed``: curated photos -> frozen ImageNet features per split (``embed.out_dir``)."""

from __future__ import annotations

from foxdog.config import Params
from foxdog.model.embed import EmbedSummary, embed


def run(params: Params) -> EmbedSummary:
    """Embed every curated photo not yet in the id cache; print and return the summary."""
    summary = embed(params)
    print(summary.line())
    return summary

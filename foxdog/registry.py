"""The names the study knows: query strategies, starting models, ablation factors.

One list each; validation (:mod:`foxdog.config`), the command line, the charts and
the report pages read them from here. What a strategy *does* is in
:mod:`foxdog.active.strategies` (its ``REGISTRY`` maps these names to functions).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Query strategies, in the order charts list and colour them (random first).
STRATEGIES = (
    "random",
    "least_confident",
    "margin",
    "entropy",
    "ranked_batch",
    "committee",
    "bald",
    "coreset",
    "typiclust",
    "probcover",
    "badge",
)
#: How each strategy chooses, in words (the Method page's table).
STRATEGY_WORDS = {
    "random": "uniform sampling from the pool (the baseline)",
    "least_confident": (
        "images whose most likely class has the lowest probability (modAL uncertainty sampling)"
    ),
    "margin": "smallest gap between the two most probable classes (modAL margin sampling)",
    "entropy": "highest predictive entropy (modAL entropy sampling)",
    "ranked_batch": (
        "uncertainty ranked against similarity to what is labelled, on the CNN's "
        "embeddings (modAL ranked batch-mode sampling)"
    ),
    "committee": "disagreement of a committee of networks, consensus entropy (modAL Committee)",
    "bald": "mutual information between prediction and weights under MC dropout (BALD)",
    "coreset": (
        "greedy k-centre cover of the pool in the CNN's embedding space (core-set, Sener "
        "& Savarese 2018)"
    ),
    "typiclust": (
        "the most typical image of each least-labelled cluster of the embeddings "
        "(TypiClust, Hacohen et al. 2022)"
    ),
    "probcover": (
        "greedy cover of the pool by pure balls of radius δ in the embedding space "
        "(ProbCover, Yehuda et al. 2022)"
    ),
    "badge": (
        "k-means++ on last-layer gradient embeddings, uncertain and diverse (BADGE, Ash "
        "et al. 2020)"
    ),
}
#: How the initial labelled set is drawn (``active.initial``).
INITIAL_METHODS = ("random", "typiclust")
#: Protocol factors an ablation can vary (``ablations.factors``).
ABLATION_FACTORS = ("initial_size", "query_size", "label_noise")
#: Pretraining methods; each writes ``<pretrain.encoder_dir>/<method>.msgpack``.
PRETRAIN_METHODS = ("supervised", "simclr")


@dataclass(frozen=True)
class Start:
    """A starting model (a regime of ``active.starts``): where the network's weights begin."""

    name: str
    method: str | None  # the pretraining method whose encoder it loads; None: from scratch
    short_name: str  # for tables and chart titles
    colour: str  # where a chart compares starting models
    description: str  # what it is, in words (Markdown)


START_INFO = {
    s.name: s
    for s in (
        Start(
            "scratch",
            None,
            "scratch",
            "#495057",
            "from scratch: every weight starts from the seed's random initialisation",
        ),
        Start(
            "selfsup",
            "simclr",
            "SimCLR",
            "#1c7ed6",
            "self-supervised: the trunk of a SimCLR encoder pretrained without labels on the "
            "corpus plus the pool's pixels (`pretrain@simclr`)",
        ),
        Start(
            "transfer",
            "supervised",
            "supervised transfer",
            "#e8590c",
            "supervised transfer: the convolutional trunk of a classifier pretrained on the "
            "pretraining corpus's classes (`pretrain@supervised`)",
        ),
    )
}
#: The starting models ``active.starts`` may name.
STARTS = tuple(START_INFO)
#: Which pretraining method's encoder each pretrained start loads.
START_METHOD = {s.name: s.method for s in START_INFO.values() if s.method}

"""The names the study knows: query strategies, starting models, conditions, ablation factors.

One list each; validation (:mod:`foxdog.config`), the command line, the charts and
the report pages read them from here. What a strategy *does* is in
:mod:`foxdog.active.strategies` (its ``REGISTRY`` maps these names to functions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foxdog.config import Params

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
    "balanced_margin",
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
        "greedy k-centre cover of the pool in the model's embedding space: the CNN's last "
        "hidden layer, the frozen features for the linear head (core-set, Sener & Savarese 2018)"
    ),
    "typiclust": (
        "the most typical image of each least-labelled cluster of the start's own label-free "
        "embedding: the pretrained encoder as loaded (SimCLR's for scratch) or the frozen "
        "features (TypiClust, Hacohen et al. 2022)"
    ),
    "probcover": (
        "greedy cover of the pool by pure balls of radius δ in the embedding space "
        "(ProbCover, Yehuda et al. 2022)"
    ),
    "badge": (
        "k-means++ on last-layer gradient embeddings, uncertain and diverse (BADGE, Ash "
        "et al. 2020)"
    ),
    "balanced_margin": (
        "margin sampling within equal quotas per predicted class: the batch is split evenly "
        "over the classes the model predicts, each quota filled by its smallest margins "
        "(this project's class-balancing variant)"
    ),
}
#: How the initial labelled set is drawn (``active.initial``).
INITIAL_METHODS = ("random", "typiclust")
#: The initial-set rules in words (the Method page), stated once: the rare class may be scarce.
INITIAL_WORDS = {
    "random": (
        "stratified random: proportional allocation with at least one image of every class, "
        "so a subsampled rare class is in every initial set (no redraws; the same set for "
        "every strategy of a seed)"
    ),
    "typiclust": (
        "TypiClust's cold-start pick on the start's own embedding, no labels used: the frozen "
        "features, or the pooled trunk features of the start's pretrained encoder as loaded "
        "(SimCLR's for scratch)"
    ),
}
#: Protocol factors an ablation can vary (``ablations.factors``).
ABLATION_FACTORS = ("initial_size", "query_size", "label_noise")
#: Pretraining methods; each writes ``<pretrain.encoder_dir>/<method>.msgpack``.
PRETRAIN_METHODS = ("supervised", "simclr")


@dataclass(frozen=True)
class Start:
    """A starting model (a regime of ``active.starts``): where the network's weights begin."""

    name: str
    method: str | None  # the pretraining method whose encoder it loads; None: none of ours
    short_name: str  # for tables and chart titles
    colour: str  # where a chart compares starting models
    description: str  # what it is, in words (Markdown)
    # Frozen features (the embed stage) + a small head refitted each round (params.head),
    # instead of the CNN fine-tuned each round (params.active).
    frozen_features: bool = False
    # The pretraining method whose encoder's pooled trunk features TypiClust clusters (the
    # strategy and the typiclust initial set): the start's own encoder, as loaded, never the
    # network fine-tuned on the labels. None: the frozen features themselves.
    typiclust_method: str | None = None


START_INFO = {
    s.name: s
    for s in (
        Start(
            "scratch",
            None,
            "scratch",
            "#495057",
            "from scratch: every weight starts from the seed's random initialisation",
            # No encoder of its own: Hacohen et al. cluster a self-supervised embedding of
            # the unlabelled data, so scratch's TypiClust uses the SimCLR encoder's.
            typiclust_method="simclr",
        ),
        Start(
            "selfsup",
            "simclr",
            "SimCLR",
            "#1c7ed6",
            "self-supervised: the trunk of a SimCLR encoder pretrained without labels on the "
            "corpus plus the pool's pixels (`pretrain@simclr`)",
            typiclust_method="simclr",
        ),
        Start(
            "transfer",
            "supervised",
            "supervised transfer",
            "#e8590c",
            "supervised transfer: the convolutional trunk of a classifier pretrained on the "
            "pretraining corpus's classes (`pretrain@supervised`)",
            typiclust_method="supervised",
        ),
        Start(
            "imagenet",
            None,
            "ImageNet features",
            "#2f9e44",
            "frozen ImageNet features: EfficientNet-Lite0's 1280-d pooled features of the "
            "224-px photos (`embed`), a small Flax head trained on them each round; ImageNet "
            "saw fox and dog classes with labels",
            frozen_features=True,
        ),
    )
}
#: The starting models ``active.starts`` may name.
STARTS = tuple(START_INFO)
#: Which pretraining method's encoder each pretrained start loads.
START_METHOD = {s.name: s.method for s in START_INFO.values() if s.method}
#: Which pretraining method's encoder gives each CNN start's TypiClust embedding.
TYPICLUST_METHOD = {s.name: s.typiclust_method for s in START_INFO.values() if s.typiclust_method}
#: Starts whose rounds fine-tune the CNN (``params.active``) ...
CNN_STARTS = tuple(s.name for s in START_INFO.values() if not s.frozen_features)
#: ... and starts whose rounds fit a head on frozen features (``params.head``).
FEATURE_STARTS = tuple(s.name for s in START_INFO.values() if s.frozen_features)


@dataclass(frozen=True)
class Condition:
    """A start x pool class balance: what one results/<name>/ folder holds."""

    name: str  # ``<start>`` (natural balance) or ``<start>-<rare_class><pct>``
    start: str
    rare_class: str | None  # the class subsampled in the pool; None at the natural balance
    share: float | None  # its target share of the pool; None at the natural balance

    @property
    def natural(self) -> bool:
        """True when the pool is used as curated (no class subsampled)."""
        return self.share is None


def share_percent(share: float) -> int:
    """``0.05`` -> ``5``: a pool share as the whole percent its condition name carries."""
    return round(share * 100)


def condition_name(start: str, rare_class: str | None = None, share: float | None = None) -> str:
    """``imagenet`` at the natural balance, ``imagenet-fox05`` for foxes at 5% of the pool."""
    if share is None:
        return start
    return f"{start}-{rare_class}{share_percent(share):02d}"


def balance_conditions(
    starts: tuple[str, ...], rare_class: str, shares: tuple[float, ...]
) -> list[str]:
    """Names of ``starts`` x (natural + ``shares``), in order: what ``balance.conditions`` lists."""
    return [
        condition_name(start, rare_class, share) for start in starts for share in (None, *shares)
    ]


def conditions(params: Params) -> list[Condition]:
    """Every condition the study runs, in order: the CNN starts at the natural balance
    (``active.starts``), then each of ``balance.starts`` at the natural balance and at
    each of ``balance.shares`` of ``balance.rare_class``."""
    b = params.balance
    out = [Condition(start, start, None, None) for start in params.active.starts]
    for start in b.starts:
        out.append(Condition(start, start, None, None))
        for share in b.shares:
            out.append(
                Condition(condition_name(start, b.rare_class, share), start, b.rare_class, share)
            )
    return out


def parse_condition(name: str, classes: tuple[str, ...]) -> Condition:
    """The :class:`Condition` a name spells (any start, any class of ``classes``, 1-99%).

    Raises ValueError naming what is wrong.
    """
    if name in STARTS:
        return Condition(name, name, None, None)
    for start in STARTS:
        rest = name.removeprefix(f"{start}-")
        if rest == name:
            continue
        match = re.fullmatch(r"(.+?)(\d{2})", rest)
        if match and match.group(1) in classes and 1 <= int(match.group(2)) <= 99:
            share = int(match.group(2)) / 100
            return Condition(name, start, match.group(1), share)
    raise ValueError(
        f"condition {name!r} is not <start> or <start>-<class><two-digit percent> "
        f"(starts {', '.join(STARTS)}; classes {', '.join(classes)})"
    )

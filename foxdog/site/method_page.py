"""The Method page's sections, as display objects: the protocol, statistics and parameters.

``report/method.qmd`` calls one function per section and displays what it returns. The
settings quoted are those the analysis recorded with its results (``analysis.json``
``params``, :func:`foxdog.site.inputs.analysed_params`); measured numbers come from
``metrics/`` and ``benchmarks/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from foxdog.config import Params, to_dict
from foxdog.registry import FEATURE_STARTS, START_METHOD, STRATEGY_WORDS, conditions
from foxdog.site import fmt, inputs, markup, pages

_TTA = re.compile(r"(?i)(test-time augmentation|\bTTA\b)")


_POINTS = re.compile(r"([+−-]\s?\d+(?:\.\d+)?)\s*(?:points?|pts?|pp)\b")


def tta_measurement(readme: str) -> str | None:
    """The flip test-time augmentation gain benchmarks/README.md records, e.g. ``+0.7 points``.

    The first line that names test-time augmentation (or TTA) together with a signed
    number of points; ``"... on the validation split"`` when that line says so. None when
    the README states no such number (the page then stays qualitative).
    """
    for line in readme.splitlines():
        if not _TTA.search(line):
            continue
        found = _POINTS.search(line)
        if found:
            gain = found.group(1).replace(" ", "").replace("-", "−") + " points"
            return gain + (" on the validation split" if "validation" in line.lower() else "")
    return None


def fit_steps(train: Any, n_labelled: int) -> int:
    """Optimiser steps of one fit on ``n_labelled`` images (the training recipe's own rule)."""
    from foxdog.model.baseline import full_pool_steps

    return full_pool_steps(train, n_labelled)


def ablations_item(
    strategies: Sequence[str], factors: Sequence[str], start: str, levels: str
) -> str:
    """The Method page's ablation step: what re-ran, or that none did."""
    if not strategies or not factors:
        return "None ran in this study (`ablations.strategies` or `ablations.factors` is empty)."
    return (
        f"{fmt.join_words(list(strategies))} are re-run from the `{start}` starting model with one "
        f"factor of `ablations.factors` changed at a time: {levels}."
    )


def protocol() -> Markdown:
    """The numbered protocol: data, model, starts, upper bound, active learning, metrics."""
    p = inputs.analysed_params()
    a, t, m, b, an, ab = p.active, p.train, p.model, p.baseline, p.analysis, p.ablations
    targets = fmt.join_words([fmt.pct(x, 0) for x in an.targets])
    classes = pages.class_names(inputs.optional_json("metrics", "analysis.json"))
    starts_words = fmt.join_words([f"`{s}`" for s in a.starts])
    final_labels = a.initial_size + a.rounds * a.query_size
    # What the committed baseline was trained with (metrics/baseline/<start>.json "steps").
    baseline_doc = inputs.optional_json("metrics", "baseline", f"{a.starts[0]}.json") or {}
    baseline_steps = baseline_doc.get("steps")
    run_steps = fit_steps(t, final_labels)
    n_train = baseline_doc.get("n_train")
    if baseline_steps and n_train and baseline_steps == fit_steps(t, n_train):
        upper_bound_words = (
            f"It is the runs' own recipe ({t.epochs:g} passes over the labelled set, at least "
            f"{t.steps} steps) applied to all {fmt.integer(n_train)} pool images: "
            f"{fmt.integer(baseline_steps)} steps, where a run's last fit takes "
            f"{fmt.integer(run_steps)} (at {fmt.integer(final_labels)} labels)."
        )
    elif baseline_steps and baseline_steps > run_steps:
        upper_bound_words = (
            f"It is not the same training: a fit in the runs takes at most "
            f"{fmt.integer(run_steps)} steps (at {fmt.integer(final_labels)} labels), so part of "
            "the gap to the full pool is training length, not labels."
        )
    else:
        upper_bound_words = "It is trained with the runs' own recipe."
    tta = (
        "; predictions average the image and its mirror image (flip test-time augmentation, below)"
        if m.tta_flip
        else ""
    )
    levels = fmt.join_words(
        [f"`{f}` ({', '.join(str(v) for v in getattr(ab, f))})" for f in ab.factors]
    )
    features = _starts(p, frozen=True)
    feature_words = (
        f"; the frozen-feature starts ({fmt.join_words([f'`{s}`' for s in features])}) train "
        "only a head on fixed features and run their own protocol, at several class balances "
        "(also below); steps 4 and 5 describe the CNN starts"
        if features
        else ""
    )
    return Markdown(
        f"""
## Protocol

1. **Data.** Photos of {fmt.plural(len(classes), "class", "classes")} ({fmt.join_words(classes)};
   label *i* is the *i*-th of `data.classes`) are curated into
   {p.data.image_size}×{p.data.image_size} RGB arrays and split into a *pool* (the unlabelled
   images the learner may ask about), a *validation* split and a held-out *test* split
   ({fmt.pct(p.data.test_fraction, 0)} of the near-duplicate groups), see [Dataset](dataset.html).
2. **Model.** A small convolutional network (JAX/Flax; channel widths
   {", ".join(str(w) for w in m.widths)}, a dense layer of {m.dense} units, dropout
   {m.dropout}) is trained for at least {t.steps} steps or {t.epochs:g} passes over the labelled
   set of AdamW (batch {t.batch_size}, peak learning rate {t.learning_rate} after
   {t.warmup_steps} warm-up steps, cosine decay, weight decay {t.weight_decay}) with random
   flips and shifts of up to {t.max_shift} pixels. Augmentation is on for training and off for
   scoring{tta}.
3. **Starting models.** Every experiment runs once per regime of `active.starts`
   ({starts_words}): the network starts from random weights or from a pretrained trunk
   (see [Starting models](#starting-models) below){feature_words}.
4. **Upper bound.** Per starting model, the same architecture trained on the whole pool for
   {fmt.integer(baseline_steps)} steps, over {fmt.plural(len(b.seeds), "seed")}, gives the
   full-pool accuracy that regime's curves are compared with. {upper_bound_words}
5. **Active learning** (driven by [modAL](https://modal-python.readthedocs.io)). For each of
   {fmt.plural(len(a.seeds), "seed")} and each starting model, every strategy starts from the
   *same* {a.initial_size} labelled images (drawn stratified by label) and the same initial
   weights. Each round the strategy picks {a.query_size} pool images, the oracle reveals
   their labels (label noise {fmt.pct(a.label_noise, 0)}), and the model is retrained from
   its starting point on everything labelled so far; {a.rounds} rounds end at
   {a.final_labels()} labels ({a.initial_size} + {a.rounds} × {a.query_size}). Random
   sampling, augmented and tuned exactly like the rest, is the baseline.
6. **Metrics.** After every round: test accuracy, balanced accuracy, macro-averaged F1,
   log-loss and expected calibration error. Per regime and strategy: the normalised area
   under the learning curve (AULC), the labels needed to reach {targets} of a reference
   accuracy, the stopping rule and the plateau (see [Statistics](#statistics) below).
7. **Ablations.** {ablations_item(ab.strategies, ab.factors, ab.start, levels)}
"""
    )


def validation() -> Markdown:
    """The validation split, what is tuned on it, and which defaults saw the test split."""
    val = getattr(inputs.analysed_params().data, "val_fraction", None)
    return Markdown(
        "A *validation* split is carved from the pool before anything else"
        + (
            f" ({fmt.pct(val, 0)} of the pool, by near-duplicate group and stratified by label)"
            if val
            else ""
        )
        + ". It is never queried and never trained on. Every choice made by looking at "
        "results — hyper-parameters, early decisions, the stopping rule's stop set — uses "
        "the validation split; the test split is only scored. The CNN's architecture and "
        "training length (model widths, stem, steps and batch size: benchmarks/README.md "
        "sections 3–5) were first chosen on the **test** split; they have since been "
        "re-checked on the validation split alone (section 7: epochs and flip test-time "
        "augmentation; section 11: widths, step floor and batch, from scratch), and no "
        "default would change. The starting models (section 6), the head of the imagenet "
        "start (section 8) and the stop rules (section 14) were chosen on validation. The "
        "test accuracies the early tables quote remain optimistic, not the site's: the "
        "pipeline never reads the test split to choose anything."
    )


def _measured(method: str, stats: dict[str, Any] | None) -> str:
    """An encoder's last pretraining run (``metrics/pretrain_<method>.json``), in words."""
    if not stats:
        return (
            f" (`metrics/pretrain_{method}.json` is absent: `pretrain@{method}` has not run here.)"
        )
    return (
        f" Its last run: {fmt.num(stats.get('seconds'), 0)} s for "
        f"{fmt.integer(stats.get('steps'))} steps on "
        f"{fmt.integer(stats.get('corpus_train_images'))} corpus images"
        + (
            f" and {fmt.integer(stats['pool_images'])} pool images"
            if stats.get("pool_images")
            else ""
        )
        + (
            f"; {fmt.integer(stats.get('classes'))}-way top-1 accuracy on "
            f"{fmt.integer(stats.get('corpus_holdout_images'))} held-out corpus images "
            f"{fmt.pct(stats['top1_accuracy'])}"
            if stats.get("top1_accuracy") is not None
            else ""
        )
        + (
            f"; a linear probe on the trunk {fmt.pct(stats['linear_probe_accuracy'])}"
            if stats.get("linear_probe_accuracy") is not None
            else ""
        )
        + f" (`metrics/pretrain_{method}.json`)."
    )


def starting_models() -> Markdown:
    """Where every fit of a regime begins: each start, how its trunk was pretrained and tuned."""
    p = inputs.analysed_params()
    m, pre = p.model, p.pretrain
    corpus = inputs.optional_json("curated_pretrain", "datasheet.json")
    n_corpus = f"{fmt.plural(corpus['classes'], 'class', 'classes')}" if corpus else "classes"
    lines = []
    for start in p.active.starts:
        words = pages.START_WORDS.get(start, start)
        method = START_METHOD.get(start)
        if method is None:
            lines.append(f"- **{start}** — {words}.")
            continue
        stats = inputs.optional_json("metrics", f"pretrain_{method}.json")
        widths = (stats or {}).get("widths", m.widths)
        how = (
            f"trained to classify the {n_corpus} of the pretraining corpus described on the "
            "[Dataset](dataset.html) page"
            if method == "supervised"
            else f"trained contrastively (NT-Xent, temperature {pre.temperature}, projection "
            f"width {pre.projection}, discarded afterwards) on two augmented views of each "
            "corpus image and pool image, no labels used"
        )
        lines.append(
            f"- **{start}** — {words}. The study's network (conv widths "
            f"{', '.join(str(w) for w in widths)}), {how}, {pre.epochs} epochs of AdamW "
            f"(batch {pre.batch_size}, learning rate {pre.learning_rate}); only the "
            f"convolutional trunk is kept, in `{pre.encoder_dir}/{method}.msgpack`."
            f"{_measured(method, stats)}"
        )
    tuning = (
        "fine-tuned fully: the trunk learns at the same rate as the head (`model.trunk_lr` 1.0)"
        if m.trunk_lr == 1.0
        else "frozen (`model.trunk_lr` 0)"
        if m.trunk_lr == 0
        else f"fine-tuned at `model.trunk_lr` = {m.trunk_lr} times the head's learning rate"
    )
    text = (
        "Where every fit of a regime begins (`active.starts`):\n\n"
        + "\n".join(lines)
        + f"\n\nFrom a pretrained start the dense head is new (from the seed) and the trunk is "
        f"{tuning}; the choice was measured on the validation split (benchmarks/README.md, "
        "section 6). The same seeds, initial labelled sets and strategies run from every one "
        "of these starts, so they differ only in the starting weights."
    )
    return Markdown(text + feature_starts(p))


def feature_starts(p: Params) -> str:
    """The frozen-feature starts (``balance.starts``): features, head, protocol, balances."""
    starts = _starts(p, frozen=True)
    if not starts:
        return ""
    h, bal = p.head, p.balance
    head = (
        "a multinomial logistic regression"
        if h.hidden == 0
        else f"one hidden ReLU layer of {h.hidden} units and a softmax"
    )
    shares = fmt.join_words([fmt.pct(x, 0) for x in bal.shares])
    lines = [f"- **{s}** — {pages.START_WORDS.get(s, s)}." for s in starts]
    balance = (
        f" Each runs at the pool's natural class balance and with `{bal.rare_class}` "
        f"subsampled to {shares} of the pool (`balance.shares`): a seed's own draw of the "
        f"{bal.rare_class} images, the same for every strategy of that seed; validation and "
        "test are untouched, and a subsampled pool is scored by "
        f"{p.analysis.metric_subsampled.replace('_', ' ')} (`analysis.metric_subsampled`)."
        if bal.shares
        else ""
    )
    return (
        "\n\nThe frozen-feature starts (`balance.starts`) run their own protocol (`head`):\n\n"
        + "\n".join(lines)
        + f"\n\nEach round trains {head} on the frozen features from zero weights, "
        f"{h.steps} full-batch AdamW steps (learning rate {h.learning_rate}, weight decay "
        f"{h.weight_decay}), so a round costs milliseconds and the protocol affords "
        f"{fmt.plural(len(h.seeds), 'seed')}: {h.initial_size} labels, then {h.query_size} per "
        f"round for {h.rounds} rounds ({h.initial_size + h.rounds * h.query_size} labels)."
        + balance
    )


def test_time_augmentation() -> Markdown:
    """Whether predictions average an image and its mirror, and its measured effect."""
    readme = inputs.path("benchmarks", "README.md")
    measured = tta_measurement(readme.read_text(encoding="utf-8")) if readme.is_file() else None
    if not inputs.analysed_params().model.tta_flip:
        return Markdown(
            "Test-time augmentation is off (`model.tta_flip: false`): every image is scored once."
        )
    text = (
        "With `model.tta_flip` on, every prediction (test metrics, the querying model's "
        "probabilities, the stop set) is the mean of the network's probabilities for the image "
        "and for its mirror image, matching the flips seen in training."
    )
    return Markdown(
        text
        + (
            f" benchmarks/README.md records its effect: {measured}."
            if measured
            else " benchmarks/README.md states no measured effect of it yet, so none is quoted "
            "here."
        )
    )


def statistics() -> Markdown:
    """Intervals, the pre-declared test, identical arms, targets, stopping, plateau, records."""
    an = inputs.analysed_params().analysis
    targets = fmt.join_words([fmt.pct(x, 0) for x in an.targets])
    level = fmt.pct(an.confidence, 0)
    return Markdown(
        f"""
- **Intervals.** Every band and interval on this site (learning curves, the full-pool
  baseline, AULC, the class shares of the queries, paired differences) is a {level} Student-t
  interval of the mean over seeds: mean ± t × standard error. With fewer than
  {an.min_seeds} seeds no interval is given. A simulation test checks that over 2,000
  simulated experiments of 5 and of 10 seeds these intervals cover the true mean at
  least 93% of the time.
- **One pre-declared test per starting model.** For each strategy, the per-seed AULC minus
  random's on the same seed (same initial set and weights) within that starting model.
  The test is the exact two-sided sign-flip permutation test of the mean difference:
  under "no difference" each seed's sign is equally likely to be flipped, so all 2^n sign
  patterns are enumerated (for more than {an.max_exact_seeds} seeds,
  2^{an.max_exact_seeds} random patterns instead, a Monte Carlo p-value). It is reported
  with the mean difference and its {level} t-interval. With n seeds no p-value can be
  below 2/2^n (0.0625 for 5 seeds).
- **Identical arms.** Strategies that queried exactly the same images in every seed and
  round ran the same experiment; they are one arm (written "a = b"), tested once.
- **Several strategies.** The p-values of the distinct arms are adjusted together by
  Benjamini–Hochberg; a strategy is *significant* when the adjusted p is below
  α = {an.alpha}. A best strategy is named only when it is significantly better than
  random; otherwise the result says that no strategy is better than random (or
  distinguishable from it, when none is significantly worse either), quoting the arm with the
  largest mean AULC, which side of random it is on, its difference and interval.
- **Labels to a target.** Targets are {targets} of the same start's full-pool accuracy,
  trained with the runs' own recipe; declared before the runs and never switched by
  outcome (a target the budget does not reach is reported as not reached). Each
  seed's curve is interpolated linearly between rounds to find where it first crosses
  the target; the median over seeds is reported with the share of seeds that got there.
  The saving against random is paired per seed, over the seeds where both got there.
- **Stopping rule** (stabilising predictions, Bloodgood & Vijay-Shanker 2009). After each
  round the model predicts the fixed *stop set* (the validation split's images; no labels
  used); Cohen's κ between consecutive rounds' predictions is recorded. Labelling stops at
  the first round where the mean κ over {an.stop_window} consecutive rounds is at least
  {an.stop_kappa} (the CNN starts: two seeds' models agree about that much at the end of
  the budget), or over {an.head_stop_window} rounds at least {an.head_stop_kappa} for the
  frozen-feature head, whose 10-label rounds agree far more than its seeds do (chosen on
  the validation curve, `benchmarks/README.md` §14). Reported: labels at stop (median
  over seeds), the share of seeds that stop, and accuracy at stop minus accuracy at the
  end of the budget, paired.
- **Plateau.** Each seed's least-squares slope over {an.slope_window} consecutive rounds;
  the curve is called flat only when the upper end of the slope's {level} t-interval is
  below {an.slope_threshold} accuracy per label ({100 * 100 * an.slope_threshold:g} point
  per 100 labels), from that round to the end of the run.
- **Ablations** change the total budget (initial-set and batch sizes), so their levels
  are compared at a fixed label budget, the smallest final budget common to the levels,
  each seed's accuracy interpolated there.
- **Starting models** are compared by their full-pool accuracy (paired by baseline seed
  against scratch) and descriptively by their learning curves; the tests above compare
  strategies within one starting model.
- **Head-to-head records** count per-seed wins, ties (AULC within {an.tie_tolerance}) and
  losses; they describe, the test above decides.
"""
    )


def _starts(p: Params, frozen: bool) -> list[str]:
    """The study's starts (of every condition, once) that do, or do not, train only a head on
    frozen features."""
    starts = dict.fromkeys(c.start for c in conditions(p))
    return [s for s in starts if (s in FEATURE_STARTS) == frozen]


def strategy_table(p: Params) -> tuple[pd.DataFrame, str]:
    """Every strategy of either protocol, how it chooses, and which protocols ran it; caption."""
    ran = {  # label: (its starts, the strategies they ran, the params.yaml key)
        "CNN starts": (_starts(p, frozen=False), p.active.strategies, "active.strategies"),
        "frozen-feature head": (_starts(p, frozen=True), p.head.strategies, "head.strategies"),
    }
    names = list(dict.fromkeys(s for which, chosen, _ in ran.values() if which for s in chosen))
    table = pd.DataFrame(
        {"strategy": names, "how it chooses": [STRATEGY_WORDS.get(s, "") for s in names]}
    )
    for label, (which, chosen, _) in ran.items():
        if which:
            table[f"{label} ({fmt.join_words(which)})"] = [
                "yes" if s in chosen else "–" for s in names
            ]
    used = " and ".join(key for which, _, key in ran.values() if which)
    caption = f"Strategies compared and where each ran (params.yaml: {used})"
    if (table == "–").any().any():
        caption += (
            "; one marked – did not run in that protocol (a CNN round costs seconds, a head "
            "round milliseconds) and is one -S away"
        )
    return table, caption


def strategies() -> HTML:
    """The strategies compared, how each chooses, and which protocols ran it."""
    table, caption = strategy_table(inputs.analysed_params())
    return HTML(markup.html_table(table, caption=caption))


def parameters() -> HTML:
    """Every parameter the results were produced with, as one table."""
    rows = []
    for section, values in to_dict(inputs.analysed_params()).items():
        for key, value in values.items():
            shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            rows.append({"parameter": f"{section}.{key}", "value": shown})
    return HTML(markup.html_table(pd.DataFrame(rows), caption="params.yaml"))


def detectability() -> HTML:
    """What the seeds can see: per condition, the smallest AULC difference detectable.

    From the analysis's power document (``regimes.<condition>.power``): the largest SD over
    strategies of the paired per-seed AULC difference from random, the smallest difference
    the pre-declared test detects with ``analysis.power`` at those seeds, and the seeds a
    difference of ``analysis.effect`` would need.
    """
    doc = inputs.analysis()
    rows = []
    for name, regime in (doc.get("regimes") or {}).items():
        pw = regime.get("power") or {}
        sds = [v.get("sd") for v in (pw.get("strategies") or {}).values()]
        sds = [x for x in sds if x is not None and x == x]
        rows.append(
            {
                "condition": name,
                "seeds": pw.get("n_seeds"),
                "sd": max(sds) if sds else None,
                "detectable": pw.get("detectable"),
                "needed": pw.get("seeds_needed"),
            }
        )
    if not rows:
        return HTML("<p>No regime has been analysed yet.</p>")
    first = next(iter(doc["regimes"].values())).get("power") or {}
    power, effect = first.get("power", 0.8), first.get("effect", 0.01)
    frame = pd.DataFrame(rows)
    caption = (
        f"What the seeds can detect: the smallest AULC difference from random that the "
        f"pre-declared test finds with {fmt.pct(power, 0)} power at the seeds run, and the "
        f"seeds a difference of {fmt.pp(effect, 0, signed=False)} would need (from the largest "
        "per-seed SD of a strategy's paired difference; smaller differences may exist unseen)"
    )

    def pts(x: Any) -> str:
        return "–" if fmt.is_missing(x) else f"{100 * float(x):.2f}"

    def count(x: Any) -> str:
        return "–" if fmt.is_missing(x) else f"{int(x):,}"

    return HTML(
        markup.html_table(
            frame,
            {
                "condition": "condition",
                "seeds": "seeds",
                "sd": "SD of paired AULC difference (points)",
                "detectable": "detectable difference (points)",
                "needed": f"seeds for {fmt.pp(effect, 0, signed=False)}",
            },
            {"seeds": count, "sd": pts, "detectable": pts, "needed": count},
            caption=caption,
        )
    )

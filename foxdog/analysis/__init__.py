"""The study's analysis: learning curves, AULC, labels to a target, stopping, plateaus, tests.

The study has regimes, one per *condition* (``foxdog.registry.conditions``: a start —
from scratch, a pretrained trunk or frozen ImageNet features — at the pool's natural
class balance, or with ``balance.rare_class`` subsampled). Each condition runs its
start's protocol (``Params.protocol``: strategies, seeds, rounds, decision budgets). For
every condition it reads ``results/<condition>/<strategy>/rounds.csv`` (and
``queries.csv``: identical arms and class shares of the picks) and
``metrics/baseline/<condition>.json``, and analyses the regime on its own — exactly what
a one-regime study would get. The decision map (:mod:`foxdog.analysis.decision`) and the
report's further facts (:mod:`foxdog.analysis.facts`) are built on the regimes.
Ablations (``results/ablations/<factor>/<strategy>/rounds.csv``
for every ``ablations.factors`` and ``ablations.strategies``) belong to the regime
``ablations.start``. A cross-regime layer then compares the starting models and writes
the overview's first two sentences as data. Every output is written atomically, with
deterministic bytes (floats to 6 significant digits, JSON keys sorted, NaN written as
an empty CSV cell or JSON ``null``). Every constant that drives a conclusion is in
``params.yaml`` ``analysis:``; class names come from ``data.classes`` (label i =
``classes[i]``), any number of them.

Definitions (per regime)
------------------------
- **Intervals** (one function, :func:`t_interval`, everywhere: curves, baselines,
  AULC, class shares, paired differences): mean over seeds ± the Student-t quantile at
  ``analysis.confidence`` times the standard error; none (NaN) below
  ``analysis.min_seeds`` seeds.
- **AULC**: trapezoid area under accuracy-vs-``n_labels`` divided by the label
  range (a mean accuracy over the run); per seed, then mean and t-interval. Primary on
  the axis ``analysis.aulc_axis`` (linear); the other axis (log labels: early rounds
  weigh as much as late ones) is reported with its paired difference, untested.
- **Power**: per strategy the SD over seeds of its paired AULC difference from random,
  and the paired seeds a two-sided t-test at ``analysis.alpha`` needs for
  ``analysis.power`` at a difference of ``analysis.effect`` (noncentral t); the regime
  needs the most any strategy needs (``power.enough``).
- **Arms**: strategies whose ``queries.csv`` holds the same images in every seed,
  round and rank made the same run: they are one arm (``"least_confident = margin"``),
  tested once and named together.
- **Pre-declared test**: per distinct arm, the paired difference of per-seed AULC
  from random; two-sided exact sign-flip permutation test of its mean over all
  ``2**n`` sign patterns (``scipy.stats.permutation_test``) for
  ``n <= analysis.max_exact_seeds``, above that ``2**max_exact_seeds`` random sign
  patterns (seeded; a Monte Carlo p-value). Reported with the mean difference and its
  t-interval. Benjamini–Hochberg over the distinct arms of the regime; ``significant`` =
  adjusted p < ``analysis.alpha``. With ``n`` non-zero differences no p-value is below
  ``2/2**n``.
- **Verdict**: a strategy is named best only if its arm is significantly better than
  random (largest mean difference among those); otherwise the verdict says no
  strategy is distinguishable from random and quotes the arm with the largest mean AULC
  and which side of random it is on.
- **Targets**: ``analysis.targets`` shares of the regime's full-pool baseline accuracy
  (trained with the runs' recipe), pre-declared and never switched by the outcome;
  ``target_reference.share_reached`` is the best arm's mean final accuracy over it.
- **labels_to_<k>**: per seed, the labels at which the learning curve first crosses
  the target, linearly interpolated between rounds; reported as the median over seeds
  (a seed that never reaches it counts as +inf, so the median is empty when half the
  seeds or more never reach it) and the share of seeds reaching it.
- **saving_vs_random_<k>**: per seed, random's labels minus the strategy's, over every
  paired seed: a seed that never reached the target is censored and counted at its run's
  final labels (a bound: a censored random arm can only shrink a saving, a censored
  strategy only flatter it; neither reached: no saving); mean and t-interval.
  ``n_reached_both`` says how many seeds were measured, ``n_strategy_only``/
  ``n_random_only``/``n_neither`` how the others were censored.
- **Class shares**: per seed, the share of each class (``true_label`` of
  ``queries.csv``) among all images the strategy queried; mean and t-interval (clipped
  to [0, 1]). Per round, ``share_<class>`` of that round's batch is a curve metric.
- **Stopping rule** (Bloodgood & Vijay-Shanker 2009): per seed, the first round at
  which the mean of ``kappa_stop`` over ``analysis.stop_window`` consecutive rounds is
  at least ``analysis.stop_kappa``; labels at stop (median, censored as above), share
  of seeds stopping, accuracy at stop minus accuracy at the end of the budget (paired
  over the seeds that stop), and over every seed what stopping costs on the test curve
  (``accuracy_cost``) and saves (``labels_saved``). The CNN starts' threshold is
  calibrated against the between-seed κ: the agreement of two seeds' final random models
  on the stop set (``stop_calibration``), which a rule asking consecutive rounds for more
  can hardly reach. The frozen-feature starts have their own threshold and window
  (``analysis.head_stop_kappa``/``head_stop_window``, ``Params.analysis_for``): their
  10-label rounds agree far more than their seeds do, so their between-seed κ would stop
  them at 40-70 labels (benchmarks/README.md, "Stop rule"). Empty when ``rounds.csv``
  has no ``kappa_stop``.
- **Plateau**: per seed, least-squares slope of accuracy per label over every window
  of ``analysis.slope_window`` consecutive rounds; the curve is flat from the first
  window start from which on the upper confidence bound of the mean slope stays below
  ``analysis.slope_threshold``. ``power``: the chance this shows a truly flat curve flat
  (equally, tells a slope of the threshold from none) given the observed between-seed
  SD of window slopes; ``power_by_window`` for every window length.
- **Ablations**: levels are compared at a fixed label budget, the smallest final
  budget common to all levels of the factor (accuracy interpolated per seed), and by
  the paired difference from random at that budget.
- **Win/tie/loss**: per seed, strategy vs opponent AULC difference; a tie when
  ``|difference| <= analysis.tie_tolerance``.

Across regimes (``starting_model``, ``overview``)
-------------------------------------------------
- **Reference start**: ``scratch`` when it is one of ``active.starts``, else the first
  of them. Seeds pair across regimes: baseline seeds (``baseline.seeds``) and AL seeds
  (``active.seeds``) are the same in every regime.
- **Full-pool value of a start**: its baseline accuracy (t-interval over seeds) and the
  paired-by-seed difference from the reference start; ``best_start`` has the highest
  mean full-pool accuracy.
- **Value for a random-labelling user**: per regime the random arm's AULC and final
  accuracy, and their paired-by-seed differences from the reference start's random arm.
- **Common targets** (comparable across regimes): ``analysis.targets`` shares of the
  *reference start's* full-pool accuracy, the same absolute accuracies in every regime;
  labels to reach them per start and strategy (median, censored as above) and random's
  paired saving against the reference start's random arm. No new constant: the shares
  are the pre-declared ``analysis.targets``.
- **Study-wide adjustment**: Benjamini–Hochberg over every regime's distinct tested arms
  together (``p_adjusted_all``), reported next to the per-regime verdict; the verdicts
  themselves use the per-regime family.
- **Overview sentences**: (1) in which regimes a strategy is significantly better than
  random (per-regime verdict) and its paired saving at the highest per-regime target
  that it and random both reach in at least half the seeds (and at least
  ``analysis.min_seeds``); else that none is, with each
  regime's closest arm, its interval and adjusted p. (2) the full-pool accuracy per
  start (difference from the reference start) and the labels random sampling needs in
  each regime to reach the highest common target whose median the reference start's
  random arm reaches (the lowest common target if none), with the best start's paired
  saving. Never names a best strategy without significance.

Modules, in import order: ``read`` (inputs), ``stats``, ``narrative`` (sentences),
``curves``, ``groups`` (one strategy), ``tables``, ``regime``, ``study`` (headline
choices), ``decision`` (the decision map), ``facts`` (further facts for the report),
``sources`` (full-pool test accuracy per photo source, from the baselines' test predictions).
The stage that runs them is :mod:`foxdog.stages.analyze`.
Outputs: see the ``metrics/`` and ``plots/`` section of ``docs/formats.md``.
"""

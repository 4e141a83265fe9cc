"""How fast is the CNN on this machine? Training / scoring throughput and one active-learning round.

Usage (from the project root)::

    python benchmarks/throughput.py                      # defaults from params.yaml
    python benchmarks/throughput.py --image-size 64 --widths 16,32,64 --stem 2
    python benchmarks/throughput.py --accuracy curated   # + full-pool test accuracy
    python benchmarks/throughput.py --compare-conv       # + XLA conv vs im2col vs hybrid
    python benchmarks/throughput.py --imagenet features/imagenet  # + the imagenet start

Prints, for the configuration in ``params.yaml`` (overridable with flags):
training images/s, scoring images/s, seconds for one active-learning round
(fit on ``--labelled`` images + score a ``--pool``-image pool), compile time,
and achieved GFLOP/s as a fraction of this machine's float32 matmul peak
(measured here with a large ``jnp.dot``). Images are random uint8 arrays:
throughput does not depend on content. With ``--accuracy DIR`` it also trains
on the whole curated pool in ``DIR`` and reports test accuracy. With
``--imagenet FEATURES`` (the embed stage's folder) it times EfficientNet-Lite0's
forward pass at 224 px, one frozen-feature round (head fit on ``--labelled``
pool features + ``predict_proba`` on the whole pool) and reports the head's
full-pool test accuracy beside scikit-learn's LogisticRegression.

Timings take the best of ``--repeats`` runs after a warm-up, and block on
results (JAX dispatch is asynchronous). Other processes sharing the CPU make
single runs noisy; the best of several is the steadiest estimate.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from sklearn.base import clone

from foxdog.config import Params, load_params
from foxdog.model.estimator import FlaxCNNClassifier

_DIMS = ("NHWC", "HWIO", "NHWC")


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` (which must block on its result)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """float32 GFLOP/s of a large jitted ``jnp.dot``: the practical peak of this CPU."""
    a = jnp.ones((n, n), jnp.float32)
    b = jnp.ones((n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    return 2 * n**3 / best_seconds(lambda: dot(a, b).block_until_ready(), repeats) / 1e9


def forward_flops(image_size: int, widths: tuple[int, ...], dense: int, stem: int) -> list[float]:
    """Multiply-add FLOPs (x2) per image of each conv layer's forward pass, then the head."""
    size, cin, flops = image_size // stem, 3 * stem * stem, []
    for w in widths:
        flops.append(2.0 * size * size * 9 * cin * w)
        size, cin = size // 2, w
    flops.append(2.0 * (cin * dense + dense * 2))
    return flops


def training_flops(layers: list[float]) -> float:
    """Per-image FLOPs of one training step: forward, weight gradient, input gradient.

    The first layer needs no input gradient (XLA drops it), so it costs 2x its
    forward pass; every other layer 3x.
    """
    return 2 * layers[0] + 3 * sum(layers[1:])


def _xla_conv(x: jax.Array, k: jax.Array) -> jax.Array:
    return lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=_DIMS)


def _im2col_conv(x: jax.Array, k: jax.Array) -> jax.Array:
    kh, kw, cin, cout = k.shape
    p = lax.conv_general_dilated_patches(x, (kh, kw), (1, 1), "SAME", dimension_numbers=_DIMS)
    return p @ k.transpose(2, 0, 1, 3).reshape(cin * kh * kw, cout)  # patches are (C, kh, kw)


@jax.custom_vjp
def _hybrid_conv(x: jax.Array, k: jax.Array) -> jax.Array:
    """XLA convolution forward; gradient: input via a flipped-kernel conv, kernel via one matmul."""
    return _xla_conv(x, k)


def _hybrid_fwd(x: jax.Array, k: jax.Array) -> tuple[jax.Array, tuple]:
    return _xla_conv(x, k), (x, k)


def _hybrid_bwd(res: tuple, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    x, k = res
    kh, kw, cin, cout = k.shape
    dx = _xla_conv(g, jnp.flip(k, (0, 1)).transpose(0, 1, 3, 2))
    xp = jnp.pad(x, ((0, 0), (kh // 2,) * 2, (kw // 2,) * 2, (0, 0)))
    h, w = x.shape[1:3]
    cols = [xp[:, i : i + h, j : j + w, :] for i in range(kh) for j in range(kw)]
    dk = jnp.einsum("nhwk,nhwc->kc", jnp.concatenate(cols, axis=-1), g)
    return dx, dk.reshape(kh, kw, cin, cout)


_hybrid_conv.defvjp(_hybrid_fwd, _hybrid_bwd)


def compare_conv_formulations(
    image_size: int, widths: tuple[int, ...], stem: int, batch: int, repeats: int = 3
) -> None:
    """Time SGD steps on a conv stack three ways, each jitted alone and inside ``lax.scan``.

    ``xla``: ``lax.conv_general_dilated`` differentiated by JAX; ``im2col``:
    ``lax.conv_general_dilated_patches`` + matmul; ``hybrid``: XLA forward
    with a hand-written matmul weight gradient (``jax.custom_vjp``).
    """
    from foxdog.model.cnn import max_pool_2x2, space_to_depth

    chans = (3 * stem * stem, *widths)
    keys = jax.random.split(jax.random.key(0), len(widths))
    kernels = [
        jax.random.normal(k, (3, 3, a, b)) * (2 / (9 * a)) ** 0.5
        for k, a, b in zip(keys, chans[:-1], chans[1:], strict=True)
    ]
    x = space_to_depth(
        jax.random.normal(jax.random.key(1), (batch, image_size, image_size, 3)), stem
    )
    n_scan = 10
    for name, conv in (("xla", _xla_conv), ("im2col", _im2col_conv), ("hybrid", _hybrid_conv)):

        def loss(ks: list, conv: Callable = conv) -> jax.Array:
            h = x
            for k in ks:
                h = max_pool_2x2(jax.nn.relu(conv(h, k)))
            return (h**2).mean()

        def sgd(ks: list, _: object = None, loss: Callable = loss) -> tuple[list, None]:
            return [k - 1e-3 * g for k, g in zip(ks, jax.grad(loss)(ks), strict=True)], None

        one = jax.jit(lambda ks, sgd=sgd: sgd(ks)[0])
        scanned = jax.jit(lambda ks, sgd=sgd: lax.scan(sgd, ks, None, length=n_scan)[0])
        fwd = jax.jit(loss)
        for f in (one, scanned, fwd):
            jax.block_until_ready(f(kernels))
        t_one = best_seconds(lambda one=one: jax.block_until_ready(one(kernels)), repeats)
        t_scan = best_seconds(lambda s=scanned: jax.block_until_ready(s(kernels)), repeats)
        t_fwd = best_seconds(lambda fwd=fwd: jax.block_until_ready(fwd(kernels)), repeats)
        print(
            f"conv {name:6s}: step jitted alone {batch / t_one:7.0f} images/s, "
            f"in lax.scan {n_scan * batch / t_scan:7.0f}, forward only {batch / t_fwd:7.0f}"
        )


def pretrain_throughput(
    clf: FlaxCNNClassifier, size: int, batch_size: int, steps: int = 20
) -> dict[str, float]:
    """Images/s of one supervised (84-class) and one SimCLR pretraining step, random images."""
    from foxdog.config import ModelConfig, PretrainConfig
    from foxdog.model import pretrain

    model = ModelConfig(widths=tuple(clf.widths), dense=clf.dense, stem=clf.stem)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch_size * steps, size, size, 3), dtype=np.uint8)
    y = np.arange(len(x)) % 84
    out = {}
    for method in ("supervised", "simclr"):
        cfg = PretrainConfig(method=method, epochs=1, batch_size=batch_size, warmup_steps=1)
        spec = pretrain.make_spec(model, cfg, 84, len(x))
        pretrain.pretrain(spec, x[:batch_size], y[:batch_size], 0)  # compile
        start = time.perf_counter()
        pretrain.pretrain(spec, x, y, 0)
        out[method] = steps * batch_size / (time.perf_counter() - start)
    return out


def round_seconds_per_regime(
    clf: FlaxCNNClassifier, x_lab, y_lab, x_pool, encoder: Path, repeats: int
) -> dict[str, float]:
    """Seconds of one AL round (fit + score) from scratch and from ``encoder`` per trunk_lr."""
    import tempfile

    from foxdog.model import train
    from foxdog.model.encoder import save_encoder

    clf = clone(clf).fit(x_lab, y_lab)
    if not encoder.is_file():  # any trunk of the right shape times the same: use a scratch one
        encoder = Path(tempfile.mkdtemp()) / "encoder.msgpack"
        save_encoder(
            encoder, train.trunk_of(clf.params_), {"widths": list(clf.widths), "stem": clf.stem}
        )
    out = {}
    for name, kw in (
        ("scratch", {}),
        ("transfer, trunk_lr 1", dict(start="transfer", encoder=str(encoder), trunk_lr=1.0)),
        ("transfer, trunk_lr 0.1", dict(start="transfer", encoder=str(encoder), trunk_lr=0.1)),
        ("transfer, frozen trunk", dict(start="transfer", encoder=str(encoder), trunk_lr=0.0)),
    ):
        c = clone(clf).set_params(**kw)
        c.fit(x_lab, y_lab).predict_proba(x_pool)  # compile
        out[name] = best_seconds(lambda c=c: c.fit(x_lab, y_lab).predict_proba(x_pool), repeats)
    return out


def imagenet_start(
    features_dir: Path, curated_dir: Path, labelled: int, repeats: int, seed: int
) -> None:
    """Print the imagenet start's numbers: embedding speed, round time, full-pool accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    from foxdog.model import effnet
    from foxdog.model.head import FeatureHeadClassifier

    data = {}
    for split in ("pool", "val", "test"):
        ids = np.load(features_dir / f"{split}_ids.npy")
        if not np.array_equal(ids, np.load(curated_dir / f"{split}_ids.npy")):
            raise SystemExit(f"{features_dir}: {split} ids differ from {curated_dir} (run embed)")
        data[split] = (
            np.load(features_dir / f"{split}.npy"),
            np.load(curated_dir / f"{split}_labels.npy"),
        )

    batch = np.random.default_rng(seed).integers(0, 256, (32, 224, 224, 3), dtype=np.uint8)
    model = effnet.pretrained()
    effnet.features(batch, model)
    secs = best_seconds(lambda: effnet.features(batch, model), repeats)
    print(f"EfficientNet-Lite0 224 px:  {32 / secs:8.1f} photos/s (forward, batch 32)")

    x_pool, y_pool = data["pool"]
    rng = np.random.default_rng(seed)
    lab = rng.choice(len(x_pool), size=min(labelled, len(x_pool)), replace=False)
    head = FeatureHeadClassifier(seed=seed)
    head.fit(x_pool[lab], y_pool[lab]).predict_proba(x_pool)  # compile
    round_s = best_seconds(
        lambda: head.fit(x_pool[lab], y_pool[lab]).predict_proba(x_pool), repeats
    )
    print(
        f"imagenet head round ({len(lab)} fit + {len(x_pool)} scored): {round_s * 1e3:6.1f} ms "
        f"(steps={head.steps}, hidden={head.hidden})"
    )
    x_test, y_test = data["test"]
    for name, clf in (
        ("head", clone(head)),
        ("LogisticRegression", LogisticRegression(max_iter=5000)),
    ):
        start = time.perf_counter()
        clf.fit(x_pool, y_pool)
        secs = time.perf_counter() - start
        pred = clf.predict(x_test)
        print(
            f"full pool, {name:18s} ({len(x_pool)} images, {secs:5.2f} s): "
            f"test accuracy {np.mean(pred == y_test):.3f}, "
            f"balanced {balanced_accuracy_score(y_test, pred):.3f}"
        )


def head_strategy_rounds(
    params: Params, features_dir: Path, curated_dir: Path, labelled: int, repeats: int, seed: int
) -> None:
    """Print one frozen-feature AL round (head fit + query) per strategy of ``head.strategies``
    at ``labelled`` labels, and the projected wall time of the frozen-feature conditions."""
    from foxdog.active import modal_compat
    from foxdog.active.protocol import estimator_factory
    from foxdog.active.strategies import get_strategy
    from foxdog.registry import FEATURE_STARTS

    modal_compat.apply()
    from modAL.models import ActiveLearner

    x_pool = np.load(features_dir / "pool.npy")
    y_pool = np.load(curated_dir / "pool_labels.npy")
    h = params.head
    make = estimator_factory(params, FEATURE_STARTS[0])
    rng = np.random.default_rng(seed)

    def round_seconds(strategy: str, n_labels: int) -> tuple[float, float]:
        lab = rng.choice(len(x_pool), size=min(n_labels, len(x_pool) - h.query_size), replace=False)
        unl = np.setdiff1d(np.arange(len(x_pool)), lab)
        query = get_strategy(strategy)
        fit = best_seconds(
            lambda: ActiveLearner(make(seed), X_training=x_pool[lab], y_training=y_pool[lab]),
            repeats,
        )
        learner = ActiveLearner(make(seed), X_training=x_pool[lab], y_training=y_pool[lab])
        q = best_seconds(
            lambda: query(learner, x_pool[unl], n_instances=h.query_size, random_state=seed),
            repeats,
        )
        return fit, q

    protocol = params.protocol(FEATURE_STARTS[0])
    grid = protocol.round_labels()
    sample = [grid[0], grid[len(grid) // 2], grid[-1]]
    n_conditions = len(params.balance.conditions)
    total = 0.0
    for strategy in h.strategies:
        round_seconds(strategy, labelled)  # compile
        fit, q = round_seconds(strategy, labelled)
        # The mean round over the protocol, from the first, middle and last label counts.
        mean_round = float(np.mean([sum(round_seconds(strategy, n)) for n in sample]))
        stage = mean_round * len(grid) * len(h.seeds)
        total += stage * n_conditions
        print(
            f"head round at {labelled} labels, {strategy:15s}: fit {fit * 1e3:7.1f} ms + "
            f"query {q * 1e3:7.1f} ms; one al_head stage ({len(h.seeds)} seeds x "
            f"{len(grid)} fits) ~{stage:6.0f} s"
        )
    print(
        f"projected `dvc repro` of the {n_conditions} frozen-feature conditions x "
        f"{len(h.strategies)} strategies: ~{total / 60:.0f} min (rounds only, one process each "
        "adds ~15 s of start-up and compilation)"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--image-size", type=int, help="default: data.image_size")
    ap.add_argument("--widths", help="comma-separated, default: model.widths")
    ap.add_argument("--dense", type=int)
    ap.add_argument("--stem", type=int, help="space-to-depth factor, default: the estimator's")
    ap.add_argument("--steps", type=int, help="default: train.steps")
    ap.add_argument("--batch-size", type=int, help="default: train.batch_size")
    ap.add_argument("--labelled", type=int, default=500, help="labelled images per AL round")
    ap.add_argument("--pool", type=int, default=3000, help="pool images scored per AL round")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--accuracy", type=Path, help="curated dir: also report full-pool accuracy")
    ap.add_argument("--accuracy-steps", type=int, help="default: the runs' recipe")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compare-conv", action="store_true", help="also time 3 conv formulations")
    ap.add_argument(
        "--pretrain", action="store_true", help="also time pretraining steps and AL round per start"
    )
    ap.add_argument("--encoder", type=Path, default=Path("models/supervised.msgpack"))
    ap.add_argument("--imagenet", type=Path, help="embed stage's folder: time the imagenet start")
    ap.add_argument("--curated", type=Path, default=Path("curated"), help="labels for --imagenet")
    args = ap.parse_args(argv)

    params = load_params(args.params)
    model, tr = params.model, params.train
    if args.widths:
        model = dataclasses.replace(model, widths=tuple(int(w) for w in args.widths.split(",")))
    if args.dense:
        model = dataclasses.replace(model, dense=args.dense)
    if args.steps:
        tr = dataclasses.replace(
            tr, steps=args.steps, warmup_steps=min(tr.warmup_steps, args.steps - 1)
        )
    if args.batch_size:
        tr = dataclasses.replace(tr, batch_size=args.batch_size)
    clf = FlaxCNNClassifier.from_config(model, tr, seed=args.seed)
    if args.stem:
        clf.set_params(stem=args.stem)
    size = args.image_size or params.data.image_size

    rng = np.random.default_rng(0)
    x_lab = rng.integers(0, 256, (args.labelled, size, size, 3), dtype=np.uint8)
    y_lab = np.arange(args.labelled) % 2
    x_pool = rng.integers(0, 256, (args.pool, size, size, 3), dtype=np.uint8)

    print(
        f"jax {jax.__version__} on {jax.devices()[0].device_kind}, {jax.device_count()} device(s)"
    )
    print(
        f"config: image_size={size} widths={clf.widths} dense={clf.dense} stem={clf.stem} "
        f"steps={clf.steps} epochs={clf.epochs:g} batch_size={clf.batch_size}"
    )
    peak = matmul_peak_gflops()
    print(f"float32 matmul peak:        {peak:8.1f} GFLOP/s")

    start = time.perf_counter()
    clf.fit(x_lab, y_lab)
    clf.predict_proba(x_pool).sum()
    cold = time.perf_counter() - start
    fit_s = best_seconds(lambda: clf.fit(x_lab, y_lab), args.repeats)
    score_s = best_seconds(lambda: clf.predict_proba(x_pool), args.repeats)
    round_s = best_seconds(lambda: clf.fit(x_lab, y_lab).predict_proba(x_pool), args.repeats)
    compile_s = cold - fit_s - score_s

    # A fit runs max(steps, epochs x n / batch) steps: count those actually taken.
    steps_per_fit = len(clf.loss_curve_)
    train_ips = steps_per_fit * clf.batch_size / fit_s
    score_ips = args.pool / score_s
    layers = forward_flops(size, tuple(clf.widths), clf.dense, clf.stem)
    train_gflops = train_ips * training_flops(layers) / 1e9
    score_gflops = score_ips * sum(layers) / 1e9
    print(
        f"training:                   {train_ips:8.0f} images/s  "
        f"({fit_s:.2f} s per fit of {steps_per_fit} steps)"
    )
    print(f"scoring:                    {score_ips:8.0f} images/s")
    print(f"AL round ({args.labelled} fit + {args.pool} scored): {round_s:6.2f} s")
    print(f"compile (first fit+score):  {compile_s:8.1f} s")
    print(
        f"achieved:  training {train_gflops:6.1f} GFLOP/s = {train_gflops / peak:5.1%} of peak; "
        f"scoring {score_gflops:6.1f} GFLOP/s = {score_gflops / peak:5.1%} of peak "
        f"({sum(layers) / 1e6:.1f} MFLOP/image forward)"
    )

    if args.pretrain:
        pcfg = params.pretrain
        for method, ips in pretrain_throughput(clf, size, pcfg.batch_size).items():
            print(f"pretraining {method:10s}:   {ips:8.0f} images/s (batch {pcfg.batch_size})")
        for name, secs in round_seconds_per_regime(
            clf, x_lab, y_lab, x_pool, args.encoder, args.repeats
        ).items():
            print(f"AL round, {name:24s}: {secs:6.2f} s")

    if args.compare_conv:
        compare_conv_formulations(size, tuple(clf.widths), clf.stem, clf.batch_size, args.repeats)

    if args.imagenet:
        imagenet_start(args.imagenet, args.curated, args.labelled, args.repeats, args.seed)
        head_strategy_rounds(
            params, args.imagenet, args.curated, args.labelled, args.repeats, args.seed
        )

    if args.accuracy:
        from foxdog.data.arrays import load_split

        pool, test = load_split(args.accuracy, "pool"), load_split(args.accuracy, "test")
        from foxdog.model.baseline import full_pool_steps

        # Default: the baseline stage's recipe (the runs' train.steps / train.epochs).
        steps = args.accuracy_steps or full_pool_steps(params.train, len(pool))
        full = clone(clf).set_params(steps=steps, warmup_steps=min(clf.warmup_steps, steps - 1))
        start = time.perf_counter()
        full.fit(pool.images, pool.labels)
        seconds = time.perf_counter() - start
        acc = full.score(test.images, test.labels)
        print(f"full pool ({len(pool)} images, {steps} steps, {seconds:.0f} s): accuracy {acc:.3f}")


if __name__ == "__main__":
    main()

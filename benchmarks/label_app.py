"""The labelling app on a real collection: speed, memory, and how honest its estimate is.

Usage (from the project root; the fox/dog photos are in data/ after `make data`,
or read-only in ../shared/foxdog-raw: pass ``--dir`` and ``--oracle``)::

    python benchmarks/label_app.py                       # data/, data/SOURCES.csv
    python benchmarks/label_app.py --replays 3 --budget 100 --latency-labels 50   # quick

Prints, in order:

1. **Start-up**: indexing + feature throughput (decode, checks, hashes and
   features of every photo, images/s), the feature extractor alone (images/s),
   and the time to the first page (page, state and first photo served over
   HTTP) after the features are done.
2. **Next pick**: the app served by uvicorn on a free port, answered over HTTP
   from the oracle with retraining in the background; latency of ``POST
   /api/label`` (whose answer names the next photo) and of that photo, p50 and
   p95.
3. **Replays** (``--replays`` per strategy, replay mode, a group-aware held-out
   test split never offered): at every batch of labels, whether the live
   estimate's interval covers the current model's true accuracy on the test
   split (and on the photos still unlabelled, what it estimates), and labels
   needed until the estimate (once it pools ``label.min_random`` checks), and
   the true test accuracy, first reach each of ``--targets``: the active
   strategy vs random, paired by replay seed.
4. Peak resident memory of the process.

The project (index and feature cache) is built in ``--project`` (default: a
temporary folder) and reused by every replay; each replay has its own log.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before the heavy imports: start-up includes them

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def startup(args: argparse.Namespace, params, folder: Path):
    """Index + features, then the first page over HTTP; returns the loaded project."""
    from starlette.testclient import TestClient

    from foxdog.label.app import create_app
    from foxdog.label.command import load
    from foxdog.label.features import get_extractor
    from foxdog.label.session import LabelSession

    t_import = time.perf_counter() - T0
    start = time.perf_counter()
    extractor = get_extractor(params.label.extractor, params)  # cached: load() reuses it
    size = extractor.image_size
    extractor.embed(np.zeros((1, size, size, 3), np.uint8))  # load + compile
    t_compile = time.perf_counter() - start
    start = time.perf_counter()
    loaded = load(Path(args.dir), folder, args.classes.split(","), params)
    t_embed = time.perf_counter() - start
    n = loaded.project.n_photos + len(loaded.project.skipped)
    page_start = time.perf_counter()
    session = LabelSession(loaded.project, loaded.features, loaded.has_features, params.label)
    with TestClient(create_app(session), base_url="http://127.0.0.1:8765") as client:
        assert client.get("/").status_code == 200
        state = client.get("/api/state").json()
        assert client.get(f"/photo/{state['current']}").status_code == 200
    t_page = time.perf_counter() - page_start
    session.close()
    (folder / "log.jsonl").unlink(missing_ok=True)

    pixels = np.random.default_rng(0).integers(0, 256, (1024, size, size, 3), dtype=np.uint8)
    extractor.embed(pixels[:256])  # compiled already; warm the allocator
    start = time.perf_counter()
    extractor.embed(pixels)
    t_features = time.perf_counter() - start
    print("## start-up")
    print(f"photos: {loaded.project.n_photos} indexed, {len(loaded.project.skipped)} skipped")
    print(f"imports: {t_import:.1f} s; extractor load + compile: {t_compile:.1f} s")
    print(
        f"indexing + features (decode, checks, hashes, {extractor.name} features): "
        f"{t_embed:.1f} s = {n / t_embed:.0f} images/s (0 s when the project exists)"
    )
    print(f"feature extractor alone: {1024 / t_features:.0f} images/s at {size} px")
    print(f"first page after features: {t_page:.2f} s (page + state + first photo, HTTP)")
    total = t_import + t_compile + t_embed + t_page
    print(
        f"first page {total:.1f} s after start = indexing + features + "
        f"{total - t_embed:.1f} s (imports, compile, page)"
    )
    return loaded


def next_pick_latency(args, params, loaded, answers, folder: Path) -> None:
    """Label over HTTP (uvicorn), retraining in the background; latency percentiles."""
    import httpx2 as httpx
    import uvicorn

    from foxdog.label.app import create_app
    from foxdog.label.session import LabelSession

    session = LabelSession(loaded.project, loaded.features, loaded.has_features, params.label)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(session), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    label_s, photo_s, busy = [], [], 0
    with httpx.Client(base_url=url, timeout=60) as client:
        state = client.get("/api/state").json()
        for _ in range(args.latency_labels):
            photo = state["current"]
            if photo is None:
                break
            start = time.perf_counter()
            state = client.post("/api/label", json={"id": photo, "class": answers[photo]}).json()
            label_s.append(time.perf_counter() - start)
            busy += bool(state["training"])
            if state["current"] is not None:
                start = time.perf_counter()
                client.get(f"/photo/{state['current']}")
                photo_s.append(time.perf_counter() - start)
    server.should_exit = True
    thread.join(10)
    session.close()
    (folder / "log.jsonl").unlink(missing_ok=True)
    print("## next pick (HTTP, uvicorn, background retraining)")
    print(
        f"POST /api/label -> next pick: p50 {percentile_ms(label_s, 50):.0f} ms, "
        f"p95 {percentile_ms(label_s, 95):.0f} ms over {len(label_s)} labels "
        f"({busy} answered while a retrain was running)"
    )
    print(
        f"next photo (resized JPEG): p50 {percentile_ms(photo_s, 50):.0f} ms, "
        f"p95 {percentile_ms(photo_s, 95):.0f} ms"
    )


def one_replay(params, loaded, answers, truth, test_ids, strategy, seed, budget, folder):
    """Replay ``budget`` labels; per batch: (labels, low, high, estimate, test acc, rest acc)."""
    from foxdog.label.estimate import estimate_at
    from foxdog.label.replay import replay
    from foxdog.label.session import LabelSession

    cfg = dataclasses.replace(params.label, seed=seed, strategy=strategy)
    run_dir = folder / f"replay_{strategy}_{seed}"
    run_dir.mkdir()
    for name in ("project.json", "index.csv", "skipped.csv"):
        shutil.copy(loaded.project.folder / name, run_dir / name)
    project = dataclasses.replace(loaded.project, folder=run_dir)
    session = LabelSession(
        project, loaded.features, loaded.has_features, cfg, holdout=test_ids, synchronous=True
    )
    rows = []

    def checkpoint(s: LabelSession) -> None:
        n = s.log.state.n_labels()
        if n % cfg.batch_size or (rows and rows[-1][0] == n) or s.model is None:
            return
        est = estimate_at(s.log.state.answers, n, cfg)
        predicted = s.model.predicted()
        test_acc = float(np.mean(predicted[test_ids] == truth[test_ids]))
        unlabelled = s.available()  # the population the next random checks are drawn from
        rest_acc = float(np.mean(predicted[unlabelled] == truth[unlabelled]))
        if est is not None:
            rows.append((n, est.low, est.high, est.accuracy, test_acc, rest_acc, est.n))

    replay(session, answers, budget, on_label=checkpoint)
    session.close()
    shutil.rmtree(run_dir)
    return np.array(rows)


def replays(args, params, loaded, answers) -> None:
    from foxdog.data.split import split_by_group

    project = loaded.project
    classes = list(project.classes)
    truth = np.array([classes.index(a) if a in classes else -1 for a in answers.values()])
    groups = project.index["group"].to_numpy()
    held = split_by_group(truth.astype(str), groups, args.test_fraction, seed=0)
    test_ids = np.flatnonzero(held & (truth >= 0))
    strategies = args.strategies.split(",")
    targets = [float(t) for t in args.targets.split(",")]
    print(f"## replays: {args.replays} per strategy, {args.budget} labels each")
    print(
        f"held-out test split: {len(test_ids)} photos (group-aware, "
        f"test_fraction {args.test_fraction}); estimate window {params.label.estimate_window}, "
        f"1 in {round(1 / params.label.random_share)} picks random, batches of "
        f"{params.label.batch_size}"
    )
    scratch = Path(tempfile.mkdtemp(prefix="foxdog-replays-"))
    reach: dict[str, list[list[float]]] = {s: [] for s in strategies}
    marks = [m for m in (50, 100, 200, 300, 500) if m <= args.budget]
    at_marks: dict[str, list[np.ndarray]] = {s: [] for s in strategies}
    for strategy in strategies:
        covered = covered_rest = total = covered_late = total_late = 0
        final_test, final_est = [], []
        start = time.perf_counter()
        for seed in range(args.replays):
            rows = one_replay(
                params, loaded, answers, truth, test_ids, strategy, seed, args.budget, scratch
            )
            n, low, high, est, test_acc, rest_acc, checks = rows.T
            inside = (low <= test_acc) & (test_acc <= high)
            covered += int(inside.sum())
            covered_rest += int(((low <= rest_acc) & (rest_acc <= high)).sum())
            total += len(rows)
            late = checks >= params.label.min_random
            covered_late += int(inside[late].sum())
            total_late += int(late.sum())
            at_marks[strategy].append(
                np.array(
                    [
                        [test_acc[n == m][0], est[n == m][0]]
                        if (n == m).any()
                        else [np.nan, np.nan]
                        for m in marks
                    ]
                )
            )
            final_test.append(test_acc[-1])
            final_est.append(est[-1])
            # An estimate from a handful of checks can read 100% by chance: count it only
            # once it pools label.min_random checks. The true curve is read as it is.
            trusted = checks >= params.label.min_random
            reach[strategy].append(
                [_first(n, trusted & (est >= t)) for t in targets]
                + [_first(n, test_acc >= t) for t in targets]
            )
        took = time.perf_counter() - start
        print(
            f"{strategy}: interval covers test accuracy at {covered}/{total} checkpoints "
            f"({covered / total:.1%}); with >= {params.label.min_random} checks "
            f"{covered_late}/{total_late} ({covered_late / max(total_late, 1):.1%}); covers the "
            f"unlabelled photos' accuracy at {covered_rest / total:.1%}. Final test accuracy "
            f"{np.mean(final_test):.3f} ± {np.std(final_test):.3f}, final estimate "
            f"{np.mean(final_est):.3f}. {took / args.replays:.1f} s per replay"
        )
    print("mean over replays at fixed label counts (test accuracy / live estimate):")
    print("labels   " + "   ".join(f"{s:>15}" for s in strategies))
    for k, m in enumerate(marks):
        cells = []
        for strategy in strategies:
            table = np.array(at_marks[strategy])[:, k]
            cells.append(f"{np.nanmean(table[:, 0]):.3f} / {np.nanmean(table[:, 1]):.3f}")
        print(f"{m:>6}   " + "   ".join(f"{c:>15}" for c in cells))
    if "random" in reach:
        base = np.array(reach["random"])
        for strategy in strategies:
            if strategy == "random":
                continue
            other = np.array(reach[strategy])
            for j, (kind, t) in enumerate(
                [("estimate", t) for t in targets] + [("test accuracy", t) for t in targets]
            ):
                a, r = other[:, j], base[:, j]
                both = np.isfinite(a) & np.isfinite(r)
                print(
                    f"labels until the {kind} first reaches {t:.0%}: {strategy} median "
                    f"{_median(a)}, random {_median(r)}; {strategy} fewer in "
                    f"{int((a[both] < r[both]).sum())}, more in {int((a[both] > r[both]).sum())} "
                    f"of {int(both.sum())} paired replays (not reached in {args.budget} labels: "
                    f"{int((~np.isfinite(a)).sum())} vs {int((~np.isfinite(r)).sum())})"
                )
    shutil.rmtree(scratch)


def _first(labels: np.ndarray, reached: np.ndarray) -> float:
    """Labels at the first checkpoint where ``reached`` holds; inf if never."""
    return float(labels[np.argmax(reached)]) if reached.any() else np.inf


def _median(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    return "—" if finite.size == 0 else f"{np.median(finite):.0f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--dir", default="data", help="photo folder (default: %(default)s)")
    ap.add_argument("--oracle", default="data/SOURCES.csv", help="its SOURCES.csv")
    ap.add_argument("--classes", default="dog,fox")
    ap.add_argument("--project", help="project folder (default: a temporary one)")
    ap.add_argument("--latency-labels", type=int, default=200)
    ap.add_argument("--replays", type=int, default=20)
    ap.add_argument("--budget", type=int, default=300, help="labels per replay")
    ap.add_argument("--strategies", default="margin,random")
    ap.add_argument("--targets", default="0.6,0.65", help="accuracies to reach")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    args = ap.parse_args(argv)

    from foxdog.config import load_params
    from foxdog.label.replay import read_oracle

    params = load_params(args.params)
    own = args.project is None
    folder = Path(args.project or tempfile.mkdtemp(prefix="foxdog-label-bench-"))
    try:
        loaded = startup(args, params, folder)
        answers = read_oracle(Path(args.oracle), loaded.project)
        if args.latency_labels:
            next_pick_latency(args, params, loaded, answers, folder)
        if args.replays:
            replays(args, params, loaded, answers)
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"## memory\npeak resident memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()

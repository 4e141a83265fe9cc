"""Same fingerprint, same numbers: seed 0 round 0 against the value recorded for this machine kind.

XLA compiles for the machine it runs on (vector width, FMA), so floating-point
results differ between machine kinds; :func:`foxdog.active.state.machine_kind` is
part of every run's fingerprint. This test re-fits round 0 of seed 0 on a tiny
generated data set and compares it with ``machine_reference.json``. It runs as the
stages run a seed: in a process pinned to one core (:mod:`foxdog.active.workers`), so the
kind is ``...:1cpu`` whatever the machine's core count. A machine kind with no recorded
value is skipped, saying how to record one:

    python tests/test_machine_reference.py --record
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from foxdog.active.loop import Experiment
from foxdog.active.protocol import RunSpec
from foxdog.active.state import machine_kind

REFERENCE = Path(__file__).with_name("machine_reference.json")


def _split(n: int, seed: int):  # noqa: ANN202
    from foxdog.data.arrays import Split

    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3 == 0).astype(np.int64)
    images = rng.integers(0, 256, size=(n, 12, 12, 3)).astype(np.float64)
    tint = np.where(labels[:, None, None, None] == 1, [90, -40, -40], [-40, -20, 60])
    images = np.clip(images * 0.6 + 60 + tint, 0, 255).astype(np.uint8)
    return Split(images=images, labels=labels, ids=np.array([f"{i:016d}" for i in range(n)]))


def round_zero(tmp: Path) -> dict:
    """Seed 0, round 0: test metrics and the evaluated model's test probabilities."""
    from foxdog.model.estimator import FlaxCNNClassifier

    def cnn(seed: int) -> FlaxCNNClassifier:
        return FlaxCNNClassifier(
            widths=(4, 8),
            dense=8,
            batch_size=16,
            steps=6,
            epochs=0.0,  # the recorded values predate params.yaml's defaults as __init__'s
            warmup_steps=1,
            max_shift=1,
            tta_flip=False,
            seed=seed,
        )

    pool, test = _split(60, 1), _split(20, 2)
    spec = RunSpec(strategy="random", seed=0, initial_size=8, query_size=4, rounds=0)
    experiment = Experiment(spec, cnn, pool, test, tmp / "state.json")
    record = experiment.run()["rounds"][0]
    init = experiment.initial
    proba = cnn(0).fit(pool.images[init], pool.labels[init]).predict_proba(test.images)
    return {
        "accuracy": record["accuracy"],
        "log_loss": record["log_loss"],
        "proba": proba.tolist(),
    }


def pinned_round_zero() -> tuple[str, dict]:
    """The machine kind and :func:`round_zero` of a fresh process pinned to one core."""
    # The child pins itself before its first JAX computation (a preexec_fn would fork this
    # multithreaded process, which JAX warns can deadlock).
    core = str(min(os.sched_getaffinity(0)))
    out = subprocess.run(
        [sys.executable, __file__, "--value", core], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out.splitlines()[-1])
    return got.pop("kind"), got


def test_round_zero_matches_the_value_recorded_for_this_machine_kind() -> None:
    recorded = json.loads(REFERENCE.read_text(encoding="utf-8"))
    kind, got = pinned_round_zero()
    assert kind.endswith(":1cpu") or not kind.startswith("cpu:"), kind
    if kind not in recorded:
        pytest.skip(
            f"no reference recorded for machine kind {kind!r} (have: {', '.join(recorded)}); "
            "record one with `python tests/test_machine_reference.py --record`"
        )
    want = recorded[kind]
    # Bitwise: on one machine kind the pipeline is deterministic to the last bit.
    assert got["accuracy"] == want["accuracy"] and got["log_loss"] == want["log_loss"]
    np.testing.assert_array_equal(got["proba"], want["proba"])


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:2] == ["--value"]:  # the pinned child of pinned_round_zero
        os.sched_setaffinity(0, {int(sys.argv[2])})
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps({"kind": machine_kind(), **round_zero(Path(tmp))}))
        sys.exit(0)
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_machine_reference.py --record")
    from foxdog import io

    kind, value = pinned_round_zero()
    recorded = json.loads(REFERENCE.read_text(encoding="utf-8")) if REFERENCE.is_file() else {}
    recorded[kind] = value
    io.write_json(REFERENCE, recorded)
    print(f"recorded {kind} in {REFERENCE}")

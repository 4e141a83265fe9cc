"""Seeds in single-core worker processes: the same numbers whatever the number of workers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foxdog.active import workers as workers_module
from foxdog.active.loop import run_specs
from foxdog.active.protocol import RunSpec
from foxdog.active.workers import default_workers, run_pinned
from foxdog.data.arrays import Split

sys.path.insert(0, str(Path(__file__).parent))
from tiny_models import tiny_cnn  # noqa: E402

TIMING = ["fit_seconds", "query_seconds"]


def make_split(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3 == 0).astype(np.int64)
    images = rng.integers(0, 256, size=(n, 12, 12, 3)).astype(np.uint8)
    images[labels == 1, ..., 0] = 250
    return Split(images=images, labels=labels, ids=np.array([f"{seed}{i:015d}" for i in range(n)]))


def specs(strategy: str = "margin") -> list[RunSpec]:
    return [RunSpec(strategy, seed, initial_size=8, query_size=5, rounds=2) for seed in (0, 1, 2)]


def run(tmp: Path, workers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return run_specs(
        specs(),
        tiny_cnn,
        make_split(60, 1),
        make_split(20, 2),
        tmp / "state",
        progress=False,
        val=make_split(16, 3),
        workers=workers,
    )


def test_one_worker_and_two_give_the_same_rows_in_spec_order(tmp_path: Path) -> None:
    rounds1, queries1 = run(tmp_path / "one", workers=1)
    rounds2, queries2 = run(tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(rounds1.drop(columns=TIMING), rounds2.drop(columns=TIMING))
    pd.testing.assert_frame_equal(queries1, queries2)
    assert list(rounds2.drop_duplicates("seed")["seed"]) == [0, 1, 2]
    # every seed ran on one core, and says so
    assert rounds2["machine"].str.endswith(":1cpu").all() or not rounds2["machine"][0].startswith(
        "cpu:"
    )
    slug = rounds2["machine"][0].replace(":", "-")
    assert sorted(p.name for p in (tmp_path / "two" / "state" / slug).rglob("*.json")) == [
        "seed_0.json",
        "seed_1.json",
        "seed_2.json",
    ]


def test_a_resumed_stage_reads_the_workers_states(tmp_path: Path) -> None:
    first, _ = run(tmp_path, workers=2)
    for state in (tmp_path / "state").rglob("seed_*.json"):
        os.utime(state, (0, 0))
    again, _ = run(tmp_path, workers=2)
    # nothing was refitted: the saved seconds come back as they were
    pd.testing.assert_frame_equal(first, again)
    assert all(s.stat().st_mtime == 0 for s in (tmp_path / "state").rglob("seed_*.json"))


def _fails_on_two(x: int) -> int:
    if x == 2:
        raise ValueError(f"item {x}: bad input")
    return x * 10


def _cores(_: int) -> list[int]:
    return sorted(os.sched_getaffinity(0))


def test_a_task_error_reaches_the_caller_with_its_message() -> None:
    with pytest.raises(ValueError, match="item 2: bad input"):
        dict(run_pinned(_fails_on_two, [0, 1, 2, 3], workers=2))


def test_each_worker_runs_on_one_core() -> None:
    got = dict(run_pinned(_cores, [0, 1, 2, 3], workers=2))
    assert sorted(got) == [0, 1, 2, 3]
    assert all(len(cores) == 1 for cores in got.values())
    assert default_workers(1) == 1
    assert default_workers(100) == len(os.sched_getaffinity(0))


def test_where_the_os_cannot_pin_the_seeds_run_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from foxdog.stages.common import _workers

    monkeypatch.setattr(workers_module, "CAN_PIN", False)
    monkeypatch.setattr(workers_module.os, "cpu_count", lambda: 6)
    assert default_workers(14) is None and workers_module.core_count() == 6
    assert _workers(None, 14) is None
    assert _workers(4, 14) is None
    assert "cannot pin a process" in capsys.readouterr().err

"""Tests for foxdog/cli.py: `foxdog curate` and `foxdog data fetch` end to end.

Expected failures must end with one ``foxdog: ...`` line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import snapshot_tree

from foxdog.cli import main
from foxdog.config import Params, to_dict
from foxdog.stages.baseline import format_interval


def full_params(overrides: dict[str, dict[str, object]]) -> dict:
    """The committed parameters (= the code defaults) as a dict, with sections overridden."""
    raw = to_dict(Params())
    for section, values in overrides.items():
        raw[section].update(values)
    return raw


def write_params(path: Path, **data: object) -> Path:
    path.write_text(yaml.safe_dump(full_params({"data": data})), encoding="utf-8")
    return path


def foxdog(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter (exit status, stderr as a user sees it)."""
    return subprocess.run(
        [sys.executable, "-m", "foxdog.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("foxdog: ") and "Traceback" not in stderr
    return lines[0]


def test_curate_on_the_generated_collection(raw_collection, curated, tmp_path, capsys):
    out = tmp_path / "curated"
    params = write_params(
        tmp_path / "params.yaml", raw_dir=str(raw_collection.root), out_dir=str(out)
    )
    assert main(["curate", "--params", str(params)]) == 0
    captured = capsys.readouterr()
    n_kept, n_dropped = len(curated.manifest), len(raw_collection.drops)
    assert captured.out.startswith(f"curated {n_kept} images (")
    assert f"dropped {n_dropped} -> {out}/" in captured.out
    warnings = captured.err.strip().splitlines()
    assert warnings == [
        f"foxdog: warning: {raw_collection.root / raw_collection.empty_folders[0]}: empty folder",
        f"foxdog: warning: {raw_collection.missing[0]}: listed in SOURCES.csv but missing",
    ]
    # Same parameters as the session run: the same bytes.
    for path in curated.out_dir.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    assert snapshot_tree(raw_collection.root, raw_collection.outside) == raw_collection.snapshot


def test_missing_raw_folder_is_one_line_and_exit_2(tmp_path):
    params = write_params(tmp_path / "params.yaml", raw_dir="no_such_raw", out_dir="out")
    proc = foxdog("curate", "--params", str(params), cwd=tmp_path)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert line.startswith("foxdog: no_such_raw: raw folder not found")
    assert not (tmp_path / "out").exists()


def test_empty_class_folder_is_one_line_naming_it(make_raw, tmp_path, capsys):
    raw = make_raw({"fox/src_a": 12, "dog/src_c/breed": 0})
    params = write_params(tmp_path / "p.yaml", raw_dir=str(raw.root), out_dir=str(tmp_path / "o"))
    assert main(["curate", "--params", str(params)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == f"foxdog: {raw.root / 'dog'}: no images in class folder (label 'dog')"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (full_params({"active": {"query_size": 0}}), "active.query_size=0 must be >= 1"),
        (full_params({"data": {"imagesize": 32}}), "data.imagesize is not a known parameter"),
        (
            full_params({"data": {"image_size": "big"}}),
            "data.image_size must be an integer, got 'big'",
        ),
        (
            full_params({"data": {"raw_dir": "data", "out_dir": "data"}}),
            "data.out_dir='data' must differ",
        ),
        (
            full_params({"train": {"batch_size": 100000}}),
            "train.batch_size=100000 must be <= 4096",
        ),
        ({"data": {"image_size": 32}}, "model is missing (every parameter must be set)"),
        (None, "is empty (every section and parameter must be set)"),
    ],
)
def test_bad_params_are_one_line_and_exit_2(tmp_path, capsys, content, message):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(content), encoding="utf-8")
    assert main(["curate", "--params", str(params)]) == 2
    assert one_error_line(capsys.readouterr().err).startswith(f"foxdog: {params}: {message}")


def test_missing_params_file(tmp_path, capsys):
    assert main(["curate", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: not found" in one_error_line(capsys.readouterr().err)


def test_output_inside_raw_folder_is_refused(make_raw, tmp_path, capsys):
    raw = make_raw()
    params = write_params(tmp_path / "p.yaml", raw_dir=str(raw.root), out_dir=str(raw.root / "c"))
    assert main(["curate", "--params", str(params)]) == 2
    assert "output folder is inside the raw folder" in one_error_line(capsys.readouterr().err)
    assert snapshot_tree(raw.root) == raw.snapshot


def test_fetch_without_a_dvc_file_is_one_line(tmp_path, capsys):
    assert main(["data", "fetch", "--dvc-file", str(tmp_path / "data.dvc")]) == 2
    assert one_error_line(capsys.readouterr().err).endswith(
        "data.dvc: not found (run from the project root)"
    )


def write_pool(folder: Path, split: str, n: int, seed: int, size: int = 16) -> None:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 120, (n, size, size, 3), dtype=np.uint8)
    images[labels == 1, :, :, 0] += 120  # foxes redder
    np.save(folder / f"{split}_images.npy", images)
    np.save(folder / f"{split}_labels.npy", labels.astype(np.int64))
    np.save(folder / f"{split}_ids.npy", np.array([f"{split}{i:014d}" for i in range(n)]))


def small_project(tmp_path: Path, **overrides: dict[str, object]) -> Path:
    """A 40-image pool, a 24-image test split and parameters sized for them."""
    curated = tmp_path / "curated"
    curated.mkdir()
    write_pool(curated, "pool", 40, seed=0)
    write_pool(curated, "test", 24, seed=1)
    sections: dict[str, dict[str, object]] = {
        "data": {"out_dir": str(curated), "image_size": 16},
        # Same architecture / step count as tests/test_model.py's SMALL: compiled code is shared.
        "model": {"widths": [8, 16], "dense": 16},
        "train": {"batch_size": 16, "steps": 40, "warmup_steps": 4, "max_shift": 2},
        "baseline": {"seeds": [0]},
        "active": {
            "starts": ["scratch"],
            "seeds": [0],
            "initial_size": 10,
            "query_size": 5,
            "rounds": 2,
        },
        "ablations": {
            "start": "scratch",
            "factors": ["initial_size", "query_size", "label_noise"],
            "seeds": [0],
            "initial_size": [6],
            "query_size": [3],
        },
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(full_params(sections)), encoding="utf-8")
    return path


def test_baseline_with_one_seed_prints_a_dash_for_the_interval(tmp_path, capsys):
    params = small_project(tmp_path)
    out = tmp_path / "metrics" / "baseline" / "scratch.json"
    assert main(["baseline", "--start", "scratch", "--params", str(params), "--out", str(out)]) == 0
    summary = json.loads(out.read_text())
    acc = summary["accuracy"]
    assert summary["seeds"] == [0] and acc["low"] is None and acc["high"] is None
    # With --out the predictions go beside it, not over the study's results/baseline/.
    predictions = out.with_suffix(".test_predictions.csv")
    assert predictions.is_file()
    assert capsys.readouterr().out.endswith(
        f"baseline (scratch) accuracy {acc['mean']:.3f} – -> {out}, {predictions}\n"
    )


def test_format_interval():
    assert format_interval({"mean": 0.9, "low": 0.8512, "high": 0.9488}) == "[0.851, 0.949]"
    assert format_interval({"mean": 0.9, "low": None, "high": None}) == "–"


@pytest.mark.parametrize(
    ("command", "overrides", "message"),
    [
        (
            ["al", "--start", "scratch", "--strategy", "random"],
            {"active": {"initial_size": 20, "query_size": 10, "rounds": 3}},
            "active.initial_size + active.rounds * active.query_size = 20 + 3 * 10 = 50 "
            "must be <= the 40 pool images in {curated}/",
        ),
        (
            ["ablate", "--factor", "initial_size", "--strategy", "random"],
            {"ablations": {"initial_size": [6, 45]}},
            "ablations.initial_size=(6, 45): level 45 + active.rounds * active.query_size "
            "= 45 + 2 * 5 = 55 must be <= the 40 pool images in {curated}/",
        ),
        (
            ["baseline", "--start", "scratch"],
            {"train": {"batch_size": 64}},
            "train.batch_size=64 must be <= the 40 pool images in {curated}/",
        ),
        (
            ["baseline", "--start", "scratch"],
            {"data": {"image_size": 32}},
            "data.image_size=32 must match the 16x16 images in {curated}/ (re-run `foxdog curate`)",
        ),
    ],
)
def test_limits_are_checked_against_the_pool_before_any_work(
    tmp_path, capsys, command, overrides, message
):
    params = small_project(tmp_path, **overrides)
    results = tmp_path / "results"
    extra = ["--out", str(tmp_path / "b.json")] if command[0] == "baseline" else []
    if command[0] != "baseline":
        extra = ["--results", str(results)]
    assert main([*command, "--params", str(params), *extra]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == f"foxdog: {params}: " + message.format(curated=tmp_path / "curated")
    assert not results.exists() and not (tmp_path / "b.json").exists()


def test_analyze_writes_every_regime_and_names_a_missing_baseline(tmp_path, capsys, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from synthetic_results import STARTS, make_project

    root = make_project(tmp_path, seeds=(0, 1), rounds=2, ablations=False)
    monkeypatch.chdir(root)
    assert main(["analyze"]) == 0
    assert capsys.readouterr().out == "analysis written to metrics/ and plots/\n"
    summary = json.loads((root / "metrics" / "summary.json").read_text())
    assert set(summary) == {*STARTS, "starting_model", "overview", "decision"}
    before = (root / "metrics" / "summary.json").read_bytes()
    (root / "metrics" / "baseline" / "selfsup.json").unlink()
    assert main(["analyze"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        "foxdog: metrics/baseline/selfsup.json: not found — produced by "
        "`dvc repro baseline@selfsup`"
    )
    assert (root / "metrics" / "summary.json").read_bytes() == before  # nothing rewritten

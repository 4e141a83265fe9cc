"""Tests for foxdog/cli.py: `foxdog curate` and `foxdog data fetch` end to end.

Expected failures must end with one ``foxdog: ...`` line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import snapshot_tree

from foxdog.cli import main


def write_params(path: Path, **data: object) -> Path:
    path.write_text(yaml.safe_dump({"data": data}), encoding="utf-8")
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
        ({"active": {"query_size": 0}}, "active.query_size=0 must be >= 1"),
        ({"data": {"imagesize": 32}}, "data.imagesize is not a known parameter"),
        ({"data": {"image_size": "big"}}, "data.image_size must be an integer, got 'big'"),
        ({"data": {"raw_dir": "data", "out_dir": "data"}}, "data.out_dir='data' must differ"),
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

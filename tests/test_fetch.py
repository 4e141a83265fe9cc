"""Tests for foxdog/data/fetch.py on a throw-away git + DVC repository.

The repository imports a sibling folder exactly as the project's ``data.dvc``
imports ``../shared/foxdog-raw`` (``dvc import-url ../src data``); DVC runs as a
subprocess of the project's virtual environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from foxdog.data.fetch import FetchError, fetch_raw, recorded_hash


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(autouse=True)
def quiet_dvc(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dvc-site"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<tmp>/src`` (the 'raw collection') and ``<tmp>/repo`` importing it as ``data``."""
    root = tmp_path_factory.mktemp("dvc")
    src = root / "src"
    (src / "fox").mkdir(parents=True)
    (src / "fox" / "a.jpg").write_bytes(b"fox photo bytes")
    (src / "SOURCES.csv").write_text("relative_path\nfox/a.jpg\n", encoding="utf-8")
    repo = root / "repo"
    repo.mkdir()
    env_cmds = [
        ["git", "init", "-q"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        [sys.executable, "-m", "dvc", "import-url", "-q", "../src", "data"],
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DVC_NO_ANALYTICS", "1")
        mp.setenv("DVC_SITE_CACHE_DIR", str(root / "dvc-site"))
        for cmd in env_cmds:
            run(cmd, repo)
    assert (repo / "data" / "fox" / "a.jpg").is_file()
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template; returns the repository folder."""
    shutil.copytree(template, tmp_path / "t", symlinks=True)
    return tmp_path / "t" / "repo"


def test_unchanged_source_is_verified(project):
    dvc_file = project / "data.dvc"
    before = dvc_file.read_text(encoding="utf-8")
    message = fetch_raw(dvc_file)
    assert message == f"data/ matches {dvc_file} (md5 {recorded_hash(dvc_file)})"
    assert recorded_hash(dvc_file).endswith(".dir")
    assert dvc_file.read_text(encoding="utf-8") == before
    assert (project / "data" / "fox" / "a.jpg").read_bytes() == b"fox photo bytes"


def test_missing_data_is_materialised(project):
    shutil.rmtree(project / "data")
    fetch_raw(project / "data.dvc")
    assert (project / "data" / "fox" / "a.jpg").read_bytes() == b"fox photo bytes"


def test_changed_source_is_refused_and_the_record_kept(project):
    dvc_file = project / "data.dvc"
    before = dvc_file.read_text(encoding="utf-8")
    (project.parent / "src" / "fox" / "a.jpg").write_bytes(b"someone edited the raw photo")
    with pytest.raises(FetchError) as info:
        fetch_raw(dvc_file)
    message = str(info.value)
    assert message.startswith("../src: content changed since")
    assert "data/ restored to the recorded version" in message and "\n" not in message
    assert dvc_file.read_text(encoding="utf-8") == before
    assert (project / "data" / "fox" / "a.jpg").read_bytes() == b"fox photo bytes"


def test_missing_source_folder(project):
    shutil.rmtree(project.parent / "src")
    with pytest.raises(FetchError, match=r"^\.\./src: raw collection not found"):
        fetch_raw(project / "data.dvc")


def test_bad_dvc_files(tmp_path):
    with pytest.raises(FetchError, match=r"data\.dvc: not found"):
        fetch_raw(tmp_path / "data.dvc")
    bad = tmp_path / "bad.dvc"
    bad.write_text("outs: [{path: data}]\n", encoding="utf-8")
    with pytest.raises(FetchError, match=r"bad\.dvc: no recorded output hash"):
        recorded_hash(bad)
    bad.write_text("outs: [unclosed\n", encoding="utf-8")
    with pytest.raises(FetchError, match=r"bad\.dvc: not a readable \.dvc file"):
        fetch_raw(bad)
    bad.write_text(yaml.safe_dump({"outs": [{"md5": "x.dir", "path": "data"}]}), encoding="utf-8")
    with pytest.raises(FetchError, match=r"bad\.dvc: not an import"):
        fetch_raw(bad)

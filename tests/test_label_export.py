"""Replay and export (foxdog/label/replay.py, export.py) through the command line.

A generated folder is labelled by ``foxdog label --oracle``; ``foxdog label
export`` must then produce a folder that ``foxdog data index`` and ``foxdog
curate`` take unchanged, and predictions for every photo left unlabelled.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from label_photos import make_folder

from foxdog.cli import main
from foxdog.config import Params, to_dict
from foxdog.data.sources import read_sources
from foxdog.label.log import read_events


def test_replay_export_index_curate(tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    truth = make_folder(photos, 60)
    oracle = tmp_path / "photos_oracle" / "SOURCES.csv"
    project = tmp_path / "project"
    args = ["label", str(photos), "--classes", "fox,dog", "--project", str(project)]
    assert main([*args, "--oracle", str(oracle), "--budget", "45"]) == 0
    out = capsys.readouterr().out
    assert "replayed 45 labels" in out and "estimated accuracy" in out
    events = list(read_events(project / "log.jsonl"))
    labels = {e["id"]: e["class"] for e in events if e["event"] == "label"}
    assert len(labels) == 45
    index = pd.read_csv(project / "index.csv")
    # The oracle answered from the truth, matched by content.
    assert all(truth[index.at[i, "path"]] == c for i, c in labels.items())
    # Every random check's prediction was logged before its label.
    seq_of_label = {e["id"]: e["seq"] for e in events if e["event"] == "label"}
    checks = [
        (e["seq"], p["id"])
        for e in events
        if e["event"] == "batch"
        for p in e["picks"]
        if p.get("predicted")
    ]
    assert checks and all(seq < seq_of_label.get(pid, 10**9) for seq, pid in checks)

    exported = tmp_path / "labelled"
    assert main(["label", "export", str(project), str(exported)]) == 0
    rows = read_sources(exported)
    assert len(rows) == 45
    for rel, row in rows.items():
        link = exported / rel
        assert link.is_symlink() and row["label"] == rel.split("/")[0]
        original = os.path.relpath(link.resolve(), photos.resolve())
        assert truth[original] == row["label"]
    predictions = pd.read_csv(exported / "predictions.csv")
    assert len(predictions) == 15 and set(predictions["predicted"]) <= {"fox", "dog"}
    assert predictions["confidence"].between(0.5, 1).all()
    assert set(predictions["path"]).isdisjoint(index.loc[list(labels), "path"])

    # foxdog data index writes the same SOURCES.csv; foxdog curate takes the folder as it is.
    again = tmp_path / "again.csv"
    assert main(["data", "index", str(exported), "--out", str(again)]) == 0
    assert again.read_bytes() == (exported / "SOURCES.csv").read_bytes()
    raw = to_dict(Params())
    raw["data"] |= {
        "raw_dir": str(exported),
        "out_dir": str(tmp_path / "curated"),
        "classes": ["fox", "dog"],
    }
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["curate", "--params", str(params)]) == 0
    manifest = pd.read_csv(tmp_path / "curated" / "manifest.csv")
    assert len(manifest) == 45
    assert (
        manifest["label_name"].value_counts().to_dict()
        == pd.Series([row["label"] for row in rows.values()]).value_counts().to_dict()
    )


def test_export_refuses_a_used_folder_and_an_empty_project(tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    make_folder(photos, 8)
    project = tmp_path / "project"
    oracle = tmp_path / "photos_oracle" / "SOURCES.csv"
    base = ["label", str(photos), "--classes", "fox,dog", "--project", str(project)]
    assert main([*base, "--oracle", str(oracle), "--budget", "0"]) == 0
    assert main(["label", "export", str(project), str(tmp_path / "out")]) == 2
    assert "no labels yet" in capsys.readouterr().err
    assert main([*base, "--oracle", str(oracle), "--budget", "8"]) == 0
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    assert main(["label", "export", str(project), str(tmp_path / "used")]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    assert main([*base[:2], "--classes", "cat,dog", "--project", str(project)]) == 2
    assert "not ['cat', 'dog']" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--classes", "fox"], "--classes: fox: need at least two classes"),
        (["--classes", "fox,fox"], "a class is listed twice"),
        (["--classes", "fox,../dog"], "must be a folder name"),
        (["--classes", "fox,dog", "--strategy", "bald"], "--strategy='bald' is not one of"),
        (["--classes", "fox,dog", "--port", "70000"], "--port=70000 must be in [0, 65535]"),
        ([], "--classes: missing"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys, extra, message) -> None:
    photos = tmp_path / "photos"
    make_folder(photos, 2)
    assert main(["label", str(photos), "--project", str(tmp_path / "p"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("foxdog: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "p" / "log.jsonl").exists()

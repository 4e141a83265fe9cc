"""``foxdog analyze`` refuses damaged or mismatched result files (foxdog/analysis/validate.py).

Each fault of issue 19 is made in a real-shaped project (tests/synthetic_results.py)
and the analysis must stop with one line naming the file and the fault, writing
nothing; before the check these all published changed statistics with exit code 0.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from foxdog.analysis.validate import (
    ResultsError,
    check_listed_arms,
    expected_arm,
    listed_arms,
)
from foxdog.config import load_params
from foxdog.stages import analyze

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_results import make_project, write_results  # noqa: E402

SEEDS = (0, 1, 2, 3)
ROUNDS = 5


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    return make_project(
        root, starts=("scratch", "transfer"), strategies=("random", "margin"), seeds=SEEDS,
        rounds=ROUNDS, query_size=20, n_pool=200,
    )  # fmt: skip


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(pristine, root)
    return root


def analyse(root: Path) -> None:
    analyze.run(
        load_params(root / "params.yaml"),
        root / "results",
        root / "out" / "metrics",
        root / "out" / "plots",
        root / "metrics" / "baseline",
    )


def refused(root: Path, file: Path) -> str:
    """The one-line message of the refusal, after checking it names ``file`` and wrote nothing."""
    with pytest.raises(ResultsError) as err:
        analyse(root)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{file}: ")
    assert not (root / "out").exists()
    return message


def arm(root: Path, start: str = "scratch", strategy: str = "margin") -> Path:
    return root / "results" / start / strategy / "rounds.csv"


def test_the_pristine_project_is_accepted(project: Path) -> None:
    analyse(project)
    assert (project / "out" / "metrics" / "summary.json").is_file()


def test_a_file_cut_mid_line(project: Path) -> None:
    path = arm(project)
    text = path.read_text()
    cut = text.index("\n", len(text) // 2) + 12  # a dozen characters into a line
    path.write_text(text[:cut])
    assert "the last line is cut off" in refused(project, path)


def test_a_line_with_missing_fields(project: Path) -> None:
    path = arm(project)
    lines = path.read_text().splitlines(keepends=True)
    lines[7] = ",".join(lines[7].split(",")[:9]) + "\n"
    path.write_text("".join(lines))
    header = len(lines[0].split(","))
    assert f"line 8 has 9 fields, the header {header}" in refused(project, path)


def test_a_cell_n_a(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[4, "accuracy"] = "n/a"
    frame.to_csv(path, index=False)
    assert "line 6: accuracy is 'n/a', not a number" in refused(project, path)


def test_a_cell_of_text(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[3, "fit_seconds"] = "slow"
    frame.to_csv(path, index=False)
    assert "line 5: fit_seconds is 'slow', not a number" in refused(project, path)


def test_one_seeds_rows_missing(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path)
    frame[frame["seed"] != 2].to_csv(path, index=False)
    assert "seed 2 has no rows (expected seeds [0, 1, 2, 3])" in refused(project, path)


def test_one_round_missing(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path)
    frame[~((frame["seed"] == 1) & (frame["round"] == 3))].to_csv(path, index=False)
    assert "seed 1 lacks round 3" in refused(project, path)


def test_duplicated_rows(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[[6]]]).to_csv(path, index=False)
    assert "round 0 appears 2 times (duplicated rows)" in refused(project, path)


def test_accuracy_above_one(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path)
    frame.loc[9, "accuracy"] = 1.7
    frame.to_csv(path, index=False)
    assert "line 11: accuracy 1.7 outside [0, 1]" in refused(project, path)


def test_n_labels_off_the_protocol(project: Path) -> None:
    path = arm(project)
    frame = pd.read_csv(path)
    last = frame.index[(frame["seed"] == 0) & (frame["round"] == ROUNDS)][0]
    frame.loc[last, "n_labels"] = 999
    frame.to_csv(path, index=False)
    message = refused(project, path)
    assert f"n_labels 999 at round {ROUNDS}, not initial_size + round x query_size = 120" in message


def test_a_rounds_csv_of_another_protocol(project: Path, tmp_path: Path) -> None:
    # Query size 10 and two seeds, published as this study's 20-per-round, 4-seed arm.
    other = tmp_path / "other"
    pool = pd.read_csv(project / "curated" / "manifest.csv", dtype={"id": str})
    pool = pool[pool["split"] == "pool"]
    write_results(other, "margin", [(20, 10, 0.0)], (0, 1), rounds=ROUNDS, pool=pool, seed=0)
    path = arm(project)
    shutil.copy(other / "rounds.csv", path)
    shutil.copy(other / "queries.csv", path.with_name("queries.csv"))
    message = refused(project, path)
    assert "query_size=10" in message and "(results of another protocol?)" in message


def test_an_ablation_file_is_checked_too(project: Path) -> None:
    path = project / "results" / "ablations" / "label_noise" / "margin" / "rounds.csv"
    frame = pd.read_csv(path)
    frame.drop(index=3).to_csv(path, index=False)
    assert "lacks round 3" in refused(project, path)


def test_a_missing_queries_csv(project: Path) -> None:
    path = arm(project, "transfer", "random").with_name("queries.csv")
    path.unlink()
    message = refused(project, path)
    assert "not found (the class shares of the queried images need it)" in message
    assert "dvc repro al@transfer-random" in message


def test_an_arm_listed_without_results(project: Path) -> None:
    analyse(project)
    doc = an_json(project)
    assert ("transfer", "margin") in listed_arms(doc)
    shutil.rmtree(project / "results" / "transfer" / "margin")
    with pytest.raises(ResultsError, match=r"results/transfer/margin/rounds.csv: not found, but"):
        check_listed_arms(listed_arms(doc), project / "results", Path("metrics/analysis.json"))


def test_report_refuses_an_arm_of_the_analysis_without_results(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from foxdog.cli import main

    analyse(project)
    shutil.copytree(project / "out" / "metrics", project / "metrics", dirs_exist_ok=True)
    shutil.rmtree(project / "results" / "transfer" / "margin")
    monkeypatch.chdir(project)
    assert main(["report", "--engine", "jupyter"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "foxdog: results/transfer/margin/rounds.csv: not found, but metrics/analysis.json "
        "lists transfer/margin; re-run `dvc repro al@transfer-margin analyze`"
    )
    assert not (project / "_site").exists()


def an_json(root: Path) -> dict:
    import json

    return json.loads((root / "out" / "metrics" / "analysis.json").read_text())


def test_expected_arm_describes_the_protocol(project: Path) -> None:
    params = load_params(project / "params.yaml")
    text = expected_arm(params, "scratch", "margin").describe()
    assert text == "seeds [0, 1, 2, 3], rounds 0-5, initial_size=20 query_size=20 label_noise=0"

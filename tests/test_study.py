"""``foxdog study``: the stages a study needs, and a params.yaml never left half-changed."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from conftest import encode, textured
from numpy.random import default_rng

from foxdog.cli import main
from foxdog.config import load_params
from foxdog.study import StudyError, parse_override, run_study, stage_targets

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's params.yaml and quick-look.yaml, a corpus folder and two classes."""
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("params.yaml", "quick-look.yaml"):
        shutil.copy(REPO / name, root / name)
    (root / "pretrain-raw").mkdir()  # present: nothing to fetch
    rng = default_rng(0)
    for cls in ("wild", "pet"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(3):
            image = encode(textured(rng, 90, 80))
            (tmp_path / "photos" / cls / f"IMG {i} (1).jpg").write_bytes(image)
    monkeypatch.chdir(root)
    return root


class FakeDvc:
    """Records the command and what params.yaml held while it ran; exits with ``code``."""

    def __init__(self, code: int = 0) -> None:
        self.code, self.commands, self.params = code, [], []

    def __call__(self, command: Sequence[str]) -> int:
        self.commands.append(list(command))
        self.params.append(yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8")))
        return self.code


def test_quick_look_runs_only_the_stages_of_scratch(project: Path, tmp_path: Path) -> None:
    dvc = FakeDvc()
    targets = run_study(tmp_path / "photos", ["wild", "pet"], quick=True, runner=dvc)
    # No encoder, and not the corpus either: nothing from scratch uses them (issue 19).
    assert targets == [
        "curate", "baseline@scratch", "al@scratch-random",
        "al@scratch-margin", "probcover_delta", "analyze", "report",
    ]  # fmt: skip
    assert dvc.commands[0][-len(targets) - 2 :] == ["repro", "--single-item", *targets]
    during = dvc.params[0]
    assert during["active"]["starts"] == ["scratch"] and during["active"]["rounds"] == 3
    assert during["data"]["classes"] == ["wild", "pet"]
    assert (tmp_path / "photos" / "SOURCES.csv").is_file()


def test_after_a_quick_look_params_keep_only_the_data_keys(project: Path, tmp_path: Path) -> None:
    before = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    run_study(tmp_path / "photos", ["wild", "pet"], quick=True, runner=FakeDvc())
    after = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    assert after["data"]["raw_dir"] == str((tmp_path / "photos").resolve())
    assert after["data"]["classes"] == ["wild", "pet"]
    # The rare class of the balance axis is the class with fewest photos (3 of each: the last).
    assert after["balance"]["rare_class"] == "pet"
    assert after["balance"]["conditions"] == ["imagenet", "imagenet-pet10", "imagenet-pet05"]
    assert {k: v for k, v in after.items() if k not in ("data", "balance")} == {
        k: v for k, v in before.items() if k not in ("data", "balance")
    }
    assert "# every image ends as image_size" in Path("params.yaml").read_text()  # comments kept
    # So the full study, the same command without --quick, runs the full configuration.
    dvc = FakeDvc()
    targets = run_study(tmp_path / "photos", ["wild", "pet"], runner=dvc)
    assert dvc.params[0]["active"] == before["active"]
    assert {"pretrain_data", "pretrain@supervised", "pretrain@simclr"} <= set(targets)
    assert "al@selfsup-typiclust" in targets
    assert {"embed", "baseline_head@imagenet-pet05", "al_head@imagenet-pet10-margin"} <= set(
        targets
    )


def test_the_rarest_class_is_the_one_with_fewest_photos(tmp_path: Path) -> None:
    from foxdog.study import rarest_class

    for name, n in (("a", 3), ("b", 1), ("c", 2)):
        (tmp_path / name).mkdir()
        for i in range(n):
            (tmp_path / name / f"{i}.jpg").write_bytes(b"x")
    assert rarest_class(tmp_path, ["a", "b", "c"]) == "b"


def test_a_failed_stage_restores_params_byte_for_byte(project: Path, tmp_path: Path) -> None:
    original = Path("params.yaml").read_bytes()
    with pytest.raises(StudyError, match="a stage failed .*params.yaml restored"):
        run_study(tmp_path / "photos", ["wild", "pet"], quick=True, runner=FakeDvc(code=1))
    assert Path("params.yaml").read_bytes() == original


def test_an_interrupted_run_restores_params(project: Path, tmp_path: Path) -> None:
    original = Path("params.yaml").read_bytes()

    def interrupted(command: Sequence[str]) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(tmp_path / "photos", ["wild", "pet"], quick=True, runner=interrupted)
    assert Path("params.yaml").read_bytes() == original


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--classes", "wild", "cat"], "photos/cat: no such class folder (found: pet, wild)"),
        (["--classes", "wild"], "--classes wild: name two or more distinct classes"),
        (["--classes", "wild", "pet", "-S", "active.roundz=2"], "active.roundz: no such parameter"),
        (["--classes", "wild", "pet", "-S", "rounds"], "-S rounds: expected section.key=value"),
        (["--classes", "wild", "pet", "-S", "active.rounds=0"], "active.rounds"),
    ],
)
def test_bad_arguments_stop_before_anything_changes(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list, message: str
) -> None:
    original = Path("params.yaml").read_bytes()
    assert main(["study", str(tmp_path / "photos"), *args, "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("foxdog: ") and "\n" not in err and message in err
    assert Path("params.yaml").read_bytes() == original
    assert not (tmp_path / "photos" / "SOURCES.csv").exists()


def test_overrides_are_yaml_values() -> None:
    assert parse_override("active.seeds=[0, 1]") == ("active.seeds", [0, 1])
    assert parse_override("train.steps=50") == ("train.steps", 50)


def test_stage_targets_follow_the_starts() -> None:
    params = load_params(REPO / "params.yaml")
    targets = stage_targets(params)
    assert targets[0] == "curate" and targets[-2:] == ["analyze", "report"]
    assert "ablate@label_noise-margin" in targets

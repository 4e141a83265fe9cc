"""``foxdog study``: one command from a folder of photos to a rendered site.

It indexes the folder (when it has no ``SOURCES.csv`` yet), sets ``data.raw_dir``
and ``data.classes`` in ``params.yaml`` (plus, with ``--quick``, the keys of
``quick-look.yaml`` and any ``-S key=value``), and asks DVC to reproduce exactly
the stages the chosen starting models need, in pipeline order, with
``dvc repro --single-item``: a study that starts only from scratch never
pretrains an encoder. (``dvc repro report`` would: ``baseline`` and ``al`` list
both encoders as dependencies, and the curated pool is an input of both.)

``params.yaml`` is never left half-changed: it is rewritten atomically with the
run's values only after they validate, restored byte for byte if anything fails,
and after a successful quick look it keeps only the data keys, so the next
``foxdog study`` without ``--quick`` runs the full configuration.
"""

from __future__ import annotations

import io as _io
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

from foxdog import io
from foxdog.config import START_METHOD, Params, params_from_dict
from foxdog.registry import balance_conditions

QUICK_FILE = Path("quick-look.yaml")

#: Runs one command line; replaced in tests that check the stage selection alone.
Runner = Callable[[Sequence[str]], int]


class StudyError(ValueError):
    """The study cannot start; the message names the folder, file or key at fault."""


def parse_override(text: str) -> tuple[str, Any]:
    """``"active.rounds=5"`` → ``("active.rounds", 5)``; the value is YAML, as with ``dvc -S``."""
    key, sep, value = text.partition("=")
    if not sep or "." not in key or not key.strip():
        raise StudyError(f"-S {text}: expected section.key=value (e.g. -S active.rounds=5)")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise StudyError(f"-S {text}: the value is not valid YAML") from None


def read_quick(path: Path = QUICK_FILE) -> dict[str, Any]:
    """The quick look's keys, flattened to ``{"section.key": value}``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StudyError(f"{path}: not found (run from the project root)") from None
    if not isinstance(raw, dict):
        raise StudyError(f"{path}: expected a mapping of sections")
    return {f"{s}.{k}": v for s, keys in raw.items() for k, v in (keys or {}).items()}


def _set(doc: Any, dotted: str, value: Any, source: str) -> None:
    # Only keys that exist: a typo must not add a parameter nobody reads.
    section, _, key = dotted.partition(".")
    if section not in doc or not isinstance(doc[section], Mapping) or key not in doc[section]:
        raise StudyError(f"{source}: {dotted}: no such parameter in params.yaml")
    if isinstance(value, list):
        # Flow style, as params.yaml writes its lists, so the key's comment stays on its line.
        value = CommentedSeq(value)
        value.fa.set_flow_style()
    doc[section][key] = value


class _ParamsFile:
    """``params.yaml`` edited round-trip (its comments kept) and written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.original = path.read_bytes()
        except FileNotFoundError:
            raise StudyError(f"{path}: not found (run from the project root)") from None
        self._yaml = YAML()
        self._yaml.width = 4096  # never re-wrap a line of the user's file

    def with_values(self, values: Mapping[str, Any], source: str) -> tuple[bytes, Params]:
        """The file's text with ``values`` set, and the validated parameters it holds."""
        doc = self._yaml.load(self.original)
        for dotted, value in values.items():
            _set(doc, dotted, value, source)
        out = _io.BytesIO()
        self._yaml.dump(doc, out)
        text = out.getvalue()
        return text, params_from_dict(yaml.safe_load(text), str(self.path))

    def write(self, text: bytes) -> None:
        io.write_bytes(self.path, text)

    def restore(self) -> None:
        if self.path.read_bytes() != self.original:
            io.write_bytes(self.path, self.original)


def stage_targets(params: Params) -> list[str]:
    """The DVC stages the study of ``params`` needs, in pipeline order.

    The pretraining corpus (``pretrain_data``) and an encoder (``pretrain@<method>``)
    only for a start that fine-tunes one: a study from scratch needs neither.
    """
    a, ab = params.active, params.ablations
    methods = sorted({START_METHOD[s] for s in a.starts if s in START_METHOD})
    corpus = ["pretrain_data", *(f"pretrain@{m}" for m in methods)] if methods else []
    targets = ["curate", *corpus]
    targets += [f"baseline@{s}" for s in a.starts]
    targets += [f"al@{s}-{x}" for s in a.starts for x in a.strategies]
    targets += [f"ablate@{f}-{x}" for f in ab.factors for x in ab.strategies]
    b = params.balance
    if b.conditions:  # frozen-feature starts: features once, then a head per condition
        head = params.head.strategies
        targets += ["embed", *(f"baseline_head@{c}" for c in b.conditions)]
        targets += [f"al_head@{c}-{x}" for c in b.conditions for x in head]
    return [*targets, "probcover_delta", "analyze", "report"]


def _run(command: Sequence[str]) -> int:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(list(command), env=env, check=False).returncode


def check_photos(photos: Path, classes: Sequence[str]) -> None:
    """Refuse a missing folder, too few classes or a class without its folder, in one line."""
    if not photos.is_dir():
        raise StudyError(f"{photos}: not a folder (one sub-folder of photos per class)")
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise StudyError(f"--classes {' '.join(classes)}: name two or more distinct classes")
    present = sorted(p.name for p in photos.iterdir() if p.is_dir())
    for name in classes:
        if name not in present:
            raise StudyError(f"{photos / name}: no such class folder (found: {', '.join(present)})")


def rarest_class(photos: Path, classes: Sequence[str]) -> str:
    """The class with the fewest files under its folder (the last such class on a tie)."""
    counts = {c: sum(1 for f in (photos / c).rglob("*") if f.is_file()) for c in classes}
    return min(reversed(classes), key=lambda c: counts[c])


def run_study(
    photos: Path,
    classes: Sequence[str],
    *,
    quick: bool = False,
    overrides: Sequence[str] = (),
    params_path: Path = Path("params.yaml"),
    runner: Runner = _run,
) -> list[str]:
    """Index ``photos``, set the parameters and reproduce the stages; returns the stages run.

    Raises :class:`StudyError` (or a ``ConfigError``) before anything runs when the
    folder or a parameter is wrong; a failed stage restores ``params.yaml``.
    """
    from foxdog.data.index import SOURCES_FILE, summary_lines, write_index

    if params_path.resolve() != Path("params.yaml").resolve():
        # The stages are DVC's, and DVC reads ./params.yaml whatever foxdog was told.
        raise StudyError(f"--params {params_path}: foxdog study uses ./params.yaml (DVC's)")
    photos = photos.expanduser().resolve()
    check_photos(photos, classes)
    data = {
        "data.raw_dir": str(photos),
        "data.classes": list(classes),
    }
    # The class-balance axis subsamples the class the user has fewest photos of; the
    # condition names spell it, so they follow.
    params_file = _ParamsFile(params_path)
    rare = rarest_class(photos, classes)
    # Read, not validated: with_values below validates the result and names a missing key.
    balance = (yaml.safe_load(params_file.original) or {}).get("balance") or {}
    data["balance.rare_class"] = rare
    data["balance.conditions"] = balance_conditions(
        tuple(balance.get("starts", ())), rare, tuple(balance.get("shares", ()))
    )
    run_values = dict(data)
    if quick:
        run_values.update(read_quick(params_path.parent / QUICK_FILE))
    run_values.update(parse_override(text) for text in overrides)
    run_text, params = params_file.with_values(run_values, "-S / quick-look.yaml")
    keep_text = params_file.with_values(data if quick else run_values, "-S")[0]
    targets = stage_targets(params)

    if not (photos / SOURCES_FILE).exists():
        index, out = write_index(photos)
        for line in summary_lines(index, out, params.data.min_side):
            print(line, file=sys.stderr if line.startswith("foxdog:") else sys.stdout)
    params_file.write(run_text)
    try:
        if "pretrain_data" in targets and not Path(params.pretrain.raw_dir).exists():
            # The corpus is an import: `dvc repro` does not materialise it, `dvc update` does.
            from foxdog.data.fetch import fetch_raw

            print(fetch_raw(Path("pretrain.dvc")))
        code = runner([sys.executable, "-m", "dvc", "repro", "--single-item", *targets])
        if code != 0:
            raise StudyError(f"dvc repro: a stage failed (exit {code}); params.yaml restored")
    except BaseException:
        params_file.restore()
        raise
    params_file.write(keep_text)
    return targets

"""``foxdog label export PROJECT OUT``: labelled photos as class folders, plus predictions.

``OUT/<class>/<path in DIR>`` is a symbolic link to each labelled photo (no
copy), ``OUT/LINKED_FROM.txt`` names the photo folder and ``OUT/SOURCES.csv``
is written by ``foxdog data index``'s own code, so ``foxdog curate`` (with
``data.raw_dir: OUT`` and ``data.classes`` the project's classes) takes the
folder as it is (:mod:`foxdog.data.links`). ``OUT/predictions.csv`` holds the
latest model's class and confidence for every photo not labelled. Photos
answered "unsure", and photos gone from the folder, are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foxdog import io
from foxdog.data.index import write_index
from foxdog.data.links import LINKED_FROM_FILE
from foxdog.label.log import EventLog
from foxdog.label.project import Project
from foxdog.label.trainer import fit_model

PREDICTIONS_FILE = "predictions.csv"


class ExportError(ValueError):
    """The export cannot be written; the message names the folder and why."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    counts: dict[str, int]
    missing: list[str]  # labelled photos no longer in the folder
    predictions: int
    sources: Path


def export_project(
    project: Project, features: np.ndarray, has_features: np.ndarray, out: Path, head_c: float
) -> Exported:
    """Write ``out`` (must not exist, or be empty) from the project's log."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: already exists and is not empty (choose another folder)")
    if out.resolve().is_relative_to(project.photos_dir):
        raise ExportError(f"{out}: inside the photo folder {project.photos_dir} (read-only input)")
    log = EventLog(project.folder)
    labels = log.state.labels()
    log.close()
    if not labels:
        raise ExportError(f"{project.folder}: no labels yet; label some photos first")
    counts = {c: 0 for c in project.classes}
    missing = []
    for photo_id, label in sorted(labels.items()):
        rel = project.index.at[photo_id, "path"]
        target = project.photos_dir / rel
        if not target.is_file():
            missing.append(rel)
            continue
        link = out / label / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        counts[label] += 1
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        # foxdog data index needs every class folder to hold an image.
        raise ExportError(f"{project.folder}: no labelled photo of class {empty[0]!r} yet")
    (out / LINKED_FROM_FILE).write_text(f"{project.photos_dir}\n", encoding="utf-8")
    # Source = the first folder below the class = the photo's first folder in DIR.
    _, sources = write_index(out)
    n_predictions = _write_predictions(project, features, has_features, labels, out, head_c)
    return Exported(counts, missing, n_predictions, sources)


def _write_predictions(
    project: Project,
    features: np.ndarray,
    has_features: np.ndarray,
    labels: dict[int, str],
    out: Path,
    head_c: float,
) -> int:
    index = {c: i for i, c in enumerate(project.classes)}
    trained = {pid: index[c] for pid, c in labels.items() if has_features[pid]}
    model = fit_model(
        features, trained, np.zeros(0, np.int64), "random", 0, len(project.classes), head_c, 0
    )
    todo = [i for i in range(project.n_photos) if i not in labels and has_features[i]]
    proba = model.proba[todo] if model is not None else np.full((len(todo), 0), np.nan)
    frame = pd.DataFrame(
        {
            "path": project.index.loc[todo, "path"].to_numpy(),
            "sha256": project.index.loc[todo, "sha256"].to_numpy(),
            "predicted": [project.classes[int(k)] for k in proba.argmax(axis=1)]
            if model is not None
            else [""] * len(todo),
            "confidence": np.round(proba.max(axis=1), 4) if model is not None else np.nan,
        }
    )
    io.write_csv(out / PREDICTIONS_FILE, frame)
    return len(frame)

"""Replay mode (``--oracle SOURCES.csv``): answer the app's picks from known labels.

The oracle is a ``SOURCES.csv`` (``foxdog data index`` writes one; the fox/dog
collection ships one): photos are matched by content (sha256), so the oracle's
paths need not match the folder's. A photo the oracle does not know, or knows
under a class the project does not have, is answered "unsure". Used by the
tests, the benchmark and for demonstrations: the project's log then holds a
complete session the page can show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from foxdog.data.sources import read_sources
from foxdog.label.project import Project
from foxdog.label.session import UNSURE_KEY, LabelSession


def read_oracle(sources_csv: Path, project: Project) -> dict[int, str]:
    """{photo id: class or "x"} for every photo of the project, from ``sources_csv``."""
    sources_csv = Path(sources_csv)
    if not sources_csv.is_file():
        raise FileNotFoundError(2, "not found", str(sources_csv))
    rows = read_sources(sources_csv.parent) if sources_csv.name == "SOURCES.csv" else None
    if rows is None:
        raise ValueError(f"{sources_csv}: the oracle must be a file named SOURCES.csv")
    by_sha = {row["sha256"].strip().lower(): row["label"] for row in rows.values()}
    answers = {}
    for photo_id, sha in zip(project.index["id"], project.index["sha256"], strict=True):
        label = by_sha.get(sha)
        answers[int(photo_id)] = label if label in project.classes else UNSURE_KEY
    return answers


def replay(
    session: LabelSession,
    answers: dict[int, str],
    budget: int,
    on_label: Callable[[LabelSession], None] | None = None,
) -> int:
    """Answer picks until ``budget`` labels exist or nothing is left; returns labels given."""
    while session.log.state.n_labels() < budget:
        pick = session.current()
        if pick is None:
            break
        session.label(pick.id, answers.get(pick.id, UNSURE_KEY))
        if on_label is not None:
            on_label(session)
    return session.log.state.n_labels()

"""The label log: an append-only JSON-lines file of events, and its replay into state.

One line per event, written and fsync'd before the request that caused it
returns, so a ``kill -9`` loses nothing the page has shown as done. Events:

- ``batch``: picks the app chose (``picks``: ``{"id", "random", "predicted",
  "confidence", "model"}``; ``predicted`` only for random picks made with a
  model): the prediction is on disk *before* the photo's label exists.
- ``label``: ``{"id", "class"}``; ``class`` is null for "none of these / unsure".
- ``undo``: ``{"of": seq}`` takes back the label event ``seq``; the photo is
  asked again first.
- ``gone``: ``{"id"}``: a queued photo vanished from the folder; never asked again.
- ``strategy``: ``{"name"}``: the user switched query strategy.

Every event carries ``seq`` (1, 2, ...) and ``t`` (Unix time, for labelling
speed). Replay is a pure function of the lines: the state after a restart is
the state before it. A torn last line (a crash mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

LOG_FILE = "log.jsonl"


@dataclass
class Pick:
    """One photo the app chose to show, and why."""

    id: int
    random: bool  # drawn uniformly at random (counts towards the estimate)
    predicted: str | None = None  # the model's class before the label (random picks only)
    confidence: float | None = None
    model: int | None = None  # model version that chose it / predicted it

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "random": self.random, "model": self.model}
        if self.predicted is not None:
            out["predicted"] = self.predicted
            out["confidence"] = self.confidence
        return out


@dataclass
class Answer:
    """A label given (``label`` None: "none of these / unsure") for a pick."""

    seq: int
    pick: Pick
    label: str | None
    n_before: int  # labels (not unsure) given before this one


@dataclass
class LabelState:
    """What the log says so far: answers in order, and the picks still waiting."""

    answers: list[Answer] = field(default_factory=list)  # live answers, in order given
    queue: list[Pick] = field(default_factory=list)  # chosen, not yet answered; [0] is shown
    seq: int = 0  # last event's seq
    batches: int = 0
    gone: set[int] = field(default_factory=set)  # photos that vanished from the folder
    strategy: str | None = None  # the user's last choice (None: the configured one)

    def answered(self) -> dict[int, Answer]:
        """Live answer by photo id."""
        return {a.pick.id: a for a in self.answers}

    def labels(self) -> dict[int, str]:
        """Class by photo id for every live label (unsure left out)."""
        return {a.pick.id: a.label for a in self.answers if a.label is not None}

    def n_labels(self) -> int:
        """Labels given (unsure not counted)."""
        return sum(a.label is not None for a in self.answers)

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event into the state (the same code replays and runs live)."""
        self.seq = int(event["seq"])
        kind = event["event"]
        if kind == "batch":
            self.batches += 1
            waiting = {p.id for p in self.queue} | {a.pick.id for a in self.answers} | self.gone
            self.queue += [
                Pick(
                    id=int(p["id"]),
                    random=bool(p["random"]),
                    predicted=p.get("predicted"),
                    confidence=p.get("confidence"),
                    model=p.get("model"),
                )
                for p in event["picks"]
                if int(p["id"]) not in waiting
            ]
        elif kind == "label":
            photo = int(event["id"])
            pick = next((p for p in self.queue if p.id == photo), None)
            if pick is None:  # labelled outside the queue (e.g. an API client)
                pick = Pick(id=photo, random=False)
            else:
                self.queue.remove(pick)
            self.answers.append(Answer(self.seq, pick, event["class"], self.n_labels()))
        elif kind == "undo":
            answer = next(a for a in self.answers if a.seq == int(event["of"]))
            self.answers.remove(answer)
            self.queue.insert(0, answer.pick)  # asked again, first
        elif kind == "gone":
            photo = int(event["id"])
            self.gone.add(photo)
            self.queue = [p for p in self.queue if p.id != photo]
        elif kind == "strategy":
            self.strategy = str(event["name"])
        else:
            raise ValueError(f"unknown event {kind!r}")


class EventLog:
    """Appends events to ``<project>/log.jsonl`` durably; replays them at open."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOG_FILE
        self.state = LabelState()
        for event in read_events(self.path):
            self.state.apply(event)
        _drop_torn_tail(self.path)
        self._fh: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - held open for the session

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write ``event`` (seq and time added), fsync it, then fold it into the state."""
        event = {"seq": self.state.seq + 1, "t": round(time.time(), 3), **event}
        line = json.dumps(event, separators=(",", ":"), sort_keys=True) + "\n"
        # Fold first on a copy of the rules: an event the state refuses is never written.
        probe = _copy(self.state)
        probe.apply(event)
        self._fh.write(line.encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.state = probe
        return event

    def close(self) -> None:
        """Close the file (everything written is already on disk)."""
        self._fh.close()


def _copy(state: LabelState) -> LabelState:
    return LabelState(
        list(state.answers),
        list(state.queue),
        state.seq,
        state.batches,
        set(state.gone),
        state.strategy,
    )


def _drop_torn_tail(path: Path) -> None:
    """Cut an unterminated last line (a write cut short) so the next event starts a line."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)
            os.fsync(fh.fileno())


def read_events(path: Path) -> Iterable[dict[str, Any]]:
    """Events of a log file in order; a torn (unterminated, unparsable) last line is skipped."""
    if not path.is_file():
        return []
    events = []
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            events.append(json.loads(raw))
        except ValueError:
            if number == len(lines):  # the last, unterminated line: a write cut short
                break
            raise ValueError(f"{path}: line {number}: not a JSON event") from None
    return events

"""One labelling session: the log, the background trainer and the picks behind one lock.

Everything a request changes goes through :class:`LabelSession` under a single
lock: the event is fsync'd to the log, folded into the state, and only then is
the answer returned. Reads of the model never block on training: the trainer
swaps in each finished model whole.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from foxdog.config import LABEL_STRATEGIES, LabelConfig
from foxdog.label.estimate import Estimate, curve, estimate_at, stop_signal
from foxdog.label.log import EventLog, Pick
from foxdog.label.picks import next_batch
from foxdog.label.project import Project
from foxdog.label.trainer import RANKED_BATCHES, Model, Trainer, fit_model

UNSURE_KEY = "x"


class LabelError(ValueError):
    """A request the session refuses; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class LabelSession:
    """Labels for one project: answer, undo, pick next; thread-safe."""

    def __init__(
        self,
        project: Project,
        features: np.ndarray,
        has_features: np.ndarray,
        cfg: LabelConfig,
        *,
        strategy: str | None = None,
        holdout: np.ndarray | None = None,
        synchronous: bool = False,
    ):
        """``holdout``: photo ids never offered (a measuring split, e.g. the benchmark's).

        ``synchronous`` waits for each retrain (replay: results independent of timing).
        """
        self.project = project
        self.classes = project.classes
        self.features = features
        self.cfg = cfg
        self.synchronous = synchronous
        mask = np.asarray(has_features, dtype=bool).copy()
        if holdout is not None:
            mask[np.asarray(holdout, dtype=np.int64)] = False
        self.askable = mask
        self.log = EventLog(project.folder)
        # An explicit --strategy wins; else the user's last switch on the page; else params.
        self.strategy = strategy or self.log.state.strategy or cfg.strategy
        # Model versions continue the log's numbering across restarts.
        logged = [p.model for p in self.log.state.queue] + [
            a.pick.model for a in self.log.state.answers
        ]
        self.trainer = Trainer(self._fit, first_version=max([0, *filter(None, logged)]) + 1)
        self._lock = threading.Lock()
        self._trained_at = -1
        self._curve_cache: tuple[int, list[Estimate]] | None = None
        with self._lock:
            self._resume_models()

    # ------------------------------------------------------------ model

    def _fit(self, labels: dict[int, int], candidates: np.ndarray, strategy: str, version: int):
        return fit_model(
            self.features,
            labels,
            candidates,
            strategy,
            RANKED_BATCHES * self.cfg.batch_size,
            len(self.classes),
            self.cfg.head_c,
            version,
        )

    def available(self) -> np.ndarray:
        """Photo ids that may still be picked: askable, not answered, queued or gone."""
        state = self.log.state
        mask = self.askable.copy()
        taken = [a.pick.id for a in state.answers] + [p.id for p in state.queue] + [*state.gone]
        mask[np.asarray(taken, dtype=np.int64)] = False
        return np.flatnonzero(mask)

    def unanswered(self) -> np.ndarray:
        """Photo ids still without an answer: askable, not answered, not gone (queued included)."""
        state = self.log.state
        mask = self.askable.copy()
        done = [a.pick.id for a in state.answers] + [*state.gone]
        mask[np.asarray(done, dtype=np.int64)] = False
        return np.flatnonzero(mask)

    def _labels_at(self, n: int) -> dict[int, int]:
        """{photo id: class index} of the first ``n`` live labels, in the order given."""
        index = {name: i for i, name in enumerate(self.classes)}
        given = [a for a in self.log.state.answers if a.label is not None]
        return {a.pick.id: index[a.label] for a in given[:n]}

    def _resume_models(self) -> None:
        """Refit the models a running session had at the last batch marks, then serve on.

        A live session retrains at every ``batch_size`` labels; after a restart the
        same marks are refitted (the latest in the background, with its ranking),
        so the prediction churn behind the stop signal reads as it did before.
        """
        size = self.cfg.batch_size
        last = self.log.state.n_labels() // size * size
        for mark in range(max(size, last - self.cfg.stop_batches * size), last, size):
            model = fit_model(
                self.features,
                self._labels_at(mark),
                np.zeros(0, np.int64),
                self.strategy,
                0,
                len(self.classes),
                self.cfg.head_c,
                0,
            )
            if model is not None:
                self.trainer.history.append(model)
        self._trained_at = last
        self.trainer.submit(self._labels_at(last), self.available(), self.strategy)
        if self.synchronous:
            self.trainer.wait()

    def _retrain_if_due(self, force: bool = False) -> None:
        n = self.log.state.n_labels()
        if not force and n - self._trained_at < self.cfg.batch_size:
            return
        self._trained_at = n
        self.trainer.submit(self._labels_at(n), self.available(), self.strategy)
        if self.synchronous:
            self.trainer.wait()

    @property
    def model(self) -> Model | None:
        """The latest finished model (None before two classes are labelled)."""
        return self.trainer.latest

    # ------------------------------------------------------------ queue

    def _fill_queue(self) -> None:
        """Top the queue up from the latest model, and drop photos that vanished."""
        state = self.log.state
        while state.queue and not self._exists(state.queue[0].id):
            self.log.append({"event": "gone", "id": state.queue[0].id})
            state = self.log.state
        if len(state.queue) < 2:
            available = self.available()
            picks = next_batch(self.model, available, self.classes, self.cfg, state.batches)
            picks = [p for p in picks if self._exists(p.id)]
            if picks:
                self.log.append({"event": "batch", "picks": [p.to_json() for p in picks]})

    def _exists(self, photo_id: int) -> bool:
        path = self.project.photo_path(photo_id)
        return path is not None and path.is_file()

    def current(self) -> Pick | None:
        """The photo to show now (None when nothing is left to ask)."""
        with self._lock:
            self._fill_queue()
            queue = self.log.state.queue
            return queue[0] if queue else None

    # ------------------------------------------------------------ answers

    def label(self, photo_id: int, key: str) -> dict[str, Any]:
        """Record ``key`` (a class name, its number ``1..k``, or ``x``) for ``photo_id``."""
        label = self._class_of(key)
        with self._lock:
            state = self.log.state
            if not 0 <= photo_id < self.project.n_photos or not self.askable[photo_id]:
                raise LabelError(404, f"photo {photo_id}: not in this project")
            if photo_id in state.answered():
                raise LabelError(409, f"photo {photo_id}: already answered (undo first)")
            if photo_id in state.gone:
                raise LabelError(410, f"photo {photo_id}: no longer in the folder")
            event = self.log.append({"event": "label", "id": photo_id, "class": label})
            self._retrain_if_due()
            self._fill_queue()
            return event

    def _class_of(self, key: str) -> str | None:
        key = str(key).strip()
        if key.lower() == UNSURE_KEY:
            return None
        if key in self.classes:
            return key
        if key.isdigit() and 1 <= int(key) <= len(self.classes):
            return self.classes[int(key) - 1]
        keys = ", ".join(f"{i} = {c}" for i, c in enumerate(self.classes, start=1))
        raise LabelError(400, f"class {key!r}: unknown (keys: {keys}, {UNSURE_KEY} = unsure)")

    def undo(self) -> dict[str, Any]:
        """Take back the last answer; its photo is asked again next."""
        with self._lock:
            answers = self.log.state.answers
            if not answers:
                raise LabelError(409, "nothing to undo")
            return self.log.append({"event": "undo", "of": answers[-1].seq})

    def set_strategy(self, name: str) -> None:
        """Switch the query strategy (takes effect at the next retrain, which starts now)."""
        if name not in LABEL_STRATEGIES:
            raise LabelError(
                400, f"strategy {name!r}: unknown (known: {', '.join(LABEL_STRATEGIES)})"
            )
        with self._lock:
            if name != self.strategy:
                self.log.append({"event": "strategy", "name": name})
                self.strategy = name
                self._retrain_if_due(force=True)

    # ------------------------------------------------------------ reading

    def curve(self) -> list[Estimate]:
        """The estimate after every batch of labels (cached per log position)."""
        seq = self.log.state.seq
        if self._curve_cache is None or self._curve_cache[0] != seq:
            self._curve_cache = (seq, curve(self.log.state.answers, self.cfg))
        return self._curve_cache[1]

    def status(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data."""
        current = self.current()
        with self._lock:
            state = self.log.state
            labels = state.labels()
            counts = {c: 0 for c in self.classes}
            for c in labels.values():
                counts[c] += 1
            n_labels = len(labels)
            points = self.curve()
            estimate = estimate_at(state.answers, n_labels, self.cfg)
            unlabelled = self.unanswered()
            churn = self.trainer.churn(self.cfg.stop_batches * self.cfg.batch_size, unlabelled)
            signal = stop_signal(points, estimate, churn, self.cfg)
            model = self.model
            return {
                "current": None if current is None else current.id,
                "next": [p.id for p in state.queue[1:3]],
                "classes": list(self.classes),
                "counts": counts,
                "labelled": n_labels,
                "unsure": sum(a.label is None for a in state.answers),
                "remaining": int(len(unlabelled)),
                "total": int(self.askable.sum()),
                "can_undo": bool(state.answers),
                "strategy": self.strategy,
                "strategies": list(LABEL_STRATEGIES),
                "model": None
                if model is None
                else {"version": model.version, "labels": model.n_labels},
                "training": self.trainer.busy,
                "error": self.trainer.error,
                "estimate": None if estimate is None else estimate.to_json(),
                "curve_points": len(points),
                "stop": signal.to_json(),
                "seq": state.seq,
            }

    def close(self) -> None:
        """Stop the trainer and close the log."""
        self.trainer.close()
        self.log.close()

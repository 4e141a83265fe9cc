"""The label log (foxdog/label/log.py): durable appends, exact replay, torn tails."""

from __future__ import annotations

from pathlib import Path

import pytest

from foxdog.label.log import EventLog, read_events


def _batch(ids: list[int], random_ids: tuple[int, ...] = ()) -> dict:
    picks = [{"id": i, "random": i in random_ids, "model": 1} for i in ids]
    for p in picks:
        if p["random"]:
            p |= {"predicted": "fox", "confidence": 0.75}
    return {"event": "batch", "picks": picks}


def test_replay_restores_answers_queue_and_position(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append(_batch([4, 2, 7, 9], random_ids=(7,)))
    log.append({"event": "label", "id": 4, "class": "fox"})
    log.append({"event": "label", "id": 2, "class": None})
    log.append({"event": "label", "id": 7, "class": "dog"})
    undo = log.append({"event": "undo", "of": 3})  # takes back the answer for 2
    log.append({"event": "gone", "id": 9})
    log.append({"event": "strategy", "name": "entropy"})
    log.close()
    assert undo["seq"] == 5
    again = EventLog(tmp_path)
    state = again.state
    assert [q.id for q in state.queue] == [2]  # the undone photo is asked again, first
    assert {a.pick.id: a.label for a in state.answers} == {4: "fox", 7: "dog"}
    seven = state.answered()[7]
    assert seven.pick.random and seven.pick.predicted == "fox" and seven.n_before == 1
    assert state.gone == {9} and state.strategy == "entropy" and state.seq == 7
    # A later batch never re-queues answered, queued or vanished photos.
    again.append(_batch([4, 2, 9, 11]))
    assert [q.id for q in again.state.queue] == [2, 11]
    again.close()


def test_an_event_the_state_refuses_is_never_written(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append(_batch([1]))
    with pytest.raises(StopIteration):
        log.append({"event": "undo", "of": 99})
    with pytest.raises(ValueError, match="unknown event"):
        log.append({"event": "relabel"})
    log.close()
    assert [e["event"] for e in read_events(log.path)] == ["batch"]


def test_a_torn_last_line_is_dropped_and_the_log_goes_on(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append(_batch([1, 2]))
    log.append({"event": "label", "id": 1, "class": "fox"})
    log.close()
    with open(log.path, "ab") as fh:
        fh.write(b'{"event":"label","id":2,"cla')  # kill -9 in the middle of a write
    again = EventLog(tmp_path)
    assert again.state.n_labels() == 1
    again.append({"event": "label", "id": 2, "class": "dog"})
    again.close()
    events = list(read_events(log.path))
    assert [e.get("id") for e in events] == [None, 1, 2]


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "log.jsonl").write_bytes(b'{"seq":1,"event":"batch","picks":[]}\nnot json\n{}\n')
    with pytest.raises(ValueError, match="line 2: not a JSON event"):
        EventLog(tmp_path)

"""The labelling app's HTTP API (foxdog/label/app.py) on generated photo folders.

Every test drives the real app (Starlette's TestClient, or uvicorn on a free
port for the concurrent posts) over a real session: real decoding, the real
transfer encoder's features, the real log on disk.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pytest
import uvicorn
from label_photos import make_folder, open_session, photo
from starlette.testclient import TestClient

from foxdog.label.app import create_app
from foxdog.label.log import read_events

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    make_folder(root, 24)
    return root


@pytest.fixture
def client(photos: Path, tmp_path: Path):
    session = open_session(photos, tmp_path / "project", batch_size=5, synchronous=True)
    with TestClient(create_app(session), base_url=BASE) as c:
        c.session = session
        yield c
    session.close()


def events(client) -> list[dict]:
    return list(read_events(client.session.log.path))


def post(client, path: str, body: dict, **headers: str) -> httpx.Response:
    return client.post(path, json=body, headers=headers)


def test_label_advances_and_is_logged_before_the_answer(client) -> None:
    state = client.get("/api/state").json()
    first = state["current"]
    assert client.get(f"/photo/{first}").headers["content-type"] == "image/jpeg"
    after = post(client, "/api/label", {"id": first, "class": "1"}).json()
    assert after["current"] != first and after["labelled"] == 1
    assert after["counts"] == {"fox": 1, "dog": 0}
    label = [e for e in events(client) if e["event"] == "label"]
    assert label == [{"event": "label", "id": first, "class": "fox", "seq": 2, "t": label[0]["t"]}]


def test_unknown_class_key_is_refused_and_not_logged(client) -> None:
    current = client.get("/api/state").json()["current"]
    before = events(client)
    for key in ("3", "0", "cat", ""):
        response = post(client, "/api/label", {"id": current, "class": key})
        assert response.status_code == 400, key
        assert "unknown" in response.json()["error"]
    assert events(client) == before
    assert client.get("/api/state").json()["current"] == current


def test_undo_and_unsure(client) -> None:
    first = client.get("/api/state").json()["current"]
    post(client, "/api/label", {"id": first, "class": "dog"})
    undone = post(client, "/api/undo", {}).json()
    assert undone["current"] == first and undone["labelled"] == 0
    unsure = post(client, "/api/label", {"id": first, "class": "x"}).json()
    assert unsure["unsure"] == 1 and unsure["labelled"] == 0
    kinds = [e["event"] for e in events(client)]
    assert kinds == ["batch", "label", "undo", "label"]
    # An answered photo is not asked again, and cannot be answered twice.
    assert post(client, "/api/label", {"id": first, "class": "fox"}).status_code == 409


def test_photo_deleted_during_the_session(client, photos: Path) -> None:
    state = client.get("/api/state").json()
    doomed = state["next"][0]
    client.session.project.photo_path(doomed).unlink()
    post(client, "/api/label", {"id": state["current"], "class": "fox"})
    after = client.get("/api/state").json()
    assert after["current"] != doomed and doomed not in after["next"]
    assert {"event": "gone", "id": doomed} in [
        {k: e[k] for k in ("event", "id")} for e in events(client) if e["event"] == "gone"
    ]
    assert client.get(f"/photo/{doomed}").status_code == 404
    assert post(client, "/api/label", {"id": doomed, "class": "fox"}).status_code == 410


def test_corrupt_and_unusable_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    make_folder(root, 6)
    good = (root / "roll0/day0/img_000.jpg").read_bytes()
    (root / "bad").mkdir()
    (root / "bad/truncated.jpg").write_bytes(good[: len(good) // 3])
    (root / "bad/not_an_image.png").write_bytes(b"hello, not a PNG")
    (root / "bad/copy.jpg").write_bytes(good)  # an exact duplicate
    (root / "notes.txt").write_text("not a photo")
    session = open_session(root, tmp_path / "project")
    try:
        table = session.project.skipped
        skipped = dict(zip(table["path"], table["reason"], strict=True))
        assert set(skipped) == {
            "bad/truncated.jpg",
            "bad/not_an_image.png",
            "roll0/day0/img_000.jpg",
        }
        assert "not a decodable image" in skipped["bad/truncated.jpg"]
        assert "not a decodable image" in skipped["bad/not_an_image.png"]
        # Curation keeps the first of a near-duplicate set in sorted path order.
        assert skipped["roll0/day0/img_000.jpg"] == "near-duplicate of bad/copy.jpg"
        assert sorted(session.project.index["path"]) == sorted(
            ["bad/copy.jpg"] + [f"roll{i % 3}/day{i % 2}/img_{i:03d}.jpg" for i in range(1, 6)]
        )
    finally:
        session.close()


def test_folder_with_one_readable_photo(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    (root / "only.jpg").write_bytes(photo(__import__("numpy").random.default_rng(0), "fox"))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    session = open_session(root, tmp_path / "project")
    with TestClient(create_app(session), base_url=BASE) as c:
        state = c.get("/api/state").json()
        assert state["current"] == 0 and state["total"] == 1
        done = c.post("/api/label", json={"id": 0, "class": "fox"}).json()
        assert done["current"] is None and done["remaining"] == 0
        assert done["model"] is None and done["estimate"] is None
        assert "Keep labelling" in done["stop"]["text"]
        assert c.get("/api/curve").status_code == 200
    session.close()


def test_foreign_host_and_origin_are_refused(client) -> None:
    current = client.get("/api/state").json()["current"]
    before = events(client)
    body = {"id": current, "class": "fox"}
    assert client.get("/api/state", headers={"Host": "evil.example"}).status_code == 400
    assert post(client, "/api/label", body, Host="evil.example:8765").status_code == 400
    assert post(client, "/api/label", body, Origin="http://evil.example").status_code == 403
    assert post(client, "/api/label", body, Origin="http://127.0.0.1:9999").status_code == 403
    cross = post(client, "/api/label", body, **{"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    # A form post (no CORS preflight) cannot change anything either.
    form = client.post("/api/label", data=body)
    assert form.status_code == 403
    assert events(client) == before
    same = post(client, "/api/label", body, Origin=BASE)
    assert same.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/photo/..%2F..%2Fetc%2Fpasswd",
        "/photo/%2Fetc%2Fpasswd",
        "/photo/../pyproject.toml",
        "/photo/-1",
        "/photo/1.5",
        "/photo/0x1",
        "/photo/99999",
        "/static/..%2F..%2Fpyproject.toml",
        "/static/project.py",
    ],
)
def test_path_like_ids_are_refused(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"[project]" not in response.content and b"root:" not in response.content


def test_path_like_ids_in_a_label_are_refused(client) -> None:
    before = events(client)
    for bad in ("../etc/passwd", "3", 3.0, True, None, -1, 10**6):
        response = post(client, "/api/label", {"id": bad, "class": "fox"})
        assert response.status_code in (400, 404), bad
    assert events(client) == before


def _serve(session) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(session), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    return url, server, thread


def test_fifty_concurrent_label_posts_keep_the_log_intact(photos: Path, tmp_path: Path) -> None:
    session = open_session(photos, tmp_path / "project", batch_size=5)
    url, server, thread = _serve(session)
    try:
        ids = list(range(20)) + list(range(15)) + list(range(15))  # 50 posts, 30 repeats
        keys = ["fox", "dog"]

        def send(i: int) -> int:
            body = {"id": ids[i], "class": keys[i % 2]}
            return httpx.post(f"{url}/api/label", json=body, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(send, range(50)))
        assert Counter(codes) == {200: 20, 409: 30}
        lines = session.log.path.read_bytes().split(b"\n")
        assert lines[-1] == b""  # every event is a whole line
        logged = [json.loads(line) for line in lines[:-1]]
        assert [e["seq"] for e in logged] == list(range(1, len(logged) + 1))
        labelled = [e["id"] for e in logged if e["event"] == "label"]
        assert sorted(labelled) == list(range(20))
        assert session.log.state.n_labels() == 20
    finally:
        server.should_exit = True
        thread.join(10)
        session.close()


def test_strategy_switch_is_logged_and_survives_a_restart(client, photos, tmp_path) -> None:
    assert post(client, "/api/undo", {}).status_code == 409  # nothing to undo yet
    bad = post(client, "/api/strategy", {"name": "bald"})
    assert bad.status_code == 400 and "unknown" in bad.json()["error"]
    assert post(client, "/api/strategy", {"name": "coreset"}).json()["strategy"] == "coreset"
    assert [e["name"] for e in events(client) if e["event"] == "strategy"] == ["coreset"]
    client.session.close()
    again = open_session(photos, tmp_path / "project", batch_size=5)
    try:
        assert again.strategy == "coreset"
    finally:
        again.close()


def test_the_default_imagenet_features_drive_the_app(tmp_path: Path) -> None:
    # The app's default extractor: EfficientNet-Lite0's 1280-d ImageNet features.
    from foxdog.config import Params

    assert Params().label.extractor == "imagenet"
    root = tmp_path / "photos"
    make_folder(root, 8)
    session = open_session(root, tmp_path / "project", extractor="imagenet", synchronous=True)
    assert session.features.shape == (8, 1280)
    assert np.isfinite(session.features).all() and session.features.std() > 0

"""``/admin/ws`` across two gunicorn workers: an event made on one reaches admins on both.

``flight-app serve`` runs with two gthread workers. Admin sockets are opened until
the ``ready`` messages (which carry the serving worker's pid) show both workers,
then a failed sign-in and a registration are made over HTTP (on whichever worker
takes them): every admin socket must receive both within one second. Run without
Redis (each worker follows the shared ``auth.jsonl``) and with Redis pub/sub on a
channel of its own. A non-admin token is refused either way.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "violet-harbour-7-lanterns"


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
def fanout(request: pytest.FixtureRequest) -> dict[str, str]:
    """The fan-out settings: none (the shared log file), or Redis with a fresh channel."""
    if request.param == "file":
        return {}
    url: str = request.getfixturevalue("redis_url")
    return {"redis_url": url, "live_channel": f"authkit-e2e-{uuid.uuid4().hex}"}


@pytest.fixture
def server(
    start_server: Callable[..., Any], fanout: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Two workers of 8 threads (so at most 4 admin sockets each, the default half).

    ``--reuse-port`` gives each worker its own listening socket and lets the kernel
    spread connections by address hash: with one shared socket, idle gthread
    workers race for each accept and one of them tends to win them all, which
    would make "a socket on each worker" a matter of luck.
    """
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--reuse-port")
    return start_server(workers="2", threads="8", admin_password=ADMIN_PASSWORD, **fanout)


def ws_url(server: Any, query: str = "") -> str:
    base: str = server.base_url
    return base.replace("http://", "ws://") + "/admin/ws" + query


def sign_in(server: Any, username: str, password: str) -> str:
    response = httpx.post(
        f"{server.base_url}/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def next_message(ws: ClientConnection, deadline: float) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
    return message


@pytest.fixture
def admin_sockets(server: Any) -> Iterator[dict[int, list[ClientConnection]]]:
    """Admin sockets by serving worker pid, opened until both workers serve one.

    A worker listens only once its app is loaded, so the second one may still be
    booting when the server first answers: keep trying for a while.
    """
    token = sign_in(server, "admin", ADMIN_PASSWORD)
    by_worker: dict[int, list[ClientConnection]] = {}
    deadline = time.monotonic() + 60
    with ExitStack() as stack:
        while len(by_worker) < 2 and time.monotonic() < deadline:
            try:
                ws = stack.enter_context(connect(ws_url(server, f"?access_token={token}")))
            except InvalidStatus as refused:  # that worker is at its socket cap: try again
                status = refused.response.status_code
                if status != 503:
                    raise
                time.sleep(0.2)
                continue
            ready = next_message(ws, time.monotonic() + 5)
            assert ready["type"] == "ready"
            by_worker.setdefault(ready["data"]["worker"], []).append(ws)
        assert len(by_worker) == 2, f"every socket landed on one worker: {list(by_worker)}"
        yield by_worker


def wait_for_event(
    ws: ClientConnection, deadline: float, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    while True:
        message = next_message(ws, deadline)
        if message["type"] == "audit" and predicate(message["data"]):
            return message


def test_an_event_on_one_worker_reaches_admins_on_both_within_a_second(
    server: Any, admin_sockets: dict[int, list[ClientConnection]]
) -> None:
    sockets = [ws for group in admin_sockets.values() for ws in group]
    username = f"e2e-{uuid.uuid4().hex[:8]}"

    started = time.monotonic()
    failed = httpx.post(
        f"{server.base_url}/auth/login",
        json={"username": username, "password": "not the password at all"},
        timeout=10,
    )
    assert failed.status_code == 401
    deadline = started + 1.0
    for ws in sockets:
        event = wait_for_event(
            ws, deadline, lambda e: e["event"] == "login" and e["outcome"] == "failure"
        )
        assert event["data"]["trace_id"]
        assert username not in json.dumps(event)  # pseudonymised, as in the log
    assert time.monotonic() - started < 1.0

    started = time.monotonic()
    created = httpx.post(
        f"{server.base_url}/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    deadline = started + 1.0
    for ws in sockets:
        wait_for_event(ws, deadline, lambda e: e["event"] == "register")


def test_a_non_admin_token_is_refused(server: Any) -> None:
    username = f"plain-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{server.base_url}/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    token = sign_in(server, username, ADMIN_PASSWORD)

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, f"?access_token={token}"))
    assert refused.value.response.status_code == 403

    with connect(ws_url(server)) as ws:
        ws.send(json.dumps({"access_token": token}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "admin role required")

    with pytest.raises(InvalidStatus) as invalid:
        connect(ws_url(server, "?access_token=forged"))
    assert invalid.value.response.status_code == 401


def test_sigterm_closes_open_admin_sockets_and_stops_promptly(
    server: Any, admin_sockets: dict[int, list[ClientConnection]]
) -> None:
    """The SIGTERM hook closes sockets with 1001, so the graceful stop does not wait on them."""
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 10  # graceful_timeout is 20 s
    for group in admin_sockets.values():
        for ws in group:
            assert close_code(ws) == 1001


def close_code(ws: ClientConnection) -> int | None:
    """Read until the connection ends; the server's close code (None: no close frame)."""
    deadline = time.monotonic() + 5
    try:
        while True:
            ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code

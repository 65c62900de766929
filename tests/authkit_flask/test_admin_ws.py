"""``GET /admin/ws`` in-process: authentication, the stream, and every way it closes.

The app runs under werkzeug's threaded server on a free 127.0.0.1 port, its live
updates following the audit log (the multi-worker gunicorn case is in
``tests/e2e/test_admin_ws.py``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from authkit import AuditLogger, Authkit, AuthkitConfig
from authkit.clock import FrozenClock
from authkit.live import FileEventSource
from authkit_flask import LiveUpdates, get_state

Serve = Callable[..., tuple[Flask, str]]


@pytest.fixture
def serve(make_app: Callable[..., Flask]) -> Iterator[Serve]:
    """``serve(config=None, **options)``: ``make_app`` served on a free port; its ws:// base."""
    running: list[tuple[Flask, Any, threading.Thread]] = []

    def start(*args: Any, **options: Any) -> tuple[Flask, str]:
        app = make_app(*args, **options)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((app, server, thread))
        return app, f"ws://127.0.0.1:{server.server_port}"

    yield start
    for app, server, thread in running:
        live(app).shutdown()
        server.shutdown()
        thread.join(timeout=5)


def live(app: Flask) -> LiveUpdates:
    value = get_state(app).live
    assert value is not None
    return value


def kit_of(app: Flask) -> Authkit:
    return get_state(app).kit


def audit_of(app: Flask) -> AuditLogger:
    audit = kit_of(app).audit
    assert isinstance(audit, AuditLogger)
    return audit


def grant_admin(kit: Authkit, user_id: str) -> None:
    user = kit.stores.users.get(user_id)
    assert user is not None
    assert kit.stores.users.set_roles(user_id, [*user.roles, "admin"]) is not None


def add_deputy(kit: Authkit) -> None:
    """Another active admin, so the store lets the watched one lose the role or be deactivated."""
    kit.auth.create_user(
        username="deputy",
        email="deputy@example.com",
        password="violet-harbour-7-lanterns",
        roles=("admin",),
    )


def revoke_admin(kit: Authkit, user_id: str) -> None:
    user = kit.stores.users.get(user_id)
    assert user is not None
    assert kit.stores.users.set_roles(user_id, [r for r in user.roles if r != "admin"]) is not None


def sign_in(app: Flask, username: str, *, admin: bool) -> tuple[str, str]:
    """Register ``username`` on ``app`` (as admin or not) and sign in: (token, user id)."""
    client: FlaskClient = app.test_client()
    password = "violet-harbour-7-lanterns"
    created = client.post(
        "/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": password},
    )
    assert created.status_code == 201, created.get_json()
    user_id: str = created.get_json()["id"]
    if admin:
        grant_admin(kit_of(app), user_id)
    login: TestResponse = client.post(
        "/auth/login", json={"username": username, "password": password}
    )
    assert login.status_code == 200, login.get_json()
    token: str = login.get_json()["access_token"]
    return token, user_id


def receive(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def receive_until(ws: ClientConnection, kind: str, timeout: float = 2.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = receive(ws, max(deadline - time.monotonic(), 0.01))
        if message["type"] == kind:
            return message


def drain(ws: ClientConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ws.recv(timeout=max(deadline - time.monotonic(), 0.01))


def closed_with(ws: ClientConnection, timeout: float = 3.0) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        drain(ws, timeout)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_an_admin_gets_ready_then_every_audit_event_within_a_second(
    serve: Serve,
) -> None:
    app, base = serve()
    token, user_id = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        ready = receive(ws)
        assert ready["type"] == "ready"
        assert ready["data"]["user_id"] == user_id
        assert isinstance(ready["data"]["worker"], int)
        assert ready["data"]["expires_at"].endswith("Z")
        started = time.perf_counter()
        written = audit_of(app).log("login", outcome="failure", reason="test")
        message = receive(ws, timeout=1.0)
        assert time.perf_counter() - started < 1.0
        assert message == {"type": "audit", "data": written}


def test_user_changes_are_pushed_twice_as_audit_and_user_change(
    serve: Serve,
) -> None:
    app, base = serve()
    token, _ = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        receive(ws)
        written = audit_of(app).log("admin.user.update", outcome="success", target_ids=["42"])
        assert receive(ws) == {"type": "audit", "data": written}
        assert receive(ws) == {"type": "user_change", "data": written}


def test_a_non_admin_query_token_is_refused_with_403_before_the_upgrade(
    serve: Serve,
) -> None:
    app, base = serve()
    token, _ = sign_in(app, "alice", admin=False)
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{base}/admin/ws?access_token={token}")
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"{}")["code"] == "forbidden"


@pytest.mark.parametrize("token", ["not-a-jwt", "", "x" * 9000])
def test_an_invalid_query_token_is_refused_with_401_before_the_upgrade(
    serve: Serve, token: str
) -> None:
    _, base = serve()
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{base}/admin/ws?access_token={token}")
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body or b"{}")["code"] == "invalid_token"


def test_the_token_may_come_as_the_first_message(
    serve: Serve,
) -> None:
    app, base = serve()
    token, user_id = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws") as ws:
        ws.send(json.dumps({"access_token": token}))
        assert receive(ws)["data"]["user_id"] == user_id


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (json.dumps({"access_token": "not-a-jwt"}), "invalid access token"),
        (json.dumps({"token": "wrong member"}), 'send {"access_token": ...} first'),
        ("not json", 'send {"access_token": ...} first'),
        (json.dumps(["access_token"]), 'send {"access_token": ...} first'),
    ],
)
def test_a_bad_first_message_closes_with_1008(serve: Serve, first: str, reason: str) -> None:
    _, base = serve()
    with connect(f"{base}/admin/ws") as ws:
        ws.send(first)
        assert closed_with(ws) == (1008, reason)


def test_a_non_admin_first_message_closes_with_1008(
    serve: Serve,
) -> None:
    app, base = serve()
    token, _ = sign_in(app, "alice", admin=False)
    with connect(f"{base}/admin/ws") as ws:
        ws.send(json.dumps({"access_token": token}))
        assert closed_with(ws) == (1008, "admin role required")


def test_no_first_message_in_time_closes_with_1008(
    serve: Serve,
) -> None:
    app, base = serve()
    live(app).first_message_timeout = 0.2
    with connect(f"{base}/admin/ws") as ws:
        assert closed_with(ws) == (1008, 'send {"access_token": ...} first')


def test_the_socket_closes_when_the_token_expires(serve: Serve, config: AuthkitConfig) -> None:
    """The core's clock decides; moving it past ``exp`` closes the socket (no sleeping)."""
    clock = FrozenClock(datetime.now(UTC))
    app, base = serve(clock=clock)
    token, _ = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        receive(ws)
        clock.advance(config.access_tokens.ttl_seconds + 1)
        assert closed_with(ws) == (1008, "access token expired")


def test_the_socket_closes_when_the_user_is_deactivated(serve: Serve) -> None:
    app, base = serve()
    live(app).recheck_seconds = 0.2
    token, user_id = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        receive(ws)
        add_deputy(kit_of(app))
        assert kit_of(app).stores.users.set_active(user_id, False) is not None
        assert closed_with(ws) == (1008, "access token no longer valid")


def test_the_socket_closes_when_the_admin_role_is_removed(
    serve: Serve,
) -> None:
    app, base = serve()
    live(app).recheck_seconds = 0.2
    token, user_id = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        receive(ws)
        add_deputy(kit_of(app))
        revoke_admin(kit_of(app), user_id)
        assert closed_with(ws) == (1008, "admin role required")


def test_a_user_change_event_triggers_the_recheck_at_once(
    serve: Serve,
) -> None:
    """The periodic recheck is far away; the ``admin.user*`` event alone closes the socket."""
    app, base = serve()
    live(app).recheck_seconds = 3600
    token, user_id = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as ws:
        receive(ws)
        add_deputy(kit_of(app))
        revoke_admin(kit_of(app), user_id)
        audit_of(app).log("admin.user.update", outcome="success", target_ids=[user_id])
        assert closed_with(ws, timeout=2) == (1008, "admin role required")


def test_past_capacity_a_new_socket_gets_503_before_the_upgrade(
    serve: Serve, audit_path: Path
) -> None:
    app, base = serve(live_updates=LiveUpdates(FileEventSource(audit_path), max_clients=1))
    token, _ = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws?access_token={token}") as first:
        receive(first)
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{base}/admin/ws?access_token={token}")
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"] == "5"
    deadline = time.monotonic() + 3
    while len(live(app).hub) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the close on its next wake-up
    with connect(f"{base}/admin/ws?access_token={token}") as again:
        assert receive(again)["type"] == "ready"


def test_sockets_waiting_for_their_first_message_count_against_capacity(
    serve: Serve, audit_path: Path
) -> None:
    """Regression (review): unauthenticated upgrades cannot pile up and hold every
    worker thread; while one waits for its token, the next gets 503 before upgrading."""
    app, base = serve(live_updates=LiveUpdates(FileEventSource(audit_path), max_clients=1))
    token, _ = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws") as waiting:  # no token yet
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{base}/admin/ws")
        assert refused.value.response.status_code == 503
        waiting.send(json.dumps({"access_token": token}))
        assert receive(waiting)["type"] == "ready"
    deadline = time.monotonic() + 3
    while len(live(app).hub) and time.monotonic() < deadline:
        time.sleep(0.05)
    with connect(f"{base}/admin/ws?access_token={token}") as again:
        assert receive(again)["type"] == "ready"


def test_a_plain_get_does_not_leak_a_waiting_place(client: FlaskClient, app: Flask) -> None:
    """A request that never upgrades gives its reserved place back."""
    for _ in range(5):
        assert client.get("/admin/ws").status_code == 400
    assert live(app).reserve_pending("127.0.0.1")


def test_shutdown_closes_every_socket_with_1001_and_stops_the_threads(
    serve: Serve,
) -> None:
    app, base = serve()
    token, _ = sign_in(app, "root", admin=True)
    with (
        connect(f"{base}/admin/ws?access_token={token}") as one,
        connect(f"{base}/admin/ws?access_token={token}") as two,
    ):
        receive(one)
        receive(two)
        assert any(t.name.startswith("authkit-live-follow") for t in threading.enumerate())
        live(app).shutdown()
        assert closed_with(one) == (1001, "server shutting down")
        assert closed_with(two) == (1001, "server shutting down")
    assert not any(t.name.startswith("authkit-live-") for t in threading.enumerate())


def test_a_plain_http_get_is_400(client: FlaskClient) -> None:
    response = client.get("/admin/ws")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_no_thread_runs_until_the_first_admin_connects(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    audit_of(app).log("login", outcome="failure")
    assert not any(t.name.startswith("authkit-live-") for t in threading.enumerate())


def test_strangers_cannot_take_every_place_from_an_admin(serve: Serve, audit_path: Path) -> None:
    """Regression (security probe, finding 4): anonymous sockets reopened in a loop
    filled the live cap and a real admin got 503 twenty times out of twenty. Now
    waiting sockets get one place per address and never the last place."""
    app, base = serve(live_updates=LiveUpdates(FileEventSource(audit_path), max_clients=3))
    token, _ = sign_in(app, "root", admin=True)
    with connect(f"{base}/admin/ws") as stranger:  # holds this address's waiting place
        for _ in range(3):
            with pytest.raises(InvalidStatus) as refused:
                connect(f"{base}/admin/ws")
            assert refused.value.response.status_code == 503
        with (
            connect(f"{base}/admin/ws?access_token={token}") as admin,
            connect(f"{base}/admin/ws?access_token={token}") as second,
        ):
            assert receive(admin)["type"] == "ready"
            assert receive(second)["type"] == "ready"
        assert closed_with(stranger)[0] == 1008  # it never sent a token


def test_waiting_places_are_counted_per_address_and_never_the_last() -> None:
    live_updates = LiveUpdates(FileEventSource(Path("unused.jsonl")), max_clients=4)
    assert live_updates.max_pending == 3
    assert live_updates.reserve_pending("198.51.100.1")
    assert not live_updates.reserve_pending("198.51.100.1"), "one per address"
    assert live_updates.reserve_pending("198.51.100.2")
    assert live_updates.reserve_pending("198.51.100.3")
    assert not live_updates.reserve_pending("198.51.100.4"), "the last place stays free"
    assert not live_updates.full
    live_updates.release_pending("198.51.100.1")
    assert live_updates.reserve_pending("198.51.100.4")
    assert live_updates.reserve_pending("198.51.100.1") is False  # total again at 3
    live_updates.release_pending("198.51.100.2")
    assert live_updates.reserve_pending("198.51.100.1")

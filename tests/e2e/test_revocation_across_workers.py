"""End to end: a logout, a revocation and a deactivation end access tokens on every worker.

Two ``flight-app serve`` hosts (two gunicorn workers each, ``--reuse-port``, so
each worker listens on its own socket and the kernel spreads connections by
their source port) share one instance folder: the database and the key ring, as hosts behind a load
balancer share PostgreSQL and the key ring secret. Keep-alive connections are
opened to both hosts until every worker of both holds at least one (the worker
that owns each connection is read from ``/proc``), each proven to answer
``GET /auth/me`` with 200. Then the change is made through one worker of the
first host, and the very next request on every connection, so on every worker
of both hosts, must be 401 — at once, well inside the contract's one second.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import SignUpAndIn

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
PASSWORD = "marmalade drifts at noon 7"
# A worker still importing the app after the first one answers (a loaded CI
# machine) has not bound its socket yet: keep connecting until both answer.
COVER_SECONDS = 60.0


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _owner(client_port: int, workers: set[int]) -> int | None:
    """The worker whose socket is the server end of the connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port != client_port:
                continue
            for pid in workers:
                if fields[9] in _socket_inodes(pid):
                    return pid
    return None


class Host:
    def __init__(self, server: Any) -> None:
        self.server = server
        url = urlsplit(server.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            return _send(connection, method, path, body, token)
        finally:
            connection.close()


def _send(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    raw = response.read()
    return response.status, (json.loads(raw) if raw else None)


@contextmanager
def _connections_on_every_worker(
    hosts: list[Host], token: str
) -> Iterator[list[tuple[int, http.client.HTTPConnection]]]:
    """Keep-alive connections, each proven with a 200, until every worker holds one."""
    opened: list[tuple[int, http.client.HTTPConnection]] = []
    try:
        for host in hosts:
            workers = _worker_pids(host.server.process.pid)
            assert len(workers) == 2, workers
            covered: set[int] = set()
            deadline = time.monotonic() + COVER_SECONDS
            while covered != workers and time.monotonic() < deadline:
                connection = http.client.HTTPConnection(host.host, host.port, timeout=10)
                status, _ = _send(connection, "GET", "/auth/me", token=token)
                assert status == 200
                owner = _owner(connection.sock.getsockname()[1], workers)
                assert owner is not None
                if owner in covered:
                    connection.close()
                    time.sleep(0.05)
                    continue
                opened.append((owner, connection))
                covered.add(owner)
            assert covered == workers, (
                f"in {COVER_SECONDS:.0f} s connections reached only {covered} of {workers}"
            )
        yield opened
    finally:
        for _, connection in opened:
            connection.close()


@pytest.fixture(scope="module")
def hosts(
    start_shared_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> list[Host]:
    """Started once for the module: each test signs up its own user.

    A fresh instance folder of its own: the shared servers' default one may already
    hold an admin seeded with another module's password.
    """
    instance = tmp_path_factory.mktemp("revocation-instance")
    # --reuse-port: one listening socket per worker, so connections spread over both.
    previous = os.environ.get("GUNICORN_CMD_ARGS")
    os.environ["GUNICORN_CMD_ARGS"] = "--reuse-port"
    try:
        first = start_shared_server(
            instance=instance, workers="2", threads="4", admin_password=ADMIN_PASSWORD
        )
        second = start_shared_server(
            instance=first.instance, workers="2", threads="4", admin_password=ADMIN_PASSWORD
        )
    finally:
        if previous is None:
            del os.environ["GUNICORN_CMD_ARGS"]
        else:
            os.environ["GUNICORN_CMD_ARGS"] = previous
    return [Host(first), Host(second)]


def _assert_refused_everywhere(
    connections: list[tuple[int, http.client.HTTPConnection]], token: str, started: float
) -> None:
    refused_on = set()
    for owner, connection in connections:
        status, body = _send(connection, "GET", "/auth/me", token=token)
        assert status == 401, (owner, body)
        refused_on.add(owner)
    assert time.monotonic() - started < 1.0
    assert len(refused_on) == 4  # two workers on each of the two hosts


def test_logout_ends_the_access_token_on_every_worker_of_every_host(
    hosts: list[Host], sign_up_and_in: SignUpAndIn
) -> None:
    session = sign_up_and_in(hosts[0], "e2e-logout", PASSWORD)
    with _connections_on_every_worker(hosts, session["access_token"]) as connections:
        started = time.monotonic()
        status, _ = hosts[0].call(
            "POST", "/auth/logout", {"refresh_token": session["refresh_token"]}
        )
        assert status == 204
        _assert_refused_everywhere(connections, session["access_token"], started)


def test_logout_all_ends_every_session_on_every_worker_of_every_host(
    hosts: list[Host], sign_up_and_in: SignUpAndIn
) -> None:
    first = sign_up_and_in(hosts[0], "e2e-logout-all", PASSWORD)
    status, second = hosts[1].call(
        "POST", "/auth/login", {"username": "e2e-logout-all", "password": PASSWORD}
    )
    assert status == 200
    with _connections_on_every_worker(hosts, second["access_token"]) as connections:
        started = time.monotonic()
        status, _ = hosts[0].call("POST", "/auth/logout-all", token=first["access_token"])
        assert status == 204
        _assert_refused_everywhere(connections, second["access_token"], started)


def test_deactivation_ends_the_access_token_at_once_on_every_worker_of_every_host(
    hosts: list[Host], sign_up_and_in: SignUpAndIn
) -> None:
    session = sign_up_and_in(hosts[0], "e2e-deactivated", PASSWORD)
    status, admin = hosts[0].call(
        "POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert status == 200, admin
    with _connections_on_every_worker(hosts, session["access_token"]) as connections:
        started = time.monotonic()
        status, body = hosts[0].call(
            "PATCH",
            f"/auth/users/{session['user']['id']}",
            {"is_active": False},
            token=admin["access_token"],
        )
        assert status == 200, body
        assert body["is_active"] is False
        _assert_refused_everywhere(connections, session["access_token"], started)
        # And back: reactivation alone does not revive the revoked session's token.
        status, _ = hosts[0].call(
            "PATCH",
            f"/auth/users/{session['user']['id']}",
            {"is_active": True},
            token=admin["access_token"],
        )
        assert status == 200
        _assert_refused_everywhere(connections, session["access_token"], time.monotonic())

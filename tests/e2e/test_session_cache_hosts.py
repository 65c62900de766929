"""End to end: a session cached on one host ends when another host revokes it.

Two ``flight-app serve`` hosts with instance folders of their own (so they do
NOT share the session-cache epoch file) share one PostgreSQL database, one Redis
(a channel of this run only), the key ring's content and the secrets, as hosts
behind a load balancer do. Host B's cache is warm (``session_cache_ttl=1``: an
entry lives a full second); the change is made through host A, and host B must
refuse the token well before its cache entry would expire: only the Redis event
can have told it. The measured delays are printed (``-s`` shows them).
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import SignUpAndIn


pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
PASSWORD = "marmalade drifts at noon 7"
SECRET = "e2e-session-cache-secret-key-of-48-characters!!"
BOUND = 1.0  # the contract: a revoked session ends within a second
FAST = 0.3  # well inside the 1 s cache entry: only the event can explain it
POLL = 0.02


class Host:
    """One keep-alive connection to a host (one worker answers every request on it)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        url = urlsplit(server.base_url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)


@pytest.fixture
def hosts(
    start_server: Callable[..., Any], tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[Host, Host]]:
    """Two hosts on one fresh PostgreSQL database and one Redis (the shared fixtures:
    they skip on a laptop without the servers, and CI sets both)."""
    settings = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "live_channel": f"authkit-e2e-cache-{uuid.uuid4().hex}",
        "secret_key": SECRET,
        "session_cache_ttl": "1.0",
        "workers": "1",
        "admin_password": ADMIN_PASSWORD,
    }
    first = start_server(instance=tmp_path / "host-a", **settings)
    # The same ring, as a deployment ships one key ring file to every host.
    (tmp_path / "host-b").mkdir(mode=0o700)
    shutil.copy2(first.instance / "keyring.json", tmp_path / "host-b" / "keyring.json")
    second = start_server(instance=tmp_path / "host-b", **settings)
    a, b = Host(first), Host(second)
    try:
        yield a, b
    finally:
        a.connection.close()
        b.connection.close()
        first.stop()
        second.stop()


def _warm(host: Host, token: str) -> None:
    for _ in range(5):
        status, body = host.call("GET", "/auth/me", token=token)
        assert status == 200, body


def _refused_after(host: Host, token: str, changed_at: float) -> float:
    """Poll every 20 ms; the delay from the change's answer to the first 401."""
    while True:
        status, body = host.call("GET", "/auth/me", token=token)
        now = time.monotonic()
        if status == 401:
            return now - changed_at
        assert status == 200, body
        if now - changed_at > 3 * BOUND:
            pytest.fail("host B still accepts the revoked token after 3 s")
        time.sleep(POLL)


def _check(delay: float, what: str) -> None:
    print(f"\nsession cache across hosts: {what} seen on host B after {delay * 1000:.1f} ms")
    assert delay < BOUND
    assert delay < FAST, f"{what}: {delay:.3f} s, as slow as the cache's ttl: no event arrived"


def test_a_logout_on_host_a_ends_the_token_on_host_b(
    hosts: tuple[Host, Host], sign_up_and_in: SignUpAndIn
) -> None:
    a, b = hosts
    session = sign_up_and_in(a, "cache-logout", PASSWORD)
    _warm(b, session["access_token"])
    status, _ = a.call("POST", "/auth/logout", {"refresh_token": session["refresh_token"]})
    changed_at = time.monotonic()
    assert status == 204
    _check(_refused_after(b, session["access_token"], changed_at), "logout")


def test_a_deactivation_on_host_a_ends_the_token_on_host_b(
    hosts: tuple[Host, Host], sign_up_and_in: SignUpAndIn
) -> None:
    a, b = hosts
    session = sign_up_and_in(a, "cache-deactivated", PASSWORD)
    status, admin = a.call("POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, admin
    _warm(b, session["access_token"])
    status, body = a.call(
        "PATCH",
        f"/auth/users/{session['user']['id']}",
        {"is_active": False},
        token=admin["access_token"],
    )
    changed_at = time.monotonic()
    assert status == 200, body
    _check(_refused_after(b, session["access_token"], changed_at), "deactivation")

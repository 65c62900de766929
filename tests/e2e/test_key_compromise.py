"""Issue 14, finding 12 on a running two-worker server: a leaked key stops at once.

``flight-app keys retire --kid K --compromised --yes`` removes the key without
waiting for the dual-key window. Workers check the ring file at most once a
second (``check_interval``), so from one reload interval after the command
every request with a token that key signed is 401 on every worker, while new
sign-ins get tokens from the key that replaced it. Both cases: the leaked key is
the active one (replaced in the same write), and a verify-only one inside its
window. Requests use a new connection each, so they spread over both workers.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "violet marmalade drifts at noon"
TTL = 600  # far longer than the test: only the retirement can end these tokens
RELOAD_INTERVAL = 1.0  # FileKeyRingSource's check_interval
REQUESTS = 24


def _kid(token: str) -> str:
    header = token.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return str(data["kid"])


def _keys(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(server.instance),
            "FLIGHT_APP_ACCESS_TOKEN_TTL": str(TTL),
            "FLIGHT_APP_CLOCK_SKEW": "0",
        }
    )
    return subprocess.run(
        [str(Path(sys.executable).with_name("flight-app")), "keys", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )


def _statuses(server: Any, token: str) -> list[int]:
    """``REQUESTS`` answers to ``/auth/me``, each on a new connection (either worker)."""
    return [
        httpx.get(
            f"{server.base_url}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        for _ in range(REQUESTS)
    ]


def _retire_compromised(server: Any, kid: str) -> float:
    """Run the emergency retirement; returns when its write was done (monotonic)."""
    result = _keys(server, "retire", f"--kid={kid}", "--compromised", "--yes")
    assert f"Retired compromised key {kid} immediately." in result.stdout
    return time.monotonic()


def test_a_compromised_key_stops_verifying_on_every_worker_within_the_reload_interval(
    start_server: Callable[..., Any],
) -> None:
    server = start_server(workers="2", access_token_ttl=str(TTL), clock_skew="0")
    client = httpx.Client(base_url=server.base_url, timeout=10)
    creds = {"username": "victim", "password": PASSWORD}
    assert (
        client.post("/auth/register", json={**creds, "email": "victim@example.com"}).status_code
        == 201
    )

    # 1. The active key leaks.
    leaked_active = client.post("/auth/login", json=creds).json()
    leaked_kid = _kid(leaked_active["access_token"])
    assert set(_statuses(server, leaked_active["access_token"])) == {200}
    done = _retire_compromised(server, leaked_kid)
    time.sleep(max(0.0, done + RELOAD_INTERVAL + 0.1 - time.monotonic()))
    assert set(_statuses(server, leaked_active["access_token"])) == {401}

    fresh = client.post("/auth/login", json=creds).json()
    new_kid = _kid(fresh["access_token"])
    assert new_kid != leaked_kid
    assert set(_statuses(server, fresh["access_token"])) == {200}
    assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [new_kid]
    # The session survives: its refresh token gets an access token from the new key.
    refreshed = client.post(
        "/auth/refresh", json={"refresh_token": leaked_active["refresh_token"]}
    ).json()
    assert _kid(refreshed["access_token"]) == new_kid

    # 2. A verify-only key, inside its window, leaks.
    _keys(server, "rotate")
    time.sleep(RELOAD_INTERVAL + 0.1)
    newest = client.post("/auth/login", json=creds).json()
    assert _kid(newest["access_token"]) != new_kid
    assert set(_statuses(server, fresh["access_token"])) == {200}  # still in its window
    done = _retire_compromised(server, new_kid)
    time.sleep(max(0.0, done + RELOAD_INTERVAL + 0.1 - time.monotonic()))
    assert set(_statuses(server, fresh["access_token"])) == {401}
    assert set(_statuses(server, newest["access_token"])) == {200}

    events = [
        json.loads(line)
        for line in (server.instance / "auth.jsonl").read_text().splitlines()
        if '"keys.retire"' in line
    ]
    assert [(e["compromised"], e["kids"]) for e in events] == [
        (True, [leaked_kid]),
        (True, [new_kid]),
    ]
    client.close()

"""Key rotation on a running two-worker server: no request fails, no restart.

Tokens signed before ``flight-app keys rotate`` keep verifying on every worker,
tokens signed after carry the new ``kid``, and JWKS lists both keys during the
dual-key window; ``keys retire`` after the window removes the old one.

Access tokens live 10 minutes here, so no token can expire however slow the
machine is. The window is not waited out: the test moves the key's demotion time
(the creation time of the key that replaced it) back by the window in the ring
file, ageing every key alike, which is what the passing of that time would do.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from authkit.keys import KeyRing, KeyRingFile

pytestmark = pytest.mark.e2e

PASSWORD = "violet marmalade drifts at noon"
TTL = 600  # seconds: far longer than the test, so load cannot expire a token


def _kid(token: str) -> str:
    header = token.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return str(data["kid"])


def _cli(server: Any, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
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
        check=check,
    )


def _age_the_ring(path: Path, *, seconds: int) -> None:
    """Move every key's creation (and so every demotion) ``seconds`` into the past."""
    file = KeyRingFile(path)
    with file.locked():
        ring = file.load()
        aged = (replace(k, created_at=k.created_at - timedelta(seconds=seconds)) for k in ring.keys)
        file.save(KeyRing(tuple(aged)))


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def test_rotate_and_retire_without_failures_or_restarts(start_server: Callable[..., Any]) -> None:
    server = start_server(workers="2", access_token_ttl=str(TTL), clock_skew="0")
    client = httpx.Client(base_url=server.base_url, timeout=10)
    creds = {"username": "rotator", "password": PASSWORD}
    assert (
        client.post("/auth/register", json={**creds, "email": "rotator@example.com"}).status_code
        == 201
    )
    old_token = client.post("/auth/login", json=creds).json()["access_token"]
    old_kid = _kid(old_token)
    workers_before = _worker_pids(server.process.pid)
    assert len(workers_before) == 2

    failures: list[int] = []
    answered: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        # New connections each time, so requests spread over both workers.
        while not stop.is_set():
            response = httpx.get(
                f"{server.base_url}/auth/me",
                headers={"Authorization": f"Bearer {old_token}"},
                timeout=10,
            )
            answered.append(response.status_code)
            if response.status_code != 200:
                failures.append(response.status_code)

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        _cli(server, "rotate")
        time.sleep(1.5)  # workers check the ring file at most once a second
        new_token = client.post("/auth/login", json=creds).json()["access_token"]
        new_kid = _kid(new_token)
        assert new_kid != old_kid

        jwks = client.get("/.well-known/jwks.json").json()
        assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
        for _ in range(10):  # both tokens on whichever worker answers
            for token in (old_token, new_token):
                response = httpx.get(
                    f"{server.base_url}/auth/me", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200
    finally:
        stop.set()
        thread.join(timeout=10)
    assert failures == []
    assert len(answered) > 20  # the hammer really ran across the rotation

    # Inside the dual-key window the old key cannot be retired by name ...
    refused = _cli(server, "retire", f"--kid={old_kid}", check=False)
    assert refused.returncode == 2
    assert "window has not passed" in refused.stderr
    # ... and once the window has passed since its demotion, it is.
    _age_the_ring(server.instance / "keyring.json", seconds=TTL + 1)
    assert "Retired 1 key(s)" in _cli(server, "retire").stdout
    time.sleep(1.5)
    jwks = client.get("/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid]
    fresh = client.post("/auth/login", json=creds).json()["access_token"]
    assert _kid(fresh) == new_kid
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert _worker_pids(server.process.pid) == workers_before  # nobody restarted
    client.close()

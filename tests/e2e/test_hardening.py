"""Findings of the black-box security probe, re-checked against the real server.

Each test starts ``flight-app serve`` as an operator would and attacks it the way
the probe did: anonymous admin sockets reopened in a loop (finding 4), and
several workers counting rate limits in their own memory (finding 8).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "violet-harbour-7-lanterns"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def admin_token(server: Any) -> str:
    response = httpx.post(
        f"{server.base_url}/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_anonymous_sockets_cannot_starve_an_admin(start_server: Callable[..., Any]) -> None:
    """Finding 4: two anonymous sockets, reopened every few seconds, filled the live
    cap (threads / 2) and a real admin got 503 on 20 of 20 tries. Now each address
    gets one waiting place and the last place is never a stranger's."""
    server = start_server(workers="1", threads="4", admin_password=ADMIN_PASSWORD)
    ws = server.base_url.replace("http://", "ws://") + "/admin/ws"
    token = admin_token(server)
    statuses: list[int] = []
    for _ in range(5):
        # A stranger waiting for a token it never sends, reopened each round as the
        # probe did: one socket kept open would be closed by the server after
        # first_message_timeout (3 s), which a slow round can outlast.
        with open_when_free(ws):
            with pytest.raises(InvalidStatus) as refused:
                connect(ws, open_timeout=5)  # a second one from the same address
            statuses.append(refused.value.response.status_code)
            assert admin_gets_in(f"{ws}?access_token={token}")
    assert statuses == [503] * 5


def open_when_free(url: str, within: float = 3.0) -> ClientConnection:
    """Open a socket, retrying the 503 of the moment the previous one from this
    address still holds its place (until the server's thread notices the close)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return connect(url, open_timeout=5)
        except InvalidStatus as exc:
            if exc.response.status_code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def admin_gets_in(url: str, within: float = 3.0) -> bool:
    """Whether an admin socket reaches ``ready`` within ``within`` seconds.

    The admin's previous socket, just closed by the client, holds its place until
    the server's thread notices the close: a 503 in that moment is retried.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            with connect(url, open_timeout=5) as admin:
                return bool(json.loads(admin.recv(timeout=5))["type"] == "ready")
        except InvalidStatus as exc:
            if exc.response.status_code != 503 or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def test_per_process_limits_with_several_workers(tmp_path: Path) -> None:
    """Finding 8: with several workers, memory:// limits count per process. prod
    refuses to start that way, naming the setting; other environments warn."""
    flight_app = str(Path(sys.executable).with_name("flight-app"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "prod",
            "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "prod"),
            "FLIGHT_APP_PORT": str(free_port()),
            "FLIGHT_APP_SECRET_KEY": "prod-secret-key-value-0123456789abcdef",
            "FLIGHT_APP_PSEUDONYM_KEY": "prod-pseudonym-key-value-0123456789abcdef",
            "FLIGHT_APP_MFA_ENCRYPTION_KEY": "prod-mfa-encryption-key-value",
            "FLIGHT_APP_METRICS_TOKEN": "prod-metrics-token-value",
        }
    )
    refused = subprocess.run(
        [flight_app, "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "FLIGHT_APP_RATELIMIT_STORAGE_URL" in refused.stderr


def test_outside_prod_several_workers_on_memory_limits_warn(
    start_server: Callable[..., Any],
) -> None:
    server = start_server(workers="2")
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = server.log.read_text(errors="replace")
        if "counted per process" in text:
            break
        time.sleep(0.2)
    assert "warning: rate limits are counted per process (memory://)" in text
    assert httpx.get(f"{server.base_url}/health/live", timeout=5).status_code == 200

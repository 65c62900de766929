"""End to end: ``flight-app serve`` as a real process, driven over real HTTP.

Starts the installed entry point on a free 127.0.0.1 port with a fresh instance
folder, walks register -> login -> me -> a bad JSON body -> a wrong password, then
stops it with SIGTERM and expects a clean, graceful exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"flight-app serve exited early with {process.returncode}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("flight-app serve did not become ready in time")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    executable = Path(sys.executable).with_name("flight-app")
    env = {
        **os.environ,
        "APP_ENV": "test",
        "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "instance"),
        "FLIGHT_APP_HOST": "127.0.0.1",
        "FLIGHT_APP_PORT": str(port),
        "FLIGHT_APP_WORKERS": "2",
    }
    env.pop("FLIGHT_APP_DATABASE_URL", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [str(executable), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base, process, tmp_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_register_login_me_errors_and_graceful_stop(
    server: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    base, process, tmp_path = server
    with httpx.Client(base_url=base, timeout=10) as client:
        credentials = {"username": "e2e-user", "password": "violet marmalade drifts at noon"}
        created = client.post(
            "/auth/register", json={**credentials, "email": "e2e-user@example.com"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["username"] == "e2e-user"
        assert "X-Request-ID" in created.headers

        login = client.post("/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        assert login.headers["Cache-Control"] == "no-store"
        pair = login.json()
        assert pair["token_type"] == "Bearer"

        me = client.get("/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert me.status_code == 200
        assert me.json()["email"] == "e2e-user@example.com"
        assert "password_hash" not in me.json()

        bad = client.post(
            "/auth/login", content=b'{"username": ', headers={"Content-Type": "application/json"}
        )
        assert bad.status_code == 400
        assert bad.headers["Content-Type"] == "application/problem+json"
        assert bad.json()["code"] == "invalid_request"

        wrong = client.post("/auth/login", json={**credentials, "password": "not the password!"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "invalid_credentials"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0

    raw = (tmp_path / "instance" / "auth.jsonl").read_text()
    events = [(e["event"], e["outcome"]) for e in map(json.loads, raw.splitlines())]
    assert ("register", "success") in events
    assert ("login", "success") in events
    assert ("login", "failure") in events
    assert "e2e-user@example.com" not in raw
    assert "127.0.0.1" not in raw
    assert credentials["password"] not in raw
    assert pair["access_token"] not in raw

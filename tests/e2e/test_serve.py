"""End to end: ``flight-app serve`` as a real process, driven over real HTTP.

Starts the installed entry point on a free 127.0.0.1 port with a fresh instance
folder, walks register -> login -> me -> a bad JSON body -> a wrong password, then
stops it with SIGTERM and expects a clean, graceful exit.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

StartServer = Callable[..., Any]


def test_register_login_me_errors_and_graceful_stop(start_server: StartServer) -> None:
    server = start_server(workers="2")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
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

        # Two workers: each scrape, whichever worker answers, sees every request.
        for _ in range(4):
            scrape = client.get("/metrics")
            assert scrape.status_code == 200
            assert (
                'authkit_requests_total{method="POST",route="/auth/register",status="201"} 1.0'
                in scrape.text
            )
            assert 'authkit_auth_failures_total{reason="invalid_credentials"} 1.0' in scrape.text
            assert "authkit_active_users 2.0" in scrape.text  # the seeded admin and e2e-user

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0

    raw = (server.instance / "auth.jsonl").read_text()
    events = [(e["event"], e["outcome"]) for e in map(json.loads, raw.splitlines())]
    assert ("register", "success") in events
    assert ("login", "success") in events
    assert ("login", "failure") in events
    assert "e2e-user@example.com" not in raw
    assert "127.0.0.1" not in raw
    assert credentials["password"] not in raw
    assert pair["access_token"] not in raw

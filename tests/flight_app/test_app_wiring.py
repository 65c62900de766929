"""The reference app's own wiring: its settings reach the core and the adapter.

The adapter's behaviour is tested in ``tests/authkit_flask`` on a plain Flask app;
here only what ``create_app`` adds: an Alembic-migrated database, settings from
``FLIGHT_APP_*`` variables mapped into ``AuthkitConfig`` and ``AuthKit`` options,
and its logging setup writing ``system.jsonl`` (which ``/admin/logs`` serves).
Every test runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit.audit import Pseudonymizer, flush_buffered_lines
from flight_app.app import get_components
from flight_app.components import Components
from flight_app.settings import DEV_PSEUDONYM_KEY, SERVICE_NAME

Register = Callable[..., TestResponse]
Login = Callable[..., TestResponse]
SignedIn = Callable[..., dict[str, Any]]
ReadLog = Callable[[str], list[dict[str, Any]]]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]

NEW_PASSWORD = "amber-glacier-4-compasses"
WRONG_PASSWORD = "a-wrong-password-123"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_me_refresh_through_create_app(
    client: FlaskClient, register: Register, login: Login
) -> None:
    """Smoke test of the whole app on its migrated database, in process."""
    assert client.get("/health/ready").get_json() == {
        "status": "ok",
        "checks": {"database": "ok"},
    }
    created = register("alice")
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    signed_in = login("alice")
    assert signed_in.status_code == 200
    pair = signed_in.get_json()
    me = client.get("/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert (me.get_json()["id"], me.get_json()["username"]) == (user_id, "alice")
    refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    again = client.get("/auth/me", headers=bearer(refreshed.get_json()["access_token"]))
    assert again.get_json()["id"] == user_id
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert jwks["keys"]


@pytest.mark.parametrize("configured_by", ["override", "environment"])
def test_mfa_required_roles_come_from_the_settings(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    expect_problem: ExpectProblem,
    password: str,
    configured_by: str,
) -> None:
    """``FLIGHT_APP_MFA_REQUIRED_ROLES=admin,ops``: every named role must enrol, others not."""
    if configured_by == "override":
        app = make_app(mfa_required_roles=["admin", "ops"])
    else:
        monkeypatch.setenv("FLIGHT_APP_MFA_REQUIRED_ROLES", "admin,ops")
        app = make_app()
    auth = get_components(app).kit.auth
    client = app.test_client()
    change = {"current_password": password, "new_password": NEW_PASSWORD}
    for username, roles, must_enrol in (
        ("root", ("admin", "user"), True),
        ("operator", ("ops", "user"), True),
        ("plain", ("user",), False),
    ):
        auth.create_user(
            username=username, email=f"{username}@example.com", password=password, roles=roles
        )
        token = client.post(
            "/auth/login", json={"username": username, "password": password}
        ).get_json()["access_token"]
        response = client.post("/auth/password", json=change, headers=bearer(token))
        if must_enrol:
            expect_problem(response, 403, "mfa_enrolment_required")
        else:
            assert response.status_code == 204, username


def test_the_authenticator_label_is_the_app_name(
    client: FlaskClient, signed_in: SignedIn, password: str
) -> None:
    token = signed_in("alice")["access_token"]
    response = client.post(
        "/auth/mfa/totp/setup", headers=bearer(token), json={"password": password}
    )
    assert response.status_code == 200
    uri = urllib.parse.urlsplit(response.get_json()["otpauth_uri"])
    assert urllib.parse.unquote(uri.path) == f"/{SERVICE_NAME}:alice"
    assert urllib.parse.parse_qs(uri.query)["issuer"] == [SERVICE_NAME]


@pytest.mark.parametrize(
    "pseudonym_key",
    [
        pytest.param(None, id="test-env-keeps-the-dev-key"),
        pytest.param("another-pseudonym-key-0123456789", id="configured"),
    ],
)
def test_audit_events_are_pseudonymised_with_the_configured_key(
    make_app: Callable[..., Flask],
    register: Register,
    login: Login,
    read_log: ReadLog,
    pseudonym_key: str | None,
) -> None:
    app = make_app() if pseudonym_key is None else make_app(pseudonym_key=pseudonym_key)
    client = app.test_client()
    register("alice", client=client)
    assert login("alice", WRONG_PASSWORD, client=client).status_code == 401
    key = (pseudonym_key or DEV_PSEUDONYM_KEY).encode()
    clients = {e["client"] for e in read_log("auth.jsonl") if e["event"] == "login"}
    assert clients == {Pseudonymizer(key).pseudonymize("127.0.0.1", kind="ip")}


def test_trusted_proxies_reach_the_adapter(
    make_app: Callable[..., Flask], register: Register, login: Login, read_log: ReadLog
) -> None:
    client = make_app(trusted_proxies=1).test_client()
    register("alice", client=client)
    headers = {"X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
    assert login("alice", WRONG_PASSWORD, client=client, headers=headers).status_code == 401
    clients = [e["client"] for e in read_log("auth.jsonl") if e["event"] == "login"]
    expected = Pseudonymizer(DEV_PSEUDONYM_KEY.encode()).pseudonymize("198.51.100.7", kind="ip")
    assert clients == [expected]


def test_the_system_log_carries_trace_ids_and_admin_logs_serves_it(
    client: FlaskClient,
    components: Components,
    signed_in: SignedIn,
    login: Login,
    read_log: ReadLog,
    password: str,
) -> None:
    """``configure_logging`` writes ``system.jsonl``; ``/admin/logs?source=system`` reads it."""
    pair = signed_in("root")
    components.kit.stores.users.set_roles(pair["user"]["id"], ["admin", "user"])
    response = client.post(
        "/auth/login",
        json={"username": "root", "password": password},
        headers={"X-Request-ID": "trace-login-42"},
    )
    assert response.status_code == 200
    audit = [e for e in read_log("auth.jsonl") if e["trace_id"] == "trace-login-42"]
    assert [(e["event"], e["outcome"]) for e in audit] == [("login", "success")]
    flush_buffered_lines()  # access lines are appended in batches (access_log_flush_interval)
    access = [
        e
        for e in read_log("system.jsonl")
        if e.get("trace_id") == "trace-login-42" and e["logger"] == "authkit_flask.access"
    ]
    assert len(access) == 1
    assert (access[0]["path"], access[0]["status"]) == ("/auth/login", 200)

    headers = bearer(response.get_json()["access_token"])
    body = client.get("/admin/logs?source=system&limit=5", headers=headers).get_json()
    assert body["meta"] == {"source": "system", "limit": 5, "returned": len(body["items"])}
    assert 1 <= len(body["items"]) <= 5
    # This request's own access line is written after the view has read the log.
    flush_buffered_lines()
    assert body["items"] == read_log("system.jsonl")[-len(body["items"]) - 1 : -1]
    assert any(item.get("message") == "request" for item in body["items"])

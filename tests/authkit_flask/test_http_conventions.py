"""API.md's conventions: problem details, request and trace ids, headers, health, JWKS,
client addresses behind proxies, and what reaches the audit and system logs.

On memory stores; readiness also on SQLite, PostgreSQL and a database that cannot answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import AuthkitConfig
from authkit.audit import Pseudonymizer

Register = Callable[..., TestResponse]
Login = Callable[..., TestResponse]
SignedIn = Callable[..., dict[str, Any]]
ReadLog = Callable[[str], list[dict[str, Any]]]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
WRONG_PASSWORD = "a-wrong-password-123"


def pseudonyms(config: AuthkitConfig) -> Pseudonymizer:
    """The pseudonyms the app's audit log uses (keyed by the core config)."""
    return Pseudonymizer(config.pseudonym_key())


def sample_responses(client: FlaskClient, signed_in: SignedIn) -> Iterator[TestResponse]:
    """One response of each kind the app gives: 2xx, 204, 4xx of several sorts, JWKS."""
    pair = signed_in("alice")
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    yield client.get("/health/live")
    yield client.get("/health/ready")
    yield client.get("/.well-known/jwks.json")
    yield client.get("/auth/me", headers=auth)
    yield client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    yield client.post("/auth/logout-all", headers=auth)
    yield client.get("/auth/me")
    yield client.get("/no/such/route")
    yield client.get("/auth/login")
    yield client.post("/auth/login", data=b"{", content_type="application/json")
    yield client.post("/auth/login", json={})
    yield client.post("/auth/login", json={"username": "alice", "password": WRONG_PASSWORD})
    yield client.post(
        "/auth/register", data=b"x" * (2 * 1024 * 1024), content_type="application/json"
    )


# -- problem details ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        pytest.param("POST", "/auth/login", {"data": b"{"}, 400, "invalid_request", id="400"),
        pytest.param("GET", "/auth/me", {}, 401, "invalid_token", id="401"),
        pytest.param("GET", "/nowhere", {}, 404, "not_found", id="404"),
        pytest.param("DELETE", "/auth/login", {}, 405, "method_not_allowed", id="405"),
        pytest.param("POST", "/auth/login", {"json": {}}, 422, "validation_error", id="422"),
        pytest.param(
            "POST",
            "/auth/register",
            {"json": {"username": "u" * 10, "email": "e@example.com", "password": "p" * 2_000_000}},
            413,
            "payload_too_large",
            id="413",
        ),
    ],
)
def test_every_error_is_problem_json(
    client: FlaskClient,
    expect_problem: ExpectProblem,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = client.open(path, method=method, content_type="application/json", **kwargs)
    body = expect_problem(response, status, code)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body["trace_id"] == response.headers["X-Request-ID"]


def test_404_for_an_unknown_route_is_problem_json(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    expect_problem(client.get("/definitely/not/here"), 404, "not_found")


def test_405_for_a_wrong_method_is_problem_json_with_allow(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    response = client.get("/auth/register")
    expect_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


# -- request ids, trace ids and headers -----------------------------------------------


def test_every_response_has_a_request_id_and_nosniff(
    client: FlaskClient, signed_in: SignedIn
) -> None:
    statuses = set()
    for response in sample_responses(client, signed_in):
        statuses.add(response.status_code)
        assert REQUEST_ID.fullmatch(response.headers["X-Request-ID"]), response.status_code
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert {200, 204, 400, 401, 404, 405, 413, 422} <= statuses


@pytest.mark.parametrize("incoming", ["abc", "A.b_c-1", "x" * 128, "0"])
def test_a_valid_incoming_request_id_is_echoed_and_used_as_trace_id(
    client: FlaskClient, incoming: str
) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    assert response.get_json(force=True)["trace_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("x" * 129, id="too-long"),
        pytest.param("has space", id="space"),
        pytest.param("slash/es", id="slash"),
        pytest.param("semi;colon", id="semicolon"),
        pytest.param("<script>", id="angle-brackets"),
        pytest.param("caf\u00e9", id="non-ascii"),
    ],
)
def test_an_invalid_incoming_request_id_is_replaced(client: FlaskClient, incoming: str) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": incoming})
    echoed = response.headers["X-Request-ID"]
    assert echoed != incoming
    assert REQUEST_ID.fullmatch(echoed)


def test_an_empty_request_id_is_replaced(client: FlaskClient) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": ""})
    assert REQUEST_ID.fullmatch(response.headers["X-Request-ID"])


def test_fresh_request_ids_differ(client: FlaskClient) -> None:
    ids = {client.get("/health/live").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_the_trace_id_of_a_traceparent_is_the_trace_id(client: FlaskClient) -> None:
    response = client.get("/nowhere", headers={"traceparent": TRACEPARENT})
    assert response.get_json(force=True)["trace_id"] == TRACE_ID
    both = client.get("/nowhere", headers={"traceparent": TRACEPARENT, "X-Request-ID": "req-1"})
    assert both.headers["X-Request-ID"] == "req-1"
    assert both.get_json(force=True)["trace_id"] == TRACE_ID


@pytest.mark.parametrize(
    "traceparent",
    [
        pytest.param(f"00-{'0' * 32}-00f067aa0ba902b7-01", id="all-zero-trace-id"),
        pytest.param("00-xyz-00f067aa0ba902b7-01", id="not-hex"),
        pytest.param(f"00-{TRACE_ID}", id="truncated"),
    ],
)
def test_an_invalid_traceparent_is_ignored(client: FlaskClient, traceparent: str) -> None:
    response = client.get("/nowhere", headers={"traceparent": traceparent, "X-Request-ID": "r-9"})
    assert response.get_json(force=True)["trace_id"] == "r-9"


# -- health ---------------------------------------------------------------------------


def test_live_answers_200(client: FlaskClient) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "stores",
    ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_ready_answers_200_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


@pytest.mark.parametrize(
    "broken_url",
    [
        pytest.param("sqlite:///{tmp}/no/such/dir/app.db", id="sqlite-missing-dir"),
        pytest.param(
            "postgresql+psycopg://postgres@127.0.0.1:1/nothing", id="postgres-closed-port"
        ),
    ],
)
def test_ready_answers_503_naming_the_database_when_it_is_unreachable(
    make_app: Callable[..., Flask], tmp_path: Path, broken_url: str
) -> None:
    app = make_app(stores=broken_url.format(tmp=tmp_path))
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] != "ok"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# -- JWKS -----------------------------------------------------------------------------

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


def test_jwks_publishes_only_public_keys_with_a_max_age(
    client: FlaskClient, signed_in: SignedIn, config: AuthkitConfig
) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.get_json()["keys"]
    assert keys
    for key in keys:
        assert not PRIVATE_MEMBERS & key.keys()
        assert "status" not in key
        assert key["use"] == "sig"
        assert {"kty", "kid", "alg"} <= key.keys()
    match = re.search(r"max-age=(\d+)", response.headers["Cache-Control"])
    assert match
    assert int(match.group(1)) > 0
    assert "private" not in response.headers["Cache-Control"]

    # The published key verifies the access tokens the app issues.
    token = signed_in("alice")["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [key for key in keys if key["kid"] == kid]
    public = jwt.PyJWK(jwk).key
    tokens = config.access_tokens
    claims = jwt.decode(token, public, algorithms=[jwk["alg"]], audience=tokens.audience)
    assert claims["iss"] == tokens.issuer


# -- client address -------------------------------------------------------------------


def test_a_forged_x_forwarded_for_is_ignored_without_trusted_proxies(
    register: Register,
    login: Login,
    read_log: ReadLog,
    expect_problem: ExpectProblem,
    config: AuthkitConfig,
) -> None:
    register("alice")
    for n in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.{n}"}
        expect_problem(login("alice", WRONG_PASSWORD, headers=forged), 401, "invalid_credentials")
    forged = {"X-Forwarded-For": "192.0.2.200"}
    expect_problem(login("alice", WRONG_PASSWORD, headers=forged), 429, "too_many_attempts")
    clients = {e["client"] for e in read_log("auth.jsonl") if e["event"].startswith("login")}
    assert clients == {pseudonyms(config).pseudonymize("127.0.0.1", kind="ip")}


def test_x_forwarded_for_is_honoured_with_one_trusted_proxy(
    make_app: Callable[..., Flask],
    register: Register,
    login: Login,
    read_log: ReadLog,
    expect_problem: ExpectProblem,
    config: AuthkitConfig,
) -> None:
    client = make_app(trusted_proxies=1).test_client()
    register("alice", client=client)
    addresses = [f"198.51.100.{n}" for n in range(7)]
    for address in addresses:
        # The one trusted hop appends the real peer: the last value is the client.
        headers = {"X-Forwarded-For": f"10.9.9.9, {address}"}
        response = login("alice", WRONG_PASSWORD, client=client, headers=headers)
        expect_problem(response, 401, "invalid_credentials")
    clients = [e["client"] for e in read_log("auth.jsonl") if e["event"] == "login"]
    assert clients == [pseudonyms(config).pseudonymize(a, kind="ip") for a in addresses]

    same = {"X-Forwarded-For": addresses[0]}
    for _ in range(4):
        expect_problem(
            login("alice", WRONG_PASSWORD, client=client, headers=same), 401, "invalid_credentials"
        )
    expect_problem(
        login("alice", WRONG_PASSWORD, client=client, headers=same), 429, "too_many_attempts"
    )
    other = {"X-Forwarded-For": addresses[1]}
    assert login("alice", client=client, headers=other).status_code == 200


# -- logs -----------------------------------------------------------------------------


@pytest.mark.usefixtures("system_log")
def test_the_trace_id_of_a_request_is_on_its_audit_and_system_log_lines(
    client: FlaskClient, register: Register, read_log: ReadLog, password: str
) -> None:
    register("alice")
    response = client.post(
        "/auth/login",
        json={"username": "alice", "password": password},
        headers={"X-Request-ID": "trace-login-42"},
    )
    assert response.status_code == 200
    audit = [e for e in read_log("auth.jsonl") if e["trace_id"] == "trace-login-42"]
    assert [(e["event"], e["outcome"]) for e in audit] == [("login", "success")]
    system = [e for e in read_log("system.jsonl") if e.get("trace_id") == "trace-login-42"]
    assert system
    access = [e for e in system if e["logger"] == "authkit_flask.access"]
    assert len(access) == 1
    assert access[0]["path"] == "/auth/login"
    assert access[0]["status"] == 200

    traced = client.get("/auth/me", headers={"traceparent": TRACEPARENT})
    assert traced.status_code == 401
    assert any(e.get("trace_id") == TRACE_ID for e in read_log("system.jsonl"))


def test_audit_lines_never_hold_the_email_address_password_or_tokens(
    client: FlaskClient,
    register: Register,
    login: Login,
    read_log: ReadLog,
    audit_path: Path,
    password: str,
) -> None:
    register("alice", email="Alice.Liddell@Example.com")
    login("Alice.Liddell@Example.com", WRONG_PASSWORD)
    login("ghost@example.org", WRONG_PASSWORD)
    pair = login("Alice.Liddell@Example.com").get_json()
    rotated = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).get_json()
    client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})  # reuse
    client.post(
        "/auth/password",
        json={"current_password": WRONG_PASSWORD, "new_password": "x"},
        headers={"Authorization": f"Bearer {rotated['access_token']}"},
    )
    client.post("/auth/logout", json={"refresh_token": rotated["refresh_token"]})

    events = read_log("auth.jsonl")
    assert {"register", "login", "token.refresh", "token.reuse_detected"} <= {
        e["event"] for e in events
    }
    text = audit_path.read_text("utf-8").casefold()
    forbidden = [
        "alice.liddell@example.com",
        "alice.liddell",
        "ghost@example.org",
        "127.0.0.1",
        password,
        WRONG_PASSWORD,
        pair["access_token"],
        pair["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
    ]
    for value in forbidden:
        assert value.casefold() not in text, value
    for event in events:
        assert event["client"] is None or event["client"].startswith("ip_")
        assert event["actor"] is None or event["actor"].startswith("user_")

"""The MFA rows of API.md over HTTP, on memory stores (single use of codes, also between
workers, on SQLite and PostgreSQL too).

TOTP time is pinned: each app is built with one ``FrozenClock`` (the ``codes``
fixture's), so codes computed with pyotp for a chosen step never straddle a 30 s
boundary. Two apps made with ``make_app()`` on one store set stand for two
gunicorn workers.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import Authkit, AuthkitConfig, MfaConfig
from authkit.clock import FrozenClock
from authkit.mfa import PERIOD
from authkit_flask import get_state

ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]
Register = Callable[..., TestResponse]
SignedIn = Callable[..., dict[str, Any]]

PASSWORD = "violet-harbour-7-lanterns"  # the conftest helpers' password
NEW_PASSWORD = "amber-glacier-4-compasses"
SETUP = "/auth/mfa/totp/setup"
ENABLE = "/auth/mfa/totp/enable"
DISABLE = "/auth/mfa/totp/disable"
EVERY_BACKEND = pytest.mark.parametrize(
    "stores",
    ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Codes:
    """A frozen clock for the apps' cores, and pyotp codes for its steps."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        # Mid-step, like a real user who is not racing the boundary.
        start = (int(now.timestamp()) // PERIOD) * PERIOD + PERIOD // 2
        self.clock = FrozenClock(datetime.fromtimestamp(start, UTC))

    @property
    def step(self) -> int:
        return int(self.clock.now().timestamp()) // PERIOD

    def now(self, secret: str, offset: int = 0) -> str:
        return str(pyotp.TOTP(secret).at((self.step + offset) * PERIOD))

    def wrong(self, secret: str) -> str:
        window = {self.now(secret, d) for d in (-1, 0, 1)}
        return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)

    def next_step(self) -> None:
        self.clock.advance(PERIOD)


@pytest.fixture
def codes() -> Codes:
    """The TOTP clock of the default app, frozen mid-step."""
    return Codes()


@pytest.fixture
def app(make_app: Callable[..., Flask], codes: Codes) -> Flask:
    """The default app, its core on the ``codes`` clock."""
    return make_app(clock=codes.clock)


def setup_totp(client: FlaskClient, token: str) -> str:
    response = client.post(SETUP, headers=bearer(token), json={"password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    secret: str = response.get_json()["secret"]
    return secret


def enable_totp(client: FlaskClient, token: str, codes: Codes) -> tuple[str, list[str]]:
    """Set up and enable TOTP; then move one step on so the next code is fresh."""
    secret = setup_totp(client, token)
    response = client.post(ENABLE, json={"otp": codes.now(secret)}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    recovery: list[str] = response.get_json()["recovery_codes"]
    codes.next_step()
    return secret, recovery


def sign_in(client: FlaskClient, username: str = "alice", **second_factor: str) -> TestResponse:
    return client.post(
        "/auth/login", json={"username": username, "password": PASSWORD, **second_factor}
    )


def make_admin(
    app: Flask, username: str = "root", roles: tuple[str, ...] = ("admin", "user")
) -> None:
    get_state(app).kit.auth.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, roles=roles
    )


# -- setup ------------------------------------------------------------------------------


def test_setup_returns_a_secret_and_an_otpauth_uri_not_to_be_cached(
    client: FlaskClient, signed_in: SignedIn, config: AuthkitConfig
) -> None:
    """The label and issuer are the service's name unless ``MfaConfig.issuer`` says otherwise."""
    pair = signed_in("alice")
    response = client.post(SETUP, headers=bearer(pair["access_token"]), json={"password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"secret", "otpauth_uri"}
    assert "no-store" in response.headers["Cache-Control"]
    uri = urllib.parse.urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(uri.path) == f"/{config.service_name}:alice"
    query = urllib.parse.parse_qs(uri.query)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == [config.service_name]


def test_setup_names_the_configured_issuer(
    make_app: Callable[..., Flask], config: AuthkitConfig, register: Register
) -> None:
    client = make_app(replace(config, mfa=MfaConfig(issuer="Example Air"))).test_client()
    register("alice", client=client)
    token = sign_in(client).get_json()["access_token"]
    response = client.post(SETUP, headers=bearer(token), json={"password": PASSWORD})
    assert response.status_code == 200
    uri = urllib.parse.urlsplit(response.get_json()["otpauth_uri"])
    assert urllib.parse.unquote(uri.path) == "/Example Air:alice"
    assert urllib.parse.parse_qs(uri.query)["issuer"] == ["Example Air"]


def test_setup_needs_the_password_again(
    client: FlaskClient,
    signed_in: SignedIn,
    read_log: Callable[[str], list[dict[str, Any]]],
    expect_problem: ExpectProblem,
) -> None:
    """Regression (security probe, finding 5): a stolen access token alone enrolled
    the thief's authenticator. Setup now re-authenticates (OWASP ASVS 5 V6), and a
    wrong password counts like a failed sign-in."""
    token = signed_in("alice")["access_token"]
    missing = client.post(SETUP, headers=bearer(token), json={})
    assert expect_problem(missing, 422, "validation_error")["errors"][0]["loc"] == [
        "body",
        "password",
    ]
    wrong = client.post(SETUP, headers=bearer(token), json={"password": NEW_PASSWORD})
    expect_problem(wrong, 401, "invalid_credentials")
    failures = [
        e for e in read_log("auth.jsonl") if e["event"] == "mfa.setup" and e["outcome"] == "failure"
    ]
    assert [e["reason"] for e in failures] == ["bad_password"]
    assert client.post(SETUP, headers=bearer(token), json={"password": PASSWORD}).status_code == 200


def test_guessing_the_password_at_setup_is_throttled(
    client: FlaskClient, signed_in: SignedIn, expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    for _ in range(5):
        wrong = client.post(SETUP, headers=bearer(token), json={"password": NEW_PASSWORD})
        expect_problem(wrong, 401, "invalid_credentials")
    right = client.post(SETUP, headers=bearer(token), json={"password": PASSWORD})
    expect_problem(right, 429, "too_many_attempts")


def test_an_admin_resets_a_lost_authenticator(
    client: FlaskClient,
    signed_in: SignedIn,
    kit: Authkit,
    codes: Codes,
    read_log: Callable[[str], list[dict[str, Any]]],
    expect_problem: ExpectProblem,
) -> None:
    """``DELETE /auth/users/{id}/mfa``: TOTP off, every session of the account ended,
    audited; refused to non-admins, 409 when the account has no MFA."""
    alice = signed_in("alice")
    enable_totp(client, alice["access_token"], codes)
    root = signed_in("root")
    kit.stores.users.set_roles(root["user"]["id"], ["admin", "user"])
    target = f"/auth/users/{alice['user']['id']}/mfa"
    expect_problem(client.delete(target, headers=bearer(alice["access_token"])), 403, "forbidden")
    reset = client.delete(target, headers=bearer(root["access_token"]))
    assert reset.status_code == 200, reset.get_json()
    assert reset.get_json()["mfa_enabled"] is False
    assert reset.headers["Cache-Control"] == "no-store"
    expect_problem(
        client.get("/auth/me", headers=bearer(alice["access_token"])), 401, "invalid_token"
    )
    refreshed = client.post("/auth/refresh", json={"refresh_token": alice["refresh_token"]})
    expect_problem(refreshed, 401, "invalid_token")
    assert sign_in(client).status_code == 200, "the password alone signs in again"
    expect_problem(client.delete(target, headers=bearer(root["access_token"])), 409, "conflict")
    events = [e for e in read_log("auth.jsonl") if e["event"] == "admin.user.mfa_reset"]
    assert [e["outcome"] for e in events] == ["success", "failure"]
    assert events[0]["target_ids"] == [alice["user"]["id"]]


def test_an_admin_cannot_reset_its_own_authenticator(
    client: FlaskClient,
    signed_in: SignedIn,
    kit: Authkit,
    codes: Codes,
    read_log: Callable[[str], list[dict[str, Any]]],
    expect_problem: ExpectProblem,
) -> None:
    """A stolen admin session must not strip the admin's own second factor: that
    takes a code, through ``POST /auth/mfa/totp/disable``."""
    root = signed_in("root")
    kit.stores.users.set_roles(root["user"]["id"], ["admin", "user"])
    enable_totp(client, root["access_token"], codes)
    own = client.delete(
        f"/auth/users/{root['user']['id']}/mfa", headers=bearer(root["access_token"])
    )
    assert expect_problem(own, 403, "forbidden")["reason"] == "own_account"
    assert client.get("/auth/me", headers=bearer(root["access_token"])).get_json()["mfa_enabled"]
    events = [e for e in read_log("auth.jsonl") if e["event"] == "admin.user.mfa_reset"]
    assert [(e["outcome"], e["reason"]) for e in events] == [("denied", "own_account")]


def test_setup_needs_a_bearer_token(client: FlaskClient, expect_problem: ExpectProblem) -> None:
    response = client.post(SETUP)
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_setup_is_409_when_already_enabled(
    client: FlaskClient, signed_in: SignedIn, codes: Codes, expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    enable_totp(client, token, codes)
    expect_problem(
        client.post(SETUP, headers=bearer(token), json={"password": PASSWORD}), 409, "conflict"
    )


# -- enable -----------------------------------------------------------------------------


def test_enable_returns_ten_recovery_codes(
    client: FlaskClient, signed_in: SignedIn, codes: Codes
) -> None:
    token = signed_in("alice")["access_token"]
    secret = setup_totp(client, token)
    response = client.post(ENABLE, json={"otp": codes.now(secret)}, headers=bearer(token))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    recovery = response.get_json()["recovery_codes"]
    assert len(recovery) == 10
    assert len(set(recovery)) == 10
    assert all(isinstance(c, str) and c for c in recovery)
    me = client.get("/auth/me", headers=bearer(token)).get_json()
    assert me["mfa_enabled"] is True
    assert secret not in str(me)


def test_enable_with_a_wrong_code_is_401_invalid_otp(
    client: FlaskClient, signed_in: SignedIn, codes: Codes, expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    secret = setup_totp(client, token)
    response = client.post(ENABLE, json={"otp": codes.wrong(secret)}, headers=bearer(token))
    expect_problem(response, 401, "invalid_otp")
    assert client.get("/auth/me", headers=bearer(token)).get_json()["mfa_enabled"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"otp": 123456},
        {"otp": ""},
        {"otp": "1" * 200},
    ],
)
def test_enable_with_a_missing_or_ill_typed_code_is_422(
    client: FlaskClient,
    signed_in: SignedIn,
    codes: Codes,
    expect_problem: ExpectProblem,
    body: dict[str, Any],
) -> None:
    token = signed_in("alice")["access_token"]
    setup_totp(client, token)
    expect_problem(client.post(ENABLE, json=body, headers=bearer(token)), 422, "validation_error")


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        # Other scripts' digits pass str.isdigit(): once a TypeError (500) in compare_digest.
        ('{"otp": "\\u0661\\u0662\\u0663\\u0664\\u0665\\u0666"}', 401, "invalid_otp"),
        ('{"otp": "\\uff11\\uff12\\uff13\\uff14\\uff15\\uff16"}', 401, "invalid_otp"),
        # A lone surrogate is not a valid string for the schema.
        ('{"otp": "\\ud800\\udc00\\ud80012"}', 422, "validation_error"),
        ('{"recovery_code": "\\ud800abcde"}', 422, "validation_error"),
    ],
)
def test_non_ascii_codes_are_refused_without_a_500(
    client: FlaskClient,
    signed_in: SignedIn,
    codes: Codes,
    expect_problem: ExpectProblem,
    raw: str,
    status: int,
    code: str,
) -> None:
    token = signed_in("alice")["access_token"]
    secret = setup_totp(client, token)
    response = client.post(ENABLE, data=raw, content_type="application/json", headers=bearer(token))
    if "recovery_code" in raw:  # enable takes only a code: try it where recovery codes go
        client.post(ENABLE, json={"otp": codes.now(secret)}, headers=bearer(token))
        response = client.post(
            DISABLE, data=raw, content_type="application/json", headers=bearer(token)
        )
    expect_problem(response, status, code)


# -- disable ----------------------------------------------------------------------------


def test_disable_with_a_code_is_204(client: FlaskClient, signed_in: SignedIn, codes: Codes) -> None:
    token = signed_in("alice")["access_token"]
    secret, _ = enable_totp(client, token, codes)
    response = client.post(DISABLE, json={"otp": codes.now(secret)}, headers=bearer(token))
    assert response.status_code == 204
    assert client.get("/auth/me", headers=bearer(token)).get_json()["mfa_enabled"] is False
    assert sign_in(client).status_code == 200  # no code needed any more


def test_disable_with_a_recovery_code_is_204(
    client: FlaskClient, signed_in: SignedIn, codes: Codes
) -> None:
    token = signed_in("alice")["access_token"]
    _, recovery = enable_totp(client, token, codes)
    response = client.post(DISABLE, json={"recovery_code": recovery[0]}, headers=bearer(token))
    assert response.status_code == 204
    assert client.get("/auth/me", headers=bearer(token)).get_json()["mfa_enabled"] is False


@pytest.mark.parametrize("kind", ["otp", "recovery_code", "none"])
def test_disable_with_a_wrong_or_no_code_is_401_invalid_otp(
    client: FlaskClient,
    signed_in: SignedIn,
    codes: Codes,
    expect_problem: ExpectProblem,
    kind: str,
) -> None:
    token = signed_in("alice")["access_token"]
    secret, _ = enable_totp(client, token, codes)
    body = {
        "otp": {"otp": codes.wrong(secret)},
        "recovery_code": {"recovery_code": "aaaaa-bbbbb"},
        "none": {},
    }[kind]
    expect_problem(client.post(DISABLE, json=body, headers=bearer(token)), 401, "invalid_otp")
    assert client.get("/auth/me", headers=bearer(token)).get_json()["mfa_enabled"] is True


# -- sign-in ------------------------------------------------------------------------------


def test_login_of_an_mfa_account(
    client: FlaskClient, signed_in: SignedIn, codes: Codes, expect_problem: ExpectProblem
) -> None:
    """No code: 401 mfa_required; wrong code: 401 invalid_otp; right code: a token pair."""
    token = signed_in("alice")["access_token"]
    secret, _ = enable_totp(client, token, codes)
    expect_problem(sign_in(client), 401, "mfa_required")
    expect_problem(sign_in(client, otp=codes.wrong(secret)), 401, "invalid_otp")
    response = sign_in(client, otp=codes.now(secret))
    assert response.status_code == 200
    body = response.get_json()
    assert {"access_token", "refresh_token", "token_type"} <= body.keys()
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/auth/me", headers=bearer(body["access_token"])).status_code == 200


def test_brute_force_on_codes_is_429(
    client: FlaskClient, signed_in: SignedIn, codes: Codes, expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    secret, _ = enable_totp(client, token, codes)
    for _ in range(5):
        expect_problem(sign_in(client, otp=codes.wrong(secret)), 401, "invalid_otp")
    response = sign_in(client, otp=codes.now(secret))  # even the right code
    body = expect_problem(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) >= 1
    assert body["retry_after"] >= 1


def test_brute_force_on_codes_at_enable_is_429(
    client: FlaskClient, signed_in: SignedIn, codes: Codes, expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    secret = setup_totp(client, token)
    for _ in range(5):
        response = client.post(ENABLE, json={"otp": codes.wrong(secret)}, headers=bearer(token))
        expect_problem(response, 401, "invalid_otp")
    response = client.post(ENABLE, json={"otp": codes.now(secret)}, headers=bearer(token))
    expect_problem(response, 429, "too_many_attempts")


@EVERY_BACKEND
def test_an_admin_with_mfa_cannot_sign_in_without_a_valid_unused_code(
    app: Flask, client: FlaskClient, codes: Codes, expect_problem: ExpectProblem
) -> None:
    """Acceptance: issue 4."""
    make_admin(app)
    token = sign_in(client, "root").get_json()["access_token"]
    secret, recovery = enable_totp(client, token, codes)
    expect_problem(sign_in(client, "root"), 401, "mfa_required")
    expect_problem(sign_in(client, "root", otp=codes.wrong(secret)), 401, "invalid_otp")
    window = {codes.now(secret, d) for d in (-1, 0, 1)}
    for far in (codes.now(secret, -2), codes.now(secret, 2)):
        if far not in window:  # a random secret may, one time in ~300,000, repeat a code
            expect_problem(sign_in(client, "root", otp=far), 401, "invalid_otp")
    otp = codes.now(secret)
    assert sign_in(client, "root", otp=otp).status_code == 200
    expect_problem(sign_in(client, "root", otp=otp), 401, "invalid_otp")  # replay
    assert sign_in(client, "root", recovery_code=recovery[0]).status_code == 200
    expect_problem(sign_in(client, "root", recovery_code=recovery[0]), 401, "invalid_otp")
    codes.next_step()
    assert sign_in(client, "root", otp=codes.now(secret)).status_code == 200


@EVERY_BACKEND
def test_a_code_replayed_to_a_second_worker_is_refused(
    make_app: Callable[..., Flask], expect_problem: ExpectProblem
) -> None:
    """Two apps on one database: a code used on one is refused by the other."""
    codes = Codes()
    worker_a = make_app(clock=codes.clock)
    worker_b = make_app(clock=codes.clock)
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    register = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    assert client_a.post("/auth/register", json=register).status_code == 201
    token = sign_in(client_a).get_json()["access_token"]
    secret, _ = enable_totp(client_a, token, codes)

    otp = codes.now(secret)
    assert sign_in(client_a, otp=otp).status_code == 200
    expect_problem(sign_in(client_b, otp=otp), 401, "invalid_otp")
    newer = codes.now(secret, 1)
    assert sign_in(client_b, otp=newer).status_code == 200
    expect_problem(sign_in(client_a, otp=newer), 401, "invalid_otp")


# -- roles that must enrol ------------------------------------------------------------------


def test_an_admin_must_enrol_before_using_other_endpoints(
    make_app: Callable[..., Flask], config: AuthkitConfig, expect_problem: ExpectProblem
) -> None:
    codes = Codes()
    app = make_app(
        replace(config, mfa=MfaConfig(required_roles=frozenset({"admin"}))), clock=codes.clock
    )
    client = app.test_client()
    make_admin(app)
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

    login = sign_in(client, "root")
    assert login.status_code == 200
    token = login.get_json()["access_token"]
    expect_problem(
        client.post("/auth/password", json=change, headers=bearer(token)),
        403,
        "mfa_enrolment_required",
    )
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    secret, _ = enable_totp(client, token, codes)
    # The enrolment token stays one; a new sign-in with a code gives a full token.
    expect_problem(
        client.post("/auth/password", json=change, headers=bearer(token)),
        403,
        "mfa_enrolment_required",
    )
    full = sign_in(client, "root", otp=codes.now(secret))
    assert full.status_code == 200
    response = client.post(
        "/auth/password", json=change, headers=bearer(full.get_json()["access_token"])
    )
    assert response.status_code == 204


def test_every_required_role_must_enrol_and_other_roles_need_not(
    make_app: Callable[..., Flask], config: AuthkitConfig, expect_problem: ExpectProblem
) -> None:
    app = make_app(replace(config, mfa=MfaConfig(required_roles=frozenset({"admin", "ops"}))))
    client = app.test_client()
    make_admin(app, "operator", roles=("ops", "user"))
    make_admin(app, "plain", roles=("user",))
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    ops_token = sign_in(client, "operator").get_json()["access_token"]
    expect_problem(
        client.post("/auth/password", json=change, headers=bearer(ops_token)),
        403,
        "mfa_enrolment_required",
    )
    plain_token = sign_in(client, "plain").get_json()["access_token"]
    response = client.post("/auth/password", json=change, headers=bearer(plain_token))
    assert response.status_code == 204


def test_without_required_roles_an_admin_gets_a_full_token(app: Flask, client: FlaskClient) -> None:
    make_admin(app)
    token = sign_in(client, "root").get_json()["access_token"]
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/auth/password", json=change, headers=bearer(token)).status_code == 204


# -- audit ------------------------------------------------------------------------------------


def test_the_audit_log_has_the_mfa_events_and_no_secret(
    client: FlaskClient,
    signed_in: SignedIn,
    codes: Codes,
    read_log: Callable[[str], list[dict[str, Any]]],
) -> None:
    token = signed_in("alice")["access_token"]
    secret, recovery = enable_totp(client, token, codes)
    sign_in(client, otp=codes.wrong(secret))
    assert sign_in(client, recovery_code=recovery[0]).status_code == 200
    assert (
        client.post(DISABLE, json={"otp": codes.now(secret)}, headers=bearer(token)).status_code
        == 204
    )
    events = read_log("auth.jsonl")
    names = [e["event"] for e in events if e["event"].startswith("mfa.")]
    assert names == ["mfa.setup", "mfa.enable", "mfa.verify", "mfa.recovery_used", "mfa.disable"]
    text = str(events)
    assert secret not in text
    assert all(code not in text and code.replace("-", "") not in text for code in recovery)
    assert all(e.get("trace_id") for e in events if e["event"].startswith("mfa."))

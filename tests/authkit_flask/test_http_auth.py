"""The /auth endpoints of API.md over HTTP: every success and every error of the table.

On memory stores; the tests whose answer rests on the stores (case-insensitive
uniqueness, refresh-token families, session revocation) run on SQLite and
PostgreSQL too.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import Authkit, AuthkitConfig
from authkit.keys import KeyStatus, SigningKey

Register = Callable[..., TestResponse]
Login = Callable[..., TestResponse]
SignedIn = Callable[..., dict[str, Any]]
SetActive = Callable[[str, bool], None]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]

USER_KEYS = {
    "id",
    "username",
    "email",
    "email_verified",
    "roles",
    "is_active",
    "mfa_enabled",
    "created_at",
    "last_login_at",
}
PAIR_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
SECRET_PASSWORD = "s3cret-value-that-must-not-echo"


EVERY_BACKEND = pytest.mark.parametrize(
    "stores",
    ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
"""For answers that rest on what the stores enforce: memory, SQLite and PostgreSQL."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def parse_rfc3339(value: str) -> datetime:
    assert value.endswith("Z") or value.endswith("+00:00"), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    return parsed


def refresh(client: FlaskClient, token: str) -> TestResponse:
    return client.post("/auth/refresh", json={"refresh_token": token})


# -- POST /auth/register ------------------------------------------------------------


def test_register_returns_201_and_exactly_the_user_object(
    register: Register, password: str
) -> None:
    response = register("alice", email="Alice@Example.com")
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    user = response.get_json()
    assert set(user) == USER_KEYS
    assert isinstance(user["id"], str)
    assert user["id"]
    assert user["username"] == "alice"
    assert user["email"] == "Alice@Example.com"
    assert user["roles"] == ["user"]
    assert user["is_active"] is True
    assert user["mfa_enabled"] is False
    assert parse_rfc3339(user["created_at"]) <= datetime.now(UTC)
    assert user["last_login_at"] is None
    text = response.get_data(as_text=True)
    for leak in (password, "argon2", "hash", "secret", "token"):
        assert leak not in text


def test_register_weak_password_lists_every_violated_rule_at_once(
    register: Register, expect_problem: ExpectProblem
) -> None:
    """A short password with few distinct characters breaks two rules: both are named."""
    body = expect_problem(register("alice", password="abab"), 422, "weak_password")
    codes = [error["code"] for error in body["errors"]]
    assert sorted(codes) == ["too_few_distinct_characters", "too_short"]
    by_code = {error["code"]: error for error in body["errors"]}
    assert by_code["too_short"]["min_length"] == 15
    assert by_code["too_few_distinct_characters"]["min_distinct"] == 5
    for error in body["errors"]:
        assert isinstance(error["message"], str)
        assert error["message"]
    assert "abab" not in json.dumps(body)


def test_register_password_containing_the_username_is_weak(
    register: Register, expect_problem: ExpectProblem
) -> None:
    body = expect_problem(
        register("margarethe", password="margarethe-lives-by-the-sea"), 422, "weak_password"
    )
    assert [error["code"] for error in body["errors"]] == ["contains_context_word"]


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        pytest.param(
            {}, [["body", "username"], ["body", "email"], ["body", "password"]], id="empty"
        ),
        pytest.param(
            {"username": 5, "password": SECRET_PASSWORD},
            [["body", "username"], ["body", "email"]],
            id="ill-typed-username-missing-email",
        ),
        pytest.param(
            {"username": "alice", "email": "alice@example.com", "password": [SECRET_PASSWORD]},
            [["body", "password"]],
            id="password-as-list",
        ),
        pytest.param(
            {"username": "alice", "email": "alice@example.com", "password": None},
            [["body", "password"]],
            id="password-null",
        ),
        pytest.param(
            {"username": "alice", "email": "alice@example.com", "password": SECRET_PASSWORD * 40},
            [["body", "password"]],
            id="password-too-long",
        ),
        pytest.param(
            {"username": "al", "email": "not-an-email", "password": SECRET_PASSWORD},
            [["body", "username"], ["body", "email"]],
            id="invalid-username-and-email",
        ),
    ],
)
def test_register_invalid_fields_give_422_validation_error_without_echoing_the_password(
    client: FlaskClient,
    expect_problem: ExpectProblem,
    body: dict[str, Any],
    locs: list[list[str]],
) -> None:
    response = client.post("/auth/register", json=body)
    problem = expect_problem(response, 422, "validation_error")
    assert [error["loc"] for error in problem["errors"]] == locs
    for error in problem["errors"]:
        assert set(error) == {"loc", "msg"}
        assert isinstance(error["msg"], str)
    assert SECRET_PASSWORD not in response.get_data(as_text=True)


def test_a_json_body_that_is_not_an_object_gives_422(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    problem = expect_problem(client.post("/auth/register", json=[1, 2]), 422, "validation_error")
    assert problem["errors"] == [{"loc": ["body"], "msg": problem["errors"][0]["msg"]}]


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(b'{"username": "alice",', "application/json", id="malformed-json"),
        pytest.param(b'{"username": "al\xffce"}', "application/json", id="not-utf8"),
        pytest.param(b"username=alice&password=x", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b'{"username": "alice"}', "text/plain", id="text-plain"),
        pytest.param(b"", None, id="no-body"),
    ],
)
def test_unparseable_bodies_give_400_invalid_request(
    client: FlaskClient,
    expect_problem: ExpectProblem,
    path: str,
    data: bytes,
    content_type: str | None,
) -> None:
    response = client.post(path, data=data, content_type=content_type)
    expect_problem(response, 400, "invalid_request")


def test_a_body_over_max_content_length_gives_413(
    make_app: Callable[..., Flask], expect_problem: ExpectProblem
) -> None:
    client = make_app(max_content_length=1024).test_client()
    body = {"username": "alice", "email": "alice@example.com", "password": "x" * 2048}
    response = client.post("/auth/register", json=body)
    expect_problem(response, 413, "payload_too_large")
    assert "xxxx" not in response.get_data(as_text=True)


@EVERY_BACKEND
@pytest.mark.parametrize(
    ("username", "email"),
    [
        pytest.param("ALICE", "other@example.com", id="username-in-other-case"),
        pytest.param("bob", "ALICE@example.COM", id="email-in-other-case"),
        pytest.param("alice@example.com", "x@example.com", id="email-as-username"),
    ],
)
def test_register_conflict_is_case_insensitive(
    register: Register, expect_problem: ExpectProblem, username: str, email: str
) -> None:
    assert register("alice", email="alice@example.com").status_code == 201
    response = register(username, email=email)
    if username == "alice@example.com":
        # '@' is not allowed in usernames, so this one cannot even reach the store.
        expect_problem(response, 422, "validation_error")
    else:
        expect_problem(response, 409, "conflict")


def test_register_when_closed_gives_403_registration_closed(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Register,
    expect_problem: ExpectProblem,
) -> None:
    client = make_app(replace(config, registration_open=False)).test_client()
    expect_problem(register("alice", client=client), 403, "registration_closed")


def test_registration_is_limited_to_ten_per_address(
    register: Register, expect_problem: ExpectProblem
) -> None:
    for n in range(10):
        assert register(f"user{n}").status_code == 201
    throttled = register("user10")
    body = expect_problem(throttled, 429, "too_many_attempts")
    assert throttled.headers["Retry-After"] == str(body["retry_after"])
    assert 1 <= body["retry_after"] <= 3600


# -- POST /auth/login ---------------------------------------------------------------


def test_login_returns_a_token_pair_that_is_never_cached(
    register: Register, login: Login, kit: Authkit
) -> None:
    user = register("alice").get_json()
    response = login("alice")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    pair = response.get_json()
    assert set(pair) == PAIR_KEYS | {"device_token"}  # a sign-in adds its device token
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    assert 7 * 86400 - 60 <= pair["refresh_expires_in"] <= 7 * 86400
    assert pair["access_token"] != pair["refresh_token"]

    header = jwt.get_unverified_header(pair["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["kid"] == kit.keys.current().active.kid
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert {"iss", "aud", "sub", "exp", "iat", "jti", "roles"} <= claims.keys()
    assert claims["sub"] == user["id"]
    assert claims["roles"] == ["user"]
    assert claims["exp"] - claims["iat"] == 900


@EVERY_BACKEND
def test_login_accepts_the_email_in_any_case(register: Register, login: Login) -> None:
    register("alice", email="alice@example.com")
    assert login("ALICE@Example.com").status_code == 200
    assert login("  Alice ").status_code == 200


def test_login_missing_password_gives_422(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    response = client.post("/auth/login", json={"username": "alice"})
    problem = expect_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "password"]


def test_unknown_user_and_wrong_password_get_the_same_answer(
    register: Register, login: Login, expect_problem: ExpectProblem
) -> None:
    register("alice")
    unknown = login("nobody", "a-wrong-password-123")
    wrong = login("alice", "a-wrong-password-123")
    unknown_body = expect_problem(unknown, 401, "invalid_credentials")
    wrong_body = expect_problem(wrong, 401, "invalid_credentials")
    assert unknown_body.pop("trace_id") != wrong_body.pop("trace_id")
    assert unknown_body == wrong_body
    ignored = {"X-Request-ID", "Content-Length"}
    assert {k: v for k, v in unknown.headers.items() if k not in ignored} == {
        k: v for k, v in wrong.headers.items() if k not in ignored
    }
    assert "WWW-Authenticate" not in wrong.headers


def test_account_disabled_is_only_revealed_after_the_correct_password(
    register: Register, login: Login, set_active: SetActive, expect_problem: ExpectProblem
) -> None:
    user = register("alice").get_json()
    set_active(user["id"], False)
    expect_problem(login("alice", "a-wrong-password-123"), 401, "invalid_credentials")
    expect_problem(login("alice"), 403, "account_disabled")
    set_active(user["id"], True)
    assert login("alice").status_code == 200


def test_five_failures_throttle_the_pair_even_for_the_right_password(
    register: Register, login: Login, expect_problem: ExpectProblem
) -> None:
    register("alice")
    register("bob")
    for _ in range(5):
        expect_problem(login("alice", "a-wrong-password-123"), 401, "invalid_credentials")
    throttled = login("alice", "a-wrong-password-123")
    body = expect_problem(throttled, 429, "too_many_attempts")
    retry_after = body["retry_after"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    assert throttled.headers["Retry-After"] == str(retry_after)

    right = login("alice")
    assert expect_problem(right, 429, "too_many_attempts")["retry_after"] >= 1
    assert right.headers["Retry-After"].isdigit()
    # The email of the account shares the username's counters...
    expect_problem(login("ALICE@example.com"), 429, "too_many_attempts")
    # ...while another account from the same address is untouched.
    assert login("bob").status_code == 200


def test_a_successful_login_clears_the_pair_failures(
    register: Register, login: Login, expect_problem: ExpectProblem
) -> None:
    register("alice")
    for _ in range(4):
        expect_problem(login("alice", "a-wrong-password-123"), 401, "invalid_credentials")
    assert login("alice").status_code == 200
    for _ in range(4):
        expect_problem(login("alice", "a-wrong-password-123"), 401, "invalid_credentials")
    assert login("alice").status_code == 200


# -- POST /auth/refresh -------------------------------------------------------------


def test_refresh_rotates_the_pair(client: FlaskClient, signed_in: SignedIn) -> None:
    first = signed_in("alice")
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    second = response.get_json()
    assert set(second) == PAIR_KEYS
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    me = client.get("/auth/me", headers=bearer(second["access_token"]))
    assert me.get_json()["id"] == first["user"]["id"]
    third = refresh(client, second["refresh_token"])
    assert third.status_code == 200


@EVERY_BACKEND
def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client: FlaskClient, signed_in: SignedIn, expect_problem: ExpectProblem
) -> None:
    first = signed_in("alice")
    newest = refresh(client, first["refresh_token"]).get_json()["refresh_token"]
    reused = refresh(client, first["refresh_token"])
    expect_problem(reused, 401, "token_reused")
    assert reused.headers["WWW-Authenticate"].startswith("Bearer")
    expect_problem(refresh(client, newest), 401, "invalid_token")


def test_another_sign_in_survives_a_reuse_in_a_different_family(
    client: FlaskClient, signed_in: SignedIn, login: Login, expect_problem: ExpectProblem
) -> None:
    first = signed_in("alice")
    other = login("alice").get_json()
    refresh(client, first["refresh_token"])
    expect_problem(refresh(client, first["refresh_token"]), 401, "token_reused")
    assert refresh(client, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("x", id="too-short"),
        pytest.param("A" * 43, id="unknown"),
        pytest.param("A" * 400, id="long-unknown"),
    ],
)
def test_refresh_with_an_unknown_token_gives_401_invalid_token(
    client: FlaskClient, expect_problem: ExpectProblem, token: str
) -> None:
    expect_problem(refresh(client, token), 401, "invalid_token")


def test_refresh_with_an_access_token_gives_401_invalid_token(
    client: FlaskClient, signed_in: SignedIn, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    expect_problem(refresh(client, pair["access_token"]), 401, "invalid_token")


def test_an_access_token_endpoint_refuses_a_refresh_token(
    client: FlaskClient, signed_in: SignedIn, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    response = client.get("/auth/me", headers=bearer(pair["refresh_token"]))
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_refresh_after_deactivation_gives_401(
    client: FlaskClient, signed_in: SignedIn, set_active: SetActive, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    set_active(pair["user"]["id"], False)
    expect_problem(refresh(client, pair["refresh_token"]), 401, "invalid_token")


# -- POST /auth/logout, /auth/logout-all ----------------------------------------------


def test_logout_gives_204_and_ends_the_family(
    client: FlaskClient, signed_in: SignedIn, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    response = client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204
    assert response.get_data() == b""
    expect_problem(refresh(client, pair["refresh_token"]), 401, "invalid_token")
    again = client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    expect_problem(again, 401, "invalid_token")


def test_logout_with_an_unknown_token_gives_401(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    response = client.post("/auth/logout", json={"refresh_token": "B" * 43})
    expect_problem(response, 401, "invalid_token")


@EVERY_BACKEND
def test_logout_all_gives_204_and_ends_every_sign_in(
    client: FlaskClient, signed_in: SignedIn, login: Login, expect_problem: ExpectProblem
) -> None:
    first = signed_in("alice")
    second = login("alice").get_json()
    response = client.post("/auth/logout-all", headers=bearer(first["access_token"]))
    assert response.status_code == 204
    assert response.get_data() == b""
    for pair in (first, second):
        expect_problem(refresh(client, pair["refresh_token"]), 401, "invalid_token")


def test_logout_all_needs_a_bearer_token(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    response = client.post("/auth/logout-all")
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- GET /auth/me ---------------------------------------------------------------------


def test_me_returns_the_current_user(client: FlaskClient, signed_in: SignedIn) -> None:
    pair = signed_in("alice")
    response = client.get("/auth/me", headers=bearer(pair["access_token"]))
    assert response.status_code == 200
    user = response.get_json()
    assert set(user) == USER_KEYS
    assert user["id"] == pair["user"]["id"]
    assert parse_rfc3339(user["last_login_at"]) >= parse_rfc3339(user["created_at"])


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(
    config: AuthkitConfig, user_id: str, *, issued: int, lifetime: int = 900
) -> dict[str, Any]:
    return {
        "iss": config.access_tokens.issuer,
        "aud": config.access_tokens.audience,
        "sub": user_id,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": "test-jti-0123456789",
        "roles": ["user", "admin"],
    }


def forge_authorization(kind: str, kit: Authkit, pair: dict[str, Any]) -> str | None:
    """An ``Authorization`` header value of the given kind of bad credential."""
    key = kit.keys.current().active
    headers = {"typ": "at+jwt", "kid": key.kid}
    user_id = pair["user"]["id"]
    now = int(time.time())
    if kind == "missing":
        return None
    if kind == "not-bearer":
        return f"Basic {pair['access_token']}"
    if kind == "empty-bearer":
        return "Bearer "
    if kind == "not-a-jwt":
        return "Bearer not.a.jwt"
    if kind == "expired":
        token = jwt.encode(
            _claims(kit.config, user_id, issued=now - 3600),
            key.signing_key,
            key.alg,
            headers=headers,
        )
        return f"Bearer {token}"
    if kind == "tampered":
        header, _payload, signature = pair["access_token"].split(".")
        return f"Bearer {header}.{_b64(_claims(kit.config, user_id, issued=now))}.{signature}"
    if kind == "wrong-key":
        other = SigningKey.generate(key.alg, created_at=datetime.now(UTC), status=KeyStatus.ACTIVE)
        token = jwt.encode(
            _claims(kit.config, user_id, issued=now), other.signing_key, key.alg, headers=headers
        )
        return f"Bearer {token}"
    if kind == "alg-none":
        token = jwt.encode(_claims(kit.config, user_id, issued=now), "", "none", headers=headers)
        return f"Bearer {token}"
    if kind == "unknown-kid":
        token = jwt.encode(
            _claims(kit.config, user_id, issued=now),
            key.signing_key,
            key.alg,
            headers={"typ": "at+jwt", "kid": "no-such-kid"},
        )
        return f"Bearer {token}"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "not-bearer",
        "empty-bearer",
        "not-a-jwt",
        "expired",
        "tampered",
        "wrong-key",
        "alg-none",
        "unknown-kid",
    ],
)
def test_me_refuses_bad_tokens_with_401_and_www_authenticate(
    client: FlaskClient,
    kit: Authkit,
    signed_in: SignedIn,
    expect_problem: ExpectProblem,
    kind: str,
) -> None:
    pair = signed_in("alice")
    authorization = forge_authorization(kind, kit, pair)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/auth/me", headers=headers)
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_refuses_the_token_of_a_deactivated_user(
    client: FlaskClient, signed_in: SignedIn, set_active: SetActive, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    assert client.get("/auth/me", headers=bearer(pair["access_token"])).status_code == 200
    set_active(pair["user"]["id"], False)
    response = client.get("/auth/me", headers=bearer(pair["access_token"]))
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- POST /auth/password --------------------------------------------------------------

NEW_PASSWORD = "quiet-meadow-41-copper-kites"


def test_password_change_gives_204_and_revokes_the_other_sign_ins(
    client: FlaskClient,
    signed_in: SignedIn,
    login: Login,
    password: str,
    expect_problem: ExpectProblem,
) -> None:
    mine = signed_in("alice")
    other = login("alice").get_json()
    response = client.post(
        "/auth/password",
        json={"current_password": password, "new_password": NEW_PASSWORD},
        headers=bearer(mine["access_token"]),
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    expect_problem(refresh(client, other["refresh_token"]), 401, "invalid_token")
    assert refresh(client, mine["refresh_token"]).status_code == 200
    expect_problem(login("alice", password), 401, "invalid_credentials")
    assert login("alice", NEW_PASSWORD).status_code == 200


def test_password_change_with_a_wrong_current_password_gives_401(
    client: FlaskClient, signed_in: SignedIn, login: Login, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    response = client.post(
        "/auth/password",
        json={"current_password": "not-the-password-1", "new_password": NEW_PASSWORD},
        headers=bearer(pair["access_token"]),
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "not-the-password-1" not in response.get_data(as_text=True)
    assert login("alice", NEW_PASSWORD).status_code == 401


def test_password_change_to_a_weak_password_gives_422(
    client: FlaskClient, signed_in: SignedIn, password: str, expect_problem: ExpectProblem
) -> None:
    pair = signed_in("alice")
    response = client.post(
        "/auth/password",
        json={"current_password": password, "new_password": "zzzz"},
        headers=bearer(pair["access_token"]),
    )
    body = expect_problem(response, 422, "weak_password")
    assert sorted(e["code"] for e in body["errors"]) == ["too_few_distinct_characters", "too_short"]
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_password_change_needs_a_bearer_token_and_both_fields(
    client: FlaskClient, signed_in: SignedIn, password: str, expect_problem: ExpectProblem
) -> None:
    body = {"current_password": password, "new_password": NEW_PASSWORD}
    unauthenticated = client.post("/auth/password", json=body)
    expect_problem(unauthenticated, 401, "invalid_token")
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    pair = signed_in("alice")
    missing = client.post(
        "/auth/password", json={"current_password": password}, headers=bearer(pair["access_token"])
    )
    problem = expect_problem(missing, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "new_password"]
    assert password not in missing.get_data(as_text=True)


def test_missing_credentials_get_a_challenge_without_an_error_code(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    """RFC 6750 §3.1: no credentials, no error code; a bad token gets error="invalid_token"."""
    missing = client.get("/auth/me")
    expect_problem(missing, 401, "invalid_token")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get("/auth/me", headers={"Authorization": "Bearer not-a-token"})
    expect_problem(bad, 401, "invalid_token")
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@EVERY_BACKEND
def test_a_revoked_session_stops_its_access_tokens_at_once(
    client: FlaskClient,
    signed_in: SignedIn,
    login: Login,
    password: str,
    expect_problem: ExpectProblem,
) -> None:
    """Logout, a password change, logout-all and refresh-token reuse end the session's
    access tokens too (via their ``sid``), not only its refresh tokens."""
    logged_out = signed_in("alice")
    assert (
        client.post("/auth/logout", json={"refresh_token": logged_out["refresh_token"]}).status_code
        == 204
    )
    expect_problem(
        client.get("/auth/me", headers=bearer(logged_out["access_token"])), 401, "invalid_token"
    )

    mine, other = login("alice").get_json(), login("alice").get_json()
    assert (
        client.post(
            "/auth/password",
            json={"current_password": password, "new_password": NEW_PASSWORD},
            headers=bearer(mine["access_token"]),
        ).status_code
        == 204
    )
    assert client.get("/auth/me", headers=bearer(mine["access_token"])).status_code == 200
    expect_problem(
        client.get("/auth/me", headers=bearer(other["access_token"])), 401, "invalid_token"
    )

    stolen = login("alice", NEW_PASSWORD).get_json()
    assert refresh(client, stolen["refresh_token"]).status_code == 200
    expect_problem(refresh(client, stolen["refresh_token"]), 401, "token_reused")
    expect_problem(
        client.get("/auth/me", headers=bearer(stolen["access_token"])), 401, "invalid_token"
    )

    assert client.post("/auth/logout-all", headers=bearer(mine["access_token"])).status_code == 204
    expect_problem(
        client.get("/auth/me", headers=bearer(mine["access_token"])), 401, "invalid_token"
    )

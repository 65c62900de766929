"""Browser sessions: the refresh token in an HttpOnly cookie, the access token in the body.

``/auth/browser/login`` answers like ``/auth/login`` minus the refresh token, which
goes into a ``SameSite=Strict`` cookie scoped to ``/auth/browser/session``;
``/session/refresh`` rotates it with reuse detection; ``/session/logout`` revokes
its family and clears it. Every request needs ``X-Authkit-CSRF: 1`` and is refused
when Fetch Metadata says it came from another site. The JSON clients' token-pair
contract does not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import Authkit, AuthkitConfig, MfaConfig
from authkit_flask import BrowserSessionConfig

CSRF = {"X-Authkit-CSRF": "1"}
COOKIE = "authkit_refresh"
COOKIE_PATH = "/auth/browser/session"
LOGIN = "/auth/browser/login"
REFRESH = "/auth/browser/session/refresh"
LOGOUT = "/auth/browser/session/logout"

Problem = Callable[[TestResponse, int, str], dict[str, Any]]


def set_cookie_header(response: TestResponse, name: str = COOKIE) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def attributes(header: str) -> dict[str, str]:
    parts = [part.strip() for part in header.split(";")]
    found = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        found[key.lower()] = value
    return found


def cookie_value(client: FlaskClient, name: str = COOKIE) -> str | None:
    cookie = client.get_cookie(name, path=COOKIE_PATH)
    return cookie.value if cookie is not None else None


@pytest.fixture
def browser_login(
    register: Callable[..., TestResponse], client: FlaskClient, password: str
) -> Callable[..., TestResponse]:
    """``browser_login(username="alice", client=None)``: register, then sign in for a browser."""

    def call(username: str = "alice", *, other: FlaskClient | None = None) -> TestResponse:
        assert register(username).status_code == 201
        body = {"username": username, "password": password}
        return (other or client).post(LOGIN, json=body, headers=CSRF)

    return call


def test_browser_login_puts_the_refresh_token_in_a_strict_httponly_cookie_only(
    client: FlaskClient, browser_login: Callable[..., TestResponse]
) -> None:
    response = browser_login()
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_expires_in",
        "user",
        "mfa_enrolment_required",
    }
    assert body["token_type"] == "Bearer"
    assert body["user"]["username"] == "alice"
    assert body["mfa_enrolment_required"] is False
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    header = set_cookie_header(response)
    attrs = attributes(header)
    assert attrs["path"] == COOKIE_PATH
    assert attrs["samesite"] == "Strict"
    assert "httponly" in attrs
    assert "secure" not in attrs  # plain HTTP
    assert int(attrs["max-age"]) == body["refresh_expires_in"]
    token = cookie_value(client)
    assert token
    assert token not in response.get_data(as_text=True)
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


def test_the_cookie_is_secure_on_https_directly_or_through_a_trusted_proxy(
    make_app: Callable[..., Flask], register: Callable[..., TestResponse], password: str
) -> None:
    assert register("alice").status_code == 201
    body = {"username": "alice", "password": password}
    direct = make_app().test_client()
    response = direct.post(LOGIN, json=body, headers=CSRF, base_url="https://localhost")
    assert "secure" in attributes(set_cookie_header(response))
    proxied = make_app(trusted_proxies=1).test_client()
    response = proxied.post(LOGIN, json=body, headers={**CSRF, "X-Forwarded-Proto": "https"})
    assert "secure" in attributes(set_cookie_header(response))
    forced = make_app(browser_sessions=BrowserSessionConfig(secure=True)).test_client()
    response = forced.post(LOGIN, json=body, headers=CSRF)
    assert "secure" in attributes(set_cookie_header(response))


def test_refresh_rotates_the_cookie_and_answers_a_fresh_access_token(
    client: FlaskClient, browser_login: Callable[..., TestResponse]
) -> None:
    browser_login()
    first = cookie_value(client)
    response = client.post(REFRESH, headers=CSRF)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "refresh_token" not in response.get_json()
    second = cookie_value(client)
    assert second
    assert second != first
    token = response.get_json()["access_token"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_refresh_without_a_cookie_is_no_session_not_an_error(client: FlaskClient) -> None:
    """An anonymous page load asks too: 204, so a visitor's console stays clean."""
    response = client.post(REFRESH, headers=CSRF)
    assert response.status_code == 204
    assert response.headers["Cache-Control"] == "no-store"


def test_replaying_a_rotated_cookie_revokes_the_family(
    client: FlaskClient,
    browser_login: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    """RFC 9700 reuse detection, exactly as for JSON clients; the cookie is cleared."""
    browser_login()
    stolen = cookie_value(client)
    assert client.post(REFRESH, headers=CSRF).status_code == 200
    current = cookie_value(client)
    client.set_cookie(COOKIE, stolen or "", path=COOKIE_PATH)
    replay = client.post(REFRESH, headers=CSRF)
    expect_problem(replay, 401, "token_reused")
    assert attributes(set_cookie_header(replay))["max-age"] == "0"
    assert cookie_value(client) is None
    client.set_cookie(COOKIE, current or "", path=COOKIE_PATH)
    expect_problem(client.post(REFRESH, headers=CSRF), 401, "invalid_token")


def test_logout_revokes_the_family_and_clears_the_cookie(
    client: FlaskClient, browser_login: Callable[..., TestResponse]
) -> None:
    access = browser_login().get_json()["access_token"]
    token = cookie_value(client)
    response = client.post(LOGOUT, headers=CSRF)
    assert response.status_code == 204
    assert attributes(set_cookie_header(response))["max-age"] == "0"
    assert cookie_value(client) is None
    # The session's access token ends with it (sid family), and the old cookie is dead.
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    client.set_cookie(COOKIE, token or "", path=COOKIE_PATH)
    assert client.post(REFRESH, headers=CSRF).status_code == 401


def test_logout_always_succeeds_for_the_browser(client: FlaskClient) -> None:
    """Without a cookie, or with a dead one, sign-out still answers 204 and clears it."""
    assert client.post(LOGOUT, headers=CSRF).status_code == 204
    client.set_cookie(COOKIE, "not-a-token", path=COOKIE_PATH)
    response = client.post(LOGOUT, headers=CSRF)
    assert response.status_code == 204
    assert cookie_value(client) is None


@pytest.mark.parametrize("path", [LOGIN, REFRESH, LOGOUT])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"X-Authkit-CSRF": "0"}, id="wrong-value"),
        pytest.param({**CSRF, "Sec-Fetch-Site": "cross-site"}, id="cross-site"),
        pytest.param({**CSRF, "Sec-Fetch-Site": "same-site"}, id="same-site"),
    ],
)
def test_requests_a_cross_site_page_could_send_are_refused(
    client: FlaskClient,
    browser_login: Callable[..., TestResponse],
    expect_problem: Problem,
    path: str,
    headers: dict[str, str],
    password: str,
) -> None:
    """CSRF: the custom header is required (no form or cross-origin fetch without a
    preflight can add it) and Fetch Metadata from another site is refused. A
    refused refresh does not rotate (or clear) the cookie."""
    browser_login()
    before = cookie_value(client)
    response = client.post(path, json={"username": "alice", "password": password}, headers=headers)
    expect_problem(response, 403, "forbidden")
    assert cookie_value(client) == before


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_same_origin_fetch_metadata_is_accepted(
    client: FlaskClient, browser_login: Callable[..., TestResponse], site: str
) -> None:
    browser_login()
    response = client.post(REFRESH, headers={**CSRF, "Sec-Fetch-Site": site})
    assert response.status_code == 200


def test_json_clients_keep_the_token_pair_contract(
    client: FlaskClient, register: Callable[..., TestResponse], login: Callable[..., TestResponse]
) -> None:
    """``/auth/login`` still answers the refresh token in the body and sets no session
    cookie (only the device cookie of issue 14's device tokens, which opens nothing)."""
    register("alice")
    response = login("alice")
    assert response.status_code == 200
    assert "refresh_token" in response.get_json()
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["authkit_device"]


def test_browser_sign_in_keeps_a_device_cookie_of_its_own(
    client: FlaskClient,
    browser_login: Callable[..., TestResponse],
    read_log: Callable[[str], list[dict[str, Any]]],
    password: str,
) -> None:
    """As on ``/auth/login``: a device token in an HttpOnly cookie, here scoped to
    the browser sign-in path, and presented by the next sign-in."""
    first = browser_login()
    attrs = attributes(set_cookie_header(first, "authkit_device"))
    assert attrs["path"] == LOGIN
    assert "httponly" in attrs
    assert attrs["samesite"] == "Strict"
    assert client.get_cookie("authkit_device", path=LOGIN) is not None
    again = client.post(LOGIN, json={"username": "alice", "password": password}, headers=CSRF)
    assert again.status_code == 200
    logins = [e for e in read_log("auth.jsonl") if e["event"] == "login"]
    assert [e["known_device"] for e in logins[-2:]] == [False, True]


def test_sign_in_problems_pass_through(
    client: FlaskClient,
    register: Callable[..., TestResponse],
    expect_problem: Problem,
    kit: Authkit,
    password: str,
) -> None:
    """Wrong password, an MFA step, a wrong code and the throttle's 429 answer as on
    ``/auth/login``, and none of them sets a cookie."""
    user = register("alice").get_json()
    wrong = client.post(LOGIN, json={"username": "alice", "password": "nope-nope"}, headers=CSRF)
    expect_problem(wrong, 401, "invalid_credentials")
    assert wrong.headers.getlist("Set-Cookie") == []

    record = kit.stores.users.get(user["id"])
    assert record is not None
    enrolment = kit.mfa.setup(user=record, password=password, address="127.0.0.1")
    totp = pyotp.TOTP(enrolment.secret)
    kit.mfa.enable(user=record, otp=totp.now(), address="127.0.0.1")
    body = {"username": "alice", "password": password}
    step = client.post(LOGIN, json=body, headers=CSRF)
    expect_problem(step, 401, "mfa_required")
    bad = client.post(LOGIN, json={**body, "otp": "000000"}, headers=CSRF)
    expect_problem(bad, 401, "invalid_otp")
    for _ in range(10):
        throttled = client.post(LOGIN, json={**body, "otp": "000000"}, headers=CSRF)
        if throttled.status_code == 429:
            break
    problem = expect_problem(throttled, 429, "too_many_attempts")
    assert problem["retry_after"] >= 1
    assert throttled.headers["Retry-After"] == str(problem["retry_after"])


def test_accounts_that_must_enrol_are_told_so(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Callable[..., TestResponse],
    password: str,
) -> None:
    app = make_app(dataclasses.replace(config, mfa=MfaConfig(required_roles=frozenset({"user"}))))
    client = app.test_client()
    assert register("alice", client=client).status_code == 201
    response = client.post(LOGIN, json={"username": "alice", "password": password}, headers=CSRF)
    assert response.status_code == 200
    assert response.get_json()["mfa_enrolment_required"] is True


def test_totp_qr_draws_an_otpauth_uri_as_svg_for_a_signed_in_user(
    client: FlaskClient, browser_login: Callable[..., TestResponse], expect_problem: Problem
) -> None:
    access = browser_login().get_json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    uri = "otpauth://totp/test:alice?secret=JBSWY3DPEHPK3PXP&issuer=test"
    response = client.post("/auth/browser/totp-qr", json={"otpauth_uri": uri}, headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    svg = response.get_json()["svg"]
    assert svg.startswith("<svg")
    assert "<script" not in svg
    other = client.post(
        "/auth/browser/totp-qr", json={"otpauth_uri": "https://example.com"}, headers=headers
    )
    expect_problem(other, 422, "validation_error")
    anonymous = client.post("/auth/browser/totp-qr", json={"otpauth_uri": uri})
    expect_problem(anonymous, 401, "invalid_token")


def test_the_cookie_name_is_a_setting(
    make_app: Callable[..., Flask], register: Callable[..., TestResponse], password: str
) -> None:
    app = make_app(browser_sessions=BrowserSessionConfig(cookie_name="myapp_rt"))
    client = app.test_client()
    assert register("alice", client=client).status_code == 201
    response = client.post(LOGIN, json={"username": "alice", "password": password}, headers=CSRF)
    set_cookie_header(response, "myapp_rt")
    assert client.post(REFRESH, headers=CSRF).status_code == 200
    with pytest.raises(ValueError, match="cookie_name"):
        BrowserSessionConfig(cookie_name="bad name;")


def test_browser_sessions_and_pages_can_be_turned_off(make_app: Callable[..., Flask]) -> None:
    client = make_app(browser_sessions=False, pages=False).test_client()
    assert client.post(LOGIN, headers=CSRF).status_code == 404
    assert client.get("/login").status_code == 404
    with pytest.raises(ValueError, match="browser_sessions"):
        make_app(browser_sessions=False)

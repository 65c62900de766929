"""Issue 14, finding 2 over HTTP: device tokens at ``POST /auth/login``.

JSON clients send the token of their last sign-in as ``X-Device-Token`` and get a
fresh one as ``device_token`` in the token pair; browsers get it as the
``authkit_device`` cookie (HttpOnly, SameSite=Strict, Secure on HTTPS, Path
``/auth/login``) and send it back without any script seeing it. With the
account's budget spent by a stranger from rotating addresses, the owner's known
device still signs in; an unknown device gets 429.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import AuthkitConfig
from authkit.throttle import ThrottleRules

Register = Callable[..., TestResponse]
Login = Callable[..., TestResponse]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]
WRONG = "definitely-not-the-password"


def app_with_small_account_budget(make_app: Callable[..., Flask], config: AuthkitConfig) -> Flask:
    rules = ThrottleRules(account_failures=5)
    return make_app(dataclasses.replace(config, throttle=rules), trusted_proxies=1)


def from_address(address: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


def exhaust_account(client: FlaskClient, login: Login, expect_problem: ExpectProblem) -> None:
    for i in range(5):
        response = login("alice", WRONG, client=client, headers=from_address(f"203.0.113.{i}"))
        expect_problem(response, 401, "invalid_credentials")
    blocked = login("alice", WRONG, client=client, headers=from_address("203.0.113.99"))
    expect_problem(blocked, 429, "too_many_attempts")


def test_sign_in_answers_a_device_token_in_the_pair_and_a_cookie(
    client: FlaskClient, register: Register, login: Login
) -> None:
    register("alice")
    response = login("alice")
    token = response.get_json()["device_token"]
    assert isinstance(token, str)
    assert token.startswith("dt1.")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"authkit_device={token};")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/auth/login" in cookie
    assert "SameSite=Strict" in cookie
    assert "Max-Age=7776000" in cookie
    assert "Secure" not in cookie  # plain HTTP here


def test_the_cookie_is_secure_over_https(client: FlaskClient, register: Register) -> None:
    register("alice")
    body = {"username": "alice", "password": "violet-harbour-7-lanterns"}
    response = client.post("/auth/login", json=body, base_url="https://localhost")
    assert "; Secure" in response.headers["Set-Cookie"]


def test_refresh_answers_no_device_token(
    client: FlaskClient, register: Register, login: Login
) -> None:
    register("alice")
    refresh_token = login("alice").get_json()["refresh_token"]
    response = client.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert "device_token" not in response.get_json()
    assert "authkit_device" not in response.headers.get("Set-Cookie", "")


def test_a_known_device_signs_in_by_header_while_the_account_is_locked(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Register,
    login: Login,
    expect_problem: ExpectProblem,
) -> None:
    client = app_with_small_account_budget(make_app, config).test_client()
    register("alice", client=client)
    device = login("alice", client=client, headers=from_address("198.51.100.7")).get_json()[
        "device_token"
    ]
    client.delete_cookie("authkit_device", path="/auth/login")  # a JSON client: header only
    exhaust_account(client, login, expect_problem)

    stranger = login("alice", client=client, headers=from_address("192.0.2.201"))
    expect_problem(stranger, 429, "too_many_attempts")  # the right password, unknown device
    junk = {"X-Device-Token": "x" * 999}
    expect_problem(
        login("alice", client=client, headers=from_address("192.0.2.202", **junk)),
        429,
        "too_many_attempts",
    )
    owner = login(
        "alice",
        client=client,
        headers=from_address("192.0.2.200", **{"X-Device-Token": device}),
    )
    assert owner.status_code == 200, owner.get_json()
    assert owner.get_json()["device_token"] != device


def test_a_known_browser_signs_in_by_its_cookie_while_the_account_is_locked(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Register,
    login: Login,
    expect_problem: ExpectProblem,
) -> None:
    app = app_with_small_account_budget(make_app, config)
    browser, attacker = app.test_client(), app.test_client()
    register("alice", client=browser)
    assert login("alice", client=browser, headers=from_address("198.51.100.7")).status_code == 200
    exhaust_account(attacker, login, expect_problem)

    expect_problem(
        login("alice", client=attacker, headers=from_address("192.0.2.211")),
        429,
        "too_many_attempts",
    )
    response = login("alice", client=browser, headers=from_address("192.0.2.210"))
    assert response.status_code == 200, response.get_json()

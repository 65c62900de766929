"""The account recovery and email endpoints of API.md, over HTTP.

``POST /auth/email/verify/request``, ``/auth/email/verify``, ``/auth/password/forgot``,
``/auth/password/reset``, ``/auth/email/change``, ``/auth/email/change/confirm``,
``DELETE /auth/me`` and the admin's ``DELETE /auth/users/{id}``: statuses, bodies,
problem codes (a dead emailed link is 400 ``invalid_token``), and the mail each
one sends (the default core's ``memory://`` mailer).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import Authkit, AuthkitConfig
from authkit.account import AccountConfig
from authkit.mail import MailMessage, MemoryMailer
from authkit.throttle import ThrottleRules
from authkit_flask import get_state

Problem = Callable[[TestResponse, int, str], dict[str, Any]]
NEW_PASSWORD = "copper-meadow-4-kestrels"
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]+)")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outbox(kit: Authkit, kind: str, to: str | None = None) -> list[MailMessage]:
    assert kit.mail.flush(10)
    assert isinstance(kit.mailer, MemoryMailer)
    return [m for m in kit.mailer.sent if m.kind == kind and (to is None or m.to == to)]


def token_of(kit: Authkit, kind: str, to: str | None = None) -> str:
    messages = outbox(kit, kind, to)
    assert messages, kind
    found = TOKEN.search(messages[-1].text)
    assert found is not None
    return found.group(1)


# -- verification ----------------------------------------------------------------------


def test_register_mails_a_link_and_verify_marks_the_user(
    client: FlaskClient,
    kit: Authkit,
    register: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    created = register()
    assert created.get_json()["email_verified"] is False
    token = token_of(kit, "verify_email", "alice@example.com")
    response = client.post("/auth/email/verify", json={"token": token})
    assert response.status_code == 200
    assert response.get_json()["email_verified"] is True
    assert response.headers["Cache-Control"] == "no-store"
    again = client.post("/auth/email/verify", json={"token": token})
    body = expect_problem(again, 400, "invalid_token")
    assert "WWW-Authenticate" not in again.headers
    assert token not in str(body)


def test_me_shows_email_verified(
    client: FlaskClient, signed_in: Callable[..., dict[str, Any]]
) -> None:
    pair = signed_in()
    me = client.get("/auth/me", headers=bearer(pair["access_token"])).get_json()
    assert me["email_verified"] is False


def test_verify_request_needs_a_bearer_and_answers_202(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    expect_problem: Problem,
) -> None:
    expect_problem(client.post("/auth/email/verify/request"), 401, "invalid_token")
    pair = signed_in()
    response = client.post("/auth/email/verify/request", headers=bearer(pair["access_token"]))
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted"}
    assert len(outbox(kit, "verify_email")) == 2  # registration's and this one
    for _ in range(ThrottleRules().account_mails - 1):
        client.post("/auth/email/verify/request", headers=bearer(pair["access_token"]))
    throttled = client.post("/auth/email/verify/request", headers=bearer(pair["access_token"]))
    expect_problem(throttled, 429, "too_many_attempts")
    assert int(throttled.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}, {"token": "x" * 2000}], ids=str)
def test_token_bodies_are_validated(client: FlaskClient, body: dict[str, Any]) -> None:
    for path in ("/auth/email/verify", "/auth/email/change/confirm"):
        assert client.post(path, json=body).status_code == 422


@pytest.mark.parametrize("path", ["/auth/email/verify", "/auth/email/change/confirm"])
def test_unknown_tokens_are_400_invalid_token(
    client: FlaskClient, path: str, expect_problem: Problem
) -> None:
    expect_problem(client.post(path, json={"token": "A" * 43}), 400, "invalid_token")
    expect_problem(client.post(path, json={"token": "short"}), 400, "invalid_token")


def test_require_verified_email_answers_403_email_unverified(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Callable[..., TestResponse],
    login: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    app = make_app(dataclasses.replace(config, account=AccountConfig(require_verified_email=True)))
    client = app.test_client()
    kit = get_state(app).kit
    assert register(client=client).status_code == 201
    expect_problem(login("alice", "wrong-password-x", client=client), 401, "invalid_credentials")
    expect_problem(login(client=client), 403, "email_unverified")
    token = token_of(kit, "verify_email")
    assert client.post("/auth/email/verify", json={"token": token}).status_code == 200
    assert login(client=client).status_code == 200


def test_an_unverified_account_whose_link_expired_gets_back_in_through_a_reset(
    make_app: Callable[..., Flask],
    config: AuthkitConfig,
    register: Callable[..., TestResponse],
    login: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    """403 ``email_unverified`` names the way back; the reset verifies the address."""
    app = make_app(dataclasses.replace(config, account=AccountConfig(require_verified_email=True)))
    client = app.test_client()
    kit = get_state(app).kit
    assert register(client=client).status_code == 201
    # The verification link is never used (as if it expired): the reset is the way in.
    refused = expect_problem(login(client=client), 403, "email_unverified")
    assert "Forgot password" in refused["detail"]
    for secret in ("alice@example.com", "alice"):
        assert secret not in refused["detail"]
    forgot = client.post("/auth/password/forgot", json={"email": "alice@example.com"})
    assert forgot.status_code == 202
    done = client.post(
        "/auth/password/reset",
        json={"token": token_of(kit, "password_reset"), "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 204
    signed_in = login("alice", NEW_PASSWORD, client=client)
    assert signed_in.status_code == 200
    me = client.get("/auth/me", headers=bearer(signed_in.get_json()["access_token"]))
    assert me.get_json()["email_verified"] is True


# -- forgot and reset ----------------------------------------------------------------------


def test_forgot_answers_the_same_for_known_and_unknown_emails(
    client: FlaskClient, kit: Authkit, register: Callable[..., TestResponse]
) -> None:
    register()
    known = client.post("/auth/password/forgot", json={"email": "alice@example.com"})
    unknown = client.post("/auth/password/forgot", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert set(known.headers.keys()) == set(unknown.headers.keys())
    assert [m.to for m in outbox(kit, "password_reset")] == ["alice@example.com"]
    link = outbox(kit, "password_reset")[0].text
    assert "/reset-password#token=" in link


def test_forgot_is_throttled_per_email_known_or_not_and_per_address(
    client: FlaskClient, register: Callable[..., TestResponse], expect_problem: Problem
) -> None:
    register()
    rules = ThrottleRules()
    for email in ("alice@example.com", "ghost@example.com"):
        for i in range(rules.forgot_password_per_email):
            response = client.post(
                "/auth/password/forgot",
                json={"email": email},
                environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
            )
            assert response.status_code == 202
        refused = client.post(
            "/auth/password/forgot",
            json={"email": email.upper()},
            environ_base={"REMOTE_ADDR": "203.0.113.50"},
        )
        body = expect_problem(refused, 429, "too_many_attempts")
        assert body["retry_after"] >= 1
    for i in range(rules.forgot_password_per_address):
        client.post("/auth/password/forgot", json={"email": f"u{i}@example.com"})
    expect_problem(
        client.post("/auth/password/forgot", json={"email": "last@example.com"}),
        429,
        "too_many_attempts",
    )


def test_forgot_validates_its_body(client: FlaskClient, expect_problem: Problem) -> None:
    expect_problem(client.post("/auth/password/forgot", json={}), 422, "validation_error")
    expect_problem(
        client.post("/auth/password/forgot", data="x", content_type="text/plain"),
        400,
        "invalid_request",
    )


def test_reset_sets_the_password_and_kills_every_session(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    login: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    pair = signed_in()
    client.post("/auth/password/forgot", json={"email": "alice@example.com"})
    token = token_of(kit, "password_reset")
    weak = client.post("/auth/password/reset", json={"token": token, "new_password": "short"})
    assert expect_problem(weak, 422, "weak_password")["errors"]
    done = client.post("/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    expect_problem(
        client.get("/auth/me", headers=bearer(pair["access_token"])), 401, "invalid_token"
    )
    expect_problem(
        client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        401,
        "invalid_token",
    )
    assert login("alice", NEW_PASSWORD).status_code == 200
    assert outbox(kit, "password_changed", "alice@example.com")
    reused = client.post(
        "/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    expect_problem(reused, 400, "invalid_token")


# -- email change ------------------------------------------------------------------------


def test_email_change_then_confirm(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    register: Callable[..., TestResponse],
    expect_problem: Problem,
) -> None:
    pair = signed_in()
    register("bob")
    auth = bearer(pair["access_token"])
    wrong = client.post(
        "/auth/email/change",
        json={"password": "nope-nope-nope", "new_email": "a2@example.com"},
        headers=auth,
    )
    expect_problem(wrong, 401, "invalid_credentials")
    taken = client.post(
        "/auth/email/change",
        json={"password": "violet-harbour-7-lanterns", "new_email": "bob@example.com"},
        headers=auth,
    )
    expect_problem(taken, 409, "conflict")
    invalid = client.post(
        "/auth/email/change",
        json={"password": "violet-harbour-7-lanterns", "new_email": "nope"},
        headers=auth,
    )
    expect_problem(invalid, 422, "validation_error")
    accepted = client.post(
        "/auth/email/change",
        json={"password": "violet-harbour-7-lanterns", "new_email": "a2@example.com"},
        headers=auth,
    )
    assert accepted.status_code == 202
    assert outbox(kit, "email_change_notice", "alice@example.com")
    assert client.get("/auth/me", headers=auth).get_json()["email"] == "alice@example.com"
    token = token_of(kit, "email_change_confirm", "a2@example.com")
    confirmed = client.post("/auth/email/change/confirm", json={"token": token})
    assert confirmed.status_code == 200
    assert confirmed.get_json()["email"] == "a2@example.com"
    assert confirmed.get_json()["email_verified"] is True
    expect_problem(
        client.post("/auth/email/change/confirm", json={"token": token}), 400, "invalid_token"
    )


def test_email_change_needs_a_bearer(client: FlaskClient, expect_problem: Problem) -> None:
    expect_problem(
        client.post("/auth/email/change", json={"password": "x", "new_email": "a@b.example"}),
        401,
        "invalid_token",
    )


# -- deletion ----------------------------------------------------------------------------


def test_delete_me(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    login: Callable[..., TestResponse],
    expect_problem: Problem,
    read_log: Callable[[str], list[dict[str, Any]]],
) -> None:
    pair = signed_in()
    auth = bearer(pair["access_token"])
    expect_problem(
        client.delete("/auth/me", json={"password": "wrong-one-1"}, headers=auth),
        401,
        "invalid_credentials",
    )
    expect_problem(client.delete("/auth/me", json={}, headers=auth), 422, "validation_error")
    assert (
        client.delete(
            "/auth/me", json={"password": "violet-harbour-7-lanterns"}, headers=auth
        ).status_code
        == 204
    )
    expect_problem(client.get("/auth/me", headers=auth), 401, "invalid_token")
    expect_problem(login(), 401, "invalid_credentials")
    assert kit.stores.users.get(pair["user"]["id"]) is None
    assert outbox(kit, "account_deleted", "alice@example.com")
    events = read_log("auth.jsonl")
    deleted = [e for e in events if e["event"] == "account.delete" and e["outcome"] == "success"]
    assert len(deleted) == 1
    assert deleted[0]["actor"]
    assert deleted[0]["actor"] != pair["user"]["id"]


def test_admin_delete_user(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    set_roles: Callable[[str, list[str]], None],
    expect_problem: Problem,
) -> None:
    admin = signed_in("root")
    set_roles(admin["user"]["id"], ["admin"])
    alice = signed_in("alice")
    auth = bearer(admin["access_token"])
    expect_problem(
        client.delete(f"/auth/users/{admin['user']['id']}", headers=bearer(alice["access_token"])),
        403,
        "forbidden",
    )
    assert client.delete(f"/auth/users/{alice['user']['id']}", headers=auth).status_code == 204
    expect_problem(
        client.delete(f"/auth/users/{alice['user']['id']}", headers=auth), 404, "not_found"
    )
    last = client.delete(f"/auth/users/{admin['user']['id']}", headers=auth)
    assert expect_problem(last, 409, "conflict")["reason"] == "last_admin"
    assert kit.stores.users.get(admin["user"]["id"]) is not None

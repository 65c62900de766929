"""The reference app's mail wiring (issue 15): settings reach the core's account flows.

By default mail goes to ``.eml`` files in the instance folder's ``outbox/`` and the
links point at ``http://<host>:<port>``; ``FLIGHT_APP_MAIL_URL``,
``FLIGHT_APP_PUBLIC_URL``, ``FLIGHT_APP_REQUIRE_VERIFIED_EMAIL`` and the link
lifetimes are read from the settings; SMTP sends go through the app's retry
policy (transient failures retried, permanent ones not).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from authkit.errors import MailDeliveryError
from authkit.mail import MemoryMailer
from flight_app.app import get_components
from flight_app.mail_setup import mail_retry
from flight_app.settings import SettingsError, load_settings

ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]+)")


def _outbox(instance_path: Path) -> list[email.message.EmailMessage]:
    folder = instance_path / "outbox"
    messages = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        messages.append(parsed)
    return messages


def _text(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_default_mail_is_an_eml_outbox_with_links_to_host_and_port(
    make_app: Callable[..., Flask], instance_path: Path, password: str
) -> None:
    app = make_app()
    client = app.test_client()
    created = client.post(
        "/auth/register",
        json={"username": "alice", "email": "alice@example.com", "password": password},
    )
    assert created.status_code == 201
    assert get_components(app).kit.mail.flush(10)
    messages = _outbox(instance_path)
    assert len(messages) == 1
    assert messages[0]["To"] == "alice@example.com"
    assert messages[0]["From"].addresses[0].addr_spec == "no-reply@localhost"
    text = _text(messages[0])
    assert "http://127.0.0.1:8000/verify-email#token=" in text
    token = TOKEN.search(text)
    assert token is not None
    verified = client.post("/auth/email/verify", json={"token": token.group(1)})
    assert verified.status_code == 200
    assert verified.get_json()["email_verified"] is True


def test_mail_url_public_url_and_sender_come_from_the_settings(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("FLIGHT_APP_MAIL_URL", "memory://")
    monkeypatch.setenv("FLIGHT_APP_PUBLIC_URL", "https://flights.example/app/")
    app = make_app()
    kit = get_components(app).kit
    assert isinstance(kit.mailer, MemoryMailer)
    client = app.test_client()
    client.post(
        "/auth/register",
        json={"username": "alice", "email": "alice@example.com", "password": password},
    )
    response = client.post("/auth/password/forgot", json={"email": "alice@example.com"})
    assert response.status_code == 202
    assert kit.mail.flush(10)
    reset = [m for m in kit.mailer.sent if m.kind == "password_reset"]
    assert len(reset) == 1
    assert "https://flights.example/app/reset-password#token=" in reset[0].text


def test_require_verified_email_and_lifetimes_reach_the_core(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    password: str,
    expect_problem: ExpectProblem,
) -> None:
    monkeypatch.setenv("FLIGHT_APP_REQUIRE_VERIFIED_EMAIL", "true")
    monkeypatch.setenv("FLIGHT_APP_PASSWORD_RESET_TTL", "600")
    app = make_app(mail_url="memory://")
    config = get_components(app).kit.config.account
    assert config.require_verified_email is True
    assert config.reset_ttl_seconds == 600
    client = app.test_client()
    client.post(
        "/auth/register",
        json={"username": "alice", "email": "alice@example.com", "password": password},
    )
    login = client.post("/auth/login", json={"username": "alice", "password": password})
    expect_problem(login, 403, "email_unverified")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLIGHT_APP_PUBLIC_URL", "ftp://flights.example"),
        ("FLIGHT_APP_PUBLIC_URL", "https://flights.example/#x"),
        ("FLIGHT_APP_PASSWORD_RESET_TTL", "5"),
        ("FLIGHT_APP_EMAIL_VERIFY_TTL", "0"),
        ("FLIGHT_APP_THROTTLE_FORGOT_EMAIL_LIMIT", "0"),
    ],
)
def test_bad_mail_settings_name_their_variable(
    app_env: None, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)


def test_the_mail_url_is_redacted_in_the_settings_repr(
    app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLIGHT_APP_MAIL_URL", "smtp://user:hunter2-secret@mail.example:587")
    assert "hunter2-secret" not in repr(load_settings())


class _Flaky:
    def __init__(self, failures: int, *, transient: bool) -> None:
        self.failures = failures
        self.transient = transient
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise MailDeliveryError("SMTP said no.", transient=self.transient)


def test_mail_retry_retries_transient_failures_only() -> None:
    retry = mail_retry(2, sleep=lambda _seconds: None)
    flaky = _Flaky(2, transient=True)
    retry(flaky)
    assert flaky.calls == 3
    always = _Flaky(99, transient=True)
    with pytest.raises(MailDeliveryError) as caught:
        retry(always)
    assert caught.value.transient
    assert always.calls == 3
    permanent = _Flaky(1, transient=False)
    with pytest.raises(MailDeliveryError):
        retry(permanent)
    assert permanent.calls == 1


def test_seeded_accounts_count_as_verified(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seeded admin's address receives no mail: the gate must not lock it out."""
    from flight_app.seed import seed

    monkeypatch.setenv("FLIGHT_APP_REQUIRE_VERIFIED_EMAIL", "true")
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", "copper-meadow-4-kestrels-9")
    app = make_app(mail_url="memory://")
    components = get_components(app)
    seed(components.settings, components.kit)
    admin = components.kit.stores.users.find_by_login(components.settings.admin_username)
    assert admin is not None
    assert admin.email_verified
    login = app.test_client().post(
        "/auth/login",
        json={"username": admin.username, "password": "copper-meadow-4-kestrels-9"},
    )
    assert login.status_code == 200, login.get_json()

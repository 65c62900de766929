"""Issue 15 on a real server and a real SMTP server: account mail end to end.

``flight-app serve`` sends through an ``aiosmtpd`` server started here on a free
loopback port, with STARTTLS (a certificate from a CA made in the test with
trustme; the app trusts it through ``?cafile=`` in ``FLIGHT_APP_MAIL_URL``) and
AUTH. Each flow follows the link in the mail the way a browser page does (the
token from the URL fragment, posted to the API), and the outage test stops the
server: the API still answers 202, the failure is in the system log and in
``authkit_mail_failures_total``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest

if TYPE_CHECKING:
    from tests.conftest import ReceivedMail, SmtpServer, StartSmtp

pytestmark = pytest.mark.e2e

PASSWORD = "violet marmalade drifts at noon"
NEW_PASSWORD = "seven quiet herons cross the bay"
SMTP_USER = "flight-app"
SMTP_PASSWORD = "mail pa55:w@rd"
SENDER = "Flight App <no-reply@flights.test>"


def mail_url(smtp: SmtpServer) -> str:
    return (
        f"smtp://{SMTP_USER}:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{smtp.port}"
        f"?starttls=1&cafile={smtp.ca_file}"
    )


@pytest.fixture(scope="module")
def shared_smtp(start_shared_smtp: StartSmtp) -> SmtpServer:
    """One SMTP server for the flows (each test uses its own addresses)."""
    return start_shared_smtp("starttls", credentials=(SMTP_USER, SMTP_PASSWORD))


@pytest.fixture(scope="module")
def shared_app(start_shared_server: Callable[..., Any], shared_smtp: SmtpServer) -> Any:
    return start_shared_server(mail_url=mail_url(shared_smtp), mail_from=SENDER, metrics="public")


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def wait_mail(
    smtp: SmtpServer, to: str, subject: str, *, after: int = 0, timeout: float = 30
) -> ReceivedMail:
    """The first message to ``to`` whose subject contains ``subject``, from index ``after``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for mail in smtp.received[after:]:
            if mail.rcpt_tos == [to] and subject in mail.message["Subject"]:
                return mail
        time.sleep(0.1)
    seen = [(m.rcpt_tos, m.message["Subject"]) for m in smtp.received]
    raise AssertionError(f"no mail to {to} about {subject!r}; got {seen}")


def link_token(mail: ReceivedMail, base_url: str, page: str) -> str:
    """The token of the ``{public_url}/{page}#token=...`` link, the same in both bodies."""
    pattern = re.escape(f"{base_url}/{page}#token=") + r"([A-Za-z0-9._~-]+)"
    found = re.search(pattern, plain_body(mail.message))
    assert found, plain_body(mail.message)
    html = mail.message.get_body(("html",))
    assert html is not None
    assert found.group(0) in html.get_content()
    return found.group(1)


def assert_sent_securely(mail: ReceivedMail) -> None:
    assert mail.tls, "STARTTLS was used"
    assert mail.authenticated, "the app signed in to the SMTP server"
    assert mail.mail_from == "no-reply@flights.test"
    assert mail.message["From"] == SENDER
    assert mail.message.get_content_type() == "multipart/alternative"


def register(client: httpx.Client, username: str, email: str) -> dict[str, Any]:
    created = client.post(
        "/auth/register", json={"username": username, "email": email, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    user: dict[str, Any] = created.json()
    return user


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    signed_in = client.post("/auth/login", json={"username": username, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    pair: dict[str, Any] = signed_in.json()
    return pair


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_register_then_verify_from_the_mailed_link(
    shared_app: Any, shared_smtp: SmtpServer
) -> None:
    app, smtp = shared_app, shared_smtp
    with httpx.Client(base_url=app.base_url, timeout=10) as client:
        user = register(client, "alice", "alice@example.com")
        assert user["email_verified"] is False
        mail = wait_mail(smtp, "alice@example.com", "Confirm your email")
        assert_sent_securely(mail)
        token = link_token(mail, app.base_url, "verify-email")

        verified = client.post("/auth/email/verify", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert verified.json()["email_verified"] is True
        assert verified.json()["email"] == "alice@example.com"
        me = client.get("/auth/me", headers=bearer(login(client, "alice")))
        assert me.json()["email_verified"] is True

        again = client.post("/auth/email/verify", json={"token": token})
        assert again.status_code == 400
        assert again.json()["code"] == "invalid_token"


def test_forgot_reset_kills_old_sessions_and_sends_a_notice(
    shared_app: Any, shared_smtp: SmtpServer
) -> None:
    app, smtp = shared_app, shared_smtp
    with httpx.Client(base_url=app.base_url, timeout=10) as client:
        register(client, "bob", "bob@example.com")
        wait_mail(smtp, "bob@example.com", "Confirm your email")
        sessions = [login(client, "bob"), login(client, "bob")]
        before = len(smtp.received)

        known = client.post("/auth/password/forgot", json={"email": "bob@example.com"})
        unknown = client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 202
        assert known.content == unknown.content

        mail = wait_mail(smtp, "bob@example.com", "Reset your", after=before)
        assert_sent_securely(mail)
        token = link_token(mail, app.base_url, "reset-password")

        weak = client.post("/auth/password/reset", json={"token": token, "new_password": "short"})
        assert weak.status_code == 422
        assert weak.json()["code"] == "weak_password"
        assert weak.json()["errors"]

        reset = client.post(
            "/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert reset.status_code == 204, reset.text
        for pair in sessions:
            dead = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            assert dead.status_code == 401, dead.text
        refused = client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
        assert refused.status_code == 401
        login(client, "bob", NEW_PASSWORD)

        notice = wait_mail(smtp, "bob@example.com", "password was changed", after=before)
        assert "reset-password#token=" not in plain_body(notice.message)
        replay = client.post(
            "/auth/password/reset", json={"token": token, "new_password": "another " + PASSWORD}
        )
        assert replay.status_code == 400
        assert replay.json()["code"] == "invalid_token"
        assert not [m for m in smtp.received if m.rcpt_tos == ["nobody@example.com"]]


def test_email_change_confirms_at_the_new_address_and_tells_the_old(
    shared_app: Any, shared_smtp: SmtpServer
) -> None:
    app, smtp = shared_app, shared_smtp
    with httpx.Client(base_url=app.base_url, timeout=10) as client:
        register(client, "carol", "carol@example.com")
        wait_mail(smtp, "carol@example.com", "Confirm your email")
        pair = login(client, "carol")
        before = len(smtp.received)

        wrong = client.post(
            "/auth/email/change",
            json={"password": "not the password", "new_email": "carol@new.example"},
            headers=bearer(pair),
        )
        assert wrong.status_code == 401
        asked = client.post(
            "/auth/email/change",
            json={"password": PASSWORD, "new_email": "carol@new.example"},
            headers=bearer(pair),
        )
        assert asked.status_code == 202, asked.text

        confirm = wait_mail(smtp, "carol@new.example", "new email address", after=before)
        notice = wait_mail(smtp, "carol@example.com", "change", after=before)
        assert_sent_securely(confirm)
        assert_sent_securely(notice)
        assert "c***@new.example" in plain_body(notice.message)
        assert "#token=" not in plain_body(notice.message)
        token = link_token(confirm, app.base_url, "confirm-email")

        still_old = client.get("/auth/me", headers=bearer(pair)).json()
        assert still_old["email"] == "carol@example.com"
        changed = client.post("/auth/email/change/confirm", json={"token": token})
        assert changed.status_code == 200, changed.text
        assert changed.json()["email"] == "carol@new.example"
        assert changed.json()["email_verified"] is True
        login(client, "carol@new.example")


def metric(base_url: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in httpx.get(f"{base_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def system_log_lines(instance: Path) -> list[dict[str, Any]]:
    path = instance / "system.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_smtp_down_still_answers_202_and_logs_and_counts_the_failure(
    start_server: Callable[..., Any], start_smtp: StartSmtp
) -> None:
    """Its own SMTP server (this test stops it) and app."""
    smtp = start_smtp("starttls", credentials=(SMTP_USER, SMTP_PASSWORD))
    app = start_server(mail_url=mail_url(smtp), mail_from=SENDER, metrics="public")
    with httpx.Client(base_url=app.base_url, timeout=10) as client:
        register(client, "dave", "dave@example.com")
        wait_mail(smtp, "dave@example.com", "Confirm your email")
        failures_before = metric(app.base_url, "authkit_mail_failures_total", kind="password_reset")
        smtp.stop()

        began = time.monotonic()
        forgot = client.post("/auth/password/forgot", json={"email": "dave@example.com"})
        assert forgot.status_code == 202, forgot.text
        assert time.monotonic() - began < 2, "the request never waits for the mail server"

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            failures = metric(app.base_url, "authkit_mail_failures_total", kind="password_reset")
            if failures > failures_before:
                break
            time.sleep(0.25)
        else:
            raise AssertionError("authkit_mail_failures_total did not count the failure")

        lines = system_log_lines(app.instance)
        failed = [line for line in lines if "mail password_reset failed" in json.dumps(line)]
        assert failed, "the failure is in the system log"
        text = json.dumps(failed)
        assert "could not be reached" in text
        assert "dave" not in text, "no address in the log"
        assert "#token=" not in text, "no link in the log"
        assert SMTP_PASSWORD not in json.dumps(lines), "never the SMTP password"

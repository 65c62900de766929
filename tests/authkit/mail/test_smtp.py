"""SmtpMailer against a real SMTP server (aiosmtpd) on a free loopback port.

Plain, STARTTLS and implicit TLS with a certificate from a CA made in the test
(trustme), AUTH, a timeout, refusals, and a server that is down (retried, then a
MailDeliveryError). No error ever shows the password or the recipient.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from authkit.errors import MailDeliveryError
from authkit.mail import MailMessage, SmtpMailer, open_mailer

if TYPE_CHECKING:  # the fixture's types; pytest provides the fixture itself
    from tests.conftest import SmtpServer, StartSmtp

SENDER = "Flight App <no-reply@flights.example>"


def message(to: str = "alice@example.com") -> MailMessage:
    return MailMessage(
        to=to,
        subject="Reset your password",
        text="Open https://flights.example/reset-password#token=s3cr3t\n",
        html='<a href="https://flights.example/reset-password#token=s3cr3t">reset</a>',
        kind="password_reset",
    )


def counting_retry(attempts: int) -> tuple[Callable[[Callable[[], None]], None], list[Exception]]:
    """A stand-in for the app's policy: retries transient MailDeliveryErrors."""
    seen: list[Exception] = []

    def retry(attempt: Callable[[], None]) -> None:
        for number in range(1, attempts + 1):
            try:
                attempt()
                return
            except MailDeliveryError as error:
                seen.append(error)
                if not error.transient or number == attempts:
                    raise

    return retry, seen


def mailer_for(server: SmtpServer, **options: object) -> SmtpMailer:
    security = {"plain": "none", "starttls": "starttls", "tls": "tls"}[server.security]
    return SmtpMailer(
        server.host,
        server.port,
        sender=SENDER,
        security=security,  # type: ignore[arg-type]
        ssl_context=server.client_context,
        timeout=5,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("security", ["plain", "starttls", "tls"])
def test_delivers_over_each_transport(start_smtp: StartSmtp, security: str) -> None:
    server = start_smtp(security)
    mailer_for(server).send(message())
    [received] = server.wait_for(1)
    assert received.mail_from == "no-reply@flights.example"
    assert received.rcpt_tos == ["alice@example.com"]
    assert received.tls == (security != "plain")
    assert received.message["Subject"] == "Reset your password"
    assert received.message.get_content_type() == "multipart/alternative"
    body = received.message.get_body(("plain",))
    assert body is not None
    assert "token=s3cr3t" in body.get_content()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_authenticates_over_tls(start_smtp: StartSmtp, security: str) -> None:
    server = start_smtp(security, credentials=("mailer", "pa55:w@rd"))
    mailer_for(server, username="mailer", password="pa55:w@rd").send(message())
    [received] = server.wait_for(1)
    assert received.authenticated
    assert received.tls


def test_authenticates_through_a_url_with_a_cafile(start_smtp: StartSmtp) -> None:
    """The app's way in: smtp://user:pass@host:port?starttls=1&cafile=... (percent-encoded)."""
    server = start_smtp("starttls", credentials=("mailer", "pa55:w@rd"))
    url = f"smtp://mailer:pa55%3Aw%40rd@127.0.0.1:{server.port}?starttls=1&cafile={server.ca_file}"
    open_mailer(url, sender=SENDER).send(message())
    assert server.wait_for(1)[0].authenticated


def test_wrong_password_is_a_permanent_error_without_the_password(start_smtp: StartSmtp) -> None:
    server = start_smtp("starttls", credentials=("mailer", "right-password"))
    retry, seen = counting_retry(3)
    mailer = mailer_for(server, username="mailer", password="wrong-PASSWORD", retry=retry)
    with pytest.raises(MailDeliveryError, match="refused the credentials") as raised:
        mailer.send(message())
    assert not raised.value.transient
    assert len(seen) == 1, "a refusal is not retried"
    assert_safe(raised.value, "wrong-PASSWORD")
    assert server.received == []


def test_untrusted_certificate_is_refused(start_smtp: StartSmtp) -> None:
    """Without the test CA the system store does not know the certificate: no send."""
    server = start_smtp("starttls")
    mailer = SmtpMailer(server.host, server.port, sender=SENDER, security="starttls", timeout=5)
    with pytest.raises(MailDeliveryError, match="could not be verified") as raised:
        mailer.send(message())
    assert not raised.value.transient
    assert server.received == []


def test_implicit_tls_certificate_must_match_the_host(start_smtp: StartSmtp) -> None:
    """The certificate names 127.0.0.1 and localhost; another name for the host fails."""
    server = start_smtp("tls")
    context = server.client_context
    mailer = SmtpMailer(
        "127.0.0.2", server.port, sender=SENDER, security="tls", ssl_context=context, timeout=2
    )
    with pytest.raises(MailDeliveryError):
        mailer.send(message())


def test_starttls_required_but_not_offered(start_smtp: StartSmtp) -> None:
    """A server without STARTTLS: the mailer refuses to go on in clear text."""
    server = start_smtp("plain")
    mailer = SmtpMailer(
        server.host,
        server.port,
        sender=SENDER,
        security="starttls",
        ssl_context=server.client_context,
        timeout=5,
    )
    with pytest.raises(MailDeliveryError, match="does not offer STARTTLS") as raised:
        mailer.send(message())
    assert not raised.value.transient
    assert server.received == []


def test_server_down_is_retried_then_fails(start_smtp: StartSmtp) -> None:
    server = start_smtp("starttls")
    server.stop()
    retry, seen = counting_retry(3)
    with pytest.raises(MailDeliveryError, match="could not be reached") as raised:
        mailer_for(server, retry=retry).send(message())
    assert raised.value.transient
    assert len(seen) == 3
    assert_safe(raised.value)


def test_without_a_retry_policy_one_attempt(start_smtp: StartSmtp) -> None:
    server = start_smtp("plain")
    server.stop()
    with pytest.raises(MailDeliveryError, match="could not be reached"):
        mailer_for(server).send(message())


def test_a_policy_that_raises_its_own_error_is_reported_as_ours(start_smtp: StartSmtp) -> None:
    """The app's policy translates to its own exception class; the mailer maps it back."""
    server = start_smtp("plain")
    server.stop()

    class PolicyGaveUp(Exception):
        pass

    def retry(attempt: Callable[[], None]) -> None:
        try:
            attempt()
        except MailDeliveryError as error:
            raise PolicyGaveUp("transient") from error

    with pytest.raises(MailDeliveryError, match="could not be reached") as raised:
        mailer_for(server, retry=retry).send(message())
    assert raised.value.transient
    assert isinstance(raised.value.__cause__, PolicyGaveUp)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (a hung mail server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port: int = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_timeout_bounds_a_hung_server(silent_server: int) -> None:
    retry, seen = counting_retry(2)
    mailer = SmtpMailer("127.0.0.1", silent_server, sender=SENDER, security="none", timeout=0.3)
    mailer_retrying = SmtpMailer(
        "127.0.0.1", silent_server, sender=SENDER, security="none", timeout=0.3, retry=retry
    )
    began = time.monotonic()
    with pytest.raises(MailDeliveryError) as raised:
        mailer.send(message())
    assert time.monotonic() - began < 3
    assert raised.value.transient
    with pytest.raises(MailDeliveryError):
        mailer_retrying.send(message())
    assert len(seen) == 2


@pytest.mark.parametrize(("code", "transient"), [(450, True), (550, False)])
def test_refused_recipient(start_smtp: StartSmtp, code: int, transient: bool) -> None:
    """4xx is worth retrying, 5xx is not; the reply (with the address) is not repeated."""
    server = start_smtp("plain")
    server.recorder.refuse_recipients = code
    retry, seen = counting_retry(3)
    with pytest.raises(MailDeliveryError, match=f"refused the recipient \\({code}\\)") as raised:
        mailer_for(server, retry=retry).send(message("alice@example.com"))
    assert raised.value.transient is transient
    assert len(seen) == (3 if transient else 1)
    assert_safe(raised.value)


def assert_safe(error: MailDeliveryError, *secrets: str) -> None:
    for text in (str(error), repr(error), *(str(v) for v in error.extra.values())):
        assert "alice" not in text
        assert "s3cr3t" not in text
        for secret in secrets:
            assert secret not in text

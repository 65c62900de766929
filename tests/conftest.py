"""Shared fixtures: real PostgreSQL and Redis when their URLs are set, SQLite always.

``AUTHKIT_TEST_POSTGRES_URL`` and ``AUTHKIT_TEST_REDIS_URL`` name the servers; CI
sets both so those tests run there, and a laptop without them skips with a reason.
Each PostgreSQL test run gets a fresh database of its own, dropped afterwards.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine

from authkit.storage import create_engine, create_schema
from authkit.storage.testing import psycopg_url, temporary_postgres_database

POSTGRES_ENV = "AUTHKIT_TEST_POSTGRES_URL"
REDIS_ENV = "AUTHKIT_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    return psycopg_url(url)


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database, dropped after the test."""
    with temporary_postgres_database(postgres_server_url, prefix="authkit_test") as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: no Redis server to test against")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'authkit.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'authkit.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database with authkit's tables created."""
    eng = create_engine(database_url)
    create_schema(eng)
    yield eng
    eng.dispose()


# -- a real SMTP server (aiosmtpd) on a free loopback port, for the mail tests --------


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server got it, with how the session was secured."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool


@dataclass
class _Recorder:
    received: list[ReceivedMail] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    refuse_recipients: int | None = None
    """An SMTP code (450, 550) to refuse every recipient with, or None to accept."""

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_recipients is not None:
            return f"{self.refuse_recipients} <{address}> refused by the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.arrived:
            self.received.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=parsed,
                    # STARTTLS sets session.ssl; implicit TLS shows on the transport.
                    tls=session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None,
                    authenticated=bool(session.authenticated),
                )
            )
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """An aiosmtpd server the test controls: ``wait_for(n)`` messages, ``stop()`` it."""

    host: str
    port: int
    security: Literal["plain", "starttls", "tls"]
    client_context: ssl.SSLContext
    """Trusts the test CA: what a client passes to verify this server."""
    ca_file: Path
    """The test CA as a PEM file (for a client in another process)."""
    controller: Controller
    recorder: _Recorder

    @property
    def received(self) -> list[ReceivedMail]:
        with self.recorder.arrived:
            return list(self.recorder.received)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[ReceivedMail]:
        """The first ``count`` messages, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        with self.recorder.arrived:
            while len(self.recorder.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} message(s), got {len(self.recorder.received)}"
                    )
                self.recorder.arrived.wait(remaining)
            return list(self.recorder.received)

    def stop(self) -> None:
        if getattr(self.controller, "_thread", None) is not None:
            self.controller.stop()


StartSmtp = Callable[..., SmtpServer]


def loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    """A throw-away certificate authority (made in the test) and its PEM file."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("smtp-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


class _SmtpServers:
    """SMTP servers started for one test or one session, all stopped by ``stop_all``.

    The server certificate (for 127.0.0.1 and localhost) is issued by the test CA;
    with ``credentials`` the server checks AUTH against them (and requires it with
    STARTTLS).
    """

    def __init__(self, ca: trustme.CA, ca_file: Path) -> None:
        self.ca = ca
        self.ca_file = ca_file
        self.started: list[SmtpServer] = []

    def start(
        self,
        security: Literal["plain", "starttls", "tls"] = "plain",
        *,
        credentials: tuple[str, str] | None = None,
    ) -> SmtpServer:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        client_context = ssl.create_default_context()
        self.ca.configure_trust(client_context)
        recorder = _Recorder()
        options: dict[str, Any] = {}
        if security == "starttls":
            options.update(tls_context=server_context, require_starttls=True)
        elif security == "tls":
            options.update(ssl_context=server_context)
        if credentials is not None:

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and (data.login.decode(), data.password.decode()) == credentials
                )
                return AuthResult(success=ok, handled=False)

            # aiosmtpd only knows about STARTTLS (implicit TLS is TLS all along), and
            # warns when AUTH is required without it: require AUTH with STARTTLS only.
            options.update(
                authenticator=authenticate,
                auth_required=security == "starttls",
                auth_require_tls=security == "starttls",
            )
        port = loopback_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
        controller.start()
        server = SmtpServer(
            host="127.0.0.1",
            port=port,
            security=security,
            client_context=client_context,
            ca_file=self.ca_file,
            controller=controller,
            recorder=recorder,
        )
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def start_smtp(smtp_ca: tuple[trustme.CA, Path]) -> Iterator[StartSmtp]:
    """Factory: ``start_smtp(security="plain"|"starttls"|"tls", credentials=(user, pw))``;
    every server is stopped after the test."""
    servers = _SmtpServers(*smtp_ca)
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="session")
def start_shared_smtp(smtp_ca: tuple[trustme.CA, Path]) -> Iterator[StartSmtp]:
    """Like ``start_smtp`` for servers that outlive one test (module-scoped fixtures)."""
    servers = _SmtpServers(*smtp_ca)
    yield servers.start
    servers.stop_all()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()

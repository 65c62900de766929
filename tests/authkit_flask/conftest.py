"""Fixtures for the adapter's suites: a plain Flask app around ``AuthKit(app, build(...))``.

No reference app here: every app is ``Flask("adapter_test")`` with the extension
wired to a core made by ``authkit.build`` on in-memory stores, with cheap argon2,
a key ring file generated once per session, and its audit log (and, with the
``system_log`` fixture, a JSON system log) in ``tmp_path / "logs"``. Whatever the
adapter does has to work for any Flask app, so these suites run with
``flight_app`` not even installed (``nox -s adapter_without_app``).

``make_app(config=None, *, stores=..., rate_limits=..., clock=None, **options)``
builds another app: ``config`` replaces the core config (start from the
``config`` fixture with ``dataclasses.replace``), ``stores`` a store set or URL,
``options`` go to ``AuthKit`` (``trusted_proxies``, ``max_content_length``,
``live_updates``, ...). Every app of one test shares the ``stores`` fixture, so
two apps stand for two workers on one database (each with its own in-process
rate limits, as with ``memory://``).

Memory stores are the default. A test about the SQL stores parametrizes the
``stores`` fixture indirectly with ``"sqlite"`` or ``"postgres"``: the stores are
then opened with ``open_stores(url, create_tables=True)`` on an empty database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import AuditConfig, AuditLogger, Authkit, AuthkitConfig, build, open_stores
from authkit.audit import RotatingJsonlHandler
from authkit.clock import Clock
from authkit.keys import KeyRing
from authkit.live import FileEventSource
from authkit.passwords import Argon2Parameters
from authkit.storage import MEMORY_URL, Stores
from authkit.throttle import LoginThrottle
from authkit_flask import AuthKit, LiveUpdates, TraceIdFilter, current_trace_id, get_state

SERVICE_NAME = "adapter-test"
SECRET_KEY = "adapter-test-secret-key-0123456789"
PSEUDONYM_KEY = "adapter-test-pseudonym-key-0123456789"
PASSWORD = "violet-harbour-7-lanterns"
"""A password every preset policy accepts (long, varied, not common, no context word)."""

CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)

MakeApp = Callable[..., Flask]


@pytest.fixture(scope="session")
def keyring_jwk_set() -> str:
    """One generated key ring for the session: RSA key generation is the slow part."""
    ring = KeyRing.generate(now=datetime.now(UTC))
    return json.dumps(ring.to_jwk_set())


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def audit_path(log_dir: Path) -> Path:
    """The audit log every app of the test writes (``read_log("auth.jsonl")``)."""
    return log_dir / "auth.jsonl"


@pytest.fixture
def keyring_path(tmp_path: Path, keyring_jwk_set: str) -> Path:
    """The session's key ring in a file of this test: every app of the test shares it."""
    path = tmp_path / "keyring.json"
    path.write_text(keyring_jwk_set, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def config() -> AuthkitConfig:
    """The core config of the default app: the core's defaults, with cheap argon2."""
    return AuthkitConfig(
        service_name=SERVICE_NAME,
        secret_key=SECRET_KEY,
        argon2=CHEAP_ARGON2,
        audit=AuditConfig(pseudonym_key=PSEUDONYM_KEY),
    )


@pytest.fixture
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """The stores every app of the test shares: in memory unless parametrized indirectly.

    ``"sqlite"`` or ``"postgres"`` open the SQL stores on an empty database of that
    kind, tables created; ``"memory"`` (the default) the in-memory ones.
    """
    backend = getattr(request, "param", "memory")
    if backend == "memory":
        url = MEMORY_URL
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'authkit.db'}"
    else:
        assert backend == "postgres", backend
        url = request.getfixturevalue("postgres_url")
    opened = open_stores(url, create_tables=url != MEMORY_URL)
    yield opened
    opened.close()  # before the PostgreSQL database is dropped


@pytest.fixture
def make_app(
    config: AuthkitConfig,
    stores: Stores,
    audit_path: Path,
    log_dir: Path,
    keyring_path: Path,
) -> Iterator[MakeApp]:
    """Build an app; its live updates are shut down and its core closed after the test.

    Unless told otherwise the app reads ``auth`` and ``system`` logs at
    ``/admin/logs`` and serves live updates (following the audit log) at
    ``/admin/ws``, like a fully wired app.
    """
    default_config, default_stores = config, stores
    built: list[Flask] = []

    def make(
        config: AuthkitConfig | None = None,
        *,
        stores: Stores | str | None = None,
        rate_limits: LoginThrottle | str = MEMORY_URL,
        clock: Clock | None = None,
        **options: Any,
    ) -> Flask:
        kit = build(
            config or default_config,
            audit=audit_path,
            stores=default_stores if stores is None else stores,
            rate_limits=rate_limits,
            keys=keyring_path,
            clock=clock,
            trace_id_provider=current_trace_id,
        )
        options.setdefault("log_sources", {"auth": audit_path, "system": log_dir / "system.jsonl"})
        if "live_updates" not in options:
            options["live_updates"] = LiveUpdates(FileEventSource(audit_path))
        app = Flask("adapter_test")
        app.config["TESTING"] = True
        built.append(app)
        try:
            AuthKit(app, kit, **options)
        except BaseException:
            kit.close()
            built.pop()
            raise
        return app

    yield make
    for app in built:
        state = get_state(app)
        if state.live is not None:
            state.live.shutdown()
        state.kit.close()


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def kit(app: Flask) -> Authkit:
    """The core the default app was built with."""
    return get_state(app).kit


@pytest.fixture
def audit(kit: Authkit) -> AuditLogger:
    """The default app's audit logger (a JSONL file, ``audit_path``)."""
    assert isinstance(kit.audit, AuditLogger)
    return kit.audit


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def system_log(log_dir: Path) -> Iterator[Path]:
    """Send every log record at INFO and above to ``system.jsonl``, as an app would.

    The core's ``RotatingJsonlHandler`` (its one JSONL format) with the adapter's
    ``TraceIdFilter``; removed, and the root level restored, after the test.
    """
    path = log_dir / "system.jsonl"
    handler = RotatingJsonlHandler(path)
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


@pytest.fixture
def password() -> str:
    """The password the helpers register accounts with."""
    return PASSWORD


@pytest.fixture
def register(client: FlaskClient) -> Callable[..., TestResponse]:
    """``register(username="alice", *, email=None, password=PASSWORD, client=None)``.

    ``email`` defaults to ``<username>@example.com``.
    """
    default = client

    def call(
        username: str = "alice",
        *,
        email: str | None = None,
        password: str = PASSWORD,
        client: FlaskClient | None = None,
    ) -> TestResponse:
        body = {
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
        }
        return (client or default).post("/auth/register", json=body)

    return call


@pytest.fixture
def login(client: FlaskClient) -> Callable[..., TestResponse]:
    """``login(username="alice", password=PASSWORD, *, client=None, headers=None)``."""
    default = client

    def call(
        username: str = "alice",
        password: str = PASSWORD,
        *,
        client: FlaskClient | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        body = {"username": username, "password": password}
        return (client or default).post("/auth/login", json=body, headers=headers or {})

    return call


@pytest.fixture
def signed_in(
    register: Callable[..., TestResponse], login: Callable[..., TestResponse]
) -> Callable[..., dict[str, Any]]:
    """``signed_in(username="alice")``: register, sign in, return the token pair and ``user``."""

    def call(username: str = "alice") -> dict[str, Any]:
        created = register(username)
        assert created.status_code == 201, created.get_json()
        response = login(username)
        assert response.status_code == 200, response.get_json()
        pair: dict[str, Any] = response.get_json()
        pair["user"] = created.get_json()
        return pair

    return call


@pytest.fixture
def set_active(kit: Authkit) -> Callable[[str, bool], None]:
    """Activate or deactivate a user straight in the store, as an admin tool would."""

    def call(user_id: str, active: bool) -> None:
        assert kit.stores.users.set_active(user_id, active) is not None, user_id

    return call


@pytest.fixture
def set_roles(kit: Authkit) -> Callable[[str, list[str]], None]:
    """Replace a user's roles straight in the store (``set_roles(user_id, ["admin"])``)."""

    def call(user_id: str, roles: list[str]) -> None:
        assert kit.stores.users.set_roles(user_id, roles) is not None, user_id

    return call


@pytest.fixture
def read_log(log_dir: Path) -> Callable[[str], list[dict[str, Any]]]:
    """``read_log("auth.jsonl")``: every line of a log in the log folder, parsed."""

    def call(name: str) -> list[dict[str, Any]]:
        path = log_dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]

    return call


PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code", "trace_id"}


def _expect_problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["type"] == f"urn:authkit:error:{code}"
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert isinstance(body["trace_id"], str)
    assert body["trace_id"]
    return body


@pytest.fixture
def expect_problem() -> Callable[[TestResponse, int, str], dict[str, Any]]:
    """``expect_problem(response, status, code)``: check the RFC 9457 shape, return the body."""
    return _expect_problem

"""Fixtures for the reference app: a migrated database, the app, a client, helpers.

Every app is built through ``create_app`` with ``APP_ENV=test`` (cheap argon2 from
``config/test.toml``), its instance folder in ``tmp_path`` and its database from
the shared ``database_url`` fixture (SQLite always, PostgreSQL when
``AUTHKIT_TEST_POSTGRES_URL`` is set), migrated with Alembic as in production.

``configure_logging`` installs its root handlers once per process; the autouse
``isolated_logging`` fixture removes them after each test, so the next test's
system log goes to its own instance folder and no handler keeps a closed stream.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from authkit.keys import KeyRing
from authkit.storage import users as users_table
from flight_app import migrate
from flight_app.app import create_app, get_components
from flight_app.components import Components

PASSWORD = "violet-harbour-7-lanterns"
"""A password every preset policy accepts (long, varied, not common, no context word)."""

_HANDLER_MARKER = "_flight_app_handler"  # set by flight_app.logging_setup


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """Remove (and close) the root handlers ``configure_logging`` installed in a test."""
    root = logging.getLogger()
    sqlalchemy_logger = logging.getLogger("sqlalchemy")
    root_level, sqlalchemy_level = root.level, sqlalchemy_logger.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARKER, False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(root_level)
    sqlalchemy_logger.setLevel(sqlalchemy_level)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``APP_ENV=test`` and no ``FLIGHT_APP_*`` variable leaking in from the machine."""
    for key in list(os.environ):
        if key.upper().startswith("FLIGHT_APP_") or key.upper() == "APP_ENV":
            monkeypatch.delenv(key)
    monkeypatch.setenv("APP_ENV", "test")


@pytest.fixture
def migrated_database_url(database_url: str) -> str:
    """The shared empty database, upgraded to the newest Alembic revision."""
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture(scope="session")
def keyring_jwk_set() -> str:
    """One generated key ring for the session: RSA key generation is the slow part of an app."""
    ring = KeyRing.generate(now=datetime.now(UTC))
    return json.dumps(ring.to_jwk_set())


@pytest.fixture
def provision_keyring(instance_path: Path, keyring_jwk_set: str) -> Callable[[], Path]:
    """Write the session's key ring into the instance folder unless one is there already."""

    def call() -> Path:
        path = instance_path / "keyring.json"
        if not path.exists():
            instance_path.mkdir(parents=True, exist_ok=True)
            path.write_text(keyring_jwk_set, encoding="utf-8")
            path.chmod(0o600)
        return path

    return call


@pytest.fixture
def make_app(
    app_env: None,
    instance_path: Path,
    migrated_database_url: str,
    provision_keyring: Callable[[], Path],
) -> Iterator[Callable[..., Flask]]:
    """Build an app with ``create_app(**overrides)``; its components are closed after."""
    built: list[Components] = []

    def make(**overrides: Any) -> Flask:
        provision_keyring()
        options: dict[str, Any] = {
            "instance_path": instance_path,
            "database_url": migrated_database_url,
            **overrides,
        }
        app = create_app(**options)
        app.config["TESTING"] = True
        built.append(get_components(app))
        return app

    yield make
    for components in built:
        components.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def components(app: Flask) -> Components:
    return get_components(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
def set_active(components: Components) -> Callable[[str, bool], None]:
    """Activate or deactivate a user straight in the database, as an admin tool would."""

    def call(user_id: str, active: bool) -> None:
        with components.engine.begin() as conn:
            conn.execute(
                update(users_table).where(users_table.c.id == user_id).values(is_active=active)
            )

    return call


@pytest.fixture
def read_log(instance_path: Path) -> Callable[[str], list[dict[str, Any]]]:
    """``read_log("auth.jsonl")``: every line of a log in the instance folder, parsed."""

    def call(name: str) -> list[dict[str, Any]]:
        path = instance_path / name
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

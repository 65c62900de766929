"""Shared fixtures: real PostgreSQL and Redis when their URLs are set, SQLite always.

``AUTHKIT_TEST_POSTGRES_URL`` and ``AUTHKIT_TEST_REDIS_URL`` name the servers; CI
sets both so those tests run there, and a laptop without them skips with a reason.
Each PostgreSQL test run gets a fresh database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
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

"""A throwaway PostgreSQL database, for test suites, migration checks and benchmarks.

Each caller gets a brand-new, empty database on the given server and it is dropped
(connections forced closed) afterwards, so runs never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from authkit.storage.sql._engine import create_engine


def psycopg_url(url: str) -> str:
    """``postgresql://`` (libpq style) to SQLAlchemy's psycopg 3 dialect URL."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@contextmanager
def temporary_postgres_database(server_url: str, *, prefix: str = "authkit_tmp") -> Iterator[str]:
    """Yield the URL of a new empty database on ``server_url``; drop it on exit."""
    server_url = psycopg_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


__all__ = ["psycopg_url", "temporary_postgres_database"]

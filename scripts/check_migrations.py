"""The migration gate, run by ``nox -s migrations``.

For an empty SQLite database, and an empty PostgreSQL database when
``AUTHKIT_TEST_POSTGRES_URL`` is set (CI sets it, so there it always runs):
``alembic upgrade head`` builds the whole schema, ``alembic check`` finds no drift,
``alembic downgrade base`` leaves no table behind.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from flight_app.migrate import round_trip


def _sqlite() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'migrations.db'}"
        round_trip(url)
        print(f"migrations: SQLite round trip ok ({url})")


def _postgres(server_url: str) -> None:
    if server_url.startswith(("postgresql://", "postgres://")):
        server_url = "postgresql+psycopg://" + server_url.split("://", 1)[1]
    name = f"authkit_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        round_trip(url)
        print(f"migrations: PostgreSQL round trip ok (database {name})")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    _sqlite()
    server = os.environ.get("AUTHKIT_TEST_POSTGRES_URL")
    if server:
        _postgres(server)
    elif os.environ.get("CI"):
        print("migrations: AUTHKIT_TEST_POSTGRES_URL must be set in CI", file=sys.stderr)
        return 1
    else:
        print("migrations: PostgreSQL skipped (AUTHKIT_TEST_POSTGRES_URL is not set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

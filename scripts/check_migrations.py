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
from pathlib import Path

from sqlalchemy.engine import make_url

from authkit.storage.testing import temporary_postgres_database
from flight_app.migrate import round_trip


def _sqlite() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'migrations.db'}"
        round_trip(url)
        print(f"migrations: SQLite round trip ok ({url})")


def _postgres(server_url: str) -> None:
    with temporary_postgres_database(server_url, prefix="authkit_migrations") as url:
        round_trip(url)
        print(f"migrations: PostgreSQL round trip ok ({make_url(url).database})")


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

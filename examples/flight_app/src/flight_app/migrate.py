"""Running Alembic from the app: ``flight-app migrate`` and the start of ``serve``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from authkit.storage import metadata


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``, with the app's migrations."""
    config = Config()
    config.set_main_option("script_location", "flight_app:migrations")
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal '%' in a URL (an encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (``alembic upgrade``)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (``alembic downgrade``)."""
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the tables and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(database_url))


def remaining_tables(database_url: str) -> list[str]:
    """Tables other than Alembic's own bookkeeping table (empty after ``downgrade base``)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        names = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    return sorted(n for n in names if n != "alembic_version")


def round_trip(database_url: str) -> None:
    """The migration gate: upgrade an empty database, check for drift, downgrade to empty.

    Raises ``RuntimeError`` naming what went wrong.
    """
    if remaining_tables(database_url):
        raise RuntimeError("The database is not empty; the round trip needs an empty one.")
    upgrade(database_url)
    missing = sorted(set(metadata.tables) - set(remaining_tables(database_url)))
    if missing:
        raise RuntimeError(f"upgrade head did not create: {', '.join(missing)}")
    check(database_url)
    downgrade(database_url)
    left = remaining_tables(database_url)
    if left:
        raise RuntimeError(f"downgrade base left tables behind: {', '.join(left)}")


__all__ = ["alembic_config", "check", "downgrade", "remaining_tables", "round_trip", "upgrade"]

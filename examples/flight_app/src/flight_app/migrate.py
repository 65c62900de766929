"""Running Alembic from the app: ``flight-app migrate`` and the start of ``serve``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from authkit.errors import ServiceUnavailable
from authkit.storage import create_engine as authkit_engine
from authkit.storage import metadata


def _first_line(exc: OperationalError) -> str:
    return str(exc.orig or exc).strip().splitlines()[0]


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url``, with the app's migrations."""
    config = Config()
    config.set_main_option("script_location", "flight_app:migrations")
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal '%' in a URL (an encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class NotMigrated(RuntimeError):
    """The database is not at the newest revision: the commands that use it refuse.

    Without this check they die on the first query with a driver traceback
    ("no such table: authkit_users") that does not tell the operator what to do.
    """


def revisions(database_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(current, heads)``: the database's Alembic revisions and the newest ones shipped.

    Through authkit's engine, so a SQLite file this creates is private (0600) like
    every other the app makes.
    """
    config = alembic_config(database_url)
    heads = tuple(sorted(ScriptDirectory.from_config(config).get_heads()))
    engine = authkit_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    finally:
        engine.dispose()
    return current, heads


def require_head(database_url: str) -> None:
    """Raise ``NotMigrated`` unless the database is at the newest revision.

    A database that cannot be reached raises it too, with the driver's first line
    (no URL, no parameters), rather than a traceback.
    """
    try:
        current, heads = revisions(database_url)
    except OperationalError as exc:
        raise NotMigrated(f"cannot reach the database: {_first_line(exc)}") from exc
    except ServiceUnavailable as exc:
        # authkit's engine turns a refused or lost PostgreSQL connection into this
        # (503 in the app); the driver's error it stands for is its cause.
        cause = exc.__cause__
        reason = _first_line(cause) if isinstance(cause, OperationalError) else str(exc)
        raise NotMigrated(f"cannot reach the database: {reason}") from exc
    if current == heads:
        return
    where = "has no schema yet" if not current else f"is at revision {', '.join(current)}"
    raise NotMigrated(
        f"the database {where}, not {', '.join(heads)} (the newest): "
        "run `flight-app migrate` first."
    )


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


__all__ = [
    "NotMigrated",
    "alembic_config",
    "check",
    "downgrade",
    "remaining_tables",
    "require_head",
    "revisions",
    "round_trip",
    "upgrade",
]

"""Running Alembic from the app: ``flight-app migrate`` and the start of ``serve``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "flight_app:migrations")
    config.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal '%' in a URL (an encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the tables and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(database_url))


__all__ = ["alembic_config", "check", "downgrade", "upgrade"]

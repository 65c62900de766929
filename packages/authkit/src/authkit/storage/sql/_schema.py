"""Creating authkit's tables directly, for tests and apps without migrations.

Apps with Alembic should migrate instead; this mirrors what the migrations build,
including the PostgreSQL extension the search indexes need.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from authkit.storage.sql._tables import metadata


def create_schema(engine: Engine) -> None:
    """Create authkit's tables directly, without migrations.

    On PostgreSQL also the ``pg_trgm`` extension the admin search uses.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    metadata.create_all(engine)


__all__ = ["create_schema"]

"""Engine creation with the connection settings authkit relies on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine


def create_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout.

    WAL lets readers proceed while one writer commits, and the busy timeout makes
    concurrent writers from several threads or gunicorn workers wait instead of
    failing with "database is locked".
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa_create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's implicit transactions break SAVEPOINT/BEGIN IMMEDIATE; take control.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
            # transaction cannot deadlock against another writer.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa_create_engine(url, **kwargs)


__all__ = ["create_engine"]

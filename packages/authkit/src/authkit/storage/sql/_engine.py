"""Engine creation with the connection settings authkit relies on."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, exc, make_url
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from authkit.errors import ServiceUnavailable

_READ_ONLY = "authkit_read_only"
_log = logging.getLogger("authkit.storage")

_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
"""SQLSTATE prefixes of a database that cannot serve now (PostgreSQL appendix A):
class 08 connection exception, class 53 insufficient resources (too many
connections, out of memory or disk), 57P operator intervention (an
administrator's shutdown, a crash restart, "the database system is starting up")."""

SQLITE_SYNCHRONOUS = "FULL"
"""The ``synchronous`` level of every SQLite connection: in WAL mode, an fsync of
the WAL at each commit, so a committed write survives a power loss. Only the
sign-in's transaction relaxes it, on WAL connections (see ``_sign_ins``)."""

SQLITE_WAL = "authkit_sqlite_wal"
"""Key of a pooled SQLite connection's ``info``: true when it runs in WAL mode."""

PING_AFTER_IDLE_SECONDS = 1.0
"""A pooled connection (not SQLite) is pinged on checkout when it sat idle longer
than this, or when a disconnect was seen since it was checked in; see
``_ping_when_idle``."""

_CHECKED_IN = "authkit_checked_in"
"""Key of a pooled connection's ``info``: (monotonic time, disconnect generation)
of its last check-in."""

DEFAULT_POSTGRES_CONNECT_TIMEOUT = 5
"""Seconds libpq waits to open a connection (``connect_timeout``), unless the URL
sets one: without it, a database host that drops packets hangs the request."""


def create_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine; SQLite gets WAL, foreign keys and a busy timeout.

    WAL lets readers proceed while one writer commits, and the busy timeout makes
    concurrent writers from several threads or gunicorn workers wait instead of
    failing with "database is locked".

    A server database (PostgreSQL) gets a ``connect_timeout`` and a ping on
    checkout for a pooled connection that sat idle over
    ``PING_AFTER_IDLE_SECONDS`` or predates a disconnect (``pool_pre_ping=True``
    pings every checkout instead); an unreachable server raises
    ``ServiceUnavailable``.
    """
    # Bound parameters (hashes, identifiers) never go into exception messages, which
    # end up in logs that admins can read.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa_create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
            # pysqlite's implicit transactions break SAVEPOINT/BEGIN IMMEDIATE; take control.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
                # WAL can be refused (some network file systems): then no commit relaxes.
                record.info[SQLITE_WAL] = bool(mode) and str(mode[0]).lower() == "wal"
            # Said, not inherited from the build: a commit waits for its WAL fsync.
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writes take the lock up front (BEGIN IMMEDIATE), so a read-then-write
            # transaction cannot fail on a lock upgrade; reads opened through
            # ``read_only`` stay deferred and run beside writers under WAL.
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A pooled connection that died with the server (a restart, a failover) is
    # found by a ping on checkout and replaced, instead of failing a request; the
    # ping is skipped for a connection that was in use a moment ago (see below).
    # ``pool_pre_ping=True`` from the caller pings every checkout, as SQLAlchemy does.
    ping_every_checkout = kwargs.setdefault("pool_pre_ping", False)
    if url.startswith("postgresql") and "connect_timeout" not in make_url(url).query:
        kwargs.setdefault("connect_args", {}).setdefault(
            "connect_timeout", DEFAULT_POSTGRES_CONNECT_TIMEOUT
        )
    engine = sa_create_engine(url, **kwargs)
    if not ping_every_checkout:
        _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    _unavailable_as_typed_error(engine)
    return engine


class _Disconnects:
    """How many disconnects an engine has seen.

    A connection checked in before the latest one may be dead too, however
    recently it was used.
    """

    def __init__(self) -> None:
        self.generation = 0


# By dialect: one per ``create_engine``, shared by the engine's option copies
# (``execution_options``) and kept across ``dispose``, which replaces the pool.
_disconnects: weakref.WeakKeyDictionary[Dialect, _Disconnects] = weakref.WeakKeyDictionary()


def note_disconnect(engine: Engine) -> None:
    """Make the next checkout of every pooled connection of ``engine`` ping first.

    Called where a disconnect is seen: the engine's ``handle_error`` hook and the
    raw DBAPI paths (``raise_if_unavailable``), which that hook never sees.
    """
    disconnects = _disconnects.get(engine.dialect)
    if disconnects is not None:
        disconnects.generation += 1


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that may have gone stale.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one round trip, a
    fifth of a refresh rotation's CPU on PostgreSQL (``bench_refresh_pg.py``),
    and most checkouts take a connection another request gave back a millisecond
    before. This pings (the dialect's own ``do_ping``) only a connection that sat
    idle longer than ``idle_seconds``, or that was checked in before a disconnect
    was seen on this engine; a dead one raises ``DisconnectionError``, on which
    the pool replaces it and checks out again (SQLAlchemy's documented custom
    pessimistic handling). What it gives up: after a server restart, the first
    statement on a connection used within the last second fails (503 from the
    adapter), unless a failed ping found the restart first; either bumps the
    generation, so every other pooled connection is pinged before its next use.
    A connection just opened is never pinged.
    """
    disconnects = _disconnects.setdefault(engine.dialect, _Disconnects())

    @event.listens_for(engine, "connect")
    def _opened(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Just opened: never pinged, whatever the generation says meanwhile. The
        # pool re-checks a replacement once; a failed ping there would end the
        # checkout with a bare InvalidRequestError (a 500), not a 503.
        record.info[_CHECKED_IN] = (time.monotonic(), None)

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if dbapi_connection is not None:
            record.info[_CHECKED_IN] = (time.monotonic(), disconnects.generation)

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        last = record.info.pop(_CHECKED_IN, None)
        if last is not None and (
            last[1] is None
            or (last[1] == disconnects.generation and time.monotonic() - last[0] <= idle_seconds)
        ):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            alive = False
            cause: Exception | None = error
        else:
            cause = None
        if not alive:
            # The first sign of a restart: the hot connections are dead too.
            note_disconnect(engine)
            raise exc.DisconnectionError("the pooled connection is gone") from cause


def _unavailable_as_typed_error(engine: Engine) -> None:
    """Raise ``ServiceUnavailable`` when the database server cannot be reached.

    A restart, a failover or a refused connection is the server's state, not a
    bug: callers get the core's typed error (an HTTP adapter answers 503) instead
    of a driver exception that would surface as a 500. Other errors (a constraint,
    a missing table) keep their SQLAlchemy type. The pool's own pre-ping is left
    alone: it handles a dead connection by reconnecting. Not for SQLite: a file
    that cannot be opened is a configuration error, and its driver error says why.
    """

    @event.listens_for(engine, "handle_error")
    def _translate(context: ExceptionContext) -> None:
        if context.is_disconnect:
            note_disconnect(engine)
        if not context.is_pre_ping and _is_unavailable(context):
            # The driver's class only: its message may name the host and user.
            _log.warning(
                "database unavailable",
                extra={"error": type(context.original_exception).__name__},
            )
            raise ServiceUnavailable("The database is unavailable.") from (
                context.sqlalchemy_exception or context.original_exception
            )


def raise_if_unavailable(
    engine: Engine,
    error: Exception,
    *,
    connected: bool,
    connection: Any = None,
    cursor: Any = None,
) -> None:
    """Raise ``ServiceUnavailable`` for a raw DBAPI ``error`` that means "cannot serve now".

    The same rule as the engine's ``handle_error`` hook above, for code that runs on
    a raw DBAPI connection (the hot path's compiled reads, ``_compiled``), which that
    hook never sees. ``connected`` is false when no connection could be opened at all;
    ``connection`` and ``cursor`` are the DBAPI objects the error came from.
    PostgreSQL only, like the hook; anything else returns and the caller raises as
    usual.
    """
    if engine.dialect.name != "postgresql":
        return
    dbapi_error = engine.dialect.loaded_dbapi.Error
    if not isinstance(error, dbapi_error):
        return
    sqlstate = getattr(error, "sqlstate", None)
    disconnected = connected and engine.dialect.is_disconnect(error, connection, cursor)
    if disconnected:
        note_disconnect(engine)
    if (
        not connected
        or disconnected
        or (isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES))
    ):
        _log.warning("database unavailable", extra={"error": type(error).__name__})
        raise ServiceUnavailable("The database is unavailable.") from error


def _is_unavailable(context: ExceptionContext) -> bool:
    """Whether a DBAPI error means "the database cannot serve now" (see above).

    A disconnect, a failure to connect at all (no connection existed yet), or a
    SQLSTATE of the connection, resources or operator-intervention classes.
    """
    if context.is_disconnect or context.connection is None:
        return True
    sqlstate = getattr(context.original_exception, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600), if it is absent.

    SQLite makes a new file with the process umask (0644 by default: every local
    user could read the password hashes), and gives its ``-wal`` and ``-shm``
    files the mode of the database file, so creating the file first is enough.
    An existing file keeps its mode: the operator chose it. In-memory and URI
    (``file:``) databases are left alone.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # kept as it is, or a missing folder SQLite will report as it always has
    with contextlib.suppress(FileExistsError):  # another process made it first
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        yield conn


__all__ = [
    "PING_AFTER_IDLE_SECONDS",
    "SQLITE_SYNCHRONOUS",
    "SQLITE_WAL",
    "create_engine",
    "note_disconnect",
    "private_sqlite_file",
    "read_only",
]

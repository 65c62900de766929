"""A sign-in's writes in one transaction: ``last_login_at`` and the new session's token.

Stamping the login and starting the refresh family in two transactions cost a
sign-in two commits; here they are one transaction with two statements (on
PostgreSQL one statement, the stamp in a ``WITH``, run in autocommit mode, so
the BEGIN and COMMIT round trips go too: one round trip, plus a ping when the
pooled connection sat idle, instead of five).

The statements are compiled once for the engine's dialect and run straight on
a pooled DBAPI connection, as ``_compiled.CompiledSelect`` runs the hot-path
reads: through ``Connection.execute`` SQLAlchemy spent more time building,
caching and wrapping two small statements than the database spent running them
(about 0.2 ms of a sign-in on SQLite, measured in ``benchmarks/bench_signin.py``).

**Durability on SQLite.** The engine keeps ``synchronous=FULL`` (an fsync of the
WAL at every commit). This transaction alone commits with ``synchronous=NORMAL``,
which skips that fsync (about 0.2 ms on a local disk): WAL mode then still never
corrupts the database, and an application crash loses nothing; only a power loss
or an OS crash can roll back the sign-ins committed since the WAL was last synced
(by any later FULL commit on the file, which syncs the frames before its own, or
by a checkpoint). What such a loss undoes is a session that was started and a
``last_login_at`` stamp (and an upgraded hash, which is upgraded again at the next
sign-in): its tokens stop working and the user signs in again. It never grants
anything, and every write that takes access away (sign-out, revocation, a
password change, a deactivation) still commits with FULL.

**Durability on PostgreSQL**, by the same reasoning: the sign-in's statement sets
``synchronous_commit`` to ``off`` for its own transaction (``set_config(...,
true)``, evaluated in the stamp's ``WHERE``), so its commit does not wait for the
WAL flush (about 1.5 ms of a 4 ms sign-in here). A crash of the database server
can then lose the sign-ins of its last fraction of a second (at most three times
``wal_writer_delay``); never corruption, never a revocation, which commit as
the server is configured. Replication that waits for standbys is skipped for
these commits too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert, Update, bindparam, insert, text, update
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError

from authkit.storage.sql._engine import SQLITE_SYNCHRONOUS, SQLITE_WAL, raise_if_unavailable
from authkit.storage.sql._tables import refresh_tokens, users
from authkit.storage.sql._tokens import token_row
from authkit.tokens._records import RefreshTokenRecord

# Bind names of their own: an INSERT reserves its columns' names (``user_id``).
_STAMP = (
    update(users)
    .where(users.c.id == bindparam("stamp_user"))
    .values(last_login_at=bindparam("stamp_at", type_=users.c.last_login_at.type))
)
_STAMP_AND_REHASH = _STAMP.values(
    password_hash=bindparam("stamp_hash", type_=users.c.password_hash.type)
)
_ADD_TOKEN = insert(refresh_tokens)


class _Statement:
    """One write statement compiled for a dialect, with its bind processors."""

    def __init__(self, dialect: Dialect, statement: Insert | Update) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._positional = names
        self._binds = [
            (name, bind.type.dialect_impl(dialect).bind_processor(dialect))
            for name, bind in compiled.binds.items()
        ]

    def arguments(self, params: dict[str, Any]) -> Any:
        """The DBAPI parameters of this statement, taken from ``params`` (a superset)."""
        bound = {
            name: value if process is None or value is None else process(value)
            for name, process in self._binds
            for value in (params[name],)
        }
        return bound if self._positional is None else tuple(bound[n] for n in self._positional)


def _writes(stamp: Update, dialect: Dialect) -> tuple[_Statement, ...]:
    """The statements of one sign-in: on PostgreSQL one round trip, elsewhere two.

    PostgreSQL runs a data-modifying ``WITH`` whether or not the statement reads
    it, in the same statement and snapshot: the stamp rides along the INSERT.
    """
    if dialect.name == "postgresql":
        # A volatile function in the WHERE of a data-modifying CTE runs with the
        # statement; ``true``: for this transaction only, so nothing leaks to the
        # pooled connection.
        relaxed = stamp.where(text("set_config('synchronous_commit', 'off', true) = 'off'"))
        return (_Statement(dialect, _ADD_TOKEN.add_cte(relaxed.cte("stamp"))),)
    return _Statement(dialect, stamp), _Statement(dialect, _ADD_TOKEN)


class SqlSignIns:
    """``SignInRecorder`` on the SQL stores' engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._sqlite = dialect.name == "sqlite"
        self._stamp = _writes(_STAMP, dialect)
        self._stamp_and_rehash = _writes(_STAMP_AND_REHASH, dialect)
        self._autocommit = len(self._stamp) == 1
        self._dialect = dialect
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error

    def record_sign_in(
        self,
        user_id: str,
        *,
        at: datetime,
        new_hash: str | None,
        family: RefreshTokenRecord,
    ) -> None:
        params = {**token_row(family), "stamp_user": user_id, "stamp_at": at}
        if new_hash is not None:
            params["stamp_hash"] = new_hash
        statements = self._stamp if new_hash is None else self._stamp_and_rehash
        writes = [(statement.sql, statement.arguments(params)) for statement in statements]
        try:
            connection = self._engine.raw_connection()
        except self._dbapi_error as exc:  # no connection at all: the server is down
            raise_if_unavailable(self._engine, exc, connected=False)
            raise
        relax = self._sqlite and connection.info.get(SQLITE_WAL, False)
        sql = ""
        try:
            cursor = connection.cursor()
            try:
                if self._autocommit:
                    # One statement is atomic alone: no BEGIN and COMMIT round trips.
                    (sql, arguments), dbapi = writes[0], connection.dbapi_connection
                    assert dbapi is not None  # a checked-out connection has one
                    self._dialect.set_isolation_level(dbapi, "AUTOCOMMIT")
                    cursor.execute(sql, arguments)
                    self._dialect.reset_isolation_level(dbapi)
                    return
                if relax:  # outside the transaction (SQLite refuses it inside), put back after
                    cursor.execute("PRAGMA synchronous=NORMAL")
                if self._sqlite:
                    cursor.execute("BEGIN IMMEDIATE")  # as the engine's writes begin
                for sql, arguments in writes:
                    cursor.execute(sql, arguments)
                sql = "COMMIT"
                connection.commit()
                if relax:
                    sql = f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}"
                    cursor.execute(sql)
            finally:
                cursor.close()
        except BaseException as exc:
            try:
                if isinstance(exc, self._dbapi_error):
                    # Judged before invalidating: that closes the connection it looks at.
                    raise_if_unavailable(
                        self._engine, exc, connected=True, connection=connection.dbapi_connection
                    )
            finally:
                # Closed, never pooled again: no half-done transaction, no relaxed
                # level, no autocommit left on.
                connection.invalidate()
            if isinstance(exc, self._dbapi_error):
                raise DBAPIError.instance(
                    sql, None, exc, self._dbapi_error, hide_parameters=True
                ) from exc
            raise
        finally:
            connection.close()


__all__ = ["SqlSignIns"]

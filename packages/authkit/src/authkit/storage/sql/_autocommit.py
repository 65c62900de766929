"""One statement compiled once, each run its own transaction on a pooled DBAPI connection.

For PostgreSQL's refresh rotation (``_tokens``), where SQLAlchemy Core spent more
client CPU than the database spent on the work: about 2.2 ms per rotation on
this 2-core machine, for seven round trips. A statement here is built from the
table definitions and compiled for the engine's dialect once; each call binds
its parameters through the dialect's type processors, runs one cursor with the
DBAPI connection in autocommit (one statement is one transaction in
PostgreSQL: no ``BEGIN`` and ``COMMIT`` round trips) and turns each row into a
dict through the column types' result processors, as SQLAlchemy would.

``_compiled.CompiledSelect`` is the read-only sibling; this one also runs
data-modifying statements, so the whole of a write must be that one statement.
A connection that failed is invalidated, never pooled again, and a database
that cannot serve raises ``ServiceUnavailable`` (503), as through the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement, ColumnElement, Engine, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler

from authkit.storage.sql._compiled import CompiledSelect
from authkit.storage.sql._engine import raise_if_unavailable

Processor = Callable[[Any], Any]


class AutocommitStatement:
    """``statement`` compiled once for ``engine``; ``columns`` are what it returns."""

    def __init__(
        self, engine: Engine, statement: ClauseElement, columns: Sequence[ColumnElement[Any]]
    ) -> None:
        self._engine = engine
        dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.positional:
            raise TypeError(f"{dialect.name} uses positional parameters: not supported here")
        self.sql = str(compiled)
        # Parameters the statement fixes itself (a literal's value) are bound once.
        self._fixed = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        self._binds: dict[str, Processor | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
            if bind.required
        }
        self._names = [column.name for column in columns]
        self._results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error

    def rows(self, **params: Any) -> list[dict[str, Any]]:
        """Run once as its own transaction; every row as ``{column name: value}``."""
        if params.keys() != self._binds.keys():
            raise TypeError(f"expected parameters {sorted(self._binds)}, got {sorted(params)}")
        bound = dict(self._fixed)
        for name, process in self._binds.items():
            value = params[name]
            bound[name] = process(value) if process is not None and value is not None else value
        try:
            connection = self._engine.raw_connection()  # pinged first if it sat idle
        except self._dbapi_error as exc:  # no connection at all: the server is down
            raise_if_unavailable(self._engine, exc, connected=False)
            raise
        try:
            dbapi: Any = connection.dbapi_connection
            dbapi.autocommit = True
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, bound)
                raw = cursor.fetchall()  # every statement here returns rows
            finally:
                cursor.close()
            dbapi.autocommit = False  # as the pool and every other caller expect it
        except self._dbapi_error as exc:
            try:  # judged before invalidating: that closes the connection it looks at
                raise_if_unavailable(
                    self._engine, exc, connected=True, connection=connection.dbapi_connection
                )
            finally:
                connection.invalidate()  # a failed connection never goes back to the pool
            raise DBAPIError.instance(
                self.sql, None, exc, self._dbapi_error, hide_parameters=True
            ) from exc
        except BaseException:
            # Interrupted with autocommit still on: never pooled in that state.
            connection.invalidate()
            raise
        finally:
            connection.close()
        names, results = self._names, self._results
        return [
            {
                name: (process(value) if process is not None and value is not None else value)
                for name, process, value in zip(names, results, row, strict=True)
            }
            for row in raw
        ]


def compiled_read(engine: Engine, statement: Select[Any]) -> AutocommitStatement | CompiledSelect:
    """A read compiled once: in autocommit on PostgreSQL (psycopg), else ``CompiledSelect``.

    ``CompiledSelect`` ends the DBAPI transaction its read opened: on PostgreSQL
    a ``BEGIN`` and a ``COMMIT`` round trip around the ``SELECT``, which one
    statement in autocommit does not need (one statement is one snapshot under
    READ COMMITTED either way). SQLite's reads stay as they are.
    """
    if autocommit_capable(engine):
        return AutocommitStatement(engine, statement, list(statement.selected_columns))
    return CompiledSelect(engine, statement)


def autocommit_capable(engine: Engine) -> bool:
    """Whether ``AutocommitStatement`` serves ``engine``: PostgreSQL through psycopg 3.

    The driver authkit depends on and tests: named parameters, an ``autocommit``
    attribute, and a ping (``do_ping``) that leaves no transaction open. Any other
    driver runs through SQLAlchemy Core or ``CompiledSelect``, as before.
    """
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


__all__ = ["AutocommitStatement", "autocommit_capable", "compiled_read"]

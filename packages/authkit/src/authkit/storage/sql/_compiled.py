"""Hot-path SELECTs compiled once per engine and run straight on a pooled DBAPI connection.

SQLAlchemy Core spends most of a small query's time outside the database:
building the statement, generating its cache key, and the execution context
around the cursor. For the few reads on every request (the bearer check, the
sign-in lookup) the statement is built from the table definitions and compiled
for the engine's dialect once; each call then binds its parameters through the
dialect's own type processors, runs one cursor, and turns each row into a dict
through the column types' result processors, exactly as SQLAlchemy would. About
six times less time per query than ``Connection.execute`` on SQLite.

Only for read-only statements: the DBAPI transaction (if any) is ended after
the read, and a connection that failed is invalidated, never pooled again. A
database that cannot serve (PostgreSQL down, restarting, out of connections)
raises ``ServiceUnavailable`` here too, as through the engine (503, not 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError

from authkit.storage.sql._engine import raise_if_unavailable

Processor = Callable[[Any], Any]


class CompiledSelect:
    """One SELECT, compiled for ``engine``'s dialect at construction."""

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        self._engine = engine
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._positional: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        self._binds: dict[str, Processor | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        columns = statement.selected_columns
        self._names = [column.name for column in columns]
        self._results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error

    def rows(self, **params: Any) -> list[dict[str, Any]]:
        """Every row, as ``{column name: Python value}``; ``params`` name every bind."""
        if params.keys() != self._binds.keys():
            raise TypeError(f"expected parameters {sorted(self._binds)}, got {sorted(params)}")
        bound = {
            name: (process(value) if process is not None and value is not None else value)
            for name, process, value in ((n, p, params[n]) for n, p in self._binds.items())
        }
        arguments: Any = (
            bound if self._positional is None else tuple(bound[n] for n in self._positional)
        )
        try:
            connection = self._engine.raw_connection()
        except self._dbapi_error as exc:  # no connection at all: the server is down
            raise_if_unavailable(self._engine, exc, connected=False)
            raise
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, arguments)
                raw = cursor.fetchall()
            finally:
                cursor.close()
            connection.commit()  # ends the read transaction the DBAPI may have opened
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


__all__ = ["CompiledSelect"]

"""Stores chosen by URL, the way ``limits`` chooses its storage.

``memory://`` gives the in-memory stores (one process: tests, embedded use);
any SQLAlchemy URL (``sqlite:///auth.db``, ``postgresql+psycopg://…``) gives the
SQL stores on one engine. Only the URL changes between a laptop and many hosts,
so that promise holds inside the core, not only in an app's settings.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from authkit.account._records import ActionTokenStore
from authkit.errors import ConfigurationError
from authkit.mfa._store import MfaStore
from authkit.storage.memory._actions import MemoryActionTokenStore
from authkit.storage.memory._mfa import MemoryMfaStore
from authkit.storage.memory._sign_ins import MemorySignIns
from authkit.storage.memory._tokens import MemoryRefreshTokenStore
from authkit.storage.memory._users import MemoryUserStore
from authkit.storage.sql._actions import SqlActionTokenStore
from authkit.storage.sql._engine import create_engine
from authkit.storage.sql._mfa import SqlMfaStore
from authkit.storage.sql._schema import create_schema
from authkit.storage.sql._session_users import SqlSessionUsers
from authkit.storage.sql._sign_ins import SqlSignIns
from authkit.storage.sql._tokens import SqlRefreshTokenStore
from authkit.storage.sql._users import SqlUserStore
from authkit.tokens._store import RefreshTokenStore
from authkit.users._store import SessionUserLookup, SignInRecorder, UserStore

MEMORY_URL = "memory://"
"""The store URL of the in-memory backend."""


@dataclass(frozen=True, kw_only=True)
class Stores:
    """The stores of one backend, and its engine when it is SQL.

    ``action_tokens`` holds the one-time links of ``authkit.account``; None in a
    ``Stores`` made by hand before it existed gets an in-memory one from ``build``.
    ``session_users`` answers a bearer request's user and session reads in one
    statement (SQL stores on one engine); None means the stores are asked apart.
    ``sign_ins`` writes a sign-in's login stamp and new session in one
    transaction; None means two.
    """

    users: UserStore
    refresh_tokens: RefreshTokenStore
    mfa: MfaStore
    engine: Engine | None = None
    action_tokens: ActionTokenStore | None = None
    session_users: SessionUserLookup | None = None
    sign_ins: SignInRecorder | None = None

    def ping(self) -> None:
        """Raise if the backing database does not answer (readiness checks)."""
        self.users.ping()

    def close(self) -> None:
        """Release the engine's connections; in-memory stores hold none."""
        if self.engine is not None:
            self.engine.dispose()


def open_stores(
    url: str = MEMORY_URL, *, create_tables: bool = False, **engine_options: Any
) -> Stores:
    """The stores for ``url``: ``memory://`` or any SQLAlchemy database URL.

    ``create_tables`` creates authkit's tables directly (tests, apps without
    migrations); apps with Alembic migrate instead. ``engine_options`` go to
    ``authkit.storage.create_engine``.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "memory":
        users = MemoryUserStore()
        tokens = MemoryRefreshTokenStore()
        return Stores(
            users=users,
            refresh_tokens=tokens,
            mfa=MemoryMfaStore(users),
            action_tokens=MemoryActionTokenStore(),
            sign_ins=MemorySignIns(users, tokens),
        )
    try:
        engine = create_engine(url, **engine_options)
    except (ArgumentError, NoSuchModuleError) as exc:
        # The URL may carry a password: name only its scheme.
        raise ConfigurationError(
            f"No store backend for URLs of scheme {scheme!r}: use memory:// or a "
            "SQLAlchemy database URL.",
            field="url",
        ) from exc
    if create_tables:
        create_schema(engine)
    return Stores(
        users=SqlUserStore(engine),
        refresh_tokens=SqlRefreshTokenStore(engine),
        mfa=SqlMfaStore(engine),
        engine=engine,
        action_tokens=SqlActionTokenStore(engine),
        session_users=SqlSessionUsers(engine),
        sign_ins=SqlSignIns(engine),
    )


__all__ = ["MEMORY_URL", "Stores", "open_stores"]

"""SQLAlchemy 2 stores and authkit's table definitions (SQLite embedded, PostgreSQL scaled out)."""

from authkit.storage.sql._actions import SqlActionTokenStore
from authkit.storage.sql._engine import create_engine
from authkit.storage.sql._mfa import SqlMfaStore
from authkit.storage.sql._schema import create_schema
from authkit.storage.sql._tables import (
    action_tokens,
    metadata,
    recovery_codes,
    refresh_tokens,
    user_roles,
    users,
)
from authkit.storage.sql._tokens import SqlRefreshTokenStore
from authkit.storage.sql._users import SqlUserStore

__all__ = [
    "SqlActionTokenStore",
    "SqlMfaStore",
    "SqlRefreshTokenStore",
    "SqlUserStore",
    "action_tokens",
    "create_engine",
    "create_schema",
    "metadata",
    "recovery_codes",
    "refresh_tokens",
    "user_roles",
    "users",
]

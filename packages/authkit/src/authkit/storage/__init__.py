"""Store backends chosen by URL: in memory (``memory://``) or SQLAlchemy (SQLite, PostgreSQL).

``open_stores(url)`` returns the three stores of one backend; the table
definitions are here so any app can include them in its own migrations. The
store contracts live with their capability (``authkit.users.UserStore``,
``authkit.tokens.RefreshTokenStore``, ``authkit.mfa.MfaStore``,
``authkit.account.ActionTokenStore``).
"""

from authkit.storage import memory, sql
from authkit.storage._url import MEMORY_URL, Stores, open_stores
from authkit.storage.memory._actions import MemoryActionTokenStore
from authkit.storage.memory._mfa import MemoryMfaStore
from authkit.storage.memory._tokens import MemoryRefreshTokenStore
from authkit.storage.memory._users import MemoryUserStore
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
    "MEMORY_URL",
    "MemoryActionTokenStore",
    "MemoryMfaStore",
    "MemoryRefreshTokenStore",
    "MemoryUserStore",
    "SqlActionTokenStore",
    "SqlMfaStore",
    "SqlRefreshTokenStore",
    "SqlUserStore",
    "Stores",
    "action_tokens",
    "create_engine",
    "create_schema",
    "memory",
    "metadata",
    "open_stores",
    "recovery_codes",
    "refresh_tokens",
    "sql",
    "user_roles",
    "users",
]

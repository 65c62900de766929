"""Stores (protocols, in-memory and SQLAlchemy implementations) and table definitions."""

from authkit.storage.engine import create_engine
from authkit.storage.memory import MemoryRefreshTokenStore, MemoryUserStore
from authkit.storage.protocols import (
    RefreshTokenStore,
    RotationOutcome,
    RotationResult,
    SuccessorFactory,
    UserStore,
)
from authkit.storage.schema import create_schema
from authkit.storage.sql import SqlRefreshTokenStore, SqlUserStore
from authkit.storage.tables import metadata, recovery_codes, refresh_tokens, user_roles, users

__all__ = [
    "MemoryRefreshTokenStore",
    "MemoryUserStore",
    "RefreshTokenStore",
    "RotationOutcome",
    "RotationResult",
    "SqlRefreshTokenStore",
    "SqlUserStore",
    "SuccessorFactory",
    "UserStore",
    "create_engine",
    "create_schema",
    "metadata",
    "recovery_codes",
    "refresh_tokens",
    "user_roles",
    "users",
]

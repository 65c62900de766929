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
from authkit.storage.sql import SqlRefreshTokenStore, SqlUserStore
from authkit.storage.tables import metadata, refresh_tokens, user_roles, users

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
    "metadata",
    "refresh_tokens",
    "user_roles",
    "users",
]

"""Stores (protocols, in-memory and SQLAlchemy implementations) and table definitions."""

from authkit.storage.engine import create_engine
from authkit.storage.memory import MemoryRefreshTokenStore, MemoryUserStore
from authkit.storage.mfa_memory import MemoryMfaStore
from authkit.storage.mfa_sql import SqlMfaStore
from authkit.storage.protocols import (
    MfaStore,
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
    "MemoryMfaStore",
    "MemoryRefreshTokenStore",
    "MemoryUserStore",
    "MfaStore",
    "RefreshTokenStore",
    "RotationOutcome",
    "RotationResult",
    "SqlMfaStore",
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

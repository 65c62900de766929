"""In-memory stores: tests and embedded use in one process, the same contracts as SQL."""

from authkit.storage.memory._actions import MemoryActionTokenStore
from authkit.storage.memory._mfa import MemoryMfaStore
from authkit.storage.memory._tokens import MemoryRefreshTokenStore
from authkit.storage.memory._users import MemoryUserStore

__all__ = ["MemoryActionTokenStore", "MemoryMfaStore", "MemoryRefreshTokenStore", "MemoryUserStore"]

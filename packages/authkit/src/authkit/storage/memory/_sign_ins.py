"""A sign-in's writes on the in-memory stores (the ``SignInRecorder`` of ``memory://``)."""

from __future__ import annotations

from datetime import datetime

from authkit.storage.memory._tokens import MemoryRefreshTokenStore
from authkit.storage.memory._users import MemoryUserStore
from authkit.tokens._records import RefreshTokenRecord


class MemorySignIns:
    """Stamps the login and stores the new session's token; nothing to commit in memory."""

    def __init__(self, users: MemoryUserStore, tokens: MemoryRefreshTokenStore) -> None:
        self._users = users
        self._tokens = tokens

    def record_sign_in(
        self,
        user_id: str,
        *,
        at: datetime,
        new_hash: str | None,
        family: RefreshTokenRecord,
    ) -> None:
        self._users.record_login(user_id, at=at, new_hash=new_hash)
        self._tokens.add(family)


__all__ = ["MemorySignIns"]

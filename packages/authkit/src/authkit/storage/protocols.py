"""The store contracts. Each has an in-memory and a SQLAlchemy implementation,
and one contract test suite runs over all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from authkit.models import NewUser, RefreshTokenRecord, User


class UserStore(Protocol):
    def create(self, new: NewUser) -> User:
        """Insert a user; raises ``Conflict`` when the username or email is taken."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def find_by_login(self, identifier: str) -> User | None:
        """The user whose canonical username or canonical email equals ``identifier``."""
        ...

    def record_login(self, user_id: str, *, at: datetime, new_hash: str | None = None) -> None:
        """Stamp ``last_login_at``; store ``new_hash`` when the hash was upgraded."""
        ...

    def set_password(self, user_id: str, password_hash: str, *, at: datetime) -> None: ...

    def count_active(self) -> int: ...

    def ping(self) -> None:
        """Raise if the backing database cannot answer."""
        ...


class RotationOutcome(StrEnum):
    ROTATED = "rotated"
    REUSED = "reused"
    INVALID = "invalid"


@dataclass(frozen=True, kw_only=True)
class RotationResult:
    outcome: RotationOutcome
    consumed: RefreshTokenRecord | None = None
    successor: RefreshTokenRecord | None = None


SuccessorFactory = Callable[[RefreshTokenRecord], RefreshTokenRecord]


class RefreshTokenStore(Protocol):
    def add(self, record: RefreshTokenRecord) -> None: ...

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None: ...

    def rotate(
        self, token_hash: str, *, now: datetime, successor: SuccessorFactory
    ) -> RotationResult:
        """Consume a token and store its successor in one transaction.

        Consuming is one conditional update (unused, unrevoked, unexpired), so of
        several concurrent calls with the same token at most one rotates. A token
        that was already used is a reuse: its whole family is revoked in the same
        transaction (RFC 9700 §4.14.2).
        """
        ...

    def revoke_family(self, family_id: str, *, now: datetime) -> int: ...

    def revoke_user(
        self, user_id: str, *, now: datetime, except_family: str | None = None
    ) -> int: ...

    def purge(self, *, now: datetime) -> int:
        """Delete rows that can never be used again (expired or revoked)."""
        ...


__all__ = [
    "RefreshTokenStore",
    "RotationOutcome",
    "RotationResult",
    "SuccessorFactory",
    "UserStore",
]

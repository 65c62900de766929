"""The contract of a refresh-token store; the backends live in ``authkit.storage``."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from authkit.tokens._records import RefreshTokenRecord


class RotationOutcome(StrEnum):
    """What presenting a refresh token did: rotated it, revealed a reuse, or nothing."""

    ROTATED = "rotated"
    REUSED = "reused"
    INVALID = "invalid"


@dataclass(frozen=True, kw_only=True)
class RotationResult:
    """The outcome of a rotation, with the consumed record and its successor when rotated."""

    outcome: RotationOutcome
    consumed: RefreshTokenRecord | None = None
    successor: RefreshTokenRecord | None = None


SuccessorFactory = Callable[[RefreshTokenRecord], RefreshTokenRecord]
"""Makes the successor record of a consumed refresh token, inside the store's atomic update."""


@dataclass(frozen=True, kw_only=True)
class SuccessorOfPresented:
    """A ``SuccessorFactory`` that also carries the record its caller read for the token.

    ``RefreshTokens.rotate`` reads the presented token before the rotation (its
    user's roles set the successor's lifetime). A store may build the successor
    from that record instead of reading the row again: the columns a successor
    takes (user, family, family expiry, ``amr``) never change, and a token seen
    used, revoked or expired never becomes consumable again. Whether the token
    is consumed is still decided by the store's conditional update. A store
    that does not know this class just calls it.
    """

    presented: RefreshTokenRecord
    make: SuccessorFactory

    def __call__(self, consumed: RefreshTokenRecord) -> RefreshTokenRecord:
        return self.make(consumed)


class RefreshTokenStore(Protocol):
    """The contract every refresh-token backend implements (memory, SQL)."""

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

    def family_is_live(self, family_id: str, *, now: datetime) -> bool:
        """Whether the family (one sign-in) still has an unrevoked, unexpired token.

        Access tokens name their family (``sid``), so a revoked session stops its
        access tokens at once, not only its refresh tokens.
        """
        ...

    def revoke_user(
        self, user_id: str, *, now: datetime, except_family: str | None = None
    ) -> int: ...

    def revoke_users(self, user_ids: Collection[str], *, now: datetime) -> int:
        """Revoke every family of each user in one transaction (bulk deactivation)."""
        ...

    def delete_user(self, user_id: str) -> int:
        """Delete every token row of a user (account erasure), revoked or not."""
        ...

    def purge(self, *, now: datetime) -> int:
        """Delete rows that can never be used again (expired or revoked)."""
        ...


__all__ = [
    "RefreshTokenStore",
    "RotationOutcome",
    "RotationResult",
    "SuccessorFactory",
    "SuccessorOfPresented",
]

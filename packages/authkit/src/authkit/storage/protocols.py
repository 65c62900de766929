"""The store contracts. Each has an in-memory and a SQLAlchemy implementation,
and one contract test suite runs over all of them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from authkit.models import NewUser, RefreshTokenRecord, User
from authkit.users_query import BulkResult, UserPage, UserQuery


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

    # -- administration (listing, activation, roles) -------------------------------
    # Changes that would leave no active admin raise ``Conflict`` (reason
    # ``last_admin``); the check and the write are one atomic step.

    def list_users(self, query: UserQuery) -> UserPage:
        """One page ordered by ``(created_at, id)`` and the count of every match."""
        ...

    def set_active(self, user_id: str, active: bool) -> User | None:
        """Activate or deactivate; None for an unknown id."""
        ...

    def set_roles(self, user_id: str, roles: Iterable[str]) -> User | None:
        """Replace the roles (deduplicated); None for an unknown id."""
        ...

    def bulk_set_active(self, ids: Sequence[str], active: bool) -> BulkResult:
        """Set ``is_active`` on many users in one transaction; each distinct id reported once."""
        ...

    def count_active_admins(self, excluding: Collection[str] = ()) -> int: ...


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

    def purge(self, *, now: datetime) -> int:
        """Delete rows that can never be used again (expired or revoked)."""
        ...


class MfaStore(Protocol):
    """TOTP secrets (encrypted), the last accepted time step, and recovery codes."""

    def get_secret(self, user_id: str) -> str | None:
        """The encrypted secret (pending or enabled), or None."""
        ...

    def set_pending_secret(self, user_id: str, encrypted_secret: str) -> bool:
        """Store a new secret while MFA is not enabled; False if it is enabled."""
        ...

    def enable(self, user_id: str, code_hashes: list[str], *, now: datetime) -> bool:
        """Switch MFA on with fresh recovery codes; False if already enabled."""
        ...

    def disable(self, user_id: str) -> None:
        """Switch MFA off and forget the secret, the last step and the codes."""
        ...

    def claim_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used, atomically; False if it or a later step was used.

        One conditional update, so two workers receiving the same code at once
        cannot both accept it (RFC 6238 §5.2: a code is accepted once).
        """
        ...

    def use_recovery_code(self, user_id: str, code_hash: str, *, now: datetime) -> bool:
        """Mark an unused code used, atomically; False if unknown or already used."""
        ...

    def remaining_recovery_codes(self, user_id: str) -> int: ...


__all__ = [
    "MfaStore",
    "RefreshTokenStore",
    "RotationOutcome",
    "RotationResult",
    "SuccessorFactory",
    "UserStore",
]

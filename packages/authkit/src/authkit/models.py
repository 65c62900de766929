"""Plain records the core passes around. Stores return these; nothing else leaks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def canonical(value: str) -> str:
    """The form usernames and emails are compared and counted in (case-folded).

    Case-insensitive uniqueness and throttling counters both use it, so ``Alice``
    and ``alice`` are one account and share one failure budget.
    """
    return value.strip().casefold()


@dataclass(frozen=True, kw_only=True)
class User:
    id: str
    username: str
    email: str
    roles: tuple[str, ...]
    is_active: bool
    mfa_enabled: bool
    created_at: datetime
    last_login_at: datetime | None
    password_hash: str = field(repr=False)
    password_changed_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True, kw_only=True)
class NewUser:
    id: str
    username: str
    email: str
    password_hash: str = field(repr=False)
    roles: tuple[str, ...]
    is_active: bool
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class RefreshTokenRecord:
    """A stored refresh token: only its SHA-256, never the usable value."""

    jti: str
    token_hash: str = field(repr=False)
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    family_expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    replaced_by: str | None = None
    amr: tuple[str, ...] = ()
    """How the sign-in that started the family authenticated (RFC 8176), so
    access tokens issued on refresh keep saying it."""


__all__ = ["NewUser", "RefreshTokenRecord", "User", "canonical"]

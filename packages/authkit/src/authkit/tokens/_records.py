"""The stored form of a refresh token: its hash and its place in a family, never the token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


__all__ = ["RefreshTokenRecord"]

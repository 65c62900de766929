"""Plain records the core passes around. Stores return these; nothing else leaks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from authkit.roles import ADMIN
from authkit.users._unicode import canonical


@dataclass(frozen=True, kw_only=True)
class User:
    """An account as stored; its ``password_hash`` never leaves the core."""

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
    email_verified: bool = False
    """Whether the owner proved they receive mail at ``email`` (a followed link)."""
    email_verified_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


@dataclass(frozen=True, kw_only=True)
class NewUser:
    """An account to create: identity, password hash and roles."""

    id: str
    username: str
    email: str
    password_hash: str = field(repr=False)
    roles: tuple[str, ...]
    is_active: bool
    created_at: datetime


__all__ = ["NewUser", "User", "canonical"]

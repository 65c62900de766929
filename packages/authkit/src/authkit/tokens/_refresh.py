"""Refresh tokens: opaque, single-use, rotated on every refresh, grouped in families.

A family is one sign-in. Each refresh consumes the presented token and issues its
successor in the same transaction; presenting a consumed token again is treated as
theft and revokes the whole family (RFC 9700 §4.14.2). The store keeps only the
SHA-256 of a token, so a database leak yields nothing usable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from authkit.clock import Clock, SystemClock
from authkit.errors import ConfigurationError, InvalidToken, TokenReused
from authkit.roles import ADMIN
from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._store import RefreshTokenStore, RotationOutcome, SuccessorOfPresented

_TOKEN_BYTES = 32
_MAX_TOKEN_CHARS = 128

RolesLookup = Callable[[str], tuple[str, ...] | None]


@dataclass(frozen=True, kw_only=True)
class RefreshLifetimes:
    """Idle and absolute lifetimes in seconds; admins get NIST SP 800-63B AAL2 ones."""

    idle_seconds: int = 7 * 24 * 3600
    absolute_seconds: int = 30 * 24 * 3600
    admin_idle_seconds: int = 3600
    admin_absolute_seconds: int = 24 * 3600

    def __post_init__(self) -> None:
        for name in (
            "idle_seconds",
            "absolute_seconds",
            "admin_idle_seconds",
            "admin_absolute_seconds",
        ):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ConfigurationError(f"{name} must be a positive integer.", field=name)
        for idle in ("idle_seconds", "admin_idle_seconds"):
            absolute = idle.replace("idle", "absolute")
            if getattr(self, idle) > getattr(self, absolute):
                raise ConfigurationError(f"{idle} must not exceed {absolute}.", field=idle)

    def for_roles(self, roles: tuple[str, ...]) -> tuple[int, int]:
        if ADMIN in roles:
            return self.admin_idle_seconds, self.admin_absolute_seconds
        return self.idle_seconds, self.absolute_seconds


@dataclass(frozen=True, kw_only=True)
class IssuedRefreshToken:
    """A new refresh token (shown once to the client) and its stored record (only its hash)."""

    token: str
    record: RefreshTokenRecord

    def expires_in(self, now: datetime) -> int:
        return max(0, int((self.record.expires_at - now).total_seconds()))


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a refresh token is stored.

    Tokens are long and random, so no salt or slow hash is needed.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokens:
    """Single-use refresh tokens in families (RFC 9700): start, rotate, revoke, purge.

    Presenting a token that was already rotated revokes its whole family.
    """

    def __init__(
        self,
        store: RefreshTokenStore,
        lifetimes: RefreshLifetimes | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self.lifetimes = lifetimes or RefreshLifetimes()
        self._clock = clock or SystemClock()

    def start_family(
        self, user_id: str, roles: tuple[str, ...], *, amr: tuple[str, ...] = ()
    ) -> IssuedRefreshToken:
        """Issue the first token of a new family (a sign-in that authenticated by ``amr``)."""
        issued = self.new_family(user_id, roles, amr=amr)
        self._store.add(issued.record)
        return issued

    def new_family(
        self, user_id: str, roles: tuple[str, ...], *, amr: tuple[str, ...] = ()
    ) -> IssuedRefreshToken:
        """The first token of a new family, not stored yet.

        For a caller that stores it in a transaction of its own (a sign-in's
        ``SignInRecorder``); until stored, the token refreshes nothing.
        """
        now = self._clock.now()
        idle, absolute = self.lifetimes.for_roles(roles)
        token, record = self._new(
            user_id=user_id,
            family_id=str(uuid.uuid4()),
            now=now,
            idle=idle,
            family_expires_at=now + timedelta(seconds=absolute),
            amr=amr,
        )
        return IssuedRefreshToken(token=token, record=record)

    def store_family(self, issued: IssuedRefreshToken) -> None:
        """Store a token made by ``new_family``: from now on it can be refreshed."""
        self._store.add(issued.record)

    def rotate(self, token: str, roles_of: RolesLookup) -> IssuedRefreshToken:
        """Consume ``token`` and return its successor.

        ``roles_of(user_id)`` returns the user's current roles, or None when the user
        may no longer refresh (deleted or deactivated): then the family is revoked.
        """
        token_hash = _hash_or_invalid(token)
        now = self._clock.now()
        presented = self._store.get_by_hash(token_hash)
        if presented is None:
            raise InvalidToken()
        # Roles are read before the rotation's transaction: no second connection
        # is opened while the store holds its write lock.
        roles = roles_of(presented.user_id)
        if roles is None:
            self._store.revoke_family(presented.family_id, now=now)
            raise InvalidToken()
        idle, _ = self.lifetimes.for_roles(roles)
        issued: list[str] = []

        def successor(consumed: RefreshTokenRecord) -> RefreshTokenRecord:
            new_token, record = self._new(
                user_id=consumed.user_id,
                family_id=consumed.family_id,
                now=now,
                idle=idle,
                family_expires_at=consumed.family_expires_at,
                amr=consumed.amr,
            )
            issued.append(new_token)
            return record

        result = self._store.rotate(
            token_hash, now=now, successor=SuccessorOfPresented(presented=presented, make=successor)
        )
        if result.outcome is RotationOutcome.REUSED:
            raise TokenReused()
        if result.outcome is not RotationOutcome.ROTATED or result.successor is None:
            raise InvalidToken()
        return IssuedRefreshToken(token=issued[0], record=result.successor)

    def find(self, token: str) -> RefreshTokenRecord | None:
        """The stored record for ``token`` whatever its state (for audit and support)."""
        try:
            return self._store.get_by_hash(_hash_or_invalid(token))
        except InvalidToken:
            return None

    def lookup(self, token: str) -> RefreshTokenRecord:
        """The live record for ``token``; ``InvalidToken`` if unknown, used, revoked or expired."""
        record = self._store.get_by_hash(_hash_or_invalid(token))
        now = self._clock.now()
        if (
            record is None
            or record.used_at is not None
            or record.revoked_at is not None
            or record.expires_at <= now
            or record.family_expires_at <= now
        ):
            raise InvalidToken()
        return record

    def revoke_family_of(self, token: str) -> RefreshTokenRecord:
        """Logout: revoke the family of a live token.

        A token that was already rotated is a reuse, as in ``rotate``: its family is
        revoked too, and the caller still gets ``InvalidToken``.
        """
        record = self.find(token)
        if record is not None and record.used_at is not None:
            self._store.revoke_family(record.family_id, now=self._clock.now())
            raise InvalidToken()
        record = self.lookup(token)
        self._store.revoke_family(record.family_id, now=self._clock.now())
        return record

    def session_is_live(self, family_id: str) -> bool:
        """Whether the sign-in ``family_id`` has not been logged out, revoked or ended."""
        return self._store.family_is_live(family_id, now=self._clock.now())

    def revoke_family_of_record(self, record: RefreshTokenRecord) -> int:
        return self._store.revoke_family(record.family_id, now=self._clock.now())

    def revoke_user(self, user_id: str, *, except_family: str | None = None) -> int:
        """Revoke every family of a user, optionally sparing the caller's own session."""
        return self._store.revoke_user(user_id, now=self._clock.now(), except_family=except_family)

    def revoke_users(self, user_ids: Collection[str]) -> int:
        """Revoke every family of many users in one transaction (bulk deactivation)."""
        return self._store.revoke_users(user_ids, now=self._clock.now())

    def delete_user(self, user_id: str) -> int:
        """Delete every refresh token of a user (account erasure)."""
        return self._store.delete_user(user_id)

    def purge(self) -> int:
        return self._store.purge(now=self._clock.now())

    def _new(
        self,
        *,
        user_id: str,
        family_id: str,
        now: datetime,
        idle: int,
        family_expires_at: datetime,
        amr: tuple[str, ...] = (),
    ) -> tuple[str, RefreshTokenRecord]:
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        record = RefreshTokenRecord(
            jti=str(uuid.uuid4()),
            token_hash=hash_token(token),
            family_id=family_id,
            user_id=user_id,
            issued_at=now,
            expires_at=min(now + timedelta(seconds=idle), family_expires_at),
            family_expires_at=family_expires_at,
            amr=amr,
        )
        return token, record


def _hash_or_invalid(token: str) -> str:
    if not isinstance(token, str) or not 20 <= len(token) <= _MAX_TOKEN_CHARS:
        raise InvalidToken()
    return hash_token(token)


__all__ = ["IssuedRefreshToken", "RefreshLifetimes", "RefreshTokens", "hash_token"]

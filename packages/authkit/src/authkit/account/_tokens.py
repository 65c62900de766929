"""Issuing and redeeming one-time action tokens (the links of verification, reset, email change).

A token is 32 random bytes (``secrets``), sent once by email and stored only as
its SHA-256, like refresh tokens: a database leak yields no usable link. Each is
single use (redeeming deletes it atomically), expires (OWASP Forgot Password
Cheat Sheet: short-lived; reset 30 minutes, verification and email change 24
hours by default), and is bound to the state it acts on through an HMAC
fingerprint, so a link dies when that state changes, whether or not it was used:

* a verification link: the email;
* a reset link: the password hash *and* the email. A reset proves control of the
  mailbox it was sent to (completing one also verifies that address), so a link
  sent to an address the account has since left must not work;
* an email-change link: the email *and* the password hash. Whoever learnt the
  password can ask to move the account to their own address; once the owner
  resets or changes the password, that pending link must die with it, or the
  takeover would complete after the owner took the account back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from authkit.account._records import ActionPurpose, ActionTokenRecord, ActionTokenStore
from authkit.clock import Clock
from authkit.errors import InvalidToken
from authkit.users._model import User, canonical

UserLookup = Callable[[str], User | None]

_TOKEN_BYTES = 32
_MIN_TOKEN_CHARS = 20
_MAX_TOKEN_CHARS = 128


@dataclass(frozen=True, kw_only=True)
class IssuedActionToken:
    """A freshly made link token: the token to mail (shown once) and the record stored."""

    token: str = field(repr=False)
    record: ActionTokenRecord


def hash_action_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up; never the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ActionTokens:
    """Makes, checks and redeems action tokens; ``key`` keys the state fingerprints."""

    def __init__(
        self,
        store: ActionTokenStore,
        *,
        key: bytes,
        lifetimes: dict[ActionPurpose, int],
        clock: Clock,
    ) -> None:
        self.store = store
        self._key = key
        self._lifetimes = dict(lifetimes)
        self._clock = clock

    def binding(self, user: User, purpose: ActionPurpose) -> str:
        """The fingerprint of the state ``purpose`` guards, as ``user`` holds it now."""
        if purpose is ActionPurpose.VERIFY_EMAIL:
            state = canonical(user.email)
        else:
            # Reset and email change: both the password and the email (module docstring).
            state = f"{user.password_hash}\x00{canonical(user.email)}"
        message = f"{purpose.value}\x00{user.id}\x00{state}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(
        self, user: User, purpose: ActionPurpose, *, new_email: str | None = None
    ) -> IssuedActionToken:
        now = self._clock.now()
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        record = ActionTokenRecord(
            token_hash=hash_action_token(token),
            user_id=user.id,
            purpose=purpose,
            binding=self.binding(user, purpose),
            created_at=now,
            expires_at=now + timedelta(seconds=self._lifetimes[purpose]),
            new_email=new_email,
        )
        self.store.add(record)
        return IssuedActionToken(token=token, record=record)

    def peek(self, token: str, purpose: ActionPurpose) -> ActionTokenRecord:
        """The live record of ``token`` for ``purpose`` (not consumed), or ``InvalidToken``.

        Lets a flow validate its other input (a new password) before spending the
        link, so a weak password does not burn it.
        """
        record = self.store.peek(_hash_or_invalid(token), now=self._clock.now())
        if record is None or record.purpose is not purpose:
            raise InvalidToken()
        return record

    def redeem_record(
        self, token: str, purpose: ActionPurpose, user_of: UserLookup
    ) -> tuple[ActionTokenRecord, User]:
        """Consume ``token``; return its record and user if the guarded state is unchanged.

        The token is spent either way: a link whose state changed is dead. The
        record carries ``new_email`` for an email change.
        """
        record = self.store.consume(_hash_or_invalid(token), purpose=purpose, now=self._clock.now())
        if record is None:
            raise InvalidToken()
        user = user_of(record.user_id)
        if user is None or not self.matches(record, user):
            raise InvalidToken()
        return record, user

    def matches(self, record: ActionTokenRecord, user: User) -> bool:
        return hmac.compare_digest(record.binding, self.binding(user, record.purpose))

    def forget(self, user_id: str, *purposes: ActionPurpose) -> int:
        return self.store.delete_for_user(user_id, purposes)

    def purge(self) -> int:
        return self.store.purge(now=self._clock.now())


def _hash_or_invalid(token: str) -> str:
    if not isinstance(token, str) or not _MIN_TOKEN_CHARS <= len(token) <= _MAX_TOKEN_CHARS:
        raise InvalidToken()
    return hash_action_token(token)


__all__ = ["ActionTokens", "IssuedActionToken", "hash_action_token"]

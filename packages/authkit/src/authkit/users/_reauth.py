"""Re-authentication: the account's password checked again before a sensitive change.

A password change and a TOTP enrolment both ask for the current password (OWASP
ASVS 5 V6), and that check is a guess like any sign-in: admitted (and counted)
by the throttle before the argon2 work, a wrong password a failure, a right one
clearing the budget. One function, so both flows keep the same order.
"""

from __future__ import annotations

from typing import Protocol

from authkit.audit._sink import AuditSink
from authkit.errors import InvalidCredentials
from authkit.users._model import User, canonical


class GuessThrottle(Protocol):
    """The part of ``LoginThrottle`` a checked guess (password or code) needs."""

    def acquire_login(self, address: str, username: str) -> None: ...

    def record_failure(self, address: str, username: str, *, acquired: bool = False) -> None: ...

    def record_success(self, address: str, username: str) -> None: ...


class PasswordCheck(Protocol):
    """The part of ``PasswordHasher`` re-authentication needs."""

    def verify(self, password_hash: str, password: str) -> bool: ...


def reauthenticate(
    *,
    user: User,
    password: str,
    address: str,
    event: str,
    message: str,
    throttle: GuessThrottle,
    hasher: PasswordCheck,
    audit: AuditSink,
) -> None:
    """Check ``password`` for ``user``, or raise ``InvalidCredentials(message)``.

    A refusal is audited as ``event`` with ``reason: bad_password``; the caller
    audits its own success. ``TooManyAttempts`` comes first when the budgets are
    spent, whatever the password.
    """
    key = canonical(user.username)
    throttle.acquire_login(address, key)
    if not hasher.verify(user.password_hash, password):
        throttle.record_failure(address, key, acquired=True)
        audit.log(
            event, outcome="failure", actor=user.id, client_address=address, reason="bad_password"
        )
        raise InvalidCredentials(message)
    throttle.record_success(address, key)


__all__ = ["GuessThrottle", "PasswordCheck", "reauthenticate"]

"""``MfaEnrolment``: the TOTP setup / enable / disable flows an adapter calls.

Composed from an ``MfaService``, the throttle and the audit sink, and given to the
app beside ``AuthService`` (not mixed into it). Every code check here is
throttled exactly like a sign-in: the attempt is admitted (and counted) before
the code is checked, a wrong code counts as a failure, and a right one clears the
budget. Setup needs the account's password again (OWASP ASVS 5 V6: re-authenticate
before changing an authentication factor): a stolen access token alone must not
be enough to enrol the thief's authenticator and lock the owner out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from authkit.audit._sink import AuditSink
from authkit.errors import InvalidOtp, MfaRequired
from authkit.mfa._rekey import DEFAULT_BATCH, RekeyReport, rekey_secrets
from authkit.mfa._service import MfaService, TotpEnrolment
from authkit.users._model import User, canonical
from authkit.users._reauth import GuessThrottle, PasswordCheck, reauthenticate

CodeThrottle = GuessThrottle
"""The part of ``LoginThrottle`` a code check needs."""


class MfaEnrolment:
    """TOTP enrolment as users do it: re-authentication, throttling and audit."""

    def __init__(
        self,
        *,
        mfa: MfaService,
        throttle: CodeThrottle,
        audit: AuditSink,
        hasher: PasswordCheck,
    ) -> None:
        self.service = mfa
        self._throttle = throttle
        self._audit = audit
        self._hasher = hasher

    @contextmanager
    def _code_attempt(self, user: User, address: str, event: str) -> Iterator[None]:
        """Throttle one code check; any refused code becomes ``InvalidOtp``."""
        key = canonical(user.username)
        self._throttle.acquire_login(address, key)
        try:
            yield
        except (InvalidOtp, MfaRequired):
            self._throttle.record_failure(address, key, acquired=True)
            self._audit.log(
                event,
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="invalid_otp",
            )
            raise InvalidOtp() from None
        self._throttle.record_success(address, key)

    def setup(self, *, user: User, password: str, address: str) -> TotpEnrolment:
        """Start enrolment with a fresh secret, after checking ``password`` again.

        A wrong password is ``InvalidCredentials`` and counts as a failed sign-in
        (same budgets, same order: admitted before the argon2 check); ``Conflict``
        while MFA is enabled.
        """
        reauthenticate(
            user=user,
            password=password,
            address=address,
            event="mfa.setup",
            message="The password is incorrect.",
            throttle=self._throttle,
            hasher=self._hasher,
            audit=self._audit,
        )
        enrolment = self.service.setup(user)
        self._audit.log("mfa.setup", outcome="success", actor=user.id, client_address=address)
        return enrolment

    def enable(self, *, user: User, otp: str, address: str) -> list[str]:
        """Confirm enrolment with a valid code; returns the 10 recovery codes."""
        with self._code_attempt(user, address, "mfa.enable"):
            codes = self.service.enable(user, otp)
        self._audit.log("mfa.enable", outcome="success", actor=user.id, client_address=address)
        return codes

    def disable(
        self, *, user: User, otp: str | None, recovery_code: str | None, address: str
    ) -> None:
        """Switch TOTP off; needs a valid code or recovery code, not only a token."""
        with self._code_attempt(user, address, "mfa.disable"):
            method = self.service.disable(user, otp=otp, recovery_code=recovery_code)
        self._audit.log(
            "mfa.disable", outcome="success", actor=user.id, client_address=address, method=method
        )

    def rekey_secrets(self, *, batch_size: int = DEFAULT_BATCH) -> RekeyReport:
        """Re-encrypt every stored TOTP secret under the current MFA key (audited).

        The operator's step after rotating the MFA key (``flight-app mfa rekey``);
        see ``authkit.mfa.rekey_secrets``.
        """
        return rekey_secrets(
            store=self.service.store, box=self.service.box, audit=self._audit, batch_size=batch_size
        )


__all__ = ["CodeThrottle", "MfaEnrolment", "PasswordCheck"]

"""The TOTP enrolment flows of ``AuthService``: setup, enable, disable.

Kept apart from the sign-in flows so each module stays readable. Every code check
here is throttled exactly like a sign-in: the attempt is admitted (and counted)
before the code is checked, a wrong code counts as a failure, and a right one
clears the budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from authkit.errors import ConfigurationError, InvalidOtp, MfaRequired
from authkit.mfa.service import MfaService, TotpEnrolment
from authkit.models import User, canonical

if TYPE_CHECKING:
    from authkit.service import AuditSink, Principal, ThrottleLike


class MfaFlows:
    mfa: MfaService | None
    throttle: ThrottleLike
    audit: AuditSink

    def _require_mfa(self) -> MfaService:
        if self.mfa is None:
            raise ConfigurationError("MFA is not configured.")
        return self.mfa

    @contextmanager
    def _code_attempt(self, user: User, address: str, event: str) -> Iterator[None]:
        """Throttle one code check; any refused code becomes ``InvalidOtp``."""
        key = canonical(user.username)
        self.throttle.acquire_login(address, key)
        try:
            yield
        except (InvalidOtp, MfaRequired):
            self.throttle.record_failure(address, key, acquired=True)
            self.audit.log(
                event,
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="invalid_otp",
            )
            raise InvalidOtp() from None
        self.throttle.record_success(address, key)

    def totp_setup(self, *, principal: Principal, address: str) -> TotpEnrolment:
        enrolment = self._require_mfa().setup(principal.user)
        self.audit.log(
            "mfa.setup", outcome="success", actor=principal.user.id, client_address=address
        )
        return enrolment

    def totp_enable(self, *, principal: Principal, otp: str, address: str) -> list[str]:
        """Confirm enrolment with a valid code; returns the 10 recovery codes."""
        user = principal.user
        with self._code_attempt(user, address, "mfa.enable"):
            codes = self._require_mfa().enable(user, otp)
        self.audit.log("mfa.enable", outcome="success", actor=user.id, client_address=address)
        return codes

    def totp_disable(
        self,
        *,
        principal: Principal,
        otp: str | None,
        recovery_code: str | None,
        address: str,
    ) -> None:
        """Switch TOTP off; needs a valid code or recovery code, not only a token."""
        user = principal.user
        with self._code_attempt(user, address, "mfa.disable"):
            method = self._require_mfa().disable(user, otp=otp, recovery_code=recovery_code)
        self.audit.log(
            "mfa.disable",
            outcome="success",
            actor=user.id,
            client_address=address,
            method=method,
        )


__all__ = ["MfaFlows"]

"""TOTP enrolment and verification for accounts (RFC 6238, NIST SP 800-63B §5.1.4).

A code is accepted within one time step of skew and only once: the store records
the last accepted step per user with a conditional update, so a replay is refused
even when it reaches another worker or host. Recovery codes are single use and
stored as salted argon2id (see ``authkit.mfa._recovery``).
"""

from __future__ import annotations

from dataclasses import dataclass

from authkit.clock import Clock, SystemClock
from authkit.errors import Conflict, InvalidOtp, MfaRequired
from authkit.mfa._recovery import RecoveryCodeHasher, new_recovery_codes
from authkit.mfa._secret_box import SecretBox
from authkit.mfa._store import MfaStore
from authkit.mfa._totp import Totp
from authkit.users._model import User


@dataclass(frozen=True, kw_only=True)
class TotpEnrolment:
    """A started TOTP enrolment: the secret and the ``otpauth://`` URI a QR code holds."""

    secret: str
    otpauth_uri: str


class MfaService:
    """The TOTP state of accounts: set up, enable, verify (with replay prevention), disable."""

    def __init__(
        self,
        *,
        store: MfaStore,
        box: SecretBox,
        totp: Totp,
        clock: Clock | None = None,
        recovery: RecoveryCodeHasher | None = None,
    ) -> None:
        self.store = store
        self.box = box
        self.totp = totp
        self.clock = clock or SystemClock()
        self.recovery = recovery or RecoveryCodeHasher()

    def setup(self, user: User) -> TotpEnrolment:
        """Start enrolment with a fresh secret; 409 while MFA is already enabled."""
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already enabled.")
        secret = Totp.new_secret()
        if not self.store.set_pending_secret(user.id, self.box.encrypt(secret)):
            raise Conflict("Two-factor authentication is already enabled.")
        return TotpEnrolment(
            secret=secret, otpauth_uri=self.totp.provisioning_uri(secret, user.username)
        )

    def enable(self, user: User, otp: str) -> list[str]:
        """Confirm the pending secret with a valid code; returns the recovery codes."""
        if user.mfa_enabled:
            raise Conflict("Two-factor authentication is already enabled.")
        encrypted = self.store.get_secret(user.id)
        if encrypted is None:
            raise Conflict("No enrolment is pending: start TOTP setup first.")
        self._check_totp(user, self.box.decrypt(encrypted), otp)
        codes = new_recovery_codes()
        if not self.store.enable(user.id, self.recovery.hash_codes(codes), now=self.clock.now()):
            raise Conflict("Two-factor authentication is already enabled.")
        return codes

    def verify(self, user: User, *, otp: str | None, recovery_code: str | None) -> str:
        """Check a second factor for ``user``; returns ``"otp"`` or ``"recovery_code"``.

        Raises ``MfaRequired`` when neither is given, ``InvalidOtp`` when the given
        one is wrong, already used or replayed.
        """
        if not otp and not recovery_code:
            raise MfaRequired()
        if recovery_code:
            stored = self.store.recovery_code_hashes(user.id)
            for candidate in self.recovery.candidates(recovery_code, stored):
                # The conditional update is what makes the code single use.
                if self.store.use_recovery_code(user.id, candidate, now=self.clock.now()):
                    return "recovery_code"
            raise InvalidOtp()
        encrypted = self.store.get_secret(user.id)
        if encrypted is None:
            raise InvalidOtp()
        assert otp is not None
        self._check_totp(user, self.box.decrypt(encrypted), otp)
        return "otp"

    def disable(self, user: User, *, otp: str | None, recovery_code: str | None) -> str:
        if not user.mfa_enabled:
            raise Conflict("Two-factor authentication is not enabled.")
        method = self.verify(user, otp=otp, recovery_code=recovery_code)
        self.store.disable(user.id)
        return method

    def _check_totp(self, user: User, secret: str, otp: str) -> None:
        step = self.totp.matching_step(secret, otp)
        if step is None or not self.store.claim_step(user.id, step):
            raise InvalidOtp()


__all__ = ["MfaService", "TotpEnrolment"]

"""TOTP multi-factor authentication: enrolment, verification, recovery codes."""

from authkit.mfa.recovery import (
    RECOVERY_CODE_COUNT,
    hash_recovery_code,
    new_recovery_codes,
    normalise_recovery_code,
)
from authkit.mfa.secret_box import SecretBox
from authkit.mfa.service import MfaService, TotpEnrolment
from authkit.mfa.totp import DIGITS, PERIOD, Totp, TotpConfig

__all__ = [
    "DIGITS",
    "PERIOD",
    "RECOVERY_CODE_COUNT",
    "MfaService",
    "SecretBox",
    "Totp",
    "TotpConfig",
    "TotpEnrolment",
    "hash_recovery_code",
    "new_recovery_codes",
    "normalise_recovery_code",
]

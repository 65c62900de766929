"""TOTP multi-factor authentication: enrolment, verification, recovery codes.

``MfaService`` checks codes; ``MfaEnrolment`` is the throttled, audited
setup / enable / disable flow an adapter calls, and ``rekey_secrets`` the
operator's re-encryption after an MFA key rotation; ``MfaStore`` is the contract
the backends in ``authkit.storage`` implement.
"""

from authkit.mfa._enrolment import CodeThrottle, MfaEnrolment, PasswordCheck
from authkit.mfa._recovery import (
    RECOVERY_CODE_COUNT,
    RecoveryCodeHasher,
    new_recovery_codes,
    normalise_recovery_code,
)
from authkit.mfa._rekey import RekeyReport, rekey_secrets
from authkit.mfa._secret_box import SecretBox
from authkit.mfa._service import MfaService, TotpEnrolment
from authkit.mfa._store import MfaStore
from authkit.mfa._totp import DIGITS, PERIOD, Totp, TotpConfig

__all__ = [
    "DIGITS",
    "PERIOD",
    "RECOVERY_CODE_COUNT",
    "CodeThrottle",
    "MfaEnrolment",
    "MfaService",
    "MfaStore",
    "PasswordCheck",
    "RecoveryCodeHasher",
    "RekeyReport",
    "SecretBox",
    "Totp",
    "TotpConfig",
    "TotpEnrolment",
    "new_recovery_codes",
    "normalise_recovery_code",
    "rekey_secrets",
]

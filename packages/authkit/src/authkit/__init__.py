"""authkit: a framework-agnostic authentication core.

Passwords (argon2id and a policy), a JWT key ring with rotation and JWKS,
refresh-token rotation with reuse detection, brute-force throttling, TOTP MFA,
users and roles, and a pseudonymising audit logger. No web framework imports.
"""

from importlib.metadata import PackageNotFoundError, version

from authkit.admin import AdminService
from authkit.clock import Clock, FrozenClock, SystemClock
from authkit.errors import (
    AccountDisabled,
    AuthkitError,
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidOtp,
    InvalidRequest,
    InvalidToken,
    KeyRingError,
    MfaEnrolmentRequired,
    MfaRequired,
    NotFound,
    RegistrationClosed,
    ServiceUnavailable,
    TokenReused,
    TooManyAttempts,
    ValidationFailed,
    WeakPassword,
)
from authkit.keys import (
    DEFAULT_ALGORITHM,
    KeyRing,
    KeyRingFile,
    KeyStatus,
    SigningKey,
)
from authkit.models import NewUser, RefreshTokenRecord, User, canonical
from authkit.passwords import Argon2Parameters, PasswordHasher
from authkit.service import AuditSink, AuthService, Principal, TokenPair
from authkit.throttle import DEFAULT_THROTTLE_RULES, LoginThrottle, ThrottleRules
from authkit.tokens import (
    AccessClaims,
    AccessTokenConfig,
    AccessTokens,
    FileKeyRingSource,
    KeyRingSource,
    RefreshLifetimes,
    RefreshTokens,
    StaticKeyRingSource,
)
from authkit.users_query import BulkAction, BulkResult, UserPage, UserQuery

try:
    __version__ = version("authkit-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_ALGORITHM",
    "DEFAULT_THROTTLE_RULES",
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "AccountDisabled",
    "AdminService",
    "Argon2Parameters",
    "AuditSink",
    "AuthService",
    "AuthkitError",
    "BulkAction",
    "BulkResult",
    "Clock",
    "ConfigurationError",
    "Conflict",
    "FileKeyRingSource",
    "Forbidden",
    "FrozenClock",
    "InvalidCredentials",
    "InvalidOtp",
    "InvalidRequest",
    "InvalidToken",
    "KeyRing",
    "KeyRingError",
    "KeyRingFile",
    "KeyRingSource",
    "KeyStatus",
    "LoginThrottle",
    "MfaEnrolmentRequired",
    "MfaRequired",
    "NewUser",
    "NotFound",
    "PasswordHasher",
    "Principal",
    "RefreshLifetimes",
    "RefreshTokenRecord",
    "RefreshTokens",
    "RegistrationClosed",
    "ServiceUnavailable",
    "SigningKey",
    "StaticKeyRingSource",
    "SystemClock",
    "ThrottleRules",
    "TokenPair",
    "TokenReused",
    "TooManyAttempts",
    "User",
    "UserPage",
    "UserQuery",
    "ValidationFailed",
    "WeakPassword",
    "__version__",
    "canonical",
]

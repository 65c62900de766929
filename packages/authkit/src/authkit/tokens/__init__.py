"""Access tokens (JWT, RFC 9068), refresh tokens (rotated, RFC 9700), device tokens.

Device tokens are OWASP's device cookies: a known device's own sign-in budget.

``RefreshTokenStore`` is the contract the backends in ``authkit.storage``
implement; ``KeyRingSource`` is where issuers and verifiers get the key ring.
"""

from authkit.tokens._access import (
    ACCESS_TOKEN_TYPE,
    VERIFIED_CACHE_SIZE,
    AccessClaims,
    AccessTokenConfig,
    AccessTokens,
    IssuedAccessToken,
)
from authkit.tokens._device import MAX_DEVICE_TOKEN_CHARS, DeviceTokens, IssuedDeviceToken
from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._refresh import IssuedRefreshToken, RefreshLifetimes, RefreshTokens, hash_token
from authkit.tokens._store import (
    RefreshTokenStore,
    RotationOutcome,
    RotationResult,
    SuccessorFactory,
)

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "MAX_DEVICE_TOKEN_CHARS",
    "VERIFIED_CACHE_SIZE",
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "DeviceTokens",
    "IssuedAccessToken",
    "IssuedDeviceToken",
    "IssuedRefreshToken",
    "RefreshLifetimes",
    "RefreshTokenRecord",
    "RefreshTokenStore",
    "RefreshTokens",
    "RotationOutcome",
    "RotationResult",
    "SuccessorFactory",
    "hash_token",
]

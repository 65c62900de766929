"""Access tokens (JWT, RFC 9068) and refresh tokens (opaque, rotated, RFC 9700).

``RefreshTokenStore`` is the contract the backends in ``authkit.storage``
implement; ``KeyRingSource`` is where issuers and verifiers get the key ring.
"""

from authkit.tokens._access import (
    ACCESS_TOKEN_TYPE,
    AccessClaims,
    AccessTokenConfig,
    AccessTokens,
    IssuedAccessToken,
)
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
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "IssuedAccessToken",
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

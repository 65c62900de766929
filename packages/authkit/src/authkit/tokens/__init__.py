"""Access tokens (JWT) and refresh tokens (opaque, rotated)."""

from authkit.tokens.access import (
    ACCESS_TOKEN_TYPE,
    AccessClaims,
    AccessTokenConfig,
    AccessTokens,
    IssuedAccessToken,
)
from authkit.tokens.keyring_source import FileKeyRingSource, KeyRingSource, StaticKeyRingSource
from authkit.tokens.refresh import IssuedRefreshToken, RefreshLifetimes, RefreshTokens, hash_token

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "FileKeyRingSource",
    "IssuedAccessToken",
    "IssuedRefreshToken",
    "KeyRingSource",
    "RefreshLifetimes",
    "RefreshTokens",
    "StaticKeyRingSource",
    "hash_token",
]

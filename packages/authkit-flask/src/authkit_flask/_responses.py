"""JSON renderings of core records for the HTTP contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify

from authkit import TokenPair, User


def rfc3339(value: datetime | None) -> str | None:
    """``value`` as an RFC 3339 UTC string (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def user_json(user: User) -> dict[str, Any]:
    """A user object: never a hash, secret or token."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "roles": list(user.roles),
        "is_active": user.is_active,
        "mfa_enabled": user.mfa_enabled,
        "created_at": rfc3339(user.created_at),
        "last_login_at": rfc3339(user.last_login_at),
    }


def token_response(pair: TokenPair) -> Response:
    """The token pair; a sign-in's adds ``device_token`` for the client's next sign-in."""
    body: dict[str, Any] = {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_in,
    }
    if pair.device_token is not None:
        body["device_token"] = pair.device_token
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


__all__ = ["rfc3339", "token_response", "user_json"]

"""Access tokens: short-lived JWTs (RFC 9068 ``at+jwt``), validated strictly (RFC 8725).

The verifier trusts nothing in the header beyond the ``kid`` it uses to find a key:
the allowed algorithm is that key's, header-supplied key locations (``jku``,
``x5u``, ``jwk``, ``x5c``) are refused, and time claims are checked against the
injected clock with a bounded skew.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from authkit.clock import Clock, SystemClock
from authkit.errors import ConfigurationError, InvalidToken
from authkit.keys._source import KeyRingSource

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
"""The ``typ`` header of access tokens (RFC 9068), so no other JWT passes as one."""
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti")


@dataclass(frozen=True, kw_only=True)
class AccessTokenConfig:
    """Issuer, audience, lifetime and clock skew of access tokens; all checked on verification."""

    issuer: str
    audience: str
    ttl_seconds: int = 900
    clock_skew_seconds: int = 30
    max_token_bytes: int = 8192

    def __post_init__(self) -> None:
        for name in ("issuer", "audience"):
            if not getattr(self, name):
                raise ConfigurationError(f"Access tokens need an {name}.", field=name)
        for name, low in (("ttl_seconds", 1), ("clock_skew_seconds", 0), ("max_token_bytes", 256)):
            value = getattr(self, name)
            if type(value) is not int or value < low:
                raise ConfigurationError(f"{name} must be an integer >= {low}.", field=name)


@dataclass(frozen=True, kw_only=True)
class AccessClaims:
    """The verified claims of an access token."""

    subject: str
    roles: tuple[str, ...]
    jti: str
    issued_at: datetime
    expires_at: datetime
    kid: str
    session_id: str | None = None
    scope: str | None = None
    amr: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IssuedAccessToken:
    """A signed access token and its lifetime in seconds."""

    token: str
    expires_in: int


class AccessTokens:
    """Issues and verifies access tokens with the key ring (RFC 8725 best practices)."""

    def __init__(
        self, keys: KeyRingSource, config: AccessTokenConfig, *, clock: Clock | None = None
    ) -> None:
        self._keys = keys
        self.config = config
        self._clock = clock or SystemClock()

    def issue(
        self,
        *,
        subject: str,
        roles: tuple[str, ...],
        session_id: str | None = None,
        scope: str | None = None,
        amr: tuple[str, ...] = (),
    ) -> IssuedAccessToken:
        """Sign an access token.

        ``session_id`` (claim ``sid``) names the refresh family; ``scope`` narrows
        what the token may do (RFC 9068 §2.2.3); ``amr`` lists how the user
        authenticated (RFC 8176: ``pwd``, ``otp``).
        """
        key = self._keys.current().active
        now = self._clock.now()
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "aud": self.config.audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.config.ttl_seconds,
            "jti": secrets.token_urlsafe(16),
            "roles": list(roles),
        }
        if session_id is not None:
            claims["sid"] = session_id
        if scope is not None:
            claims["scope"] = scope
        if amr:
            claims["amr"] = list(amr)
        token = jwt.encode(
            claims,
            key.signing_key,
            algorithm=key.alg,
            headers={"typ": ACCESS_TOKEN_TYPE, "kid": key.kid},
        )
        return IssuedAccessToken(token=token, expires_in=self.config.ttl_seconds)

    def verify(self, token: str) -> AccessClaims:
        """Validate a token; every failure is ``InvalidToken`` with no detail for attackers."""
        # A compact JWS is ASCII (base64url and dots): anything else is refused before
        # parsing (a lone surrogate would crash the UTF-8 encode), and len() is bytes.
        if (
            not isinstance(token, str)
            or len(token) > self.config.max_token_bytes
            or not token.isascii()
        ):
            raise InvalidToken()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        kid = header.get("kid")
        if (
            not isinstance(kid, str)
            or header.get("typ") not in (ACCESS_TOKEN_TYPE, "application/" + ACCESS_TOKEN_TYPE)
            or _FORBIDDEN_HEADERS & header.keys()
        ):
            raise InvalidToken()
        key = self._keys.current().verification_key(kid) or self._keys.refresh().verification_key(
            kid
        )
        if key is None or header.get("alg") != key.alg:
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                key.verifying_key,
                algorithms=[key.alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        return self._check_claims(claims, kid)

    def _check_claims(self, claims: dict[str, Any], kid: str) -> AccessClaims:
        now = self._clock.now().timestamp()
        skew = self.config.clock_skew_seconds
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
        sub, jti, roles = claims.get("sub"), claims.get("jti"), claims.get("roles", [])
        sid, scope, amr = claims.get("sid"), claims.get("scope"), claims.get("amr", [])
        numbers_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, iat, nbf))
        if not numbers_ok or not isinstance(sub, str) or not isinstance(jti, str) or not sub:
            raise InvalidToken()
        assert isinstance(exp, int)
        assert isinstance(iat, int)
        assert isinstance(nbf, int)
        if exp <= now - skew or iat > now + skew or nbf > now + skew:
            raise InvalidToken()
        if exp - iat > self.config.ttl_seconds + skew:
            raise InvalidToken()  # longer-lived than we ever issue: not one of ours
        if sid is not None and not isinstance(sid, str):
            raise InvalidToken()
        if scope is not None and not isinstance(scope, str):
            raise InvalidToken()
        if not isinstance(amr, list) or not all(isinstance(a, str) for a in amr):
            raise InvalidToken()
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken()
        epoch = datetime.fromtimestamp(0, tz=self._clock.now().tzinfo)
        return AccessClaims(
            subject=sub,
            roles=tuple(roles),
            jti=jti,
            issued_at=epoch + timedelta(seconds=iat),
            expires_at=epoch + timedelta(seconds=exp),
            kid=kid,
            session_id=sid,
            scope=scope,
            amr=tuple(amr),
        )


__all__ = [
    "ACCESS_TOKEN_TYPE",
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "IssuedAccessToken",
]

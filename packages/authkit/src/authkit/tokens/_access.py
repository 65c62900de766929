"""Access tokens: short-lived JWTs (RFC 9068 ``at+jwt``), validated strictly (RFC 8725).

The verifier trusts nothing in the header beyond the ``kid`` it uses to find a key:
the allowed algorithm is that key's, header-supplied key locations (``jku``,
``x5u``, ``jwk``, ``x5c``) are refused, and time claims are checked against the
injected clock with a bounded skew.

Verification is the hot path of every authenticated request, so the compact
serialisation is parsed once, here, with C-speed primitives (one regular
expression per token for the base64url alphabet, ``base64`` and ``json``), and
the signature is checked by PyJWT's public algorithm objects on the key ring's
already-loaded key. PyJWT's ``decode`` validated the alphabet character by
character in Python and parsed the header twice (``get_unverified_header``,
then ``decode``): about half of the request's time. The checks are PyJWT's and
stricter: canonical base64url without padding only, a JSON object header and
payload, the key's own algorithm, ``iss`` equal, ``aud`` equal or listed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import Algorithm, get_default_algorithms

from authkit.clock import Clock, SystemClock
from authkit.errors import ConfigurationError, InvalidToken
from authkit.keys._signing_key import SigningKey
from authkit.keys._source import KeyRingSource

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
"""The ``typ`` header of access tokens (RFC 9068), so no other JWT passes as one."""
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti")
# Three base64url segments, no padding (RFC 7515 §2, §7.1): the whole alphabet check
# of a token is one C-level match instead of a Python loop per character.
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_ALGORITHMS: dict[str, Algorithm] = dict(get_default_algorithms())
_TYPES = frozenset({ACCESS_TOKEN_TYPE, "application/" + ACCESS_TOKEN_TYPE})

VERIFIED_CACHE_SIZE = 4096
"""How many verified token strings each ``AccessTokens`` remembers (0: none).

A client sends the same access token with every request of its lifetime, and
checking its signature again gives the same answer as long as the key that
verified it is still trusted: the signature is checked the first time a token
is seen, and after that the key's trust and the time claims are checked on
every call (the approach of Envoy's ``jwt_authn`` verified-token cache). Only
tokens that passed every check are kept, keyed by the exact string, oldest
dropped first; about 1.5 KB each. Revocation is not a property of the token:
sessions and users are checked by ``AuthService`` on every request regardless.
"""


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


@dataclass(frozen=True, slots=True)
class _Verified:
    """A verified token's claims, the key that verified it, and its time claims."""

    claims: AccessClaims
    key: SigningKey
    exp: int
    iat: int
    nbf: int


@dataclass(frozen=True, kw_only=True)
class IssuedAccessToken:
    """A signed access token and its lifetime in seconds."""

    token: str
    expires_in: int


class AccessTokens:
    """Issues and verifies access tokens with the key ring (RFC 8725 best practices)."""

    def __init__(
        self,
        keys: KeyRingSource,
        config: AccessTokenConfig,
        *,
        clock: Clock | None = None,
        verified_cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        if type(verified_cache_size) is not int or verified_cache_size < 0:
            raise ConfigurationError(
                "verified_cache_size must be an integer >= 0.", field="verified_cache_size"
            )
        self._keys = keys
        self.config = config
        self._clock = clock or SystemClock()
        self._verified: dict[str, _Verified] = {}
        self._verified_max = verified_cache_size
        self._verified_lock = threading.Lock()

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
        """Validate a token; every failure is ``InvalidToken`` with no detail for attackers.

        A token string whose signature this object has verified before is not
        verified again (see ``VERIFIED_CACHE_SIZE``): its key must still be the
        ring's trusted key for its ``kid`` and its time claims are checked again,
        on every call.
        """
        if type(token) is str:
            hit = self._verified.get(token)
            if hit is not None:
                if self._still_valid(hit):
                    return hit.claims
                self._verified.pop(token, None)
        claims, key = self._verify_signed(token)
        if self._verified_max:
            self._remember(token, claims, key)
        return claims.claims

    def _still_valid(self, hit: _Verified) -> bool:
        key = self._keys.current().verification_key(hit.claims.kid)
        if key is not hit.key:  # retired, or the ring was reloaded: verify afresh
            return False
        now = self._clock.now().timestamp()
        skew = self.config.clock_skew_seconds
        return hit.exp > now - skew and hit.iat <= now + skew and hit.nbf <= now + skew

    def _remember(self, token: str, claims: _Verified, key: SigningKey) -> None:
        with self._verified_lock:
            verified = self._verified
            if len(verified) >= self._verified_max:
                # Oldest first (insertion order): a tenth at a time, so the
                # eviction cost is paid once per many verifications.
                for old in list(verified)[: max(1, self._verified_max // 10)]:
                    verified.pop(old, None)
            verified[token] = claims

    def _verify_signed(self, token: str) -> tuple[_Verified, SigningKey]:
        """The full check: shape, header, key, signature, then claims."""
        # A compact JWS is ASCII (base64url and dots): anything else is refused before
        # parsing (a lone surrogate would crash the UTF-8 encode), and len() is bytes.
        if (
            not isinstance(token, str)
            or len(token) > self.config.max_token_bytes
            or not token.isascii()
        ):
            raise InvalidToken()
        match = _COMPACT_JWS.fullmatch(token)
        if match is None:
            raise InvalidToken()
        header_segment, payload_segment, signature_segment = match.groups()
        header = _json_object(header_segment)
        kid, typ = header.get("kid"), header.get("typ")
        if (
            not isinstance(kid, str)
            or not isinstance(typ, str)
            or typ not in _TYPES
            or not _FORBIDDEN_HEADERS.isdisjoint(header)
        ):
            raise InvalidToken()
        key = self._keys.current().verification_key(kid) or self._keys.refresh().verification_key(
            kid
        )
        if key is None or header.get("alg") != key.alg:
            raise InvalidToken()
        signing_input = token[: match.end(2)].encode("ascii")
        signature = _b64decode(signature_segment)
        try:
            valid = _ALGORITHMS[key.alg].verify(signing_input, key.verifying_key, signature)
        except (ValueError, TypeError) as exc:  # malformed signature bytes for the curve
            raise InvalidToken() from exc
        if not valid:
            raise InvalidToken()
        claims = _json_object(payload_segment)
        if any(claims.get(name) is None for name in _REQUIRED_CLAIMS):
            raise InvalidToken()
        if claims["iss"] != self.config.issuer or not _audience_ok(
            claims["aud"], self.config.audience
        ):
            raise InvalidToken()
        checked = self._check_claims(claims, kid)
        verified = _Verified(
            claims=checked, key=key, exp=claims["exp"], iat=claims["iat"], nbf=claims.get("nbf", 0)
        )
        return verified, key

    def _check_claims(self, claims: dict[str, Any], kid: str) -> AccessClaims:
        clock_now = self._clock.now()
        now = clock_now.timestamp()
        skew = self.config.clock_skew_seconds
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
        sub, jti, roles = claims.get("sub"), claims.get("jti"), claims.get("roles", [])
        sid, scope, amr = claims.get("sid"), claims.get("scope"), claims.get("amr", [])
        # JSON numbers only: ``type(...) is int`` also refuses booleans (an int subclass).
        if not (type(exp) is int and type(iat) is int and type(nbf) is int):
            raise InvalidToken()
        if not isinstance(sub, str) or not isinstance(jti, str) or not sub:
            raise InvalidToken()
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
        epoch = datetime.fromtimestamp(0, tz=clock_now.tzinfo)
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


def _b64decode(segment: str) -> bytes:
    """Strict base64url (alphabet already matched): canonical, unpadded, as PyJWT checks."""
    if len(segment) % 4 == 1:
        raise InvalidToken()
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken() from exc
    # Non-zero unused trailing bits decode too: refuse them (one token, one encoding).
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode("ascii"):
        raise InvalidToken()
    return data


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidToken() from exc
    if not isinstance(value, dict):
        raise InvalidToken()
    return value


def _audience_ok(aud: Any, audience: str) -> bool:
    """RFC 7519 §4.1.3: one string, or an array of strings that contains ours."""
    if isinstance(aud, str):
        return aud == audience
    return isinstance(aud, list) and all(isinstance(item, str) for item in aud) and audience in aud


__all__ = [
    "ACCESS_TOKEN_TYPE",
    "VERIFIED_CACHE_SIZE",
    "AccessClaims",
    "AccessTokenConfig",
    "AccessTokens",
    "IssuedAccessToken",
]

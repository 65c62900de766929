"""One signing key: its ``kid``, algorithm, state and key material.

Key material is held privately and never appears in ``repr``; the JWK export with
private members exists only for the key ring file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

from authkit.clock import utc
from authkit.errors import KeyRingError

Algorithm = Literal["RS256", "ES256", "EdDSA", "HS256"]
"""A JWS algorithm a key may have; never ``none``."""
ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256", "EdDSA", "HS256")
"""Every supported algorithm; tokens are verified with their key's own, never the header's."""
ASYMMETRIC: frozenset[str] = frozenset({"RS256", "ES256", "EdDSA"})
RSA_KEY_BITS = 3072
"""Modulus of new RS256 keys: 128-bit security (NIST SP 800-57 Part 1 Rev. 5, Table 2),
as OWASP ASVS 5 V11 asks of new keys; 2048 bits give only 112."""
MIN_RSA_KEY_BITS = 2048
"""Smallest RS256 key a ring accepts (existing 2048-bit keys keep verifying)."""


class KeyStatus(StrEnum):
    """The state of a signing key in its ring.

    ``active`` signs (exactly one per ring), ``verify-only`` still verifies during
    the dual-key window after a rotation, ``retired`` is rejected.
    """

    ACTIVE = "active"
    VERIFY_ONLY = "verify-only"
    RETIRED = "retired"


# Private members, and ``key_ops`` (PyJWT marks exported private keys "sign").
_PUBLIC_MEMBERS = frozenset({"kty", "n", "e", "crv", "x", "y"})
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k", "key_ops"})


@dataclass(frozen=True, kw_only=True)
class SigningKey:
    """One key of the ring: ``kid``, algorithm, state and creation time.

    Its private material never shows in ``repr`` or logs.
    """

    kid: str
    alg: Algorithm
    status: KeyStatus
    created_at: datetime
    _private_jwk: dict[str, Any] = field(repr=False, compare=False)
    _signing: Any = field(init=False, repr=False, compare=False)
    _verifying: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.alg not in ALGORITHMS:
            raise KeyRingError(f"Unsupported key algorithm for key {self.kid!r}.")
        try:
            signing, verifying = _load(self.alg, self._private_jwk)
        except Exception as exc:  # any parse failure means an unusable ring entry
            raise KeyRingError(f"Key {self.kid!r} has unusable key material.") from exc
        object.__setattr__(self, "_signing", signing)
        object.__setattr__(self, "_verifying", verifying)

    @classmethod
    def generate(cls, alg: Algorithm, *, created_at: datetime, status: KeyStatus) -> SigningKey:
        kid = _new_kid()
        private: Any
        if alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
            jwk = RSAAlgorithm.to_jwk(private, as_dict=True)
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(private, as_dict=True)
        elif alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(private, as_dict=True)
        elif alg == "HS256":
            jwk = HMACAlgorithm.to_jwk(secrets.token_bytes(32), as_dict=True)
        else:  # pragma: no cover - Literal exhausts the cases
            raise KeyRingError("Unsupported key algorithm.")
        return cls(kid=kid, alg=alg, status=status, created_at=created_at, _private_jwk=jwk)

    @property
    def signing_key(self) -> Any:
        return self._signing

    @property
    def verifying_key(self) -> Any:
        return self._verifying

    @property
    def is_asymmetric(self) -> bool:
        return self.alg in ASYMMETRIC

    def with_status(self, status: KeyStatus) -> SigningKey:
        return SigningKey(
            kid=self.kid,
            alg=self.alg,
            status=status,
            created_at=self.created_at,
            _private_jwk=self._private_jwk,
        )

    def public_jwk(self) -> dict[str, Any] | None:
        """The public JWK for JWKS, or None for a symmetric key (never published)."""
        if not self.is_asymmetric:
            return None
        # Keep-list, not drop-list: an imported key with unexpected members leaks nothing.
        public = {k: v for k, v in self._private_jwk.items() if k in _PUBLIC_MEMBERS}
        public.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return public

    def to_private_jwk(self) -> dict[str, Any]:
        """The full JWK with private members, for the key ring file only."""
        jwk = dict(self._private_jwk)
        jwk.update(
            {
                "kid": self.kid,
                "alg": self.alg,
                "use": "sig",
                "status": self.status.value,
                "created_at": self.created_at.isoformat(),
            }
        )
        return jwk

    @classmethod
    def from_private_jwk(cls, jwk: dict[str, Any]) -> SigningKey:
        try:
            kid = str(jwk["kid"])
            alg = jwk["alg"]
            status = KeyStatus(jwk["status"])
            created_at = utc(datetime.fromisoformat(str(jwk["created_at"])))
        except (KeyError, ValueError) as exc:
            raise KeyRingError(
                "A key ring entry is missing kid, alg, status or created_at."
            ) from exc
        if alg not in ALGORITHMS:
            raise KeyRingError(f"Key {kid!r} has an unsupported algorithm.")
        material = {
            k: v for k, v in jwk.items() if k not in {"kid", "alg", "use", "status", "created_at"}
        }
        return cls(kid=kid, alg=alg, status=status, created_at=created_at, _private_jwk=material)


def _load(alg: Algorithm, jwk: dict[str, Any]) -> tuple[Any, Any]:
    if alg == "HS256":
        secret = HMACAlgorithm.from_jwk(jwk)
        if len(secret) < 32:
            raise KeyRingError("HS256 keys must be at least 256 bits.")
        return secret, secret
    algorithm: Any = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}[alg]
    private = algorithm.from_jwk(jwk)
    if not hasattr(private, "public_key"):
        raise KeyRingError("A signing key must include its private members.")
    if isinstance(private, rsa.RSAPrivateKey) and private.key_size < MIN_RSA_KEY_BITS:
        raise KeyRingError(f"RS256 keys must be at least {MIN_RSA_KEY_BITS} bits.")
    return private, private.public_key()


def _new_kid() -> str:
    """16 base64url characters (96 random bits) that never start with ``-``.

    Operators type kids on command lines (``keys retire --kid K``), where a value
    starting with ``-`` reads as an option; ``token_urlsafe`` gives one in 64.
    """
    while True:
        kid = secrets.token_urlsafe(12)
        if not kid.startswith("-"):
            return kid


__all__ = [
    "ALGORITHMS",
    "MIN_RSA_KEY_BITS",
    "RSA_KEY_BITS",
    "Algorithm",
    "KeyStatus",
    "SigningKey",
]

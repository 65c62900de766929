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
from authkit.keys._signing_key import Algorithm, KeyStatus, SigningKey

DEFAULT_ALGORITHM: Algorithm = "RS256"
"""RS256 with 3072-bit keys (128-bit security) verifies fastest of the asymmetric
choices at that strength (``benchmarks/bench_jwt_verify.py``: raw RSA-3072 ~38 µs,
ES256 ~58 µs, EdDSA ~81 µs), and every request pays one verification; signing
happens only at sign-in and refresh."""


@dataclass(frozen=True)
class KeyRing:
    """The signing keys: exactly one ``active`` key signs, ``verify-only`` keys still verify.

    Immutable: every operation returns a new ring, so a reader never sees a half-made change.
    """

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

    def demoted_at(self, key: SigningKey) -> datetime | None:
        """When ``key`` stopped signing: the creation time of the next newer key."""
        if key.status is KeyStatus.ACTIVE:
            return None
        newer = [k.created_at for k in self.keys if k is not key and k.created_at >= key.created_at]
        return min(newer) if newer else None

    def retirable(self, *, now: datetime, window: timedelta) -> list[SigningKey]:
        """Non-active keys whose dual-key window has passed since their demotion."""
        out = []
        for key in self.keys:
            demoted = self.demoted_at(key)
            if key.status is not KeyStatus.ACTIVE and demoted and now - demoted >= window:
                out.append(key)
        return out

    def retire(
        self, *, now: datetime, window: timedelta, kid: str | None = None
    ) -> tuple[KeyRing, list[str]]:
        """Remove keys whose window has passed; returns the new ring and the kids removed.

        The window is the longest access-token lifetime (plus clock skew): once it
        has passed since a key was demoted, no unexpired token can need it. The
        active key is never removed, and a named ``kid`` still inside its window
        is refused rather than silently kept.
        """
        candidates = self.retirable(now=now, window=window)
        if kid is not None:
            target = next((k for k in self.keys if k.kid == kid), None)
            if target is None:
                raise KeyRingError(f"No key with kid {kid!r} in the ring.")
            if target.status is KeyStatus.ACTIVE:
                raise KeyRingError("Refusing to retire the active key; rotate first.")
            if target not in candidates:
                raise KeyRingError(
                    f"Key {kid!r} may still verify unexpired tokens; its window has not passed."
                )
            candidates = [target]
        kept = tuple(k for k in self.keys if k not in candidates)
        return KeyRing(kept), [k.kid for k in candidates]

    def retire_compromised(self, kid: str, *, now: datetime) -> tuple[KeyRing, list[str]]:
        """Remove ``kid`` at once, window or not; the active key is first replaced.

        For a leaked key: every token it signed must stop verifying now, not after
        the dual-key window. When ``kid`` is the active key, a new key (same
        algorithm) becomes active in the same step, so the ring is never without a
        signer and the leaked key never spends a moment as verify-only. Returns the
        new ring and the kids removed.
        """
        target = next((k for k in self.keys if k.kid == kid), None)
        if target is None:
            raise KeyRingError(f"No key with kid {kid!r} in the ring.")
        ring = self.rotate(now=now) if target.status is KeyStatus.ACTIVE else self
        return KeyRing(tuple(k for k in ring.keys if k.kid != kid)), [kid]

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

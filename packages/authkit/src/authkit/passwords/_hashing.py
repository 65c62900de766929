"""argon2id password hashing with transparent rehash.

argon2id is the first choice of the OWASP Password Storage Cheat Sheet; the
defaults here are its minimum (m=19456 KiB, t=2, p=1). Passwords are NFC-normalised
before hashing so the same password typed on two keyboards verifies the same.
"""

from __future__ import annotations

import secrets
import threading
import unicodedata
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from authkit.errors import ConfigurationError


@dataclass(frozen=True, kw_only=True)
class Argon2Parameters:
    """argon2id cost parameters; ``memory_cost`` is in KiB."""

    time_cost: int = 2
    memory_cost: int = 19456
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        for name in ("time_cost", "parallelism", "hash_len", "salt_len"):
            if type(getattr(self, name)) is not int or getattr(self, name) < 1:
                raise ConfigurationError(f"argon2 {name} must be a positive integer.", field=name)
        if type(self.memory_cost) is not int or self.memory_cost < 8 * self.parallelism:
            raise ConfigurationError(
                "argon2 memory_cost must be at least 8 KiB per lane of parallelism.",
                field="memory_cost",
            )


class PasswordHasher:
    """Hashes and verifies passwords; tells when a stored hash should be upgraded."""

    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        self.parameters = parameters or Argon2Parameters()
        p = self.parameters
        self._hasher = argon2.PasswordHasher(
            time_cost=p.time_cost,
            memory_cost=p.memory_cost,
            parallelism=p.parallelism,
            hash_len=p.hash_len,
            salt_len=p.salt_len,
            type=argon2.Type.ID,
        )
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(_normalise(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; False for a mismatch or an unusable hash."""
        try:
            return self._hasher.verify(password_hash, _normalise(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend one verification on a throwaway hash.

        Called for unknown usernames so that a sign-in for a name that does not
        exist costs the same argon2 work as one with a wrong password.
        """
        self.verify(self._get_dummy_hash(), password)

    def _get_dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hash(secrets.token_urlsafe(24))
            return self._dummy_hash

    def __repr__(self) -> str:
        return f"PasswordHasher({self.parameters!r})"


def _normalise(password: str) -> bytes:
    # surrogatepass: JSON can carry lone surrogates; they are a wrong password, not a
    # crash. For every valid string the bytes are exactly its UTF-8, so hashes match.
    return unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")


__all__ = ["Argon2Parameters", "PasswordHasher"]

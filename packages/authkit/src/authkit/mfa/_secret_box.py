"""Encryption at rest for TOTP secrets (Fernet: AES-128-CBC + HMAC-SHA256).

Keys are derived with HKDF from the configured key material, so an operator may
give any high-entropy string. Several keys may be given: the first encrypts, all
decrypt (``MultiFernet``), which is how the key is rotated without a migration.
``rotate`` re-encrypts one stored secret under the first key, so that once every
secret has been through it (``flight-app mfa rekey``) the old keys can go.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authkit.errors import ConfigurationError

_MIN_KEY_CHARS = 16


def _derive(material: str) -> Fernet:
    if len(material) < _MIN_KEY_CHARS:
        raise ConfigurationError("The MFA encryption key must be at least 16 characters.")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"authkit-mfa-v1").derive(
        material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


class SecretBox:
    """Encrypts TOTP secrets at rest (Fernet with keys derived by HKDF).

    The first key encrypts, every key decrypts: that is how the key is rotated.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError("At least one MFA encryption key is needed.")
        fernets = [_derive(k) for k in keys]
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("A stored MFA secret cannot be decrypted.") from exc

    def is_current(self, ciphertext: str) -> bool:
        """Whether ``ciphertext`` is encrypted with the first (current) key."""
        try:
            self._current.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str) -> str:
        """``ciphertext`` decrypted with any key and encrypted again with the current one.

        Raises ``ConfigurationError`` when no configured key opens it.
        """
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("A stored MFA secret cannot be decrypted.") from exc

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"


__all__ = ["SecretBox"]

"""Signing keys: the key ring, its file, and rotation."""

from authkit.keys.file_store import KeyRingFile
from authkit.keys.keyring import DEFAULT_ALGORITHM, KeyRing
from authkit.keys.signing_key import ALGORITHMS, Algorithm, KeyStatus, SigningKey

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "KeyRing",
    "KeyRingFile",
    "KeyStatus",
    "SigningKey",
]

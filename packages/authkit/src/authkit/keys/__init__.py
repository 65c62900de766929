"""Signing keys: the key ring, its file, and the ``KeyManager`` that rotates and retires."""

from authkit.keys._file import KeyRingFile
from authkit.keys._manager import RETIRE_EVENT, ROTATE_EVENT, KeyManager
from authkit.keys._ring import DEFAULT_ALGORITHM, KeyRing
from authkit.keys._signing_key import (
    ALGORITHMS,
    MIN_RSA_KEY_BITS,
    RSA_KEY_BITS,
    Algorithm,
    KeyStatus,
    SigningKey,
)
from authkit.keys._source import FileKeyRingSource, KeyRingSource, StaticKeyRingSource

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "MIN_RSA_KEY_BITS",
    "RETIRE_EVENT",
    "ROTATE_EVENT",
    "RSA_KEY_BITS",
    "Algorithm",
    "FileKeyRingSource",
    "KeyManager",
    "KeyRing",
    "KeyRingFile",
    "KeyRingSource",
    "KeyStatus",
    "SigningKey",
    "StaticKeyRingSource",
]

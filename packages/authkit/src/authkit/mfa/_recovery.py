"""Single-use recovery codes: random, shown once, stored only as SHA-256.

Each code carries 50 bits from a CSPRNG, so a fast hash is enough: there is no
dictionary to attack, unlike a password.
"""

from __future__ import annotations

import hashlib
import secrets

RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return code.strip().lower().replace(" ", "").replace("-", "")


def hash_recovery_code(code: str) -> str:
    # surrogatepass: JSON can carry lone surrogates, and they must not crash the hash.
    normalised = normalise_recovery_code(code).encode("utf-8", "surrogatepass")
    return hashlib.sha256(normalised).hexdigest()


__all__ = [
    "RECOVERY_CODE_COUNT",
    "hash_recovery_code",
    "new_recovery_codes",
    "normalise_recovery_code",
]
